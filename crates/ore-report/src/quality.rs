//! Section 2, the four data-quality dimensions: diversity, authenticity and
//! noise (here), representativeness and timeliness
//! ([`crate::represent`]).

use std::collections::BTreeMap;
use std::path::Path;

use ore_core::{REJECT_DETAIL, REJECT_REASON, REJECTS_DIR};
use serde_json::json;

use crate::augment::AugmentData;
use crate::data::{self, StrLists};
use crate::doc::{Cell, Section};
use crate::error::Result;
use crate::metrics::{Diversity, DiversityFigures, mostly_cjk, units};
use crate::stages::{Stage, of_kind};
use crate::svg::{self, Series};

/// Stage kinds whose output is not a table of texts.
const NOT_TEXT: &[&str] = &["train", "eval"];

/// Section 2.
pub fn section(stages: &[Stage], augment: &[AugmentData]) -> Result<Section> {
    let mut s = Section::new("quality", "2. Data quality");
    let diversity = diversity(&mut s, stages, augment)?;
    let noise = noise(&mut s, stages)?;
    let represent = crate::represent::representativeness(&mut s, stages)?;
    let timeliness = crate::represent::timeliness(&mut s, stages)?;
    s.figures = json!({
        "diversity": diversity,
        "noise": noise,
        "representativeness": represent,
        "timeliness": timeliness,
    });
    Ok(s)
}

/// The units of one row: its token list when there is one, else its text
/// in characters (Chinese) or words.
fn row_units<'a>(lists: Option<&'a StrLists>, text: Option<&'a str>, i: usize) -> Vec<&'a str> {
    match (lists, text) {
        (Some(l), _) => l.row(i),
        (None, Some(t)) => units(t, mostly_cjk(t)),
        (None, None) => Vec::new(),
    }
}

/// Distinct-n and TTR of every text dataset, and self-BLEU of augmented
/// variants.
fn diversity(
    s: &mut Section,
    stages: &[Stage],
    augment: &[AugmentData],
) -> Result<serde_json::Value> {
    s.heading("Diversity");
    let mut rows = Vec::new();
    let mut figures = Vec::new();
    for st in stages
        .iter()
        .filter(|s| s.ran() && !NOT_TEXT.contains(&s.kind.as_str()))
    {
        let Some(ds) = data::open(&st.output)? else {
            continue;
        };
        let list = data::first_of(&ds, &["tokens", "src_tokens"]);
        let text = data::first_of(&ds, &["src", "text"]);
        let Some(unit_col) = list.or(text) else {
            continue;
        };
        let has_op = data::has(&ds, "aug_op");
        let mut all = Diversity::default();
        let (mut originals, mut variants) = (Diversity::default(), Diversity::default());
        let path = ds.root().to_path_buf();
        let mut columns = vec![unit_col];
        if has_op {
            columns.push("aug_op");
        }
        data::scan(&ds, &columns, |batch| {
            let lists = list.and_then(|c| StrLists::of(batch, c));
            let texts = match (&lists, text) {
                (None, Some(c)) => data::strs(batch, c, &path)?,
                _ => None,
            };
            let ops = if has_op {
                data::strs(batch, "aug_op", &path)?
            } else {
                None
            };
            for i in 0..batch.num_rows() {
                let u = row_units(lists.as_ref(), texts.and_then(|t| t.get(i)), i);
                if has_op {
                    if ops.and_then(|o| o.get(i)).is_some() {
                        variants.add(u.iter().copied());
                    } else {
                        originals.add(u.iter().copied());
                    }
                }
                all.add(u);
            }
            Ok(())
        })?;
        let unit = if list.is_some() {
            format!("`{unit_col}`")
        } else {
            format!("`{unit_col}` (chars for Chinese, else words)")
        };
        let mut push = |label: String, f: DiversityFigures| {
            rows.push(vec![
                Cell::text(label.clone()),
                Cell::text(unit.clone()),
                Cell::Int(f.rows),
                Cell::Int(f.tokens),
                Cell::Num(f.distinct_1, 4),
                Cell::Num(f.distinct_2, 4),
                Cell::Num(f.ttr, 4),
            ]);
            figures.push(json!({"dataset": label, "units": unit_col, "figures": f}));
        };
        push(st.section.clone(), all.figures());
        if has_op && variants.figures().rows > 0 {
            push(format!("{} (originals)", st.section), originals.figures());
            push(format!("{} (variants)", st.section), variants.figures());
        }
    }
    if rows.is_empty() {
        s.para("No stage output with a text or token column yet.");
    } else {
        s.para("distinct-n: distinct n-grams over all n-grams of the dataset (n-grams within a row); TTR: distinct units over units of each row, averaged over rows.");
        s.table(
            &[
                "dataset",
                "units",
                "rows",
                "tokens",
                "distinct-1",
                "distinct-2",
                "TTR",
            ],
            rows,
        );
    }
    let mut bleu_rows = Vec::new();
    let mut bleu_figures = Vec::new();
    for a in augment {
        for (op, stat) in &a.self_bleu {
            bleu_rows.push(vec![
                Cell::text(&a.section),
                Cell::text(op),
                Cell::Int(stat.variants),
                Cell::Num(stat.mean(), 2),
            ]);
            bleu_figures.push(json!({"section": a.section, "op": op, "variants": stat.variants, "self_bleu": stat.mean()}));
        }
    }
    if bleu_rows.is_empty() {
        s.para("Self-BLEU: no augment stage in this pipeline (or it made no variants).");
    } else {
        s.para("Self-BLEU of augmented variants: each variant's sentence BLEU against the other members of its family (its parent and the parent's other variants), averaged per op; 100 means the variants copy their parent.");
        s.table(&["augment stage", "op", "variants", "self-BLEU"], bleu_rows);
    }
    Ok(json!({"datasets": figures, "self_bleu": bleu_figures}))
}

/// One reject reason of one stage, as read from its `_rejects/`.
#[derive(Debug, Default)]
struct Reason {
    rows: u64,
    detail: Option<String>,
    example: Option<String>,
}

/// Reject reasons per stage (manifest counts beside the rows of
/// `_rejects/`, with an example each) and clean's quality signals.
fn noise(s: &mut Section, stages: &[Stage]) -> Result<serde_json::Value> {
    s.heading("Authenticity and noise");
    let mut rows = Vec::new();
    let mut figures = Vec::new();
    for st in stages.iter().filter(|s| s.ran()) {
        let Some(m) = &st.manifest else { continue };
        let from_rejects = rejects(&st.output.join(REJECTS_DIR))?;
        let mut reasons: Vec<&String> = m
            .rows
            .rejected_by_reason
            .keys()
            .chain(from_rejects.keys())
            .collect();
        reasons.sort();
        reasons.dedup();
        for reason in reasons {
            let manifest_n = m.rows.rejected_by_reason.get(reason).copied();
            let r = from_rejects.get(reason);
            rows.push(vec![
                Cell::text(&st.section),
                Cell::text(reason),
                manifest_n.map_or(Cell::text("–"), Cell::Int),
                r.map_or(Cell::text("–"), |r| Cell::Int(r.rows)),
                Cell::text(r.and_then(|r| r.detail.clone()).unwrap_or_default()),
                // A row rejected for personal information is not shown.
                Cell::text(if reason.starts_with("pii_") {
                    "(withheld: personal information)".to_string()
                } else {
                    r.and_then(|r| r.example.clone()).unwrap_or_default()
                }),
            ]);
            figures.push(json!({
                "section": st.section, "reason": reason, "manifest": manifest_n,
                "rejects_rows": r.map(|r| r.rows),
            }));
        }
    }
    if rows.is_empty() {
        s.para("No stage rejected any row.");
    } else {
        s.para("Reject reasons: the count in each stage's manifest, the rows in its `_rejects/` (– where a stage keeps none), and the first example of each.");
        s.table(
            &[
                "stage",
                "reason",
                "manifest",
                "_rejects rows",
                "example detail",
                "example row",
            ],
            rows,
        );
    }
    let pii = pii(s, stages);
    let signals = signals(s, stages)?;
    Ok(json!({"reasons": figures, "pii": pii, "signals": signals}))
}

/// Personal information each clean stage looked for (`pii` in its
/// manifest's summary): by kind, the action, the matches and the rows.
fn pii(s: &mut Section, stages: &[Stage]) -> serde_json::Value {
    let mut rows = Vec::new();
    let mut figures = Vec::new();
    for st in of_kind(stages, &["clean"]) {
        let Some(kinds) = st
            .manifest
            .as_ref()
            .and_then(|m| m.summary.get("pii"))
            .and_then(|p| p.as_object())
        else {
            continue;
        };
        for (kind, v) in kinds {
            let n = |k: &str| v.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
            rows.push(vec![
                Cell::text(&st.section),
                Cell::text(kind),
                Cell::text(v.get("action").and_then(|a| a.as_str()).unwrap_or("")),
                Cell::Int(n("found")),
                Cell::Int(n("rows")),
            ]);
            figures.push(json!({
                "section": st.section, "kind": kind, "action": v.get("action"),
                "found": n("found"), "rows": n("rows"),
            }));
        }
    }
    if !rows.is_empty() {
        s.para("Personal information found by clean (`[clean.pii]`), by kind: what was done with it, the matches, and the rows they were in.");
        s.table(&["stage", "kind", "action", "found", "rows"], rows);
    }
    json!(figures)
}

/// Counts of `_rejects/` by reason, with the first detail and example.
fn rejects(path: &Path) -> Result<BTreeMap<String, Reason>> {
    let mut out: BTreeMap<String, Reason> = BTreeMap::new();
    let Some(ds) = data::open(path)? else {
        return Ok(out);
    };
    if !data::has(&ds, REJECT_REASON) {
        return Ok(out);
    }
    let example_col = data::first_of(
        &ds,
        &["url", "src_url", "example_id", "doc_id", "src", "text"],
    );
    let mut columns = vec![REJECT_REASON, REJECT_DETAIL];
    columns.extend(example_col);
    let root = ds.root().to_path_buf();
    data::scan(&ds, &columns, |batch| {
        let reasons = data::strs(batch, REJECT_REASON, &root)?;
        let details = data::strs(batch, REJECT_DETAIL, &root)?;
        let examples = match example_col {
            Some(c) => data::strs(batch, c, &root)?,
            None => None,
        };
        let Some(reasons) = reasons else {
            return Ok(());
        };
        for i in 0..batch.num_rows() {
            let r = out
                .entry(reasons.get(i).unwrap_or("(null)").to_string())
                .or_default();
            r.rows += 1;
            if r.detail.is_none() {
                r.detail = details.and_then(|d| d.get(i)).map(|d| clip(d, 120));
            }
            if r.example.is_none() {
                r.example = examples.and_then(|e| e.get(i)).map(|e| clip(e, 120));
            }
        }
        Ok(())
    })?;
    Ok(out)
}

/// At most `max` characters of one line of `text`.
pub(crate) fn clip(text: &str, max: usize) -> String {
    let one_line = text.replace(['\n', '\r'], " ⏎ ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        one_line.chars().take(max).collect::<String>() + "…"
    }
}

/// The quality signals clean computes when its input is not at hand.
const KNOWN_SIGNALS: &[&str] = &[
    "n_chars",
    "n_words",
    "n_lines",
    "cjk_ratio",
    "symbol_ratio",
    "digit_ratio",
    "punct_end_ratio",
    "dup_line_frac",
    "dup_ngram_frac",
    "bad_words",
    "stop_words",
    "mean_word_len",
    "alpha_word_frac",
    "bullet_line_frac",
    "ellipsis_line_frac",
    "boilerplate_lines",
    "lang_confidence",
];

/// Histograms of the numeric columns each clean stage adds, kept rows
/// against rejected rows.
fn signals(s: &mut Section, stages: &[Stage]) -> Result<serde_json::Value> {
    let cleans = of_kind(stages, &["clean"]);
    if cleans.is_empty() {
        s.para("Quality signals: no clean stage in this pipeline.");
        return Ok(json!([]));
    }
    let mut figures = Vec::new();
    for st in cleans {
        let Some(kept) = data::open(&st.output)? else {
            continue;
        };
        let input_columns: Option<Vec<String>> = st
            .manifest
            .as_ref()
            .and_then(|m| m.inputs.first())
            .and_then(|i| data::open(&i.path).ok().flatten())
            .map(|ds| {
                ds.schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect()
            });
        let columns: Vec<String> = kept
            .schema()
            .fields()
            .iter()
            .filter(|f| f.data_type().is_numeric())
            .map(|f| f.name().clone())
            .filter(|n| match &input_columns {
                Some(input) => !input.contains(n),
                None => KNOWN_SIGNALS.contains(&n.as_str()),
            })
            .collect();
        if columns.is_empty() {
            s.para(format!(
                "Quality signals of `{}`: no numeric columns added.",
                st.section
            ));
            continue;
        }
        let names: Vec<&str> = columns.iter().map(String::as_str).collect();
        let kept_values = numeric_columns(&kept, &names)?;
        let rejected_values = match data::open(&st.output.join(REJECTS_DIR))? {
            Some(r) => numeric_columns(&r, &names)?,
            None => vec![Vec::new(); names.len()],
        };
        s.para(format!(
            "Quality signals of `{}` ({} columns clean adds): kept rows against rejected rows, each as a fraction of its rows.",
            st.section,
            names.len()
        ));
        for (c, name) in names.iter().enumerate() {
            let (k, r) = (&kept_values[c], &rejected_values[c]);
            let all: Vec<f64> = k
                .iter()
                .chain(r)
                .copied()
                .filter(|v| v.is_finite())
                .collect();
            if all.is_empty() {
                continue;
            }
            let lo = all.iter().copied().fold(f64::MAX, f64::min);
            let hi = percentile(&all, 0.99).max(lo);
            let clamp = |v: &Vec<f64>| v.iter().map(|x| x.min(hi)).collect::<Vec<f64>>();
            let (edges, kc) = svg::bin(&clamp(k), lo, hi, 20);
            let (_, rc) = svg::bin(&clamp(r), lo, hi, 20);
            let series = vec![
                Series::new(format!("kept ({})", k.len()), fractions(&kc)),
                Series::new(format!("rejected ({})", r.len()), fractions(&rc)),
            ];
            let title = format!(
                "{}: {name} (values above the 99th percentile {} in the last bin)",
                st.section,
                svg::fmt_num(hi)
            );
            s.chart(
                &title,
                svg::histogram(&title, name, "fraction of rows", &edges, &series),
                format!(
                    "kept mean {}, rejected mean {}",
                    svg::fmt_num(mean(k)),
                    svg::fmt_num(mean(r))
                ),
            );
            figures.push(json!({
                "section": st.section, "column": name, "edges": edges,
                "kept": kc, "rejected": rc, "kept_mean": finite(mean(k)), "rejected_mean": finite(mean(r)),
            }));
        }
    }
    Ok(json!(figures))
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// Every value of the named numeric columns, one vector a column.
fn numeric_columns(ds: &ore_core::Dataset, names: &[&str]) -> Result<Vec<Vec<f64>>> {
    let mut out = vec![Vec::new(); names.len()];
    let present: Vec<&str> = names.iter().copied().filter(|n| data::has(ds, n)).collect();
    data::scan(ds, &present, |batch| {
        for (c, name) in names.iter().enumerate() {
            if let Some(col) = data::floats(batch, name) {
                out[c].extend(col.iter().map(|v| v.unwrap_or(f64::NAN)));
            }
        }
        Ok(())
    })?;
    Ok(out)
}

pub(crate) fn fractions(counts: &[f64]) -> Vec<f64> {
    let total: f64 = counts.iter().sum();
    counts
        .iter()
        .map(|c| if total > 0.0 { c / total } else { 0.0 })
        .collect()
}

pub(crate) fn mean(values: &[f64]) -> f64 {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() {
        f64::NAN
    } else {
        finite.iter().sum::<f64>() / finite.len() as f64
    }
}

/// The `q` quantile (nearest rank) of finite values.
pub(crate) fn percentile(values: &[f64], q: f64) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1;
    v[i]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_and_mean_skip_nan() {
        let v = [3.0, f64::NAN, 1.0, 2.0, 100.0];
        assert_eq!(percentile(&v, 0.5), 2.0);
        assert_eq!(percentile(&v, 0.99), 100.0);
        assert_eq!(mean(&v), 26.5);
        assert!(mean(&[]).is_nan());
        assert_eq!(fractions(&[1.0, 3.0]), [0.25, 0.75]);
    }
}
