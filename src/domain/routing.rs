//! Who gets a new lead: rules matched in order on the lead's source, attributes, score and
//! temperature; the first that matches names a team and a method (round-robin, weighted or
//! least-loaded). Reps away, or at their cap of untouched new leads, are passed over; no
//! match, or nobody free, leaves the lead in the unassigned pool. Pure: the lead's facts and
//! the team's state in, the choice, its reason and the state after out.
//!
//! Round-robin and weighted are one method (round-robin is every weight 1): smooth weighted
//! round-robin, whose rotation is a number per rep (`State::turns`) kept with the store, so a
//! restart goes on where it stopped. A rep away earns no turns meanwhile: back from leave they
//! take their share from then on, not a flood to catch up.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::Temperature;

/// What routing reads of a lead.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub source: Option<String>,
    pub attributes: BTreeMap<String, String>,
    pub score: u8,
    pub temperature: Temperature,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    RoundRobin,
    Weighted,
    LeastLoaded,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::RoundRobin => "round-robin",
            Method::Weighted => "weighted",
            Method::LeastLoaded => "least-loaded",
        }
    }
}

/// One rule of `routing.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    /// Any of these sources (none: any source).
    #[serde(default)]
    pub source: Vec<String>,
    /// Every one of these attributes with this value (case ignored).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    pub min_score: Option<u8>,
    pub max_score: Option<u8>,
    /// Any of these temperatures (none: any).
    #[serde(default)]
    pub temperature: Vec<Temperature>,
    /// The reps, each with weight 1 ...
    #[serde(default)]
    pub team: Vec<String>,
    /// ... or with their weights (`weighted`).
    #[serde(default)]
    pub weights: BTreeMap<String, u32>,
    #[serde(default = "round_robin")]
    pub method: Method,
    /// The most untouched new leads a rep may hold before they are passed over.
    pub cap: Option<u32>,
    /// Minutes to the first touch before a lead is overdue (the clock; default by source).
    pub target_minutes: Option<u32>,
    /// When the target passes untouched, give the lead to the next rep of the team.
    #[serde(default)]
    pub reroute: bool,
}

fn round_robin() -> Method {
    Method::RoundRobin
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    #[serde(default, rename = "rule")]
    pub rules: Vec<Rule>,
}

impl Rules {
    /// Reads `routing.toml` text, checking every rule.
    pub fn parse(text: &str) -> Result<Rules, String> {
        let rules: Rules = toml::from_str(text).map_err(|e| e.to_string().trim().to_string())?;
        let mut names = BTreeSet::new();
        for (n, r) in rules.rules.iter().enumerate() {
            let at = format!("rule {} ({:?})", n + 1, r.name);
            if r.name.trim().is_empty() {
                return Err(format!("rule {}: a rule needs a name", n + 1));
            }
            if !names.insert(r.name.trim().to_lowercase()) {
                return Err(format!("{at}: another rule has this name"));
            }
            if r.team.is_empty() && r.weights.is_empty() {
                return Err(format!(
                    "{at}: name its reps (team = [...] or weights = {{...}})"
                ));
            }
            if !r.team.is_empty() && !r.weights.is_empty() {
                return Err(format!("{at}: give team or weights, not both"));
            }
            if r.weights.values().any(|w| *w == 0) {
                return Err(format!("{at}: a weight is at least 1"));
            }
            for rep in r.team.iter().chain(r.weights.keys()) {
                super::limits::owner(rep).map_err(|e| format!("{at}: {e}"))?;
            }
            if let (Some(lo), Some(hi)) = (r.min_score, r.max_score)
                && lo > hi
            {
                return Err(format!("{at}: min_score {lo} is over max_score {hi}"));
            }
            if r.max_score.is_some_and(|s| s > 100) || r.min_score.is_some_and(|s| s > 100) {
                return Err(format!("{at}: scores run from 0 to 100"));
            }
            if r.cap == Some(0) {
                return Err(format!("{at}: a cap is at least 1 (leave it out for none)"));
            }
            if r.target_minutes == Some(0) {
                return Err(format!("{at}: target_minutes is at least 1"));
            }
        }
        Ok(rules)
    }

    /// The first rule `facts` match.
    pub fn matching(&self, facts: &Facts) -> Option<&Rule> {
        self.rules.iter().find(|r| r.matches(facts))
    }
}

impl Rule {
    pub fn matches(&self, f: &Facts) -> bool {
        let source = self.source.is_empty()
            || f.source
                .as_deref()
                .is_some_and(|s| self.source.iter().any(|x| x.trim().eq_ignore_ascii_case(s)));
        let attributes = self.attributes.iter().all(|(k, want)| {
            f.attributes.iter().any(|(name, v)| {
                super::lead::same_attribute_name(name, k)
                    && v.trim().to_lowercase() == want.trim().to_lowercase()
            })
        });
        source
            && attributes
            && self.min_score.is_none_or(|m| f.score >= m)
            && self.max_score.is_none_or(|m| f.score <= m)
            && (self.temperature.is_empty() || self.temperature.contains(&f.temperature))
    }

    /// The reps with their weights, in the file's order (weights sorted by name).
    pub fn reps(&self) -> Vec<(String, u32)> {
        if self.weights.is_empty() {
            self.team.iter().map(|r| (r.clone(), 1)).collect()
        } else {
            self.weights.iter().map(|(r, w)| (r.clone(), *w)).collect()
        }
    }
}

/// The team's state routing reads and moves, kept with the store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Reps away, with when they went (ms).
    pub away: BTreeMap<String, i64>,
    /// The rotation: per rule, per rep, their running credit (smooth weighted round-robin).
    pub turns: BTreeMap<String, BTreeMap<String, i64>>,
}

/// What routing reads that changes with every lead: each rep's untouched new leads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Loads {
    pub untouched: BTreeMap<String, u64>,
}

/// Where a lead goes and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// None: the unassigned pool.
    pub owner: Option<String>,
    pub rule: Option<String>,
    /// One line: the rule and method, or why the pool.
    pub reason: String,
    /// Each rep passed over and why ("alice: away").
    pub passed: Vec<String>,
}

/// Routes a lead with `facts`; `state` moves as the choice requires (a turn taken). `except`
/// is a rep not to give it to (the one it is taken from when its target passed).
pub fn route(
    rules: &Rules,
    facts: &Facts,
    state: &mut State,
    loads: &Loads,
    except: Option<&str>,
) -> Choice {
    let Some(rule) = rules.matching(facts) else {
        return Choice {
            owner: None,
            rule: None,
            reason: "no rule matches: the unassigned pool".into(),
            passed: vec![],
        };
    };
    let mut passed = Vec::new();
    let free: Vec<(String, u32)> = rule
        .reps()
        .into_iter()
        .filter(|(rep, _)| {
            let why = if state.away.contains_key(rep) {
                Some("away".to_string())
            } else if except == Some(rep.as_str()) {
                Some("the lead is being taken from them".to_string())
            } else {
                let held = loads.untouched.get(rep).copied().unwrap_or(0);
                rule.cap
                    .filter(|cap| held >= u64::from(*cap))
                    .map(|cap| format!("at the cap ({held} untouched new leads, cap {cap})"))
            };
            if let Some(w) = &why {
                passed.push(format!("{rep}: {w}"));
            }
            why.is_none()
        })
        .collect();
    if free.is_empty() {
        return Choice {
            owner: None,
            rule: Some(rule.name.clone()),
            reason: format!(
                "rule {:?} matches, but none of its reps is free: the unassigned pool",
                rule.name
            ),
            passed,
        };
    }
    let owner = match rule.method {
        Method::LeastLoaded => free
            .iter()
            .min_by_key(|(rep, _)| (loads.untouched.get(rep).copied().unwrap_or(0), rep.clone()))
            .map(|(rep, _)| rep.clone()),
        Method::RoundRobin | Method::Weighted => {
            let turns = state.turns.entry(rule.name.clone()).or_default();
            let total: i64 = free.iter().map(|(_, w)| i64::from(*w)).sum();
            for (rep, w) in &free {
                *turns.entry(rep.clone()).or_default() += i64::from(*w);
            }
            // The most credit; ties to the first in the rule's order.
            let mut best: Option<(&String, i64)> = None;
            for (rep, _) in &free {
                let c = turns.get(rep).copied().unwrap_or(0);
                if best.is_none_or(|(_, b)| c > b) {
                    best = Some((rep, c));
                }
            }
            let chosen = best.map(|(r, _)| r.clone());
            if let Some(r) = &chosen {
                *turns.entry(r.clone()).or_default() -= total;
            }
            chosen
        }
    };
    Choice {
        reason: format!("by rule {:?} ({})", rule.name, rule.method.name()),
        owner,
        rule: Some(rule.name.clone()),
        passed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(source: &str, score: u8) -> Facts {
        Facts {
            source: Some(source.into()),
            attributes: BTreeMap::new(),
            score,
            temperature: Temperature::Warm,
        }
    }

    #[test]
    fn smooth_weights_share_exactly_and_interleave() {
        let rules = Rules::parse(
            "[[rule]]\nname = \"w\"\nweights = { alice = 3, bob = 1 }\nmethod = \"weighted\"\n",
        )
        .unwrap();
        let mut state = State::default();
        let picks: Vec<String> = (0..8)
            .map(|_| {
                route(&rules, &facts("x", 50), &mut state, &Loads::default(), None)
                    .owner
                    .unwrap()
            })
            .collect();
        assert_eq!(
            picks,
            [
                "alice", "alice", "bob", "alice", "alice", "alice", "bob", "alice"
            ]
        );
    }

    #[test]
    fn a_bad_rule_is_named() {
        let e = Rules::parse("[[rule]]\nname = \"x\"\n").unwrap_err();
        assert!(e.contains("rule 1") && e.contains("team"), "{e}");
        let e = Rules::parse("[[rule]]\nname = \"x\"\nteam = [\"a b\"]\n").unwrap_err();
        assert!(e.contains("not a user name"), "{e}");
        let e = Rules::parse("[[rule]]\nname = \"x\"\nteam = [\"a\"]\nmethod = \"random\"\n")
            .unwrap_err();
        assert!(e.contains("random"), "{e}");
    }
}
