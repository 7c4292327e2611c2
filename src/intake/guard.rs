//! What the intake remembers between posts, in memory and bounded: how fast each token posts
//! (a token bucket per token: its `per_minute` posts a minute, as a burst or spread out), and
//! the answers to recent posts by their `Idempotency-Key`, or by their body for a form sent
//! twice within a minute, so that a retry gets the first answer instead of a second write.
//! The clock is passed in: tests step it.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// How long an `Idempotency-Key` is remembered.
pub const KEY_MEMORY: Duration = Duration::from_secs(24 * 3600);
/// How long a body is remembered against a double submit.
pub const BODY_MEMORY: Duration = Duration::from_secs(60);
/// The most answers remembered; the oldest go first beyond it.
pub const MAX_REMEMBERED: usize = 100_000;

/// A token bucket: `per_minute` posts, refilled evenly over the minute.
#[derive(Debug, Clone)]
struct Bucket {
    level: f64,
    at: Instant,
}

#[derive(Debug, Default)]
pub struct Rates {
    buckets: HashMap<String, Bucket>,
}

impl Rates {
    /// Takes one post from `token`'s bucket; Err(seconds until the next is allowed) when it
    /// is empty.
    pub fn take(&mut self, token: &str, per_minute: u32, now: Instant) -> Result<(), u64> {
        let cap = f64::from(per_minute.max(1));
        let b = self.buckets.entry(token.to_string()).or_insert(Bucket {
            level: cap,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.level = (b.level + elapsed * cap / 60.0).min(cap);
        b.at = now;
        if b.level >= 1.0 {
            b.level -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.level) * 60.0 / cap).ceil().max(1.0) as u64)
        }
    }
}

/// What a post was answered (or is being answered) with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Being written now: a second post with the same key waits for nothing, it is told so.
    Pending,
    /// `digest`: of the post it answered (another post with the same key is refused).
    Done { id: u64, created: bool, digest: u64 },
}

#[derive(Debug, Default)]
pub struct Memory {
    answers: HashMap<String, (Answer, Instant, Duration)>,
    order: VecDeque<(String, Instant)>,
}

impl Memory {
    fn forget_old(&mut self, now: Instant) {
        while let Some((key, at)) = self.order.front().cloned() {
            // A record of an earlier moment of the key (it was settled since) is stale.
            let expired = self.answers.get(&key).is_none_or(|(_, when, keep)| {
                *when != at || now.saturating_duration_since(*when) >= *keep
            });
            let crowded = self.order.len() > MAX_REMEMBERED;
            if !(expired || crowded) {
                break;
            }
            self.order.pop_front();
            if self
                .answers
                .get(&key)
                .is_some_and(|(_, when, _)| *when == at)
            {
                self.answers.remove(&key);
            }
        }
    }

    /// The answer remembered for `key`, if it is still remembered; else `key` is marked
    /// pending (the caller writes, then `settle`s it) and None is returned.
    pub fn claim(&mut self, key: &str, keep: Duration, now: Instant) -> Option<Answer> {
        self.forget_old(now);
        if let Some((answer, when, kept)) = self.answers.get(key)
            && now.saturating_duration_since(*when) < *kept
        {
            return Some(*answer);
        }
        self.answers
            .insert(key.to_string(), (Answer::Pending, now, keep));
        self.order.push_back((key.to_string(), now));
        None
    }

    /// Records what a claimed post was answered (None: it failed, and may be posted again).
    pub fn settle(&mut self, key: &str, answer: Option<Answer>, now: Instant) {
        match answer {
            Some(a) => {
                if let Some(entry) = self.answers.get_mut(key) {
                    entry.0 = a;
                    entry.1 = now;
                    self.order.push_back((key.to_string(), now));
                }
            }
            None => {
                self.answers.remove(key);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.answers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.answers.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_gets_its_posts_a_minute_then_waits() {
        let t0 = Instant::now();
        let mut r = Rates::default();
        for _ in 0..3 {
            assert_eq!(r.take("a", 3, t0), Ok(()));
        }
        assert_eq!(r.take("a", 3, t0), Err(20), "one post every 20 s");
        assert_eq!(r.take("b", 3, t0), Ok(()), "another token has its own");
        assert_eq!(r.take("a", 3, t0 + Duration::from_secs(20)), Ok(()));
        assert!(r.take("a", 3, t0 + Duration::from_secs(21)).is_err());
    }

    #[test]
    fn a_key_answers_the_same_until_it_is_forgotten() {
        let t0 = Instant::now();
        let mut m = Memory::default();
        assert_eq!(m.claim("k", BODY_MEMORY, t0), None);
        assert_eq!(m.claim("k", BODY_MEMORY, t0), Some(Answer::Pending));
        let done = Answer::Done {
            id: 7,
            created: true,
            digest: 1,
        };
        m.settle("k", Some(done), t0);
        assert_eq!(
            m.claim("k", BODY_MEMORY, t0 + Duration::from_secs(59)),
            Some(done)
        );
        assert_eq!(
            m.claim("k", BODY_MEMORY, t0 + Duration::from_secs(61)),
            None
        );
        // A failed write is forgotten at once: the post may come again.
        m.settle("k", None, t0);
        assert_eq!(m.claim("k", BODY_MEMORY, t0), None);
    }

    #[test]
    fn memory_stays_bounded() {
        let t0 = Instant::now();
        let mut m = Memory::default();
        for i in 0..(MAX_REMEMBERED + 10) {
            m.claim(&i.to_string(), KEY_MEMORY, t0);
        }
        assert!(m.len() <= MAX_REMEMBERED + 1, "{}", m.len());
    }
}
