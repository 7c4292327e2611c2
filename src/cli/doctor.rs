//! `leadq doctor`: the store, the server, the socket, the permissions, the store's health
//! (a full check of what it holds), its snapshots and its disk, in plain words; exit 1 if
//! something needs fixing.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::remote::client::Client;
use crate::remote::log::log_path;
use crate::remote::server::socket_path;
use crate::remote::team::Team;
use crate::service::{Health, LeadService, Verification, newest_snapshot};
use crate::store::{DEFAULT_CACHE_BYTES, Store, free_space};

/// Below this much free space on the store's disk, doctor asks for room.
const LOW_SPACE: u64 = 64 * 1024 * 1024;

fn mode_of(p: &Path) -> Option<String> {
    let m = std::fs::metadata(p).ok()?;
    let owner = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(m.uid()))
        .ok()
        .flatten()
        .map_or(m.uid().to_string(), |u| u.name);
    let group = nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(m.gid()))
        .ok()
        .flatten()
        .map_or(m.gid().to_string(), |g| g.name);
    Some(format!(
        "{:o} {owner}:{group}",
        m.permissions().mode() & 0o7777
    ))
}

/// The report so far: each line ok or FIX.
#[derive(Default)]
struct Report {
    problems: usize,
}

impl Report {
    fn say(&mut self, ok: bool, text: String) {
        // A closed pipe ends the report; the checks themselves go on to the exit code.
        let _ = say!("{} {text}", if ok { "ok  " } else { "FIX " });
        if !ok {
            self.problems += 1;
        }
    }
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{} MB", b >> 20),
        b => format!("{} KB", b >> 10),
    }
}

fn age(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 2 * 3600 => format!("{} min", s / 60),
        s if s < 2 * 86_400 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

/// The store's health, in lines.
fn report_health(r: &mut Report, h: &Health) {
    if h.rewrite_due {
        r.say(
            false,
            "an erase is not physical yet: the store files keep old versions of the erased \
             lead until they are written anew, when the server next starts (or stop it and run \
             `leadq doctor --rewrite`)"
                .into(),
        );
    }
    match (&h.problem, h.counts) {
        (Some(p), _) => r.say(false, p.clone()),
        (None, Some((generation, leads, interactions))) => r.say(
            true,
            format!(
                "store schema {}, {leads} leads, {interactions} interactions, change {generation}",
                h.schema.unwrap_or(0)
            ),
        ),
        (None, None) => {}
    }
    match &h.verification {
        Verification::Passed => r.say(
            true,
            "a full check found every lead, interaction and index as leadq wrote them".into(),
        ),
        Verification::Failed(problems) if h.problem.is_none() => r.say(
            false,
            format!("the full check found: {}", problems.join("; ")),
        ),
        Verification::Failed(_) => {}
        Verification::Rebuilt(problems) => r.say(
            true,
            format!(
                "a full check found every lead and interaction whole; derived data had drifted \
                 and was rebuilt from the leads ({})",
                problems.join("; ")
            ),
        ),
        Verification::Running => r.say(true, "the server is checking the whole store now".into()),
        Verification::NotRun => {}
    }
    let every = h
        .snapshot_every_secs
        .map_or("never (snapshots are off in config.toml)".into(), |s| {
            format!("every {}", age(s))
        });
    match &h.snapshot {
        Some(s) => {
            let stale = h
                .snapshot_every_secs
                .is_some_and(|e| s.age_secs > 2 * e + 3600);
            r.say(
                !stale,
                format!(
                    "newest automatic snapshot {} ({} old; the server takes one {every}, keeps {}){}",
                    s.path,
                    age(s.age_secs),
                    h.snapshot_keep,
                    if stale {
                        ": it is late; is the server running?"
                    } else {
                        ""
                    }
                ),
            );
        }
        None => r.say(
            true,
            format!(
                "no automatic snapshot yet (the leadq server takes one when it starts, then \
                 {every}; `leadq backup FILE` makes a copy now)"
            ),
        ),
    }
    if let Some(free) = h.free_bytes {
        r.say(
            free >= LOW_SPACE,
            format!(
                "{} free on the store's disk{}",
                size(free),
                if free < LOW_SPACE {
                    ": writes will fail when it is full; free some space"
                } else {
                    ""
                }
            ),
        );
    }
}

#[derive(clap::Args, Debug, Default)]
pub struct Args {
    /// Rebuild the kept counts and the index of coming changes from the leads (a full scan),
    /// saying what was wrong with them. Needs the store to itself: no server running.
    #[arg(long)]
    pub recount: bool,
    /// Write the store files anew from what the store holds, so that nothing erased stays in
    /// them (`leadq erase` through a server leaves that to the server's next start). Needs the
    /// store to itself: no server running.
    #[arg(long)]
    pub rewrite: bool,
}

/// The store, opened here (no server runs): the checks every open makes, then a full one;
/// with `recount`, the derived data rebuilt first.
fn check_in_process(r: &mut Report, store: &Path, recount: bool, rules: Option<&Path>) {
    match Store::open(store, DEFAULT_CACHE_BYTES) {
        Ok(s) => {
            // The index of coming changes is filed with the team's decay and thresholds.
            if let Ok(settings) = crate::config::settings(rules)
                && let Err(e) = s
                    .use_country_code(&settings.country_code)
                    .and_then(|()| s.use_rules(std::sync::Arc::new(settings.rules)))
            {
                r.say(false, e.to_string());
            }
            if recount {
                match s.recount() {
                    Ok(wrong) if wrong.is_empty() => r.say(
                        true,
                        "recounted: the kept counts and the indexes were right".into(),
                    ),
                    Ok(wrong) => r.say(
                        true,
                        format!(
                            "recounted: the kept counts and the indexes are rebuilt from the \
                             leads (they were off: {})",
                            wrong.join("; ")
                        ),
                    ),
                    Err(e) => r.say(false, format!("the recount failed: {e}")),
                }
            }
            let verification = match s.verify() {
                Ok(p) if p.is_empty() => Verification::Passed,
                Ok(p) => Verification::Failed(p.iter().map(|x| x.to_string()).collect()),
                Err(e) => Verification::Failed(vec![e.to_string()]),
            };
            let counts = s.counts().ok();
            let settings = crate::config::settings(None).ok();
            report_health(
                r,
                &Health {
                    store: store.display().to_string(),
                    schema: s.schema_version().ok(),
                    counts: counts.map(|c| (c.generation, c.leads, c.interactions)),
                    problem: None,
                    verification,
                    snapshot: newest_snapshot(store),
                    snapshot_keep: settings
                        .as_ref()
                        .map_or(crate::service::SNAPSHOT_KEEP, |s| s.snapshot_keep),
                    snapshot_every_secs: settings
                        .as_ref()
                        .and_then(|s| s.snapshot_every)
                        .map(|d| d.as_secs()),
                    free_bytes: free_space(store),
                    rewrite_due: s.rewrite_due().unwrap_or(false),
                },
            );
        }
        Err(e) => r.say(false, e.to_string()),
    }
}

pub fn doctor(cli: &super::Cli, args: &Args) -> Result<ExitCode> {
    let store = super::store_path(cli)?;
    let mut r = Report::default();
    let socket = socket_path(&store);
    let team = Team::load(&store).ok();
    if !store.exists() {
        r.say(
            true,
            format!(
                "no store yet at {} (leadq creates it on first use)",
                store.display()
            ),
        );
    } else {
        let mode = std::fs::metadata(&store)?.permissions().mode() & 0o777;
        let private = mode & 0o077 == 0;
        let team_ok = team.is_some() && mode & 0o007 == 0;
        r.say(
            private || team_ok,
            format!(
                "store folder {} ({}){}",
                store.display(),
                mode_of(&store).unwrap_or_default(),
                if private || team_ok {
                    ""
                } else {
                    ": other users can read it; run chmod 700 on it"
                }
            ),
        );
    }
    match crate::config::settings(cli.rules.as_deref()) {
        Ok(_) => r.say(true, "configuration and scoring rules load".into()),
        Err(e) => r.say(false, format!("configuration: {e:#}")),
    }
    // The log of the server that runs, if one does; else where one started from here logs.
    let mut server_log = None;
    match Client::connect(&store, false) {
        Ok(client) => {
            server_log = client.server_log();
            let who = client.identity();
            r.say(
                true,
                format!(
                    "a leadq server runs for this store; you are {} ({})",
                    who.user,
                    who.role.name()
                ),
            );
            r.say(
                true,
                format!(
                    "socket {} ({})",
                    socket.display(),
                    mode_of(&socket).unwrap_or_default()
                ),
            );
            if args.recount || args.rewrite {
                r.say(
                    false,
                    "--recount and --rewrite need the store to itself: stop the leadq server \
                     first (`leadq serve --stop`; it checks the store whole, and rewrites it \
                     after an erase, each time it starts)"
                        .into(),
                );
            }
            // A manager has the server check the whole store now; anyone else hears what
            // its last check (when it started) found.
            let manager = client.identity().role == crate::service::Role::Manager;
            if !manager {
                r.say(
                    true,
                    "the figures below are from the server's last full check, when it started                      (a manager's `leadq doctor` checks again)"
                        .into(),
                );
            }
            let health = if manager {
                client.check_now()
            } else {
                client.health()
            };
            match health {
                Ok(h) => report_health(&mut r, &h),
                Err(e) => r.say(
                    false,
                    format!("the server cannot say how the store is: {e}"),
                ),
            }
        }
        Err(e) if socket.exists() && e.to_string().contains("refused") => {
            r.say(false, e.to_string())
        }
        Err(_) => {
            if socket.exists() {
                r.say(
                    true,
                    format!(
                        "stale socket {} (no server answers; the next one replaces it)",
                        socket.display()
                    ),
                );
            } else {
                r.say(
                    true,
                    "no leadq server runs for this store (one starts with the TUI)".into(),
                );
            }
            if store.exists() && args.rewrite {
                match Store::rewrite(&store) {
                    Ok(n) => r.say(
                        true,
                        format!("rewrote the store files from its {n} entries"),
                    ),
                    Err(e) => r.say(false, format!("the rewrite failed: {e}")),
                }
            }
            if store.exists() {
                check_in_process(&mut r, &store, args.recount, cli.rules.as_deref());
            }
        }
    }
    if let Some(t) = &team {
        let group_ok = nix::unistd::Group::from_name(&t.group)
            .ok()
            .flatten()
            .is_some();
        r.say(
            group_ok,
            format!(
                "team file: group {}, {} members{}",
                t.group,
                t.members.len(),
                if group_ok {
                    ""
                } else {
                    " (no such group on this machine)"
                }
            ),
        );
    }
    match server_log {
        Some(path) => r.say(true, format!("server log {path}")),
        None => r.say(
            true,
            format!(
                "server log {} (where a server started by you logs)",
                log_path(&store).display()
            ),
        ),
    }
    if r.problems == 0 {
        say!("all is well")?;
        Ok(ExitCode::SUCCESS)
    } else {
        say!("{} thing(s) to fix", r.problems)?;
        Ok(ExitCode::from(1))
    }
}
