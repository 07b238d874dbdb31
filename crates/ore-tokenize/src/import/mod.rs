//! Importers of labelled corpora into a `tokens` dataset with gold POS tags
//! and entities: CoNLL-2003 and two-column BIO files ([`conll`]) and
//! People's Daily ([`pku`]); and of any table dump (JSONL, CSV, TSV,
//! Parquet) into a `documents` dataset ([`table`]).
//!
//! Every sentence (CoNLL) or line (People's Daily) is a row; one with a
//! malformed line goes to `_rejects/` with the file, line number and reason
//! (as does a sentence left out by the CoNLL importer's `sample`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use ore_core::schema::{distinct_utf8, utf8_list_type};
use ore_core::{Manifest, StageInfo, StageOutput, WriteOptions};
use serde::Serialize;

use crate::columns::{TokenRow, token_columns, token_fields};
use crate::error::{Result, TokenizeError};
use crate::segment::Segmented;

pub mod conll;
pub mod headlines;
pub mod pku;
mod sample;
pub mod table;

/// Reason for a line that does not follow the format.
pub const MALFORMED_LINE: &str = "malformed_line";
/// Reason for a tag that is not `O`, `B-X` or `I-X` (or breaks IOB2).
pub const BAD_TAG: &str = "bad_tag";
/// Reason for a well-formed sentence not among those `sample` kept.
pub const NOT_SAMPLED: &str = "not_sampled";

/// One imported row before it becomes Arrow columns.
#[derive(Debug, Clone, Default)]
pub struct ImportedRow {
    pub doc_id: String,
    pub line: u64,
    pub words: Vec<String>,
    /// Gold POS tags; `None` (a null `pos`) where the file has none.
    pub pos: Option<Vec<String>>,
    pub entities: Vec<crate::entities::Entity>,
    /// Extra gold columns (CoNLL: chunk and NER tags); `None` is a null.
    pub extra: Vec<Option<Vec<String>>>,
    /// Join words with a space (CoNLL, BIO) or nothing (Chinese).
    pub spaced: bool,
}

/// A sentence that could not be imported.
#[derive(Debug, Clone)]
pub struct Rejected {
    pub line: u64,
    pub content: String,
    pub reason: &'static str,
    pub detail: String,
}

/// What parsing one file gives.
#[derive(Debug, Default)]
pub struct Parsed {
    pub rows: Vec<ImportedRow>,
    pub rejected: Vec<Rejected>,
}

impl ImportedRow {
    /// The text the words were joined into, with each word's character span.
    fn segmented(&self) -> (String, Segmented) {
        let mut text = String::new();
        let mut s = Segmented::default();
        let mut at = 0u32;
        for (i, w) in self.words.iter().enumerate() {
            if i > 0 && self.spaced {
                text.push(' ');
                at += 1;
            }
            let len = w.chars().count() as u32;
            text.push_str(w);
            s.tokens.push(w.clone());
            s.starts.push(at);
            s.ends.push(at + len);
            at += len;
        }
        s.pos = self.pos.clone().unwrap_or_default();
        (text, s)
    }
}

fn rejects_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("source", DataType::Utf8, false),
        Field::new("line", DataType::UInt64, false),
        Field::new("content", DataType::Utf8, false),
    ]))
}

/// An extra list<utf8> column of an importer: its name and whether a row
/// may have none (null).
pub(crate) type ExtraColumn = (&'static str, bool);

/// Writes the rows of `files` (each parsed by `parse(index, path, text)`)
/// as one dataset.
pub(crate) fn write_import<C: Serialize>(
    format: &str,
    config: &C,
    files: &[PathBuf],
    output: &Path,
    extra_columns: &[ExtraColumn],
    parse: impl Fn(usize, &Path, &str) -> Result<Parsed>,
) -> Result<Manifest> {
    let mut fields = vec![
        distinct_utf8("doc_id", false),
        Field::new("source", DataType::Utf8, false),
        Field::new("line", DataType::UInt64, false),
        distinct_utf8("text", false),
    ];
    fields.extend(token_fields(false));
    fields.extend(
        extra_columns
            .iter()
            .map(|&(name, nullable)| Field::new(name, utf8_list_type(), nullable)),
    );
    let schema: SchemaRef = Arc::new(Schema::new(fields));
    let info = StageInfo::new(format!("import-{format}"), config, 0);
    let mut out = StageOutput::create(output, schema.clone(), info, WriteOptions::default())?;
    for (index, file) in files.iter().enumerate() {
        let text = std::fs::read_to_string(file).map_err(|e| TokenizeError::io(file, e))?;
        let parsed = parse(index, file, &text)?;
        out.add_input_file(file, (parsed.rows.len() + parsed.rejected.len()) as u64)?;
        let source = file.display().to_string();
        out.count_input((parsed.rows.len() + parsed.rejected.len()) as u64);
        for chunk in parsed.rows.chunks(8192) {
            out.write(&rows_batch(&schema, &source, chunk, extra_columns.len())?)?;
        }
        write_rejects(&mut out, &source, &parsed.rejected)?;
    }
    Ok(out.commit()?)
}

/// Writes lines that could not be imported to the output's `_rejects/`
/// (source file, line number, content, reason and detail).
pub(crate) fn write_rejects(out: &mut StageOutput, source: &str, r: &[Rejected]) -> Result<()> {
    if r.is_empty() {
        return Ok(());
    }
    let batch = RecordBatch::try_new(
        rejects_schema(),
        vec![
            Arc::new(StringArray::from(vec![source; r.len()])) as ArrayRef,
            Arc::new(UInt64Array::from_iter_values(r.iter().map(|x| x.line))),
            Arc::new(StringArray::from_iter_values(
                r.iter().map(|x| x.content.as_str()),
            )),
        ],
    )?;
    let reasons: Vec<&str> = r.iter().map(|x| x.reason).collect();
    let details: Vec<Option<String>> = r.iter().map(|x| Some(x.detail.clone())).collect();
    out.reject(&batch, &reasons, Some(&details))?;
    Ok(())
}

fn rows_batch(
    schema: &SchemaRef,
    source: &str,
    rows: &[ImportedRow],
    extras: usize,
) -> Result<RecordBatch> {
    let mut texts = Vec::with_capacity(rows.len());
    let mut token_rows = Vec::with_capacity(rows.len());
    for row in rows {
        let (text, segmented) = row.segmented();
        texts.push(text);
        token_rows.push(TokenRow {
            text: segmented,
            has_pos: row.pos.is_some(),
            entities: row.entities.clone(),
            title: None,
        });
    }
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.doc_id.as_str()),
        )),
        Arc::new(StringArray::from(vec![source; rows.len()])),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.line))),
        Arc::new(StringArray::from(texts)),
    ];
    columns.extend(token_columns(&token_rows, false));
    for k in 0..extras {
        let mut b =
            arrow_array::builder::ListBuilder::new(arrow_array::builder::StringBuilder::new());
        for row in rows {
            match &row.extra[k] {
                Some(values) => {
                    for v in values {
                        b.values().append_value(v);
                    }
                    b.append(true);
                }
                None => b.append_null(),
            }
        }
        columns.push(Arc::new(b.finish()));
    }
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// An importer as a stage of the Stage contract: `KIND` and its config,
/// reading the files named by `input`.
macro_rules! import_stage {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $config:ty, $import:expr $(, validate = $validate:expr)?) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub $config);

        impl ore_core::StageDef for $name {
            const KIND: &'static str = $kind;
            const INPUTS: &'static [ore_core::InputSpec] = &[ore_core::InputSpec::files()];
            const SEEDED: bool = false;
            type Config = $config;
        }

        impl ore_core::Stage for $name {
            type Error = crate::TokenizeError;

            fn build(config: $config) -> crate::Result<Self> {
                $( ($validate)(&config)?; )?
                Ok(Self(config))
            }

            fn run(&self, ctx: &ore_core::StageContext) -> crate::Result<ore_core::Manifest> {
                let files = ctx.inputs("input");
                if files.is_empty() {
                    return Err(crate::TokenizeError::Config(format!(
                        "{}: no file to import",
                        ctx.section
                    )));
                }
                let import = $import;
                import(files, &ctx.output, &self.0)
            }
        }
    };
}

import_stage!(
    /// `import-pku`: People's Daily `word/tag` files to a tokens dataset.
    PkuImport,
    "import-pku",
    pku::PkuConfig,
    pku::import
);
import_stage!(
    /// `import-conll`: CoNLL-2003 or two-column BIO files to a tokens dataset.
    ConllImport,
    "import-conll",
    conll::ConllConfig,
    |files: &[PathBuf], output: &Path, config: &conll::ConllConfig| conll::import(files, output, *config)
);
import_stage!(
    /// `import-headlines`: People's Daily headline → lead pairs to `examples`.
    HeadlinesImport,
    "import-headlines",
    headlines::HeadlineConfig,
    headlines::import
);
import_stage!(
    /// `import-table`: JSONL, CSV, TSV, plain-line or Parquet dumps to a
    /// `documents` dataset.
    TableImport,
    "import-table",
    table::TableConfig,
    table::import,
    validate = table::TableConfig::validate
);
