//! The stage: read a dataset with a text column, append the token columns,
//! write the `tokens` dataset with its `_vocab/`, `_rejects/` and manifest.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, RecordBatch};
use arrow_schema::{Field, Schema, SchemaRef};
use ore_core::schema::tokens as col;
use ore_core::{Dataset, Manifest, Progress, StageInfo, StageOutput, StrColumn, WriteOptions};
use rayon::prelude::*;

use crate::columns::{TokenRow, token_columns, token_fields};
use crate::config::TokenizeConfig;
use crate::entities::EntityTagger;
use crate::error::{Result, TokenizeError};
use crate::segment::Segmenter;
use crate::vocab::{VOCAB_DIR, VocabCounter, vocab_batch};

/// Reason recorded for rows without text.
pub const NULL_TEXT: &str = "null_text";

/// A ready-to-run tokenizer: segmenter, entity tagger and config.
#[derive(Debug)]
pub struct Tokenizer {
    config: TokenizeConfig,
    segmenter: Segmenter,
    tagger: Option<EntityTagger>,
}

impl Tokenizer {
    /// Validates the config and loads dictionaries, stop words and gazetteers.
    pub fn build(config: &TokenizeConfig) -> Result<Self> {
        if config.batch_rows == 0 {
            return Err(TokenizeError::Config(
                "batch_rows must be at least 1".into(),
            ));
        }
        let mut segmenter = Segmenter::build(config)?;
        let tagger = if config.entities {
            Some(EntityTagger::build(config, &mut segmenter)?)
        } else {
            None
        };
        Ok(Self {
            config: config.clone(),
            segmenter,
            tagger,
        })
    }

    pub fn segmenter(&self) -> &Segmenter {
        &self.segmenter
    }

    /// Tokenizes and annotates one text (and its title).
    pub fn annotate(&self, text: &str, title: Option<&str>) -> TokenRow {
        let segmented = self.segmenter.segment(text);
        let entities = match &self.tagger {
            Some(tagger) => tagger.tag(&segmented.tokens, &segmented.pos),
            None => Vec::new(),
        };
        TokenRow {
            has_pos: self.config.pos,
            entities,
            title: title.map(|t| self.segmenter.segment(t).tokens),
            text: segmented,
        }
    }

    /// Runs the stage from `input` to `output`.
    pub fn run(
        &self,
        input: &Path,
        output: &Path,
        seed: u64,
        opts: WriteOptions,
    ) -> Result<Manifest> {
        let dataset = Dataset::open(input)?;
        let schema = dataset.schema().clone();
        let text_field = schema
            .field_with_name(&self.config.text_column)
            .map_err(|_| TokenizeError::Input {
                path: input.to_path_buf(),
                message: format!(
                    "no `{}` column to tokenize (columns: {}); set tokenize.text_column",
                    self.config.text_column,
                    schema
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?;
        if !matches!(
            text_field.data_type(),
            arrow_schema::DataType::Utf8
                | arrow_schema::DataType::LargeUtf8
                | arrow_schema::DataType::Utf8View
        ) {
            return Err(TokenizeError::Input {
                path: input.to_path_buf(),
                message: format!(
                    "column `{}` is {}, not text",
                    self.config.text_column,
                    text_field.data_type()
                ),
            });
        }
        let with_title = schema.field_with_name(&self.config.title_column).is_ok();
        // Columns this stage writes are replaced, so rerunning on its own
        // output works.
        let kept: Vec<usize> = (0..schema.fields().len())
            .filter(|&i| !col::ALL.contains(&schema.field(i).name().as_str()))
            .collect();
        let mut fields: Vec<Field> = kept.iter().map(|&i| schema.field(i).clone()).collect();
        fields.extend(token_fields(with_title));
        let out_schema: SchemaRef = Arc::new(Schema::new(fields));

        let info = StageInfo::new("tokenize", &self.config, seed);
        let mut out = StageOutput::create(output, out_schema.clone(), info, opts)?;
        out.add_input(&dataset)?;
        let progress = Progress::new(Some(dataset.num_rows()), "rows");
        progress.set_message("tokenize");
        let mut vocab = VocabCounter::default();
        let (mut tokens_total, mut chars_total) = (0u64, 0u64);

        // Columns this stage replaces are not even decoded.
        let kept_names: Vec<&str> = kept
            .iter()
            .map(|&i| schema.field(i).name().as_str())
            .collect();
        for batch in dataset.batches_of(&kept_names, self.config.batch_rows)? {
            let batch = batch?;
            let n = batch.num_rows();
            out.count_input(n as u64);
            let texts = StrColumn::of(&batch, &self.config.text_column, input)?;
            let titles = if with_title {
                Some(StrColumn::of(&batch, &self.config.title_column, input)?)
            } else {
                None
            };
            let rows: Vec<Option<TokenRow>> = (0..n)
                .into_par_iter()
                .with_min_len(16)
                .map(|i| {
                    let text = texts.get(i)?;
                    Some(self.annotate(text, titles.and_then(|t| t.get(i))))
                })
                .collect();

            let has_text: BooleanArray = rows.iter().map(|r| Some(r.is_some())).collect();
            if has_text.true_count() < n {
                let no_text: BooleanArray = rows.iter().map(|r| Some(r.is_none())).collect();
                let missing = arrow_select::filter::filter_record_batch(&batch, &no_text)?;
                out.reject_all(
                    &missing,
                    NULL_TEXT,
                    Some(&format!("`{}` is null", self.config.text_column)),
                )?;
            }
            let rows: Vec<TokenRow> = rows.into_iter().flatten().collect();
            let base = arrow_select::filter::filter_record_batch(&batch, &has_text)?;
            let mut columns: Vec<ArrayRef> = base.columns().to_vec();
            columns.extend(token_columns(&rows, with_title));
            out.write(&RecordBatch::try_new(out_schema.clone(), columns)?)?;

            if self.config.vocab.enabled {
                let partial = rows
                    .par_iter()
                    .fold(VocabCounter::default, |mut v, r| {
                        v.add_document(&r.text.tokens);
                        v
                    })
                    .reduce(VocabCounter::default, |mut a, b| {
                        a.merge(b);
                        a
                    });
                vocab.merge(partial);
            }
            tokens_total += rows.iter().map(|r| r.text.tokens.len() as u64).sum::<u64>();
            chars_total += rows
                .iter()
                .map(|r| u64::from(r.text.ends.last().copied().unwrap_or(0)))
                .sum::<u64>();
            progress.inc(n as u64);
        }
        progress.finish();

        if self.config.vocab.enabled {
            let entries = vocab.finish(&self.config.vocab);
            out.set_summary("vocab_size", serde_json::json!(entries.len()));
            out.write_side(VOCAB_DIR, &vocab_batch(&entries)?)?;
        }
        out.set_summary("tokens", serde_json::json!(tokens_total));
        out.set_summary("chars_tokenized", serde_json::json!(chars_total));
        Ok(out.commit()?)
    }
}
