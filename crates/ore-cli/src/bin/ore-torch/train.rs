//! `ore train` and `ore eval`: their flags, applied to the stages' configs
//! (ore-model's `Train` and `Eval`), and the tokenizer they
//! get for examples without token lists (stage crates do not import each
//! other, so the binary hands it over).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use ore_core::{Pipeline, StageContext};
use ore_model::{Eval, Train};
use ore_train::stage::{BoxedTokenizer, has_token_lists};

use crate::stage_args::{Invocation, StageArgs, run_stage};

/// Arguments of `ore train`.
#[derive(Debug, Args)]
pub(crate) struct TrainArgs {
    /// `--input`: an `examples` dataset, a split output (`train/` +
    /// `valid/`) or one dataset from which `data.valid_fraction` is held out
    /// by source_id (default: the section's `input`, else the pipeline's
    /// split, augment or examples output). `--output`: the model folder
    /// (config.json, vocabularies, model.safetensors, checkpoint/, log.csv,
    /// log.parquet, curves.png, _manifest.json).
    #[command(flatten)]
    stage: StageArgs,

    /// What to learn: `seq2seq` (an encoder-decoder on examples) or `tag`
    /// (a BiLSTM-CRF tagger on a tokens dataset's entities, as IOB2 tags)
    /// [default: the config's task, seq2seq].
    #[arg(long, value_name = "TASK")]
    task: Option<String>,

    /// Validation dataset of a tagger (default: the input's `valid/`, else
    /// a `data.valid_fraction` slice held out by source_id).
    #[arg(long, value_name = "DIR")]
    valid: Option<PathBuf>,

    /// Passes over the training data (overrides the config).
    #[arg(long, value_name = "N")]
    epochs: Option<usize>,

    /// Stop after N optimiser steps (overrides the config).
    #[arg(long, value_name = "N")]
    max_steps: Option<u64>,

    /// Continue from the checkpoint in --output.
    #[arg(long)]
    resume: bool,

    /// cpu, cuda or auto (default: the config's, auto).
    #[arg(long, value_name = "DEVICE")]
    device: Option<String>,
}

/// Arguments of `ore eval`. Each flag overrides the `[eval]` key of the
/// same name.
#[derive(Debug, Args)]
pub(crate) struct EvalArgs {
    /// `--input`: examples to decode: a split output (its `test/`, or
    /// --split), or one dataset (the held-out slice when it is the model's
    /// training input); default: the section's `input`, else the first
    /// model's training input. `--output`: a predictions dataset with
    /// `_metrics.json` and `_report/` (report.json, report.md).
    #[command(flatten)]
    stage: StageArgs,

    /// Model folder made by `ore train`; repeat for an ensemble (members
    /// must share vocabularies). Default: the section's `model`, else the
    /// pipeline's train output.
    #[arg(long = "model", value_name = "DIR")]
    models: Vec<PathBuf>,

    /// Beam size (1: greedy) [default: 4].
    #[arg(long, value_name = "N")]
    beam: Option<usize>,

    /// Which split of a split output to decode [default: test].
    #[arg(long, value_name = "NAME")]
    split: Option<String>,

    /// Longest output in units (default: the model's data.max_tgt_len).
    #[arg(long, value_name = "N")]
    max_len: Option<usize>,

    /// Length penalty α: finished beams rank by score / length^α [default: 1].
    #[arg(long, value_name = "ALPHA")]
    length_penalty: Option<f64>,

    /// Never repeat an n-gram of this size (0: off) [default: 0].
    #[arg(long, value_name = "N")]
    no_repeat_ngram: Option<usize>,

    /// No end of output before this many units (0: off) [default: 0].
    #[arg(long, value_name = "N")]
    min_len: Option<usize>,

    /// Metrics language: zh, en or auto (from the references' script).
    #[arg(long, value_name = "LANG")]
    lang: Option<String>,

    /// Lead baseline length in units (default: tuned by ROUGE-L on `valid`
    /// of a split, or on the training rows of the model's own input).
    #[arg(long, value_name = "K")]
    lead_k: Option<usize>,

    /// cpu, cuda or auto [default: auto].
    #[arg(long, value_name = "DEVICE")]
    device: Option<String>,
}

/// The pipeline's tokenizer (its `[tokenize]` section) when `input` has no
/// token lists.
fn tokenizer_for(
    input: Option<&PathBuf>,
    pipeline: Option<&Pipeline>,
) -> Result<Option<BoxedTokenizer>> {
    if input.is_none_or(|i| has_token_lists(i)) {
        return Ok(None);
    }
    let config: ore_tokenize::TokenizeConfig = match pipeline {
        Some(p) => p.section("tokenize")?,
        None => ore_tokenize::TokenizeConfig::default(),
    };
    let tokenizer = ore_tokenize::Tokenizer::build(&config)?;
    Ok(Some(Box::new(move |text: &str| {
        tokenizer.segmenter().segment(text).tokens
    })))
}

pub(crate) fn train(args: &TrainArgs) -> Result<String> {
    let mut inv: Invocation = args.stage.invocation();
    inv.resume = args.resume;
    if let Some(valid) = &args.valid {
        inv.inputs.push(("valid", vec![valid.clone()]));
    }
    run_stage::<Train>(
        &inv,
        |config| {
            if let Some(task) = &args.task {
                config.task = match task.as_str() {
                    "seq2seq" => ore_train::config::Task::Seq2seq,
                    "tag" => ore_train::config::Task::Tag,
                    other => anyhow::bail!("--task {other}: expected seq2seq or tag"),
                };
            }
            if let Some(e) = args.epochs {
                config.epochs = e;
            }
            if args.max_steps.is_some() {
                config.max_steps = args.max_steps;
            }
            if let Some(d) = &args.device {
                config.device.clone_from(d);
            }
            config
                .validate()
                .map_err(|e| anyhow::anyhow!("train config: {e}"))
        },
        |stage, ctx: &StageContext, pipeline| {
            if stage.config().task == ore_train::config::Task::Tag {
                return Ok(stage);
            }
            Ok(
                match tokenizer_for(ctx.inputs("input").first(), pipeline)? {
                    Some(t) => stage.with_tokenizer(t),
                    None => stage,
                },
            )
        },
    )
}

pub(crate) fn eval(args: &EvalArgs) -> Result<String> {
    let mut inv: Invocation = args.stage.invocation();
    if !args.models.is_empty() {
        inv.inputs.push(("model", args.models.clone()));
    }
    run_stage::<Eval>(
        &inv,
        |c| {
            macro_rules! set {
                ($($field:ident),*) => {$(
                    if let Some(v) = &args.$field {
                        c.$field = v.clone();
                    }
                )*};
            }
            set!(
                beam,
                split,
                length_penalty,
                no_repeat_ngram,
                min_len,
                lang,
                device
            );
            if args.max_len.is_some() {
                c.max_len = args.max_len;
            }
            if args.lead_k.is_some() {
                c.lead_k = args.lead_k;
            }
            Ok(())
        },
        |stage, ctx: &StageContext, pipeline| {
            // The input defaults to the model's training input, known once
            // the model is loaded; examples without tokens are rare there.
            Ok(
                match tokenizer_for(ctx.inputs("input").first(), pipeline)? {
                    Some(t) => stage.with_tokenizer(t),
                    None => stage,
                },
            )
        },
    )
}

/// Arguments of `ore translate`. Each flag overrides the `[translate]` key
/// of the same name.
#[derive(Debug, Args)]
pub(crate) struct TranslateArgs {
    /// `--input`: a dataset whose `src` (else `text`) column is translated;
    /// `--output`: a `translations` dataset (example_id, source_id, src,
    /// translation), empty outputs in `_rejects/`.
    #[command(flatten)]
    stage: StageArgs,

    /// Model folder made by `ore train` (default: the section's `model`,
    /// else the pipeline's train output).
    #[arg(long, value_name = "DIR")]
    model: Option<PathBuf>,

    /// The text column to translate (default: src, else text).
    #[arg(long, value_name = "C")]
    column: Option<String>,

    /// Beam size (1: greedy) [default: 1].
    #[arg(long, value_name = "N")]
    beam: Option<usize>,

    /// Sample each unit (seeded per row by --seed and the row id) instead
    /// of searching.
    #[arg(long)]
    sample: bool,

    /// Softmax temperature when sampling [default: 1].
    #[arg(long, value_name = "T")]
    temperature: Option<f64>,

    /// Longest output in units [default: 100].
    #[arg(long, value_name = "N")]
    max_len: Option<usize>,
}

/// The pipeline's tokenizer (its `[tokenize]` section, else the default).
pub(crate) fn source_tokenizer(pipeline: Option<&Pipeline>) -> Result<BoxedTokenizer> {
    let config: ore_tokenize::TokenizeConfig = match pipeline {
        Some(p) if p.has_section("tokenize") => p.section("tokenize")?,
        _ => ore_tokenize::TokenizeConfig::default(),
    };
    let tokenizer = ore_tokenize::Tokenizer::build(&config)?;
    Ok(Box::new(move |text: &str| {
        tokenizer.segmenter().segment(text).tokens
    }))
}

/// The `model` backend of the Translator seam, for the back-translation
/// op: the default tokenizer feeds the model.
pub(crate) fn model_backend(
    config: &ore_core::translate::ModelTranslatorConfig,
) -> std::result::Result<Box<dyn ore_core::Translator>, ore_core::TranslateError> {
    let tokenize = source_tokenizer(None)
        .map_err(|e| ore_core::TranslateError::Setup(format!("tokenizer: {e}")))?;
    let t = ore_model::translator::ModelTranslator::load(config, std::sync::Arc::from(tokenize))?;
    Ok(Box::new(t))
}

pub(crate) fn translate(args: &TranslateArgs) -> Result<String> {
    let mut inv: Invocation = args.stage.invocation();
    if let Some(m) = &args.model {
        inv.inputs.push(("model", vec![m.clone()]));
    }
    run_stage::<ore_model::Translate>(
        &inv,
        |c| {
            if let Some(b) = args.beam {
                c.beam = b;
            }
            if args.sample {
                c.sample = true;
            }
            if let Some(t) = args.temperature {
                c.temperature = t;
            }
            if let Some(m) = args.max_len {
                c.max_len = m;
            }
            if args.column.is_some() {
                c.column.clone_from(&args.column);
            }
            c.validate().map_err(|e| anyhow::anyhow!("{e}"))
        },
        |stage, _ctx: &StageContext, pipeline| Ok(stage.with_tokenizer(source_tokenizer(pipeline)?)),
    )
}
