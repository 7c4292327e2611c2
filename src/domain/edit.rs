//! Changing a lead's card after it came in: its name, contact data, company, source, tags and
//! attributes (a job title is the attribute `title`). The card is checked and normalised as
//! `add` checks a request, and the change is told as a list a timeline shows ("name "Jon" ->
//! "John""). Owner, stage and follow-up have their own commands.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::lead::{DedupeKeys, Lead, NewLead, ValidationError, same_attribute_name};

/// What to change; what is not named stays as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadEdit {
    pub name: Option<String>,
    /// `Some("")` clears the field (e-mail, phone, company, source).
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub source: Option<String>,
    /// Attributes to set (an empty value removes the attribute).
    pub set: BTreeMap<String, String>,
    /// Attributes to remove, by name (case and `-`/space/`_` ignored).
    pub unset: Vec<String>,
    pub tag: Vec<String>,
    pub untag: Vec<String>,
}

/// A checked edit: the lead as it will be, its dedupe keys, and what changed.
#[derive(Debug, Clone)]
pub struct Edited {
    pub lead: Lead,
    pub keys: DedupeKeys,
    pub changes: Vec<String>,
}

impl Edited {
    /// Whether a change alters which engagement rules apply to the timeline (a rule may be
    /// for some sources only): the score is then counted again from the timeline.
    pub fn source_changed(&self, before: &Lead) -> bool {
        self.lead.source != before.source
    }
}

impl LeadEdit {
    pub fn is_empty(&self) -> bool {
        *self == LeadEdit::default()
    }

    /// `lead` with this edit made, checked and normalised as `add` does: a name stays (an
    /// edit cannot clear it), and a lead that had an e-mail or phone keeps one.
    pub fn apply(&self, lead: &Lead, country_code: &str) -> Result<Edited, ValidationError> {
        const FIELDS: [&str; 8] = [
            "name", "email", "e-mail", "phone", "company", "source", "owner", "tags",
        ];
        for k in self.set.keys() {
            let k = k.trim();
            if let Some(f) = FIELDS.iter().find(|f| same_attribute_name(f, k)) {
                return Err(ValidationError::BadEdit(format!(
                    "{f:?} is a field of the card, not an attribute: change it with --{}",
                    if *f == "e-mail" { "email" } else { f }
                )));
            }
            if self.unset.iter().any(|u| same_attribute_name(k, u.trim())) {
                return Err(ValidationError::BadEdit(format!(
                    "attribute {k:?} is both set and removed: say one"
                )));
            }
        }
        let or = |new: &Option<String>, old: &Option<String>| new.clone().or_else(|| old.clone());
        let mut tags = lead.tags.clone();
        tags.retain(|t| !self.untag.iter().any(|u| super::lead::same_tag(u, t)));
        tags.extend(self.tag.iter().cloned());
        let mut attributes = lead.attributes.clone();
        attributes.retain(|k, _| {
            !self
                .unset
                .iter()
                .chain(self.set.keys())
                .any(|u| same_attribute_name(k, u.trim()))
        });
        attributes.extend(self.set.clone());
        let request = NewLead {
            name: self.name.clone().unwrap_or_else(|| lead.name.clone()),
            email: or(&self.email, &lead.email),
            phone: or(&self.phone, &lead.phone),
            company: or(&self.company, &lead.company),
            source: or(&self.source, &lead.source),
            owner: lead.owner.clone(),
            tags,
            attributes,
            closed: None,
        }
        .cleaned();
        // A lead from a data set without identities may lack both; an edit only keeps what
        // the lead had.
        let keys = request.validate(country_code, true)?;
        if request.name.is_empty() && !lead.name.is_empty() {
            return Err(ValidationError::MissingName);
        }
        if request.email.is_none()
            && request.phone.is_none()
            && (lead.email.is_some() || lead.phone.is_some())
        {
            return Err(ValidationError::MissingContact);
        }
        let mut after = lead.clone();
        after.name = request.name;
        after.email = request.email;
        after.phone = request.phone;
        after.company = request.company;
        after.source = request.source;
        after.tags = request.tags;
        after.attributes = request.attributes;
        let changes = changes(lead, &after);
        Ok(Edited {
            lead: after,
            keys,
            changes,
        })
    }
}

/// What differs between two cards, one line per field, tag and attribute.
pub fn changes(before: &Lead, after: &Lead) -> Vec<String> {
    fn shown(v: Option<&str>) -> String {
        v.map_or_else(|| "(none)".to_string(), |s| format!("{s:?}"))
    }
    let mut out = Vec::new();
    let fields: [(&str, Option<&str>, Option<&str>); 5] = [
        ("name", Some(&before.name), Some(&after.name)),
        ("e-mail", before.email.as_deref(), after.email.as_deref()),
        ("phone", before.phone.as_deref(), after.phone.as_deref()),
        (
            "company",
            before.company.as_deref(),
            after.company.as_deref(),
        ),
        ("source", before.source.as_deref(), after.source.as_deref()),
    ];
    for (field, old, new) in fields {
        if old != new {
            out.push(format!("{field} {} -> {}", shown(old), shown(new)));
        }
    }
    for t in &after.tags {
        if !before.tags.contains(t) {
            out.push(format!("tag +{t}"));
        }
    }
    for t in &before.tags {
        if !after.tags.contains(t) {
            out.push(format!("tag -{t}"));
        }
    }
    let keys: std::collections::BTreeSet<&String> = before
        .attributes
        .keys()
        .chain(after.attributes.keys())
        .collect();
    for k in keys {
        let (old, new) = (before.attributes.get(k), after.attributes.get(k));
        if old != new {
            out.push(format!(
                "{k} {} -> {}",
                shown(old.map(String::as_str)),
                shown(new.map(String::as_str))
            ));
        }
    }
    out
}

/// Parses `K=V` (an attribute to set), naming what is wrong.
pub fn parse_attribute(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(format!("{s:?} is not NAME=VALUE (an attribute to set)")),
    }
}

/// Parses tag changes as `leadq tag` takes them: `+name` adds, `-name` removes, a bare name
/// adds.
pub fn parse_tag_changes(args: &[String]) -> Result<(Vec<String>, Vec<String>), String> {
    let (mut add, mut remove) = (Vec::new(), Vec::new());
    for a in args {
        let a = a.trim();
        let (list, name) = match a.strip_prefix('-') {
            Some(name) => (&mut remove, name),
            None => (&mut add, a.strip_prefix('+').unwrap_or(a)),
        };
        if name.trim().is_empty() {
            return Err(format!(
                "{a:?} names no tag (write +tag to add, -tag to remove)"
            ));
        }
        list.push(name.trim().to_string());
    }
    Ok((add, remove))
}
