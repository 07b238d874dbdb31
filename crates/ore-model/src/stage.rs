//! [`Train`] and [`Eval`]: the runtimes of the train and eval stages of the
//! Stage contract, whose definitions (kind, config, inputs) are
//! `ore-train`'s [`TrainStage`] and [`EvalStage`].

use std::path::PathBuf;
use std::time::Instant;

use ore_core::manifest::InputRecord;
use ore_core::runner::input_hash;
use ore_core::{
    Dataset, InputKind, Manifest, RowCounts, Stage, StageContext, StageInfo, StageOutput,
};
use serde_json::json;

use ore_core::{InputSpec, StageDef};
use ore_train::dictionary::Dictionary;
use ore_train::eval::{
    Decoded, EvalConfig, EvalStage, ModelInput, REPORT_DIR, Setup, detokenize, lead,
    predictions_batch, resolve_lang, select_rows, tune_lead,
};
use ore_train::stage::{BoxedTokenizer, TrainStage, has_token_lists};

use crate::config::{Task, TrainConfig};
use crate::data::{self, Source, TextTokenizer};
use crate::decode::{DecodeOptions, check_members, decode};
use crate::error::{ModelError, Result};
use crate::tagger;
use crate::train::{self as trainer, TrainOptions, Trained};
use ore_train::tagging;

/// The train stage's runtime: [`TrainStage`] with its config and, for
/// examples without token lists, a tokenizer.
pub struct Train {
    config: TrainConfig,
    tokenizer: Option<BoxedTokenizer>,
}

/// The eval stage's runtime: [`EvalStage`] with its config and, for
/// examples without token lists, a tokenizer.
pub struct Eval {
    config: EvalConfig,
    tokenizer: Option<BoxedTokenizer>,
}

macro_rules! runtime_of {
    ($runtime:ident, $def:ty, $config:ty) => {
        impl StageDef for $runtime {
            const KIND: &'static str = <$def as StageDef>::KIND;
            const INPUTS: &'static [InputSpec] = <$def as StageDef>::INPUTS;
            const SEEDED: bool = <$def as StageDef>::SEEDED;
            type Config = $config;
        }

        impl $runtime {
            pub fn config(&self) -> &$config {
                &self.config
            }

            /// Tokenizes examples that have no `src_tokens`/`tgt_tokens`.
            pub fn with_tokenizer(mut self, t: BoxedTokenizer) -> Self {
                self.tokenizer = Some(t);
                self
            }
        }

        impl std::fmt::Debug for $runtime {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($runtime))
                    .field("config", &self.config)
                    .field("tokenizer", &self.tokenizer.is_some())
                    .finish()
            }
        }
    };
}

runtime_of!(Train, TrainStage, TrainConfig);
runtime_of!(Eval, EvalStage, EvalConfig);

impl Stage for Train {
    type Error = ModelError;

    fn build(config: TrainConfig) -> Result<Self> {
        config.validate().map_err(ModelError::config)?;
        Ok(Self {
            config,
            tokenizer: None,
        })
    }

    fn run(&self, ctx: &StageContext) -> Result<Manifest> {
        let started = Instant::now();
        let input = ctx.input("input")?;
        let output = &ctx.output;
        let mut config = self.config.clone();
        if ctx.threads.is_some() {
            config.threads = ctx.threads;
        }
        if !ctx.resume {
            trainer::refuse_foreign_folder(output)?;
        }
        // The model folder is rewritten in place (checkpoints make that
        // resumable): until this run commits, it has no manifest, so a run
        // killed half way is never taken for an up-to-date output.
        let manifest = output.join(ore_core::MANIFEST_FILE);
        if manifest.exists() {
            std::fs::remove_file(&manifest).map_err(|e| ModelError::io(&manifest, e))?;
        }
        if config.task == Task::Tag {
            return self.run_tagger(ctx, &config, started);
        }
        let source = Source::detect(input, config.data.valid_fraction);
        let tokenize: Option<TextTokenizer<'_>> = if has_token_lists(input) {
            None
        } else {
            match &self.tokenizer {
                Some(t) => Some(t.as_ref()),
                None => {
                    return Err(ModelError::invalid(
                        input,
                        "no src_tokens/tgt_tokens columns, and no tokenizer to make them",
                    ));
                }
            }
        };
        let (mut train_set, mut valid_set) = data::load_split(&source, tokenize)?;
        if config.data.swap_sides {
            data::swap_sides(&mut train_set);
            data::swap_sides(&mut valid_set);
        }
        let (input_hash_meta, held_out) = match &source {
            Source::HeldOut { path, fraction } => {
                (Dataset::open(path)?.content_hash()?, Some(*fraction))
            }
            Source::Split { train, .. } => (Dataset::open(train)?.content_hash()?, None),
        };
        let options = TrainOptions {
            seed: ctx.seed,
            resume: ctx.resume,
            log_every: 0,
            input_label: input.display().to_string(),
            input_hash: input_hash_meta,
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
        let report = trainer::train(&train_set, &valid_set, output, &config, &options)?;
        let rows = (train_set.len() + valid_set.len()) as u64;
        self.commit(ctx, &[input], rows, &report, started)
    }

    fn summary(&self, manifest: &Manifest, ctx: &StageContext) -> String {
        let s = &manifest.summary;
        let best = match s.get("best_valid_loss").and_then(|v| v.as_f64()) {
            Some(l) => format!("best valid loss {l:.4} at step {}", s["best_step"]),
            None => "no validation data".into(),
        };
        let text = |k: &str| s.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
        format!(
            "train: {} steps ({} epochs) on {} examples, {best}, {} target units/s on {}, {} — model in {} in {:.1} s\n",
            s.get("steps").cloned().unwrap_or_default(),
            s.get("epochs").cloned().unwrap_or_default(),
            s.get("train_examples").cloned().unwrap_or_default(),
            s.get("tokens_per_s").cloned().unwrap_or_default(),
            text("device"),
            text("stopped"),
            ctx.output.display(),
            manifest.wall_time_s
        )
    }
}

impl Train {
    /// Commits the model folder: its manifest names the inputs and holds
    /// the run's figures.
    fn commit(
        &self,
        ctx: &StageContext,
        inputs: &[&std::path::Path],
        rows: u64,
        report: &trainer::TrainReport,
        started: Instant,
    ) -> Result<Manifest> {
        let counts = RowCounts {
            input: rows,
            output: rows,
            ..RowCounts::default()
        };
        let inputs = inputs
            .iter()
            .map(|input| {
                Ok(InputRecord {
                    path: input.to_path_buf(),
                    content_hash: input_hash(input, InputKind::Dataset)?,
                    rows,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let mut summary = serde_json::Map::new();
        for (key, value) in [
            ("steps", json!(report.steps)),
            ("epochs", json!(report.epochs)),
            ("train_examples", json!(report.train_examples)),
            ("valid_examples", json!(report.valid_examples)),
            ("best_valid_loss", json!(report.best_valid_loss)),
            ("best_valid_f1", json!(report.best_valid_score)),
            ("best_step", json!(report.best_step)),
            ("tokens_per_s", json!(report.tokens_per_s.round())),
            ("step_tokens_per_s", json!(report.step_tokens_per_s.round())),
            ("startup_s", json!(report.startup_s)),
            ("device", json!(report.device)),
            ("stopped", json!(report.stopped)),
        ] {
            summary.insert(key.into(), value);
        }
        let info = StageInfo::new("train", &self.config, ctx.seed);
        Ok(Manifest::commit_folder(
            &ctx.output,
            info,
            inputs,
            counts,
            summary,
            started,
        )?)
    }

    /// `task = "tag"`: a BiLSTM-CRF tagger on a tokens dataset's entities.
    fn run_tagger(
        &self,
        ctx: &StageContext,
        config: &TrainConfig,
        started: Instant,
    ) -> Result<Manifest> {
        let input = ctx.input("input")?;
        let valid = ctx.inputs("valid").first().cloned();
        let (train_set, valid_set) =
            tagging::load_tag_split(input, valid.as_deref(), config.data.valid_fraction)?;
        let held_out = (valid.is_none() && !input.join("train").is_dir())
            .then_some(config.data.valid_fraction);
        let train_path = if input.join("train").is_dir() {
            input.join("train")
        } else {
            input.to_path_buf()
        };
        let options = TrainOptions {
            seed: ctx.seed,
            resume: ctx.resume,
            log_every: 0,
            input_label: input.display().to_string(),
            input_hash: Dataset::open(&train_path)?.content_hash()?,
            held_out_fraction: held_out,
        };
        eprintln!(
            "ore train: a tagger on {} training and {} validation sentences from {}{}",
            train_set.len(),
            valid_set.len(),
            input.display(),
            match (&valid, held_out) {
                (Some(v), _) => format!(" (validation: {})", v.display()),
                (None, Some(_)) => " (validation held out by source_id)".into(),
                (None, None) => String::new(),
            }
        );
        let report = tagger::train_tagger(&train_set, &valid_set, &ctx.output, config, &options)?;
        let rows = (train_set.len() + valid_set.len()) as u64;
        let mut inputs = vec![input];
        if let Some(v) = &valid {
            inputs.push(v);
        }
        self.commit(ctx, &inputs, rows, &report, started)
    }
}

impl Eval {
    /// A tagger (or an ensemble of taggers): predicts the tags of each
    /// sentence and scores the entities as seqeval does.
    fn run_tagger(
        &self,
        ctx: &StageContext,
        models: &[PathBuf],
        device: tch::Device,
        started: Instant,
    ) -> Result<Manifest> {
        let config = &self.config;
        if ctx.shard.is_some() {
            return Err(ModelError::config(
                "eval of a tagger does not take --shard (tagging a test set takes seconds)".into(),
            ));
        }
        let loaded: Vec<tagger::TrainedTagger> = models
            .iter()
            .map(|m| {
                let meta = tagger::read_meta(m)?;
                if meta.train.task != Task::Tag {
                    return Err(ModelError::config(format!(
                        "{} is not a tagger: an ensemble is all taggers or none",
                        m.display()
                    )));
                }
                tagger::TrainedTagger::load(m, None, device)
                    .map_err(|e| ModelError::config(format!("loading model {}: {e}", m.display())))
            })
            .collect::<Result<_>>()?;
        let members: Vec<&tagger::TrainedTagger> = loaded.iter().collect();
        let names: Vec<String> = models.iter().map(|m| m.display().to_string()).collect();
        tagger::check_tagger_members(&members, &names)?;
        let first = members[0];
        let input = match ctx.inputs("input") {
            [one] => one.clone(),
            _ => PathBuf::from(&first.meta.input),
        };
        let rows = tagging::select_tag_rows(
            &input,
            &config.split,
            &first.meta.input_hash,
            first.meta.held_out_fraction,
        )?;
        if rows.sentences.is_empty() {
            return Err(ModelError::invalid(&rows.input, "no sentences to evaluate"));
        }
        let predicted = tagger::predict(&members, &rows.sentences, config.batch_size, device)?;
        let gold: Vec<&[String]> = rows.sentences.iter().map(|s| s.tags.as_slice()).collect();
        let scores = ore_eval::ner::score(&gold, &predicted)
            .map_err(|e| ModelError::config(format!("scoring: {e}")))?;
        let accuracy = tagging::token_accuracy(&rows.sentences, &predicted);
        let mut member_scores = Vec::new();
        if members.len() > 1 {
            for (m, name) in members.iter().zip(&names) {
                let p = tagger::predict(&[*m], &rows.sentences, config.batch_size, device)?;
                let s = ore_eval::ner::score(&gold, &p)
                    .map_err(|e| ModelError::config(format!("scoring: {e}")))?;
                member_scores.push(json!({"model": name, "precision": s.overall.precision,
                    "recall": s.overall.recall, "f1": s.overall.f1}));
            }
        }
        let setup = format!(
            "Models: {}. Input: {} ({}).",
            names.join(", "),
            rows.input.display(),
            rows.note
        );
        let info = StageInfo::new("eval", config, first.meta.seed);
        let mut out = StageOutput::create(
            &ctx.output,
            tagging::tag_predictions_schema(),
            info,
            ctx.write.clone(),
        )?;
        for (path, model) in models.iter().zip(&loaded) {
            let hash = input_hash(path, InputKind::Model)?;
            out.add_input_hash(path, hash, model.meta.train_examples as u64);
        }
        let input_rows =
            Dataset::open(&rows.input).map_or(rows.sentences.len() as u64, |d| d.num_rows());
        out.add_input_hash(&input, input_hash(&input, InputKind::Dataset)?, input_rows);
        out.count_input(rows.sentences.len() as u64);
        for (chunk, preds) in rows.sentences.chunks(4096).zip(predicted.chunks(4096)) {
            out.write(&tagging::tag_predictions_batch(chunk, preds)?)?;
        }
        let metrics = json!({
            "task": "tag",
            "sentences": rows.sentences.len(),
            "precision": scores.overall.precision,
            "recall": scores.overall.recall,
            "f1": scores.overall.f1,
            "token_accuracy": accuracy,
            "per_label": scores.per_label,
            "overall": scores.overall,
            "members": member_scores,
            "input": rows.input.display().to_string(),
            "note": rows.note,
            "models": names,
        });
        let pretty =
            serde_json::to_vec_pretty(&metrics).map_err(|e| ModelError::config(e.to_string()))?;
        out.write_file(ore_train::eval::METRICS_FILE, &pretty)?;
        out.write_file(&format!("{REPORT_DIR}/report.json"), &pretty)?;
        let md = tagging::tag_report_md(&scores, accuracy, rows.sentences.len(), &setup);
        out.write_file(&format!("{REPORT_DIR}/report.md"), md.as_bytes())?;
        for (key, value) in [
            ("task", json!("tag")),
            ("precision", json!(scores.overall.precision)),
            ("recall", json!(scores.overall.recall)),
            ("f1", json!(scores.overall.f1)),
            ("token_accuracy", json!(accuracy)),
            ("entities", json!(scores.overall.support)),
            ("data", json!(rows.note)),
        ] {
            out.set_summary(key, value);
        }
        out.set_started(started);
        Ok(out.commit()?)
    }
}

impl Stage for Eval {
    type Error = ModelError;

    fn build(config: EvalConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            config,
            tokenizer: None,
        })
    }

    fn run(&self, ctx: &StageContext) -> Result<Manifest> {
        let started = Instant::now();
        let config = &self.config;
        let models: Vec<PathBuf> = ctx.inputs("model").to_vec();
        let device = trainer::device(&config.device)?;
        trainer::set_threads(ctx.threads);
        if let Some(first) = models.first()
            && tagger::read_meta(first)?.train.task == Task::Tag
        {
            return self.run_tagger(ctx, &models, device, started);
        }
        let loaded: Vec<Trained> = models
            .iter()
            .map(|m| {
                Trained::load(m, None, device)
                    .map_err(|e| ModelError::config(format!("loading model {}: {e}", m.display())))
            })
            .collect::<Result<_>>()?;
        if loaded.is_empty() {
            return Err(ModelError::config(format!(
                "{}: no model to evaluate",
                ctx.section
            )));
        }
        let members: Vec<&Trained> = loaded.iter().collect();
        let names: Vec<String> = models.iter().map(|m| m.display().to_string()).collect();
        check_members(&members, &names)?;
        let first = members[0];
        let input = match ctx.inputs("input") {
            [one] => one.clone(),
            _ => PathBuf::from(&first.meta.input),
        };
        let tokenize: Option<TextTokenizer<'_>> = if has_token_lists(&input) {
            None
        } else {
            self.tokenizer.as_deref().map(|t| t as TextTokenizer<'_>)
        };
        let model = ModelInput {
            input_hash: &first.meta.input_hash,
            held_out_fraction: first.meta.held_out_fraction,
        };
        let mut rows = select_rows(&config.split, &input, model, tokenize)?;
        if first.meta.train.data.swap_sides {
            // The model translates tgt -> src: score it that way round.
            data::swap_sides(&mut rows.eval);
            data::swap_sides(&mut rows.tune);
            rows.note.push_str("; sides swapped (data.swap_sides)");
        }
        if rows.eval.is_empty() {
            return Err(ModelError::invalid(&rows.input, "no examples to evaluate"));
        }
        let refs: Vec<&str> = rows.eval.iter().map(|e| e.tgt_text.as_str()).collect();
        let lang = resolve_lang(&config.lang, &refs)?;
        let metrics = ore_eval::EvalConfig::for_lang(lang);
        let units = first.meta.train.data.units;
        let opts = DecodeOptions {
            beam: config.beam.max(1),
            max_len: config.max_len.unwrap_or(first.meta.train.data.max_tgt_len),
            length_penalty: config.length_penalty,
            no_repeat_ngram: config.no_repeat_ngram,
            min_len: config.min_len,
            batch_size: config.batch_size,
        };

        // A shard decodes its slice of the rows; the lead baseline's length
        // is tuned on every row of `tune` by each shard alike.
        let range = match ctx.shard {
            Some(shard) => {
                let (a, b) = shard.rows(rows.eval.len() as u64);
                a as usize..b as usize
            }
            None => 0..rows.eval.len(),
        };
        let slice = &rows.eval[range.clone()];
        let slice_refs = &refs[range];
        let decoded = decode(&members, slice, &opts, device)?;
        let hyps: Vec<String> = decoded.iter().map(|u| detokenize(u, lang)).collect();
        let per_example =
            ore_eval::per_example(&metrics, &hyps, std::slice::from_ref(&slice_refs.to_vec()))
                .map_err(|e| ModelError::config(format!("scoring: {e}")))?;
        let (lead_k, lead_tuned) = match config.lead_k {
            Some(k) => (k, false),
            None => (tune_lead(&metrics, &rows.tune, units, lang)?, true),
        };
        let dictionary = match &config.dictionary {
            Some(path) => {
                let from = match lang {
                    ore_eval::Lang::En => ore_eval::Lang::Zh,
                    ore_eval::Lang::Zh => ore_eval::Lang::En,
                };
                let dict = Dictionary::load(path, from)?;
                Some(slice.iter().map(|e| dict.translate(&e.src)).collect())
            }
            None => None,
        };
        let mut member_hyps = Vec::new();
        if members.len() > 1 {
            for (m, name) in members.iter().zip(&names) {
                let d = decode(&[*m], slice, &opts, device)?;
                member_hyps.push((
                    name.clone(),
                    d.iter().map(|u| detokenize(u, lang)).collect(),
                ));
            }
        }
        let outputs = Decoded {
            refs: slice_refs.iter().map(|r| r.to_string()).collect(),
            lead: lead(slice, lead_k, units, lang),
            hyps,
            dictionary,
            members: member_hyps,
        };

        let decoding = json!({
            "models": names, "beam": opts.beam, "max_len": opts.max_len,
            "length_penalty": opts.length_penalty, "no_repeat_ngram": opts.no_repeat_ngram,
            "lang": format!("{lang:?}").to_lowercase(), "split": config.split,
        });
        let setup = Setup {
            models: names.clone(),
            lead_k,
            lead_tuned,
            note: rows.note.clone(),
            input: rows.input.clone(),
            decoding,
            max_len: opts.max_len,
        };
        let info = StageInfo::new("eval", config, first.meta.seed).with_shard(ctx.shard);
        let schema = ore_core::schema::predictions_schema();
        let target = ctx.target(ore_core::shard::ROWS_STEP);
        let mut out = StageOutput::create(&target, schema, info, ctx.write.clone())?;
        for (path, model) in models.iter().zip(&loaded) {
            let hash = input_hash(path, InputKind::Model)?;
            out.add_input_hash(path, hash, model.meta.train_examples as u64);
        }
        // The input as the pipeline names it (a split folder, not its
        // `test/`), hashed as the runner hashes it, so a rerun finds the
        // output up to date.
        let input_rows = match &rows.dataset {
            Some(d) => d.num_rows(),
            None => rows.eval.len() as u64,
        };
        out.add_input_hash(&input, input_hash(&input, InputKind::Dataset)?, input_rows);
        out.count_input(slice.len() as u64);
        let batch = predictions_batch(slice, &outputs.hyps, &per_example)?;
        let n = batch.num_rows();
        for start in (0..n).step_by(8192) {
            out.write(&batch.slice(start, 8192.min(n - start)))?;
        }
        if ctx.shard.is_some() {
            // The scores are the commit's, over every shard's rows.
            out.write_side(ore_train::eval::SCORING_DIR, &outputs.batch()?)?;
            out.set_summary(
                "setup",
                serde_json::to_value(&setup).map_err(|e| ModelError::config(e.to_string()))?,
            );
        } else {
            let (files, summary) = outputs.report(config, &setup)?;
            for (name, bytes) in files {
                out.write_file(&name, &bytes)?;
            }
            for (key, value) in summary {
                out.set_summary(&key, value);
            }
        }
        out.set_started(started);
        Ok(out.commit()?)
    }

    /// Each shard decodes a slice of the rows; the commit scores them all.
    fn shard_steps(&self) -> Option<Vec<&'static str>> {
        Some(vec![ore_core::shard::ROWS_STEP])
    }

    fn summary(&self, manifest: &Manifest, ctx: &StageContext) -> String {
        if manifest.shard.is_some() {
            return manifest.summary_line(&ctx.target(ore_core::shard::ROWS_STEP));
        }
        let s = &manifest.summary;
        let f = |k: &str| s.get(k).and_then(|v| v.as_f64()).unwrap_or(f64::NAN);
        if s.get("task").and_then(|v| v.as_str()) == Some("tag") {
            return format!(
                "eval: {} sentences ({}), entity precision {:.2}, recall {:.2}, F1 {:.2} ({} gold entities), token accuracy {:.2}% — {} (report in {}/{REPORT_DIR}/report.md) in {:.1} s\n",
                manifest.rows.output,
                s.get("data").and_then(|v| v.as_str()).unwrap_or(""),
                f("precision") * 100.0,
                f("recall") * 100.0,
                f("f1") * 100.0,
                s.get("entities").cloned().unwrap_or_default(),
                f("token_accuracy") * 100.0,
                ctx.output.display(),
                ctx.output.display(),
                manifest.wall_time_s
            );
        }
        format!(
            "eval: {} examples ({}), BLEU {:.2}, ROUGE-L F1 {:.4}; lead-{} baseline BLEU {:.2}, ROUGE-L {:.4}{} — {} (report in {}/{REPORT_DIR}/report.md) in {:.1} s\n",
            manifest.rows.output,
            s.get("data").and_then(|v| v.as_str()).unwrap_or(""),
            f("bleu"),
            f("rougeL_f"),
            s.get("lead_k").cloned().unwrap_or_default(),
            f("lead_bleu"),
            f("lead_rougeL_f"),
            match s.get("dictionary_bleu").and_then(|v| v.as_f64()) {
                Some(b) => format!("; dictionary baseline BLEU {b:.2}"),
                None => String::new(),
            },
            ctx.output.display(),
            ctx.output.display(),
            manifest.wall_time_s
        )
    }
}
