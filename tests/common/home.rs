//! A temporary home for the real binary: its store, and the environment every `leadq` run in it
//! gets (a fixed clock, UTC, HOME and the XDG folders inside the home, a USER of its own).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use tempfile::TempDir;

pub const NOW: &str = "2026-11-22T10:00:00Z";
pub const BIN: &str = env!("CARGO_BIN_EXE_leadq");
/// The longest one CLI command may take before the test gives up on it.
pub const RUN_LIMIT: Duration = Duration::from_secs(30);

pub struct Home {
    dir: TempDir,
}

impl Home {
    pub fn new() -> Home {
        Home {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn store(&self) -> PathBuf {
        self.path().join("store")
    }

    pub fn socket(&self) -> PathBuf {
        self.store().join("leadq.sock")
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        let p = |rel: &str| self.path().join(rel).display().to_string();
        vec![
            ("LEADQ_DB", p("store")),
            ("LEADQ_NOW", NOW.into()),
            ("TZ", "UTC".into()),
            ("HOME", self.path().display().to_string()),
            ("XDG_CONFIG_HOME", p("config")),
            ("XDG_DATA_HOME", p("data")),
            ("XDG_STATE_HOME", p("state")),
            ("USER", "tester".into()),
            ("LOGNAME", "tester".into()),
        ]
    }

    /// `env`, plus what the TUI in a pseudo-terminal needs: a TERM, and a server it starts
    /// that leaves soon after the test.
    pub fn tui_env(&self) -> Vec<(&'static str, String)> {
        let mut env = self.env();
        env.push(("TERM", "xterm-256color".into()));
        env.push(("LEADQ_SERVER_IDLE", "1".into()));
        env
    }

    /// `leadq` with `env` and nothing else from the test's own environment.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.env_clear().envs(self.env()).current_dir(self.path());
        cmd
    }

    /// Runs `leadq ARGS` to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = self.command();
        cmd.args(args);
        assert_cmd::Command::from_std(cmd)
            .timeout(RUN_LIMIT)
            .output()
            .expect("leadq runs")
    }

    /// Runs a command that must succeed; returns its standard output.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "leadq {args:?} failed with {:?}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }
}

impl Home {
    /// Every lead as `export --format json` prints it: what a test compares before and after.
    pub fn export(&self) -> String {
        self.cli(&["export", "--format", "json"])
    }

    /// A command's JSON output, parsed.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.cli(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
    }
}

/// The safety net of a failed test: no server of its folder may outlive it.
impl Drop for Home {
    fn drop(&mut self) {
        super::server::kill_servers_under(self.path());
    }
}
