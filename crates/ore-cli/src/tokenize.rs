//! `ore tokenize` and `ore import`.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use ore_core::WriteOptions;
use ore_tokenize::TokenizeConfig;
use ore_tokenize::import::{conll, headlines, pku};

use crate::stage_args::{StageArgs, summary};

/// Arguments of `ore tokenize`.
#[derive(Debug, Args)]
pub(crate) struct TokenizeArgs {
    #[command(flatten)]
    stage: StageArgs,
}

pub(crate) fn run(args: &TokenizeArgs) -> Result<String> {
    let run = args.stage.resolve("tokenize", "clean")?;
    let config: TokenizeConfig = match &run.pipeline {
        Some(p) => p.section("tokenize")?,
        None => TokenizeConfig::default(),
    };
    let manifest = ore_tokenize::Tokenizer::build_and_run(
        &config,
        &run.input,
        &run.output,
        run.seed,
        WriteOptions::default(),
    )?;
    Ok(summary(&manifest, &run.output))
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
        /// Output dataset folder.
        #[arg(long, value_name = "DIR")]
        output: PathBuf,
        /// How B-/I- tags are read: auto, iob1 or iob2 (strict).
        #[arg(long, value_name = "SCHEME", default_value = "auto", value_parser = parse_scheme)]
        scheme: conll::Scheme,
    },
    /// People's Daily `word/tag` format (PKU tags; `[…]nt` compounds) to a
    /// tokens dataset with gold POS tags and entity spans.
    Pku {
        /// Files to import, in order.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Output dataset folder.
        #[arg(long, value_name = "DIR")]
        output: PathBuf,
    },
    /// Headline → lead-paragraph pairs recovered from People's Daily
    /// (`word/tag` format) as an `examples` dataset (src = lead, tgt =
    /// headline, gold tokens), for training headline generation.
    Headlines {
        /// Files to import, in order.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Output dataset folder.
        #[arg(long, value_name = "DIR")]
        output: PathBuf,
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

pub(crate) fn import(args: &ImportArgs) -> Result<String> {
    let (manifest, output) = match &args.format {
        ImportFormat::Conll {
            files,
            output,
            scheme,
        } => (
            conll::import(files, output, conll::ConllConfig { scheme: *scheme })?,
            output,
        ),
        ImportFormat::Headlines { files, output } => (
            headlines::import(files, output, &headlines::HeadlineConfig::default())?,
            output,
        ),
        ImportFormat::Pku { files, output } => (
            pku::import(files, output, &pku::PkuConfig::default())?,
            output,
        ),
    };
    Ok(summary(&manifest, output))
}
