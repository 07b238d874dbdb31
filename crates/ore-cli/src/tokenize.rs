//! `ore tokenize` and `ore import`.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use ore_tokenize::import::conll;
use ore_tokenize::{ConllImport, HeadlinesImport, PkuImport, TokenizeStage};

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
        ImportFormat::Headlines { files, common } => {
            run_stage::<HeadlinesImport>(&invocation(files, common), as_configured, as_built)
        }
        ImportFormat::Pku { files, common } => {
            run_stage::<PkuImport>(&invocation(files, common), as_configured, as_built)
        }
    }
}
