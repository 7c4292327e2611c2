//! How well a ranking of closed leads predicts which were won: the figures `model train`
//! reports for the learned model and for the rules side by side.

use serde::{Deserialize, Serialize};

/// The chance that a won lead ranks above a lost one (ties count half): 0.5 is a coin, 1.0 a
/// perfect ranking. NaN when there is no won or no lost lead.
pub fn auc(scores: &[f64], won: &[bool]) -> f64 {
    let order = sorted(scores);
    let (mut rank_sum, mut positives) = (0.0, 0usize);
    let mut i = 0;
    while i < order.len() {
        // A run of equal scores shares the average of its ranks.
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let average = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            if won[k] {
                rank_sum += average;
                positives += 1;
            }
        }
        i = j + 1;
    }
    let negatives = order.len() - positives;
    if positives == 0 || negatives == 0 {
        return f64::NAN;
    }
    let p = positives as f64;
    (rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64)
}

/// Indices ascending by score (NaN last).
fn sorted(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    order
}

/// Average precision: the mean, over the won leads, of the share won among the leads ranked
/// at or above each. Tied scores are taken as one step, so file order cannot flatter a
/// ranking that does not tell its leads apart.
pub fn average_precision(scores: &[f64], won: &[bool]) -> f64 {
    let mut order = sorted(scores);
    order.reverse();
    let total_won = won.iter().filter(|w| **w).count();
    if total_won == 0 {
        return f64::NAN;
    }
    let (mut seen, mut hits, mut sum) = (0usize, 0usize, 0.0);
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let run_hits = order[i..=j].iter().filter(|&&k| won[k]).count();
        seen += j - i + 1;
        hits += run_hits;
        sum += run_hits as f64 * hits as f64 / seen as f64;
        i = j + 1;
    }
    sum / total_won as f64
}

/// The share won among the top `fraction` of the ranking. Leads tied at the cut count in
/// proportion, so a ranking where everything ties scores the base rate, never file order.
pub fn top_share(scores: &[f64], won: &[bool], fraction: f64) -> f64 {
    let mut order = sorted(scores);
    order.reverse();
    let want = (order.len() as f64 * fraction).round().max(1.0);
    let (mut taken, mut hits) = (0.0, 0.0);
    let mut i = 0;
    while i < order.len() && taken < want {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let run = (j - i + 1) as f64;
        let run_hits = order[i..=j].iter().filter(|&&k| won[k]).count() as f64;
        let take = run.min(want - taken);
        hits += run_hits * take / run;
        taken += take;
        i = j + 1;
    }
    if taken == 0.0 { f64::NAN } else { hits / taken }
}

/// One tenth of the ranking: how many leads, the chance predicted for them on average (None
/// for a ranking that is not a probability, such as the rules' score) and the share won.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decile {
    pub leads: usize,
    pub predicted: Option<f64>,
    pub observed: f64,
}

/// The ranking cut into ten equal groups, best first. `probabilities` says whether the scores
/// are chances to report as predicted.
pub fn deciles(scores: &[f64], won: &[bool], probabilities: bool) -> Vec<Decile> {
    let mut order = sorted(scores);
    order.reverse();
    let n = order.len();
    // A lead's share of a win is its run of tied scores' won rate: leads that tie across a
    // cut are not told apart by their order in the file.
    let mut share = vec![0.0; n];
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let rate = order[i..=j].iter().filter(|&&k| won[k]).count() as f64 / (j - i + 1) as f64;
        share[i..=j].fill(rate);
        i = j + 1;
    }
    (0..10)
        .map(|d| (d * n / 10, (d + 1) * n / 10))
        .filter(|(a, b)| b > a)
        .map(|(a, b)| {
            let group = &order[a..b];
            let len = group.len() as f64;
            Decile {
                leads: group.len(),
                predicted: probabilities
                    .then(|| group.iter().map(|&k| scores[k]).sum::<f64>() / len),
                observed: share[a..b].iter().sum::<f64>() / len,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_of_a_perfect_a_reversed_and_a_tied_ranking() {
        let won = [false, false, true, true];
        assert_eq!(auc(&[0.1, 0.2, 0.8, 0.9], &won), 1.0);
        assert_eq!(auc(&[0.9, 0.8, 0.2, 0.1], &won), 0.0);
        assert_eq!(auc(&[0.5; 4], &won), 0.5);
        // One won lead below one lost: 3 of 4 pairs in order.
        assert_eq!(auc(&[0.1, 0.6, 0.5, 0.9], &won), 0.75);
    }

    #[test]
    fn ties_never_count_file_order() {
        let won = [
            true, false, false, false, false, false, false, false, false, false,
        ];
        let tied = [0.0; 10];
        assert!((top_share(&tied, &won, 0.1) - 0.1).abs() < 1e-12);
        assert!((average_precision(&tied, &won) - 0.1).abs() < 1e-12);
        assert!(
            deciles(&tied, &won, false)
                .iter()
                .all(|d| (d.observed - 0.1).abs() < 1e-12)
        );
    }

    #[test]
    fn deciles_are_best_first() {
        let scores: Vec<f64> = (0..100).map(|i| i as f64 / 100.0).collect();
        let won: Vec<bool> = (0..100).map(|i| i >= 90).collect();
        let d = deciles(&scores, &won, true);
        assert_eq!(d.len(), 10);
        assert_eq!(d[0].observed, 1.0);
        assert_eq!(d[1].observed, 0.0);
        assert!(d[0].predicted.unwrap() > d[9].predicted.unwrap());
    }
}
