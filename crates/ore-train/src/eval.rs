//! The eval stage: decode examples with one model or an ensemble, score the
//! outputs with BLEU and ROUGE (ore-eval, as sacrebleu and rouge-score), and
//! compare them with a lead baseline whose length is tuned on rows that are
//! never the scored ones.
//!
//! Its output is a plain `predictions` dataset (one decoded example a row,
//! with its own scores) plus `_metrics.json` (the corpus scores) and
//! `_report/` (`report.json`, `report.md`), so any Parquet reader opens the
//! folder as it is.
//!
//! Choosing rows, detokenizing, tuning the lead baseline and the report need
//! no libtorch and are tested without it; decoding is `ore_model::Eval`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use ore_core::{Dataset, InputKind, InputSpec, StageDef};
use ore_eval::{ExampleScores, Lang, Report};
use serde::{Deserialize, Serialize};

use crate::config::Units;
use crate::data::{self, Example, TextTokenizer};
use crate::error::{Result, TrainError};

/// Corpus scores, beside the predictions.
pub const METRICS_FILE: &str = "_metrics.json";
/// `report.json` and `report.md`.
pub const REPORT_DIR: &str = "_report";

/// The `[eval]` section: how to decode and what to score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", default)]
pub struct EvalConfig {
    /// Beam size (1: greedy).
    pub beam: usize,
    /// Which split of a split output to decode.
    pub split: String,
    /// Longest output in units (default: the model's `data.max_tgt_len`).
    pub max_len: Option<usize>,
    /// Length penalty α: finished beams rank by score / length^α.
    pub length_penalty: f64,
    /// Never repeat an n-gram of this size (0: off).
    pub no_repeat_ngram: usize,
    /// No end of output before this many units (0: off).
    pub min_len: usize,
    /// Metrics language: `zh`, `en` or `auto` (from the references' script).
    pub lang: String,
    /// Lead baseline length in units (default: tuned by ROUGE-L on `valid`
    /// of a split, or on the training rows of the model's own input).
    pub lead_k: Option<usize>,
    /// `cpu`, `cuda` or `auto`.
    pub device: String,
    /// Examples decoded at once.
    pub batch_size: usize,
    /// A translator's baseline: also score word-by-word translation of the
    /// source tokens through this CC-CEDICT file (`.txt` or `.txt.gz`).
    pub dictionary: Option<PathBuf>,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            beam: 4,
            split: "test".into(),
            max_len: None,
            length_penalty: 1.0,
            no_repeat_ngram: 0,
            min_len: 0,
            lang: "auto".into(),
            lead_k: None,
            device: "auto".into(),
            batch_size: 64,
            dictionary: None,
        }
    }
}

impl EvalConfig {
    /// Checks what can be checked before a model is loaded.
    pub fn validate(&self) -> Result<()> {
        let fail = |m: &str| Err(TrainError::Config(format!("eval: {m}")));
        if self.batch_size == 0 {
            return fail("batch_size must be at least 1");
        }
        if !["auto", "zh", "en"].contains(&self.lang.as_str()) {
            return fail(&format!("lang `{}` (expected zh, en or auto)", self.lang));
        }
        if !["auto", "cpu", "cuda"].contains(&self.device.as_str()) {
            return fail(&format!(
                "device `{}` (expected cpu, cuda or auto)",
                self.device
            ));
        }
        if self.split.is_empty() {
            return fail("split must name a split (train, valid, test)");
        }
        Ok(())
    }
}

/// The eval stage as the runner knows it; its runtime is `ore_model::Eval`.
#[derive(Debug, Clone, Copy)]
pub struct EvalStage;

impl StageDef for EvalStage {
    const KIND: &'static str = "eval";
    const INPUTS: &'static [InputSpec] = &[
        InputSpec {
            key: "model",
            kind: InputKind::Model,
            required: true,
            many: true,
            defaults: &["train"],
        },
        // Default: the first model's training input (its held-out slice).
        InputSpec {
            key: "input",
            kind: InputKind::Dataset,
            required: false,
            many: false,
            defaults: &[],
        },
    ];
    /// Decoding is deterministic; the seed recorded is the model's.
    const SEEDED: bool = false;
    type Config = EvalConfig;
}

/// Rows to decode and rows to tune the lead baseline on, with a note on
/// where they came from.
#[derive(Debug)]
pub struct EvalRows {
    pub eval: Vec<Example>,
    pub tune: Vec<Example>,
    pub note: String,
    /// The dataset the scored rows come from.
    pub input: PathBuf,
    /// That dataset, when it was already opened (and hashed).
    pub dataset: Option<Dataset>,
}

/// What eval needs to know of the (first) model to choose rows.
#[derive(Debug, Clone, Copy)]
pub struct ModelInput<'a> {
    /// Content hash of the dataset the model was trained on.
    pub input_hash: &'a str,
    /// The validation slice it held out by `source_id`, if it did.
    pub held_out_fraction: Option<f64>,
}

/// Chooses the rows to score and to tune on:
/// - a split output: its `split` folder, tuned on `valid` (or on the same
///   rows when there is no other validation split);
/// - the model's own training input: its held-out slice, tuned on the
///   training rows;
/// - any other dataset: every row (tuned on the same rows, as nothing else
///   is known of it).
pub fn select_rows(
    split: &str,
    input: &Path,
    model: ModelInput<'_>,
    tokenize: Option<TextTokenizer<'_>>,
) -> Result<EvalRows> {
    let split_dir = input.join(split);
    if split_dir.is_dir() {
        let eval = data::load_examples(&split_dir, tokenize)?;
        let valid = input.join("valid");
        let (tune, note) = if valid.is_dir() && split != "valid" {
            (
                data::load_examples(&valid, tokenize)?,
                format!("split `{split}`; lead baseline tuned on `valid`"),
            )
        } else {
            (
                eval.clone(),
                format!(
                    "split `{split}`; lead baseline tuned on the same rows (no separate validation split)"
                ),
            )
        };
        return Ok(EvalRows {
            eval,
            tune,
            note,
            input: split_dir,
            dataset: None,
        });
    }
    let all = data::load_examples(input, tokenize)?;
    let dataset = Dataset::open(input)?;
    let own = dataset.content_hash()? == model.input_hash;
    let (eval, tune, note) = match model.held_out_fraction {
        Some(fraction) if own => {
            let (eval, tune) = held_out_rows(all, fraction);
            if eval.is_empty() {
                return Err(TrainError::invalid(
                    input,
                    "the model's held-out slice is empty; nothing to evaluate",
                ));
            }
            let note = format!(
                "held-out slice ({:.0}% by source_id) of the model's training input; lead baseline tuned on the training rows",
                fraction * 100.0
            );
            (eval, tune, note)
        }
        _ => {
            if own {
                eprintln!(
                    "warning: {} is the data the model was trained on",
                    input.display()
                );
            }
            let note = "every row of the input; lead baseline tuned on the same rows".to_string();
            (all.clone(), all, note)
        }
    };
    Ok(EvalRows {
        eval,
        tune,
        note,
        input: input.to_path_buf(),
        dataset: Some(dataset),
    })
}

/// Most tuning rows taken from the training rows.
const MAX_TUNE_ROWS: usize = 2000;

/// The held-out slice (scored) and up to 2,000 training rows, evenly
/// spaced, to tune on: the lead length is never tuned on the scored rows
/// (unless there are no others).
pub fn held_out_rows(all: Vec<Example>, fraction: f64) -> (Vec<Example>, Vec<Example>) {
    let (eval, rest): (Vec<Example>, Vec<Example>) = all
        .into_iter()
        .partition(|e| data::is_held_out(&e.source_id, fraction));
    let step = rest.len().div_ceil(MAX_TUNE_ROWS).max(1);
    let tune: Vec<Example> = rest.into_iter().step_by(step).collect();
    let tune = if tune.is_empty() { eval.clone() } else { tune };
    (eval, tune)
}

fn is_han(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}')
}

/// Chinese when at least a third of the references' letters are Han.
pub fn detect_lang(refs: &[&str]) -> Lang {
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

/// The language of `config.lang`, detected from `refs` for `auto`.
pub fn resolve_lang(lang: &str, refs: &[&str]) -> Result<Lang> {
    match lang {
        "auto" => Ok(detect_lang(refs)),
        other => other.parse::<Lang>().map_err(TrainError::Config),
    }
}

/// Output units as text a person reads: Chinese units joined directly (a
/// space only between two Latin or digit units), English words with spaces
/// but none before closing punctuation or after an opening bracket, and
/// straight double quotes paired (`say "yes" now`); any `<unk>` dropped.
pub fn detokenize(units: &[String], lang: Lang) -> String {
    let mut out = String::new();
    let mut prev: Option<&str> = None;
    // An odd number of `"` so far: the next one closes.
    let mut quote_open = false;
    // The previous unit opened something: no space after it.
    let mut after_opening = false;
    for u in units.iter().filter(|u| u.as_str() != crate::vocab::UNK) {
        let first = u.chars().next().unwrap_or(' ');
        let is_quote = u == "\"";
        let space = match (lang, prev) {
            (_, None) => false,
            (Lang::Zh, Some(p)) => {
                first.is_ascii_alphanumeric()
                    && p.chars().last().is_some_and(|c| c.is_ascii_alphanumeric())
            }
            (Lang::En, Some(_)) => {
                let closing = matches!(
                    first,
                    '.' | ',' | ';' | ':' | '!' | '?' | ')' | ']' | '}' | '%' | '”'
                ) || u.starts_with('\'') && u.len() <= 3
                    || u == "n't"
                    || is_quote && quote_open;
                !closing && !after_opening
            }
        };
        if space {
            out.push(' ');
        }
        out.push_str(u);
        if is_quote {
            quote_open = !quote_open;
        }
        after_opening = matches!(u.as_str(), "(" | "[" | "{" | "$" | "“") || is_quote && quote_open;
        prev = Some(u.as_str());
    }
    out
}

/// The first `k` source units of each example, as text.
pub fn lead(examples: &[Example], k: usize, units: Units, lang: Lang) -> Vec<String> {
    examples
        .iter()
        .map(|e| {
            let u = data::units(&e.src, units);
            detokenize(&u[..k.min(u.len())], lang)
        })
        .collect()
}

/// Corpus scores of `hyps` against one reference each.
pub fn score(metrics: &ore_eval::EvalConfig, hyps: &[String], refs: &[&str]) -> Result<Report> {
    ore_eval::evaluate(metrics, hyps, &[refs.to_vec()])
        .map_err(|e| TrainError::Config(format!("scoring: {e}")))
}

/// The lead length with the best ROUGE-L F1 on `tune`, trying 1 to twice
/// the longest target (at most 100).
pub fn tune_lead(
    metrics: &ore_eval::EvalConfig,
    tune: &[Example],
    units: Units,
    lang: Lang,
) -> Result<usize> {
    let refs: Vec<&str> = tune.iter().map(|e| e.tgt_text.as_str()).collect();
    let longest = tune
        .iter()
        .map(|e| data::units(&e.tgt, units).len())
        .max()
        .unwrap_or(1);
    let mut best = (1usize, f64::MIN);
    for k in 1..=(2 * longest).clamp(1, 100) {
        let r = score(metrics, &lead(tune, k, units, lang), &refs)?;
        if r.rouge_l.fmeasure > best.1 {
            best = (k, r.rouge_l.fmeasure);
        }
    }
    Ok(best.0)
}

/// The predictions table of the scored rows.
pub fn predictions_batch(
    eval: &[Example],
    hyps: &[String],
    scores: &[ExampleScores],
) -> Result<RecordBatch> {
    let text = |values: Vec<&str>| Arc::new(StringArray::from(values)) as ArrayRef;
    let number = |f: fn(&ExampleScores) -> f64| {
        Arc::new(Float64Array::from_iter_values(scores.iter().map(f))) as ArrayRef
    };
    let columns = vec![
        text(eval.iter().map(|x| x.example_id.as_str()).collect()),
        text(eval.iter().map(|x| x.source_id.as_str()).collect()),
        text(eval.iter().map(|x| x.src_text.as_str()).collect()),
        text(hyps.iter().map(String::as_str).collect()),
        text(eval.iter().map(|x| x.tgt_text.as_str()).collect()),
        number(|s| s.bleu),
        number(|s| s.rouge1),
        number(|s| s.rouge2),
        number(|s| s.rouge_l),
    ];
    Ok(RecordBatch::try_new(
        ore_core::schema::predictions_schema(),
        columns,
    )?)
}

/// What one eval run found, for its report.
#[derive(Debug)]
pub struct Findings<'a> {
    /// How many rows were scored, which and from where.
    pub examples: usize,
    pub note: &'a str,
    pub input: &'a Path,
    pub models: &'a [String],
    pub system: &'a Report,
    pub lead_k: usize,
    pub lead_tuned: bool,
    pub lead: &'a Report,
    /// Word-by-word translation through a dictionary (`dictionary`).
    pub dictionary: Option<&'a Report>,
    /// Each member of an ensemble alone.
    pub members: &'a [(String, Report)],
    /// The decoding settings as recorded.
    pub decoding: &'a serde_json::Value,
}

impl Findings<'_> {
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "examples": self.examples,
            "data": self.note,
            "system": self.system,
            "lead_baseline": {"k": self.lead_k, "tuned": self.lead_tuned, "scores": self.lead},
            "dictionary_baseline": self.dictionary.map(|r| serde_json::json!({"scores": r})),
            "members": self.members.iter().map(|(n, r)| serde_json::json!({"model": n, "scores": r})).collect::<Vec<_>>(),
            "decoding": self.decoding,
        })
    }

    pub fn markdown(&self, config: &EvalConfig, max_len: usize) -> String {
        let mut md = String::from("# ore eval\n\n");
        let _ = writeln!(md, "- examples: {} ({})", self.examples, self.note);
        let _ = writeln!(md, "- input: `{}`", self.input.display());
        let _ = writeln!(
            md,
            "- decoding: {}, max length {max_len}, length penalty {}, no-repeat n-gram {}",
            if config.beam > 1 {
                format!("beam {}", config.beam)
            } else {
                "greedy".into()
            },
            config.length_penalty,
            config.no_repeat_ngram
        );
        let _ = writeln!(md, "- BLEU signature: `{}`\n", self.system.bleu.signature);
        md.push_str(
            "| system | BLEU | ROUGE-1 F | ROUGE-2 F | ROUGE-L F |\n|---|---|---|---|---|\n",
        );
        let mut row = |name: &str, r: &Report| {
            let _ = writeln!(
                md,
                "| {name} | {:.2} | {:.4} | {:.4} | {:.4} |",
                r.bleu.score, r.rouge1.fmeasure, r.rouge2.fmeasure, r.rouge_l.fmeasure
            );
        };
        let system = match self.models {
            [one] => format!("model `{one}`"),
            many => format!("ensemble of {}", many.len()),
        };
        row(&system, self.system);
        for (name, r) in self.members {
            row(&format!("member `{name}`"), r);
        }
        row(
            &format!(
                "lead-{} baseline{}",
                self.lead_k,
                if self.lead_tuned {
                    " (k tuned by ROUGE-L)"
                } else {
                    ""
                }
            ),
            self.lead,
        );
        if let Some(r) = self.dictionary {
            row("word-by-word dictionary baseline (CC-CEDICT)", r);
        }
        md
    }
}

/// What decoding the scored rows gave, in row order: everything the
/// corpus scores and the report are computed from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decoded {
    pub refs: Vec<String>,
    /// The model's (or the ensemble's) outputs.
    pub hyps: Vec<String>,
    /// The lead baseline's.
    pub lead: Vec<String>,
    pub dictionary: Option<Vec<String>>,
    /// Each member of an ensemble alone, by model.
    pub members: Vec<(String, Vec<String>)>,
}

/// How the rows were chosen and decoded: what the report says beside the
/// scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Setup {
    pub models: Vec<String>,
    pub lead_k: usize,
    pub lead_tuned: bool,
    pub note: String,
    pub input: PathBuf,
    pub decoding: serde_json::Value,
    pub max_len: usize,
}

/// The files of an eval output beside its predictions (name, bytes), and
/// its summary figures.
pub type ReportFiles = (
    Vec<(String, Vec<u8>)>,
    serde_json::Map<String, serde_json::Value>,
);

/// The side dataset of a decoding shard: a row per scored row.
pub const SCORING_DIR: &str = "_scoring";

impl Decoded {
    /// The rows as a `_scoring` batch: `ref`, `hyp`, `lead`, `dictionary`,
    /// then one column per ensemble member.
    pub fn batch(&self) -> Result<RecordBatch> {
        let text = |v: &[String]| Arc::new(StringArray::from_iter_values(v.iter())) as ArrayRef;
        let mut fields = vec![
            arrow_schema::Field::new("ref", arrow_schema::DataType::Utf8, false),
            arrow_schema::Field::new("hyp", arrow_schema::DataType::Utf8, false),
            arrow_schema::Field::new("lead", arrow_schema::DataType::Utf8, false),
            arrow_schema::Field::new("dictionary", arrow_schema::DataType::Utf8, true),
        ];
        let dictionary: ArrayRef = match &self.dictionary {
            Some(d) => text(d),
            None => Arc::new(StringArray::new_null(self.refs.len())),
        };
        let mut columns = vec![
            text(&self.refs),
            text(&self.hyps),
            text(&self.lead),
            dictionary,
        ];
        for (i, (_, hyps)) in self.members.iter().enumerate() {
            fields.push(arrow_schema::Field::new(
                format!("member_{i}"),
                arrow_schema::DataType::Utf8,
                false,
            ));
            columns.push(text(hyps));
        }
        Ok(RecordBatch::try_new(
            Arc::new(arrow_schema::Schema::new(fields)),
            columns,
        )?)
    }

    /// Appends rows read back from `_scoring` datasets; `members` names
    /// the ensemble's models (none for one model).
    pub fn extend_from(&mut self, scoring: &Dataset, members: &[String]) -> Result<()> {
        if self.members.is_empty() {
            self.members = members.iter().map(|m| (m.clone(), Vec::new())).collect();
        }
        for batch in scoring.batches(8192) {
            let batch = batch?;
            let col = |name: &str| ore_core::StrColumn::of(&batch, name, scoring.root());
            let (r, h, l, d) = (col("ref")?, col("hyp")?, col("lead")?, col("dictionary")?);
            let member_cols = (0..self.members.len())
                .map(|i| col(&format!("member_{i}")))
                .collect::<ore_core::Result<Vec<_>>>()?;
            for i in 0..batch.num_rows() {
                self.refs.push(r.get(i).unwrap_or_default().to_string());
                self.hyps.push(h.get(i).unwrap_or_default().to_string());
                self.lead.push(l.get(i).unwrap_or_default().to_string());
                if let Some(text) = d.get(i) {
                    self.dictionary
                        .get_or_insert_with(Vec::new)
                        .push(text.to_string());
                }
                for (m, c) in self.members.iter_mut().zip(&member_cols) {
                    m.1.push(c.get(i).unwrap_or_default().to_string());
                }
            }
        }
        Ok(())
    }

    /// The corpus scores and the report: the files an eval output holds
    /// beside its predictions (`_metrics.json`, `_report/report.json`,
    /// `_report/report.md`) and its manifest's summary figures.
    pub fn report(&self, config: &EvalConfig, setup: &Setup) -> Result<ReportFiles> {
        let refs: Vec<&str> = self.refs.iter().map(String::as_str).collect();
        let lang = resolve_lang(&config.lang, &refs)?;
        let metrics = ore_eval::EvalConfig::for_lang(lang);
        let system = score(&metrics, &self.hyps, &refs)?;
        let lead_report = score(&metrics, &self.lead, &refs)?;
        let dictionary = self
            .dictionary
            .as_ref()
            .map(|d| score(&metrics, d, &refs))
            .transpose()?;
        let members = self
            .members
            .iter()
            .map(|(name, hyps)| Ok((name.clone(), score(&metrics, hyps, &refs)?)))
            .collect::<Result<Vec<_>>>()?;
        let findings = Findings {
            examples: self.refs.len(),
            note: &setup.note,
            input: &setup.input,
            models: &setup.models,
            system: &system,
            lead_k: setup.lead_k,
            lead_tuned: setup.lead_tuned,
            lead: &lead_report,
            dictionary: dictionary.as_ref(),
            members: &members,
            decoding: &setup.decoding,
        };
        let pretty = |v: &serde_json::Value| -> Result<Vec<u8>> {
            let mut text =
                serde_json::to_string_pretty(v).map_err(|e| TrainError::Config(e.to_string()))?;
            text.push('\n');
            Ok(text.into_bytes())
        };
        let metrics_json =
            serde_json::to_value(&system).map_err(|e| TrainError::Config(e.to_string()))?;
        let files = vec![
            (METRICS_FILE.to_string(), pretty(&metrics_json)?),
            (
                format!("{REPORT_DIR}/report.json"),
                pretty(&findings.json())?,
            ),
            (
                format!("{REPORT_DIR}/report.md"),
                findings.markdown(config, setup.max_len).into_bytes(),
            ),
        ];
        let round = |x: f64, places: f64| serde_json::json!((x * places).round() / places);
        let mut summary = serde_json::Map::new();
        summary.insert("bleu".into(), round(system.bleu.score, 100.0));
        summary.insert("rougeL_f".into(), round(system.rouge_l.fmeasure, 10000.0));
        summary.insert("lead_k".into(), serde_json::json!(setup.lead_k));
        summary.insert("lead_bleu".into(), round(lead_report.bleu.score, 100.0));
        summary.insert(
            "lead_rougeL_f".into(),
            round(lead_report.rouge_l.fmeasure, 10000.0),
        );
        if let Some(r) = &dictionary {
            summary.insert("dictionary_bleu".into(), round(r.bleu.score, 100.0));
        }
        summary.insert("data".into(), serde_json::json!(setup.note));
        Ok((files, summary))
    }
}

/// The output of an eval whose decoding ran in shards: the predictions in
/// order, and the scores and report computed from every shard's rows, as
/// one run computes them.
pub fn commit_shards(set: ore_core::shard::ShardSet) -> Result<ore_core::Manifest> {
    let config: EvalConfig =
        serde_json::from_value(set.manifest().config.clone()).map_err(|e| {
            TrainError::Config(format!("the shards' [eval] config does not parse: {e}"))
        })?;
    let setup: Setup = set
        .manifest()
        .summary
        .get("setup")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .ok_or_else(|| TrainError::Config("the shards' manifests have no eval setup".into()))?;
    let members: Vec<String> = if setup.models.len() > 1 {
        setup.models.clone()
    } else {
        Vec::new()
    };
    let mut decoded = Decoded::default();
    for index in 0..set.count() as usize {
        for file in set.files(index, SCORING_DIR) {
            decoded.extend_from(&Dataset::open(&file)?, &members)?;
        }
    }
    let (files, summary) = decoded.report(&config, &setup)?;
    let mut commit = ore_core::shard::ShardCommit::begin(set)?;
    commit.concat(&[SCORING_DIR])?;
    for (name, bytes) in files {
        commit.write_file(&name, &bytes)?;
    }
    for (k, v) in summary {
        commit.set_summary(&k, v);
    }
    Ok(commit.finish()?)
}

#[cfg(test)]
mod tests;
