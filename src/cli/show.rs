//! `leadq show ID`: the card, the score explanation and the timeline, newest first.

use std::process::ExitCode;

use anyhow::Result;

use super::Format;
use super::output::{detail_json, next_label, print_json, temperature_label};
use crate::domain::LeadId;
use crate::domain::model::learned_from;
use crate::domain::sanitize::for_display;
use crate::domain::time::{format_rfc3339, relative};
use crate::service::{LeadDetail, LeadService};

#[derive(Debug, clap::Args)]
pub struct Args {
    pub id: LeadId,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn run(s: &dyn LeadService, a: &Args) -> Result<ExitCode> {
    let d = s.show(a.id)?;
    match a.format {
        Format::Json => print_json(&detail_json(&d))?,
        _ => print_text(&d, s.now())?,
    }
    Ok(ExitCode::SUCCESS)
}

fn print_text(d: &LeadDetail, now: i64) -> std::io::Result<()> {
    let l = &d.view.lead;
    let opt = |o: &Option<String>| o.as_deref().map_or("-".to_string(), for_display);
    say!(
        "#{} {}  [{} {}]  {}",
        l.id,
        for_display(&l.name),
        temperature_label(d.view.temperature),
        d.view.score,
        l.stage
    )?;
    say!("  company  {}", opt(&l.company))?;
    say!("  email    {}", opt(&l.email))?;
    say!("  phone    {}", opt(&l.phone))?;
    say!("  source   {}", opt(&l.source))?;
    say!("  owner    {}", opt(&l.owner))?;
    if let Some(r) = l.lost_reason {
        say!("  lost     {r}")?;
    }
    if !l.tags.is_empty() {
        say!("  tags     {}", for_display(&l.tags.join(", ")))?;
    }
    for (k, v) in &l.attributes {
        say!("  {:<8} {}", for_display(k), for_display(v))?;
    }
    say!(
        "  created  {} ({})",
        format_rfc3339(l.created),
        ago(l.created, now)
    )?;
    say!(
        "  touched  {}",
        l.last_touch.map_or("never".into(), |t| ago(t, now))
    )?;
    say!(
        "  next     {}",
        l.next_action.map_or("-".into(), |t| format!(
            "{} ({})",
            format_rfc3339(t),
            next_label(Some(t), now)
        ))
    )?;
    if let Some(t) = l.snoozed_until.filter(|t| *t > now) {
        say!("  snoozed  until {}", format_rfc3339(t))?;
    }
    say!()?;
    say!(
        "Score {} = fit {:.1} + engagement {:.1}",
        d.explanation.score,
        d.explanation.fit + 0.0,
        d.explanation.engagement + 0.0
    )?;
    for item in &d.explanation.items {
        say!("  {:>+6.1}  {}", item.points, for_display(&item.rule))?;
    }
    if let Some(p) = &d.prediction {
        say!()?;
        say!(
            "Chance to win {:.0}% ({})",
            p.chance * 100.0,
            learned_from(p.won, p.lost, p.trained_at, now),
        )?;
        // From the history's average lead, the strongest factors one by one and the rest
        // together: the odds multiply up to the chance.
        say!(
            "  from the history's average lead: {:.0}%",
            crate::domain::model::solver::sigmoid(p.base) * 100.0
        )?;
        let shown = p
            .factors
            .iter()
            .take(6)
            .take_while(|f| f.effect.abs() >= 0.05)
            .count();
        for f in &p.factors[..shown] {
            say!("  {}", factor_line(f))?;
        }
        let rest: f64 = p.factors[shown..].iter().map(|f| f.effect).sum();
        if rest.abs() >= 0.05 {
            say!(
                "  {}",
                factor_line(&crate::domain::model::Factor {
                    label: format!("{} other factors together", p.factors.len() - shown),
                    effect: rest,
                })
            )?;
        }
    }
    say!()?;
    say!("Timeline (newest first)")?;
    for i in &d.timeline {
        let what = match i.outcome {
            Some(o) => format!("{} {}", i.kind, o),
            None => i.kind.to_string(),
        };
        let note = i
            .note
            .as_deref()
            .map(|n| format!("  {}", for_display(n)))
            .unwrap_or_default();
        say!(
            "  {}  {:<22} {:<10}{}",
            format_rfc3339(i.at),
            what,
            for_display(&i.author),
            note
        )?;
    }
    Ok(())
}

/// `+ source: referral  (odds x2.1)`: which way a factor pulls, and how hard.
pub fn factor_line(f: &crate::domain::model::Factor) -> String {
    let sign = if f.effect >= 0.0 { '+' } else { '-' };
    let odds = f.effect.exp();
    let strength = if odds >= 1.0 {
        format!("odds x{odds:.1}")
    } else {
        format!("odds /{:.1}", 1.0 / odds)
    };
    format!("{sign} {}  ({strength})", for_display(&f.label))
}

pub fn ago(t: i64, now: i64) -> String {
    match relative(t, now).as_str() {
        "now" => "just now".into(),
        r if r.starts_with("in ") => r.to_string(),
        r => format!("{r} ago"),
    }
}
