//! What each lead adds to the manager's reports: counters filed by measure, local day, owner
//! (or, for activity, the user who did it), source and tag. A lead's part is a function of
//! its record and its timeline (`contribution`), so the store keeps the sums with every write
//! (the part before taken away, the part after added) and can count them again from the leads.
//!
//! Owner, source and tags are the lead's as it stands now: a lead handed to another rep takes
//! its history with it. Activity is filed under the user who logged it.

use std::collections::BTreeMap;

use super::time::local_day;
use super::{Interaction, Kind, Lead, LostReason, Millis, Outcome, Stage};

/// What a row of counters measures, and the day it is filed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Measure {
    /// Leads by the day they arrived: how far they got, how soon they were first touched.
    Arrivals = 1,
    /// Touches and moves by the day they happened, under who made them.
    Activity = 2,
    /// Stage entries by their day; time spent in a stage by the day it was left; losses by
    /// the stage lost from.
    Stages = 3,
    /// Leads closed by the day they closed: won, lost and why.
    Closed = 4,
    /// Each close with the standing it closed at, one row per lead (`Cell::lead`): the
    /// score check's lists of high-scored leads lost and low-scored leads won.
    Closes = 5,
    /// `Arrivals` again for the leads an attribute puts in a campaign, filed by campaign
    /// (`Cell::campaign`) as well: the sources report's campaign lines.
    Campaigns = 6,
}

impl Measure {
    pub const ALL: [Measure; 6] = [
        Measure::Arrivals,
        Measure::Activity,
        Measure::Stages,
        Measure::Closed,
        Measure::Closes,
        Measure::Campaigns,
    ];

    pub fn from_byte(b: u8) -> Option<Measure> {
        Measure::ALL.into_iter().find(|m| *m as u8 == b)
    }
}

/// Counters of `Measure::Arrivals`.
pub mod arrivals {
    pub const ARRIVED: u16 = 0;
    /// Touched by a person (a call, e-mail or meeting), or moved past new.
    pub const CONTACTED: u16 = 1;
    /// Reached qualified or a later stage of the main line, ever.
    pub const QUALIFIED: u16 = 2;
    pub const WON: u16 = 3;
    pub const LOST: u16 = 4;
    /// First touch within 5 minutes, an hour, a day, later; never (yet).
    pub const WITHIN_5M: u16 = 5;
    pub const WITHIN_1H: u16 = 6;
    pub const WITHIN_24H: u16 = 7;
    pub const LATER: u16 = 8;
    pub const NEVER: u16 = 9;
    /// The time to first touch, as a histogram (`super::bucket`) from here.
    pub const DELAY: u16 = 16;
}

/// Counters of `Measure::Activity`.
pub mod activity {
    pub const CALLS: u16 = 0;
    pub const CONNECTED: u16 = 1;
    pub const EMAILS: u16 = 2;
    pub const MEETINGS: u16 = 3;
    pub const NOTES: u16 = 4;
    pub const STAGE_MOVES: u16 = 5;
    pub const WON: u16 = 6;
    pub const LOST: u16 = 7;
}

/// Counters of `Measure::Stages`: per stage (its index in `Stage::ALL`), the entries, the
/// losses from it, and a histogram of the time spent in it.
pub mod stages {
    pub const ENTERED: u16 = 0;
    pub const LOST_FROM: u16 = 8;
    /// Entered the stage and later went further along the main line (new, contacted,
    /// qualified, opportunity, customer, loyal): the stage's conversion.
    pub const WENT_ON: u16 = 16;
    /// 8 stages x `super::BUCKETS` from here.
    pub const TIME_IN: u16 = 32;
}

/// Counters of `Measure::Closes` (a lead's row).
pub mod closes {
    pub const WON: u16 = 0;
    pub const LOST: u16 = 1;
    /// The score at close, summed over the lead's closes that day (WON + LOST of them).
    pub const SCORE: u16 = 2;
}

/// Counters of `Measure::Closed`.
pub mod closed {
    pub const WON: u16 = 0;
    pub const LOST: u16 = 1;
    /// Per lost reason (its index in `LostReason::ALL`; unknown: the last) from here.
    pub const REASON: u16 = 2;
    /// By the score the lead closed at, in bands of ten (90-100 the last), won and lost.
    pub const WON_BAND: u16 = 16;
    pub const LOST_BAND: u16 = 32;
    /// By the temperature it closed at (hot, warm, cold), won and lost.
    pub const WON_TEMP: u16 = 48;
    pub const LOST_TEMP: u16 = 52;
    /// Closes with no standing recorded (history, an older leadq).
    pub const WON_UNRECORDED: u16 = 56;
    pub const LOST_UNRECORDED: u16 = 57;

    /// A score's band.
    pub fn band(score: u8) -> u16 {
        u16::from(score / 10).min(9)
    }

    /// A temperature's place.
    pub fn temp(t: crate::domain::Temperature) -> u16 {
        match t {
            crate::domain::Temperature::Hot => 0,
            crate::domain::Temperature::Warm => 1,
            crate::domain::Temperature::Cold => 2,
        }
    }
}

/// Histogram buckets of durations: four to each doubling of (1 + seconds), so a median read
/// from one is within about 9% of the true one; the last bucket holds everything over about
/// four years.
pub const BUCKETS: u16 = 112;

pub fn bucket(ms: Millis) -> u16 {
    let seconds = ms.max(0) as f64 / 1000.0;
    let b = (4.0 * (1.0 + seconds).log2()).floor();
    (b as u16).min(BUCKETS - 1)
}

/// The middle of bucket `b`, in ms (what a median read from a histogram says).
pub fn bucket_middle(b: u16) -> Millis {
    let seconds = 2f64.powf((f64::from(b) + 0.5) / 4.0) - 1.0;
    (seconds * 1000.0).round() as Millis
}

/// The median of a histogram of `BUCKETS` counts (None: empty).
pub fn median(hist: &[u64]) -> Option<Millis> {
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return None;
    }
    let half = total.div_ceil(2);
    let mut seen = 0;
    for (b, n) in hist.iter().enumerate() {
        seen += n;
        if seen >= half {
            return Some(bucket_middle(b as u16));
        }
    }
    None
}

/// Where a row of counters is filed: measure, local day, owner (or who acted), source, tag
/// (empty: the row of every lead; a tag's rows repeat the lead's part once per tag).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cell {
    pub measure: Measure,
    pub day: i32,
    pub owner: String,
    pub source: String,
    pub tag: String,
    /// The lead a row of `Measure::Closes` is about (None for every other measure).
    pub lead: Option<super::LeadId>,
    /// The campaign of a row of `Measure::Campaigns` (empty for every other measure).
    pub campaign: String,
}

/// The longest campaign name the reports keep (in characters, so its key part fits 255
/// bytes); a longer one is cut.
pub const CAMPAIGN_CHARS: usize = 60;

/// The campaign a lead came from, as an attribute names it (`campaign` or `utm_campaign`,
/// the name a web form's tracking fills in), trimmed and lowercased; None when no attribute
/// names one.
pub fn campaign_of(lead: &Lead) -> Option<String> {
    ["campaign", "utm_campaign"].iter().find_map(|name| {
        let (_, v) = lead
            .attributes
            .iter()
            .find(|(k, v)| super::lead::same_attribute_name(k, name) && !v.trim().is_empty())?;
        // One campaign in any case, as sources are.
        Some(
            v.trim()
                .to_lowercase()
                .chars()
                .take(CAMPAIGN_CHARS)
                .collect(),
        )
    })
}

impl Cell {
    /// Key bytes: the measure, the day (sign-flipped, big-endian), then owner, source and
    /// tag (and for `Measure::Campaigns` the campaign), each with its length first. Days sort
    /// in order within a measure.
    pub fn encode(&self) -> Vec<u8> {
        let mut k = Vec::with_capacity(
            9 + self.owner.len() + self.source.len() + self.tag.len() + self.campaign.len(),
        );
        k.push(self.measure as u8);
        k.extend_from_slice(&((self.day as u32) ^ (1 << 31)).to_be_bytes());
        let campaign = (self.measure == Measure::Campaigns).then_some(&self.campaign);
        for part in [&self.owner, &self.source, &self.tag]
            .into_iter()
            .chain(campaign)
        {
            let bytes = &part.as_bytes()[..part.len().min(255)];
            k.push(bytes.len() as u8);
            k.extend_from_slice(bytes);
        }
        if let Some(id) = self.lead {
            k.extend_from_slice(&id.to_be_bytes());
        }
        k
    }

    pub fn decode(bytes: &[u8]) -> Option<Cell> {
        let measure = Measure::from_byte(*bytes.first()?)?;
        let day = (u32::from_be_bytes(bytes.get(1..5)?.try_into().ok()?) ^ (1 << 31)) as i32;
        let mut at = 5;
        let count = if measure == Measure::Campaigns { 4 } else { 3 };
        let mut parts = Vec::with_capacity(count);
        for _ in 0..count {
            let n = usize::from(*bytes.get(at)?);
            let part = bytes.get(at + 1..at + 1 + n)?;
            parts.push(String::from_utf8_lossy(part).into_owned());
            at += 1 + n;
        }
        let lead = match bytes.len() - at {
            0 => None,
            8 => Some(u64::from_be_bytes(bytes.get(at..)?.try_into().ok()?)),
            _ => return None,
        };
        let campaign = if count == 4 {
            parts.pop()?
        } else {
            String::new()
        };
        let tag = parts.pop()?;
        let source = parts.pop()?;
        let owner = parts.pop()?;
        Some(Cell {
            measure,
            day,
            owner,
            source,
            tag,
            lead,
            campaign,
        })
    }

    /// The first key of a measure's day.
    pub fn day_start(measure: Measure, day: i32) -> Vec<u8> {
        let mut k = vec![measure as u8];
        k.extend_from_slice(&((day as u32) ^ (1 << 31)).to_be_bytes());
        k
    }
}

/// Counters by index, sparse.
pub type Counters = BTreeMap<u16, i64>;

/// A row's counters as stored: (index u16, count u64) pairs, big-endian.
pub fn encode_counters(c: &Counters) -> Vec<u8> {
    let mut out = Vec::with_capacity(c.len() * 10);
    for (&i, &n) in c.iter().filter(|(_, n)| **n != 0) {
        out.extend_from_slice(&i.to_be_bytes());
        out.extend_from_slice(&(n.max(0) as u64).to_be_bytes());
    }
    out
}

pub fn decode_counters(bytes: &[u8]) -> Option<Counters> {
    if bytes.len() % 10 != 0 {
        return None;
    }
    let mut out = Counters::new();
    for part in bytes.chunks(10) {
        let i = u16::from_be_bytes(part[..2].try_into().ok()?);
        let n = u64::from_be_bytes(part[2..].try_into().ok()?);
        out.insert(i, i64::try_from(n).ok()?);
    }
    Some(out)
}

/// Every row a lead adds to, with what it adds.
pub type Contribution = BTreeMap<Cell, Counters>;

/// A stage move as its timeline event says it ("contacted -> qualified (...)").
pub fn stage_move(i: &Interaction) -> Option<(Stage, Stage)> {
    if i.kind != Kind::System || i.outcome != Some(Outcome::StageChanged) {
        return None;
    }
    let note = i.note.as_deref()?;
    let (from, rest) = note.split_once(" -> ")?;
    let to: String = rest
        .chars()
        .take_while(|c| c.is_ascii_lowercase())
        .collect();
    Some((Stage::parse(from.trim())?, Stage::parse(&to)?))
}

/// Whether an interaction is a person's touch of the lead (what speed to lead measures).
pub fn is_touch(i: &Interaction) -> bool {
    matches!(i.kind, Kind::Call | Kind::Email | Kind::Meeting)
        && !matches!(
            i.outcome,
            Some(Outcome::Received | Outcome::Opened | Outcome::Clicked | Outcome::Replied)
        )
}

/// What `lead`, with `timeline` (any order), adds to the reports.
pub fn contribution(lead: &Lead, timeline: &[&Interaction]) -> Contribution {
    let mut out = Contribution::new();
    let mut events: Vec<&Interaction> = timeline.to_vec();
    events.sort_by_key(|i| i.at);
    let owner = lead.owner.clone().unwrap_or_default();
    let source = lead.source.clone().unwrap_or_default();
    let mut tags: Vec<String> = lead.tags.iter().map(|t| t.trim().to_lowercase()).collect();
    tags.sort_unstable();
    tags.dedup();
    let campaign = campaign_of(lead);
    let mut add = |measure: Measure, at: Millis, who: &str, counter: u16| {
        let day = local_day(at);
        // An arrival counts again under its campaign, when it has one.
        let campaigns = match (&campaign, measure) {
            (Some(c), Measure::Arrivals) => vec![(measure, ""), (Measure::Campaigns, c.as_str())],
            _ => vec![(measure, "")],
        };
        for (measure, campaign) in campaigns {
            for tag in std::iter::once("").chain(tags.iter().map(String::as_str)) {
                let cell = Cell {
                    measure,
                    day,
                    owner: who.to_string(),
                    source: source.clone(),
                    tag: tag.to_string(),
                    lead: None,
                    campaign: campaign.to_string(),
                };
                *out.entry(cell).or_default().entry(counter).or_default() += 1;
            }
        }
    };
    // The stages the lead went through, replayed from its timeline: a move names its
    // stages; a won or lost event moves the lead itself when no move comes with it.
    let arrived = events
        .iter()
        .find(|i| i.kind == Kind::System && i.outcome == Some(Outcome::Created))
        .map_or(lead.created, |i| i.at);
    let mut path: Vec<(Stage, Millis)> = vec![(Stage::New, arrived)];
    for (n, i) in events.iter().enumerate() {
        let current = path.last().map_or(Stage::New, |p| p.0);
        let move_follows = events
            .get(n + 1)
            .is_some_and(|next| next.at == i.at && stage_move(next).is_some());
        let to = match (i.kind, i.outcome) {
            _ if stage_move(i).is_some() => stage_move(i).map(|(_, to)| to),
            (Kind::System, Some(Outcome::Lost)) if !move_follows => Some(Stage::Lost),
            (Kind::System, Some(Outcome::Won)) if !move_follows => {
                Some(super::stage::stage_after_won(current))
            }
            _ => None,
        };
        let Some(to) = to.filter(|to| *to != current) else {
            continue;
        };
        let since = path.last().map_or(arrived, |p| p.1);
        add(
            Measure::Stages,
            i.at,
            &owner,
            stages::TIME_IN + current.index() * BUCKETS + bucket(i.at - since),
        );
        if to == Stage::Lost {
            add(
                Measure::Stages,
                i.at,
                &owner,
                stages::LOST_FROM + current.index(),
            );
        }
        path.push((to, i.at));
    }
    for (n, (stage, at)) in path.iter().enumerate() {
        add(
            Measure::Stages,
            *at,
            &owner,
            stages::ENTERED + stage.index(),
        );
        let on_line = !matches!(stage, Stage::Nurture | Stage::Lost);
        if on_line
            && path[n + 1..]
                .iter()
                .any(|(later, _)| later.rank() > stage.rank())
        {
            add(
                Measure::Stages,
                *at,
                &owner,
                stages::WENT_ON + stage.index(),
            );
        }
    }
    // Arrivals: the lead's cohort.
    let first_touch = events
        .iter()
        .filter(|i| is_touch(i) && i.at >= arrived)
        .map(|i| i.at)
        .next();
    let best = path
        .iter()
        .map(|(s, _)| s.rank())
        .chain(std::iter::once(lead.stage.rank()))
        .max()
        .unwrap_or(0);
    add(Measure::Arrivals, arrived, &owner, arrivals::ARRIVED);
    if first_touch.is_some() || best >= 1 {
        add(Measure::Arrivals, arrived, &owner, arrivals::CONTACTED);
    }
    if best >= 2 {
        add(Measure::Arrivals, arrived, &owner, arrivals::QUALIFIED);
    }
    match lead.stage {
        Stage::Customer | Stage::Loyal => add(Measure::Arrivals, arrived, &owner, arrivals::WON),
        Stage::Lost => add(Measure::Arrivals, arrived, &owner, arrivals::LOST),
        _ => {}
    }
    match first_touch {
        None => add(Measure::Arrivals, arrived, &owner, arrivals::NEVER),
        Some(t) => {
            let d = t - arrived;
            let c = match d {
                d if d <= 5 * 60_000 => arrivals::WITHIN_5M,
                d if d <= 3_600_000 => arrivals::WITHIN_1H,
                d if d <= 86_400_000 => arrivals::WITHIN_24H,
                _ => arrivals::LATER,
            };
            add(Measure::Arrivals, arrived, &owner, c);
            add(
                Measure::Arrivals,
                arrived,
                &owner,
                arrivals::DELAY + bucket(d),
            );
        }
    }
    // Activity, under who did it; closes.
    for i in &events {
        let who = i.author.as_str();
        match (i.kind, i.outcome) {
            (Kind::Call, o) => {
                add(Measure::Activity, i.at, who, activity::CALLS);
                if o == Some(Outcome::Connected) {
                    add(Measure::Activity, i.at, who, activity::CONNECTED);
                }
            }
            (Kind::Email, _) if is_touch(i) => add(Measure::Activity, i.at, who, activity::EMAILS),
            (Kind::Meeting, _) => add(Measure::Activity, i.at, who, activity::MEETINGS),
            (Kind::Note, _) => add(Measure::Activity, i.at, who, activity::NOTES),
            (Kind::System, Some(Outcome::StageChanged)) => {
                add(Measure::Activity, i.at, who, activity::STAGE_MOVES);
            }
            (Kind::System, Some(Outcome::Won)) => {
                add(Measure::Activity, i.at, who, activity::WON);
                add(Measure::Closed, i.at, &owner, closed::WON);
                match i.closed_as {
                    Some(c) => {
                        add(
                            Measure::Closed,
                            i.at,
                            &owner,
                            closed::WON_BAND + closed::band(c.score),
                        );
                        add(
                            Measure::Closed,
                            i.at,
                            &owner,
                            closed::WON_TEMP + closed::temp(c.temperature),
                        );
                    }
                    None => add(Measure::Closed, i.at, &owner, closed::WON_UNRECORDED),
                }
            }
            (Kind::System, Some(Outcome::Lost)) => {
                add(Measure::Activity, i.at, who, activity::LOST);
                add(Measure::Closed, i.at, &owner, closed::LOST);
                match i.closed_as {
                    Some(c) => {
                        add(
                            Measure::Closed,
                            i.at,
                            &owner,
                            closed::LOST_BAND + closed::band(c.score),
                        );
                        add(
                            Measure::Closed,
                            i.at,
                            &owner,
                            closed::LOST_TEMP + closed::temp(c.temperature),
                        );
                    }
                    None => add(Measure::Closed, i.at, &owner, closed::LOST_UNRECORDED),
                }
                let reason = i
                    .note
                    .as_deref()
                    .and_then(|n| n.strip_prefix("lost: "))
                    .and_then(|r| LostReason::parse(&r.replace(' ', "-")))
                    .and_then(|r| LostReason::ALL.iter().position(|x| *x == r))
                    .unwrap_or(LostReason::ALL.len());
                add(
                    Measure::Closed,
                    i.at,
                    &owner,
                    closed::REASON + reason as u16,
                );
            }
            _ => {}
        }
    }
    // Each close with its standing, one row of the lead's own.
    for i in &events {
        let (Some(c), Some(o @ (Outcome::Won | Outcome::Lost))) = (i.closed_as, i.outcome) else {
            continue;
        };
        if i.kind != Kind::System {
            continue;
        }
        let row = out
            .entry(Cell {
                measure: Measure::Closes,
                day: local_day(i.at),
                owner: owner.clone(),
                source: lead.source.clone().unwrap_or_default(),
                tag: String::new(),
                lead: Some(lead.id),
                campaign: String::new(),
            })
            .or_default();
        let won = if o == Outcome::Won {
            closes::WON
        } else {
            closes::LOST
        };
        *row.entry(won).or_default() += 1;
        *row.entry(closes::SCORE).or_default() += i64::from(c.score);
    }
    out
}

/// What turns `before` into `after`: per row, the counters to add (negative: take away).
pub fn difference(before: &Contribution, after: &Contribution) -> Contribution {
    let mut out = after.clone();
    for (cell, counters) in before {
        let row = out.entry(cell.clone()).or_default();
        for (&i, &n) in counters {
            *row.entry(i).or_default() -= n;
        }
    }
    out.retain(|_, row| {
        row.retain(|_, n| *n != 0);
        !row.is_empty()
    });
    out
}
