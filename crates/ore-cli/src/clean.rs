//! `ore clean`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use ore_clean::Cleaner;

use crate::stage_args::{StageArgs, as_built, run_stage};

/// Arguments of `ore clean`.
#[derive(Debug, Args)]
pub(crate) struct CleanArgs {
    #[command(flatten)]
    stage: StageArgs,

    /// Near-duplicate index folder: documents kept by earlier runs are
    /// loaded from it (so a new batch is deduplicated against everything
    /// seen before) and the kept documents of this run are added to it
    /// (`index` in [clean]).
    #[arg(long, value_name = "DIR")]
    index: Option<PathBuf>,

    /// Personal information (e-mail, phone, CN resident ID, bank card, IP,
    /// URL credentials): off, count, mask (`[EMAIL]`…), remove or reject,
    /// for every kind (`action` in [clean.pii]; one kind there:
    /// `email = "reject"`).
    #[arg(long, value_name = "ACTION", value_parser = ["off", "count", "mask", "remove", "reject"])]
    pii: Option<String>,
}

pub(crate) fn run(args: &CleanArgs) -> Result<String> {
    run_stage::<Cleaner>(
        &args.stage.invocation(),
        |config| {
            if let Some(index) = &args.index {
                config.index = Some(index.clone());
            }
            if let Some(action) = &args.pii {
                config.pii.action = serde_json::from_value(serde_json::json!(action))?;
            }
            Ok(())
        },
        as_built,
    )
}
