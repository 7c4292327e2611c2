//! `leadq dupes`: the likely duplicate pairs the arrival check missed, and `--not A B` to
//! mark a pair as two people.

use std::process::ExitCode;

use anyhow::Result;

use super::output::print_json;
use super::{Format, usage};
use crate::domain::LeadId;
use crate::domain::sanitize::{for_csv_cell, for_display};
use crate::service::{DupePair, DupeSide, LeadService};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The least confidence shown, 0-100 (a shared phone or a typo with nothing else in
    /// common is under 60)
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub min: u8,
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Mark two leads as not one person (managers): the pair is not offered again
    #[arg(long = "not", num_args = 2, value_names = ["A", "B"])]
    pub not: Option<Vec<LeadId>>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn run(s: &dyn LeadService, a: &Args) -> Result<ExitCode> {
    if let Some(pair) = &a.not {
        let [x, y] = pair.as_slice() else {
            return Err(usage("dupes --not takes two lead ids"));
        };
        s.not_dupes(*x, *y)?;
        say!("#{x} and #{y} are marked as two people: the pair is not offered again")?;
        return Ok(ExitCode::SUCCESS);
    }
    let pairs = s.dupes(a.min, a.limit)?;
    match a.format {
        Format::Json => print_json(&serde_json::to_value(&pairs)?)?,
        Format::Csv => {
            let mut w = csv::Writer::from_writer(std::io::stdout().lock());
            w.write_record(["confidence", "a", "a_name", "b", "b_name", "why"])?;
            for p in &pairs {
                let why: Vec<&str> = p.reasons.iter().map(|r| r.describe()).collect();
                w.write_record([
                    p.confidence.to_string(),
                    p.a.id.to_string(),
                    for_csv_cell(&p.a.name),
                    p.b.id.to_string(),
                    for_csv_cell(&p.b.name),
                    why.join("; "),
                ])?;
            }
            w.flush()?;
        }
        Format::Text => {
            for p in &pairs {
                text(p)?;
            }
            say!(
                "{} likely pair(s) at {}% or surer. Join a pair: leadq merge KEEP OTHER; two \
                 people: leadq dupes --not A B",
                pairs.len(),
                a.min
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn side(l: &DupeSide) -> String {
    let mut out = format!("#{} {}", l.id, for_display(&l.name));
    for (open, v, close) in [
        (" <", &l.email, ">"),
        (" ", &l.phone, ""),
        (" (", &l.company, ")"),
    ] {
        if let Some(v) = v {
            out.push_str(&format!("{open}{}{close}", for_display(v)));
        }
    }
    if let Some(o) = &l.owner {
        out.push_str(&format!(" [{}]", for_display(o)));
    }
    out
}

fn text(p: &DupePair) -> Result<()> {
    let why: Vec<&str> = p.reasons.iter().map(|r| r.describe()).collect();
    say!(
        "{:>3}%  {}\n      {}\n      {}\n",
        p.confidence,
        side(&p.a),
        side(&p.b),
        why.join("; ")
    )?;
    Ok(())
}
