//! Paired bootstrap resampling between two systems on the same segments,
//! as sacrebleu's `--paired-bs` (after Koehn 2004 and Moses'
//! `bootstrap-hypothesis-difference-significance.pl`).

use serde::Serialize;

use crate::rng::SplitMix64;

/// The outcome for the system compared with the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PairedBootstrap {
    pub baseline: f64,
    pub system: f64,
    /// Chance of a difference at least this large if the systems were equal.
    pub p_value: f64,
    /// Mean of the system's resampled scores.
    pub system_mean: f64,
    /// Half-width of the system's 95% interval.
    pub system_ci: f64,
    pub n_samples: usize,
}

/// Resamples segment indices `n_samples` times; `score(indices)` returns
/// (baseline, system) corpus scores over a resample. Each resample is drawn
/// once and shared by both systems (the test is paired).
///
/// As sacrebleu: the real difference is `|baseline - system|` over all
/// segments; the p-value is `(1 + #{d_i - mean(d) > real}) / (1 + n_samples)`
/// with `d_i = |system_i - baseline_i|`; the interval is half the distance
/// between the 2.5% and 97.5% order statistics of the system's scores.
pub fn paired_bootstrap(
    n_segments: usize,
    n_samples: usize,
    seed: u64,
    score: impl Fn(&[usize]) -> (f64, f64),
) -> PairedBootstrap {
    let all: Vec<usize> = (0..n_segments).collect();
    let (baseline, system) = score(&all);
    let mut rng = SplitMix64::new(seed);
    let mut diffs = Vec::with_capacity(n_samples);
    let mut system_scores = Vec::with_capacity(n_samples);
    let mut idx = vec![0usize; n_segments];
    for _ in 0..n_samples {
        for i in idx.iter_mut() {
            *i = rng.below(n_segments as u64) as usize;
        }
        let (b, s) = score(&idx);
        diffs.push((s - b).abs());
        system_scores.push(s);
    }
    let real = (baseline - system).abs();
    let mean_diff = diffs.iter().sum::<f64>() / diffs.len().max(1) as f64;
    let exceed = diffs.iter().filter(|&&d| d - mean_diff > real).count();
    system_scores.sort_by(f64::total_cmp);
    let lower = n_samples / 40;
    let upper = n_samples.saturating_sub(lower + 1);
    let (system_mean, system_ci) = if n_samples == 0 {
        (system, 0.0)
    } else {
        (
            system_scores.iter().sum::<f64>() / n_samples as f64,
            0.5 * (system_scores[upper] - system_scores[lower]),
        )
    };
    PairedBootstrap {
        baseline,
        system,
        p_value: (exceed + 1) as f64 / (n_samples + 1) as f64,
        system_mean,
        system_ci,
        n_samples,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_system_against_itself_gets_sacrebleus_floor_p_value() {
        // sacrebleu counts strictly larger differences, so identical systems
        // get the smallest p-value, 1 / (n + 1), and a zero difference.
        let scores: Vec<f64> = (0..200).map(|i| f64::from(i % 7)).collect();
        let mean = |idx: &[usize]| idx.iter().map(|&i| scores[i]).sum::<f64>() / idx.len() as f64;
        let r = paired_bootstrap(scores.len(), 1000, 12345, |idx| (mean(idx), mean(idx)));
        assert_eq!(r.p_value, 1.0 / 1001.0);
        assert_eq!(r.system, r.baseline);
    }

    #[test]
    fn noise_is_not_significant() {
        let a: Vec<f64> = (0..300).map(|i| f64::from((i * 7919) % 11)).collect();
        let b: Vec<f64> = (0..300).map(|i| f64::from((i * 104_729) % 11)).collect();
        let mean =
            |v: &[f64], idx: &[usize]| idx.iter().map(|&i| v[i]).sum::<f64>() / idx.len() as f64;
        let r = paired_bootstrap(a.len(), 1000, 12345, |idx| (mean(&a, idx), mean(&b, idx)));
        assert!(r.p_value > 0.05, "{r:?}");
    }

    #[test]
    fn a_clearly_better_system_is_significant() {
        let base: Vec<f64> = (0..300).map(|i| f64::from(i % 5)).collect();
        let better: Vec<f64> = base.iter().map(|b| b + 1.0).collect();
        let mean =
            |v: &[f64], idx: &[usize]| idx.iter().map(|&i| v[i]).sum::<f64>() / idx.len() as f64;
        let r = paired_bootstrap(base.len(), 1000, 12345, |idx| {
            (mean(&base, idx), mean(&better, idx))
        });
        assert!(r.p_value < 0.01, "{r:?}");
        assert!((r.system - r.baseline - 1.0).abs() < 1e-9);
    }
}
