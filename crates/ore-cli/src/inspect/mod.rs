//! `ore inspect PATH`: what a Parquet file or dataset folder holds.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Result;
use arrow_array::RecordBatch;
use clap::Args;
use ore_core::{Dataset, REJECTS_DIR};
use serde_json::{Value, json};

mod stats;
mod table;
pub(crate) mod values;

use stats::{Accumulator, ColumnStats};
use values::{human_bytes, thousands, type_name};

/// Arguments of `ore inspect`.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// A `.parquet` file or a dataset folder (every `*.parquet` below it,
    /// except under `_rejects/` and hidden folders).
    path: PathBuf,

    /// Show the first N rows (0 for none).
    #[arg(long, value_name = "N", default_value_t = 5)]
    head: usize,

    /// Compute per-column statistics (reads every row): nulls, string length
    /// in characters, list length, numeric range, distinct values, and counts
    /// by reason for `reject_reason`.
    #[arg(long)]
    stats: bool,

    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,

    /// Table width in columns (default: the terminal's, or 120).
    #[arg(long, value_name = "COLS")]
    width: Option<usize>,
}

/// Everything the report shows.
struct Report {
    dataset: Dataset,
    manifest: Option<Value>,
    rejects: Option<(u64, BTreeMap<String, u64>)>,
    head: Option<RecordBatch>,
    stats: Option<Vec<ColumnStats>>,
}

pub(crate) fn run(args: &InspectArgs) -> Result<String> {
    let dataset = Dataset::open(&args.path)?;
    let manifest = dataset.manifest_json()?;
    let rejects = if args.path.join(REJECTS_DIR).is_dir() {
        let rejected = Dataset::open(args.path.join(REJECTS_DIR))?;
        let by_reason = ore_core::stage::reject_counts(&args.path)?;
        Some((rejected.num_rows(), by_reason))
    } else {
        None
    };
    let head = read_head(&dataset, args.head)?;
    let stats = if args.stats {
        Some(column_stats(&dataset)?)
    } else {
        None
    };
    let report = Report {
        dataset,
        manifest,
        rejects,
        head,
        stats,
    };
    if args.json {
        let mut text = serde_json::to_string_pretty(&report.to_json())?;
        text.push('\n');
        Ok(text)
    } else {
        let width = args.width.unwrap_or_else(terminal_width).max(20);
        Ok(report.to_text(width))
    }
}

/// The first `n` rows of `batches` as the head table `ore inspect` prints
/// (for `ore query`).
pub(crate) fn head_table(
    schema: &arrow_schema::SchemaRef,
    batches: &[RecordBatch],
    n: usize,
    width: Option<usize>,
) -> String {
    let headers: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut rows: Vec<Vec<Option<String>>> = Vec::new();
    for batch in batches {
        if rows.len() >= n {
            break;
        }
        let take = (n - rows.len()).min(batch.num_rows());
        let columns: Vec<Vec<Option<String>>> = batch
            .slice(0, take)
            .columns()
            .iter()
            .map(values::cells)
            .collect();
        rows.extend((0..take).map(|i| columns.iter().map(|c| c[i].clone()).collect()));
    }
    table::render(&headers, &rows, width.unwrap_or_else(terminal_width))
}

/// Row `i` of a column as JSON, as `ore inspect --json` writes it.
pub(crate) fn json_cell(array: &dyn arrow_array::Array, i: usize) -> Value {
    values::json_value(array, i)
}

fn terminal_width() -> usize {
    console::Term::stdout()
        .size_checked()
        .map(|(_, cols)| usize::from(cols))
        .or_else(|| std::env::var("COLUMNS").ok()?.parse().ok())
        .unwrap_or(120)
}

fn read_head(dataset: &Dataset, n: usize) -> Result<Option<RecordBatch>> {
    if n == 0 {
        return Ok(None);
    }
    let mut batches = Vec::new();
    let mut rows = 0;
    for batch in dataset.batches(n) {
        let batch = batch?;
        let take = (n - rows).min(batch.num_rows());
        batches.push(batch.slice(0, take));
        rows += take;
        if rows >= n {
            break;
        }
    }
    let batch = concat_batches(dataset, &batches)?;
    Ok(Some(batch))
}

fn concat_batches(dataset: &Dataset, batches: &[RecordBatch]) -> Result<RecordBatch> {
    Ok(arrow_array::RecordBatch::try_new(
        dataset.schema().clone(),
        (0..dataset.schema().fields().len())
            .map(|j| {
                let parts: Vec<&dyn arrow_array::Array> =
                    batches.iter().map(|b| b.column(j).as_ref()).collect();
                if parts.is_empty() {
                    Ok(arrow_array::new_empty_array(
                        dataset.schema().field(j).data_type(),
                    ))
                } else {
                    arrow_select::concat::concat(&parts)
                }
            })
            .collect::<Result<Vec<_>, _>>()?,
    )?)
}

fn column_stats(dataset: &Dataset) -> Result<Vec<ColumnStats>> {
    let mut accs: Vec<Accumulator> = dataset
        .schema()
        .fields()
        .iter()
        .map(|f| Accumulator::new(f.name()))
        .collect();
    let progress = ore_core::Progress::new(Some(dataset.num_rows()), "rows");
    progress.set_message("stats");
    for batch in dataset.batches(8192) {
        let batch = batch?;
        for (acc, column) in accs.iter_mut().zip(batch.columns()) {
            acc.update(column);
        }
        progress.inc(batch.num_rows() as u64);
    }
    progress.finish();
    Ok(accs.into_iter().map(Accumulator::finish).collect())
}

impl Report {
    fn to_text(&self, width: usize) -> String {
        let d = &self.dataset;
        let mut out = String::new();
        let _ = writeln!(out, "{}", d.root().display());
        let writers: Vec<&str> = {
            let mut w: Vec<&str> = d
                .files()
                .iter()
                .filter_map(|f| f.created_by.as_deref())
                .collect();
            w.dedup();
            w
        };
        let _ = writeln!(
            out,
            "  rows      {} in {} file{}, {}{}",
            thousands(d.num_rows()),
            d.files().len(),
            if d.files().len() == 1 { "" } else { "s" },
            human_bytes(d.num_bytes()),
            if writers.is_empty() {
                String::new()
            } else {
                format!(", written by {}", writers.join("; "))
            }
        );
        if d.files().len() > 1 || d.root().is_dir() {
            const SHOWN: usize = 8;
            for (i, f) in d.files().iter().take(SHOWN).enumerate() {
                let rel = f.path.strip_prefix(d.root()).unwrap_or(&f.path);
                let _ = writeln!(
                    out,
                    "  {}  {}  {} rows, {}, {} row group{}",
                    if i == 0 { "files   " } else { "        " },
                    rel.display(),
                    thousands(f.rows),
                    human_bytes(f.bytes),
                    f.row_groups,
                    if f.row_groups == 1 { "" } else { "s" }
                );
            }
            if d.files().len() > SHOWN {
                let _ = writeln!(out, "            … and {} more", d.files().len() - SHOWN);
            }
        }
        if let Some((rows, by_reason)) = &self.rejects {
            let _ = writeln!(
                out,
                "  rejects   {} rows in {REJECTS_DIR}/: {}",
                thousands(*rows),
                reasons_line(by_reason)
            );
        }
        if let Some(m) = &self.manifest {
            manifest_text(&mut out, m);
        }
        let _ = writeln!(out, "\nschema ({} columns)", d.schema().fields().len());
        let name_width = d
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().chars().count())
            .max()
            .unwrap_or(0);
        for f in d.schema().fields() {
            let _ = writeln!(
                out,
                "  {:name_width$}  {}{}",
                f.name(),
                type_name(f.data_type()),
                if f.is_nullable() { "" } else { "  not null" }
            );
        }
        if let Some(head) = &self.head {
            let _ = writeln!(
                out,
                "\nhead (first {} of {} rows)",
                thousands(head.num_rows() as u64),
                thousands(d.num_rows())
            );
            let headers: Vec<String> = d
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
            let columns: Vec<Vec<Option<String>>> =
                head.columns().iter().map(values::cells).collect();
            let rows: Vec<Vec<Option<String>>> = (0..head.num_rows())
                .map(|i| columns.iter().map(|c| c[i].clone()).collect())
                .collect();
            out.push_str(&table::render(&headers, &rows, width));
        }
        if let Some(stats) = &self.stats {
            stats_text(&mut out, stats);
        }
        out
    }

    fn to_json(&self) -> Value {
        let d = &self.dataset;
        let files: Vec<Value> = d
            .files()
            .iter()
            .map(|f| {
                json!({
                    "path": f.path.display().to_string(),
                    "rows": f.rows,
                    "bytes": f.bytes,
                    "row_groups": f.row_groups,
                    "created_by": f.created_by,
                })
            })
            .collect();
        let schema: Vec<Value> = d
            .schema()
            .fields()
            .iter()
            .map(|f| json!({"name": f.name(), "type": type_name(f.data_type()), "nullable": f.is_nullable()}))
            .collect();
        let head: Option<Vec<Value>> = self.head.as_ref().map(|batch| {
            (0..batch.num_rows())
                .map(|i| {
                    let row: serde_json::Map<String, Value> = d
                        .schema()
                        .fields()
                        .iter()
                        .zip(batch.columns())
                        .map(|(f, c)| (f.name().clone(), values::json_value(c.as_ref(), i)))
                        .collect();
                    Value::Object(row)
                })
                .collect()
        });
        let stats: Option<serde_json::Map<String, Value>> = self.stats.as_ref().map(|stats| {
            stats
                .iter()
                .map(|s| {
                    (
                        s.name.clone(),
                        serde_json::to_value(s).unwrap_or(Value::Null),
                    )
                })
                .collect()
        });
        json!({
            "path": d.root().display().to_string(),
            "rows": d.num_rows(),
            "bytes": d.num_bytes(),
            "files": files,
            "schema": schema,
            "manifest": self.manifest,
            "rejects": self.rejects.as_ref().map(|(rows, by_reason)| json!({"rows": rows, "by_reason": by_reason})),
            "head": head,
            "stats": stats,
        })
    }
}

fn reasons_line(by_reason: &BTreeMap<String, u64>) -> String {
    let mut sorted: Vec<(&String, &u64)> = by_reason.iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    sorted
        .iter()
        .map(|(r, n)| format!("{r} {}", thousands(**n)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn manifest_text(out: &mut String, m: &Value) {
    let s = |key: &str| {
        m.get(key)
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string()
    };
    let n = |v: Option<&Value>| v.and_then(Value::as_u64).unwrap_or(0);
    let rows = m.get("rows");
    let _ = writeln!(
        out,
        "  manifest  stage {} · ore {} ({}) · seed {} · {:.1} s · started {}",
        s("stage"),
        s("ore_version"),
        s("git_revision"),
        n(m.get("seed")),
        m.get("wall_time_s").and_then(Value::as_f64).unwrap_or(0.0),
        s("started_at"),
    );
    if let Some(rows) = rows {
        let by_reason: BTreeMap<String, u64> = rows
            .get("rejected_by_reason")
            .and_then(Value::as_object)
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                    .collect()
            })
            .unwrap_or_default();
        let generated = n(rows.get("generated"));
        let _ = writeln!(
            out,
            "            rows in {}{} → out {}, rejected {}{}",
            thousands(n(rows.get("in"))),
            if generated > 0 {
                format!(" + generated {}", thousands(generated))
            } else {
                String::new()
            },
            thousands(n(rows.get("out"))),
            thousands(n(rows.get("rejected"))),
            if by_reason.is_empty() {
                String::new()
            } else {
                format!(" ({})", reasons_line(&by_reason))
            },
        );
    }
    let _ = writeln!(out, "            config {}", s("config_hash"));
    for input in m
        .get("inputs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let _ = writeln!(
            out,
            "            input {} ({} rows, {})",
            input.get("path").and_then(Value::as_str).unwrap_or("?"),
            thousands(n(input.get("rows"))),
            input
                .get("content_hash")
                .and_then(Value::as_str)
                .unwrap_or("?"),
        );
    }
}

fn stats_text(out: &mut String, stats: &[ColumnStats]) {
    let _ = writeln!(out, "\nstats");
    let name_width = stats
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0);
    for s in stats {
        let mut parts = vec![
            format!("nulls {}", thousands(s.nulls)),
            format!(
                "distinct {}{}",
                if s.distinct_is_estimate { "≈" } else { "" },
                thousands(s.distinct)
            ),
        ];
        let range = |label: &str, r: &stats::Range| {
            format!(
                "{label} {}/{}/{}",
                short_num(r.min),
                short_num(r.mean),
                short_num(r.max)
            )
        };
        if let Some(r) = &s.chars {
            parts.push(range("chars min/mean/max", r));
        }
        if let Some(r) = &s.items {
            parts.push(range("items min/mean/max", r));
        }
        if let Some(r) = &s.values {
            parts.push(range("min/mean/max", r));
        }
        if let Some((lo, hi)) = &s.min_max {
            parts.push(format!("from {lo} to {hi}"));
        }
        let _ = writeln!(out, "  {:name_width$}  {}", s.name, parts.join(" · "));
        if let Some(counts) = &s.counts {
            let _ = writeln!(
                out,
                "  {:name_width$}  by value: {}",
                "",
                reasons_line(counts)
            );
        }
    }
}

/// `3` → `3`, `2.6666` → `2.667`, `0.5` → `0.5`.
fn short_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{}", v as i64);
    }
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}
