//! Sections 5 to 7: split sizes and the leakage audit, training curves,
//! and scores of every eval stage with sample predictions traced back to
//! the document they came from.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::data::{self, sample_key};
use crate::doc::{Cell, Section};
use crate::error::Result;
use crate::quality::clip;
use crate::represent::DOCUMENT_KINDS;
use crate::stages::{Stage, of_kind};
use crate::svg::{self, Series};

/// Sample predictions shown per eval stage.
const PREDICTIONS: usize = 5;

fn num(v: &Value, path: &[&str]) -> Option<f64> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_f64()
}

/// Section 5: rows and groups of each split, and the split's audit.
pub fn split_section(stages: &[Stage]) -> Section {
    let mut s = Section::new("split", "5. Split");
    let splits = of_kind(stages, &["split"]);
    if splits.is_empty() {
        s.para("No split stage in this pipeline (or it has not run).");
        s.figures = json!([]);
        return s;
    }
    let mut figures = Vec::new();
    for st in splits {
        let Some(summary) = st
            .manifest
            .as_ref()
            .map(|m| Value::Object(m.summary.clone()))
        else {
            continue;
        };
        let names = ["train", "valid", "test"];
        let mut rows = Vec::new();
        let mut values = Vec::new();
        for name in names {
            let Some(split) = summary.get("splits").and_then(|x| x.get(name)) else {
                continue;
            };
            rows.push(vec![
                Cell::text(name),
                Cell::opt(num(split, &["rows"]), 0),
                Cell::opt(num(split, &["groups"]), 0),
                Cell::opt(num(split, &["fraction"]).map(|f| f * 100.0), 1),
            ]);
            values.push((name, num(split, &["rows"]).unwrap_or(0.0)));
        }
        s.heading(format!("`{}`", st.section));
        s.table(&["split", "rows", "groups", "% of rows"], rows);
        let series: Vec<Series> = values
            .iter()
            .map(|(n, v)| Series::new(*n, vec![*v]))
            .collect();
        let title = format!("{}: rows per split", st.section);
        s.chart(
            &title,
            svg::stacked_hbars(&title, std::slice::from_ref(&st.section), &series),
            values
                .iter()
                .map(|(n, v)| format!("{n}: {v}"))
                .collect::<Vec<_>>()
                .join(", "),
        );
        if let Some(audit) = summary.get("audit").and_then(Value::as_object) {
            s.para("Leakage audit between train and the eval splits (rows of valid/test with an exact, near-duplicate, long n-gram or variant match in train):");
            s.table(
                &["check", "rows"],
                audit
                    .iter()
                    .map(|(k, v)| vec![Cell::text(k), Cell::text(v.to_string())])
                    .collect(),
            );
        } else {
            s.para("The split's manifest has no audit.");
        }
        let extra: Vec<String> = ["groups", "largest_group", "identity"]
            .iter()
            .filter_map(|k| summary.get(*k).map(|v| format!("{k} {v}")))
            .collect();
        if !extra.is_empty() {
            s.para(format!("Grouping: {}.", extra.join(", ")));
        }
        figures.push(json!({"section": st.section, "summary": summary}));
    }
    s.figures = json!(figures);
    s
}

/// Section 6: the loss curves of each train stage's `log.parquet`.
pub fn training_section(stages: &[Stage]) -> Result<Section> {
    let mut s = Section::new("training", "6. Training");
    let trains = of_kind(stages, &["train"]);
    if trains.is_empty() {
        s.para("No train stage in this pipeline (or it has not run).");
        s.figures = json!([]);
        return Ok(s);
    }
    let mut figures = Vec::new();
    let mut rows = Vec::new();
    for st in trains {
        let summary = st
            .manifest
            .as_ref()
            .map(|m| Value::Object(m.summary.clone()))
            .unwrap_or(Value::Null);
        let field = |k: &str| {
            summary
                .get(k)
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .unwrap_or_else(|| "–".into())
        };
        rows.push(vec![
            Cell::text(&st.section),
            Cell::text(field("steps")),
            Cell::text(field("epochs")),
            Cell::text(field("best_step")),
            Cell::opt(num(&summary, &["best_valid_loss"]), 4),
            Cell::opt(num(&summary, &["tokens_per_s"]), 0),
            Cell::text(field("device")),
            Cell::text(field("stopped")),
        ]);
        let log = st.output.join("log.parquet");
        let Some(ds) = data::open(&log)? else {
            s.para(format!("`{}` has no log.parquet.", st.section));
            continue;
        };
        let (mut loss, mut valid) = (Vec::new(), Vec::new());
        data::scan(&ds, &["step", "loss", "valid_loss"], |batch| {
            let (Some(step), Some(l)) = (data::floats(batch, "step"), data::floats(batch, "loss"))
            else {
                return Ok(());
            };
            let v = data::floats(batch, "valid_loss");
            for i in 0..batch.num_rows() {
                let x = step.value(i);
                if !arrow_array::Array::is_null(&l, i) {
                    loss.push((x, l.value(i)));
                }
                if let Some(v) = &v
                    && !arrow_array::Array::is_null(v, i)
                {
                    valid.push((x, v.value(i)));
                }
            }
            Ok(())
        })?;
        let title = format!("{}: loss against step", st.section);
        s.chart(
            &title,
            svg::lines(
                &title,
                "step",
                "loss",
                &[
                    ("loss".into(), loss.clone()),
                    ("valid_loss".into(), valid.clone()),
                ],
            ),
            format!(
                "loss at step: {}; valid_loss at step: {}",
                loss.iter()
                    .map(|(x, y)| format!("{}@{}", svg::fmt_num(*y), svg::fmt_num(*x)))
                    .collect::<Vec<_>>()
                    .join(", "),
                valid
                    .iter()
                    .map(|(x, y)| format!("{}@{}", svg::fmt_num(*y), svg::fmt_num(*x)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        figures.push(
            json!({"section": st.section, "summary": summary, "loss": loss, "valid_loss": valid}),
        );
    }
    s.table(
        &[
            "train stage",
            "steps",
            "epochs",
            "best step",
            "best valid loss",
            "tokens/s",
            "device",
            "stopped",
        ],
        rows,
    );
    // The table first, then the charts.
    let table = s.blocks.pop();
    if let Some(table) = table {
        s.blocks.insert(0, table);
    }
    s.figures = json!(figures);
    Ok(s)
}

/// The systems of one eval stage: (name, scores JSON).
fn systems(st: &Stage) -> Result<Vec<(String, Value)>> {
    let report = data::json_file(&st.output.join("_report").join("report.json"))?;
    let metrics = data::json_file(&st.output.join("_metrics.json"))?;
    let mut out = Vec::new();
    match report {
        Some(r) => {
            if let Some(sys) = r.get("system") {
                out.push(("model".to_string(), sys.clone()));
            }
            for (key, name) in [
                ("lead_baseline", "lead"),
                ("dictionary_baseline", "dictionary"),
            ] {
                if let Some(scores) = r.get(key).and_then(|b| b.get("scores")) {
                    let name = match r.get(key).and_then(|b| b.get("k")).and_then(Value::as_u64) {
                        Some(k) => format!("{name}-{k}"),
                        None => name.to_string(),
                    };
                    out.push((name, scores.clone()));
                }
            }
        }
        None => {
            if let Some(m) = metrics {
                out.push(("model".to_string(), m));
            }
        }
    }
    Ok(out)
}

const METRICS: [(&str, &[&str], f64); 4] = [
    ("BLEU", &["bleu", "score"], 1.0),
    ("ROUGE-1", &["rouge1", "f"], 100.0),
    ("ROUGE-2", &["rouge2", "f"], 100.0),
    ("ROUGE-L", &["rougeL", "f"], 100.0),
];

/// Section 7: every eval stage's scores side by side, and sample
/// predictions with their lineage.
pub fn scores_section(stages: &[Stage]) -> Result<Section> {
    let mut s = Section::new("scores", "7. Scores");
    let evals = of_kind(stages, &["eval"]);
    if evals.is_empty() {
        s.para("No eval stage in this pipeline (or it has not run).");
        s.figures = json!({"scores": [], "predictions": []});
        return Ok(s);
    }
    let mut rows = Vec::new();
    let mut figures = Vec::new();
    // (stage, system) -> metric values, for the chart.
    let mut chart: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
    let mut groups: Vec<String> = Vec::new();
    for st in &evals {
        let systems = systems(st)?;
        if systems.is_empty() {
            s.para(format!(
                "`{}` has no _metrics.json or _report/report.json.",
                st.section
            ));
        }
        for (metric, _, _) in METRICS {
            groups.push(format!("{metric}\n{}", st.section));
        }
        for (name, scores) in &systems {
            let values: Vec<Option<f64>> = METRICS
                .iter()
                .map(|(_, p, scale)| num(scores, p).map(|v| v * scale))
                .collect();
            let mut row = vec![Cell::text(&st.section), Cell::text(name)];
            row.extend(values.iter().map(|v| Cell::opt(*v, 2)));
            rows.push(row);
            let series_name = name.split('-').next().unwrap_or(name).to_string();
            for ((metric, _, _), v) in METRICS.iter().zip(&values) {
                if let Some(v) = v {
                    chart
                        .entry(series_name.clone())
                        .or_default()
                        .push((format!("{metric}\n{}", st.section), *v));
                }
            }
            figures.push(json!({
                "section": st.section, "system": name,
                "bleu": values[0], "rouge1_f": values[1], "rouge2_f": values[2], "rougeL_f": values[3],
            }));
        }
    }
    s.para("BLEU (sacrebleu) and ROUGE F1 × 100 of each eval stage's model and its baselines.");
    s.table(
        &[
            "eval stage",
            "system",
            "BLEU",
            "ROUGE-1",
            "ROUGE-2",
            "ROUGE-L",
        ],
        rows,
    );
    if !chart.is_empty() {
        let mut series_names: Vec<&String> = chart.keys().collect();
        // The model first, then the baselines.
        series_names.sort_by_key(|n| (n.as_str() != "model", n.to_string()));
        // Up to two eval stages share one chart; more (an ablation) get a
        // chart a metric, so that each stage's label stays readable.
        let mut charts: Vec<(String, Vec<&String>)> = Vec::new();
        if evals.len() <= 2 {
            charts.push((
                "Scores by eval stage and metric".into(),
                groups.iter().collect(),
            ));
        } else {
            for (metric, _, _) in METRICS {
                let prefix = format!("{metric}\n");
                charts.push((
                    format!("{metric} by eval stage"),
                    groups.iter().filter(|g| g.starts_with(&prefix)).collect(),
                ));
            }
        }
        for (title, keys) in charts {
            let series: Vec<Series> = series_names
                .iter()
                .map(|n| {
                    let by_group: HashMap<&str, f64> =
                        chart[*n].iter().map(|(g, v)| (g.as_str(), *v)).collect();
                    Series::new(
                        n.as_str(),
                        keys.iter()
                            .map(|g| by_group.get(g.as_str()).copied().unwrap_or(f64::NAN))
                            .collect(),
                    )
                })
                .collect();
            let labels: Vec<String> = if evals.len() <= 2 {
                keys.iter().map(|k| k.to_string()).collect()
            } else {
                keys.iter()
                    .map(|k| {
                        k.split_once('\n')
                            .map_or(k.as_str(), |(_, st)| st)
                            .to_string()
                    })
                    .collect()
            };
            s.chart(
                &title,
                svg::grouped_bars(&title, "score", &labels, &series),
                "the table above",
            );
        }
    }
    let predictions = predictions(&mut s, stages, &evals)?;
    s.figures = json!({"scores": figures, "predictions": predictions});
    Ok(s)
}

/// Where an example came from.
#[derive(Debug, Default, Clone)]
struct Lineage {
    doc_id: Option<String>,
    url: Option<String>,
    fetched_at: Option<String>,
}

/// A few predictions of each eval stage, by hash of their id, with the URL
/// and fetch time of the document each came from.
fn predictions(s: &mut Section, stages: &[Stage], evals: &[&Stage]) -> Result<Value> {
    let mut figures = Vec::new();
    for st in evals {
        let Some(ds) = data::open(&st.output)? else {
            continue;
        };
        let hyp_col = data::first_of(&ds, &["hyp", "prediction", "pred"]);
        let ref_col = data::first_of(&ds, &["ref", "reference", "tgt"]);
        let (Some(hyp_col), Some(ref_col)) = (hyp_col, ref_col) else {
            continue;
        };
        let mut picked: Vec<(u64, BTreeMap<&str, String>)> = Vec::new();
        let root = ds.root().to_path_buf();
        let cols = ["example_id", "source_id", "src", hyp_col, ref_col, "bleu"];
        data::scan(&ds, &cols, |batch| {
            let mut get = BTreeMap::new();
            for c in ["example_id", "source_id", "src", hyp_col, ref_col] {
                get.insert(c, data::strs(batch, c, &root)?);
            }
            let bleu = data::floats(batch, "bleu");
            for i in 0..batch.num_rows() {
                let id = get["example_id"].and_then(|c| c.get(i)).unwrap_or_default();
                let key = sample_key(id);
                if picked.len() >= PREDICTIONS && picked.last().is_some_and(|(k, _)| *k <= key) {
                    continue;
                }
                let mut row: BTreeMap<&str, String> = get
                    .iter()
                    .map(|(c, col)| {
                        (
                            *c,
                            col.and_then(|col| col.get(i))
                                .unwrap_or_default()
                                .to_string(),
                        )
                    })
                    .collect();
                if let Some(b) = &bleu {
                    row.insert("bleu", svg::fmt_num(b.value(i)));
                }
                picked.push((key, row));
                picked.sort_by(|a, b| {
                    a.0.cmp(&b.0)
                        .then_with(|| a.1["example_id"].cmp(&b.1["example_id"]))
                });
                picked.truncate(PREDICTIONS);
            }
            Ok(())
        })?;
        if picked.is_empty() {
            continue;
        }
        let ids: HashSet<String> = picked
            .iter()
            .map(|(_, r)| r["example_id"].clone())
            .collect();
        let examples = example_lineage(&st.inputs, &ids)?;
        let mut docs_wanted: HashSet<String> =
            picked.iter().map(|(_, r)| r["source_id"].clone()).collect();
        docs_wanted.extend(examples.values().filter_map(|l| l.doc_id.clone()));
        let docs = doc_lineage(stages, &docs_wanted)?;
        s.heading(format!("Sample predictions of `{}`", st.section));
        let mut rows = Vec::new();
        for (_, r) in &picked {
            let ex = examples.get(&r["example_id"]).cloned().unwrap_or_default();
            let doc_id = ex.doc_id.clone().unwrap_or_else(|| r["source_id"].clone());
            let doc = docs.get(&doc_id).or_else(|| docs.get(&r["source_id"]));
            let url = doc
                .and_then(|d| d.url.clone())
                .or(ex.url.clone())
                .unwrap_or_else(|| "(document not found)".into());
            let fetched = doc
                .and_then(|d| d.fetched_at.clone())
                .or(ex.fetched_at.clone())
                .unwrap_or_default();
            let lineage = format!(
                "{} → {} → {} {}",
                r["example_id"], r["source_id"], url, fetched
            );
            rows.push(vec![
                Cell::text(lineage.trim_end()),
                Cell::text(clip(&r["src"], 200)),
                Cell::text(clip(&r[ref_col], 200)),
                Cell::text(clip(&r[hyp_col], 200)),
                Cell::text(r.get("bleu").cloned().unwrap_or_else(|| "–".into())),
            ]);
            figures.push(json!({
                "section": st.section, "example_id": r["example_id"], "source_id": r["source_id"],
                "url": url, "fetched_at": fetched, "src": r["src"], "reference": r[ref_col], "prediction": r[hyp_col],
            }));
        }
        s.table(
            &[
                "example → source → URL fetched",
                "source",
                "reference",
                "prediction",
                "sentence BLEU",
            ],
            rows,
        );
    }
    Ok(json!(figures))
}

/// The document id, URL and fetch time the eval's input records for each
/// wanted example (align's `src_doc_id`/`src_url`, or `url`/`fetched_at`).
fn example_lineage(inputs: &[PathBuf], ids: &HashSet<String>) -> Result<HashMap<String, Lineage>> {
    let mut out = HashMap::new();
    for path in inputs {
        let Some(ds) = data::open(path)? else {
            continue;
        };
        if !data::has(&ds, "example_id") {
            continue;
        }
        let doc_col = data::first_of(&ds, &["src_doc_id", "doc_id"]);
        let url_col = data::first_of(&ds, &["src_url", "url"]);
        let root = ds.root().to_path_buf();
        let cols: Vec<&str> = ["example_id", "fetched_at"]
            .into_iter()
            .chain(doc_col)
            .chain(url_col)
            .collect();
        data::scan(&ds, &cols, |batch| {
            let Some(eid) = data::strs(batch, "example_id", &root)? else {
                return Ok(());
            };
            let docs = doc_col
                .map(|c| data::strs(batch, c, &root))
                .transpose()?
                .flatten();
            let urls = url_col
                .map(|c| data::strs(batch, c, &root))
                .transpose()?
                .flatten();
            let times = data::micros(batch, "fetched_at");
            for i in 0..batch.num_rows() {
                let Some(id) = eid.get(i).filter(|id| ids.contains(*id)) else {
                    continue;
                };
                out.entry(id.to_string()).or_insert_with(|| Lineage {
                    doc_id: docs.and_then(|d| d.get(i)).map(str::to_string),
                    url: urls.and_then(|u| u.get(i)).map(str::to_string),
                    fetched_at: times.as_ref().and_then(|t| t[i]).map(data::format_micros),
                });
            }
            Ok(())
        })?;
    }
    Ok(out)
}

/// URL and fetch time of each wanted doc id, from the pipeline's
/// documents-like outputs (the first that has it, in file order).
fn doc_lineage(stages: &[Stage], wanted: &HashSet<String>) -> Result<HashMap<String, Lineage>> {
    let mut out: HashMap<String, Lineage> = HashMap::new();
    for st in of_kind(stages, DOCUMENT_KINDS) {
        if out.len() == wanted.len() {
            break;
        }
        let Some(ds) = data::open(&st.output)? else {
            continue;
        };
        if !data::has(&ds, "doc_id") {
            continue;
        }
        let root = ds.root().to_path_buf();
        data::scan(&ds, &["doc_id", "url", "fetched_at"], |batch| {
            let Some(ids) = data::strs(batch, "doc_id", &root)? else {
                return Ok(());
            };
            let urls = data::strs(batch, "url", &root)?;
            let times = data::micros(batch, "fetched_at");
            for i in 0..batch.num_rows() {
                let Some(id) = ids.get(i).filter(|id| wanted.contains(*id)) else {
                    continue;
                };
                out.entry(id.to_string()).or_insert_with(|| Lineage {
                    doc_id: Some(id.to_string()),
                    url: urls.and_then(|u| u.get(i)).map(str::to_string),
                    fetched_at: times.as_ref().and_then(|t| t[i]).map(data::format_micros),
                });
            }
            Ok(())
        })?;
    }
    Ok(out)
}
