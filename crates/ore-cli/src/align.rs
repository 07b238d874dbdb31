//! `ore align`.

use anyhow::Result;
use clap::Args;
use ore_align::AlignStage;
use ore_core::{Pipeline, StageContext};

use crate::stage_args::{StageArgs, run_stage};

/// Arguments of `ore align`.
#[derive(Debug, Args)]
pub(crate) struct AlignArgs {
    #[command(flatten)]
    stage: StageArgs,

    /// How page pairs are aligned: auto (by element id where the pages
    /// share ids, else by order), ids, or order (Gale–Church) (`method`).
    #[arg(long, value_name = "M")]
    method: Option<String>,
}

/// The pipeline's tokenizer (its `[tokenize]` section, else the default
/// one), for the token-list columns of align and examples.
pub(crate) fn tokenizer(pipeline: Option<&Pipeline>) -> Result<ore_align::stage::Tokenize> {
    let config: ore_tokenize::TokenizeConfig = match pipeline {
        Some(p) if p.has_section("tokenize") => p.section("tokenize")?,
        _ => ore_tokenize::TokenizeConfig::default(),
    };
    let tokenizer = ore_tokenize::Tokenizer::build(&config)?;
    Ok(Box::new(move |text: &str| {
        tokenizer.segmenter().segment(text).tokens
    }))
}

/// Hands the stage the pipeline's tokenizer.
pub(crate) fn with_tokenizer(
    stage: AlignStage,
    _: &StageContext,
    pipeline: Option<&Pipeline>,
) -> Result<AlignStage> {
    Ok(stage.with_tokenizer(tokenizer(pipeline)?))
}

pub(crate) fn run(args: &AlignArgs) -> Result<String> {
    run_stage::<AlignStage>(
        &args.stage.invocation(),
        |config| {
            if let Some(m) = &args.method {
                config.method = serde_json::from_value(serde_json::Value::String(m.clone()))
                    .map_err(|_| anyhow::anyhow!("--method {m}: expected auto, ids or order"))?;
            }
            Ok(())
        },
        with_tokenizer,
    )
}
