//! The store's performance paths keep their promises: a big write (an import) that goes in
//! chunks is still all or nothing across a crash, the rank index carries the queue's tie-break
//! so the queue stops early and still matches brute force, and a schema-1 store is migrated.

use leadq::store::keys::fine_fit;
use std::cmp::Reverse;
use std::path::Path;

use leadq::domain::lead::DedupeKeys;
use leadq::domain::time::DAY_MS;
use leadq::domain::{Interaction, Kind, Lead, LeadId, Millis, NewLead, Outcome, Temperature};
use leadq::service::{LeadService, Local, Query, Settings};
use leadq::store::{
    CHUNK_ENTRIES, CHUNK_LEADS, DEFAULT_CACHE_BYTES, LeadWrite, SCHEMA_VERSION, Store,
    TIMELINE_FORMAT,
};

/// 2026-11-20T12:00:00Z.
const NOW: Millis = 1_795_176_000_000;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn lead(id: LeadId, bound: u8, next_action: Option<Millis>) -> Lead {
    let mut l = Lead::from_request(
        id,
        &NewLead {
            name: format!("Lead {id}"),
            email: Some(format!("lead{id}@example.com")),
            ..NewLead::default()
        },
        NOW - 10 * DAY_MS,
    );
    // The queue files a lead under its score as its record stands: here all fit.
    l.score.fit = f64::from(bound);
    l.score.bound = bound;
    l.next_action = next_action;
    l
}

fn note(at: Millis) -> Interaction {
    Interaction {
        kind: Kind::Note,
        outcome: None,
        author: "alice".into(),
        at,
        note: Some("n".into()),
        duration_secs: None,
        closed_as: None,
    }
}

fn create(l: &Lead) -> LeadWrite {
    LeadWrite {
        before: None,
        after: l.clone(),
        keys: DedupeKeys {
            email: l.email.clone(),
            phone: None,
        },
        unkeys: Default::default(),
        gone: None,
        append: vec![note(NOW)],
        remove: vec![],
    }
}

/// A merge into a known lead: new bound and follow-up, a filled e-mail, one timeline entry.
fn merge(before: &Lead, email: &str) -> LeadWrite {
    let mut after = before.clone();
    after.score.bound = before.score.bound + 7;
    after.score.fit = f64::from(after.score.bound);
    after.next_action = Some(NOW + DAY_MS);
    after.last_touch = Some(NOW);
    LeadWrite {
        before: Some(before.clone()),
        after,
        keys: DedupeKeys {
            email: Some(email.into()),
            phone: None,
        },
        unkeys: Default::default(),
        gone: None,
        append: vec![note(NOW)],
        remove: vec![],
    }
}

/// Everything a reader can see of a store.
#[derive(Debug, PartialEq)]
struct Snapshot {
    leads: Vec<Lead>,
    timelines: Vec<usize>,
    ranked: Vec<(u8, LeadId)>,
    followups: Vec<(Millis, LeadId)>,
    interactions: usize,
}

fn snapshot(store: &Store) -> Result<Snapshot, Box<dyn std::error::Error>> {
    let leads: Vec<Lead> = store.leads().collect::<Result<_, _>>()?;
    let timelines = leads
        .iter()
        .map(|l| store.timeline(l.id).map(|t| t.len()))
        .collect::<Result<_, _>>()?;
    Ok(Snapshot {
        timelines,
        ranked: store.ranked().collect::<Result<_, _>>()?,
        followups: store
            .followups_until(i64::MAX - 1)
            .collect::<Result<_, _>>()?,
        interactions: store.interaction_count().unwrap(),
        leads,
    })
}

/// Two known leads, then a bulk write of new leads with merges into both: one merge in the
/// first chunk, one in the last.
fn bulk_setup(store: &Store) -> Result<Vec<LeadWrite>, Box<dyn std::error::Error>> {
    let a = lead(store.reserve_id(), 40, Some(NOW - DAY_MS));
    let b = lead(store.reserve_id(), 50, None);
    store.commit(&[create(&a), create(&b)], None)?;
    let mut writes = vec![merge(&a, "a.filled@example.com")];
    for _ in 0..CHUNK_LEADS * 2 + 10 {
        writes.push(create(&lead(store.reserve_id(), 60, Some(NOW))));
    }
    writes.push(merge(&b, "b.filled@example.com"));
    Ok(writes)
}

#[test]
fn a_bulk_write_cut_short_is_taken_back_on_the_next_open() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("store");
    let (before, first_new, torn_email) = {
        let store = Store::open(&path, DEFAULT_CACHE_BYTES)?;
        let writes = bulk_setup(&store)?;
        let before = snapshot(&store)?;
        // Two chunks land (with the merge into the first lead), the third only partly (its
        // index keys without its leads), the rest never does.
        store.commit_interrupted(&writes, None, 2)?;
        let torn = &writes[2 * CHUNK_LEADS + 1].after;
        assert_eq!(
            store.find_email(torn.email.as_deref().unwrap())?,
            Some(torn.id)
        );
        assert!(store.lead(torn.id)?.is_none(), "its record did not land");
        assert!(
            store.lead_count().unwrap() > CHUNK_LEADS,
            "the chunks landed"
        );
        (before, writes[1].after.clone(), torn.email.clone().unwrap())
    };
    let store = Store::open(&path, DEFAULT_CACHE_BYTES)?;
    assert_eq!(snapshot(&store)?, before);
    assert_eq!(store.find_email("a.filled@example.com")?, None);
    assert_eq!(store.find_email(first_new.email.as_deref().unwrap())?, None);
    assert_eq!(store.find_email("lead1@example.com")?, Some(1));
    // No index entry of the torn chunk is left pointing at a lead that does not exist.
    assert_eq!(store.find_email(&torn_email)?, None);
    drop(store);
    // The journal is gone: a second open changes nothing, and the store takes writes again.
    let store = Store::open(&path, DEFAULT_CACHE_BYTES)?;
    assert_eq!(snapshot(&store)?, before);
    let next = lead(store.reserve_id(), 10, None);
    assert!(next.id > first_new.id, "ids are not reused");
    store.commit(&[create(&next)], None)?;
    assert_eq!(store.lead_count().unwrap(), 3);
    Ok(())
}

#[test]
fn a_whole_bulk_write_lands_and_stays() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("store");
    let writes = {
        let store = Store::open(&path, DEFAULT_CACHE_BYTES)?;
        let writes = bulk_setup(&store)?;
        store.commit(&writes, None)?;
        writes
    };
    let store = Store::open(&path, DEFAULT_CACHE_BYTES)?;
    let s = snapshot(&store)?;
    assert_eq!(s.leads.len(), writes.len());
    assert_eq!(s.interactions, 2 + writes.len());
    assert_eq!(s.leads[0], writes[0].after);
    assert_eq!(s.leads[1], writes[writes.len() - 1].after);
    assert_eq!(store.find_email("b.filled@example.com")?, Some(2));
    assert_eq!(s.ranked.len(), writes.len());
    assert_eq!(
        s.ranked[0],
        (60, 3),
        "one entry per lead, highest bound first"
    );
    Ok(())
}

fn settings() -> Settings {
    Settings {
        fixed_now: Some(NOW),
        ..Settings::default()
    }
}

/// Leads whose scores tie at the top (the cap), touched at different times: the queue must
/// come out as brute force orders it: the better fit first, then the longest waiting.
#[test]
fn the_hot_queue_breaks_ties_by_waiting_time_like_brute_force() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("store");
    let s = Local::new(Store::open(&path, DEFAULT_CACHE_BYTES)?, settings())?;
    s.demo(3_000, 11)?;
    let all = Query {
        all: true,
        ..Query::default()
    };
    for (temperature, limit) in [(Some(Temperature::Hot), 20), (None, 50), (None, 1)] {
        let q = Query {
            temperature,
            limit: Some(limit),
            ..Query::default()
        };
        let mut expected: Vec<_> = s
            .list(&all)?
            .into_iter()
            .filter(|v| v.lead.stage.is_open() && !v.lead.is_snoozed(NOW))
            // A nurture lead waits for its revisit date.
            .filter(|v| {
                !(v.lead.stage == leadq::domain::Stage::Nurture
                    && v.lead.next_action.is_some_and(|at| at > NOW))
            })
            .filter(|v| temperature.is_none_or(|t| t == v.temperature))
            .map(|v| {
                (
                    v.score,
                    fine_fit(v.lead.score.fit),
                    Reverse(v.lead.waiting_since()),
                    Reverse(v.lead.id),
                )
            })
            .collect();
        expected.sort_by_key(|r| Reverse(*r));
        expected.truncate(limit);
        let got: Vec<_> = s
            .list(&q)?
            .into_iter()
            .map(|v| {
                (
                    v.score,
                    fine_fit(v.lead.score.fit),
                    Reverse(v.lead.waiting_since()),
                    Reverse(v.lead.id),
                )
            })
            .collect();
        assert_eq!(got, expected, "{temperature:?} top {limit}");
        assert!(
            expected.iter().filter(|r| r.0 == expected[0].0).count() > 1 || limit == 1,
            "the top score is shared, so the tie-break decides"
        );
    }
    Ok(())
}

/// Writes a store as schema 1 laid it out: one timeline key per interaction (id, at, seq) in
/// the tree `timeline`, rank keys of bound and id only.
fn write_schema_1_store(path: &Path, leads: &[(Lead, Vec<Interaction>)]) -> TestResult {
    let db = sled::Config::new().path(path).open()?;
    let meta = db.open_tree("meta")?;
    meta.insert("schema", &1u32.to_be_bytes())?;
    meta.insert("next_lead_id", &(leads.len() as u64 + 1).to_be_bytes())?;
    let (tl, rank, email) = (
        db.open_tree("timeline")?,
        db.open_tree("by_rank")?,
        db.open_tree("by_email")?,
    );
    let mut seq = 100u64;
    for (l, timeline) in leads {
        db.open_tree("leads")?
            .insert(l.id.to_be_bytes(), Store::encode_lead(l))?;
        let mut k = vec![255 - l.score.bound];
        k.extend_from_slice(&l.id.to_be_bytes());
        rank.insert(k, &[])?;
        email.insert(l.email.as_deref().unwrap(), &l.id.to_be_bytes())?;
        for i in timeline {
            seq += 1;
            let mut k = l.id.to_be_bytes().to_vec();
            k.extend_from_slice(&((i.at as u64) ^ (1 << 63)).to_be_bytes());
            k.extend_from_slice(&seq.to_be_bytes());
            tl.insert(k, Store::encode_interaction(i))?;
        }
    }
    db.flush()?;
    Ok(())
}

#[test]
fn a_schema_1_store_is_migrated_on_open() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("store");
    // One lead with more interactions than a chunk holds, logged out of time order.
    let long: Vec<Interaction> = (0..CHUNK_ENTRIES as i64 + 10)
        .map(|k| note(NOW - ((k * 7) % 50) * 3_600_000))
        .collect();
    let leads = vec![
        (lead(1, 30, None), vec![note(NOW - DAY_MS)]),
        (lead(2, 80, Some(NOW)), long.clone()),
        (lead(3, 30, None), vec![]),
    ];
    write_schema_1_store(&path, &leads)?;
    {
        let store = Store::open(&path, DEFAULT_CACHE_BYTES)?;
        assert_eq!(store.schema_version()?, SCHEMA_VERSION);
        assert_eq!(
            store.ranked().collect::<Result<Vec<_>, _>>()?,
            [(80, 2), (30, 1), (30, 3)]
        );
        assert_eq!(store.interaction_count().unwrap(), long.len() + 1);
        let timeline = store.timeline(2)?;
        let mut expected = long.clone();
        expected.sort_by_key(|i| i.at);
        let got: Vec<Millis> = timeline.iter().map(|(_, i)| i.at).collect();
        assert_eq!(got, expected.iter().map(|i| i.at).collect::<Vec<_>>());
        assert!(
            timeline
                .windows(2)
                .all(|w| (w[0].0.at, w[0].0.seq) < (w[1].0.at, w[1].0.seq))
        );
        assert_eq!(store.timeline(3)?.len(), 0);
        // The migrated store takes writes: a new lead, and an entry taken back (undo).
        let key = timeline[5].0;
        let mut after = store.lead(2)?.unwrap();
        after.score.bound = 81;
        after.score.fit = f64::from(after.score.bound);
        store.commit(
            &[LeadWrite {
                before: store.lead(2)?,
                after,
                keys: DedupeKeys::default(),
                unkeys: Default::default(),
                gone: None,
                append: vec![note(NOW)],
                remove: vec![key],
            }],
            None,
        )?;
        assert_eq!(store.timeline(2)?.len(), long.len());
        assert!(store.timeline(2)?.iter().all(|(k, _)| *k != key));
    }
    // sled lets go of its lock when its flusher thread stops, a moment after the store is
    // dropped (Store::open waits for it the same way).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let db = loop {
        match sled::Config::new().path(&path).open() {
            Ok(db) => break db,
            Err(sled::Error::Io(e))
                if e.to_string().contains("lock") && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(25));
            }
            Err(e) => return Err(e.into()),
        }
    };
    assert!(
        !db.tree_names().iter().any(|n| n == b"timeline"),
        "the old tree is gone"
    );
    Ok(())
}

#[test]
fn a_log_on_a_tied_lead_moves_it_in_the_queue() -> TestResult {
    let s = Local::new(Store::temporary()?, settings())?;
    s.demo(400, 5)?;
    let q = Query {
        limit: Some(400),
        ..Query::default()
    };
    let first = s.list(&q)?[0].lead.id;
    s.log(
        first,
        leadq::service::LogEntry {
            kind: Kind::Call,
            outcome: Some(Outcome::NoAnswer),
            note: None,
            at: None,
            next_action: None,
            duration_secs: None,
        },
    )?;
    let after = s.list(&q)?;
    let view = after
        .iter()
        .find(|v| v.lead.id == first)
        .expect("still listed");
    assert_eq!(view.lead.waiting_since(), NOW, "touched now");
    let ranks: Vec<_> = after
        .iter()
        .map(|v| {
            (
                v.score,
                fine_fit(v.lead.score.fit),
                Reverse(v.lead.waiting_since()),
                Reverse(v.lead.id),
            )
        })
        .collect();
    assert!(
        ranks.windows(2).all(|w| w[0] > w[1]),
        "still in queue order"
    );
    Ok(())
}

/// The stored form of a timeline chunk. If this changes, stores written by released leadq
/// would be misread: bump `TIMELINE_FORMAT` and read the old form in `decode`.
#[test]
fn a_timeline_chunk_is_stored_in_a_fixed_format() {
    let call = Interaction {
        kind: Kind::Call,
        outcome: Some(Outcome::Connected),
        author: "alice".into(),
        at: NOW,
        note: Some("ok".into()),
        duration_secs: Some(90),
        closed_as: None,
    };
    let bytes = Store::encode_timeline_chunk(&[(NOW - 1, 7, note(NOW - 1)), (NOW, 8, call)]);
    assert_eq!(bytes[0], TIMELINE_FORMAT);
    assert_eq!(hex(&bytes), GOLDEN_CHUNK);
}

/// Interactions of format 2 (with `closed_as`; format 1, without, is still read: see
/// `codec::tests`).
const GOLDEN_CHUNK: &str = concat!(
    "0102fdfed3a7f143030000071702030005616c696365fdfed3a7f14303000001016e0000",
    "fd00d4a7f143030000081a0200010005616c696365fd00d4a7f14303000001026f6b015a00",
);

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A write of `before` changed by `change`, as a rescore makes it.
fn rescore(before: &Lead, change: impl FnOnce(&mut Lead)) -> LeadWrite {
    let mut after = before.clone();
    change(&mut after);
    LeadWrite {
        before: Some(before.clone()),
        after,
        keys: DedupeKeys::default(),
        unkeys: Default::default(),
        gone: None,
        append: vec![],
        remove: vec![],
    }
}

/// A rescore of the whole store (a new model put to use) goes in chunks without a transaction,
/// behind a mark: cut short with lead records rewritten and their rank keys not, the next open
/// rebuilds the rank index from the records, so the queue matches the leads again.
#[test]
fn a_rescore_cut_short_is_mended_on_open() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("store");
    let leads: Vec<Lead> = (1..=50)
        .map(|id| lead(id, (id % 7) as u8 * 10, None))
        .collect();
    {
        let store = Store::open(&path, DEFAULT_CACHE_BYTES)?;
        let creates: Vec<LeadWrite> = leads.iter().map(create).collect();
        store.commit(&creates, None)?;
        let rescored: Vec<LeadWrite> = leads
            .iter()
            .map(|before| {
                rescore(before, |after| {
                    after.score.fit = f64::from((before.id * 13 % 40) as u32);
                    after.score.bound = 99 - before.score.bound;
                    after.score.fit = f64::from(after.score.bound);
                })
            })
            .collect();
        store.rescore_cut_short(&rescored)?;
        assert!(
            !store.verify()?.is_empty(),
            "the torn rescore leaves the rank index behind the records"
        );
    }
    let store = Store::open(&path, DEFAULT_CACHE_BYTES)?;
    assert_eq!(store.verify()?, Vec::new(), "the rank index is mended");
    let ranked: Vec<(u8, LeadId)> = store.ranked().collect::<Result<_, _>>()?;
    let mut expected: Vec<(u8, LeadId)> =
        (1..=50).map(|id| (99 - (id % 7) as u8 * 10, id)).collect();
    expected.sort_by_key(|&(bound, id)| (Reverse(bound), id));
    let got: Vec<u8> = ranked.iter().map(|r| r.0).collect();
    let want: Vec<u8> = expected.iter().map(|r| r.0).collect();
    assert_eq!(got, want, "the queue follows the rescored bounds");
    assert_eq!(ranked.len(), 50);
    drop(store);
    // The mark is gone: a second open finds nothing to mend and changes nothing.
    let store = Store::open(&path, DEFAULT_CACHE_BYTES)?;
    assert_eq!(store.verify()?, Vec::new());
    Ok(())
}

/// A rescore that runs to its end leaves the same store as one transaction would.
#[test]
fn a_whole_rescore_matches_its_records() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("store");
    let store = Store::open(&path, DEFAULT_CACHE_BYTES)?;
    let leads: Vec<Lead> = (1..=30)
        .map(|id| lead(id, 5, Some(NOW + id as i64)))
        .collect();
    store.commit(&leads.iter().map(create).collect::<Vec<_>>(), None)?;
    store.begin_rescore()?;
    for part in leads.chunks(7) {
        let writes: Vec<LeadWrite> = part
            .iter()
            .map(|before| {
                rescore(before, |after| {
                    after.score.fit = (before.id * 3 % 100) as f64
                })
            })
            .collect();
        store.rescore_chunk(&writes)?;
    }
    store.end_rescore(Some(7))?;
    assert_eq!(store.verify()?, Vec::new());
    assert_eq!(store.rules_fingerprint()?, Some(7));
    drop(store);
    let store = Store::open(&path, DEFAULT_CACHE_BYTES)?;
    assert_eq!(store.verify()?, Vec::new());
    let bounds: Vec<u8> = store
        .ranked()
        .map(|r| r.map(|(b, _)| b))
        .collect::<Result<_, _>>()?;
    let mut want: Vec<u8> = (1..=30u64).map(|id| (id * 3 % 100) as u8).collect();
    want.sort_by_key(|b| Reverse(*b));
    assert_eq!(bounds, want);
    // A write that changes more than the score is refused by the rescore path.
    let before = store.lead(1)?.expect("lead 1");
    let refused = store.rescore_chunk(&[rescore(&before, |after| after.next_action = None)]);
    assert!(refused.is_err(), "a follow-up change is not a rescore");
    Ok(())
}

/// An import of several chunks (2,500 rows, chunks of 1,000) staged while the chunk before it
/// is still being written: the counts each chunk reads and writes back (tags in use, each
/// tag's tallies, the reports' sums) carry over, so they equal a recount, and a view of a tag
/// holds every imported lead.
#[test]
fn an_import_of_many_chunks_keeps_the_tag_counts_and_the_reports_exact() -> TestResult {
    let s = Local::new(Store::temporary()?, settings())?;
    s.demo(30, 2)?;
    let rows: Vec<leadq::domain::NewLead> = (0..2_500)
        .map(|i| leadq::domain::NewLead {
            name: format!("K {i}"),
            email: Some(format!("k{i}@k.example")),
            source: Some("fair".into()),
            tags: vec!["kk".into(), if i % 2 == 0 { "Even" } else { "odd" }.into()],
            ..leadq::domain::NewLead::default()
        })
        .collect();
    let report = s.import(rows, &leadq::service::ImportOptions::default())?;
    assert_eq!(report.created, 2_500);
    assert_eq!(s.store().verify()?, Vec::<leadq::store::Problem>::new());
    let total = |tag: &str| -> Result<usize, Box<dyn std::error::Error>> {
        let q = leadq::service::Query {
            tag: Some(tag.into()),
            all: true,
            ..leadq::service::Query::default()
        };
        Ok(s.page(&q, leadq::service::Window::rows(0, 5))?.total)
    };
    assert_eq!(total("kk")?, 2_500);
    assert_eq!(total("even")?, 1_250);
    let sources = s.report(&leadq::service::ReportRequest {
        kind: leadq::service::ReportKind::Sources,
        days: Some(1),
        from: None,
        to: None,
        source: Some("fair".into()),
        owner: None,
        tag: None,
    })?;
    assert_eq!(
        sources.tables[0].rows[0][1],
        leadq::service::Figure::Count(2_500),
        "every imported lead arrived"
    );
    Ok(())
}
