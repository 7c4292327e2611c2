//! The header's counts (hot, warm, cold) come from counts kept with every write and an index of
//! the moments leads change with time alone, never from a scan of the store. Checked here
//! against a full recount (every lead in the queue as of now, by `list`) after random writes,
//! as the clock moves across thresholds with no write at all, for a manager and for a rep
//! (their own leads and the pool), and against the store's own recount (`verify`).

use leadq::domain::edit::LeadEdit;
use leadq::domain::time::DAY_MS;
use leadq::domain::{Kind, LostReason, Millis, NewLead, Outcome, Stage, Temperature};
use leadq::service::{Identity, LeadService, Local, LogEntry, Query, Role, Settings, Window};
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

/// Hot, warm, cold and due today as the header shows them, and as a full pass over the queue
/// (and over the follow-ups due today) finds them.
fn both(s: &Local) -> Result<([usize; 4], [usize; 4]), Box<dyn std::error::Error>> {
    let st = s.stats()?;
    let mut brute = [0; 4];
    for v in s.list(&Query::default())? {
        brute[match v.temperature {
            Temperature::Hot => 0,
            Temperature::Warm => 1,
            Temperature::Cold => 2,
        }] += 1;
    }
    brute[3] = s
        .list(&Query {
            due_today: true,
            ..Query::default()
        })?
        .len();
    Ok(([st.hot, st.warm, st.cold, st.due_today], brute))
}

/// Each view of one tag: its total (from the tag's kept counts) and its rows (from the tag's
/// queue index) against the same view without the tag, less the leads not carrying it.
fn check_tags(s: &dyn LeadService, who: &str, when: &str) -> TestResult {
    for tag in ["vip", "Renewal"] {
        for base in [
            Query::default(),
            Query {
                temperature: Some(Temperature::Hot),
                ..Query::default()
            },
            Query {
                today: true,
                ..Query::default()
            },
            Query {
                all: true,
                ..Query::default()
            },
        ] {
            let want: Vec<u64> = s
                .list(&base)?
                .iter()
                .filter(|v| v.lead.has_tag(tag))
                .map(|v| v.lead.id)
                .collect();
            let q = Query {
                tag: Some(tag.to_string()),
                ..base
            };
            let page = s.page(&q, Window::rows(0, 10))?;
            assert_eq!(page.total, want.len(), "{who}, {when}: the total of {q:?}");
            let got: Vec<u64> = page.rows.iter().map(|v| v.lead.id).collect();
            assert_eq!(got, want[..want.len().min(10)], "{who}, {when}: {q:?}");
        }
    }
    Ok(())
}

fn check(s: &Local, when: &str) -> TestResult {
    check_tags(s, "manager", when)?;
    let (kept, brute) = both(s)?;
    assert_eq!(
        kept, brute,
        "manager, {when}: kept counts against a recount"
    );
    let rep = s.session(Identity {
        user: "bob".into(),
        role: Role::Rep,
    });
    let (kept, brute) = both(&rep)?;
    assert_eq!(
        kept, brute,
        "rep bob, {when}: kept counts against a recount"
    );
    check_tags(&rep, "rep bob", when)?;
    Ok(())
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

/// One random change to one random lead (or a new lead).
fn act(s: &Local, rng: &mut ChaCha8Rng, next_name: &mut usize, now: Millis) -> TestResult {
    let ids: Vec<u64> = s
        .list(&Query {
            all: true,
            ..Query::default()
        })?
        .iter()
        .map(|v| v.lead.id)
        .collect();
    let pick = |rng: &mut ChaCha8Rng| ids[rng.random_range(0..ids.len())];
    let op = if ids.is_empty() {
        0
    } else {
        rng.random_range(0..11)
    };
    let id = if ids.is_empty() { 0 } else { pick(rng) };
    let result = match op {
        0 | 1 => {
            *next_name += 1;
            let titles = ["CEO", "Intern", "Head of Sales", "Engineer"];
            let sources = ["referral", "web-form", "cold-list"];
            let mut attributes = std::collections::BTreeMap::new();
            attributes.insert(
                "title".to_string(),
                titles[rng.random_range(0..titles.len())].to_string(),
            );
            if rng.random_bool(0.5) {
                let campaign = ["spring", "Spring ", "autumn"][rng.random_range(0..3)];
                attributes.insert("utm_campaign".to_string(), campaign.to_string());
            }
            s.add(NewLead {
                name: format!("Lead {next_name}"),
                email: Some(format!("lead{next_name}@corp{}.example", *next_name % 7)),
                source: Some(sources[rng.random_range(0..sources.len())].into()),
                tags: ["vip", "renewal", "VIP"]
                    .iter()
                    .filter(|_| rng.random_bool(0.4))
                    .map(|t| t.to_string())
                    .collect(),
                attributes,
                ..NewLead::default()
            })
            .map(|_| ())
        }
        2 | 3 => s
            .log(id, entry(Kind::Call, Some(Outcome::Connected)))
            .map(|_| ()),
        4 => s
            .log(id, entry(Kind::Email, Some(Outcome::Replied)))
            .map(|_| ()),
        5 => s
            .snooze(id, now + rng.random_range(1..240) * HOUR)
            .map(|_| ()),
        6 => {
            let owner = ["bob", "carol"]
                .get(rng.random_range(0..3))
                .map(|o| o.to_string());
            s.assign(id, owner).map(|_| ())
        }
        7 => s
            .set_next(id, Some(now + rng.random_range(1..200) * HOUR))
            .map(|_| ()),
        8 => s.set_stage(id, Stage::Nurture, None).map(|_| ()),
        9 => {
            let tag = vec![["vip", "Renewal"][rng.random_range(0..2)].to_string()];
            let edit = if rng.random_bool(0.5) {
                LeadEdit {
                    tag,
                    ..LeadEdit::default()
                }
            } else {
                LeadEdit {
                    untag: tag,
                    ..LeadEdit::default()
                }
            };
            s.edit(id, edit).map(|_| ())
        }
        _ => {
            if rng.random_bool(0.5) {
                s.won(id, None).map(|_| ())
            } else {
                s.set_stage(id, Stage::Lost, Some(LostReason::NoBudget))
                    .map(|_| ())
            }
        }
    };
    // Some changes are refused for some leads (a closed lead cannot be snoozed, ...): that
    // is not what this test is about.
    drop(result);
    Ok(())
}

#[test]
fn kept_counts_match_a_recount_after_writes_and_as_time_passes() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("store");
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let mut names = 0;
    let mut now = START;
    for round in 0..6 {
        {
            let s = open(&path, now)?;
            for _ in 0..60 {
                act(&s, &mut rng, &mut names, now)?;
            }
            check(&s, &format!("round {round}, after its writes"))?;
        }
        // The clock moves on with no write: snoozes end, scores decay across thresholds.
        for later in [HOUR, 2 * DAY_MS, 9 * DAY_MS, 40 * DAY_MS] {
            let s = open(&path, now + later)?;
            check(
                &s,
                &format!("round {round}, {later} ms later with no write"),
            )?;
        }
        let store = Store::open(&path, DEFAULT_CACHE_BYTES)?;
        assert_eq!(
            store.verify()?,
            Vec::new(),
            "round {round}: the store's own recount"
        );
        drop(store);
        now += rng.random_range(1..72) * HOUR;
    }
    let s = open(&path, now)?;
    let (kept, _) = both(&s)?;
    assert!(
        kept.iter().sum::<usize>() > 20,
        "the test made a queue: {kept:?}"
    );
    Ok(())
}

/// A lead that is hot now cools with no write: the counts as of a later moment say so, exactly
/// as the queue does.
#[test]
fn a_threshold_crossed_with_no_write_moves_the_counts() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("store");
    {
        let s = open(&path, START)?;
        let mut attributes = std::collections::BTreeMap::new();
        attributes.insert("title".to_string(), "CEO".to_string());
        let id = s
            .add(NewLead {
                name: "Ada".into(),
                email: Some("ada@corp.example".into()),
                source: Some("referral".into()),
                attributes,
                ..NewLead::default()
            })?
            .id;
        for _ in 0..3 {
            s.log(id, entry(Kind::Meeting, None))?;
            s.log(id, entry(Kind::Call, Some(Outcome::Connected)))?;
        }
        let st = s.stats()?;
        assert_eq!(st.hot, 1, "{st:?}");
    }
    let mut seen = Vec::new();
    for days in 0..120 {
        let s = open(&path, START + days * DAY_MS)?;
        let (kept, brute) = both(&s)?;
        assert_eq!(kept, brute, "day {days}");
        if seen.last() != Some(&kept) {
            seen.push(kept);
        }
    }
    assert!(
        seen.len() >= 2 && seen[0] == [1, 0, 0, 0] && seen.last() != Some(&[1, 0, 0, 0]),
        "the lead cooled as the days passed: {seen:?}"
    );
    Ok(())
}

/// The tick brings the leads whose moment has come up to now: the queue and the counts read
/// the same before and after it, nothing is left due, and a second tick has nothing to do.
#[test]
fn the_tick_rewrites_just_the_leads_whose_moment_came_and_changes_no_answer() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("store");
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut names = 0;
    {
        let s = open(&path, START)?;
        for _ in 0..150 {
            act(&s, &mut rng, &mut names, START)?;
        }
    }
    let later = START + 12 * DAY_MS;
    let s = open(&path, later)?;
    let before = (s.stats()?, s.list(&Query::default())?);
    let due = s.store().changes_until(later)?;
    assert!(
        !due.is_empty(),
        "twelve days on, some leads cooled or woke up"
    );
    let total = s.store().lead_count()?;
    let heard = s.subscribe();
    let ticked = s.tick()?;
    let mut told: Vec<u64> = heard.try_iter().collect();
    told.sort_unstable();
    let mut want = due.clone();
    want.sort_unstable();
    let mut got = ticked.clone();
    got.sort_unstable();
    assert_eq!(
        got, want,
        "the tick rewrote exactly the leads whose moment came"
    );
    assert_eq!(told, want, "subscribers hear of just those leads");
    assert!(
        ticked.len() < total,
        "not a rescan: {} of {total}",
        ticked.len()
    );
    assert_eq!(s.store().changes_until(later)?, Vec::<u64>::new());
    let after = (s.stats()?, s.list(&Query::default())?);
    assert_eq!(before.0, after.0, "the counts read the same");
    let ids = |l: &Vec<leadq::service::LeadView>| {
        l.iter()
            .map(|v| (v.lead.id, v.score, v.temperature))
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&before.1), ids(&after.1), "the queue reads the same");
    assert!(s.tick()?.is_empty(), "nothing left to do");
    assert_eq!(s.store().verify()?, Vec::new());
    Ok(())
}

/// Due today counts a follow-up whose lead's snooze ends later today (and not one snoozed past
/// today), as the due list does, at moments before and after the snooze ends.
#[test]
fn a_snooze_ending_later_today_leaves_the_follow_up_due_today() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("store");
    // 2026-11-20T12:00:00Z: a follow-up due at 18:00; one lead snoozed until 15:00, one until
    // tomorrow.
    {
        let s = open(&path, START)?;
        for (i, snooze) in [None, Some(3 * HOUR), Some(30 * HOUR)]
            .into_iter()
            .enumerate()
        {
            let id = s
                .add(NewLead {
                    name: format!("Lead {i}"),
                    email: Some(format!("l{i}@corp.example")),
                    ..NewLead::default()
                })?
                .id;
            s.set_next(id, Some(START + 6 * HOUR))?;
            if let Some(until) = snooze {
                s.snooze(id, START + until)?;
            }
        }
    }
    for (later, due) in [(0, 2), (HOUR, 2), (4 * HOUR, 2), (7 * HOUR, 2)] {
        let s = open(&path, START + later)?;
        let (kept, brute) = both(&s)?;
        assert_eq!(kept, brute, "{later} ms on");
        assert_eq!(kept[3], due, "{later} ms on: due today");
    }
    Ok(())
}

/// Filing the derived data with the rules writes only when they changed: a store whose disk
/// lacks the room for a write still opens, and lists and counts.
#[test]
fn a_store_without_room_for_a_write_still_opens_for_reading() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("store");
    {
        let s = open(&path, START)?;
        s.add(NewLead {
            name: "Ada".into(),
            email: Some("ada@corp.example".into()),
            ..NewLead::default()
        })?;
    }
    let settings = Settings {
        fixed_now: Some(START),
        // More than any disk has: every write is refused before it starts.
        min_free: u64::MAX / 4,
        ..Settings::default()
    };
    let s = Local::new(Store::open(&path, DEFAULT_CACHE_BYTES)?, settings)?;
    assert_eq!(s.list(&Query::default())?.len(), 1);
    assert_eq!(s.stats()?.leads, 1);
    let refused = s.add(NewLead {
        name: "Bo".into(),
        email: Some("bo@corp.example".into()),
        ..NewLead::default()
    });
    assert!(refused.is_err(), "a write is refused for want of room");
    Ok(())
}
