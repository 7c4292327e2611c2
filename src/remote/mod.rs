//! Team mode: one server process owns a store and serves every TUI and CLI on a Unix socket,
//! behind the same `LeadService` API as the in-process service.

pub mod client;
pub mod log;
mod outbox;
pub mod protocol;
pub mod server;
pub mod team;
