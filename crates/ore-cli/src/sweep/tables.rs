//! The sweep's tables for people: `trials.csv` and `sweep.md` (ranked
//! trials, the best trial and the ensemble, the group table), and the
//! closing lines of `ore sweep`.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::plan::{INPUT_KEY, SEED_KEY};
use super::results::{SweepRecord, TrialRecord};

/// A score as it reads: BLEU with 2 decimals, others with 4.
pub(crate) fn fmt_score(metric: &str, value: f64) -> String {
    num(Some(value), if metric == "bleu" { 2 } else { 4 })
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
        .filter(|k| k.as_str() != SEED_KEY && k.as_str() != INPUT_KEY)
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
    let has_input = record.space.contains_key(INPUT_KEY);
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
                format!("{} {}", e.metric, fmt_score(&e.metric, e.value))
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
