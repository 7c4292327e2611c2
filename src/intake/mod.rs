//! Web intake: leads posted by web forms over HTTP (`leadq serve --http ADDR`), each source
//! with its own token. An edge like the CLI: it reads requests, checks them, and makes the
//! same service calls a person's `leadq add` makes.
//!
//! - `tokens`: the token file (which secret posts for which source, how often).
//! - `form`: a posted body (a form or JSON) read into a lead request, field by field.
//! - `guard`: rates per token, and the answers remembered against retries.
//! - `listener`: the HTTP server.

pub mod form;
pub mod guard;
pub mod listener;
pub mod tokens;
