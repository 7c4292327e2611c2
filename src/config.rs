//! Where leadq keeps things and the settings it reads: XDG folders, `LEADQ_DB`, `LEADQ_NOW`,
//! the scoring rules file and `config.toml`. A broken file is an error naming file and line;
//! leadq never rewrites a user's file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;

use crate::domain::Rules;
use crate::domain::time::parse_rfc3339;
use crate::service::Settings;

/// The country code a phone without one is read with, unless `country_code` says otherwise.
pub const DEFAULT_COUNTRY_CODE: &str = "1";

fn dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "leadq")
}

/// `~/.local/share/leadq/store` (XDG data folder).
pub fn default_store_path() -> Result<PathBuf> {
    dirs().map(|d| d.data_dir().join("store")).ok_or_else(|| {
        anyhow!("cannot find a home folder for the store: pass --db PATH or set LEADQ_DB")
    })
}

/// `~/.config/leadq`.
pub fn config_dir() -> Option<PathBuf> {
    dirs().map(|d| d.config_dir().to_path_buf())
}

/// `config.toml`: settings that are not scoring rules.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Country calling code prefixed to national phone numbers, e.g. "44" (default "1").
    pub country_code: Option<String>,
    /// The TUI theme: a built-in name (default, light, high-contrast, mono) or a file in
    /// ~/.config/leadq/themes/.
    pub theme: Option<String>,
    /// Mouse support in the TUI (off by default).
    pub mouse: Option<bool>,
    /// Ring the terminal bell when a web lead is routed to you (off by default).
    pub bell: Option<bool>,
    /// The server's automatic snapshots of the store.
    pub snapshots: Option<SnapshotConfig>,
    /// Megabytes to keep free on the store's disk: a write that would leave less is refused
    /// before it starts (default 32).
    pub min_free_mb: Option<u64>,
    /// The server's web intake (off unless `http` is given here or `serve --http`).
    pub intake: Option<IntakeConfig>,
}

/// `[intake]` in config.toml.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeConfig {
    /// Where to listen for HTTP, e.g. "127.0.0.1:8080".
    pub http: Option<String>,
    /// The token file (default ~/.config/leadq/intake-tokens.toml).
    pub tokens: Option<PathBuf>,
    /// The largest body accepted, in KB (default 64).
    pub max_body_kb: Option<usize>,
    /// Minutes to a web lead's first touch before it is overdue, unless its routing rule
    /// says (default 5).
    pub response_minutes: Option<u32>,
}

/// The default token file of the intake.
pub fn intake_tokens_path() -> Option<PathBuf> {
    config_dir().map(|d| d.join("intake-tokens.toml"))
}

/// `[snapshots]` in config.toml.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotConfig {
    /// Hours between snapshots (0: none); default 6.
    pub every_hours: Option<u32>,
    /// How many to keep; default 8.
    pub keep: Option<usize>,
}

pub fn read_config(path: &Path) -> Result<FileConfig> {
    read_toml(path)
}

/// `model.toml`: what the learned score leaves out.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Columns (attribute names, `source`, `email`, `timeline`) never to learn from: those
    /// filled in after the outcome.
    #[serde(default)]
    pub exclude: Vec<String>,
}

/// `~/.config/leadq/model.toml`, if it exists.
pub fn model_config() -> Result<ModelConfig> {
    match config_dir() {
        Some(d) => read_toml(&d.join("model.toml")),
        None => Ok(ModelConfig::default()),
    }
}

/// A TOML file of settings: the defaults if it does not exist, an error naming the file and
/// line if it cannot be read.
fn read_toml<T: serde::de::DeserializeOwned + Default>(path: &Path) -> Result<T> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(T::default()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    toml::from_str(&text).map_err(|e| {
        let line = e.span().map_or(1, |s| {
            text[..s.start.min(text.len())].matches('\n').count() + 1
        });
        anyhow!("{}: line {line}: {}", path.display(), e.message().trim())
    })
}

/// The scoring rules: `--rules FILE` if given, else `~/.config/leadq/scoring.toml` if it
/// exists, else the built-in defaults.
pub fn load_rules(explicit: Option<&Path>) -> Result<Rules> {
    let path = match explicit {
        Some(p) => Some(p.to_path_buf()),
        None => config_dir()
            .map(|d| d.join("scoring.toml"))
            .filter(|p| p.exists()),
    };
    let Some(path) = path else {
        return Ok(Rules::defaults());
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read scoring rules {}", path.display()))?;
    Ok(Rules::parse(&text, &path.display().to_string())?)
}

/// The Unix user running leadq, recorded as the author of what they log.
pub fn current_user() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::geteuid())
                .ok()
                .flatten()
                .map(|u| u.name)
        })
        .unwrap_or_else(|| "unknown".into())
}

/// `LEADQ_NOW`, if set, fixes "now" for this process.
pub fn fixed_now() -> Result<Option<i64>> {
    match std::env::var("LEADQ_NOW") {
        Ok(v) if !v.trim().is_empty() => match parse_rfc3339(&v) {
            Some(ms) => Ok(Some(ms)),
            None => bail!("LEADQ_NOW={v:?} is not an RFC 3339 time such as 2026-11-22T09:00:00Z"),
        },
        _ => Ok(None),
    }
}

pub fn file_config() -> Result<FileConfig> {
    match config_dir() {
        Some(d) => read_config(&d.join("config.toml")),
        None => Ok(FileConfig::default()),
    }
}

pub fn settings(rules_file: Option<&Path>) -> Result<Settings> {
    let file = file_config()?;
    let country_code = file
        .country_code
        .unwrap_or_else(|| DEFAULT_COUNTRY_CODE.into());
    if country_code.is_empty() || !country_code.chars().all(|c| c.is_ascii_digit()) {
        bail!("config.toml: country_code {country_code:?} must be digits, such as \"44\"");
    }
    let snap = file.snapshots.unwrap_or_default();
    let every_hours = snap.every_hours.unwrap_or(6);
    if every_hours > 24 * 365 {
        bail!(
            "config.toml: [snapshots] every_hours = {every_hours}: use 0 (none) to 8760 (a year)"
        );
    }
    let keep = snap.keep.unwrap_or(crate::service::SNAPSHOT_KEEP);
    if !(1..=1000).contains(&keep) {
        bail!("config.toml: [snapshots] keep = {keep}: keep 1 to 1000 snapshots");
    }
    let min_free_mb = file
        .min_free_mb
        .unwrap_or(crate::store::DEFAULT_MIN_FREE >> 20);
    if min_free_mb > 1024 * 1024 {
        bail!("config.toml: min_free_mb = {min_free_mb}: use 0 to 1048576 (a terabyte)");
    }
    Ok(Settings {
        min_free: min_free_mb << 20,
        snapshot_every: (every_hours > 0)
            .then(|| std::time::Duration::from_secs(u64::from(every_hours) * 3600)),
        snapshot_keep: keep,
        rules: load_rules(rules_file)?,
        country_code,
        user: current_user(),
        fixed_now: fixed_now()?,
        members: None,
        model_exclude: model_config()?.exclude,
        spend: spend()?,
        routing: routing()?,
        response_target: match file.intake.as_ref().and_then(|i| i.response_minutes) {
            Some(0) => bail!("config.toml: [intake] response_minutes is at least 1"),
            Some(m) => i64::from(m) * 60_000,
            None => 5 * 60_000,
        },
    })
}

/// `routing.toml`: who gets a new inbound lead. A broken file stops leadq, naming the file
/// and the rule.
pub fn routing() -> Result<crate::domain::routing::Rules> {
    let Some(path) = config_dir().map(|d| d.join("routing.toml")) else {
        return Ok(crate::domain::routing::Rules::default());
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => crate::domain::routing::Rules::parse(&text)
            .map_err(|e| anyhow!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(crate::domain::routing::Rules::default())
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// `spend.toml`: what each source cost each month.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpendFile {
    #[serde(default)]
    pub spend: Vec<SpendEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpendEntry {
    pub source: String,
    /// YYYY-MM.
    pub month: String,
    pub amount: f64,
}

/// `~/.config/leadq/spend.toml`, checked: each entry a source, a month and an amount.
pub fn spend() -> Result<Vec<crate::service::Spend>> {
    let Some(dir) = config_dir() else {
        return Ok(Vec::new());
    };
    parse_spend(&read_toml::<SpendFile>(&dir.join("spend.toml"))?)
}

/// The entries of a spend file as the reports use them, or what is wrong with one.
pub fn parse_spend(file: &SpendFile) -> Result<Vec<crate::service::Spend>> {
    use chrono::Datelike;
    let mut out = Vec::new();
    for (n, e) in file.spend.iter().enumerate() {
        let at = format!(
            "spend.toml: entry {} ({:?}, {:?})",
            n + 1,
            e.source,
            e.month
        );
        let source = e.source.trim();
        if source.is_empty() {
            bail!("{at}: names no source");
        }
        if !e.amount.is_finite() || e.amount < 0.0 || e.amount > 1e12 {
            bail!("{at}: amount {} is not a cost (0 or more)", e.amount);
        }
        let first =
            chrono::NaiveDate::parse_from_str(&format!("{}-01", e.month.trim()), "%Y-%m-%d")
                .map_err(|_| {
                    anyhow!("{at}: month {:?} is not YYYY-MM, such as 2026-11", e.month)
                })?;
        let next = first
            .checked_add_months(chrono::Months::new(1))
            .ok_or_else(|| anyhow!("{at}: month {:?} is out of range", e.month))?;
        out.push(crate::service::Spend {
            source: source.to_string(),
            first_day: first.num_days_from_ce(),
            last_day: next.num_days_from_ce() - 1,
            amount: e.amount,
        });
    }
    Ok(out)
}
