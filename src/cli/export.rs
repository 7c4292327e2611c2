//! `leadq export`: every lead with its current score, temperature and stage.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::Format;
use super::output::{LeadJson, write_csv};
use crate::service::LeadService;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
    /// Write to FILE instead of standard output
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(s: &dyn LeadService, a: &Args) -> Result<ExitCode> {
    let rows = s.export()?;
    let mut sink: Box<dyn Write> = match &a.out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot write {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    match a.format {
        Format::Csv => write_csv(&rows, &mut sink)?,
        Format::Json => {
            let json: Vec<LeadJson> = rows.iter().map(LeadJson::from_view).collect();
            serde_json::to_writer_pretty(&mut sink, &json)?;
            writeln!(sink)?;
        }
        Format::Text => {
            return Err(super::usage(
                "export writes csv or json: use --format csv or --format json",
            ));
        }
    }
    sink.flush()?;
    if let Some(p) = &a.out {
        tell!("exported {} leads to {}", rows.len(), p.display());
    }
    Ok(ExitCode::SUCCESS)
}
