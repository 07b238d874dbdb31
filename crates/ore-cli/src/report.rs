//! `ore report`: the pipeline's data report (see `ore-report`).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use ore_core::Pipeline;

/// Arguments of `ore report`.
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// The pipeline file whose outputs to report on.
    #[arg(value_name = "P.toml")]
    pipeline: PathBuf,

    /// Folder to write the report into (replaced if it exists); default
    /// `<output_root>/<pipeline name>/_report/`.
    #[arg(long, value_name = "DIR")]
    output: Option<PathBuf>,

    /// Override a pipeline key as `ore run` does (`--set
    /// pipeline.output_root=/data`), to report on outputs written with it.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

pub(crate) fn run(args: &ReportArgs) -> Result<String> {
    let start = Instant::now();
    let mut pipeline = Pipeline::load(&args.pipeline)?;
    for assignment in &args.set {
        pipeline.set(assignment)?;
    }
    let report = ore_report::build(&pipeline)?;
    let dir = args
        .output
        .clone()
        .unwrap_or_else(|| ore_report::default_dir(&pipeline));
    let dir = ore_report::write(&report, &dir)?;
    Ok(format!(
        "report: {} (index.html, report.md, report.json) in {:.1} s\n",
        dir.display(),
        start.elapsed().as_secs_f64()
    ))
}
