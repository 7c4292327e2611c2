//! A posted lead: a form (`application/x-www-form-urlencoded`) or a JSON object, its fields
//! named as an import's headers are (`domain::fields::field_named`: "email", "Email Address",
//! "phone_number", "utm_campaign" ...). Pure over the body's bytes, so a property test can feed
//! it anything. Every problem names the field it is about, as the poster spelled it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::NewLead;
use crate::domain::fields::{Field, field_named};
use crate::domain::sanitize::for_display;

/// Form fields that carry the token, not the lead.
pub const TOKEN_FIELDS: [&str; 2] = ["token", "access_token"];
/// The most fields a post may have.
pub const MAX_FIELDS: usize = 120;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub error: String,
}

impl FieldError {
    fn new(field: &str, error: impl Into<String>) -> FieldError {
        FieldError {
            field: for_display(&field.chars().take(64).collect::<String>()),
            error: error.into(),
        }
    }
}

/// Why a body is not a lead: the body as a whole, or named fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 415: a body of another kind.
    Unsupported(String),
    /// 400: what is wrong, field by field (a field "" is the body as a whole).
    Bad(Vec<FieldError>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Posted {
    pub lead: NewLead,
    /// The token given as a form field.
    pub token: Option<String>,
    /// The name each of the lead's fields was posted under (for messages).
    names: BTreeMap<String, String>,
}

impl Posted {
    /// The name `key` (a field's key, `Field::key`) was posted under.
    pub fn posted_name(&self, key: &str) -> String {
        self.names
            .get(key)
            .cloned()
            .unwrap_or_else(|| key.to_string())
    }
}

/// How the body is to be read, from its Content-Type (None: a form).
fn kind(content_type: Option<&str>) -> Result<bool, Refusal> {
    let essence = content_type
        .unwrap_or("application/x-www-form-urlencoded")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/x-www-form-urlencoded" => Ok(false),
        "application/json" => Ok(true),
        other => Err(Refusal::Unsupported(format!(
            "a body of type {:?}: post a form (application/x-www-form-urlencoded) or JSON",
            for_display(&other.chars().take(60).collect::<String>())
        ))),
    }
}

/// The (name, value) pairs of a body.
fn pairs(json: bool, body: &[u8]) -> Result<Vec<(String, String)>, Refusal> {
    let whole = |e: String| Refusal::Bad(vec![FieldError::new("", e)]);
    if !json {
        if std::str::from_utf8(body).is_err() {
            return Err(whole("the form is not UTF-8 text".into()));
        }
        return Ok(form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect());
    }
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| whole(format!("not JSON: {}", for_display(&e.to_string()))))?;
    let serde_json::Value::Object(map) = value else {
        return Err(whole("the JSON is not an object of fields".into()));
    };
    let mut out = Vec::with_capacity(map.len());
    for (k, v) in map {
        let text = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            serde_json::Value::Bool(b) => Some(b.to_string()),
            serde_json::Value::Null => Some(String::new()),
            _ => None,
        };
        match &v {
            // A list (tags, say) is the same field given once per item.
            serde_json::Value::Array(items) => {
                for item in items {
                    let t = text(item).ok_or_else(|| {
                        Refusal::Bad(vec![FieldError::new(&k, "a list of lists or objects")])
                    })?;
                    out.push((k.clone(), t));
                }
            }
            serde_json::Value::Object(_) => {
                return Err(Refusal::Bad(vec![FieldError::new(
                    &k,
                    "an object: give each field as text",
                )]));
            }
            _ => out.push((k.clone(), text(&v).unwrap_or_default())),
        }
    }
    Ok(out)
}

/// Who may name the lead's owner: a web form never (routing decides), a person's
/// `leadq add --json` as their rights allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Refused,
    Allowed,
}

/// Reads a posted body into a lead request (not yet checked against the lead rules: `check`).
pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Posted, Refusal> {
    parse_as(content_type, body, Owner::Refused)
}

/// `parse`, with the owner field refused or taken.
pub fn parse_as(content_type: Option<&str>, body: &[u8], owner: Owner) -> Result<Posted, Refusal> {
    let json = kind(content_type)?;
    let pairs = pairs(json, body)?;
    if pairs.len() > MAX_FIELDS {
        return Err(Refusal::Bad(vec![FieldError::new(
            "",
            format!("{} fields; the limit is {MAX_FIELDS}", pairs.len()),
        )]));
    }
    let mut lead = NewLead::default();
    let mut token = None;
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut errors = Vec::new();
    let (mut first, mut last) = (String::new(), String::new());
    for (name, value) in pairs {
        if TOKEN_FIELDS.contains(&name.trim().to_ascii_lowercase().as_str()) {
            token = Some(value);
            continue;
        }
        let field = field_named(&name);
        if let Some(key) = field.key() {
            if names.contains_key(&key) {
                errors.push(FieldError::new(&name, "given twice"));
                continue;
            }
            names.insert(key, name.clone());
        }
        let v = value.trim().to_string();
        match field {
            Field::Name => lead.name = v,
            Field::FirstName => first = v,
            Field::LastName => last = v,
            Field::Email => lead.email = Some(v),
            Field::Phone => lead.phone = Some(v),
            Field::Company => lead.company = Some(v),
            Field::Source => lead.source = Some(v),
            Field::Owner if owner == Owner::Allowed => lead.owner = Some(v),
            Field::Owner => errors.push(FieldError::new(
                &name,
                "who gets a lead is leadq's to decide, not the form's",
            )),
            Field::Tags => lead
                .tags
                .extend(v.split([',', ';', '|']).map(|t| t.trim().to_string())),
            Field::Ignore | Field::Outcome | Field::ClosedAt => {}
            Field::Attribute(k) if k.is_empty() => {
                errors.push(FieldError::new(&name, "a field needs a name"));
            }
            Field::Attribute(k) => {
                lead.attributes.insert(k, v);
            }
        }
    }
    if lead.name.is_empty() {
        lead.name = format!("{first} {last}").trim().to_string();
    }
    if !errors.is_empty() {
        return Err(Refusal::Bad(errors));
    }
    Ok(Posted {
        lead: lead.cleaned(),
        token,
        names,
    })
}

/// Every field of `p` that breaks a rule of leads, each named as it was posted: each field is
/// checked alone (beside a stand-in for the others), then the lead as a whole.
pub fn check(p: &Posted, country_code: &str) -> Vec<FieldError> {
    let lead = &p.lead;
    let base = NewLead {
        name: "x".into(),
        email: Some("x@x.example".into()),
        ..NewLead::default()
    };
    let mut errors = Vec::new();
    let mut probe = |key: &str, set: &dyn Fn(&mut NewLead)| {
        let mut one = base.clone();
        set(&mut one);
        if let Err(e) = one.validate(country_code, false) {
            errors.push(FieldError::new(&p.posted_name(key), e.to_string()));
        }
    };
    if !lead.name.is_empty() {
        probe("Name", &|l| l.name = lead.name.clone());
    }
    if lead.email.is_some() {
        probe("Email", &|l| l.email = lead.email.clone());
    }
    if lead.phone.is_some() {
        probe("Phone", &|l| l.phone = lead.phone.clone());
    }
    if lead.company.is_some() {
        probe("Company", &|l| l.company = lead.company.clone());
    }
    if lead.source.is_some() {
        probe("Source", &|l| l.source = lead.source.clone());
    }
    if !lead.tags.is_empty() {
        probe("tags", &|l| l.tags = lead.tags.clone());
    }
    for (k, v) in &lead.attributes {
        let key = format!("attr:{}", k.to_lowercase().replace([' ', '-'], "_"));
        probe(&key, &|l| {
            l.attributes.insert(k.clone(), v.clone());
        });
    }
    if !errors.is_empty() {
        return errors;
    }
    if let Err(e) = lead.validate(country_code, false) {
        let field = match e {
            crate::domain::lead::ValidationError::MissingName => p.posted_name("Name"),
            crate::domain::lead::ValidationError::MissingContact => p.posted_name("Email"),
            _ => String::new(),
        };
        errors.push(FieldError::new(&field, e.to_string()));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(body: &str) -> Result<Posted, Refusal> {
        parse(Some("application/x-www-form-urlencoded"), body.as_bytes())
    }

    #[test]
    fn a_form_lands_on_the_fields_an_import_would_fill() {
        let p = form(
            "First+Name=Ann&Last+Name=Lee&Email+Address=ann%40x.example&phone_number=\
             %2B44+7700+900123&utm_campaign=spring&tags=vip%2Ceu&token=secret",
        )
        .unwrap();
        assert_eq!(p.lead.name, "Ann Lee");
        assert_eq!(p.lead.email.as_deref(), Some("ann@x.example"));
        assert_eq!(p.lead.phone.as_deref(), Some("+44 7700 900123"));
        assert_eq!(p.lead.attributes["utm_campaign"], "spring");
        assert_eq!(p.lead.tags, vec!["vip", "eu"]);
        assert_eq!(p.token.as_deref(), Some("secret"));
        assert!(check(&p, "44").is_empty());
    }

    #[test]
    fn json_takes_the_same_names_and_lists() {
        let p = parse(
            Some("application/json; charset=utf-8"),
            br#"{"name":"Bo","email":"bo@x.example","tags":["a","b"],"company_size":40}"#,
        )
        .unwrap();
        assert_eq!(p.lead.tags, vec!["a", "b"]);
        assert_eq!(p.lead.attributes["company_size"], "40");
    }

    #[test]
    fn each_bad_field_is_named_as_posted() {
        let p = form("Name=Ann&Email+Address=not-an-address&Phone=abc").unwrap();
        let errors = check(&p, "1");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["Email Address", "Phone"], "{errors:?}");
        let none = form("Name=Ann").unwrap();
        assert_eq!(check(&none, "1")[0].field, "Email");
        let owner = form("name=Ann&email=a%40x.example&owner=bob").unwrap_err();
        assert!(matches!(owner, Refusal::Bad(e) if e[0].field == "owner"));
        let twice = form("email=a%40x.example&e-mail=b%40x.example").unwrap_err();
        assert!(matches!(twice, Refusal::Bad(e) if e[0].error == "given twice"));
    }

    #[test]
    fn other_bodies_are_refused_as_a_whole() {
        assert!(matches!(
            parse(Some("text/xml"), b"<a/>"),
            Err(Refusal::Unsupported(_))
        ));
        assert!(matches!(
            parse(Some("application/json"), b"[1]"),
            Err(Refusal::Bad(_))
        ));
        assert!(matches!(parse(None, &[0xff, 0xfe]), Err(Refusal::Bad(_))));
    }
}
