//! Believable generated leads for a first look and for benchmarks: Latin and Cyrillic names,
//! several sources and owners, interactions over the past two months, a spread of
//! temperatures and stages. The same seed and the same "now" give the same store.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::local::Local;
use super::types::{DemoReport, ServiceError};
use crate::domain::interaction::{Interaction, Kind, Outcome};
use crate::domain::lead::DedupeKeys;
use crate::domain::stage::{self, LostReason, Stage};
use crate::domain::time::DAY_MS;
use crate::domain::{Lead, Millis, NewLead, dedupe};
use crate::store::LeadWrite;

const LATIN_FIRST: &[&str] = &[
    "Anna", "James", "Maria", "Lucas", "Sofia", "Oliver", "Emma", "Noah", "Laura", "Daniel",
    "Chloe", "Mateo", "Julia", "Ethan", "Ines", "Pedro", "Hannah", "Tomas", "Clara", "Liam",
    "Marta", "Jonas",
];
const LATIN_LAST: &[&str] = &[
    "Silva",
    "Smith",
    "Garcia",
    "Müller",
    "Rossi",
    "Dubois",
    "Novak",
    "Jensen",
    "Costa",
    "Walsh",
    "Brennan",
    "Ortega",
    "Kowalski",
    "Fischer",
    "Moreau",
    "Lindqvist",
    "Okafor",
    "Tanaka",
    "Haddad",
];
/// Cyrillic names with the Latin spelling their e-mail address uses.
const CYRILLIC_FIRST: &[(&str, &str)] = &[
    ("Анна", "anna"),
    ("Иван", "ivan"),
    ("Мария", "maria"),
    ("Дмитрий", "dmitry"),
    ("Ольга", "olga"),
    ("Сергей", "sergey"),
    ("Елена", "elena"),
    ("Алексей", "alexey"),
    ("Наталья", "natalia"),
];
const CYRILLIC_LAST: &[(&str, &str)] = &[
    ("Иванова", "ivanova"),
    ("Петров", "petrov"),
    ("Смирнова", "smirnova"),
    ("Кузнецов", "kuznetsov"),
    ("Попова", "popova"),
    ("Соколов", "sokolov"),
    ("Волкова", "volkova"),
    ("Морозов", "morozov"),
];
const COMPANIES: &[&str] = &[
    "Acme",
    "Northwind",
    "Globex",
    "Initech",
    "Umbrella Foods",
    "Stark Logistics",
    "Wayne Health",
    "Soylent",
    "Hooli",
    "Vandelay Import",
    "Pied Piper",
    "Tyrell Labs",
    "Cyberdyne",
    "Aperture",
    "Массив",
    "Северсталь Сервис",
    "Техноком",
    "Vector Retail",
    "Blue Harbor",
    "Kestrel Energy",
];
/// Sources with how many leads each brings (weight) and how keen they are: a lead's interest
/// is a random number raised to the source's power, so referrals buy and cold lists seldom do.
const SOURCES: &[(&str, u32, f64)] = &[
    ("web-form", 25, 2.0),
    ("landing-page", 15, 2.2),
    ("ad-campaign", 15, 3.0),
    ("referral", 8, 1.0),
    ("inbound-call", 7, 1.3),
    ("webinar", 8, 1.7),
    ("trade-show", 6, 2.5),
    ("partner", 6, 1.5),
    ("cold-list", 10, 4.5),
];
/// The campaigns a web or ad lead names (`utm_campaign`), with what they add to its source's
/// power: the retargeting campaign brings keener leads than the Black Friday one.
const CAMPAIGNS: &[(&str, u32, f64)] = &[
    ("spring-promo", 4, 0.0),
    ("black-friday", 3, 1.5),
    ("retargeting", 2, -0.8),
];
/// Each rep's typical wait before the first touch of a new lead (minutes): dmitri answers
/// slowly, and his leads cool while they wait; leads in the pool wait longest.
const RESPONSE_MINUTES: &[(&str, f64)] = &[
    ("alice", 4.0),
    ("bob", 25.0),
    ("carol", 40.0),
    ("dmitri", 600.0),
];
const POOL_RESPONSE_MINUTES: f64 = 1_800.0;
const TITLES: &[&str] = &[
    "CEO",
    "CTO",
    "Head of Sales",
    "Marketing Manager",
    "Procurement Lead",
    "Analyst",
    "Founder",
    "VP Operations",
    "Office Manager",
    "Engineer",
    "Director of IT",
    "Consultant",
];
const CITIES: &[&str] = &[
    "Lisbon",
    "Berlin",
    "London",
    "Madrid",
    "Москва",
    "Warsaw",
    "Austin",
    "Dublin",
    "Riga",
];
const INDUSTRIES: &[&str] = &[
    "retail",
    "logistics",
    "healthcare",
    "software",
    "manufacturing",
    "finance",
    "education",
];
const TAGS: &[&str] = &[
    "vip",
    "renewal",
    "eu",
    "pilot",
    "enterprise",
    "smb",
    "event-2026",
];
const OWNERS: &[&str] = &["alice", "bob", "carol", "dmitri"];
const NOTES: &[&str] = &[
    "asked for pricing",
    "call back after lunch",
    "interested in the annual plan",
    "needs a demo for the team",
    "budget approved next quarter",
    "compared us with a competitor",
    "sent the deck",
    "left a message",
];

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// One of `items` by weight, with its keenness.
fn weighted(rng: &mut ChaCha8Rng, items: &[(&'static str, u32, f64)]) -> (&'static str, f64) {
    let total: u32 = items.iter().map(|(_, w, _)| w).sum();
    let mut x = rng.random_range(0..total);
    for (item, w, keen) in items {
        if x < *w {
            return (item, *keen);
        }
        x -= w;
    }
    (items[0].0, items[0].2)
}

/// How long a lead owned by `owner` waits for its first touch: the rep's typical wait, times
/// a random factor between 1/8 and 8.
fn response_delay(rng: &mut ChaCha8Rng, owner: Option<&str>) -> Millis {
    let typical = owner
        .and_then(|o| RESPONSE_MINUTES.iter().find(|(r, _)| *r == o))
        .map_or(POOL_RESPONSE_MINUTES, |(_, m)| *m);
    let factor = 2f64.powf(rng.random_range(-3.0..3.0));
    (typical * factor * 60_000.0) as Millis
}

/// A random rep action, weighted towards calls and e-mails.
fn random_touch(rng: &mut ChaCha8Rng, interest: f64) -> (Kind, Outcome) {
    use Outcome::*;
    // Most touches of a rep's day go nowhere; interest makes a good outcome likelier.
    let good = rng.random_bool((interest * 0.7).clamp(0.02, 0.9));
    match rng.random_range(0..10) {
        0..=4 => (
            Kind::Call,
            if good {
                Connected
            } else {
                *pick(rng, &[NoAnswer, Voicemail, Busy, NoAnswer])
            },
        ),
        5..=7 => (
            Kind::Email,
            if good {
                *pick(rng, &[Replied, Received, Clicked])
            } else {
                *pick(rng, &[Sent, Opened, Sent])
            },
        ),
        8 => (
            Kind::Inbound,
            if good {
                *pick(rng, &[FormSubmitted, Download, WebinarAttended, Chat])
            } else {
                PageVisit
            },
        ),
        _ => (
            Kind::Meeting,
            if good {
                *pick(rng, &[Scheduled, Held])
            } else {
                NoShow
            },
        ),
    }
}

struct Person {
    request: NewLead,
    /// The power its interest is raised to (its source's and campaign's keenness).
    keenness: f64,
}

fn person(rng: &mut ChaCha8Rng, id: u64) -> Person {
    let cyrillic = rng.random_bool(0.25);
    let company = pick(rng, COMPANIES).to_string();
    let domain: String = company
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_lowercase();
    let domain = if domain.is_empty() {
        "example.ru".to_string()
    } else {
        format!("{domain}.example")
    };
    let (name, handle, phone) = if cyrillic {
        let (f, fl) = pick(rng, CYRILLIC_FIRST);
        let (l, ll) = pick(rng, CYRILLIC_LAST);
        (
            format!("{f} {l}"),
            format!("{fl}.{ll}"),
            format!(
                "+7 9{:02} {:03} {:04}",
                id % 100,
                (id / 100) % 1000,
                id % 10_000
            ),
        )
    } else {
        let f = pick(rng, LATIN_FIRST);
        let l = pick(rng, LATIN_LAST);
        let ascii: String = l.chars().filter(char::is_ascii_alphabetic).collect();
        (
            format!("{f} {l}"),
            format!("{}.{}", f.to_lowercase(), ascii.to_lowercase()),
            format!("+1 {:010}", 2_000_000_000 + id),
        )
    };
    let mut attributes = std::collections::BTreeMap::new();
    attributes.insert("title".to_string(), pick(rng, TITLES).to_string());
    attributes.insert(
        "company_size".to_string(),
        [3, 12, 40, 80, 250, 1200][rng.random_range(0..6)].to_string(),
    );
    attributes.insert("city".to_string(), pick(rng, CITIES).to_string());
    attributes.insert("industry".to_string(), pick(rng, INDUSTRIES).to_string());
    if rng.random_bool(0.2) {
        attributes.insert(
            "budget".to_string(),
            format!("{}k", rng.random_range(5..200)),
        );
    }
    let (source, mut keenness) = weighted(rng, SOURCES);
    if matches!(source, "web-form" | "landing-page" | "ad-campaign") && rng.random_bool(0.7) {
        let (campaign, keen) = weighted(rng, CAMPAIGNS);
        attributes.insert("utm_campaign".to_string(), campaign.to_string());
        keenness += keen;
    }
    let tags = (0..rng.random_range(0..3))
        .map(|_| pick(rng, TAGS).to_string())
        .collect();
    let email = rng
        .random_bool(0.9)
        .then(|| format!("{handle}.{id}@{domain}"));
    // A lead needs an e-mail or a phone (else `export` then `import` refuses it): one without
    // an e-mail always gets its phone. The coin is still tossed, so the sequence stays the same.
    let has_phone = rng.random_bool(0.6) || email.is_none();
    Person {
        request: NewLead {
            name,
            email,
            phone: has_phone.then_some(phone),
            company: rng.random_bool(0.85).then_some(company),
            source: Some(source.to_string()),
            owner: rng.random_bool(0.7).then(|| pick(rng, OWNERS).to_string()),
            tags,
            attributes,
            closed: None,
        }
        .cleaned(),
        keenness,
    }
}

fn event(
    kind: Kind,
    outcome: Outcome,
    author: &str,
    at: Millis,
    note: Option<String>,
) -> Interaction {
    Interaction {
        kind,
        outcome: Some(outcome),
        author: author.to_string(),
        at,
        note,
        duration_secs: None,
        closed_as: None,
    }
}

/// One generated lead with its timeline, its stage and follow-up as the events imply.
fn generate(s: &Local, rng: &mut ChaCha8Rng, now: Millis) -> LeadWrite {
    let id = s.store.reserve_id();
    let Person { request, keenness } = person(rng, id);
    let created = now - rng.random_range(0..60 * DAY_MS);
    let mut lead = Lead::from_request(id, &request, created);
    let author = lead
        .owner
        .clone()
        .unwrap_or_else(|| OWNERS[(id % 4) as usize].to_string());
    let mut timeline = vec![event(
        Kind::System,
        Outcome::Created,
        super::local::SYSTEM_AUTHOR,
        created,
        Some("demo data".into()),
    )];
    // Skewed low: most leads are lukewarm, a few are keen; some sources bring keener ones.
    let mut interest: f64 = rng.random::<f64>().powf(keenness);
    // The first touch comes after the owner's wait; a lead left for over an hour cools.
    let first = created + response_delay(rng, lead.owner.as_deref());
    if first - created > 3_600_000 {
        interest *= 0.5;
    }
    let touches = if first <= now {
        rng.random_range(0..=(14.0 * interest) as u32 + 10)
    } else {
        0
    };
    let mut times: Vec<Millis> = (0..touches)
        .map(|_| rng.random_range(first..=now))
        .collect();
    times.sort_unstable();
    if let Some(t) = times.first_mut() {
        *t = first;
    }
    for (n, at) in times.into_iter().enumerate() {
        let (mut kind, mut outcome) = random_touch(rng, interest);
        // The first is the rep's answer to the new lead: a call, or an e-mail sent.
        if n == 0 && !matches!(kind, Kind::Call | Kind::Email) {
            (kind, outcome) = (Kind::Call, Outcome::NoAnswer);
        }
        if n == 0 && kind == Kind::Email {
            outcome = Outcome::Sent;
        }
        let note = rng.random_bool(0.3).then(|| pick(rng, NOTES).to_string());
        timeline.push(event(kind, outcome, &author, at, note));
        if kind.is_touch() {
            lead.last_touch = Some(at);
        }
        if let Some(to) = stage::auto_transition(lead.stage, kind, Some(outcome)) {
            timeline.push(event(
                Kind::System,
                Outcome::StageChanged,
                &author,
                at,
                Some(format!("{} -> {to}", lead.stage)),
            ));
            lead.stage = to;
        }
    }
    let roll: f64 = rng.random();
    let last = timeline.last().map_or(created, |i| i.at);
    // What the score check reads: the lead's standing as it closed.
    let closed_as = |lead: &Lead, timeline: &[Interaction]| {
        let rules = s.rules();
        let score = s.score_lead(lead, timeline, last).score(rules, last);
        crate::domain::interaction::ClosedAs {
            score,
            temperature: rules.temperature.classify(score, lead.temperature),
        }
    };
    if roll < 0.02 + 0.2 * interest && lead.last_touch.is_some() {
        let standing = closed_as(&lead, &timeline);
        let mut won = event(
            Kind::System,
            Outcome::Won,
            &author,
            last,
            Some("won".into()),
        );
        won.closed_as = Some(standing);
        timeline.push(won);
        lead.stage = stage::stage_after_won(lead.stage);
    } else if roll > 0.9 {
        let reason = *pick(rng, &LostReason::ALL);
        let standing = closed_as(&lead, &timeline);
        let mut lost = event(
            Kind::System,
            Outcome::Lost,
            &author,
            last,
            Some(format!("lost: {reason}")),
        );
        lost.closed_as = Some(standing);
        timeline.push(lost);
        lead.stage = Stage::Lost;
        lead.lost_reason = Some(reason);
    } else if roll > 0.85 {
        lead.stage = Stage::Nurture;
    }
    if lead.stage.is_open() && rng.random_bool(0.5) {
        lead.next_action = Some(now + rng.random_range(-3 * DAY_MS..7 * DAY_MS));
    }
    let rules = s.rules();
    lead.score = s.score_lead(&lead, &timeline, now);
    let score = lead.score.score(rules, now);
    lead.temperature = rules
        .temperature
        .classify(score, rules.temperature.classify(score, lead.temperature));
    let keys = DedupeKeys {
        email: lead.email.as_deref().map(dedupe::normalize_email),
        phone: lead
            .phone
            .as_deref()
            .and_then(|p| dedupe::normalize_phone(p, &s.settings.country_code).ok()),
    };
    LeadWrite {
        before: None,
        after: lead,
        keys,
        unkeys: Default::default(),
        gone: None,
        append: timeline,
        remove: vec![],
    }
}

pub fn fill(s: &Local, count: usize, seed: u64) -> Result<DemoReport, ServiceError> {
    use super::LeadService;
    let now = s.now();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut report = DemoReport {
        leads: 0,
        interactions: 0,
    };
    let mut batch = Vec::with_capacity(2_000);
    for _ in 0..count {
        let w = generate(s, &mut rng, now);
        report.leads += 1;
        report.interactions += w.append.len();
        batch.push(w);
        if batch.len() == 2_000 {
            s.store.commit_unflushed(&batch, s.fingerprint())?;
            batch.clear();
        }
    }
    s.store.commit(&batch, s.fingerprint())?;
    Ok(report)
}
