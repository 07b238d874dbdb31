//! Section 4, augmentation: the ops and their counts, self-BLEU of each
//! op's variants (shown in section 2), and sample variants next to their
//! parents with the edit highlighted, a few per op, chosen by a hash of
//! their id (the same samples on every run).

use std::collections::{BTreeMap, HashMap};

use serde_json::json;

use crate::data::{self, sample_key};
use crate::diff::{Piece, diff};
use crate::doc::{Cell, Section};
use crate::error::Result;
use crate::metrics::{mostly_cjk, self_bleu, sentence_bleu};
use crate::stages::{Stage, of_kind};
use crate::svg::{self, Series};

/// Samples shown per op.
const SAMPLES_PER_OP: usize = 3;

/// Self-BLEU of one op's variants.
#[derive(Debug, Default, Clone)]
pub struct SelfBleu {
    pub variants: u64,
    sum: f64,
}

impl SelfBleu {
    pub fn mean(&self) -> f64 {
        if self.variants == 0 {
            0.0
        } else {
            self.sum / self.variants as f64
        }
    }
}

/// A variant next to its parent.
#[derive(Debug, Clone)]
pub struct Sample {
    pub op: String,
    pub example_id: String,
    pub parent_id: String,
    pub diff: Vec<Piece>,
}

/// What one augment stage made.
#[derive(Debug, Clone)]
pub struct AugmentData {
    pub section: String,
    /// Rows by `aug_op` (`original` for rows without one).
    pub counts: BTreeMap<String, u64>,
    pub self_bleu: BTreeMap<String, SelfBleu>,
    pub samples: Vec<Sample>,
    /// The manifest's per-op summary, if any.
    pub summary: Option<serde_json::Value>,
}

/// One variant, as read.
struct Variant {
    id: String,
    parent: String,
    op: String,
}

/// Reads every augment-kind stage's output.
pub fn collect(stages: &[Stage]) -> Result<Vec<AugmentData>> {
    let mut out = Vec::new();
    for st in of_kind(stages, &["augment"]) {
        let Some(ds) = data::open(&st.output)? else {
            continue;
        };
        let Some(text_col) = data::first_of(&ds, &["src", "text"]) else {
            continue;
        };
        if !data::has(&ds, "aug_op") || !data::has(&ds, "example_id") {
            continue;
        }
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        let mut texts: HashMap<String, String> = HashMap::new();
        let mut variants: Vec<Variant> = Vec::new();
        let root = ds.root().to_path_buf();
        data::scan(
            &ds,
            &["example_id", "parent_id", "aug_op", text_col],
            |batch| {
                let ids = data::strs(batch, "example_id", &root)?;
                let parents = data::strs(batch, "parent_id", &root)?;
                let ops = data::strs(batch, "aug_op", &root)?;
                let text = data::strs(batch, text_col, &root)?;
                let (Some(ids), Some(ops), Some(text)) = (ids, ops, text) else {
                    return Ok(());
                };
                for i in 0..batch.num_rows() {
                    let op = ops.get(i);
                    *counts
                        .entry(op.unwrap_or("original").to_string())
                        .or_default() += 1;
                    let Some(id) = ids.get(i) else { continue };
                    texts.insert(id.to_string(), text.get(i).unwrap_or_default().to_string());
                    if let (Some(op), Some(parent)) = (op, parents.and_then(|p| p.get(i))) {
                        variants.push(Variant {
                            id: id.to_string(),
                            parent: parent.to_string(),
                            op: op.to_string(),
                        });
                    }
                }
                Ok(())
            },
        )?;
        out.push(AugmentData {
            section: st.section.clone(),
            counts,
            self_bleu: self_bleu_by_op(&variants, &texts),
            samples: samples(&variants, &texts),
            summary: st
                .manifest
                .as_ref()
                .and_then(|m| m.summary.get("ops").cloned()),
        });
    }
    Ok(out)
}

/// Mean self-BLEU of each op's variants within their families.
fn self_bleu_by_op(
    variants: &[Variant],
    texts: &HashMap<String, String>,
) -> BTreeMap<String, SelfBleu> {
    // In id order, so that the float sums come out the same on every run.
    let mut families: BTreeMap<&str, Vec<&Variant>> = BTreeMap::new();
    for v in variants {
        families.entry(v.parent.as_str()).or_default().push(v);
    }
    let (zh, en) = (sentence_bleu(true), sentence_bleu(false));
    let mut out: BTreeMap<String, SelfBleu> = BTreeMap::new();
    for (parent, members) in families {
        let Some(parent_text) = texts.get(parent) else {
            continue;
        };
        let mut family: Vec<&str> = vec![parent_text.as_str()];
        family.extend(
            members
                .iter()
                .map(|v| texts.get(&v.id).map_or("", String::as_str)),
        );
        let bleu = if mostly_cjk(parent_text) { &zh } else { &en };
        for (k, v) in members.iter().enumerate() {
            if let Some(score) = self_bleu(bleu, &family, k + 1) {
                let stat = out.entry(v.op.clone()).or_default();
                stat.variants += 1;
                stat.sum += score;
            }
        }
    }
    out
}

/// A few variants of each op whose parent is at hand, by id hash.
fn samples(variants: &[Variant], texts: &HashMap<String, String>) -> Vec<Sample> {
    let mut by_op: BTreeMap<&str, Vec<&Variant>> = BTreeMap::new();
    for v in variants.iter().filter(|v| texts.contains_key(&v.parent)) {
        by_op.entry(v.op.as_str()).or_default().push(v);
    }
    let mut out = Vec::new();
    for (op, mut vs) in by_op {
        vs.sort_by_key(|v| (sample_key(&v.id), v.id.clone()));
        for v in vs.into_iter().take(SAMPLES_PER_OP) {
            let (old, new) = (
                &texts[&v.parent],
                texts.get(&v.id).map_or("", String::as_str),
            );
            out.push(Sample {
                op: op.to_string(),
                example_id: v.id.clone(),
                parent_id: v.parent.clone(),
                diff: diff(&clip_chars(old, 400), &clip_chars(new, 400)),
            });
        }
    }
    out
}

fn clip_chars(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// Section 4.
pub fn section(stages: &[Stage], data: &[AugmentData]) -> Section {
    let mut s = Section::new("augment", "4. Augmentation");
    if of_kind(stages, &["augment"]).is_empty() {
        s.para("No augment stage in this pipeline (or it has not run).");
        s.figures = json!([]);
        return s;
    }
    let mut figures = Vec::new();
    for a in data {
        s.heading(format!("`{}`", a.section));
        let rows = a
            .counts
            .iter()
            .map(|(op, n)| {
                let summary = a.summary.as_ref().and_then(|s| s.get(op));
                let field = |k: &str| summary.and_then(|s| s.get(k)).and_then(|v| v.as_u64());
                vec![
                    Cell::text(op),
                    Cell::Int(*n),
                    field("edits").map_or(Cell::text("–"), Cell::Int),
                    field("identical").map_or(Cell::text("–"), Cell::Int),
                    a.self_bleu
                        .get(op)
                        .map_or(Cell::text("–"), |b| Cell::Num(b.mean(), 2)),
                ]
            })
            .collect();
        s.para("Rows of the output by `aug_op` (`original`: every row without one, eval splits passed through included), with each op's edits and its identical variants (dropped) from the manifest.");
        s.table(
            &[
                "aug_op",
                "rows",
                "edits",
                "identical (dropped)",
                "self-BLEU",
            ],
            rows,
        );
        let labels: Vec<String> = a.counts.keys().cloned().collect();
        let title = format!("{}: rows by aug_op", a.section);
        s.chart(
            &title,
            svg::stacked_hbars(
                &title,
                &labels,
                &[Series::new(
                    "rows",
                    a.counts.values().map(|n| *n as f64).collect(),
                )],
            ),
            a.counts
                .iter()
                .map(|(k, n)| format!("{k}: {n}"))
                .collect::<Vec<_>>()
                .join(", "),
        );
        if a.samples.is_empty() {
            s.para("No variant with its parent in the output to show.");
        } else {
            s.para("Sample variants against their parents (deleted text struck, inserted text highlighted), chosen by a hash of the variant's id.");
            s.table(
                &["aug_op", "variant", "parent", "parent → variant"],
                a.samples
                    .iter()
                    .map(|x| {
                        vec![
                            Cell::text(&x.op),
                            Cell::code(&x.example_id),
                            Cell::code(&x.parent_id),
                            Cell::Diff(x.diff.clone()),
                        ]
                    })
                    .collect(),
            );
        }
        figures.push(json!({
            "section": a.section,
            "counts": a.counts,
            "self_bleu": a.self_bleu.iter().map(|(k, v)| (k.clone(), json!({"variants": v.variants, "mean": v.mean()}))).collect::<BTreeMap<_, _>>(),
            "samples": a.samples.iter().map(|x| json!({"op": x.op, "example_id": x.example_id, "parent_id": x.parent_id, "diff": x.diff})).collect::<Vec<_>>(),
        }));
    }
    s.figures = json!(figures);
    s
}
