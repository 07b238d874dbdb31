//! `ore clean`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use ore_clean::{CleanConfig, Cleaner, RunPaths};
use ore_core::WriteOptions;

use crate::stage_args::{StageArgs, summary};

/// Arguments of `ore clean`.
#[derive(Debug, Args)]
pub(crate) struct CleanArgs {
    #[command(flatten)]
    stage: StageArgs,

    /// Near-duplicate index folder: documents kept by earlier runs are
    /// loaded from it (so a new batch is deduplicated against everything
    /// seen before) and the kept documents of this run are added to it.
    #[arg(long, value_name = "DIR")]
    index: Option<PathBuf>,
}

pub(crate) fn run(args: &CleanArgs) -> Result<String> {
    let run = args.stage.resolve("clean", "crawl")?;
    let config: CleanConfig = match &run.pipeline {
        Some(p) => p.section("clean")?,
        None => CleanConfig::default(),
    };
    let cleaner = Cleaner::build(&config)?;
    let paths = RunPaths {
        input: &run.input,
        output: &run.output,
        index: args.index.as_deref(),
    };
    let manifest = cleaner.run(&paths, run.seed, WriteOptions::default())?;
    Ok(summary(&manifest, &run.output))
}
