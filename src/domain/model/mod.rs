//! The learned score: features of a lead as it was before its outcome, a regularised logistic
//! regression trained on the team's won and lost leads, the figures that prove it on a
//! holdout, and the explanation of each prediction. Pure: the service feeds it leads and
//! timelines and keeps what it returns.
//!
//! A prediction is `sigmoid(base + sum of factors)`: each factor is one column's effect on
//! the log-odds against the average lead of the history, so the factors shown with a chance
//! add up to it exactly.

pub mod features;
pub mod metrics;
pub mod solver;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

pub use features::{Column, Example};
use metrics::Decile;

use super::interaction::{Interaction, Kind, Outcome};
use super::lead::Lead;
use super::scoring::Rules;
use super::temperature::{Temperature, Thresholds};
use super::time::Millis;

/// The history a model needs before it may be used: this many won and this many lost leads,
/// so the holdout (30%) still has fifteen of each to judge it by.
pub const MIN_WON: usize = 50;
pub const MIN_LOST: usize = 50;
/// The share of closed leads held out to judge a model, and the seed that picks them.
pub const HOLDOUT: f64 = 0.3;
pub const SEED: u64 = 9;
/// The L2 penalty of the regression (per the sum of the rows' losses).
pub const L2: f64 = 5.0;
/// A lead this many times likelier to win than the history's average is hot (with the
/// engagement of its touches on top), one below the average is cold.
pub const HOT_LIFT: f64 = 2.5;
/// How many of the strongest columns are crossed in pairs.
const CROSSED: usize = 5;

/// A trained model with the figures that judged it. Stored in the store as one record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// Counts up from 1 in a store; 0 until the store keeps it.
    pub version: u32,
    pub trained_at: Millis,
    /// The closed leads it was (re)fitted on.
    pub won: usize,
    pub lost: usize,
    pub base_rate: f64,
    pub columns: Vec<Column>,
    /// Per column, per level: the weight, and the level's average value in the history.
    pub weights: Vec<Vec<f64>>,
    pub means: Vec<Vec<f64>>,
    /// The log-odds of the history's average lead.
    pub base: f64,
    /// Columns a manager left out.
    pub excluded: Vec<String>,
    pub holdout: Holdout,
    /// Whether the queue uses it: it beat the rules on the holdout with enough history.
    pub active: bool,
    /// Why it is or is not used, in a sentence.
    pub verdict: String,
    pub warnings: Vec<String>,
}

/// How the model and the rules ranked the held-out leads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Holdout {
    pub leads: usize,
    pub won: usize,
    pub model: Performance,
    pub rules: Performance,
    /// The held-out leads by the temperature the model's score gives them.
    pub temperatures: Vec<TemperatureRate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Performance {
    pub auc: f64,
    pub average_precision: f64,
    /// The share won among the top tenth of the ranking.
    pub top_tenth_won: f64,
    pub deciles: Vec<Decile>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemperatureRate {
    pub temperature: Temperature,
    pub leads: usize,
    pub won_rate: f64,
}

/// A lead's chance to win and what makes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// 0.0 to 1.0.
    pub chance: f64,
    /// The log-odds of the average lead of the history.
    pub base: f64,
    /// Each column's effect on the log-odds, strongest first; `base` plus all of them is the
    /// log-odds of `chance`.
    pub factors: Vec<Factor>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Factor {
    pub label: String,
    pub effect: f64,
}

/// How much one column moves the chance (the spread of its effect on the log-odds across the
/// history) and its strongest levels either way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Strength {
    pub column: String,
    pub spread: f64,
    pub raises: Option<Factor>,
    pub lowers: Option<Factor>,
}

/// Why no model could be trained.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "not enough history to learn from: {won} won and {lost} lost leads; a model needs at least \
     {MIN_WON} won and {MIN_LOST} lost ({missing})"
)]
pub struct NotEnough {
    pub won: usize,
    pub lost: usize,
    pub missing: String,
}

pub struct TrainOptions {
    pub exclude: Vec<String>,
    pub now: Millis,
    pub seed: u64,
}

/// The columns, weights and averages of one fit.
struct Fitted {
    columns: Vec<Column>,
    weights: Vec<Vec<f64>>,
    means: Vec<Vec<f64>>,
    base: f64,
    intercept: f64,
    /// The training rows' levels, per column.
    encoded: Vec<Vec<Option<(usize, f64)>>>,
}

impl Fitted {
    fn learn(examples: &[Example], exclude: &[String]) -> Fitted {
        let mut columns = features::learn(examples, exclude);
        let won: Vec<bool> = examples.iter().map(|e| e.won).collect();
        let encoded = encode(&columns, examples);
        let first = Fitted::solve(columns.clone(), encoded, &won);
        let mut encoded = first.encoded;
        // What one column means may depend on another: the strongest columns are crossed
        // in pairs and the model is fitted again with the pairs.
        let importance: Vec<f64> = (0..columns.len())
            .map(|c| spread(&first.weights[c], &first.means[c]))
            .collect();
        let min_level = (examples.len() / 1000).max(30);
        let crosses = features::crosses(&columns, &importance, &encoded, CROSSED, min_level);
        if crosses.is_empty() {
            return Fitted { encoded, ..first };
        }
        columns.extend(crosses);
        for row in &mut encoded {
            features::extend_crosses(&columns, row);
        }
        Fitted::solve(columns, encoded, &won)
    }

    /// The same columns (crossed pairs included) fitted again on `examples`, starting from
    /// these weights: the final model on every closed lead, without learning its columns again.
    fn refit(&self, examples: &[Example]) -> Fitted {
        let won: Vec<bool> = examples.iter().map(|e| e.won).collect();
        let encoded = encode(&self.columns, examples);
        let mut start: Vec<f64> = self.weights.iter().flatten().copied().collect();
        start.push(self.intercept);
        Fitted::solve_from(self.columns.clone(), encoded, &won, Some(start))
    }

    fn solve(
        columns: Vec<Column>,
        encoded: Vec<Vec<Option<(usize, f64)>>>,
        won: &[bool],
    ) -> Fitted {
        Fitted::solve_from(columns, encoded, won, None)
    }

    fn solve_from(
        columns: Vec<Column>,
        encoded: Vec<Vec<Option<(usize, f64)>>>,
        won: &[bool],
        start: Option<Vec<f64>>,
    ) -> Fitted {
        let offsets: Vec<usize> = columns
            .iter()
            .scan(0, |at, c| {
                let o = *at;
                *at += c.levels.len();
                Some(o)
            })
            .collect();
        let dims = columns.iter().map(|c| c.levels.len()).sum();
        let rows: Vec<solver::Row> = encoded
            .iter()
            .map(|levels| {
                levels
                    .iter()
                    .zip(&offsets)
                    .filter_map(|(l, o)| l.map(|(l, v)| ((o + l) as u32, v)))
                    .collect()
            })
            .collect();
        let fit = match start {
            Some(beta) if beta.len() == dims + 1 => solver::fit_from(&rows, won, L2, beta),
            _ => solver::fit(&rows, won, dims, L2),
        };
        let mut sums = vec![0.0; dims];
        for r in &rows {
            for &(j, v) in r {
                sums[j as usize] += v;
            }
        }
        let n = rows.len().max(1) as f64;
        let split = |flat: &[f64]| -> Vec<Vec<f64>> {
            columns
                .iter()
                .zip(&offsets)
                .map(|(c, o)| flat[*o..*o + c.levels.len()].to_vec())
                .collect()
        };
        let means: Vec<f64> = sums.iter().map(|s| s / n).collect();
        let base = fit.intercept
            + fit
                .weights
                .iter()
                .zip(&means)
                .map(|(w, m)| w * m)
                .sum::<f64>();
        Fitted {
            weights: split(&fit.weights),
            means: split(&means),
            columns,
            base,
            intercept: fit.intercept,
            encoded,
        }
    }

    fn chance(&self, lead: &Lead, timeline: &[Interaction], cutoff: Millis) -> f64 {
        chance(
            &self.columns,
            &self.weights,
            &self.means,
            self.intercept,
            (lead, timeline, cutoff),
        )
    }
}

/// What each column adds to the log-odds for a lead's levels, with the column's average over
/// the history. A value the history never showed adds the average, so it moves nothing: a
/// level no training lead had, or no level at all in a column where every training lead had
/// one (a lead without a number every lead of the history had); and so does a crossed pair
/// with such a value on either side. Otherwise a lead without a value would count as the
/// regression's zero, which is no lead of the history.
fn contributions(
    columns: &[Column],
    weights: &[Vec<f64>],
    means: &[Vec<f64>],
    levels: &[Option<(usize, f64)>],
) -> Vec<(f64, f64)> {
    let mut unknown = vec![false; columns.len()];
    let mut out = Vec::with_capacity(columns.len());
    for (i, (((c, w), m), level)) in columns
        .iter()
        .zip(weights)
        .zip(means)
        .zip(levels)
        .enumerate()
    {
        let average: f64 = w.iter().zip(m).map(|(w, m)| w * m).sum();
        let one_hot = !c
            .levels
            .iter()
            .any(|l| matches!(l.test, features::Test::Value));
        unknown[i] = match (*level, &c.input) {
            (_, &features::Input::Cross(a, b)) => {
                unknown.get(a).copied().unwrap_or(true) || unknown.get(b).copied().unwrap_or(true)
            }
            (Some((l, _)), _) => one_hot && !m.get(l).is_some_and(|m| *m > 0.0),
            (None, _) => one_hot && m.iter().sum::<f64>() >= 1.0 - 1e-9,
        };
        let contribution = match *level {
            _ if unknown[i] => average,
            Some((l, v)) => w[l] * v,
            None => 0.0,
        };
        out.push((contribution, average));
    }
    out
}

/// The chance alone (no factors to name): what rescoring a whole store needs.
fn chance(
    columns: &[Column],
    weights: &[Vec<f64>],
    means: &[Vec<f64>],
    intercept: f64,
    (lead, timeline, cutoff): (&Lead, &[Interaction], Millis),
) -> f64 {
    let levels = features::levels(columns, lead, timeline, cutoff);
    let logit = intercept
        + contributions(columns, weights, means, &levels)
            .iter()
            .map(|(c, _)| c)
            .sum::<f64>();
    solver::sigmoid(logit)
}

/// Every example's levels, on every core.
fn encode(columns: &[Column], examples: &[Example]) -> Vec<Vec<Option<(usize, f64)>>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .min(8);
    let chunk = examples.len().div_ceil(threads).max(2048);
    std::thread::scope(|scope| {
        let parts: Vec<_> = examples
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|e| features::levels(columns, e.lead, e.timeline, e.cutoff))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|h| h.join().expect("an encoding thread panicked"))
            .collect()
    })
}

/// How much a column moves the log-odds across the history: the spread of its levels'
/// weights, weighted by how often each occurs.
fn spread(weights: &[f64], means: &[f64]) -> f64 {
    let average: f64 = weights.iter().zip(means).map(|(w, m)| w * m).sum();
    weights
        .iter()
        .zip(means)
        .map(|(w, m)| m * (w - average).powi(2))
        .sum::<f64>()
        .sqrt()
}

fn predict(
    columns: &[Column],
    weights: &[Vec<f64>],
    means: &[Vec<f64>],
    base: f64,
    (lead, timeline, cutoff): (&Lead, &[Interaction], Millis),
) -> Prediction {
    let levels = features::levels(columns, lead, timeline, cutoff);
    let factors: Vec<Factor> = contributions(columns, weights, means, &levels)
        .into_iter()
        .zip(columns)
        .zip(&levels)
        .map(|(((contribution, average), c), level)| Factor {
            label: match level {
                Some((l, _)) => c.levels[*l].label.clone(),
                None => format!("without {}", c.levels[0].label),
            },
            effect: contribution - average,
        })
        .collect();
    let mut factors = factors;
    let logit = base + factors.iter().map(|f| f.effect).sum::<f64>();
    factors.sort_by(|a, b| b.effect.abs().total_cmp(&a.effect.abs()));
    Prediction {
        chance: solver::sigmoid(logit),
        base,
        factors,
    }
}

/// The timeline a rules score at `cutoff` sees: what happened before it, and the lead's
/// arrival.
fn before(timeline: &[Interaction], cutoff: Millis) -> Vec<Interaction> {
    timeline
        .iter()
        .filter(|i| {
            i.at < cutoff || (i.kind == Kind::System && i.outcome == Some(Outcome::Created))
        })
        .cloned()
        .collect()
}

/// Fit points for a chance: the history's average chance scores at the warm threshold, one
/// `HOT_LIFT` times likelier at the hot one, on a log scale above the average and a linear one
/// below, easing towards 100 without reaching it (so no two chances share a score's fine
/// order).
pub fn points(chance: f64, base_rate: f64, t: &Thresholds) -> f64 {
    let (warm, hot) = (f64::from(t.warm), f64::from(t.hot));
    let lift = chance / base_rate.max(1e-9);
    if lift <= 1.0 {
        return warm * lift;
    }
    let x = warm + (hot - warm) * lift.ln() / hot_lift(base_rate).ln();
    if x <= hot {
        x
    } else {
        let room = 100.0 - hot;
        hot + room * (1.0 - (-(x - hot) / room).exp())
    }
}

/// How many times likelier than the average a hot lead is: `HOT_LIFT`, or less where the
/// history wins so often that `HOT_LIFT` times its rate is out of reach (halfway from the
/// average to certainty: a history that wins half its leads has hot leads at 75%).
fn hot_lift(base_rate: f64) -> f64 {
    let b = base_rate.clamp(1e-9, 0.95);
    HOT_LIFT.min((1.0 + b) / (2.0 * b))
}

/// The chance whose fit points are `points` (the inverse of `points`): a lead's stored fit
/// gives back its chance without reading its timeline again.
pub fn chance_at(points: f64, base_rate: f64, t: &Thresholds) -> f64 {
    let (warm, hot) = (f64::from(t.warm), f64::from(t.hot));
    let lift = if points <= warm {
        points / warm
    } else {
        let x = if points <= hot {
            points
        } else {
            let room = 100.0 - hot;
            hot - room * (1.0 - ((points - hot) / room).min(1.0 - 1e-12)).ln()
        };
        ((x - warm) / (hot - warm) * hot_lift(base_rate).ln()).exp()
    };
    (lift * base_rate).clamp(0.0, 1.0)
}

fn performance(scores: &[f64], won: &[bool], probabilities: bool) -> Performance {
    Performance {
        auc: metrics::auc(scores, won),
        average_precision: metrics::average_precision(scores, won),
        top_tenth_won: metrics::top_share(scores, won, 0.1),
        deciles: metrics::deciles(scores, won, probabilities),
    }
}

/// Splits the examples into training and holdout, stratified by outcome.
fn split(examples: &[Example], seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut train, mut hold) = (Vec::new(), Vec::new());
    for class in [true, false] {
        let mut idx: Vec<usize> = (0..examples.len())
            .filter(|&i| examples[i].won == class)
            .collect();
        idx.shuffle(&mut rng);
        let cut = (idx.len() as f64 * HOLDOUT).round() as usize;
        hold.extend_from_slice(&idx[..cut]);
        train.extend_from_slice(&idx[cut..]);
    }
    (train, hold)
}

/// Trains on closed leads: holds out 30% (stratified, seeded) to judge the model against the
/// rules, then refits on all of them. The model is marked active only if it beat the rules.
pub fn train(examples: &[Example], rules: &Rules, o: &TrainOptions) -> Result<Model, NotEnough> {
    let won = examples.iter().filter(|e| e.won).count();
    let lost = examples.len() - won;
    if won < MIN_WON || lost < MIN_LOST {
        let mut missing = Vec::new();
        if won < MIN_WON {
            missing.push(format!("{} more won", MIN_WON - won));
        }
        if lost < MIN_LOST {
            missing.push(format!("{} more lost", MIN_LOST - lost));
        }
        return Err(NotEnough {
            won,
            lost,
            missing: missing.join(" and "),
        });
    }
    let (train_idx, hold_idx) = split(examples, o.seed);
    let pick = |idx: &[usize]| -> Vec<Example> { idx.iter().map(|&i| examples[i]).collect() };
    let (training, holdout) = (pick(&train_idx), pick(&hold_idx));
    let trial = Fitted::learn(&training, &o.exclude);
    let base_rate = training.iter().filter(|e| e.won).count() as f64 / training.len() as f64;
    let outcomes: Vec<bool> = holdout.iter().map(|e| e.won).collect();
    let mut chances = Vec::with_capacity(holdout.len());
    let mut rules_scores = Vec::with_capacity(holdout.len());
    let mut temperatures = Vec::with_capacity(holdout.len());
    for e in &holdout {
        let chance = trial.chance(e.lead, e.timeline, e.cutoff);
        let state = rules.compute(e.lead, &before(e.timeline, e.cutoff), e.cutoff);
        rules_scores.push(f64::from(state.score(rules, e.cutoff)));
        let engagement = state.sum.clamp(rules.engagement.min, rules.engagement.max);
        let score = (points(chance, base_rate, &rules.temperature) + engagement)
            .round()
            .clamp(0.0, 100.0) as u8;
        temperatures.push(rules.temperature.classify(score, Temperature::Cold));
        chances.push(chance);
    }
    let model_perf = performance(&chances, &outcomes, true);
    let rules_perf = performance(&rules_scores, &outcomes, false);
    let rates = [Temperature::Hot, Temperature::Warm, Temperature::Cold]
        .into_iter()
        .map(|t| {
            let of: Vec<bool> = temperatures
                .iter()
                .zip(&outcomes)
                .filter(|(x, _)| **x == t)
                .map(|(_, w)| *w)
                .collect();
            TemperatureRate {
                temperature: t,
                leads: of.len(),
                won_rate: of.iter().filter(|w| **w).count() as f64 / of.len().max(1) as f64,
            }
        })
        .collect();
    let beats = model_perf.auc > rules_perf.auc || rules_perf.auc.is_nan();
    let verdict = if beats {
        format!(
            "used: it ranks held-out leads at AUC {:.3} against the rules' {:.3}",
            model_perf.auc, rules_perf.auc
        )
    } else {
        format!(
            "not used: it ranks held-out leads at AUC {:.3}, no better than the rules' {:.3}",
            model_perf.auc, rules_perf.auc
        )
    };
    let warnings = warnings(&model_perf, &holdout, &training, &trial);
    // The columns stay as learned on the training part (learning them again on every lead
    // would double the work and tell the crossed pairs from the holdout); the weights are
    // fitted again on every lead.
    let all = trial.refit(examples);
    Ok(Model {
        version: 0,
        trained_at: o.now,
        won,
        lost,
        base_rate: won as f64 / examples.len() as f64,
        columns: all.columns,
        weights: all.weights,
        means: all.means,
        base: all.base,
        excluded: o.exclude.clone(),
        holdout: Holdout {
            leads: holdout.len(),
            won: outcomes.iter().filter(|w| **w).count(),
            model: model_perf,
            rules: rules_perf,
            temperatures: rates,
        },
        active: beats,
        verdict,
        warnings,
    })
}

/// What a manager should know about a model: a column that alone nearly decides the outcome
/// (filled in after it?), deciles off their prediction, a small holdout.
fn warnings(
    perf: &Performance,
    holdout: &[Example],
    training: &[Example],
    fit: &Fitted,
) -> Vec<String> {
    let mut out = Vec::new();
    let won: Vec<bool> = training.iter().map(|e| e.won).collect();
    let mut flagged: Vec<&str> = Vec::new();
    let encoded = &fit.encoded;
    for (i, (c, w)) in fit.columns.iter().zip(&fit.weights).enumerate() {
        if flagged.contains(&c.name.as_str())
            || c.name == "timeline"
            || matches!(c.input, features::Input::Cross(..))
        {
            continue;
        }
        let scores: Vec<f64> = encoded
            .iter()
            .map(|row| row[i].map_or(0.0, |(l, v)| w[l] * v))
            .collect();
        let auc = metrics::auc(&scores, &won);
        if auc >= 0.9 {
            flagged.push(&c.name);
            out.push(format!(
                "{:?} alone tells won from lost (AUC {auc:.2}): if it was filled in after the \
                 outcome, leave it out with `leadq model train --exclude {:?}`",
                c.name, c.name
            ));
        }
    }
    for (i, d) in perf.deciles.iter().enumerate() {
        if let Some(p) = d.predicted
            && (p - d.observed).abs() > 0.05
        {
            out.push(format!(
                "decile {} of the holdout predicted {:.0}% and won {:.0}%",
                i + 1,
                p * 100.0,
                d.observed * 100.0
            ));
        }
    }
    let held_won = holdout.iter().filter(|e| e.won).count();
    if held_won < 100 {
        out.push(format!(
            "only {held_won} won leads in the holdout: its figures are rough"
        ));
    }
    out
}

impl Model {
    /// An open lead's chance as of `now`, with its factors.
    pub fn predict(&self, lead: &Lead, timeline: &[Interaction], now: Millis) -> Prediction {
        predict(
            &self.columns,
            &self.weights,
            &self.means,
            self.base,
            (lead, timeline, now.saturating_add(1)),
        )
    }

    /// An open lead's chance as of `now`, without naming its factors: what rescoring a
    /// whole store needs.
    pub fn chance(&self, lead: &Lead, timeline: &[Interaction], now: Millis) -> f64 {
        let average: f64 = self
            .weights
            .iter()
            .flatten()
            .zip(self.means.iter().flatten())
            .map(|(w, m)| w * m)
            .sum();
        chance(
            &self.columns,
            &self.weights,
            &self.means,
            self.base - average,
            (lead, timeline, now.saturating_add(1)),
        )
    }

    /// Whether a prediction looks at the lead's timeline (else the lead alone decides).
    pub fn reads_timeline(&self) -> bool {
        self.columns.iter().any(|c| {
            matches!(
                c.input,
                features::Input::Touches(..) | features::Input::FirstTouch
            )
        })
    }

    /// The fit points of a chance under `thresholds`.
    pub fn points(&self, chance: f64, thresholds: &Thresholds) -> f64 {
        points(chance, self.base_rate, thresholds)
    }

    /// The chance of a lead whose fit this model set.
    pub fn chance_at(&self, fit: f64, thresholds: &Thresholds) -> f64 {
        chance_at(fit, self.base_rate, thresholds)
    }

    /// The `n` columns that move the chance most across the history, each with the level that
    /// raises it most and the one that lowers it most.
    pub fn strongest(&self, n: usize) -> Vec<Strength> {
        let mut out: Vec<Strength> = self
            .columns
            .iter()
            .zip(&self.weights)
            .zip(&self.means)
            .filter(|((c, _), _)| c.levels.len() > 1 || c.levels[0].test != features::Test::Rare)
            .map(|((c, w), m)| {
                let average: f64 = w.iter().zip(m).map(|(w, m)| w * m).sum();
                let pick = |better: bool| {
                    let (i, x) = w
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| m[*i] > 0.0)
                        .map(|(i, x)| (i, x - average))
                        .max_by(|a, b| {
                            if better {
                                a.1.total_cmp(&b.1)
                            } else {
                                b.1.total_cmp(&a.1)
                            }
                        })?;
                    Some(Factor {
                        label: c.levels[i].label.clone(),
                        effect: x,
                    })
                };
                Strength {
                    column: c.name.clone(),
                    spread: spread(w, m),
                    raises: pick(true).filter(|f| f.effect > 0.0),
                    lowers: pick(false).filter(|f| f.effect < 0.0),
                }
            })
            .collect();
        out.sort_by(|a, b| b.spread.total_cmp(&a.spread));
        out.truncate(n);
        out
    }

    /// "learned from 812 won / 4,960 lost, 3d ago"
    pub fn learned_from(&self, now: Millis) -> String {
        learned_from(self.won, self.lost, self.trained_at, now)
    }
}

/// "learned from 812 won / 4,960 lost, 3d ago": what a rep reads beside a chance.
pub fn learned_from(won: usize, lost: usize, trained_at: Millis, now: Millis) -> String {
    let when = match super::time::relative(trained_at, now).as_str() {
        "now" => "just now".to_string(),
        r if r.starts_with("in ") => "just now".to_string(),
        r => format!("{r} ago"),
    };
    format!(
        "learned from {} won / {} lost, {when}",
        thousands(won),
        thousands(lost)
    )
}

pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
