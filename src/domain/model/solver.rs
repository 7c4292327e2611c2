//! A regularised logistic regression by Newton's method over sparse rows: each step solves
//! the d x d system of the penalised Hessian (d is the number of feature levels, a few
//! hundred at most), so 100k rows of ~20 active levels take a few passes of a few million
//! multiply-adds each.

/// One example: the indices and values of its non-zero features (indices below `dims`).
pub type Row = Vec<(u32, f64)>;

/// The fitted intercept and one weight per feature.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    pub intercept: f64,
    pub weights: Vec<f64>,
    pub iterations: usize,
}

const MAX_ITERATIONS: usize = 50;
const TOLERANCE: f64 = 1e-8;

pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

fn linear(fit_w: &[f64], intercept: f64, row: &Row) -> f64 {
    intercept + row.iter().map(|&(j, v)| fit_w[j as usize] * v).sum::<f64>()
}

/// Penalised negative log-likelihood: the sum of the rows' losses plus `l2 / 2 * |w|^2` (the
/// intercept is not penalised).
fn loss(rows: &[Row], won: &[bool], intercept: f64, w: &[f64], l2: f64) -> f64 {
    let data: f64 = rows
        .iter()
        .zip(won)
        .map(|(r, &y)| {
            let z = linear(w, intercept, r);
            // log(1 + e^z) - y z, computed without overflow.
            let softplus = if z > 0.0 {
                z + (-z).exp().ln_1p()
            } else {
                z.exp().ln_1p()
            };
            softplus - if y { z } else { 0.0 }
        })
        .sum();
    data + 0.5 * l2 * w.iter().map(|x| x * x).sum::<f64>()
}

/// Fits `won ~ rows` with an L2 penalty `l2` on the weights.
pub fn fit(rows: &[Row], won: &[bool], dims: usize, l2: f64) -> Fit {
    let mut beta = vec![0.0; dims + 1];
    // Start the intercept at the base rate's log-odds: fewer steps, and a safe start when
    // one class is rare.
    let rate = (won.iter().filter(|y| **y).count() as f64 + 0.5) / (won.len() as f64 + 1.0);
    beta[dims] = (rate / (1.0 - rate)).ln();
    fit_from(rows, won, l2, beta)
}

/// As `fit`, from `beta` (the weights, then the intercept): a refit on more rows starts from
/// the fit on fewer, a step or two from where it ends.
pub fn fit_from(rows: &[Row], won: &[bool], l2: f64, mut beta: Vec<f64>) -> Fit {
    let n = beta.len();
    let dims = n - 1; // the intercept is the last unknown
    let mut current = loss(rows, won, beta[dims], &beta[..dims], l2);
    let mut iterations = 0;
    while iterations < MAX_ITERATIONS {
        iterations += 1;
        let (gradient, mut hessian) = derivatives(rows, won, &beta, dims, l2);
        let Some(step) = solve(&mut hessian, &gradient, n) else {
            break;
        };
        // Newton's step, halved while it does not lower the loss.
        let mut scale = 1.0;
        let mut accepted = false;
        for _ in 0..30 {
            let trial: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b - scale * s).collect();
            let l = loss(rows, won, trial[dims], &trial[..dims], l2);
            if l <= current {
                let moved = step.iter().map(|s| (s * scale).abs()).fold(0.0, f64::max);
                // Converged when the step is tiny or the loss no longer moves (a millionth
                // of a nat per row: far below what changes a ranking).
                let settled = current - l < 1e-6 * rows.len().max(1) as f64;
                beta = trial;
                current = l;
                accepted = moved > TOLERANCE && !settled;
                break;
            }
            scale /= 2.0;
        }
        if !accepted {
            break;
        }
    }
    let intercept = beta.pop().unwrap_or(0.0);
    Fit {
        intercept,
        weights: beta,
        iterations,
    }
}

/// The gradient and the (upper triangle of the) Hessian of the penalised loss at `beta`,
/// summed over the rows on every core.
fn derivatives(
    rows: &[Row],
    won: &[bool],
    beta: &[f64],
    dims: usize,
    l2: f64,
) -> (Vec<f64>, Vec<f64>) {
    let n = dims + 1;
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .min(8);
    let chunk = rows.len().div_ceil(threads).max(4096);
    let mut parts: Vec<(Vec<f64>, Vec<f64>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = rows
            .chunks(chunk)
            .zip(won.chunks(chunk))
            .map(|(r, w)| scope.spawn(move || accumulate(r, w, beta, dims)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a solver thread panicked"))
            .collect()
    });
    let (mut g, mut h) = parts
        .pop()
        .unwrap_or_else(|| (vec![0.0; n], vec![0.0; n * n]));
    for (pg, ph) in parts {
        g.iter_mut().zip(pg).for_each(|(a, b)| *a += b);
        h.iter_mut().zip(ph).for_each(|(a, b)| *a += b);
    }
    for j in 0..dims {
        g[j] += l2 * beta[j];
        h[j * n + j] += l2;
    }
    (g, h)
}

/// One share of the rows' gradient and Hessian (unpenalised).
fn accumulate(rows: &[Row], won: &[bool], beta: &[f64], dims: usize) -> (Vec<f64>, Vec<f64>) {
    let n = dims + 1;
    let mut g = vec![0.0; n];
    let mut h = vec![0.0; n * n];
    for (row, &y) in rows.iter().zip(won) {
        let p = sigmoid(linear(&beta[..dims], beta[dims], row));
        let r = p - if y { 1.0 } else { 0.0 };
        let weight = (p * (1.0 - p)).max(1e-12);
        g[dims] += r;
        h[dims * n + dims] += weight;
        for (a, &(i, vi)) in row.iter().enumerate() {
            let i = i as usize;
            g[i] += r * vi;
            h[i * n + dims] += weight * vi;
            let wi = weight * vi;
            for &(j, vj) in &row[a..] {
                let j = j as usize;
                let (lo, hi) = if i <= j { (i, j) } else { (j, i) };
                h[lo * n + hi] += wi * vj;
            }
        }
    }
    (g, h)
}

/// The dot product of two equal-length slices, in four running sums: one sum would wait on
/// each addition before the next (the factorisation is a few hundred thousand of these).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut sums = [0.0; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            sums[k] += x[k] * y[k];
        }
    }
    let tail: f64 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    (sums[0] + sums[1]) + (sums[2] + sums[3]) + tail
}

/// Solves `H x = g` for a symmetric positive definite H given by its upper triangle, by
/// Cholesky (H = L L^T, L's rows contiguous so each entry is one dot product of two rows);
/// None if H is not positive definite (a feature that never varies, unpenalised).
fn solve(h: &mut [f64], g: &[f64], n: usize) -> Option<Vec<f64>> {
    // Row i of L in l[i * n .. i * n + i + 1]; H's upper triangle read as its lower one.
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let dot = dot(&l[i * n..i * n + j], &l[j * n..j * n + j]);
            let sum = h[j * n + i] - dot;
            if i == j {
                if sum <= 1e-12 {
                    return None;
                }
                l[i * n + i] = sum.sqrt();
            } else {
                l[i * n + j] = sum / l[j * n + j];
            }
        }
    }
    // L y = g, then L^T x = y.
    let mut y = vec![0.0; n];
    for i in 0..n {
        let s = dot(&l[i * n..i * n + i], &y[..i]);
        y[i] = (g[i] - s) / l[i * n + i];
    }
    let mut x = y;
    for i in (0..n).rev() {
        x[i] /= l[i * n + i];
        let xi = x[i];
        for k in 0..i {
            x[k] -= l[i * n + k] * xi;
        }
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One binary feature, no penalty: the maximum-likelihood answer is known in closed form,
    /// intercept = logit(rate without), weight = logit(rate with) - logit(rate without).
    #[test]
    fn recovers_the_closed_form_coefficients_of_one_binary_feature() {
        let logit = |p: f64| (p / (1.0 - p)).ln();
        // Without the feature: 10 of 40 won; with it: 30 of 50.
        let mut rows = Vec::new();
        let mut won = Vec::new();
        for i in 0..40 {
            rows.push(vec![]);
            won.push(i < 10);
        }
        for i in 0..50 {
            rows.push(vec![(0u32, 1.0)]);
            won.push(i < 30);
        }
        let f = fit(&rows, &won, 1, 0.0);
        assert!((f.intercept - logit(0.25)).abs() < 1e-6, "{f:?}");
        assert!(
            (f.weights[0] - (logit(0.6) - logit(0.25))).abs() < 1e-6,
            "{f:?}"
        );
    }

    #[test]
    fn a_penalty_shrinks_the_weight_towards_zero() {
        let rows: Vec<Row> = (0..100)
            .map(|i| if i % 2 == 0 { vec![(0, 1.0)] } else { vec![] })
            .collect();
        let won: Vec<bool> = (0..100).map(|i| i % 4 == 0).collect();
        let free = fit(&rows, &won, 1, 0.0);
        let shrunk = fit(&rows, &won, 1, 10.0);
        assert!(shrunk.weights[0].abs() < free.weights[0].abs());
        assert!(shrunk.weights[0] > 0.0);
    }

    #[test]
    fn separable_data_stays_finite_with_a_penalty() {
        let rows: Vec<Row> = (0..20).map(|i| vec![(0, f64::from(i))]).collect();
        let won: Vec<bool> = (0..20).map(|i| i >= 10).collect();
        let f = fit(&rows, &won, 1, 1.0);
        assert!(f.weights[0].is_finite() && f.weights[0] > 0.5);
    }
}
