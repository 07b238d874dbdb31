//! `ore train` and `ore eval`: glue between the train stage (ore-train), the
//! tokenizer (for examples without token lists) and the metrics (ore-eval).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use clap::Args;
use ore_core::{Dataset, Pipeline, StageInfo, StageOutput, WriteOptions};
use ore_eval::{EvalConfig, Lang, Report};
use ore_train::TrainConfig;
use ore_train::data::{self, Example, Source};
use ore_train::decode::{DecodeOptions, check_members, decode};
use ore_train::train::{self as trainer, TrainOptions, Trained};
use serde_json::json;

/// Arguments of `ore train`.
#[derive(Debug, Args)]
pub(crate) struct TrainArgs {
    /// Pipeline file: its `[train]` section (every key has a default), the
    /// seed, and default folders under `datasets/NAME/`.
    #[arg(long, value_name = "P.toml")]
    config: Option<PathBuf>,

    /// An `examples` dataset: a split output (`train/` + `valid/`) or one
    /// dataset, from which `data.valid_fraction` is held out by source_id.
    /// Default: the pipeline's split, augment or examples output, the first
    /// that exists.
    #[arg(long, value_name = "DIR")]
    input: Option<PathBuf>,

    /// Model folder: config.json, vocabularies, model.safetensors (best
    /// weights), checkpoint/, log.csv, log.parquet, curves.png.
    #[arg(long, value_name = "DIR")]
    output: Option<PathBuf>,

    /// Passes over the training data (overrides the config).
    #[arg(long, value_name = "N")]
    epochs: Option<usize>,

    /// Stop after N optimiser steps (overrides the config).
    #[arg(long, value_name = "N")]
    max_steps: Option<u64>,

    /// Seed of initialisation, shuffling and dropout (default: the
    /// pipeline's, else 0).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,

    /// Continue from the checkpoint in --output.
    #[arg(long)]
    resume: bool,

    /// libtorch threads (default: all cores).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,

    /// cpu, cuda or auto (default: the config's, auto).
    #[arg(long, value_name = "DEVICE")]
    device: Option<String>,
}

/// Arguments of `ore eval`.
#[derive(Debug, Args)]
pub(crate) struct EvalArgs {
    /// Pipeline file (default folders and seed).
    #[arg(long, value_name = "P.toml")]
    config: Option<PathBuf>,

    /// Model folder made by `ore train`; repeat for an ensemble (members
    /// must share vocabularies). Default: the pipeline's train output.
    #[arg(long = "model", value_name = "DIR")]
    models: Vec<PathBuf>,

    /// Examples to decode: a split output (its `test/`, or --split), or one
    /// dataset (the held-out slice when it is the model's training input).
    /// Default: the first model's training input.
    #[arg(long, value_name = "DIR")]
    input: Option<PathBuf>,

    /// Output: a predictions dataset with metrics.json, report.json and
    /// report.md.
    #[arg(long, value_name = "DIR")]
    output: Option<PathBuf>,

    /// Beam size (1: greedy).
    #[arg(long, value_name = "N", default_value_t = 4)]
    beam: usize,

    /// Which split of a split output to decode.
    #[arg(long, value_name = "NAME", default_value = "test")]
    split: String,

    /// Longest output in units (default: the model's data.max_tgt_len).
    #[arg(long, value_name = "N")]
    max_len: Option<usize>,

    /// Length penalty α: finished beams rank by score / length^α.
    #[arg(long, value_name = "ALPHA", default_value_t = 1.0)]
    length_penalty: f64,

    /// Never repeat an n-gram of this size (0: off).
    #[arg(long, value_name = "N", default_value_t = 0)]
    no_repeat_ngram: usize,

    /// No end of output before this many units (0: off).
    #[arg(long, value_name = "N", default_value_t = 0)]
    min_len: usize,

    /// Metrics language: zh, en or auto (from the references' script).
    #[arg(long, value_name = "LANG", default_value = "auto")]
    lang: String,

    /// Lead baseline length in units (default: tuned by ROUGE-L on `valid`
    /// of a split, or on the training rows of the model's own input).
    #[arg(long, value_name = "K")]
    lead_k: Option<usize>,

    /// libtorch threads (default: all cores).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,

    /// cpu, cuda or auto.
    #[arg(long, value_name = "DEVICE", default_value = "auto")]
    device: String,
}

/// The stages whose output `ore train` reads by default, in order of
/// preference.
const TRAIN_INPUTS: [&str; 3] = ["split", "augment", "examples"];

fn default_train_input(pipeline: &Pipeline) -> Result<PathBuf> {
    let candidates: Vec<PathBuf> = TRAIN_INPUTS
        .iter()
        .map(|s| pipeline.stage_output(s))
        .collect();
    match candidates.iter().find(|p| p.exists()) {
        Some(p) => Ok(p.clone()),
        None => bail!(
            "ore train: no input: none of {} exists; run the earlier stages or pass --input",
            candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Text to tokens, owned.
type BoxedTokenizer = Box<dyn Fn(&str) -> Vec<String> + Sync>;

/// A tokenizer (the pipeline's `[tokenize]` settings) when `input` has no
/// token lists, `None` when it has them.
fn tokenizer_for(input: &Path, pipeline: Option<&Pipeline>) -> Result<Option<BoxedTokenizer>> {
    let probe = if input.join("train").is_dir() {
        input.join("train")
    } else {
        input.to_path_buf()
    };
    let has_tokens = Dataset::open(&probe).is_ok_and(|d| {
        let s = d.schema();
        s.index_of(ore_core::schema::examples::SRC_TOKENS).is_ok()
            && s.index_of(ore_core::schema::examples::TGT_TOKENS).is_ok()
    });
    if has_tokens {
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
    let pipeline = args.config.as_deref().map(Pipeline::load).transpose()?;
    let input = match (&args.input, &pipeline) {
        (Some(p), _) => p.clone(),
        (None, Some(p)) => default_train_input(p)?,
        (None, None) => bail!("ore train: --input is required (or --config P.toml)"),
    };
    let output = match (&args.output, &pipeline) {
        (Some(p), _) => p.clone(),
        (None, Some(p)) => p.stage_output("train"),
        (None, None) => bail!("ore train: --output is required (or --config P.toml)"),
    };
    let mut config: TrainConfig = match &pipeline {
        Some(p) => p.section("train")?,
        None => TrainConfig::default(),
    };
    if let Some(e) = args.epochs {
        config.epochs = e;
    }
    if args.max_steps.is_some() {
        config.max_steps = args.max_steps;
    }
    if args.threads.is_some() {
        config.threads = args.threads;
    }
    if let Some(d) = &args.device {
        config.device.clone_from(d);
    }
    config
        .validate()
        .map_err(|e| anyhow::anyhow!("train config: {e}"))?;
    let seed = args
        .seed
        .or(pipeline.as_ref().map(|p| p.pipeline.seed))
        .unwrap_or(0);

    if !args.resume {
        trainer::refuse_foreign_folder(&output)?;
    }
    let source = Source::detect(&input, config.data.valid_fraction);
    let tokenize = tokenizer_for(&input, pipeline.as_ref())?;
    let tok_ref: Option<data::TextTokenizer<'_>> = tokenize.as_deref();
    let (train_set, valid_set) = data::load_split(&source, tok_ref)?;
    let (input_hash, held_out) = match &source {
        Source::HeldOut { path, fraction } => {
            (Dataset::open(path)?.content_hash()?, Some(*fraction))
        }
        Source::Split { train, .. } => (Dataset::open(train)?.content_hash()?, None),
    };
    let options = TrainOptions {
        seed,
        resume: args.resume,
        log_every: 0,
        input_label: input.display().to_string(),
        input_hash,
        held_out_fraction: held_out,
    };
    eprintln!(
        "ore train: {} training and {} validation examples from {}{}",
        train_set.len(),
        valid_set.len(),
        input.display(),
        if held_out.is_some() {
            " (validation held out by source_id)"
        } else {
            ""
        }
    );
    let report = trainer::train(&train_set, &valid_set, &output, &config, &options)?;
    let best = report.best_valid_loss.map_or_else(
        || "no validation data".into(),
        |l| format!("best valid loss {l:.4} at step {}", report.best_step),
    );
    Ok(format!(
        "train: {} steps ({} epochs) on {} examples, {best}, {:.0} target units/s on {}, {} — model in {} in {:.1} s\n",
        report.steps,
        report.epochs,
        report.train_examples,
        report.tokens_per_s,
        report.device,
        report.stopped,
        output.display(),
        report.wall_s
    ))
}

/// Rows to decode and rows to tune the lead baseline on, with a note on
/// where they came from.
struct EvalData {
    eval: Vec<Example>,
    tune: Vec<Example>,
    note: String,
    input: PathBuf,
    /// The input, when it was already opened (and hashed) to recognise the
    /// model's own training data.
    dataset: Option<Dataset>,
}

fn eval_data(
    args: &EvalArgs,
    input: &Path,
    first: &Trained,
    tokenize: Option<data::TextTokenizer<'_>>,
) -> Result<EvalData> {
    let split_dir = input.join(&args.split);
    if split_dir.is_dir() {
        let eval = data::load_examples(&split_dir, tokenize)?;
        let valid = input.join("valid");
        let (tune, note) = if valid.is_dir() && args.split != "valid" {
            (
                data::load_examples(&valid, tokenize)?,
                format!("split `{}`; lead baseline tuned on `valid`", args.split),
            )
        } else {
            (
                eval.clone(),
                format!(
                    "split `{}`; lead baseline tuned on the same rows (no separate validation split)",
                    args.split
                ),
            )
        };
        return Ok(EvalData {
            eval,
            tune,
            note,
            input: split_dir,
            dataset: None,
        });
    }
    let all = data::load_examples(input, tokenize)?;
    let dataset = Dataset::open(input)?;
    let hash = dataset.content_hash()?;
    match first.meta.held_out_fraction {
        Some(fraction) if hash == first.meta.input_hash => {
            let (eval, rest): (Vec<Example>, Vec<Example>) = all
                .into_iter()
                .partition(|e| data::is_held_out(&e.source_id, fraction));
            if eval.is_empty() {
                bail!(
                    "{}: the model's held-out slice is empty; nothing to evaluate",
                    input.display()
                );
            }
            // The lead length is tuned on the training rows (at most 2,000),
            // never on the rows it is scored on.
            let step = rest.len().div_ceil(2000).max(1);
            let tune: Vec<Example> = rest.into_iter().step_by(step).collect();
            let tune = if tune.is_empty() { eval.clone() } else { tune };
            Ok(EvalData {
                tune,
                eval,
                note: format!(
                    "held-out slice ({:.0}% by source_id) of the model's training input; lead baseline tuned on the training rows",
                    fraction * 100.0
                ),
                input: input.to_path_buf(),
                dataset: Some(dataset),
            })
        }
        _ => {
            if hash == first.meta.input_hash {
                eprintln!(
                    "warning: {} is the data the model was trained on",
                    input.display()
                );
            }
            Ok(EvalData {
                tune: all.clone(),
                eval: all,
                note: "every row of the input; lead baseline tuned on the same rows".into(),
                input: input.to_path_buf(),
                dataset: Some(dataset),
            })
        }
    }
}

fn is_han(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}')
}

fn detect_lang(refs: &[&str]) -> Lang {
    let (mut han, mut letters) = (0usize, 0usize);
    for c in refs.iter().flat_map(|r| r.chars()) {
        if is_han(c) {
            han += 1;
        } else if c.is_alphabetic() {
            letters += 1;
        }
    }
    if han * 2 >= letters {
        Lang::Zh
    } else {
        Lang::En
    }
}

/// Units back to text: Chinese joins units directly (a space only between
/// two Latin/digit units); other languages join with spaces.
fn detokenize(units: &[String], lang: Lang) -> String {
    match lang {
        Lang::En => units.join(" "),
        Lang::Zh => {
            let mut out = String::new();
            let mut prev_ascii = false;
            for u in units {
                let ascii = u.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
                if ascii && prev_ascii {
                    out.push(' ');
                }
                out.push_str(u);
                prev_ascii = u.chars().last().is_some_and(|c| c.is_ascii_alphanumeric());
            }
            out
        }
    }
}

/// The first `k` source units of each example.
fn lead(
    examples: &[Example],
    k: usize,
    units: ore_train::config::Units,
    lang: Lang,
) -> Vec<String> {
    examples
        .iter()
        .map(|e| {
            let u = data::units(&e.src, units);
            detokenize(&u[..k.min(u.len())], lang)
        })
        .collect()
}

fn score(config: &EvalConfig, hyps: &[String], refs: &[&str]) -> Result<Report> {
    Ok(ore_eval::evaluate(config, hyps, &[refs.to_vec()])?)
}

pub(crate) fn eval(args: &EvalArgs) -> Result<String> {
    let started = std::time::Instant::now();
    let pipeline = args.config.as_deref().map(Pipeline::load).transpose()?;
    let models: Vec<PathBuf> = match (&args.models[..], &pipeline) {
        ([], Some(p)) => vec![p.stage_output("train")],
        ([], None) => bail!("ore eval: --model is required (or --config P.toml)"),
        (m, _) => m.to_vec(),
    };
    let output = match (&args.output, &pipeline) {
        (Some(p), _) => p.clone(),
        (None, Some(p)) => p.stage_output("eval"),
        (None, None) => bail!("ore eval: --output is required (or --config P.toml)"),
    };
    let device = trainer::device(&args.device)?;
    trainer::set_threads(args.threads);
    let loaded: Vec<Trained> = models
        .iter()
        .map(|m| {
            Trained::load(m, None, device).with_context(|| format!("loading model {}", m.display()))
        })
        .collect::<Result<_>>()?;
    let members: Vec<&Trained> = loaded.iter().collect();
    let names: Vec<String> = models.iter().map(|m| m.display().to_string()).collect();
    check_members(&members, &names)?;
    let first = members[0];
    let input = match &args.input {
        Some(p) => p.clone(),
        None => PathBuf::from(&first.meta.input),
    };
    let tokenize = tokenizer_for(&input, pipeline.as_ref())?;
    let tok_ref: Option<data::TextTokenizer<'_>> = tokenize.as_deref();
    let data = eval_data(args, &input, first, tok_ref)?;
    if data.eval.is_empty() {
        bail!("{}: no examples to evaluate", data.input.display());
    }
    let refs: Vec<&str> = data.eval.iter().map(|e| e.tgt_text.as_str()).collect();
    let lang = match args.lang.as_str() {
        "auto" => detect_lang(&refs),
        other => other.parse::<Lang>().map_err(anyhow::Error::msg)?,
    };
    let metrics_config = EvalConfig::for_lang(lang);
    let units = first.meta.train.data.units;
    let opts = DecodeOptions {
        beam: args.beam.max(1),
        max_len: args.max_len.unwrap_or(first.meta.train.data.max_tgt_len),
        length_penalty: args.length_penalty,
        no_repeat_ngram: args.no_repeat_ngram,
        min_len: args.min_len,
        batch_size: 64,
    };

    let decoded = decode(&members, &data.eval, &opts, device)?;
    let hyps: Vec<String> = decoded.iter().map(|u| detokenize(u, lang)).collect();
    let report = score(&metrics_config, &hyps, &refs)?;
    let per_example = ore_eval::per_example(&metrics_config, &hyps, std::slice::from_ref(&refs))?;

    // Lead baseline: k tuned by ROUGE-L F1 on the tuning rows.
    let tune_refs: Vec<&str> = data.tune.iter().map(|e| e.tgt_text.as_str()).collect();
    let (lead_k, tuned) = match args.lead_k {
        Some(k) => (k, false),
        None => {
            let longest = data
                .tune
                .iter()
                .map(|e| data::units(&e.tgt, units).len())
                .max()
                .unwrap_or(1);
            let mut best = (1usize, f64::MIN);
            for k in 1..=(2 * longest).clamp(1, 100) {
                let r = score(
                    &metrics_config,
                    &lead(&data.tune, k, units, lang),
                    &tune_refs,
                )?;
                if r.rouge_l.fmeasure > best.1 {
                    best = (k, r.rouge_l.fmeasure);
                }
            }
            (best.0, true)
        }
    };
    let lead_report = score(
        &metrics_config,
        &lead(&data.eval, lead_k, units, lang),
        &refs,
    )?;

    let mut member_reports = Vec::new();
    if members.len() > 1 {
        for (m, name) in members.iter().zip(&names) {
            let d = decode(&[*m], &data.eval, &opts, device)?;
            let h: Vec<String> = d.iter().map(|u| detokenize(u, lang)).collect();
            member_reports.push((name.clone(), score(&metrics_config, &h, &refs)?));
        }
    }

    // Predictions dataset + reports, committed together.
    let schema = Arc::new(Schema::new(vec![
        Field::new("example_id", DataType::Utf8, false),
        Field::new("source_id", DataType::Utf8, false),
        Field::new("src", DataType::Utf8, false),
        Field::new("hyp", DataType::Utf8, false),
        Field::new("ref", DataType::Utf8, false),
        Field::new("bleu", DataType::Float64, false),
        Field::new("rouge1", DataType::Float64, false),
        Field::new("rouge2", DataType::Float64, false),
        Field::new("rougeL", DataType::Float64, false),
    ]));
    let config_record = json!({
        "models": names, "beam": opts.beam, "max_len": opts.max_len,
        "length_penalty": opts.length_penalty, "no_repeat_ngram": opts.no_repeat_ngram,
        "lang": format!("{lang:?}").to_lowercase(), "split": args.split,
    });
    let info = StageInfo::new("eval", &config_record, first.meta.seed);
    let mut out = StageOutput::create(&output, schema.clone(), info, WriteOptions::default())?;
    if let Some(d) = &data.dataset {
        out.add_input(d)?;
    } else if let Ok(d) = Dataset::open(&data.input) {
        out.add_input(&d)?;
    }
    out.count_input(data.eval.len() as u64);
    let e = &data.eval;
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            e.iter().map(|x| x.example_id.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            e.iter().map(|x| x.source_id.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            e.iter().map(|x| x.src_text.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            hyps.iter().map(String::as_str),
        )),
        Arc::new(StringArray::from_iter_values(refs.iter().copied())),
        Arc::new(Float64Array::from_iter_values(
            per_example.iter().map(|s| s.bleu),
        )),
        Arc::new(Float64Array::from_iter_values(
            per_example.iter().map(|s| s.rouge1),
        )),
        Arc::new(Float64Array::from_iter_values(
            per_example.iter().map(|s| s.rouge2),
        )),
        Arc::new(Float64Array::from_iter_values(
            per_example.iter().map(|s| s.rouge_l),
        )),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    for start in (0..e.len()).step_by(8192) {
        out.write(&batch.slice(start, 8192.min(e.len() - start)))?;
    }
    let metrics = serde_json::to_string_pretty(&serde_json::to_value(&report)?)? + "\n";
    out.write_file("metrics.json", metrics.as_bytes())?;
    let report_json = json!({
        "examples": e.len(),
        "data": data.note,
        "system": report,
        "lead_baseline": {"k": lead_k, "tuned": tuned, "scores": lead_report},
        "members": member_reports.iter().map(|(n, r)| json!({"model": n, "scores": r})).collect::<Vec<_>>(),
        "decoding": config_record,
    });
    out.write_file(
        "report.json",
        (serde_json::to_string_pretty(&report_json)? + "\n").as_bytes(),
    )?;
    let markdown = markdown_report(
        &data,
        &names,
        &report,
        lead_k,
        tuned,
        &lead_report,
        &member_reports,
        &opts,
    );
    out.write_file("report.md", markdown.as_bytes())?;
    out.set_summary("bleu", json!((report.bleu.score * 100.0).round() / 100.0));
    out.set_summary(
        "rougeL_f",
        json!((report.rouge_l.fmeasure * 10000.0).round() / 10000.0),
    );
    out.set_started(started);
    out.commit()?;
    Ok(format!(
        "eval: {} examples ({}), BLEU {:.2}, ROUGE-1/2/L F1 {:.4}/{:.4}/{:.4}; lead-{lead_k} baseline BLEU {:.2}, ROUGE-L {:.4} — {} in {:.1} s\n",
        e.len(),
        data.note,
        report.bleu.score,
        report.rouge1.fmeasure,
        report.rouge2.fmeasure,
        report.rouge_l.fmeasure,
        lead_report.bleu.score,
        lead_report.rouge_l.fmeasure,
        output.display(),
        started.elapsed().as_secs_f64()
    ))
}

#[allow(clippy::too_many_arguments)]
fn markdown_report(
    data: &EvalData,
    names: &[String],
    report: &Report,
    lead_k: usize,
    tuned: bool,
    lead_report: &Report,
    members: &[(String, Report)],
    opts: &DecodeOptions,
) -> String {
    let mut md = String::from("# ore eval\n\n");
    let _ = writeln!(md, "- examples: {} ({})", data.eval.len(), data.note);
    let _ = writeln!(md, "- input: `{}`", data.input.display());
    let _ = writeln!(
        md,
        "- decoding: {}, max length {}, length penalty {}, no-repeat n-gram {}",
        if opts.beam > 1 {
            format!("beam {}", opts.beam)
        } else {
            "greedy".into()
        },
        opts.max_len,
        opts.length_penalty,
        opts.no_repeat_ngram
    );
    let _ = writeln!(md, "- BLEU signature: `{}`\n", report.bleu.signature);
    md.push_str("| system | BLEU | ROUGE-1 F | ROUGE-2 F | ROUGE-L F |\n|---|---|---|---|---|\n");
    let mut row = |name: &str, r: &Report| {
        let _ = writeln!(
            md,
            "| {name} | {:.2} | {:.4} | {:.4} | {:.4} |",
            r.bleu.score, r.rouge1.fmeasure, r.rouge2.fmeasure, r.rouge_l.fmeasure
        );
    };
    let system = if names.len() > 1 {
        format!("ensemble of {}", names.len())
    } else {
        format!("model `{}`", names[0])
    };
    row(&system, report);
    for (name, r) in members {
        row(&format!("member `{name}`"), r);
    }
    row(
        &format!(
            "lead-{lead_k} baseline{}",
            if tuned { " (k tuned by ROUGE-L)" } else { "" }
        ),
        lead_report,
    );
    md
}
