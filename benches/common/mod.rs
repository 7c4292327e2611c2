//! What the benches that run the real binary share: a `leadq` command with a fixed clock and
//! a home of its own, demo stores made once, a server that owns a store.

// Each bench uses some of these.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use leadq::remote::client::Client;

pub const NOW: &str = "2026-11-22T09:00:00Z";

pub fn leadq(home: &Path, store: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_leadq"));
    c.env("LEADQ_DB", store)
        .env("LEADQ_NOW", NOW)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("LEADQ_SERVER", "off");
    c
}

pub fn demo_store(n: usize) -> PathBuf {
    let dir =
        PathBuf::from(std::env::var("STORES").unwrap_or_else(|_| "/tmp/bench-leadq-stores".into()));
    std::fs::create_dir_all(&dir).expect("stores folder");
    let store = dir.join(format!("demo-{n}"));
    if !store.join("db").exists() {
        eprintln!("making a demo store of {n} leads in {}", store.display());
        let out = leadq(&dir, &store)
            .args(["demo", "--count", &n.to_string()])
            .output()
            .expect("run leadq demo");
        assert!(out.status.success(), "leadq demo failed: {out:?}");
    }
    store
}

pub fn start_server(home: &Path, store: &Path) -> Child {
    let child = leadq(home, store)
        .env_remove("LEADQ_SERVER")
        .args(["serve", "--foreground", "--idle-exit", "0"])
        .spawn()
        .expect("start leadq serve");
    let start = Instant::now();
    while Client::connect(store, false).is_err() {
        assert!(start.elapsed() < Duration::from_secs(600), "no server");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}
