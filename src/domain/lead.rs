//! A lead: a person who left contact data, with the state leadq keeps about them.

use std::borrow::Cow;
use std::collections::BTreeMap;

use email_address::{EmailAddress, Options};
use serde::{Deserialize, Serialize};

use super::dedupe::{PhoneError, normalize_email, normalize_phone};
use super::scoring::ScoreState;
use super::stage::{LostReason, Stage};
use super::temperature::Temperature;
use super::time::Millis;

pub type LeadId = u64;

/// A lead as stored. The score fields cache what the timeline implies (see `ScoreState`), so
/// the queue can be ordered without reading every timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    pub id: LeadId,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub source: Option<String>,
    pub owner: Option<String>,
    pub tags: Vec<String>,
    pub attributes: BTreeMap<String, String>,
    pub created: Millis,
    pub stage: Stage,
    pub lost_reason: Option<LostReason>,
    pub next_action: Option<Millis>,
    pub snoozed_until: Option<Millis>,
    pub last_touch: Option<Millis>,
    pub score: ScoreState,
    /// The temperature as of `score.at`; the previous state the hysteresis needs.
    pub temperature: Temperature,
    /// A lead that came in by the web intake: when its first touch is due (its source's
    /// response target after it arrived, or after it was routed again). None for every
    /// other lead. The clock runs until the first touch (`awaiting`).
    pub response_due: Option<Millis>,
}

/// A request to add a lead, from the command line, a CSV row or a webhook script.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewLead {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub source: Option<String>,
    pub owner: Option<String>,
    pub tags: Vec<String>,
    pub attributes: BTreeMap<String, String>,
    /// Closed history (an import from an old CRM): the lead arrives won or lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<Closed>,
}

/// How a lead from history ended, and when (None: at the import).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closed {
    pub won: bool,
    pub at: Option<Millis>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("a lead needs a name")]
    MissingName,
    #[error("a lead needs an e-mail or a phone number")]
    MissingContact,
    #[error("e-mail {0:?} is not a valid address")]
    InvalidEmail(String),
    #[error("phone {0:?} {1}")]
    InvalidPhone(String, PhoneError),
    #[error("{field} is {chars} characters long; the limit is {max}")]
    TooLong {
        field: &'static str,
        chars: usize,
        max: usize,
    },
    #[error("{count} {what} given; the limit is {max}")]
    TooMany {
        what: &'static str,
        count: usize,
        max: usize,
    },
    #[error(
        "owner {0:?} is not a user name (letters, digits, '.', '_' and '-', up to 32 characters)"
    )]
    BadOwner(String),
    #[error("{0} is not a member of this team (see team.toml in the team folder)")]
    NotMember(String),
    #[error("{field} {value} is out of range: {range}")]
    OutOfRange {
        field: &'static str,
        value: String,
        range: String,
    },
    #[error("a call or meeting of {minutes} minutes is longer than the limit of {max} (a day)")]
    TooLongCall { minutes: u32, max: u32 },
    #[error("{0}")]
    BadEdit(String),
}

/// The normalised keys by which a request is matched against known leads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DedupeKeys {
    pub email: Option<String>,
    pub phone: Option<String>,
}

impl NewLead {
    /// Trims every field and drops empty ones, so `--company ""` means "no company".
    pub fn cleaned(mut self) -> NewLead {
        fn clean(v: Option<String>) -> Option<String> {
            v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
        }
        self.name = self.name.trim().to_string();
        self.email = clean(self.email);
        self.phone = clean(self.phone);
        self.company = clean(self.company);
        self.source = clean(self.source).map(|s| s.to_lowercase());
        self.owner = clean(self.owner);
        let mut tags: Vec<String> = Vec::new();
        for t in self.tags.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
            if !tags.iter().any(|x| same_tag(x, t)) {
                tags.push(t.to_string());
            }
        }
        self.tags = tags;
        self.attributes = self
            .attributes
            .into_iter()
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .filter(|(k, v)| !k.is_empty() && !v.is_empty())
            .collect();
        self
    }

    /// Checks the request and returns its dedupe keys. `anonymous` accepts a request with no
    /// name and no contact data (a foreign data set such as a call log without identities).
    pub fn validate(
        &self,
        country_code: &str,
        anonymous: bool,
    ) -> Result<DedupeKeys, ValidationError> {
        self.check_sizes()?;
        if self.name.is_empty() && !anonymous {
            return Err(ValidationError::MissingName);
        }
        if self.email.is_none() && self.phone.is_none() && !anonymous {
            return Err(ValidationError::MissingContact);
        }
        // A bare address only: with a display name ("Ann <ann@example.com>") the name would
        // become part of the dedupe key. The domain needs a dot: "ann.lee@gmailcom" is a typo.
        let bare = Options::default().without_display_text();
        let valid = |e: &str| {
            EmailAddress::parse_with_options(e.trim(), bare).is_ok()
                && e.rsplit_once('@')
                    .is_some_and(|(_, domain)| domain.contains('.'))
        };
        let email = match &self.email {
            Some(e) if valid(e) => Some(normalize_email(e)),
            Some(e) => return Err(ValidationError::InvalidEmail(e.clone())),
            None => None,
        };
        let phone = match &self.phone {
            Some(p) => Some(
                normalize_phone(p, country_code)
                    .map_err(|err| ValidationError::InvalidPhone(p.clone(), err))?,
            ),
            None => None,
        };
        Ok(DedupeKeys { email, phone })
    }
}

impl NewLead {
    /// Every field within its limit (`limits`), and the owner a user name.
    fn check_sizes(&self) -> Result<(), ValidationError> {
        use super::limits::{self, text};
        text("name", &self.name, limits::NAME)?;
        let fields = [
            ("e-mail", &self.email, limits::EMAIL),
            ("phone", &self.phone, limits::PHONE),
            ("company", &self.company, limits::COMPANY),
            ("source", &self.source, limits::SOURCE),
        ];
        for (field, value, max) in fields {
            if let Some(v) = value {
                text(field, v, max)?;
            }
        }
        if let Some(o) = &self.owner {
            limits::owner(o)?;
        }
        let many = |what, count, max| {
            if count > max {
                Err(ValidationError::TooMany { what, count, max })
            } else {
                Ok(())
            }
        };
        many("tags", self.tags.len(), limits::TAGS)?;
        for t in &self.tags {
            text("a tag", t, limits::TAG)?;
            // A CSV cell separates its tags with these: a tag holding one would not come back
            // from an export the same; a control character is no part of a name.
            if let Some(c) = t.chars().find(|c| matches!(c, ',' | ';') || c.is_control()) {
                return Err(ValidationError::BadEdit(format!(
                    "tag {:?} holds {}: a tag is a word or words, without commas, semicolons \
                     or control characters",
                    super::sanitize::for_display(t),
                    if c.is_control() {
                        "a control character".to_string()
                    } else {
                        format!("{c:?}")
                    }
                )));
            }
        }
        many("attributes", self.attributes.len(), limits::ATTRIBUTES)?;
        for (k, v) in &self.attributes {
            text("an attribute name", k, limits::ATTRIBUTE_NAME)?;
            text("an attribute value", v, limits::ATTRIBUTE_VALUE)?;
        }
        Ok(())
    }
}

/// An attribute named `key` answers to `name`, case ignored, with spaces and dashes in `key`
/// read as underscores ("Company Size" answers to company_size).
pub(crate) fn same_attribute_name(key: &str, name: &str) -> bool {
    let norm = |c: char| match c {
        ' ' | '-' => '_',
        c => c.to_ascii_lowercase(),
    };
    key.len() == name.len() && key.chars().map(norm).eq(name.chars().map(norm))
}

impl Lead {
    /// A fresh lead from a validated request.
    pub fn from_request(id: LeadId, req: &NewLead, now: Millis) -> Lead {
        Lead {
            id,
            name: req.name.clone(),
            email: req.email.clone(),
            phone: req.phone.clone(),
            company: req.company.clone(),
            source: req.source.clone(),
            owner: req.owner.clone(),
            tags: req.tags.clone(),
            attributes: req.attributes.clone(),
            created: now,
            stage: Stage::New,
            lost_reason: None,
            next_action: None,
            snoozed_until: None,
            last_touch: None,
            score: ScoreState::zero(now),
            temperature: Temperature::Cold,
            response_due: None,
        }
    }

    /// Whether the lead is a web lead still waiting for its first touch: its clock runs.
    pub fn awaiting(&self) -> bool {
        self.response_due.is_some() && self.last_touch.is_none() && self.stage.is_open()
    }

    /// Whether its first touch is overdue at `now`.
    pub fn overdue(&self, now: Millis) -> bool {
        self.awaiting() && self.response_due.is_some_and(|due| now > due)
    }

    /// Merges a repeated request into this lead: empty fields are filled, tags and new
    /// attributes added, nothing is overwritten. Returns the names of what was filled.
    pub fn fill_from(&mut self, req: &NewLead) -> Vec<String> {
        let mut filled = Vec::new();
        let mut fill = |slot: &mut Option<String>, value: &Option<String>, name: &str| {
            if slot.is_none() && value.is_some() {
                slot.clone_from(value);
                filled.push(name.to_string());
            }
        };
        fill(&mut self.email, &req.email, "email");
        fill(&mut self.phone, &req.phone, "phone");
        fill(&mut self.company, &req.company, "company");
        fill(&mut self.source, &req.source, "source");
        fill(&mut self.owner, &req.owner, "owner");
        if self.name.is_empty() && !req.name.is_empty() {
            self.name.clone_from(&req.name);
            filled.push("name".into());
        }
        // Repeated requests add tags and attributes up to the limits a single request has, so
        // no sender can grow a lead without bound.
        for t in &req.tags {
            if self.tags.len() < super::limits::TAGS && !self.tags.iter().any(|x| same_tag(x, t)) {
                self.tags.push(t.clone());
                filled.push(format!("tag {t}"));
            }
        }
        for (k, v) in &req.attributes {
            if self.attributes.len() < super::limits::ATTRIBUTES && !self.attributes.contains_key(k)
            {
                self.attributes.insert(k.clone(), v.clone());
                filled.push(k.clone());
            }
        }
        filled
    }

    pub fn is_snoozed(&self, now: Millis) -> bool {
        self.snoozed_until.is_some_and(|t| t > now)
    }

    /// Whether the lead carries `tag`: tags are one tag whatever their case.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| same_tag(t, tag))
    }

    /// Since when the lead has waited for a touch: between leads of one score, the one that
    /// has waited longest comes first in the queue.
    pub fn waiting_since(&self) -> Millis {
        self.last_touch.unwrap_or(self.created)
    }

    /// The text a field-based rule or a search looks at: a standard field, `email_domain`,
    /// or an attribute (case-insensitive name).
    pub fn field(&self, name: &str) -> Option<Cow<'_, str>> {
        // Runs for every fit rule of every lead scored (an import: a million calls), so it
        // compares in place rather than lower-casing copies.
        let n = name.trim();
        let is = |f: &str| n.eq_ignore_ascii_case(f);
        if is("name") {
            Some(Cow::Borrowed(self.name.as_str())).filter(|s| !s.is_empty())
        } else if is("email") {
            self.email.as_deref().map(Cow::Borrowed)
        } else if is("email_domain") {
            self.email
                .as_ref()
                .and_then(|e| e.rsplit_once('@'))
                .map(|(_, d)| Cow::Owned(d.to_lowercase()))
        } else if is("phone") {
            self.phone.as_deref().map(Cow::Borrowed)
        } else if is("company") {
            self.company.as_deref().map(Cow::Borrowed)
        } else if is("source") {
            self.source.as_deref().map(Cow::Borrowed)
        } else if is("owner") {
            self.owner.as_deref().map(Cow::Borrowed)
        } else if is("tags") {
            (!self.tags.is_empty()).then(|| Cow::Owned(self.tags.join(",")))
        } else if is("stage") {
            Some(Cow::Borrowed(self.stage.name()))
        } else {
            self.attributes
                .iter()
                .find(|(k, _)| same_attribute_name(k, n))
                .map(|(_, v)| Cow::Borrowed(v.as_str()))
        }
    }
}

/// Whether two tags are one: the same in lower case (any letter, not only ASCII), spaces
/// around them aside. The one rule for adding, removing, merging, filtering and indexing.
pub fn same_tag(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    a.eq_ignore_ascii_case(b) || a.to_lowercase() == b.to_lowercase()
}
