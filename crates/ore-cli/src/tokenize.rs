//! `ore tokenize` and `ore import`.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use ore_tokenize::import::conll;
use ore_tokenize::{
    ConllImport, HeadlinesImport, PkuImport, TableFormat, TableImport, TokenizeStage,
};

use crate::stage_args::{CommonArgs, Invocation, StageArgs, as_built, as_configured, run_stage};

/// Arguments of `ore tokenize`.
#[derive(Debug, Args)]
pub(crate) struct TokenizeArgs {
    #[command(flatten)]
    stage: StageArgs,
}

pub(crate) fn run(args: &TokenizeArgs) -> Result<String> {
    run_stage::<TokenizeStage>(&args.stage.invocation(), as_configured, as_built)
}

/// `ore import FORMAT FILE… --output DIR`.
#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    #[command(subcommand)]
    format: ImportFormat,
}

#[derive(Debug, Subcommand)]
enum ImportFormat {
    /// CoNLL-2003 (`word POS chunk NER` a line, IOB1 or IOB2) to a tokens
    /// dataset with gold POS, chunk and NER tags and entity spans.
    Conll {
        /// Files to import, in order.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        #[command(flatten)]
        common: CommonArgs,
        /// How B-/I- tags are read: auto, iob1 or iob2 (strict) [default: auto].
        #[arg(long, value_name = "SCHEME", value_parser = parse_scheme)]
        scheme: Option<conll::Scheme>,
    },
    /// JSONL, CSV, TSV, plain-line or Parquet dumps (`.gz` and `.zst` read
    /// as they stream) to a `documents` dataset: a column mapping, stable
    /// ids (the mapped id, else a hash of the text), extra columns kept,
    /// rows without text and malformed lines in `_rejects/` with their line.
    Table {
        /// Files to import, in order.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        #[command(flatten)]
        common: CommonArgs,
        /// jsonl, csv, tsv, lines, parquet or auto (from the extension)
        /// [default: auto].
        #[arg(long, value_name = "FORMAT", value_parser = parse_table_format)]
        format: Option<TableFormat>,
        /// Column holding the text [default: text].
        #[arg(long, value_name = "COLUMN")]
        text: Option<String>,
        /// Column holding the title.
        #[arg(long, value_name = "COLUMN")]
        title: Option<String>,
        /// Column holding a stable id (else the id is a hash of the text).
        #[arg(long, value_name = "COLUMN")]
        id: Option<String>,
        /// Column holding the row's URL (`url` and `final_url`).
        #[arg(long, value_name = "COLUMN")]
        url: Option<String>,
        /// Column holding the time: unix seconds or RFC 3339 (`fetched_at`).
        #[arg(long, value_name = "COLUMN")]
        time: Option<String>,
        /// Column holding the language code.
        #[arg(long, value_name = "COLUMN")]
        lang: Option<String>,
        /// Drop the input's other columns (kept by default).
        #[arg(long)]
        no_extra: bool,
        /// CSV/TSV files have no header line (columns are column_1, column_2, …).
        #[arg(long)]
        no_header: bool,
        /// A constant column on every row, NAME=VALUE (repeatable), e.g.
        /// `--column sentiment=pos`.
        #[arg(long = "column", value_name = "NAME=VALUE", value_parser = parse_column)]
        columns: Vec<(String, String)>,
    },
    /// People's Daily `word/tag` format (PKU tags; `[…]nt` compounds) to a
    /// tokens dataset with gold POS tags and entity spans.
    Pku {
        /// Files to import, in order.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Headline → lead-paragraph pairs recovered from People's Daily
    /// (`word/tag` format) as an `examples` dataset (src = lead, tgt =
    /// headline, gold tokens), for training headline generation.
    Headlines {
        /// Files to import, in order.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        #[command(flatten)]
        common: CommonArgs,
    },
}

fn parse_scheme(s: &str) -> Result<conll::Scheme, String> {
    match s {
        "auto" => Ok(conll::Scheme::Auto),
        "iob1" => Ok(conll::Scheme::Iob1),
        "iob2" => Ok(conll::Scheme::Iob2),
        other => Err(format!(
            "unknown scheme `{other}` (expected auto, iob1 or iob2)"
        )),
    }
}

/// A `--format` value, by the names the `[import]` section takes.
fn parse_table_format(s: &str) -> Result<TableFormat, String> {
    serde_json::from_value(serde_json::Value::from(s)).map_err(|e| e.to_string())
}

fn parse_column(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
        _ => Err(format!("`{s}`: expected NAME=VALUE")),
    }
}

pub(crate) fn import(args: &ImportArgs) -> Result<String> {
    let invocation = |files: &[PathBuf], common: &CommonArgs| {
        let mut inv = Invocation::new(common);
        inv.inputs.push(("input", files.to_vec()));
        inv
    };
    match &args.format {
        ImportFormat::Conll {
            files,
            common,
            scheme,
        } => run_stage::<ConllImport>(
            &invocation(files, common),
            |config| {
                if let Some(scheme) = scheme {
                    config.scheme = *scheme;
                }
                Ok(())
            },
            as_built,
        ),
        ImportFormat::Table {
            files,
            common,
            format,
            text,
            title,
            id,
            url,
            time,
            lang,
            no_extra,
            no_header,
            columns,
        } => run_stage::<TableImport>(
            &invocation(files, common),
            |config| {
                if let Some(f) = format {
                    config.format = *f;
                }
                if let Some(t) = text {
                    config.text.clone_from(t);
                }
                for (field, value) in [
                    (&mut config.title, title),
                    (&mut config.id, id),
                    (&mut config.url, url),
                    (&mut config.time, time),
                    (&mut config.lang, lang),
                ] {
                    if value.is_some() {
                        field.clone_from(value);
                    }
                }
                if *no_extra {
                    config.keep_extra = false;
                }
                if *no_header {
                    config.csv_header = false;
                }
                config.set.extend(columns.iter().cloned());
                Ok(())
            },
            as_built,
        ),
        ImportFormat::Headlines { files, common } => {
            run_stage::<HeadlinesImport>(&invocation(files, common), as_configured, as_built)
        }
        ImportFormat::Pku { files, common } => {
            run_stage::<PkuImport>(&invocation(files, common), as_configured, as_built)
        }
    }
}
