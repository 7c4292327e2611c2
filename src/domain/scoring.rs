//! Score = fit (attribute rules) + engagement (interaction rules decaying with age), each
//! capped, clamped to 0-100, and always explainable.
//!
//! Engagement decays exponentially with one half-life, so the decayed sum of a whole timeline
//! is one number that can be carried forward in time: `sum(now) = sum(at) * 0.5^((now-at)/h)`.
//! A lead therefore caches `ScoreState` and its score "as of now" costs a multiplication, not
//! a timeline scan. The positive part alone never grows with time, which gives the queue an
//! upper bound to order by (see `ScoreState::upper_bound`).

use serde::{Deserialize, Serialize};

use super::interaction::{Interaction, Kind, Outcome};
use super::lead::Lead;
use super::temperature::{Temperature, Thresholds};
use super::time::{DAY_MS, Millis};

pub const DEFAULT_RULES: &str = include_str!("scoring_default.toml");

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    pub temperature: Thresholds,
    pub fit: FitRules,
    pub engagement: EngagementRules,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitRules {
    pub min: f64,
    pub max: f64,
    #[serde(default)]
    pub rule: Vec<FitRule>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitRule {
    pub name: String,
    pub field: String,
    #[serde(default)]
    pub any: Vec<String>,
    #[serde(default)]
    pub equals: Vec<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub present: Option<bool>,
    pub points: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngagementRules {
    pub half_life_days: f64,
    pub min: f64,
    pub max: f64,
    #[serde(default)]
    pub rule: Vec<EngagementRule>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngagementRule {
    pub name: String,
    pub kind: Kind,
    pub outcome: Option<Outcome>,
    #[serde(default)]
    pub sources: Vec<String>,
    pub points: f64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RulesError {
    #[error("{origin}: {message}")]
    Syntax { origin: String, message: String },
    #[error("{origin}: line {line}: {message}")]
    Invalid {
        origin: String,
        line: usize,
        message: String,
    },
}

impl Rules {
    pub fn defaults() -> Rules {
        Rules::parse(DEFAULT_RULES, "built-in scoring rules").expect("built-in rules are valid")
    }

    /// Parses a rules file; `origin` (usually the path) starts every error message, and every
    /// error names the line.
    pub fn parse(text: &str, origin: &str) -> Result<Rules, RulesError> {
        let rules: Rules = toml::from_str(text).map_err(|e| RulesError::Syntax {
            origin: origin.to_string(),
            message: toml_error_with_line(text, &e),
        })?;
        rules.check(text, origin)?;
        Ok(rules)
    }

    fn check(&self, text: &str, origin: &str) -> Result<(), RulesError> {
        let invalid = |needle: &str, message: String| RulesError::Invalid {
            origin: origin.to_string(),
            line: line_of(text, needle),
            message,
        };
        let t = &self.temperature;
        if !(t.warm < t.hot && t.hot <= 100) {
            return Err(invalid(
                "[temperature]",
                "temperature needs warm < hot <= 100".into(),
            ));
        }
        for (table, min, max) in [
            ("[fit]", self.fit.min, self.fit.max),
            ("[engagement]", self.engagement.min, self.engagement.max),
        ] {
            if !(min.is_finite() && max.is_finite() && min <= max) {
                return Err(invalid(
                    table,
                    format!(
                        "{table} needs finite min and max with min <= max (min {min}, max {max})"
                    ),
                ));
            }
        }
        let points = self
            .fit
            .rule
            .iter()
            .map(|r| (&r.name, r.points))
            .chain(self.engagement.rule.iter().map(|r| (&r.name, r.points)));
        for (name, p) in points {
            if !p.is_finite() {
                return Err(invalid(
                    &format!("{name:?}"),
                    format!("rule {name:?}: points must be a number, not {p}"),
                ));
            }
        }
        for r in &self.fit.rule {
            let (lo, hi) = (r.min.unwrap_or(f64::MIN), r.max.unwrap_or(f64::MAX));
            if lo.is_nan() || hi.is_nan() || lo > hi {
                return Err(invalid(
                    &format!("{:?}", r.name),
                    format!("fit rule {:?}: min must not be above max", r.name),
                ));
            }
        }
        if self.engagement.half_life_days <= 0.0 || !self.engagement.half_life_days.is_finite() {
            return Err(invalid(
                "half_life_days",
                "half_life_days must be above 0".into(),
            ));
        }
        for (index, r) in self.fit.rule.iter().enumerate() {
            let has_condition = !r.any.is_empty()
                || !r.equals.is_empty()
                || r.min.is_some()
                || r.max.is_some()
                || r.present.is_some();
            if !has_condition {
                let msg = format!(
                    "fit rule {:?} has no condition (any, equals, min, max or present)",
                    r.name
                );
                let line = line_in_rule(text, "fit.rule", index, "name")
                    .unwrap_or_else(|| line_of(text, &format!("{:?}", r.name)));
                return Err(RulesError::Invalid {
                    origin: origin.to_string(),
                    line,
                    message: msg,
                });
            }
        }
        for (index, r) in self.engagement.rule.iter().enumerate() {
            if let Some(o) = r.outcome
                && !r.kind.outcomes().contains(&o)
            {
                let msg = format!(
                    "engagement rule {:?}: {o} is not a {} outcome",
                    r.name, r.kind
                );
                let line = line_in_rule(text, "engagement.rule", index, "outcome")
                    .unwrap_or_else(|| line_of(text, &format!("{:?}", r.name)));
                return Err(RulesError::Invalid {
                    origin: origin.to_string(),
                    line,
                    message: msg,
                });
            }
        }
        Ok(())
    }

    /// A short fingerprint of the rules, stored with cached scores: when the rules change the
    /// cache is rebuilt.
    pub fn fingerprint(&self) -> u64 {
        // FNV-1a over the Debug form: stable across runs, unlike std's hasher.
        let text = format!("{self:?}");
        text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        })
    }

    fn half_life_ms(&self) -> f64 {
        self.engagement.half_life_days * DAY_MS as f64
    }

    /// How much of a point is left after `age_ms`.
    pub fn decay(&self, age_ms: i64) -> f64 {
        0.5f64.powf(age_ms.max(0) as f64 / self.half_life_ms())
    }

    fn fit_rule_fires(rule: &FitRule, lead: &Lead) -> bool {
        let value = lead.field(&rule.field);
        if let Some(want) = rule.present
            && want != value.is_some()
        {
            return false;
        }
        let needs_value = !rule.any.is_empty()
            || !rule.equals.is_empty()
            || rule.min.is_some()
            || rule.max.is_some();
        if !needs_value {
            return true;
        }
        let Some(v) = value else { return false };
        if !rule.any.is_empty() {
            let words = words(&v);
            if !rule.any.iter().any(|a| contains_words(&words, a)) {
                return false;
            }
        }
        if !rule.equals.is_empty() && !rule.equals.iter().any(|e| same_text(&v, e)) {
            return false;
        }
        if rule.min.is_some() || rule.max.is_some() {
            let Some(n) = leading_number(&v) else {
                return false;
            };
            if rule.min.is_some_and(|m| n < m) || rule.max.is_some_and(|m| n > m) {
                return false;
            }
        }
        true
    }

    /// The fit rules that fire for a lead, uncapped.
    pub fn fit_items(&self, lead: &Lead) -> Vec<(String, f64)> {
        self.fit
            .rule
            .iter()
            .filter(|r| Self::fit_rule_fires(r, lead))
            .map(|r| (r.name.clone(), r.points))
            .collect()
    }

    pub fn fit(&self, lead: &Lead) -> f64 {
        let raw: f64 = self
            .fit
            .rule
            .iter()
            .filter(|r| Self::fit_rule_fires(r, lead))
            .map(|r| r.points)
            .sum();
        raw.clamp(self.fit.min, self.fit.max)
    }

    /// The engagement rule an interaction earns points from, if any.
    pub fn engagement_rule(&self, lead: &Lead, i: &Interaction) -> Option<&EngagementRule> {
        if i.outcome.is_some_and(|o| !o.earns_points()) {
            return None;
        }
        self.engagement.rule.iter().find(|r| {
            r.kind == i.kind
                && (r.outcome.is_none() || r.outcome == i.outcome)
                && (r.sources.is_empty()
                    || lead
                        .source
                        .as_ref()
                        .is_some_and(|s| r.sources.iter().any(|x| x.eq_ignore_ascii_case(s))))
        })
    }

    /// Rebuilds a lead's score state from its whole timeline, as of `now`.
    pub fn compute(&self, lead: &Lead, timeline: &[Interaction], now: Millis) -> ScoreState {
        let mut state = ScoreState {
            fit: self.fit(lead),
            ..ScoreState::zero(now)
        };
        for i in timeline {
            state.add(self, lead, i);
        }
        state.bound = state.upper_bound(self);
        state
    }

    /// The score of a lead as of `now` with each contributing rule and its points.
    pub fn explain(&self, lead: &Lead, timeline: &[Interaction], now: Millis) -> Explanation {
        let mut items: Vec<(String, f64)> = self.fit_items(lead);
        let fit_raw: f64 = items.iter().map(|(_, p)| p).sum();
        let fit = fit_raw.clamp(self.fit.min, self.fit.max);
        if fit != fit_raw {
            items.push(("fit cap".into(), fit - fit_raw));
        }
        self.explain_with(items, fit, lead, timeline, now)
    }

    /// As `explain`, with the fit learned by a model (one item, `label`) instead of the rules'.
    pub fn explain_learned(
        &self,
        label: String,
        fit: f64,
        lead: &Lead,
        timeline: &[Interaction],
        now: Millis,
    ) -> Explanation {
        self.explain_with(vec![(label, fit)], fit, lead, timeline, now)
    }

    fn explain_with(
        &self,
        mut items: Vec<(String, f64)>,
        fit: f64,
        lead: &Lead,
        timeline: &[Interaction],
        now: Millis,
    ) -> Explanation {
        let mut engagement: Vec<(String, usize, f64)> = Vec::new();
        for i in timeline {
            if let Some(rule) = self.engagement_rule(lead, i) {
                let pts = rule.points * self.decay(now - i.at);
                match engagement.iter_mut().find(|(n, _, _)| *n == rule.name) {
                    Some(e) => {
                        e.1 += 1;
                        e.2 += pts;
                    }
                    None => engagement.push((rule.name.clone(), 1, pts)),
                }
            }
        }
        let eng_raw: f64 = engagement.iter().map(|e| e.2).sum();
        for (name, count, pts) in engagement {
            let label = if count > 1 {
                format!("{name} x{count}")
            } else {
                name
            };
            items.push((label, pts));
        }
        let eng = eng_raw.clamp(self.engagement.min, self.engagement.max);
        if eng != eng_raw {
            items.push(("engagement cap".into(), eng - eng_raw));
        }
        // The score is clamped to 0-100; say so, so the items still add up to it.
        let total = fit + eng;
        let clamped = total.clamp(0.0, 100.0);
        if clamped != total {
            items.push(("score range 0-100".into(), clamped - total));
        }
        let score = to_score(total);
        let items = items
            .into_iter()
            .map(|(rule, points)| ExplainItem {
                rule,
                points: (points * 10.0).round() / 10.0,
            })
            .filter(|i| i.points != 0.0)
            .collect();
        Explanation {
            score,
            fit,
            engagement: eng,
            items,
        }
    }
}

fn to_score(x: f64) -> u8 {
    x.round().clamp(0.0, 100.0) as u8
}

/// The number a value starts with: `"51-200"` reads as 51, `"1,000+"` as 1000.
fn leading_number(v: &str) -> Option<f64> {
    let s: String = v
        .trim()
        .chars()
        .skip_while(|c| !c.is_ascii_digit() && *c != '-')
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ',')
        .filter(|c| *c != ',')
        .collect();
    s.parse().ok()
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map_or(1, |i| i + 1)
}

/// The line of `key` in the `index`-th `[[table]]` of a rules file, so an error points at the
/// rule itself even when its name also appears earlier (in a comment, another rule's list).
/// None when the file does not use `[[table]]` headers.
fn line_in_rule(text: &str, table: &str, index: usize, key: &str) -> Option<usize> {
    let header = format!("[[{table}]]");
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with(&header))
        .map(|(i, _)| i)
        .nth(index)?;
    let body = lines[start + 1..]
        .iter()
        .take_while(|l| !l.trim_start().starts_with('['));
    for (offset, l) in body.enumerate() {
        let is_key = l
            .trim_start()
            .strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with('='));
        if is_key {
            return Some(start + offset + 2);
        }
    }
    Some(start + 1)
}

/// Whether `phrase` occurs in `value` as whole words, case-insensitively: "cto" matches
/// "CTO" and "CTO/Founder" but not "Doctor" or "Contractor", "head of" matches "Head of Sales".
/// The words of `s`: runs of letters and digits.
fn words(s: &str) -> Vec<&str> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect()
}

/// `a` and `b` are the same text, case ignored (compared without allocating: this runs for
/// every rule and lead of an import).
fn same_text(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

/// The words of `phrase` occur in `value_words` one after another, case ignored.
fn contains_words(value_words: &[&str], phrase: &str) -> bool {
    let phrase_words = || {
        phrase
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
    };
    let n = phrase_words().count();
    n > 0
        && value_words
            .windows(n)
            .any(|w| w.iter().zip(phrase_words()).all(|(a, b)| same_text(a, b)))
}

/// toml's message names line and column already; this keeps it on one line.
fn toml_error_with_line(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim().to_string();
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {message}")
        }
        None => message,
    }
}

/// What a lead's score is made of, carried forward in time without re-reading its timeline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScoreState {
    /// Fit points, already capped.
    pub fit: f64,
    /// Decayed sum of all engagement points as of `at`, uncapped.
    pub sum: f64,
    /// Decayed sum of the positive engagement points as of `at`.
    pub positive: f64,
    pub at: Millis,
    /// The upper bound the lead is filed under in the queue index (see `upper_bound`).
    pub bound: u8,
}

impl ScoreState {
    pub fn zero(at: Millis) -> ScoreState {
        ScoreState {
            fit: 0.0,
            sum: 0.0,
            positive: 0.0,
            at,
            bound: 0,
        }
    }

    /// Moves the state forward to `now` (never backward: a past `now` reads the state as is).
    pub fn advanced(self, rules: &Rules, now: Millis) -> ScoreState {
        if now <= self.at {
            return self;
        }
        let f = rules.decay(now - self.at);
        ScoreState {
            sum: self.sum * f,
            positive: self.positive * f,
            at: now,
            ..self
        }
    }

    /// Adds the points one interaction earns, decayed from its time to `self.at`.
    pub fn add(&mut self, rules: &Rules, lead: &Lead, i: &Interaction) {
        if let Some(rule) = rules.engagement_rule(lead, i) {
            let pts = rule.points * rules.decay(self.at - i.at);
            self.sum += pts;
            if pts > 0.0 {
                self.positive += pts;
            }
        }
        self.bound = self.upper_bound(rules);
    }

    pub fn score(&self, rules: &Rules, now: Millis) -> u8 {
        let s = self.advanced(rules, now);
        let e = &rules.engagement;
        to_score(s.fit + s.sum.clamp(e.min, e.max))
    }

    /// A score no later moment can exceed: negative points fade towards zero, so only the
    /// positive part bounds the future. The queue index is ordered by this bound.
    pub fn upper_bound(&self, rules: &Rules) -> u8 {
        let e = &rules.engagement;
        to_score(self.fit + self.positive.clamp(e.min, e.max))
    }
}

/// The lead's score, temperature and what they are as of `now`.
pub fn current(rules: &Rules, lead: &Lead, now: Millis) -> (u8, Temperature) {
    let score = lead.score.score(rules, now);
    (score, rules.temperature.classify(score, lead.temperature))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub score: u8,
    pub fit: f64,
    pub engagement: f64,
    pub items: Vec<ExplainItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplainItem {
    pub rule: String,
    pub points: f64,
}
