//! Where a lead counts in the kept counts (the header's hot/warm/cold, each view's total), and
//! when that changes with time alone. Both are functions of the lead's record, so the counts a
//! store keeps can always be checked against a recount of its records.
//!
//! A record holds the lead as of its last write (`score.at`). With no write, time still moves
//! a lead: its score decays (towards its fit, up or down), so its temperature can change; a
//! snooze or a nurture revisit date ends. `next_change` is the first such moment: the store
//! files the lead under it, and whoever counts as of a later moment recounts just the leads
//! filed before that moment (`at`).

use super::scoring::Rules;
use super::{Lead, Millis, Stage, Temperature};

/// Which part of the queue a lead is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// Open and not waiting: in the queue.
    Active,
    /// Open, and snoozed or a nurture lead waiting for its revisit date.
    Waiting,
    /// Customer, loyal or lost.
    Closed,
}

impl Class {
    /// The lead's class at `at`.
    pub fn at(lead: &Lead, at: Millis) -> Class {
        if !lead.stage.is_open() {
            Class::Closed
        } else if waiting(lead, at) {
            Class::Waiting
        } else {
            Class::Active
        }
    }

    /// The class as its record stands.
    pub fn of(lead: &Lead) -> Class {
        Class::at(lead, lead.score.at)
    }

    pub const ALL: [Class; 3] = [Class::Active, Class::Waiting, Class::Closed];
}

/// A lead's place in the counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tally {
    pub class: Class,
    pub temperature: Temperature,
    pub stage: Stage,
    pub owner: Option<String>,
    pub source: Option<String>,
    /// The local day of an open lead's follow-up (`time::local_day`): how many are due by a
    /// day is a sum over the days up to it.
    pub due_day: Option<i32>,
    /// An open lead not touched for `STALE_DAYS` (a hot one is in today's queue), and one
    /// never touched (a new one is): today's queue is counted from the kept counts.
    pub stale: bool,
    pub untouched: bool,
}

/// Whether a lead is waiting at `at`: snoozed past it, or a nurture lead whose revisit date is
/// after it. (`by`: a later moment a waiting lead may be asked about, as today's queue does.)
pub fn waiting(lead: &Lead, at: Millis) -> bool {
    lead.snoozed_until.is_some_and(|t| t > at)
        || (lead.stage == Stage::Nurture && lead.next_action.is_some_and(|t| t > at))
}

impl Tally {
    /// Where the lead counts as its record stands (as of `score.at`).
    pub fn of(lead: &Lead) -> Tally {
        Tally::with(lead, lead.score.at, lead.temperature)
    }

    /// Where the lead counts at `now`.
    pub fn at(rules: &Rules, lead: &Lead, now: Millis) -> Tally {
        let (_, temperature) = super::scoring::current(rules, lead, now.max(lead.score.at));
        Tally::with(lead, now.max(lead.score.at), temperature)
    }

    fn with(lead: &Lead, at: Millis, temperature: Temperature) -> Tally {
        let class = Class::at(lead, at);
        let open = lead.stage.is_open();
        Tally {
            stale: open && lead.last_touch.is_none_or(|t| at >= stale_from(t)),
            untouched: open && lead.last_touch.is_none(),
            class,
            temperature,
            stage: lead.stage,
            owner: lead.owner.clone(),
            source: lead.source.clone(),
            due_day: lead
                .next_action
                .filter(|_| lead.stage.is_open())
                .map(super::time::local_day),
        }
    }

    /// The bytes the store keys this tally by.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![
            self.class as u8,
            self.temperature as u8,
            Stage::ALL
                .iter()
                .position(|s| *s == self.stage)
                .unwrap_or(0) as u8,
        ];
        for text in [&self.owner, &self.source] {
            match text {
                None => out.push(0),
                Some(t) => {
                    out.push(1);
                    let len = u16::try_from(t.len()).unwrap_or(u16::MAX);
                    out.extend_from_slice(&len.to_be_bytes());
                    out.extend_from_slice(&t.as_bytes()[..usize::from(len)]);
                }
            }
        }
        match self.due_day {
            None => out.push(0),
            Some(d) => {
                out.push(1);
                out.extend_from_slice(&d.to_be_bytes());
            }
        }
        out.push(u8::from(self.stale) | u8::from(self.untouched) << 1);
        out
    }

    /// The tally `encode` made, or None for bytes it cannot have made.
    pub fn decode(bytes: &[u8]) -> Option<Tally> {
        let class = match *bytes.first()? {
            0 => Class::Active,
            1 => Class::Waiting,
            2 => Class::Closed,
            _ => return None,
        };
        let temperature = match *bytes.get(1)? {
            0 => Temperature::Cold,
            1 => Temperature::Warm,
            2 => Temperature::Hot,
            _ => return None,
        };
        let stage = *Stage::ALL.get(usize::from(*bytes.get(2)?))?;
        let mut rest = &bytes[3..];
        let mut text = || -> Option<Option<String>> {
            let (&flag, tail) = rest.split_first()?;
            if flag == 0 {
                rest = tail;
                return Some(None);
            }
            let len = usize::from(u16::from_be_bytes(tail.get(..2)?.try_into().ok()?));
            let t = std::str::from_utf8(tail.get(2..2 + len)?).ok()?.to_string();
            rest = &tail[2 + len..];
            Some(Some(t))
        };
        let owner = text()?;
        let source = text()?;
        let due_day = match rest.split_first()? {
            (0, tail) => {
                rest = tail;
                None
            }
            (1, tail) => {
                let d = i32::from_be_bytes(tail.get(..4)?.try_into().ok()?);
                rest = &tail[4..];
                Some(d)
            }
            _ => return None,
        };
        let (&flags, rest) = rest.split_first()?;
        (rest.is_empty() && flags < 4).then_some(Tally {
            class,
            temperature,
            stage,
            owner,
            source,
            due_day,
            stale: flags & 1 != 0,
            untouched: flags & 2 != 0,
        })
    }
}

/// What the queue index keeps with a lead (its value): its tally, when it was last touched and
/// when it stops waiting, so that a view (today's queue too) is filtered without reading leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub tally: Tally,
    pub last_touch: Option<Millis>,
    pub wait_ends: Option<Millis>,
}

impl Facts {
    /// As the lead's record stands.
    pub fn of(lead: &Lead) -> Facts {
        Facts {
            tally: Tally::of(lead),
            last_touch: lead.last_touch,
            wait_ends: wait_ends(lead),
        }
    }

    /// As of `now`.
    pub fn at(rules: &Rules, lead: &Lead, now: Millis) -> Facts {
        let tally = Tally::at(rules, lead, now);
        let wait_ends = (tally.class == Class::Waiting)
            .then(|| wait_ends(lead))
            .flatten();
        Facts {
            tally,
            last_touch: lead.last_touch,
            wait_ends,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(48);
        for t in [self.last_touch, self.wait_ends] {
            match t {
                None => out.push(0),
                Some(t) => {
                    out.push(1);
                    out.extend_from_slice(&t.to_be_bytes());
                }
            }
        }
        out.extend_from_slice(&self.tally.encode());
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<Facts> {
        let mut rest = bytes;
        let mut time = || -> Option<Option<Millis>> {
            let (&flag, tail) = rest.split_first()?;
            match flag {
                0 => {
                    rest = tail;
                    Some(None)
                }
                1 => {
                    let t = Millis::from_be_bytes(tail.get(..8)?.try_into().ok()?);
                    rest = &tail[8..];
                    Some(Some(t))
                }
                _ => None,
            }
        };
        let last_touch = time()?;
        let wait_ends = time()?;
        Some(Facts {
            tally: Tally::decode(rest)?,
            last_touch,
            wait_ends,
        })
    }
}

/// When an open lead stops waiting (its snooze and its nurture revisit date both passed), if it
/// waits past its record's moment.
pub fn wait_ends(lead: &Lead) -> Option<Millis> {
    if !lead.stage.is_open() || !waiting(lead, lead.score.at) {
        return None;
    }
    let snooze = lead.snoozed_until.unwrap_or(Millis::MIN);
    let revisit = if lead.stage == Stage::Nurture {
        lead.next_action.unwrap_or(Millis::MIN)
    } else {
        Millis::MIN
    };
    Some(snooze.max(revisit))
}

/// An open lead not touched for this many days is stale: a hot one belongs in today's queue.
pub const STALE_DAYS: i64 = 3;

/// The first moment a lead last touched at `touched` is stale (more than `STALE_DAYS` ago).
pub fn stale_from(touched: Millis) -> Millis {
    touched
        .saturating_add(STALE_DAYS * super::time::DAY_MS)
        .saturating_add(1)
}

/// The first moment after the record's own at which time alone changes where the lead counts
/// or where it ranks (`Tally::at` differs from `Tally::of`, or the score from the one it is
/// filed under in the queue index) or whether today's queue holds it: a whole point of decay,
/// a temperature crossing, a snooze or a nurture wait ending, the lead going stale. None when
/// nothing will.
pub fn next_change(rules: &Rules, lead: &Lead) -> Option<Millis> {
    let from = lead.score.at;
    let mut first: Option<Millis> = None;
    let mut consider = |t: Millis| {
        if t > from {
            first = Some(first.map_or(t, |f| f.min(t)));
        }
    };
    if lead.stage.is_open() {
        if let Some(t) = lead.snoozed_until {
            consider(t);
        }
        if lead.stage == Stage::Nurture
            && let Some(t) = lead.next_action
        {
            consider(t);
        }
        if let Some(t) = lead.last_touch {
            consider(stale_from(t));
        }
    }
    if let Some(t) = score_change(rules, lead) {
        consider(t);
    }
    first
}

/// The score a lead is filed under in the queue index: its score as of its record's moment.
pub fn filed_score(rules: &Rules, lead: &Lead) -> u8 {
    lead.score.score(rules, lead.score.at)
}

/// The first moment after `score.at` at which the lead's whole-point score differs from its
/// record's (and with it, possibly, its temperature). The score moves one way only (its
/// engagement fades towards zero), so the first change is found by bisection.
fn score_change(rules: &Rules, lead: &Lead) -> Option<Millis> {
    let from = lead.score.at;
    let score = filed_score(rules, lead);
    if rules.temperature.classify(score, lead.temperature) != lead.temperature {
        // A record whose temperature is not its own score's (written by an older leadq):
        // it counts differently from the next moment on.
        return Some(from.saturating_add(1));
    }
    let changed = |t: Millis| lead.score.score(rules, t) != score;
    // Once the engagement is within a hundredth of a point of zero the score no longer
    // moves: that is at most this many half-lives on.
    let size = lead.score.sum.abs();
    if size < 0.01 {
        return None;
    }
    let half_lives = (size / 0.01).log2().ceil() + 1.0;
    let horizon = (half_lives * rules.engagement.half_life_days * super::time::DAY_MS as f64)
        .min(1e15) as Millis;
    let mut hi = from.saturating_add(horizon.max(1));
    if !changed(hi) {
        return None;
    }
    let mut lo = from;
    // Invariant: not changed at lo, changed at hi.
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if changed(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::NewLead;
    use crate::domain::time::DAY_MS;

    const NOW: Millis = 1_795_176_000_000;

    fn lead() -> Lead {
        Lead::from_request(
            7,
            &NewLead {
                name: "Ada".into(),
                source: Some("Referral".into()),
                ..NewLead::default()
            },
            NOW,
        )
    }

    #[test]
    fn a_tally_comes_back_from_its_bytes() {
        let mut l = lead();
        l.owner = Some("bob".into());
        let t = Tally::of(&l);
        assert_eq!(Tally::decode(&t.encode()), Some(t));
        assert_eq!(Tally::decode(&[9, 0, 0, 0, 0]), None);
        assert_eq!(Tally::decode(&[0, 0, 0, 0]), None);
    }

    #[test]
    fn a_hot_lead_cools_at_the_moment_found() {
        let rules = Rules::defaults();
        let mut l = lead();
        l.score.fit = 20.0;
        l.score.sum = 60.0;
        l.score.positive = 60.0;
        l.score.at = NOW;
        l.score.bound = l.score.upper_bound(&rules);
        let (_, t) = crate::domain::scoring::current(&rules, &l, NOW);
        l.temperature = t;
        assert_eq!(l.temperature, Temperature::Hot);
        // Moment by moment, whole point by whole point, until it is no longer hot.
        let mut at = NOW;
        let mut steps = 0;
        while Tally::of(&l).temperature == Temperature::Hot {
            let next = next_change(&rules, &l).expect("it cools");
            assert!(next > at && next < NOW + 200 * DAY_MS);
            let before = l.score.score(&rules, next - 1);
            assert_eq!(
                before,
                filed_score(&rules, &l),
                "no change before the moment"
            );
            assert_eq!(Tally::at(&rules, &l, next - 1), Tally::of(&l));
            assert_ne!(
                l.score.score(&rules, next),
                before,
                "a point lost at the moment"
            );
            l.score = l.score.advanced(&rules, next);
            let (_, t) = crate::domain::scoring::current(&rules, &l, next);
            l.temperature = t;
            at = next;
            steps += 1;
        }
        assert!(
            steps > 1,
            "a hot lead loses points one by one before it cools"
        );
    }

    #[test]
    fn a_snooze_ends_when_it_says() {
        let rules = Rules::defaults();
        let mut l = lead();
        l.snoozed_until = Some(NOW + 3 * DAY_MS);
        assert_eq!(Tally::of(&l).class, Class::Waiting);
        assert_eq!(next_change(&rules, &l), Some(NOW + 3 * DAY_MS));
        assert_eq!(Tally::at(&rules, &l, NOW + 3 * DAY_MS).class, Class::Active);
    }

    #[test]
    fn a_settled_lead_never_changes() {
        let rules = Rules::defaults();
        let l = lead();
        assert_eq!(next_change(&rules, &l), None);
    }
}
