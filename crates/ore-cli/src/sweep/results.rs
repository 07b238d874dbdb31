//! What a sweep found: each trial's training figures (from its manifest)
//! and eval scores, the ranking by validation loss, the per-group
//! statistics, as `_sweep.json` records them.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use ore_core::Manifest;
use ore_core::schema::predictions::{HYP, REF};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `_sweep.json`, the record the report reads.
pub(crate) const SWEEP_FILE: &str = "_sweep.json";

/// A trial's training figures, from its manifest's summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct TrainOutcome {
    pub best_valid_loss: Option<f64>,
    pub best_step: Option<u64>,
    pub steps: Option<u64>,
    pub wall_time_s: f64,
    pub tokens_per_s: Option<f64>,
}

impl TrainOutcome {
    pub(crate) fn read(model: &Path) -> Result<Self> {
        let manifest = Manifest::read(model)?;
        let s = &manifest.summary;
        Ok(Self {
            best_valid_loss: s.get("best_valid_loss").and_then(Value::as_f64),
            best_step: s.get("best_step").and_then(Value::as_u64),
            steps: s.get("steps").and_then(Value::as_u64),
            wall_time_s: manifest.wall_time_s,
            tokens_per_s: s.get("tokens_per_s").and_then(Value::as_f64),
        })
    }

    /// `best valid loss 0.1234 at step 40, 60 steps in 3.2 s`.
    pub(crate) fn line(&self) -> String {
        let loss = match (self.best_valid_loss, self.best_step) {
            (Some(l), Some(s)) => format!("best valid loss {l:.4} at step {s}"),
            (Some(l), None) => format!("best valid loss {l:.4}"),
            _ => "no validation loss".into(),
        };
        format!(
            "{loss}, {} steps in {:.1} s",
            self.steps.map_or_else(|| "?".into(), |s| s.to_string()),
            self.wall_time_s
        )
    }
}

/// The scores of one eval output: what its manifest's summary has (a
/// seq2seq eval: `bleu`, `rougeL_f`; a tagger: `f1`, `precision`,
/// `recall`), the share of predictions equal to their reference, and the
/// headline `metric` (f1, else bleu, else exact match).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Score {
    /// The eval output folder.
    pub dir: String,
    pub metric: String,
    pub value: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub f1: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recall: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bleu: Option<f64>,
    #[serde(default, rename = "rougeL_f", skip_serializing_if = "Option::is_none")]
    pub rouge_l_f: Option<f64>,
    /// Share of rows whose `hyp` equals its `ref` (predictions with both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact_match: Option<f64>,
    pub rows: u64,
}

impl Score {
    pub(crate) fn read(dir: &Path) -> Result<Self> {
        let manifest = Manifest::read(dir)?;
        let get = |k: &str| manifest.summary.get(k).and_then(Value::as_f64);
        let exact_match = exact_match(dir)
            .with_context(|| format!("reading the predictions in {}", dir.display()))?;
        let (f1, bleu) = (get("f1"), get("bleu"));
        let (metric, value) = match (f1, bleu, exact_match) {
            (Some(f), _, _) => ("f1", f),
            (None, Some(b), _) => ("bleu", b),
            (None, None, Some(e)) => ("exact_match", e),
            (None, None, None) => ("none", f64::NAN),
        };
        Ok(Self {
            dir: dir.display().to_string(),
            metric: metric.into(),
            value,
            f1,
            precision: get("precision"),
            recall: get("recall"),
            bleu,
            rouge_l_f: get("rougeL_f"),
            exact_match,
            rows: manifest.rows.output,
        })
    }

    /// `BLEU 45.20, ROUGE-L 0.7100, exact match 0.620`.
    pub(crate) fn line(&self) -> String {
        let mut parts = Vec::new();
        if let Some(f) = self.f1 {
            parts.push(format!("F1 {f:.4}"));
        }
        if let Some(b) = self.bleu {
            parts.push(format!("BLEU {b:.2}"));
        }
        if let Some(r) = self.rouge_l_f {
            parts.push(format!("ROUGE-L {r:.4}"));
        }
        if let Some(e) = self.exact_match {
            parts.push(format!("exact match {e:.3}"));
        }
        if parts.is_empty() {
            parts.push("no score".into());
        }
        format!("{} ({} rows)", parts.join(", "), self.rows)
    }
}

/// The share of prediction rows whose `hyp` equals `ref`; `None` for an
/// output without those columns.
fn exact_match(dir: &Path) -> Result<Option<f64>> {
    let dataset = ore_core::Dataset::open(dir)?;
    let schema = dataset.schema();
    if schema.index_of(HYP).is_err() || schema.index_of(REF).is_err() {
        return Ok(None);
    }
    let (mut same, mut rows) = (0u64, 0u64);
    for batch in dataset.batches_of(&[HYP, REF], 8192)? {
        let batch = batch?;
        let hyp = ore_core::StrColumn::of(&batch, HYP, dir)?;
        let reference = ore_core::StrColumn::of(&batch, REF, dir)?;
        for row in 0..batch.num_rows() {
            rows += 1;
            if hyp.get(row).is_some() && hyp.get(row) == reference.get(row) {
                same += 1;
            }
        }
    }
    Ok((rows > 0).then(|| same as f64 / rows as f64))
}

/// One trial in `_sweep.json`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TrialRecord {
    pub trial: String,
    pub index: usize,
    /// 1 for the lowest validation loss; `None` without one.
    pub rank: Option<usize>,
    pub overrides: Map<String, Value>,
    pub seed: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// `ran`, `resumed` or `skipped` (done before) in this sweep run.
    pub status: String,
    #[serde(flatten)]
    pub outcome: TrainOutcome,
    /// Its own eval, with `eval_each`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eval: Option<Score>,
    /// Whether it is a member of the ensemble.
    pub ensemble: bool,
}

/// The ensemble's eval in `_sweep.json`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct EnsembleRecord {
    pub requested: usize,
    pub members: Vec<String>,
    /// Why there are fewer members than requested, if there are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub eval: Score,
}

/// The best trial evaluated alone.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct BestRecord {
    pub trial: String,
    pub eval: Score,
}

/// Statistics of one group of trials (same values of `group_by`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct GroupRow {
    pub group: Map<String, Value>,
    pub trials: Vec<String>,
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (0 for one trial).
    pub std: f64,
    pub min: f64,
    pub max: f64,
}

/// The group table: `metric` over the trials of each group.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Groups {
    pub by: Vec<String>,
    /// `best_valid_loss`, or the eval metric with `eval_each`.
    pub metric: String,
    pub rows: Vec<GroupRow>,
}

/// `_sweep.json`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SweepRecord {
    pub pipeline: String,
    pub pipeline_file: String,
    pub stage: String,
    pub method: String,
    /// Seed of the random draws.
    pub seed: u64,
    pub space: Map<String, Value>,
    pub top_k: usize,
    pub eval_section: Option<String>,
    /// Trials in plan order.
    pub trials: Vec<TrialRecord>,
    /// Trial names, best first (those without a validation loss last).
    pub ranking: Vec<String>,
    pub best: Option<BestRecord>,
    pub ensemble: Option<EnsembleRecord>,
    pub groups: Option<Groups>,
    pub wall_time_s: f64,
}

/// Ranks the trials by validation loss (sets each record's `rank`);
/// returns every trial's name best first, and the positions of those with
/// a loss, best first.
pub(crate) fn rank(records: &mut [TrialRecord]) -> (Vec<String>, Vec<usize>) {
    let losses: Vec<Option<f64>> = records.iter().map(|r| r.outcome.best_valid_loss).collect();
    let order = ranking(&losses);
    let mut ranked = Vec::new();
    for (rank, &i) in order.iter().enumerate() {
        if losses[i].is_some_and(f64::is_finite) {
            records[i].rank = Some(rank + 1);
            ranked.push(i);
        }
    }
    let names = order.iter().map(|&i| records[i].trial.clone()).collect();
    (names, ranked)
}

/// The group table of `by`: each trial's eval score when every trial has
/// one, else its best validation loss; `keys[i]` is trial i's values of
/// `by`.
pub(crate) fn groups(
    by: &[String],
    records: &[TrialRecord],
    keys: &[Map<String, Value>],
) -> Groups {
    let evaluated = records.iter().all(|r| r.eval.is_some());
    let metric = match records.first().and_then(|r| r.eval.as_ref()) {
        Some(e) if evaluated => e.metric.clone(),
        _ => "best_valid_loss".to_string(),
    };
    let values: Vec<Option<f64>> = records
        .iter()
        .map(|r| match &r.eval {
            Some(e) if evaluated => Some(e.value),
            _ => r.outcome.best_valid_loss,
        })
        .collect();
    let names: Vec<String> = records.iter().map(|r| r.trial.clone()).collect();
    Groups {
        by: by.to_vec(),
        metric,
        rows: group_stats(keys, &names, &values),
    }
}

/// Trial positions, best first: by validation loss, missing last, ties by
/// plan order.
pub(crate) fn ranking(losses: &[Option<f64>]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..losses.len()).collect();
    order.sort_by(|&a, &b| {
        let key = |i: usize| losses[i].filter(|l| l.is_finite());
        match (key(a), key(b)) {
            (Some(x), Some(y)) => x.total_cmp(&y).then(a.cmp(&b)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.cmp(&b),
        }
    });
    order
}

/// Mean, sample std, min and max of `values` over each group (groups in
/// order of their first trial); non-finite values are left out.
pub(crate) fn group_stats(
    keys: &[Map<String, Value>],
    names: &[String],
    values: &[Option<f64>],
) -> Vec<GroupRow> {
    // (group values, its trials, their values), in first-seen order.
    type Group = (Map<String, Value>, Vec<String>, Vec<f64>);
    let mut groups: Vec<Group> = Vec::new();
    let mut at: BTreeMap<String, usize> = BTreeMap::new();
    for ((key, name), value) in keys.iter().zip(names).zip(values) {
        let id = Value::Object(key.clone()).to_string();
        let i = *at.entry(id).or_insert_with(|| {
            groups.push((key.clone(), Vec::new(), Vec::new()));
            groups.len() - 1
        });
        groups[i].1.push(name.clone());
        if let Some(v) = value.filter(|v| v.is_finite()) {
            groups[i].2.push(v);
        }
    }
    groups
        .into_iter()
        .map(|(group, trials, v)| {
            let n = v.len();
            let mean = if n > 0 {
                v.iter().sum::<f64>() / n as f64
            } else {
                f64::NAN
            };
            let std = if n > 1 {
                (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
            } else if n == 1 {
                0.0
            } else {
                f64::NAN
            };
            GroupRow {
                group,
                trials,
                n,
                mean,
                std,
                min: v.iter().copied().fold(f64::NAN, f64::min),
                max: v.iter().copied().fold(f64::NAN, f64::max),
            }
        })
        .collect()
}

/// Writes `bytes` to `path` through a temporary file renamed into place.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranking_puts_missing_losses_last_and_keeps_plan_order_on_ties() {
        let order = ranking(&[Some(2.0), None, Some(1.0), Some(2.0), Some(f64::NAN)]);
        assert_eq!(order, [2, 0, 3, 1, 4]);
    }

    #[test]
    fn group_stats_are_per_group_in_first_seen_order() {
        let key = |v: &str| {
            let mut m = Map::new();
            m.insert("input".into(), Value::String(v.into()));
            m
        };
        let keys = [key("b"), key("a"), key("b"), key("b")];
        let names: Vec<String> = (0..4).map(|i| format!("trial-00{i}")).collect();
        let rows = group_stats(&keys, &names, &[Some(1.0), Some(5.0), Some(3.0), None]);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].group["input"], "b");
        assert_eq!(rows[0].trials, ["trial-000", "trial-002", "trial-003"]);
        assert_eq!(rows[0].n, 2);
        assert_eq!(rows[0].mean, 2.0);
        assert!((rows[0].std - 2f64.sqrt()).abs() < 1e-12);
        assert_eq!((rows[0].min, rows[0].max), (1.0, 3.0));
        assert_eq!((rows[1].n, rows[1].std, rows[1].mean), (1, 0.0, 5.0));
    }
}
