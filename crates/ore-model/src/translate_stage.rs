//! [`Translate`]: the runtime of `ore translate` ([`TranslateStage`]): a
//! model folder's translations of a text column, row by row.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use ore_core::column::StrColumn;
use ore_core::runner::input_hash;
use ore_core::translate::{ModelTranslatorConfig, Translator};
use ore_core::{
    Dataset, InputKind, InputSpec, Manifest, Stage, StageContext, StageDef, StageInfo, StageOutput,
};
use ore_train::stage::BoxedTokenizer;
use ore_train::translate::{TranslateConfig, TranslateStage};
use serde_json::json;

use crate::error::{ModelError, Result};
use crate::translator::{ModelTranslator, SharedTokenizer};

/// Rows translated at a time.
const CHUNK: usize = 2048;

/// `ore translate`'s runtime: [`TranslateStage`] with its config and the
/// tokenizer the model's source side was trained with.
pub struct Translate {
    config: TranslateConfig,
    tokenizer: Option<SharedTokenizer>,
}

impl std::fmt::Debug for Translate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Translate")
            .field("config", &self.config)
            .finish()
    }
}

impl StageDef for Translate {
    const KIND: &'static str = <TranslateStage as StageDef>::KIND;
    const INPUTS: &'static [InputSpec] = <TranslateStage as StageDef>::INPUTS;
    const SEEDED: bool = <TranslateStage as StageDef>::SEEDED;
    type Config = TranslateConfig;
}

/// The `translations` table.
pub fn translations_schema() -> SchemaRef {
    let s = |n| Field::new(n, DataType::Utf8, false);
    Arc::new(Schema::new(vec![
        s("example_id"),
        s("source_id"),
        s("src"),
        s("translation"),
    ]))
}

impl Translate {
    pub fn with_tokenizer(mut self, t: BoxedTokenizer) -> Self {
        self.tokenizer = Some(Arc::from(t));
        self
    }

    pub fn config(&self) -> &TranslateConfig {
        &self.config
    }
}

fn first_of<'a>(ds: &Dataset, names: &[&'a str]) -> Option<&'a str> {
    names
        .iter()
        .copied()
        .find(|n| ds.schema().index_of(n).is_ok())
}

impl Stage for Translate {
    type Error = ModelError;

    fn build(config: TranslateConfig) -> Result<Self> {
        config
            .validate()
            .map_err(|e| ModelError::config(e.to_string()))?;
        Ok(Self {
            config,
            tokenizer: None,
        })
    }

    fn run(&self, ctx: &StageContext) -> Result<Manifest> {
        let cfg = &self.config;
        let model = ctx.input("model")?.to_path_buf();
        let input = ctx.input("input")?.to_path_buf();
        let tokenizer = self.tokenizer.as_ref().ok_or_else(|| {
            ModelError::config("translate: no tokenizer for the source text".into())
        })?;
        let translator = ModelTranslator::load(
            &ModelTranslatorConfig {
                model: model.clone(),
                beam: cfg.beam,
                sample: cfg.sample,
                temperature: cfg.temperature,
                max_len: cfg.max_len,
                batch_size: cfg.batch_size,
            },
            tokenizer.clone(),
        )
        .map_err(|e| ModelError::config(e.to_string()))?;
        let ds = Dataset::open(&input)?;
        let column = match &cfg.column {
            Some(c) => c.as_str(),
            None => first_of(&ds, &["src", "text"]).ok_or_else(|| {
                ModelError::invalid(&input, "no `src` or `text` column (set translate.column)")
            })?,
        };
        let id_col = first_of(&ds, &["example_id", "doc_id", "id"]);
        let source_col = first_of(&ds, &["source_id", "doc_id"]).or(id_col);
        let mut columns = vec![column];
        columns.extend(id_col);
        if let Some(s) = source_col
            && !columns.contains(&s)
        {
            columns.push(s);
        }
        let schema = translations_schema();
        let info = StageInfo::new("translate", cfg, ctx.seed);
        let mut out = StageOutput::create(&ctx.output, schema.clone(), info, ctx.write.clone())?;
        out.add_input_hash(&model, input_hash(&model, InputKind::Model)?, 0);
        out.add_input(&ds)?;
        let mut row = 0usize;
        let (mut empty, mut written) = (0u64, 0u64);
        for batch in ds.batches_of(&columns, CHUNK)? {
            let batch = batch?;
            let text = StrColumn::of(&batch, column, &input)?;
            let ids: Vec<String> = match id_col {
                Some(c) => {
                    let col = StrColumn::of(&batch, c, &input)?;
                    (0..batch.num_rows())
                        .map(|i| col.get(i).unwrap_or_default().to_string())
                        .collect()
                }
                None => (row..row + batch.num_rows())
                    .map(|i| format!("#{i}"))
                    .collect(),
            };
            let sources: Vec<String> = match source_col {
                Some(c) if Some(c) != id_col => {
                    let col = StrColumn::of(&batch, c, &input)?;
                    (0..batch.num_rows())
                        .map(|i| col.get(i).unwrap_or_default().to_string())
                        .collect()
                }
                _ => ids.clone(),
            };
            row += batch.num_rows();
            let texts: Vec<String> = (0..batch.num_rows())
                .map(|i| text.get(i).unwrap_or_default().to_string())
                .collect();
            let seeds: Vec<u64> = ids
                .iter()
                .map(|id| ore_core::ids::row_seed(ctx.seed, id))
                .collect();
            let translations = translator
                .translate(&texts, &seeds)
                .map_err(|e| ModelError::config(e.to_string()))?;
            out.count_input(texts.len() as u64);
            let (keep, drop): (Vec<usize>, Vec<usize>) =
                (0..texts.len()).partition(|&i| !translations[i].trim().is_empty());
            let pick = |idx: &[usize], v: &[String]| -> ArrayRef {
                Arc::new(StringArray::from_iter_values(
                    idx.iter().map(|&i| v[i].as_str()),
                ))
            };
            let make = |idx: &[usize]| -> Result<RecordBatch> {
                RecordBatch::try_new(
                    schema.clone(),
                    vec![
                        pick(idx, &ids),
                        pick(idx, &sources),
                        pick(idx, &texts),
                        pick(idx, &translations),
                    ],
                )
                .map_err(|e| ModelError::config(e.to_string()))
            };
            out.write(&make(&keep)?)?;
            written += keep.len() as u64;
            if !drop.is_empty() {
                empty += drop.len() as u64;
                out.reject_all(&make(&drop)?, "empty_translation", None)?;
            }
        }
        out.set_summary("translator", translator.describe());
        out.set_summary("translated", json!(written));
        out.set_summary("empty", json!(empty));
        Ok(out.commit()?)
    }

    fn summary(&self, manifest: &Manifest, ctx: &StageContext) -> String {
        format!(
            "translate: {} rows translated into {}, {} empty (rejected) in {:.1} s\n",
            manifest.rows.output,
            ctx.output.display(),
            manifest.rows.rejected,
            manifest.wall_time_s
        )
    }
}
