//! `leadq add`: one lead from the command line or a webhook script.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Result;

use super::Format;
use super::output::print_json;
use crate::domain::NewLead;
use crate::domain::sanitize::for_display;
use crate::service::LeadService;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long)]
    pub name: String,
    #[arg(long)]
    pub email: Option<String>,
    #[arg(long)]
    pub phone: Option<String>,
    #[arg(long)]
    pub company: Option<String>,
    /// Where the lead came from: web-form, landing-page, ad-campaign, referral, inbound-call,
    /// webinar, trade-show, partner, cold-list ...
    #[arg(long)]
    pub source: Option<String>,
    /// The rep who owns the lead (none: the unassigned pool)
    #[arg(long)]
    pub owner: Option<String>,
    /// A tag (repeatable)
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// A free attribute such as title=CTO or city=Lisbon (repeatable)
    #[arg(long = "attr", value_name = "KEY=VALUE")]
    pub attrs: Vec<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn parse_attrs(attrs: &[String]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for a in attrs {
        match a.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                out.insert(k.trim().to_string(), v.trim().to_string());
            }
            _ => return Err(super::usage(format!("--attr {a:?} is not KEY=VALUE"))),
        }
    }
    Ok(out)
}

pub fn run(s: &dyn LeadService, a: &Args) -> Result<ExitCode> {
    let request = NewLead {
        name: a.name.clone(),
        email: a.email.clone(),
        phone: a.phone.clone(),
        company: a.company.clone(),
        source: a.source.clone(),
        owner: a.owner.clone(),
        tags: a.tags.clone(),
        attributes: parse_attrs(&a.attrs)?,
        closed: None,
    };
    let out = s.add(request)?;
    match a.format {
        Format::Json => print_json(&out)?,
        _ if out.created => say!("{}\tcreated\t{}", out.id, for_display(&out.name))?,
        _ => {
            let filled = if out.filled.is_empty() {
                "nothing new".to_string()
            } else {
                format!("filled {}", out.filled.join(", "))
            };
            say!(
                "{}\tmerged\t{} (same e-mail or phone; {filled})",
                out.id,
                for_display(&out.name)
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
