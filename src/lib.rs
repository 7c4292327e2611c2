//! leadq: keyboard-first sales-lead triage over an embedded store.
//!
//! - `domain`: pure rules: leads, interactions, stages, temperature, scoring, dedupe, dates.
//! - `store`: sled + bincode behind typed methods; the only module that names them.
//! - `service`: the one API the CLI and the TUI use, over the store.
//! - `config`: where things live (XDG folders) and the settings read from files and env.
//! - `cli`: the scriptable command line, one file per subcommand.
//! - `remote`: team mode: a server that owns the store, and a socket client of it.
//! - `tui`: the triage TUI over the same service API.
//! - `par`: per-item work spread over the cores (search, import).
//! - `intake`: web forms post leads over HTTP to the server (`leadq serve --http`).

pub mod cli;
pub mod config;
pub mod domain;
pub mod intake;
pub mod par;
pub mod remote;
pub mod service;
pub mod store;
pub mod tui;

/// Hands memory the process freed back to the system: set by the binary, which picks the
/// allocator (the library's tests run on the system's). The server calls it after its
/// start-up work, which frees a few hundred MB on a large store.
pub static RELEASE_MEMORY: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

pub fn release_memory() {
    if let Some(release) = RELEASE_MEMORY.get() {
        release();
    }
}
