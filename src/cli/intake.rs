//! `leadq intake token SOURCE`: makes a token for a web form of SOURCE and keeps it in the
//! intake's token file (created private, mode 0600).

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::intake::tokens::{Tokens, new_token};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Make a token for the web forms of SOURCE and add it to the token file
    Token(TokenArgs),
}

#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    /// The source the token's leads get (e.g. web-form)
    pub source: String,
    /// Posts a minute before the listener answers 429 (default 60)
    #[arg(long, value_name = "N")]
    pub per_minute: Option<u32>,
    /// The token file (default: ~/.config/leadq/intake-tokens.toml)
    #[arg(long, value_name = "FILE")]
    pub tokens: Option<PathBuf>,
}

pub fn run(c: &Command) -> Result<ExitCode> {
    let Command::Token(a) = c;
    let source = a.source.trim().to_lowercase();
    if source.is_empty()
        || source
            .chars()
            .any(|c| c.is_control() || c == '"' || c == '\\')
    {
        bail!("give the source as a name, e.g. web-form");
    }
    crate::domain::limits::text("the source", &source, crate::domain::limits::SOURCE)?;
    if a.per_minute == Some(0) {
        bail!("--per-minute is at least 1");
    }
    let path = match &a.tokens {
        Some(p) => p.clone(),
        None => crate::config::intake_tokens_path()
            .context("no folder for the token file: give --tokens FILE")?,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    // An existing file must already be sound: a token is not added to a file the server
    // would refuse.
    if path.exists() {
        Tokens::load(&path).map_err(anyhow::Error::msg)?;
    }
    let token = new_token().context("cannot read random bytes for the token")?;
    let mut entry = format!("\n[[token]]\nsource = \"{source}\"\ntoken = \"{token}\"\n");
    if let Some(n) = a.per_minute {
        entry.push_str(&format!("per_minute = {n}\n"));
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    file.write_all(entry.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    say!("{token}")?;
    eprintln!(
        "leadq: added a token for source {source:?} to {} (it is read when the server starts: \
         restart `leadq serve --http ...`)",
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}
