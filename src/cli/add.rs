//! `leadq add`: one lead from the command line or a webhook script.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::Format;
use super::output::print_json;
use crate::domain::NewLead;
use crate::domain::sanitize::for_display;
use crate::service::LeadService;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, required_unless_present = "json")]
    pub name: Option<String>,
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
    /// Read the lead from a JSON object in FILE (`-`: standard input), with the field names
    /// an import or a web form uses ("name", "email", "Phone Number", "utm_campaign" ...);
    /// the other options given win over its fields (tags and attributes add to them)
    #[arg(long, value_name = "FILE")]
    pub json: Option<std::path::PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// The lead a JSON object in `path` (`-`: standard input) describes.
fn read_json(path: &std::path::Path) -> Result<NewLead> {
    use crate::intake::form::{self, Owner, Refusal};
    let shown = if path.as_os_str() == "-" {
        "standard input".to_string()
    } else {
        path.display().to_string()
    };
    let mut bytes = Vec::new();
    let read = if path.as_os_str() == "-" {
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes).map(|_| ())
    } else {
        std::fs::read(path).map(|b| bytes = b)
    };
    read.with_context(|| format!("cannot read {shown}"))?;
    match form::parse_as(Some("application/json"), &bytes, Owner::Allowed) {
        Ok(p) => Ok(p.lead),
        Err(Refusal::Bad(errors)) => {
            let list: Vec<String> = errors
                .iter()
                .map(|e| {
                    if e.field.is_empty() {
                        e.error.clone()
                    } else {
                        format!("field {:?}: {}", e.field, e.error)
                    }
                })
                .collect();
            Err(super::usage(format!("{shown}: {}", list.join("; "))))
        }
        Err(Refusal::Unsupported(why)) => Err(super::usage(format!("{shown}: {why}"))),
    }
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
    let mut request = match &a.json {
        Some(path) => read_json(path)?,
        None => NewLead::default(),
    };
    if let Some(n) = &a.name {
        request.name = n.clone();
    }
    let or = |flag: &Option<String>, from: &mut Option<String>| {
        if flag.is_some() {
            *from = flag.clone();
        }
    };
    or(&a.email, &mut request.email);
    or(&a.phone, &mut request.phone);
    or(&a.company, &mut request.company);
    or(&a.source, &mut request.source);
    or(&a.owner, &mut request.owner);
    request.tags.extend(a.tags.iter().cloned());
    request.attributes.extend(parse_attrs(&a.attrs)?);
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
