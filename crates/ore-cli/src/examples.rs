//! `ore examples`.

use anyhow::Result;
use clap::Args;
use ore_align::{ExamplesStage, Task};
use ore_core::{Pipeline, StageContext};

use crate::stage_args::{StageArgs, run_stage};

/// Arguments of `ore examples`.
#[derive(Debug, Args)]
pub(crate) struct ExamplesArgs {
    #[command(flatten)]
    stage: StageArgs,

    /// The task: headline (page body → title), summary (rest of the page →
    /// first paragraph) or translation (two crawls → aligned pairs; give
    /// --input twice, source language first) (`task`).
    #[arg(long, value_name = "TASK")]
    task: Option<Task>,
}

pub(crate) fn run(args: &ExamplesArgs) -> Result<String> {
    run_stage::<ExamplesStage>(
        &args.stage.invocation(),
        |config| {
            if let Some(task) = args.task {
                config.task = task;
            }
            Ok(())
        },
        with_tokenizer,
    )
}

/// Hands the stage the pipeline's tokenizer.
pub(crate) fn with_tokenizer(
    stage: ExamplesStage,
    _: &StageContext,
    pipeline: Option<&Pipeline>,
) -> Result<ExamplesStage> {
    Ok(stage.with_tokenizer(crate::align::tokenizer(pipeline)?))
}
