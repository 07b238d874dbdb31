//! `ore augment`.

use anyhow::{Result, bail};
use clap::Args;
use ore_augment::{AugmentStage, OpConfig, OpKind};

use crate::stage_args::{StageArgs, as_built, run_stage};

/// Arguments of `ore augment`.
#[derive(Debug, Args)]
pub(crate) struct AugmentArgs {
    #[command(flatten)]
    stage: StageArgs,

    /// Variants of each example (per op with combine = "each"; `n_aug`).
    #[arg(long, value_name = "N")]
    n_aug: Option<usize>,

    /// Use these ops instead of the config's, as TYPE or TYPE:RATE
    /// (repeatable), e.g. `--op synonym:0.2 --op homophone`. Types:
    /// synonym, char_insert, char_delete, char_swap, char_substitute,
    /// keyboard, homophone, equivalent_char, punct_insert, punct_delete,
    /// eda_sr, eda_ri, eda_rs, eda_rd, label_replace, ner_synonym,
    /// mention_replace, segment_shuffle.
    #[arg(long = "op", value_name = "TYPE[:RATE]")]
    ops: Vec<String>,
}

fn parse_op(spec: &str) -> Result<OpConfig> {
    let (kind, rate) = match spec.split_once(':') {
        Some((k, r)) => (k, Some(r)),
        None => (spec, None),
    };
    let kind: OpKind = serde_json::from_value(serde_json::Value::String(kind.to_string()))
        .map_err(|_| {
            anyhow::anyhow!("--op {spec}: unknown op type `{kind}` (see `ore augment --help`)")
        })?;
    let mut op = OpConfig::new(kind);
    if let Some(r) = rate {
        match r.parse::<f64>() {
            Ok(r) if (0.0..=1.0).contains(&r) => op.rate = Some(r),
            _ => bail!("--op {spec}: the rate must be a number in [0, 1]"),
        }
    }
    Ok(op)
}

pub(crate) fn run(args: &AugmentArgs) -> Result<String> {
    let ops = args
        .ops
        .iter()
        .map(|s| parse_op(s))
        .collect::<Result<Vec<_>>>()?;
    run_stage::<AugmentStage>(
        &args.stage.invocation(),
        |config| {
            if let Some(n) = args.n_aug {
                config.n_aug = n;
            }
            if !ops.is_empty() {
                config.ops = ops;
            }
            if config.needs_model_backend() && !ore_core::translate::has_model_backend() {
                hand_to_torch()?;
            }
            Ok(())
        },
        as_built,
    )
}

/// A back-translation through model folders needs libtorch: the same
/// command line goes to `ore-torch` beside this binary, which links the
/// model backend.
fn hand_to_torch() -> Result<()> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(2).collect();
    crate::torch::run_torch("augment", &args)?;
    Ok(())
}
