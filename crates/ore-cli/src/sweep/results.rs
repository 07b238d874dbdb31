//! What a sweep found: each trial's training figures (from its manifest)
//! and eval scores, the ranking by validation loss, the per-group
//! statistics, and the files that record them (`_sweep.json`,
//! `trials.csv`, `sweep.md`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
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

fn num(v: Option<f64>, decimals: usize) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.decimals$}"),
        _ => String::new(),
    }
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The space's keys that vary, for table columns (`input` and `seed`
/// included when they are in the space).
fn columns(record: &SweepRecord) -> Vec<String> {
    record
        .space
        .keys()
        .filter(|k| k.as_str() != super::plan::SEED_KEY && k.as_str() != super::plan::INPUT_KEY)
        .cloned()
        .collect()
}

/// `trials.csv`: one row a trial, in rank order.
pub(crate) fn csv(record: &SweepRecord) -> String {
    let keys = columns(record);
    let quote = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut out = String::from("rank,trial");
    for k in &keys {
        out.push(',');
        out.push_str(&quote(k));
    }
    out.push_str(",input,seed,best_valid_loss,best_step,steps,wall_time_s,tokens_per_s,metric,score,exact_match,ensemble\n");
    for t in ranked(record) {
        let mut row = vec![
            t.rank.map_or_else(String::new, |r| r.to_string()),
            t.trial.clone(),
        ];
        row.extend(
            keys.iter()
                .map(|k| quote(&t.overrides.get(k).map(plain).unwrap_or_default())),
        );
        row.push(quote(t.input.as_deref().unwrap_or("")));
        row.push(t.seed.to_string());
        row.push(num(t.outcome.best_valid_loss, 6));
        row.push(
            t.outcome
                .best_step
                .map_or_else(String::new, |s| s.to_string()),
        );
        row.push(t.outcome.steps.map_or_else(String::new, |s| s.to_string()));
        row.push(format!("{:.2}", t.outcome.wall_time_s));
        row.push(num(t.outcome.tokens_per_s, 0));
        row.push(
            t.eval
                .as_ref()
                .map_or_else(String::new, |e| e.metric.clone()),
        );
        row.push(num(t.eval.as_ref().map(|e| e.value), 4));
        row.push(num(t.eval.as_ref().and_then(|e| e.exact_match), 4));
        row.push(t.ensemble.to_string());
        let _ = writeln!(out, "{}", row.join(","));
    }
    out
}

/// The trials in rank order (unranked last, in plan order).
pub(crate) fn ranked(record: &SweepRecord) -> Vec<&TrialRecord> {
    record
        .ranking
        .iter()
        .filter_map(|name| record.trials.iter().find(|t| &t.trial == name))
        .collect()
}

/// `sweep.md`: the ranked table, the best trial and the ensemble, and the
/// group table.
pub(crate) fn markdown(record: &SweepRecord) -> String {
    let keys = columns(record);
    let mut out = format!(
        "# Sweep of `{}` ({}, {} trials)\n\nPipeline file `{}`. Trials ranked by best validation loss (lower is better); ★ marks the ensemble's members.\n\n",
        record.stage,
        record.method,
        record.trials.len(),
        record.pipeline_file
    );
    let has_input = record.space.contains_key(super::plan::INPUT_KEY);
    let has_eval = record.trials.iter().any(|t| t.eval.is_some());
    let mut header = vec!["rank".to_string(), "trial".to_string()];
    header.extend(keys.iter().map(|k| format!("`{k}`")));
    if has_input {
        header.push("input".into());
    }
    header.extend(
        [
            "seed",
            "best valid loss",
            "best step",
            "steps",
            "time (s)",
            "units/s",
        ]
        .map(String::from),
    );
    if has_eval {
        header.push("score".into());
        header.push("exact match".into());
    }
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
    for t in ranked(record) {
        let mut row = vec![
            t.rank.map_or_else(|| "–".into(), |r| r.to_string()),
            format!("{}{}", t.trial, if t.ensemble { " ★" } else { "" }),
        ];
        row.extend(
            keys.iter()
                .map(|k| t.overrides.get(k).map(plain).unwrap_or_default()),
        );
        if has_input {
            row.push(t.input.clone().unwrap_or_default());
        }
        row.push(t.seed.to_string());
        row.push(num(t.outcome.best_valid_loss, 4));
        row.push(
            t.outcome
                .best_step
                .map_or_else(String::new, |s| s.to_string()),
        );
        row.push(t.outcome.steps.map_or_else(String::new, |s| s.to_string()));
        row.push(format!("{:.1}", t.outcome.wall_time_s));
        row.push(num(t.outcome.tokens_per_s, 0));
        if has_eval {
            row.push(t.eval.as_ref().map_or_else(String::new, |e| {
                format!("{} {}", e.metric, num(Some(e.value), 4))
            }));
            row.push(num(t.eval.as_ref().and_then(|e| e.exact_match), 3));
        }
        let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
    for line in summary_lines(record) {
        let _ = writeln!(out, "{line}\n");
    }
    if let Some(groups) = &record.groups {
        let _ = writeln!(
            out,
            "## {} by {}\n\n| group | trials | mean | std | min | max |\n|---|---|---|---|---|---|",
            groups.metric,
            groups.by.join(", ")
        );
        for g in &groups.rows {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                group_label(&g.group).replace('|', "\\|"),
                g.n,
                num(Some(g.mean), 4),
                num(Some(g.std), 4),
                num(Some(g.min), 4),
                num(Some(g.max), 4)
            );
        }
    }
    out
}

/// `key=value, key=value` of a group.
pub(crate) fn group_label(group: &Map<String, Value>) -> String {
    group
        .iter()
        .map(|(k, v)| format!("{k}={}", plain(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The best trial and the ensemble against it, one line each.
pub(crate) fn summary_lines(record: &SweepRecord) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(first) = ranked(record).first().filter(|t| t.rank.is_some()) {
        lines.push(format!(
            "Best trial: {} ({}), {}.",
            first.trial,
            overrides_label(first),
            first.outcome.line()
        ));
    }
    if let Some(best) = &record.best {
        lines.push(format!("Best trial alone: {}.", best.eval.line()));
    }
    if let Some(e) = &record.ensemble {
        lines.push(format!(
            "Ensemble of the top {} ({}): {}{}.",
            e.members.len(),
            e.members.join(", "),
            e.eval.line(),
            e.note
                .as_ref()
                .map_or_else(String::new, |n| format!(" — {n}"))
        ));
    }
    lines
}

/// `model.hidden=32 optim.lr=0.003 seed=1` of a trial.
pub(crate) fn overrides_label(t: &TrialRecord) -> String {
    let mut parts: Vec<String> = t
        .overrides
        .iter()
        .map(|(k, v)| format!("{k}={}", plain(v)))
        .collect();
    if let Some(input) = &t.input {
        parts.push(format!("input={input}"));
    }
    parts.push(format!("seed={}", t.seed));
    parts.join(" ")
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
