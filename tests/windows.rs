//! Views are read a window at a time from the queue index (`LeadService::page`). A model-based
//! check: random writes, minute ticks, the clock moving with no write, and scrolls (down, up,
//! `G`, `g`, a window kept around a lead) by several windowed clients (a manager and reps,
//! each on their own view); after every step each client's window and total must equal the
//! same rows of a fresh full query. In process, and through a server.

mod common;

use leadq::domain::edit::LeadEdit;
use leadq::domain::time::DAY_MS;
use leadq::domain::{Kind, Millis, Outcome, Stage, Temperature};
use leadq::remote::client::Client;
use leadq::service::{
    Apply, Delta, Identity, LeadService, Local, LogEntry, OwnerFilter, Query, Role, Settings,
    Stats, Watch, Window,
    watch::{apply, count},
};
use leadq::store::{DEFAULT_CACHE_BYTES, Store};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// 2026-11-20T12:00:00Z.
const START: Millis = 1_795_176_000_000;
const HOUR: Millis = 3_600_000;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn open(path: &std::path::Path, now: Millis) -> Result<Local, Box<dyn std::error::Error>> {
    let settings = Settings {
        fixed_now: Some(now),
        ..Settings::default()
    };
    Ok(Local::new(
        Store::open(path, DEFAULT_CACHE_BYTES)?,
        settings,
    )?)
}

/// The views the clients keep open.
fn views() -> Vec<Query> {
    vec![
        Query {
            temperature: Some(Temperature::Hot),
            ..Query::default()
        },
        Query::default(),
        Query {
            all: true,
            ..Query::default()
        },
        Query {
            owner: Some(OwnerFilter::User("bob".into())),
            ..Query::default()
        },
        Query {
            owner: Some(OwnerFilter::Unassigned),
            temperature: Some(Temperature::Warm),
            ..Query::default()
        },
        Query {
            stage: Some(Stage::Nurture),
            ..Query::default()
        },
        Query {
            source: Some("Webinar".into()),
            all: true,
            ..Query::default()
        },
        Query {
            today: true,
            ..Query::default()
        },
        Query {
            tag: Some("VIP".into()),
            ..Query::default()
        },
        Query {
            tag: Some("renewal".into()),
            temperature: Some(Temperature::Warm),
            all: true,
            ..Query::default()
        },
    ]
}

/// The whole view, in order. A view of one tag is the same view without it, less the leads
/// whose card does not carry the tag: checked against the leads' own tags, not the index.
fn whole(s: &dyn LeadService, q: &Query) -> Result<Vec<u64>, Box<dyn std::error::Error>> {
    let untagged = Query {
        tag: None,
        ..q.clone()
    };
    Ok(s.list(&untagged)?
        .iter()
        .filter(|v| {
            q.tag
                .as_ref()
                .is_none_or(|want| v.lead.tags.iter().any(|t| t.eq_ignore_ascii_case(want)))
        })
        .map(|v| v.lead.id)
        .collect())
}

/// A client: who it is, the view it has open, and its window.
struct Client_ {
    who: Identity,
    query: Query,
    window: Window,
}

fn who(user: &str, role: Role) -> Identity {
    Identity {
        user: user.into(),
        role,
    }
}

/// A window moved as a rep would move it.
fn scroll(rng: &mut ChaCha8Rng, w: &mut Window, total: usize, shown: &[u64]) {
    let limit = [1, 7, 40, 200][rng.random_range(0..4)];
    *w = match rng.random_range(0..6) {
        0 => Window::rows(0, limit),
        1 => Window::rows(usize::MAX, limit),
        2 => Window::rows(rng.random_range(0..total.max(1) + 3), limit),
        3 => Window::rows(w.offset.saturating_add(limit), limit),
        4 => Window::rows(w.offset.saturating_sub(limit), limit),
        _ => Window {
            offset: w.offset,
            limit,
            focus: shown.get(rng.random_range(0..shown.len().max(1))).copied(),
            ..Window::default()
        },
    };
}

/// The window `s` answers for `c`, against the same rows of the whole view.
fn check(
    s: &dyn LeadService,
    c: &mut Client_,
    when: &str,
) -> Result<Vec<u64>, Box<dyn std::error::Error>> {
    let whole = whole(s, &c.query)?;
    let page = s.page(&c.query, c.window)?;
    let got: Vec<u64> = page.rows.iter().map(|v| v.lead.id).collect();
    let what = format!(
        "{} on {:?} with {:?}, {when}",
        c.who.user, c.query, c.window
    );
    assert_eq!(page.total, whole.len(), "the total of {what}");
    assert!(page.offset <= whole.len(), "{what}");
    let end = (page.offset + c.window.limit).min(whole.len());
    assert_eq!(got, whole[page.offset..end], "the rows of {what}");
    if c.window.focus.is_none() {
        let want = c
            .window
            .offset
            .min(whole.len().saturating_sub(c.window.limit.min(whole.len())));
        assert_eq!(page.offset, want, "where the window of {what} starts");
    } else if let Some(f) = c.window.focus
        && whole.contains(&f)
    {
        assert!(got.contains(&f), "{what}: the focus lead is in the window");
    }
    // The window is where the client is now (a focus lead moves it).
    c.window.offset = page.offset;
    c.window.focus = None;
    Ok(got)
}

fn entry(kind: Kind, outcome: Option<Outcome>) -> LogEntry {
    LogEntry {
        kind,
        outcome,
        note: None,
        at: None,
        next_action: None,
        duration_secs: None,
    }
}

/// One random write to one random lead.
fn write(s: &dyn LeadService, rng: &mut ChaCha8Rng, ids: &[u64], now: Millis) {
    let id = ids[rng.random_range(0..ids.len())];
    let result = match rng.random_range(0..11) {
        0 | 1 => s.log(id, entry(Kind::Call, Some(Outcome::Connected))),
        2 => s.log(id, entry(Kind::Email, Some(Outcome::Bounced))),
        3 => s.snooze(id, now + rng.random_range(1..100) * HOUR),
        4 => s.assign(
            id,
            ["bob", "carol"]
                .get(rng.random_range(0..3))
                .map(|o| o.to_string()),
        ),
        5 => s.set_next(id, Some(now + rng.random_range(1..60) * HOUR)),
        6 => s.set_stage(id, Stage::Nurture, None),
        7 => s.won(id, None),
        8 => s.edit(
            id,
            LeadEdit {
                tag: vec![["vip", "Renewal"][rng.random_range(0..2)].into()],
                ..LeadEdit::default()
            },
        ),
        9 => s.edit(
            id,
            LeadEdit {
                untag: vec![["Vip", "renewal"][rng.random_range(0..2)].into()],
                ..LeadEdit::default()
            },
        ),
        _ => s.log(id, entry(Kind::Meeting, None)),
    };
    // Some changes are refused for some leads (a closed lead cannot be snoozed): not what
    // this test is about.
    drop(result);
}

/// Today's queue as its rules say, from every lead: follow-ups due by the end of today (snoozed
/// until no later than that), hot leads untouched for 3 days, new leads never touched.
fn today_by_hand(s: &Local, now: Millis, when: &str) -> TestResult {
    let end = leadq::domain::time::end_of_local_day(now);
    let waits_past = |v: &leadq::service::LeadView, t: Millis| {
        v.lead.snoozed_until.is_some_and(|u| u > t)
            || (v.lead.stage == Stage::Nurture && v.lead.next_action.is_some_and(|a| a > t))
    };
    let mut want: Vec<u64> = s
        .export()?
        .into_iter()
        .filter(|v| v.lead.stage.is_open())
        .filter(|v| {
            let due = v.lead.next_action.is_some_and(|a| a < end) && !waits_past(v, end);
            let active = !waits_past(v, now);
            let stale = v.lead.last_touch.is_none_or(|t| t < now - 3 * DAY_MS);
            due || (active && v.temperature == Temperature::Hot && stale)
                || (active && v.lead.stage == Stage::New && v.lead.last_touch.is_none())
        })
        .map(|v| v.lead.id)
        .collect();
    let mut got: Vec<u64> = s
        .list(&Query {
            today: true,
            ..Query::default()
        })?
        .iter()
        .map(|v| v.lead.id)
        .collect();
    want.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, want, "today's queue against its rules, {when}");
    Ok(())
}

fn clients() -> Vec<Client_> {
    let people = [
        who("manager", Role::Manager),
        who("bob", Role::Rep),
        who("carol", Role::Rep),
    ];
    views()
        .into_iter()
        .enumerate()
        .map(|(n, query)| Client_ {
            who: people[n % people.len()].clone(),
            query,
            window: Window::rows(0, 40),
        })
        .collect()
}

#[test]
fn windows_match_a_full_query_after_writes_ticks_time_and_scrolls_in_process() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("store");
    open(&path, START)?.demo(400, 7)?;
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let mut now = START;
    let mut clients = clients();
    let mut shown: Vec<Vec<u64>> = vec![Vec::new(); clients.len()];
    for step in 0..120 {
        // The clock moves on now and then (with no write: decay, snoozes ending).
        if rng.random_range(0..6) == 0 {
            now += [HOUR, 7 * HOUR, 3 * DAY_MS][rng.random_range(0..3)];
        }
        let base = open(&path, now)?;
        let ids: Vec<u64> = base
            .list(&Query {
                all: true,
                ..Query::default()
            })?
            .iter()
            .map(|v| v.lead.id)
            .collect();
        let when = match rng.random_range(0..4) {
            0 => {
                base.tick()?;
                format!("step {step}: after a tick")
            }
            1 => {
                for _ in 0..rng.random_range(1..6) {
                    write(&base, &mut rng, &ids, now);
                }
                format!("step {step}: after writes")
            }
            _ => {
                for (c, seen) in clients.iter_mut().zip(&shown) {
                    let total = base
                        .session(c.who.clone())
                        .page(&c.query, Window::rows(0, 0))?
                        .total;
                    scroll(&mut rng, &mut c.window, total, seen);
                }
                format!("step {step}: after scrolls")
            }
        };
        for (c, seen) in clients.iter_mut().zip(shown.iter_mut()) {
            let s = base.session(c.who.clone());
            *seen = check(&s, c, &when)?;
        }
        today_by_hand(&base, now, &when)?;
        drop(base);
    }
    let store = Store::open(&path, DEFAULT_CACHE_BYTES)?;
    assert_eq!(
        store.verify()?,
        Vec::new(),
        "the queue index against a recount"
    );
    Ok(())
}

#[test]
fn windows_match_a_full_query_through_the_server() -> TestResult {
    let home = common::home::Home::new();
    assert!(home.run(&["demo", "--count", "300"]).status.success());
    let server = home.server();
    let client = Client::connect(&home.store(), false)?;
    let mut rng = ChaCha8Rng::seed_from_u64(22);
    let mut c = Client_ {
        who: client.identity(),
        query: Query::default(),
        window: Window::rows(0, 40),
    };
    let now = client.now();
    let mut seen = Vec::new();
    for (n, query) in views().into_iter().enumerate() {
        c.query = query;
        for step in 0..12 {
            let ids: Vec<u64> = client
                .list(&Query {
                    all: true,
                    ..Query::default()
                })?
                .iter()
                .map(|v| v.lead.id)
                .collect();
            if step % 2 == 0 {
                write(&client, &mut rng, &ids, now);
            } else {
                let total = client.page(&c.query, Window::rows(0, 0))?.total;
                scroll(&mut rng, &mut c.window, total, &seen);
            }
            seen = check(&client, &mut c, &format!("view {n}, step {step}"))?;
        }
    }
    drop(client);
    server.stop();
    Ok(())
}

/// A client that keeps its window by the deltas of each write, as the TUI does: it reads its
/// window again only when a delta says so (or the day changed), and otherwise moves its
/// numbers.
struct Held {
    who: Identity,
    query: Query,
    limit: usize,
    offset: usize,
    total: usize,
    stats: Stats,
    /// The generation the counts hold.
    counted: u64,
    ids: Vec<u64>,
    generation: u64,
    /// In process, the server's part: what this client holds, to measure writes against.
    watch: Option<Watch>,
    reads: usize,
    /// Deltas that patched the rows (a row in, out or moved) with no read.
    patched: usize,
}

impl Held {
    fn new(who: Identity, query: Query, limit: usize) -> Held {
        Held {
            who,
            query,
            limit,
            offset: 0,
            total: 0,
            stats: Stats::default(),
            counted: 0,
            ids: Vec::new(),
            generation: 0,
            watch: None,
            reads: 0,
            patched: 0,
        }
    }

    /// Reads the window at its offset (`s`: the client's own session), or (`again`) the
    /// window it holds where it stands now, as the TUI does when a delta touches it: from its
    /// first row's place, as the server keeps it (in process: as the watch says).
    fn read(&mut self, s: &dyn LeadService, session: Option<&Local>, again: bool) -> TestResult {
        let mut window = Window::rows(self.offset, self.limit);
        if again {
            window.again = true;
            if let Some((offset, from)) = self.watch.as_ref().and_then(|w| w.resume(&self.query)) {
                window.offset = offset;
                window.from = Some(from);
            }
        }
        let page = s.page(&self.query, window)?;
        if let Some(session) = session {
            self.watch = Some(Watch::new(session, &self.query, &page, self.limit));
        }
        self.offset = page.offset;
        self.total = page.total;
        match (&page.stats, window.from.is_some() || window.again) {
            (Some(st), _) => {
                self.stats = st.clone();
                self.counted = page.generation;
            }
            // A window read again where it stands comes without the counts: the deltas
            // keep them.
            (None, true) => {}
            (None, false) => return Err("a page comes with the counts".into()),
        }
        self.ids = page.rows.iter().map(|v| v.lead.id).collect();
        self.generation = page.generation;
        self.reads += 1;
        Ok(())
    }

    /// Takes one delta; true if the window must be read again.
    fn take(&mut self, d: &Delta) -> bool {
        count(d, self.counted, &mut self.stats);
        let applied = apply(
            d,
            self.generation,
            &mut self.offset,
            &mut self.total,
            &mut self.ids,
            |v| v.lead.id,
        );
        self.patched += usize::from(d.row.is_some() || d.from.is_some());
        applied == Apply::Reload
    }

    /// What the client holds against a fresh read of the same rows.
    fn check(&self, s: &dyn LeadService, when: &str) -> TestResult {
        let fresh = s.page(&self.query, Window::rows(self.offset, self.limit))?;
        let whole = whole(s, &self.query)?;
        let what = format!(
            "{} on {:?} from row {}, {when}",
            self.who.user, self.query, self.offset
        );
        assert_eq!(self.total, whole.len(), "the total of {what}");
        // The window holds the rows of the view where it says it starts: all it asked for,
        // or (rows taken out of it) at least half of them.
        let start = self.offset.min(whole.len());
        let end = (start + self.ids.len()).min(whole.len());
        assert_eq!(self.ids, whole[start..end], "the rows of {what}");
        let could = whole.len().saturating_sub(start).min(self.limit);
        assert!(
            self.ids.len() >= could.min(self.limit.div_ceil(2))
                && (could == 0 || !self.ids.is_empty()),
            "the window of {what} holds {} rows of {could}",
            self.ids.len()
        );
        let (a, b) = (&self.stats, fresh.stats.as_ref().ok_or("counts")?);
        assert_eq!(
            (a.hot, a.warm, a.cold, a.due_today),
            (b.hot, b.warm, b.cold, b.due_today),
            "the header's counts of {what}"
        );
        Ok(())
    }
}

fn held_clients() -> Vec<Held> {
    clients()
        .into_iter()
        .chain(clients().into_iter().map(|mut c| {
            // The same views, a window deeper in them.
            c.window = Window::rows(25, 7);
            c
        }))
        .map(|c| {
            let mut h = Held::new(c.who, c.query, c.window.limit);
            h.offset = c.window.offset;
            h
        })
        .collect()
}

#[test]
fn windows_kept_by_deltas_match_a_full_query_in_process() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("store");
    open(&path, START)?.demo(400, 9)?;
    let mut rng = ChaCha8Rng::seed_from_u64(23);
    let mut now = START;
    let mut clients = held_clients();
    let (mut reads, mut deltas) = (0, 0);
    for step in 0..150 {
        let day = leadq::domain::time::local_day(now);
        if rng.random_range(0..5) == 0 {
            now += [HOUR, 7 * HOUR, DAY_MS, 3 * DAY_MS][rng.random_range(0..4)];
        }
        let base = open(&path, now)?;
        let moves = base.watch_moves();
        let ids: Vec<u64> = base
            .list(&Query {
                all: true,
                ..Query::default()
            })?
            .iter()
            .map(|v| v.lead.id)
            .collect();
        // A new day changes what is due with no write: the TUI reads its window again.
        let new_day = leadq::domain::time::local_day(now) != day;
        for c in clients.iter_mut().filter(|_| step == 0 || new_day) {
            let s = base.session(c.who.clone());
            c.read(&s, Some(&s), false)?;
        }
        // Time moved: the minute tick brings the leads whose moment came up to now.
        base.tick()?;
        let when = if rng.random_range(0..3) == 0 {
            for c in clients.iter_mut() {
                if rng.random_range(0..3) != 0 {
                    continue;
                }
                c.offset = rng.random_range(0..c.total + 2);
                let s = base.session(c.who.clone());
                c.read(&s, Some(&s), false)?;
            }
            format!("step {step}: after scrolls")
        } else {
            for _ in 0..rng.random_range(1..6) {
                write(&base, &mut rng, &ids, now);
            }
            format!("step {step}: after writes")
        };
        // As the server does: every write measured against each window in turn, then the
        // windows a write touched read again where they stand.
        let mut again = vec![false; clients.len()];
        for m in moves.try_iter() {
            for (c, again) in clients.iter_mut().zip(again.iter_mut()) {
                let s = base.session(c.who.clone());
                let Some(d) = leadq::service::watch::delta(&s, c.watch.as_mut(), &m, now) else {
                    continue;
                };
                deltas += 1;
                *again |= c.take(&d);
            }
        }
        for (c, _) in clients.iter_mut().zip(again).filter(|(_, a)| *a) {
            let s = base.session(c.who.clone());
            c.read(&s, Some(&s), true)?;
        }
        for c in &clients {
            c.check(&base.session(c.who.clone()), &when)?;
        }
        drop(base);
    }
    let mut patched = 0;
    for c in &clients {
        reads += c.reads;
        patched += c.patched;
    }
    eprintln!("{deltas} deltas, {patched} patched rows, {reads} window reads");
    // Most deltas leave the window be, and a row that moves in a window is sent with the
    // delta, not read with the whole window again: that is the point.
    assert!(
        reads * 3 < deltas && patched > reads,
        "{reads} window reads for {deltas} deltas ({patched} patches): windows are read again \
         too often"
    );
    Ok(())
}

#[test]
fn windows_kept_by_deltas_match_a_full_query_through_the_server() -> TestResult {
    let home = common::home::Home::new();
    assert!(home.run(&["demo", "--count", "300"]).status.success());
    let server = home.server();
    let writer = Client::connect(&home.store(), false)?;
    let mut rng = ChaCha8Rng::seed_from_u64(24);
    let now = writer.now();
    let mut clients: Vec<(Client, Held)> = Vec::new();
    for mut h in held_clients().into_iter().step_by(2) {
        let c = Client::connect(&home.store(), false)?;
        drop(c.subscribe());
        h.who = c.identity();
        h.read(&c, None, false)?;
        clients.push((c, h));
    }
    let ids: Vec<u64> = writer
        .list(&Query {
            all: true,
            ..Query::default()
        })?
        .iter()
        .map(|v| v.lead.id)
        .collect();
    let mut moved = 0;
    for step in 0..40 {
        for _ in 0..rng.random_range(1..4) {
            write(&writer, &mut rng, &ids, now);
        }
        for (c, h) in clients.iter_mut() {
            c.settle()?;
            let mut again = false;
            for d in c.take_deltas().ok_or("a server pushes deltas")? {
                moved += usize::from(!d.touched);
                again |= h.take(&d);
            }
            if again {
                h.read(c, None, true)?;
            }
            h.check(c, &format!("step {step}"))?;
        }
    }
    assert!(moved > 0, "no delta moved a window without a read");
    drop(clients);
    drop(writer);
    server.stop();
    Ok(())
}
