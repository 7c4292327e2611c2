//! `leadq serve`: one process owns the store (sled allows one per database) and serves every
//! TUI and CLI on a Unix socket, one thread per client. Each client acts as the Unix user the
//! socket's peer credentials name; changes and presence are pushed to every client that may
//! see them. A garbage, oversized or cut-short frame ends that client's connection only.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::log::Log;
use super::outbox::Outbox;
use super::protocol::*;
use super::team::Team;
use crate::domain::LeadId;
use crate::service::{
    ANY_LEAD, Activity, Identity, LeadService, Local, Presence, Role, ServiceError,
};

pub struct ServeOptions {
    /// The store folder; the socket is `leadq.sock` inside it.
    pub store: PathBuf,
    /// Team mode: the team file's group and members.
    pub team: Option<Team>,
    /// Exit this long after the last client left (None: run until stopped).
    pub idle_exit: Option<Duration>,
    /// The web intake, when it is on.
    pub intake: Option<crate::intake::listener::IntakeOptions>,
}

pub fn socket_path(store: &Path) -> PathBuf {
    store.join("leadq.sock")
}

struct Conn {
    outbox: Arc<Outbox>,
    who: Identity,
    subscribed: bool,
    presence: Option<(LeadId, Activity)>,
    /// The window of a view it last read: what a write means for it (`service::watch`).
    watch: Option<crate::service::Watch>,
}

struct Shared {
    base: Local,
    stop: Arc<AtomicBool>,
    team: Option<Team>,
    conns: Mutex<HashMap<u64, Conn>>,
    /// Connections by the uid of their peer, from accept (handshake or not) until they end.
    seats: Mutex<HashMap<u32, usize>>,
    next_conn: AtomicU64,
    /// The last change fanned out (`Moved::seq`) and the store generation it made, and a
    /// signal when they move.
    fanned: (Mutex<(u64, u64)>, std::sync::Condvar),
    /// When the last client left (None while some are connected).
    idle_since: Mutex<Option<Instant>>,
    log: Log,
}

impl Shared {
    /// Changes what the server knows of connection `id`, then tells every client who is where.
    fn update_conn(&self, id: u64, change: impl FnOnce(&mut Conn)) {
        if let Some(c) = self
            .conns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(&id)
        {
            change(c);
        }
        self.broadcast_presence();
    }

    fn broadcast_presence(&self) {
        let conns = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        let list: Vec<Presence> = conns
            .values()
            .filter_map(|c| {
                c.presence.map(|(lead, activity)| Presence {
                    user: c.who.user.clone(),
                    lead,
                    activity,
                })
            })
            .collect();
        let readers: Vec<_> = conns
            .values()
            .filter(|c| c.subscribed)
            .map(|c| (Arc::clone(&c.outbox), c.who.clone()))
            .collect();
        drop(conns);
        // Who is on a lead is news only to those who may see that lead.
        let leads: HashMap<LeadId, Option<crate::domain::Lead>> = list
            .iter()
            .map(|p| (p.lead, self.base.store().lead(p.lead).ok().flatten()))
            .collect();
        for (w, who) in readers {
            let session = self.base.session(who);
            let visible: Vec<Presence> = list
                .iter()
                .filter(|p| {
                    leads
                        .get(&p.lead)
                        .and_then(Option::as_ref)
                        .is_some_and(|l| session.may_see(l))
                })
                .cloned()
                .collect();
            w.event(&ServerFrame::Presence(visible));
        }
    }
}

fn user_name(uid: nix::unistd::Uid) -> String {
    nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map_or_else(|| uid.to_string(), |u| u.name)
}

/// Who a connecting peer is, or why they may not come in.
fn admit(shared: &Shared, stream: &UnixStream) -> Result<Identity, String> {
    let cred = nix::sys::socket::getsockopt(stream, nix::sys::socket::sockopt::PeerCredentials)
        .map_err(|e| format!("cannot read the peer's credentials: {e}"))?;
    let uid = nix::unistd::Uid::from_raw(cred.uid());
    let user = user_name(uid);
    match &shared.team {
        None if uid == nix::unistd::geteuid() => Ok(Identity {
            user: shared.base.who().user.clone(),
            role: Role::Manager,
        }),
        None => Err(format!(
            "this store is private to {}",
            shared.base.who().user
        )),
        // The admin who runs a team's server owns its store: they stop, back up and check it.
        Some(_) if uid == nix::unistd::geteuid() => Ok(Identity {
            user,
            role: Role::Manager,
        }),
        Some(team) => match team.role_of(&user) {
            Some(role) => Ok(Identity { user, role }),
            None => Err(format!(
                "{user} is not a member of this team (see {} in the team folder)",
                Team::FILE
            )),
        },
    }
}

pub fn serve(base: Local, opts: ServeOptions) -> Result<()> {
    let path = socket_path(&opts.store);
    let log = Log::open(&opts.store)?;
    if path.exists() {
        if UnixStream::connect(&path).is_ok() {
            bail!(
                "a leadq server already runs for {} (socket {})",
                opts.store.display(),
                path.display()
            );
        }
        std::fs::remove_file(&path)
            .with_context(|| format!("cannot remove the stale socket {}", path.display()))?;
    }
    // The web intake listens before the socket appears: a server that answers its socket
    // takes posts too. Kept until the server exits; dropping it stops the listener.
    let _intake = match opts.intake {
        Some(intake) => {
            let intake_log = Log::open(&opts.store)?;
            let count = intake.tokens.len();
            let running = crate::intake::listener::start(
                base.clone(),
                intake,
                Arc::new(move |line: &str| intake_log.line(line)),
            )
            .map_err(anyhow::Error::msg)?;
            log.line(&format!(
                "taking web leads on http://{}/leads (tokens for {count} form{})",
                running.addr,
                if count == 1 { "" } else { "s" }
            ));
            Some(running)
        }
        None => None,
    };
    let listener = UnixListener::bind(&path)
        .with_context(|| format!("cannot listen on {}", path.display()))?;
    secure_socket(&path, opts.team.as_ref())?;
    listener.set_nonblocking(true)?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }
    // A server started from a terminal must outlive it.
    signal_hook::flag::register(
        signal_hook::consts::SIGHUP,
        Arc::new(AtomicBool::new(false)),
    )?;
    let shared = Arc::new(Shared {
        base,
        stop: Arc::clone(&stop),
        team: opts.team,
        conns: Mutex::new(HashMap::new()),
        seats: Mutex::new(HashMap::new()),
        next_conn: AtomicU64::new(1),
        fanned: (Mutex::new((0, 0)), std::sync::Condvar::new()),
        idle_since: Mutex::new(Some(Instant::now())),
        log,
    });
    shared.log.line(&format!(
        "serving {} on {} ({})",
        opts.store.display(),
        path.display(),
        if shared.team.is_some() {
            "team"
        } else {
            "single user"
        }
    ));
    spawn_fanout(Arc::clone(&shared));
    spawn_care(Arc::clone(&shared));
    spawn_clock(Arc::clone(&shared));
    let mut accept_failed: Option<Instant> = None;
    let reason = loop {
        if stop.load(Ordering::Relaxed) {
            break "stopped by a signal".to_string();
        }
        if let (Some(limit), Some(since)) = (
            opts.idle_exit,
            *shared.idle_since.lock().unwrap_or_else(|p| p.into_inner()),
        ) && since.elapsed() >= limit
        {
            break format!("no client for {}s", limit.as_secs());
        }
        match listener.accept() {
            Ok((stream, _)) => {
                // Counted from the first byte, handshake or not: no user can hold more than
                // their share of the server's threads, and no crowd more than all of them.
                let Some(seat) = Seat::take(&shared, &stream) else {
                    continue;
                };
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || handle(shared, stream, seat));
            }
            // Wait for the next client, or 50 ms to look at the stop flag and the idle clock.
            // A plain sleep here made every connection wait up to 50 ms for its handshake
            // (25 ms on average, twice for a TUI: benches/README.md); poll wakes at once.
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                use nix::poll::{PollFd, PollFlags, poll};
                use std::os::fd::AsFd;
                let mut ready = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
                let _ = poll(&mut ready, 50u8);
            }
            // Out of descriptors, say: wait a moment rather than spin (and log it once in a
            // while, not once a loop).
            Err(e) => {
                if accept_failed.is_none_or(|t: Instant| t.elapsed() >= Duration::from_secs(10)) {
                    shared.log.line(&format!("accept failed: {e}"));
                    accept_failed = Some(Instant::now());
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    };
    shared.log.line(&format!("exiting: {reason}"));
    let _ = std::fs::remove_file(&path);
    let outboxes: Vec<_> = shared
        .conns
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .values()
        .map(|c| Arc::clone(&c.outbox))
        .collect();
    for o in &outboxes {
        o.event(&ServerFrame::Bye(reason.clone()));
    }
    // A moment for the last word to reach clients that read; none is waited on for long.
    for o in &outboxes {
        o.drain(Duration::from_millis(200));
    }
    shared.base.store().flush()?;
    Ok(())
}

/// The socket is the door: private to the owner in single-user mode, open to the team's group
/// in team mode.
fn secure_socket(path: &Path, team: Option<&Team>) -> Result<()> {
    let mode = if team.is_some() { 0o660 } else { 0o600 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    if let Some(team) = team {
        team.give_to_group(path)?;
    }
    Ok(())
}

/// Checks the whole store once (closing it if it is not what leadq wrote), then takes the
/// automatic snapshots whenever one is due. In the background: clients are served meanwhile.
fn spawn_care(shared: Arc<Shared>) {
    std::thread::spawn(move || {
        let found = shared.base.verify_now();
        shared.log.line(&match &found {
            crate::service::Verification::Failed(problems) => {
                format!("the store is damaged and closed: {}", problems.join("; "))
            }
            crate::service::Verification::Rebuilt(problems) => format!(
                "the store checked out whole; derived data had drifted and was rebuilt from the \
                 leads: {}",
                problems.join("; ")
            ),
            _ => "the store checked out whole".to_string(),
        });
        // The search's index of every lead, ready before the first search asks.
        if let Err(e) = shared.base.build_finder() {
            shared.log.line(&format!("cannot prepare the search: {e}"));
        }
        // The check and the index's growth freed far more than the index keeps.
        crate::release_memory();
        if let Err(e) = shared.base.count_new_outcomes() {
            shared
                .log
                .line(&format!("cannot count the new outcomes: {e}"));
        }
        loop {
            if shared.stop.load(Ordering::Relaxed) {
                return;
            }
            // Decay without rescans: the leads whose temperature or snooze changed with time
            // are brought up to now, and the subscribers hear of just those.
            if let Err(e) = shared.base.tick() {
                shared
                    .log
                    .line(&format!("cannot bring decayed leads up to now: {e}"));
            }
            // The learned score keeps up with the team's outcomes, off the write path: the
            // training reads, and the rescoring writes a chunk at a time.
            match shared.base.retrain_if_due() {
                Some(Ok(m)) => shared.log.line(&format!(
                    "retrained the scoring model (model {}, {} won / {} lost): {}",
                    m.version, m.won, m.lost, m.verdict
                )),
                Some(Err(e)) => shared.log.line(&format!("no new scoring model: {e}")),
                None => {}
            }
            if shared.base.snapshot_due() {
                match shared.base.snapshot("auto") {
                    Ok(p) => shared
                        .log
                        .line(&format!("automatic snapshot {}", p.display())),
                    Err(e) => shared.log.line(&format!("automatic snapshot failed: {e}")),
                }
            }
            // The web intake's remembered answers are kept a day.
            let day_ago = shared.base.now() - 24 * 3_600_000;
            if let Err(e) = shared.base.store().prune_remembered(day_ago) {
                shared
                    .log
                    .line(&format!("cannot forget old intake answers: {e}"));
            }
            // Each search's worker threads leave their freed memory behind: hand it back.
            crate::release_memory();
            std::thread::sleep(Duration::from_secs(60));
        }
    });
}

/// The web leads' clock: every few seconds, a lead whose first touch is overdue goes to the
/// next rep when its routing rule says so (`reroute`). Only when a rule does.
fn spawn_clock(shared: Arc<Shared>) {
    if !shared
        .base
        .settings()
        .routing
        .rules
        .iter()
        .any(|r| r.reroute)
    {
        return;
    }
    std::thread::spawn(move || {
        while !shared.stop.load(Ordering::Relaxed) {
            match shared.base.reroute_overdue() {
                Ok(moved) => {
                    for r in moved {
                        shared.log.line(&format!(
                            "lead {} re-routed to {}: its first touch was overdue",
                            r.id,
                            r.owner.as_deref().unwrap_or("the pool")
                        ));
                    }
                }
                Err(e) => shared
                    .log
                    .line(&format!("cannot re-route overdue leads: {e}")),
            }
            std::thread::sleep(Duration::from_secs(5));
        }
    });
}

/// Forwards the store's change stream to the subscribed clients, as deltas: each client that
/// may see the lead hears what the write means for the window it holds (`service::watch`),
/// and one that may not hears nothing. A change of many leads at once is a reload for all.
fn spawn_fanout(shared: Arc<Shared>) {
    let moves = shared.base.watch_moves();
    *shared.fanned.0.lock().unwrap_or_else(|p| p.into_inner()) = (
        shared.base.told_so_far(),
        shared.base.store().generation().unwrap_or(0),
    );
    std::thread::spawn(move || {
        while let Ok(m) = moves.recv() {
            let (seq, generation) = (m.seq, m.generation);
            fan_out(&shared, m);
            let (done, signal) = &shared.fanned;
            let mut done = done.lock().unwrap_or_else(|p| p.into_inner());
            *done = (seq, done.1.max(generation));
            drop(done);
            signal.notify_all();
        }
    });
}

fn fan_out(shared: &Shared, mut m: crate::service::Moved) {
    if crate::service::watch::is_many(&m) {
        let targets: Vec<_> = shared
            .conns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|c| c.subscribed)
            .map(|c| Arc::clone(&c.outbox))
            .collect();
        for o in targets {
            o.event(&ServerFrame::Changed(ANY_LEAD));
        }
        return;
    }
    if m.before.is_none() && m.after.is_none() {
        // Its timeline changed, the lead did not: news to those who have its card open.
        let lead = shared.base.store().lead(m.id).ok().flatten().map(Arc::new);
        m.before.clone_from(&lead);
        m.after = lead;
    }
    let now = shared.base.now();
    let mut conns = shared.conns.lock().unwrap_or_else(|p| p.into_inner());
    for c in conns.values_mut().filter(|c| c.subscribed) {
        let session = shared.base.session(c.who.clone());
        let Some(d) = crate::service::watch::delta(&session, c.watch.as_mut(), &m, now) else {
            continue;
        };
        let open = c.presence.is_some_and(|(lead, _)| lead == m.id);
        if d.moves_anything() || open {
            c.outbox.event(&ServerFrame::Delta(Box::new(d)));
        }
    }
}

/// Waits (a second at most) until what has been fanned out (the change's number, the store
/// generation) satisfies `done`; false if it did not in time.
fn fanned_out(shared: &Shared, done: impl Fn((u64, u64)) -> bool) -> bool {
    let (state, signal) = &shared.fanned;
    let guard = state.lock().unwrap_or_else(|p| p.into_inner());
    let (guard, _) = signal
        .wait_timeout_while(guard, Duration::from_secs(1), |d| !done(*d))
        .unwrap_or_else(|p| p.into_inner());
    done(*guard)
}

/// The longest search text, and the most rows a search answers with.
const SEARCH_TEXT: usize = 200;
const SEARCH_ROWS: usize = 1_000;

/// Connections one user may hold at once, and all users together: a client that opens more
/// is refused, so that no one user can take every thread of the server.
const CONNECTIONS_PER_USER: usize = 32;
const CONNECTIONS: usize = 512;
/// A connection may sit idle between requests this long (clients that stay send a ping every
/// minute); a frame once begun must keep coming, each step within `FRAME_STALL`.
const IDLE: Duration = Duration::from_secs(300);
/// A frame, once its length has come, must arrive whole within this (plus a second per MiB);
/// the handshake, within `HANDSHAKE` from the connection.
const FRAME_BUDGET: Duration = Duration::from_secs(10);
const HANDSHAKE: Duration = Duration::from_secs(10);

/// A connection's place in the server's counts, from accept until it ends.
struct Seat {
    shared: Arc<Shared>,
    uid: u32,
}

impl Seat {
    /// A seat for a connection just accepted, or None (the connection is refused with a word
    /// and closed) when its user, or the server, is at the limit.
    fn take(shared: &Arc<Shared>, stream: &UnixStream) -> Option<Seat> {
        let uid = nix::sys::socket::getsockopt(stream, nix::sys::socket::sockopt::PeerCredentials)
            .map(|c| c.uid())
            .unwrap_or(u32::MAX);
        let mut seats = shared.seats.lock().unwrap_or_else(|p| p.into_inner());
        let total: usize = seats.values().sum();
        let mine = seats.entry(uid).or_default();
        let refusal = if *mine >= CONNECTIONS_PER_USER {
            Some(format!(
                "{} already has {CONNECTIONS_PER_USER} connections to this server (the limit): \
                 close some leadq windows",
                user_name(nix::unistd::Uid::from_raw(uid))
            ))
        } else if total >= CONNECTIONS {
            Some(format!(
                "the server has {CONNECTIONS} connections already: try again in a moment"
            ))
        } else {
            None
        };
        if let Some(reason) = refusal {
            drop(seats);
            // A word before closing, without waiting on a client that does not read.
            let mut s = stream;
            let _ = s.set_write_timeout(Some(Duration::from_millis(100)));
            let _ = write_frame(&mut s, &Welcome::Refused { reason });
            return None;
        }
        *mine += 1;
        Some(Seat {
            shared: Arc::clone(shared),
            uid,
        })
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        let mut seats = self.shared.seats.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = seats.get_mut(&self.uid) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                seats.remove(&self.uid);
            }
        }
    }
}

/// How a connection's reading ended, for the log.
fn read_end(e: &FrameError) -> String {
    match e {
        FrameError::Closed => "left".to_string(),
        FrameError::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            "disconnected: it went quiet (idle too long, or a frame stalled)".to_string()
        }
        other => format!("disconnected: {other}"),
    }
}

fn handle(shared: Arc<Shared>, stream: UnixStream, _seat: Seat) {
    let conn_id = shared.next_conn.fetch_add(1, Ordering::SeqCst);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(writer) = stream.try_clone() else {
        return;
    };
    let outbox = Outbox::start(writer);
    let mut reader = stream;
    let hello: Hello = match read_frame_within(&mut reader, HANDSHAKE_FRAME, Some(HANDSHAKE)) {
        Ok(h) => h,
        Err(e) => {
            shared
                .log
                .line(&format!("client {conn_id}: no handshake: {e}"));
            outbox.close();
            return;
        }
    };
    let refuse = |reason: String| {
        shared
            .log
            .line(&format!("client {conn_id}: refused: {reason}"));
        let _ = outbox.reply(&Welcome::Refused { reason });
        outbox.close();
    };
    if hello.protocol != PROTOCOL {
        refuse(format!(
            "this server speaks protocol {PROTOCOL} (leadq {}); the client speaks {} (leadq {}): run the same leadq version",
            env!("CARGO_PKG_VERSION"),
            hello.protocol,
            hello.version
        ));
        return;
    }
    let who = match admit(&shared, &reader) {
        Ok(who) => who,
        Err(reason) => return refuse(reason),
    };
    let welcome = Welcome::Accepted {
        protocol: PROTOCOL,
        version: env!("CARGO_PKG_VERSION").into(),
        identity: who.clone(),
        team: shared.team.is_some(),
        log: Some(shared.log.path().display().to_string()),
        now: shared.base.now(),
        clock_fixed: shared.base.settings().fixed_now.is_some(),
    };
    if !outbox.reply(&welcome) {
        return;
    }
    shared.log.line(&format!(
        "client {conn_id}: {} ({}) connected, leadq {}",
        who.user,
        who.role.name(),
        hello.version
    ));
    shared
        .conns
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(
            conn_id,
            Conn {
                outbox: Arc::clone(&outbox),
                who: who.clone(),
                subscribed: false,
                presence: None,
                watch: None,
            },
        );
    *shared.idle_since.lock().unwrap_or_else(|p| p.into_inner()) = None;
    // A rep's requests are small; a manager's may be an import.
    let max = match who.role {
        Role::Rep => REP_FRAME,
        Role::Manager => MAX_FRAME,
    };
    let session = shared.base.session(who.clone());
    let end = loop {
        let _ = reader.set_read_timeout(Some(IDLE));
        let frame: ClientFrame = match read_frame_within(&mut reader, max, Some(FRAME_BUDGET)) {
            Ok(f) => f,
            Err(e) => break read_end(&e),
        };
        let result = answer(&shared, conn_id, &session, frame.request);
        let reply = ServerFrame::Reply {
            id: frame.id,
            result,
        };
        if !outbox.reply(&reply) {
            break "could not be written to".into();
        }
    };
    outbox.close();
    shared
        .log
        .line(&format!("client {conn_id}: {} {end}", who.user));
    let mut conns = shared.conns.lock().unwrap_or_else(|p| p.into_inner());
    let had_presence = conns.remove(&conn_id).is_some_and(|c| c.presence.is_some());
    if conns.is_empty() {
        *shared.idle_since.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }
    drop(conns);
    if had_presence {
        shared.broadcast_presence();
    }
}

fn failure(e: ServiceError) -> Failure {
    match e {
        ServiceError::NotFound(id) => Failure::NotFound(id),
        other => Failure::Refused(other.to_string()),
    }
}

fn answer(shared: &Shared, conn_id: u64, s: &Local, request: Request) -> Result<Reply, Failure> {
    let changed = |r: Result<crate::service::Change, ServiceError>| {
        r.map(|c| Reply::Changed(Box::new(c))).map_err(failure)
    };
    match request {
        Request::Add(req) => s.add(req).map(Reply::Added).map_err(failure),
        Request::Import { rows, options } => s
            .import(rows, &options)
            .map(Reply::Imported)
            .map_err(failure),
        Request::Log { id, entry } => changed(s.log(id, entry)),
        Request::SetStage { id, stage, reason } => changed(s.set_stage(id, stage, reason)),
        Request::Won { id, note } => changed(s.won(id, note)),
        Request::Snooze { id, until } => changed(s.snooze(id, until)),
        Request::Assign { id, owner } => changed(s.assign(id, owner)),
        Request::Edit { id, edit } => changed(s.edit(id, edit)),
        Request::SetNext { id, at } => changed(s.set_next(id, at)),
        Request::Annotate { action, note } => s
            .annotate(action, note)
            .map(|()| Reply::Done)
            .map_err(failure),
        Request::Undo { action } => changed(s.undo(action)),
        Request::List(q) => s.list(&q).map(Reply::Leads).map_err(failure),
        Request::Page { query, mut window } => {
            // A window read again (a delta touched it) is read from where it stands, as the
            // server kept it: its rows only, however deep in the view.
            window.from = None;
            let mut page = None;
            if window.again && window.focus.is_none() {
                // The window as the server keeps it is exact once every write the read will
                // hold has been fanned out; a write landing meanwhile means another try.
                for _ in 0..3 {
                    let generation = s.store().generation().map_err(|e| failure(e.into()))?;
                    if !fanned_out(shared, |(_, g)| g >= generation) {
                        break;
                    }
                    let held = shared
                        .conns
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get(&conn_id)
                        .and_then(|c| c.watch.as_ref()?.resume(&query));
                    let Some((offset, from)) = held else { break };
                    let mut anchored = window;
                    anchored.offset = offset;
                    anchored.from = Some(from);
                    let p = s.page(&query, anchored).map_err(failure)?;
                    if p.generation == generation {
                        page = Some(p);
                        break;
                    }
                }
            }
            let page = match page {
                Some(p) => p,
                None => s.page(&query, window).map_err(failure)?,
            };
            // The window this client holds now: what later writes mean for it.
            let watch = crate::service::Watch::new(s, &query, &page, window.limit);
            if let Some(c) = shared
                .conns
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_mut(&conn_id)
            {
                c.watch = Some(watch);
            }
            Ok(Reply::Page(Box::new(page)))
        }
        Request::Show(id) => s
            .show(id)
            .map(|d| Reply::Detail(Box::new(d)))
            .map_err(failure),
        Request::Export => s.export().map(Reply::Leads).map_err(failure),
        Request::Demo { count, seed } => s.demo(count, seed).map(Reply::Demo).map_err(failure),
        Request::Stats => s.stats().map(Reply::Stats).map_err(failure),
        Request::Health => s
            .health()
            .map(|h| Reply::Health(Box::new(h)))
            .map_err(failure),
        Request::CheckNow => s
            .check_now()
            .map(|h| Reply::Health(Box::new(h)))
            .map_err(failure),
        Request::TrainModel { exclude } => s
            .train_model(exclude)
            .map(|m| Reply::Model(Some(Box::new(m))))
            .map_err(failure),
        Request::Model => s
            .model()
            .map(|m| Reply::Model(m.map(Box::new)))
            .map_err(failure),
        Request::Sources => s.sources().map(Reply::Sources).map_err(failure),
        Request::Tags => s.tags().map(Reply::Tags).map_err(failure),
        Request::Dupes {
            min_confidence,
            limit,
        } => s
            .dupes(min_confidence, limit)
            .map(Reply::Dupes)
            .map_err(failure),
        Request::Merge(m) => changed(s.merge(m)),
        Request::Erase(id) => s.erase(id).map(Reply::Erased).map_err(failure),
        Request::Report(r) => s
            .report(&r)
            .map(|r| Reply::Report(Box::new(r)))
            .map_err(failure),
        Request::Route(r) => s.route(&r).map(Reply::Routed).map_err(failure),
        Request::Away(a) => s.away(&a).map(Reply::Away).map_err(failure),
        Request::Awaiting => s.awaiting().map(Reply::Awaiting).map_err(failure),
        Request::NotDupes { a, b } => s.not_dupes(a, b).map(|()| Reply::Done).map_err(failure),
        Request::Search { query, text, limit } => {
            // A search is a query line, not a document; its page is what a screen shows.
            if text.chars().count() > SEARCH_TEXT {
                return Err(Failure::Refused(format!(
                    "a search is at most {SEARCH_TEXT} characters"
                )));
            }
            s.search(&query, &text, limit.min(SEARCH_ROWS))
                .map(|f| Reply::Found(Box::new(f)))
                .map_err(failure)
        }
        // The server may run as root: it writes a team's backup only for its own user, never
        // wherever a manager names.
        Request::Backup { .. }
            if shared.team.is_some() && s.who().user != user_name(nix::unistd::geteuid()) =>
        {
            Err(Failure::Refused(format!(
                "a team store is backed up by the user who runs its server ({}): ask them to run `leadq --db {} backup FILE`",
                user_name(nix::unistd::geteuid()),
                s.location()
            )))
        }
        Request::Backup { path, force } => {
            s.backup(&path, force).map(Reply::Entries).map_err(failure)
        }
        Request::Shutdown if s.who().role == Role::Manager => {
            shared
                .log
                .line(&format!("shutdown asked by {}", s.who().user));
            shared.stop.store(true, Ordering::SeqCst);
            Ok(Reply::Done)
        }
        Request::Shutdown => Err(Failure::Refused(
            "only a manager can stop the team's server".into(),
        )),
        Request::Subscribe => {
            shared.update_conn(conn_id, |c| c.subscribed = true);
            Ok(Reply::Done)
        }
        Request::SetPresence(p) => {
            // Being seen on a lead is for leads one may work: not a way to probe others' ids.
            if let Some((id, _)) = p {
                let lead = s.store().lead(id).map_err(|e| failure(e.into()))?;
                match lead {
                    Some(l) if s.may_see(&l) => {}
                    _ => return Err(Failure::NotFound(id)),
                }
            }
            shared.update_conn(conn_id, |c| c.presence = p);
            Ok(Reply::Done)
        }
        Request::Ping => {
            // Answered once every change made before it has been fanned out: the deltas it
            // meant for this client come before the answer.
            let target = shared.base.told_so_far();
            fanned_out(shared, |(seq, _)| seq >= target);
            Ok(Reply::Pong { now: s.now() })
        }
    }
}
