//! `leadq merge KEEP OTHER`: join two cards of one person (managers).

use std::process::ExitCode;

use anyhow::Result;

use super::Format;
use super::output::{change_json, change_line, print_json};
use crate::domain::LeadId;
use crate::domain::sanitize::for_display;
use crate::service::{LeadService, MergeRequest};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The lead that stays (its id and its values win)
    pub keep: LeadId,
    /// The lead joined into it (its id then names KEEP)
    pub other: LeadId,
    /// Take this field from OTHER even where KEEP has one: name, email, phone, company,
    /// source, or an attribute such as title (repeatable)
    #[arg(long, value_name = "FIELD")]
    pub take: Vec<String>,
    /// Who owns the merged lead, when the two have different owners ("none": the pool)
    #[arg(long, value_name = "USER")]
    pub owner: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn run(s: &dyn LeadService, a: &Args) -> Result<ExitCode> {
    let owner = match a.owner.as_deref().map(str::trim) {
        Some("me") => Some(s.identity().user),
        other => other.map(String::from),
    };
    let c = s.merge(MergeRequest {
        keep: a.keep,
        other: a.other,
        take: a.take.clone(),
        owner,
    })?;
    match a.format {
        Format::Json => {
            let mut v = change_json(&c);
            v["merged"] = serde_json::json!(a.other);
            v["changed"] = serde_json::json!(c.detail);
            print_json(&v)?;
        }
        _ => say!(
            "{}\n  {}",
            change_line(&c, s.now()),
            for_display(c.detail.as_deref().unwrap_or(""))
        )?,
    }
    Ok(ExitCode::SUCCESS)
}
