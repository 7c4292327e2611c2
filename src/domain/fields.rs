//! The fields a lead's data names, and the many names other tools give them: a CSV header,
//! a web form's field or a JSON key lands on the same field (`field_named`), so an import and
//! a web intake read a lead alike.

use crate::domain::sanitize::for_display;

/// What a column feeds.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Name,
    FirstName,
    LastName,
    Email,
    Phone,
    Company,
    Source,
    Owner,
    Tags,
    Ignore,
    Attribute(String),
    /// `--outcome-column`: won, lost or open.
    Outcome,
    /// `--closed-column`: when a closed row was won or lost.
    ClosedAt,
}

impl Field {
    /// What the field is called in a message.
    pub fn label(&self) -> String {
        match self {
            Field::Name => "the name".into(),
            Field::FirstName => "the first name".into(),
            Field::LastName => "the last name".into(),
            Field::Email => "the e-mail".into(),
            Field::Phone => "the phone".into(),
            Field::Company => "the company".into(),
            Field::Source => "the source".into(),
            Field::Owner => "the owner".into(),
            Field::Tags => "tags".into(),
            Field::Ignore => "nothing".into(),
            Field::Attribute(k) => format!("the attribute {k:?}"),
            Field::Outcome => "the outcome".into(),
            Field::ClosedAt => "the close date".into(),
        }
    }

    /// What the column feeds, as the dry run lists it.
    pub fn shown(&self) -> String {
        match self {
            Field::Name => "name".into(),
            Field::FirstName => "first name".into(),
            Field::LastName => "last name".into(),
            Field::Email => "e-mail".into(),
            Field::Phone => "phone".into(),
            Field::Company => "company".into(),
            Field::Source => "source".into(),
            Field::Owner => "owner".into(),
            Field::Tags => "tags".into(),
            Field::Ignore => "ignored".into(),
            Field::Attribute(k) => format!("attribute {:?}", for_display(k)),
            Field::Outcome => "outcome".into(),
            Field::ClosedAt => "close date".into(),
        }
    }

    /// The name a model knows the field by (`leadq model train --exclude NAME`).
    pub fn model_name(&self) -> Option<String> {
        let name = match self {
            Field::Name | Field::FirstName | Field::LastName => "name",
            Field::Email => "email",
            Field::Phone => "phone",
            Field::Company => "company",
            Field::Source => "source",
            Field::Owner => "owner",
            Field::Tags => "tags",
            Field::Attribute(k) => k,
            Field::Ignore | Field::Outcome | Field::ClosedAt => return None,
        };
        Some(name.to_string())
    }

    /// Two columns with the same key would overwrite each other; tags add up and ignored
    /// columns feed nothing. Attribute names compare as leadq matches them (case ignored,
    /// spaces and dashes as underscores).
    pub fn key(&self) -> Option<String> {
        match self {
            Field::Tags | Field::Ignore => None,
            Field::Attribute(k) => Some(format!(
                "attr:{}",
                k.to_lowercase().replace([' ', '-'], "_")
            )),
            other => Some(format!("{other:?}")),
        }
    }
}

/// The field a header (or a `--map` target) names. Headers of the usual CRM exports
/// (Salesforce, HubSpot, Pipedrive, Zoho) land on the standard fields; the attributes the
/// scoring rules read (`title`, `company_size` ...) get one name whatever the export called
/// them, so rules and a learned model see one feature.
pub fn field_named(word: &str) -> Field {
    let w: String = word
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect();
    let attribute = |k: &str| Field::Attribute(k.to_string());
    match w.as_str() {
        "name" | "fullname" | "contactname" | "contact" | "leadname" | "person" => Field::Name,
        "firstname" | "givenname" | "first" | "contactfirstname" => Field::FirstName,
        "lastname" | "surname" | "familyname" | "last" | "contactlastname" => Field::LastName,
        "email" | "emailaddress" | "mail" | "workemail" | "businessemail" | "primaryemail"
        | "contactemail" => Field::Email,
        "phone" | "phonenumber" | "telephone" | "telephonenumber" | "tel" | "mobile" | "cell"
        | "cellphone" | "mobilephone" | "mobilenumber" | "mobilephonenumber" | "workphone"
        | "businessphone" | "officephone" | "directphone" | "primaryphone" => Field::Phone,
        "company" | "companyname" | "organization" | "organisation" | "organizationname"
        | "organisationname" | "account" | "accountname" | "org" | "employer" => Field::Company,
        "source" | "leadsource" | "originalsource" | "channel" | "utmsource" => Field::Source,
        "owner" | "rep" | "assignedto" | "salesrep" | "accountowner" | "leadowner"
        | "contactowner" | "ownername" => Field::Owner,
        "tags" | "tag" | "labels" => Field::Tags,
        "ignore" | "skip" => Field::Ignore,
        "title" | "jobtitle" | "position" => attribute("title"),
        "companysize" | "employees" | "noofemployees" | "numberofemployees" | "employeecount"
        | "headcount" => attribute("company_size"),
        "annualrevenue" | "revenue" => attribute("annual_revenue"),
        "industry" => attribute("industry"),
        "budget" => attribute("budget"),
        _ => Field::Attribute(word.trim().to_string()),
    }
}
