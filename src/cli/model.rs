//! `leadq model train` and `leadq model status`: the learned score, trained on the store's
//! won and lost leads and judged against the rules on a holdout.

use std::process::ExitCode;

use anyhow::Result;

use super::Format;
use super::output::print_json;
use super::show::{ago, factor_line};
use crate::domain::model::{Model, Performance, thousands};
use crate::domain::sanitize::for_display;
use crate::domain::time::format_rfc3339;
use crate::service::LeadService;
use crate::service::Role;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Train on the won and lost leads: hold out 30%, compare with the rules, refit on all;
    /// the model scores the queue only if it beat the rules
    Train(TrainArgs),
    /// The last model trained: when, on what, how it did on the holdout, its strongest factors
    Status(StatusArgs),
}

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Leave a column out (an attribute, source, email or timeline): one filled in after the
    /// outcome. Repeatable; replaces model.toml's list and the last model's
    #[arg(long, value_name = "COL")]
    pub exclude: Vec<String>,
    /// Learn from every column (forget the excluded ones)
    #[arg(long, conflicts_with = "exclude")]
    pub include_all: bool,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn run(s: &dyn LeadService, c: &Command) -> Result<ExitCode> {
    match c {
        Command::Train(a) => {
            let exclude = if a.include_all {
                Some(Vec::new())
            } else if a.exclude.is_empty() {
                None
            } else {
                Some(a.exclude.clone())
            };
            let m = s.train_model(exclude)?;
            print(s, &m, a.format, true)
        }
        Command::Status(a) => match s.model()? {
            Some(m) => print(s, &m, a.format, false),
            None if a.format == Format::Json => {
                print_json(&serde_json::json!({ "model": null }))?;
                Ok(ExitCode::SUCCESS)
            }
            None if s.identity().role == Role::Manager => {
                say!(
                    "No model yet: the queue is scored by the rules. Import won and lost history \
                     (`leadq import FILE --outcome-column COL`) or close leads, then run \
                     `leadq model train`."
                )?;
                Ok(ExitCode::SUCCESS)
            }
            None => {
                say!(
                    "No model yet: the queue is scored by the rules. A manager can train one on \
                     the team's won and lost leads (`leadq model train`)."
                )?;
                Ok(ExitCode::SUCCESS)
            }
        },
    }
}

fn print(s: &dyn LeadService, m: &Model, format: Format, trained: bool) -> Result<ExitCode> {
    if format == Format::Json {
        print_json(&json(m))?;
        return Ok(ExitCode::SUCCESS);
    }
    let now = s.now();
    let h = &m.holdout;
    let verb = if trained { "Trained model" } else { "Model" };
    say!(
        "{verb} {} on {} closed leads ({} won / {} lost), {}",
        m.version,
        thousands(m.won + m.lost),
        thousands(m.won),
        thousands(m.lost),
        if trained {
            format_rfc3339(m.trained_at)
        } else {
            format!(
                "trained {} ({})",
                format_rfc3339(m.trained_at),
                ago(m.trained_at, now)
            )
        }
    )?;
    say!("{}", if m.active { "In use" } else { "Not in use" })?;
    say!("  {}", for_display(&m.verdict))?;
    say!()?;
    say!(
        "Holdout: {} leads kept out of training ({} won, {:.1}%)",
        thousands(h.leads),
        thousands(h.won),
        100.0 * h.won as f64 / h.leads.max(1) as f64
    )?;
    say!("                      model    rules")?;
    let row = |name: &str, f: &dyn Fn(&Performance) -> String| {
        say!("  {name:<18} {:>7}  {:>7}", f(&h.model), f(&h.rules))
    };
    row("AUC", &|p| format!("{:.3}", p.auc))?;
    row("average precision", &|p| {
        format!("{:.3}", p.average_precision)
    })?;
    row("won in top 10%", &|p| {
        format!("{:.1}%", p.top_tenth_won * 100.0)
    })?;
    say!()?;
    say!("Calibration by decile of the model's ranking (best first): predicted / won")?;
    for (i, d) in h.model.deciles.iter().enumerate() {
        let predicted = d.predicted.unwrap_or(f64::NAN) * 100.0;
        say!(
            "  {:>2}  {:>5.1}% / {:>5.1}%  {}",
            i + 1,
            predicted,
            d.observed * 100.0,
            bar(d.observed)
        )?;
    }
    say!()?;
    let base = h.won as f64 / h.leads.max(1) as f64;
    say!("Temperature on the holdout (score from the model):")?;
    for t in &h.temperatures {
        say!(
            "  {:<5} {:>7} leads  won {:>5.1}%  ({:.1}x the average)",
            t.temperature.name(),
            thousands(t.leads),
            t.won_rate * 100.0,
            if base > 0.0 { t.won_rate / base } else { 0.0 }
        )?;
    }
    say!()?;
    say!("Strongest factors:")?;
    for st in m.strongest(8) {
        let sides: Vec<String> = [st.raises, st.lowers]
            .into_iter()
            .flatten()
            .map(|f| factor_line(&f))
            .collect();
        say!(
            "  {:<24} {}",
            crate::cli::output::fit(&st.column, 24),
            sides.join("   ")
        )?;
    }
    if !m.excluded.is_empty() {
        say!()?;
        say!("Left out: {}", for_display(&m.excluded.join(", ")))?;
    }
    if !m.warnings.is_empty() {
        say!()?;
        say!("Warnings:")?;
        for w in &m.warnings {
            say!("  ! {}", for_display(w))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn bar(share: f64) -> String {
    "█".repeat((share * 40.0).round().clamp(0.0, 40.0) as usize)
}

fn json(m: &Model) -> serde_json::Value {
    serde_json::json!({
        "model": {
            "version": m.version,
            "trained_at": format_rfc3339(m.trained_at),
            "active": m.active,
            "verdict": m.verdict,
            "won": m.won,
            "lost": m.lost,
            "base_rate": m.base_rate,
            "excluded": m.excluded,
            "holdout": m.holdout,
            "strongest": m.strongest(8),
            "warnings": m.warnings,
            "minimum": { "won": crate::domain::model::MIN_WON, "lost": crate::domain::model::MIN_LOST },
        }
    })
}
