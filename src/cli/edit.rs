//! `leadq edit` and `leadq tag`: change a lead's card after it came in.

use std::process::ExitCode;

use anyhow::Result;

use super::output::{change_json, change_line, print_json};
use super::{Format, usage};
use crate::domain::LeadId;
use crate::domain::edit::{LeadEdit, parse_attribute, parse_tag_changes};
use crate::domain::sanitize::for_display;
use crate::service::{Change, LeadService};

#[derive(Debug, clap::Args)]
pub struct EditArgs {
    pub id: LeadId,
    #[arg(long)]
    pub name: Option<String>,
    /// The e-mail ("" removes it; a lead keeps an e-mail or a phone)
    #[arg(long)]
    pub email: Option<String>,
    /// The phone ("" removes it)
    #[arg(long)]
    pub phone: Option<String>,
    /// The company ("" removes it)
    #[arg(long)]
    pub company: Option<String>,
    /// Where the lead came from ("" removes it)
    #[arg(long)]
    pub source: Option<String>,
    /// The job title (the attribute `title`; "" removes it)
    #[arg(long)]
    pub title: Option<String>,
    /// Set an attribute, NAME=VALUE (repeatable; an empty value removes it)
    #[arg(long = "attr", value_name = "NAME=VALUE")]
    pub attrs: Vec<String>,
    /// Remove an attribute (repeatable)
    #[arg(long, value_name = "NAME")]
    pub unset: Vec<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct TagArgs {
    pub id: LeadId,
    /// +tag adds, -tag removes (a bare name adds)
    #[arg(required = true, allow_hyphen_values = true, value_name = "+TAG|-TAG")]
    pub changes: Vec<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn run_edit(s: &dyn LeadService, a: &EditArgs) -> Result<ExitCode> {
    let mut edit = LeadEdit {
        name: a.name.clone(),
        email: a.email.clone(),
        phone: a.phone.clone(),
        company: a.company.clone(),
        source: a.source.clone(),
        unset: a.unset.clone(),
        ..LeadEdit::default()
    };
    for attr in &a.attrs {
        let (k, v) = parse_attribute(attr).map_err(|e| usage(format!("--attr: {e}")))?;
        edit.set.insert(k, v);
    }
    if let Some(title) = &a.title {
        edit.set.insert("title".into(), title.clone());
    }
    if edit.is_empty() {
        return Err(usage(
            "edit: name what to change: --name, --email, --phone, --company, --source, \
             --title, --attr NAME=VALUE or --unset NAME",
        ));
    }
    report(s, &s.edit(a.id, edit)?, a.format)
}

pub fn run_tag(s: &dyn LeadService, a: &TagArgs) -> Result<ExitCode> {
    // `-old` removes a tag, so the tags take what starts with a dash: an option written
    // after them (`--db`, `--help`) would be taken for one. Refused instead.
    if let Some(opt) = a
        .changes
        .iter()
        .find(|c| c.starts_with("--") || c.as_str() == "-h")
    {
        return Err(usage(format!(
            "tag: {opt:?} looks like an option: put options before the tags \
             (leadq tag --format json 17 +vip -old); a tag cannot start with \"--\""
        )));
    }
    let (tag, untag) = parse_tag_changes(&a.changes).map_err(|e| usage(format!("tag: {e}")))?;
    let edit = LeadEdit {
        tag,
        untag,
        ..LeadEdit::default()
    };
    report(s, &s.edit(a.id, edit)?, a.format)
}

fn report(s: &dyn LeadService, c: &Change, format: Format) -> Result<ExitCode> {
    match format {
        Format::Json => {
            let mut v = change_json(c);
            v["changed"] = serde_json::json!(c.detail);
            print_json(&v)?;
        }
        _ => {
            let what = c
                .detail
                .as_deref()
                .map_or_else(|| "nothing changed".to_string(), for_display);
            say!("{}\n  {what}", change_line(c, s.now()))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
