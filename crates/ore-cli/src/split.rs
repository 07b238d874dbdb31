//! `ore split`, `ore audit` and `ore query`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Result, bail};
use clap::Args;
use ore_core::{Dataset, DatasetWriter, WriteOptions};
use ore_split::audit::write_pairs;
use ore_split::{Audit, AuditColumns, AuditConfig, AuditInput, SplitStage};
use serde_json::Value;

use crate::inspect;
use crate::stage_args::{StageArgs, as_built, run_stage};

/// Arguments of `ore split`.
#[derive(Debug, Args)]
pub(crate) struct SplitArgs {
    #[command(flatten)]
    stage: StageArgs,

    /// Split index folder: rows placed by earlier runs keep their split, new
    /// members of an old group join it, and this run's placements are added
    /// (`index` in [split]).
    #[arg(long, value_name = "DIR")]
    index: Option<PathBuf>,
}

pub(crate) fn run(args: &SplitArgs) -> Result<String> {
    run_stage::<SplitStage>(
        &args.stage.invocation(),
        |config| {
            if let Some(index) = &args.index {
                config.index = Some(index.clone());
            }
            Ok(())
        },
        as_built,
    )
}

/// Arguments of `ore audit`.
#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    /// The training split: a dataset folder or Parquet file (ore's or any
    /// other writer's).
    #[arg(long, value_name = "DIR")]
    train: PathBuf,

    /// An eval split (repeatable): its rows are checked against --train.
    #[arg(long, value_name = "DIR", required = true)]
    eval: Vec<PathBuf>,

    /// The text column compared (default: `text`, else `src`).
    #[arg(long, value_name = "C")]
    text_column: Option<String>,

    /// The id column the pairs name rows by (default: `example_id`,
    /// `doc_id` or `id`, else the row number as `#N`).
    #[arg(long, value_name = "C")]
    id_column: Option<String>,

    /// Jaccard similarity of shingle sets at or above which two rows are
    /// near duplicates.
    #[arg(long, value_name = "J", default_value_t = 0.8)]
    threshold: f64,

    /// n of the long n-gram overlap for Latin-script text, in words.
    #[arg(long, value_name = "N", default_value_t = 13)]
    ngram_words: usize,

    /// n of the long n-gram overlap for CJK text, in characters.
    #[arg(long, value_name = "N", default_value_t = 25)]
    ngram_chars: usize,

    /// The share of an eval row's n-grams one train row must hold for an
    /// n-gram leak.
    #[arg(long, value_name = "F", default_value_t = 0.5)]
    ngram_min_overlap: f64,

    /// N-grams held by more rows than this (train and eval together) are
    /// common phrasing and make no leak.
    #[arg(long, value_name = "N", default_value_t = 10)]
    ngram_max_rows: usize,

    /// Write the offending pairs (train_id, eval_id, eval_set, kind,
    /// similarity) as a dataset here.
    #[arg(long, value_name = "DIR")]
    output: Option<PathBuf>,

    /// Print the counts as one JSON object:
    /// {"exact", "near", "ngram", "variant", "eval_rows", "eval_rows_leaked"}.
    #[arg(long)]
    json: bool,

    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
}

pub(crate) fn audit(args: &AuditArgs) -> Result<String> {
    crate::stage_args::setup_threads(args.threads)?;
    let config = AuditConfig {
        near_threshold: args.threshold,
        ngram_words: args.ngram_words,
        ngram_chars: args.ngram_chars,
        ngram_min_overlap: args.ngram_min_overlap,
        ngram_max_rows: args.ngram_max_rows,
        ..AuditConfig::default()
    };
    let mut columns = AuditColumns {
        text: args.text_column.clone(),
        ..AuditColumns::default()
    };
    if let Some(id) = &args.id_column {
        columns.ids = vec![id.clone()];
    }
    let open = |path: &PathBuf| -> Result<AuditInput> {
        Ok(AuditInput::whole(
            Arc::new(Dataset::open(path)?),
            path.display().to_string(),
        ))
    };
    let train = [open(&args.train)?];
    let eval = args.eval.iter().map(open).collect::<Result<Vec<_>>>()?;
    let mut audit = Audit::new(&config, columns)?;
    if args.json {
        audit = audit.quiet();
    }
    let report = audit.run(&train, &eval)?;
    if let Some(dir) = &args.output {
        write_pairs(dir, &report.pairs)?;
    }
    let c = &report.counts;
    if args.json {
        return Ok(format!("{}\n", serde_json::to_string(c)?));
    }
    let mut out = format!(
        "audit: {} of {} eval rows leak into {} ({} train rows): exact {}, near {}, ngram {}, variant {}\n",
        c.eval_rows_leaked,
        c.eval_rows,
        args.train.display(),
        report.train_rows,
        c.exact,
        c.near,
        c.ngram,
        c.variant
    );
    for p in report.pairs.iter().take(10) {
        let _ = writeln!(
            out,
            "  {} {} ~ train {} ({}, {:.3})",
            p.eval_set, p.eval_id, p.train_id, p.kind, p.similarity
        );
    }
    if report.pairs.len() > 10 {
        let _ = writeln!(
            out,
            "  … {} more pairs{}",
            report.pairs.len() - 10,
            if args.output.is_some() {
                ""
            } else {
                " (--output DIR writes them all)"
            }
        );
    }
    if let Some(dir) = &args.output {
        let _ = writeln!(
            out,
            "{} pairs written to {}",
            report.pairs.len(),
            dir.display()
        );
    }
    Ok(out)
}

/// Arguments of `ore query`.
#[derive(Debug, Args)]
pub(crate) struct QueryArgs {
    /// A dataset folder or Parquet file; the query's table is `self`.
    path: PathBuf,

    /// The SQL (polars' dialect), e.g.
    /// "SELECT lang_detected, count(*) FROM self GROUP BY 1".
    sql: String,

    /// Rows printed (the whole result goes to --json and --output).
    #[arg(long, value_name = "N", default_value_t = 20)]
    head: usize,

    /// Print the result as one JSON object: {"columns": [...], "rows": [...]}.
    #[arg(long)]
    json: bool,

    /// Write the result as a dataset here (replaced atomically).
    #[arg(long, value_name = "DIR")]
    output: Option<PathBuf>,

    /// Table width in columns (default: the terminal's, or 120).
    #[arg(long, value_name = "COLS")]
    width: Option<usize>,
}

pub(crate) fn query(args: &QueryArgs) -> Result<String> {
    if args.sql.trim().is_empty() {
        bail!("ore query: the SQL is empty; e.g. \"SELECT count(*) FROM self\"");
    }
    let result = ore_split::query::query(&args.path, &args.sql)?;
    let rows = result.num_rows();
    if let Some(dir) = &args.output {
        let mut writer =
            DatasetWriter::create(dir, result.schema.clone(), WriteOptions::default())?;
        for batch in &result.batches {
            writer.write(batch)?;
        }
        writer.commit()?;
    }
    if args.json {
        let columns: Vec<Value> = result
            .schema
            .fields()
            .iter()
            .map(|f| Value::from(f.name().as_str()))
            .collect();
        let mut out_rows = Vec::with_capacity(rows);
        for batch in &result.batches {
            for i in 0..batch.num_rows() {
                let row: serde_json::Map<String, Value> = batch
                    .schema()
                    .fields()
                    .iter()
                    .zip(batch.columns())
                    .map(|(f, c)| (f.name().clone(), inspect::json_cell(c.as_ref(), i)))
                    .collect();
                out_rows.push(Value::Object(row));
            }
        }
        let json = serde_json::json!({"columns": columns, "rows": out_rows});
        return Ok(format!("{json}\n"));
    }
    let mut out = inspect::head_table(&result.schema, &result.batches, args.head, args.width);
    let shown = rows.min(args.head);
    let _ = writeln!(
        out,
        "{} row{}{}",
        rows,
        if rows == 1 { "" } else { "s" },
        if shown < rows {
            format!(" (first {shown} shown)")
        } else {
            String::new()
        }
    );
    if let Some(dir) = &args.output {
        let _ = writeln!(out, "written to {}", dir.display());
    }
    Ok(out)
}
