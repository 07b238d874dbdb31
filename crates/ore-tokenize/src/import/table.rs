//! Any table dump (JSONL, CSV, TSV, plain lines or Parquet; `.gz` and
//! `.zst` read as they stream) into the `documents` table, with a column
//! mapping ([`TableConfig`]).
//!
//! Output columns: the `documents` columns ([`rows::base_fields`]: those the
//! input cannot give are null), `source` and `line`, then every other
//! input column (utf8, or its own type from Parquet) unless `keep_extra` is
//! off, then the constant columns of `set`. An input column whose name is
//! taken by one of those (an unmapped `url`, say) is kept as `input_NAME`.
//!
//! Rejects (`_rejects/`, with the file, line and the row as it was):
//! `malformed_line` (bad JSON, a JSON line that is not an object, a CSV
//! record with the wrong number of fields or a broken quote, bytes that
//! are not UTF-8), `no_text` (text missing, null or blank), `no_id` (the
//! mapped id is missing) and `duplicate_id` (an id seen before in this
//! import). A `time` value that is neither unix seconds nor RFC 3339 leaves
//! `fetched_at` null and is counted in the summary (`time_unparsed`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{ArrayRef, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use ore_core::{Manifest, StageInfo, StageOutput, WriteOptions};
use serde::{Deserialize, Serialize};

use super::write_rejects;
use crate::error::{Result, TokenizeError};
use rows::{Admit, Fields, Time};
use text::{Columns, Record};

mod parquet;
pub mod rows;
mod text;

/// Reason for a row without text.
pub const NO_TEXT: &str = "no_text";
/// Reason for a row whose mapped id is missing or empty.
pub const NO_ID: &str = "no_id";
/// Reason for a row whose id an earlier row of the import has.
pub const DUPLICATE_ID: &str = "duplicate_id";

/// Rows a batch holds.
const BATCH_ROWS: usize = 8192;

/// The format of the input files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableFormat {
    /// From each file's extension, after `.gz` / `.zst`: `.jsonl`,
    /// `.ndjson`, `.json` → jsonl; `.csv`; `.tsv`, `.tab` → tsv; `.txt` →
    /// lines; `.parquet`, `.parq`, `.pq` → parquet.
    #[default]
    Auto,
    /// One JSON object a line; keys are columns (values other than strings
    /// are kept as their JSON text).
    Jsonl,
    /// RFC 4180: `,`, fields in `"` may hold commas, line breaks and `""`;
    /// a record's line is the line it starts on.
    Csv,
    /// Tab-separated with the same quoting rules as `csv` (like Python's
    /// `excel-tab` dialect): a field that starts with `"` is quoted.
    Tsv,
    /// Each line one row, its text the whole line (column `text`, or what
    /// `text` names); an empty line is a `no_text` reject.
    Lines,
    /// Parquet files: columns keep their types; `line` is the row number.
    Parquet,
}

impl TableFormat {
    /// The format of `path`: `self`, or by its extension for `auto`.
    pub fn of(self, path: &Path) -> Result<TableFormat> {
        if self != TableFormat::Auto {
            return Ok(self);
        }
        let name = path.to_string_lossy().to_lowercase();
        let name = name
            .strip_suffix(".gz")
            .or_else(|| name.strip_suffix(".zst"))
            .unwrap_or(&name);
        let ext = name.rsplit_once('.').map_or("", |(_, ext)| ext);
        Ok(match ext {
            "jsonl" | "ndjson" | "json" => TableFormat::Jsonl,
            "csv" => TableFormat::Csv,
            "tsv" | "tab" => TableFormat::Tsv,
            "txt" => TableFormat::Lines,
            "parquet" | "parq" | "pq" => TableFormat::Parquet,
            _ => {
                return Err(TokenizeError::Input {
                    path: path.to_path_buf(),
                    message: "cannot tell the format from the extension; set `format`".into(),
                });
            }
        })
    }
}

/// Import settings (`[SECTION]` with `stage = "import-table"` in a
/// pipeline, or the flags of `ore import table`), recorded in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", default)]
pub struct TableConfig {
    /// `jsonl`, `csv`, `tsv`, `lines`, `parquet` or `auto` (default: from
    /// each file's extension).
    pub format: TableFormat,
    /// Column holding the text (default `text`). CSV and TSV files without
    /// a header name their columns `column_1`, `column_2`, …
    pub text: String,
    /// Column holding the title (`title`); none by default.
    pub title: Option<String>,
    /// Column holding the id, kept as `doc_id` as it is (numbers as their
    /// decimal text). Unset: `doc_id` is the hash of the text that the crawl
    /// uses for URLs (32 hex characters), `HASH-k` for the k-th repeat of a
    /// text.
    pub id: Option<String>,
    /// Column holding the URL (`url` and `final_url`).
    pub url: Option<String>,
    /// Column holding the time (`fetched_at`): unix seconds (integer or
    /// decimal), RFC 3339, or a Parquet timestamp.
    pub time: Option<String>,
    /// Column holding the language tag (`lang`).
    pub lang: Option<String>,
    /// Keep the input's other columns (default true).
    pub keep_extra: bool,
    /// CSV and TSV files start with a header line (default true).
    pub csv_header: bool,
    /// Constant utf8 columns added to every row (`set = { sentiment = "pos"
    /// }`), after the input's.
    pub set: BTreeMap<String, String>,
}

impl Default for TableConfig {
    fn default() -> Self {
        Self {
            format: TableFormat::Auto,
            text: "text".into(),
            title: None,
            id: None,
            url: None,
            time: None,
            lang: None,
            keep_extra: true,
            csv_header: true,
            set: BTreeMap::new(),
        }
    }
}

impl TableConfig {
    /// Checks the settings before any file is read.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(TokenizeError::Config(format!("import-table: {m}")));
        for (key, value) in self.mapped() {
            if value.is_empty() {
                return bad(format!("`{key}` names no column"));
            }
        }
        let base = rows::base_fields();
        for key in self.set.keys() {
            if key.is_empty() || base.iter().any(|f| f.name() == key) {
                return bad(format!("`set` cannot make a column named `{key}`"));
            }
        }
        Ok(())
    }

    /// The mapped columns by setting name.
    fn mapped(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("text", Some(&self.text)),
            ("title", self.title.as_ref()),
            ("id", self.id.as_ref()),
            ("url", self.url.as_ref()),
            ("time", self.time.as_ref()),
            ("lang", self.lang.as_ref()),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v.as_str())))
    }
}

/// Where the mapped columns are among the input's, and which others are
/// kept under which output name.
#[derive(Debug)]
struct Mapping {
    text: usize,
    title: Option<usize>,
    id: Option<usize>,
    url: Option<usize>,
    time: Option<usize>,
    lang: Option<usize>,
    /// Kept input columns: index and output name.
    extra: Vec<(usize, String)>,
}

impl Mapping {
    /// Resolves `config`'s columns among `names`; a mapped column that no
    /// input has is an error (a typo would otherwise give empty columns).
    fn resolve(names: &[String], config: &TableConfig, files: &[PathBuf]) -> Result<Self> {
        let find = |key: &str, name: &str| {
            names.iter().position(|n| n == name).ok_or_else(|| {
                TokenizeError::Config(format!(
                    "import-table: `{key}` is `{name}`, a column none of {} has (columns: {})",
                    files
                        .iter()
                        .map(|f| f.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    names.join(", ")
                ))
            })
        };
        let opt = |key, name: &Option<String>| name.as_deref().map(|n| find(key, n)).transpose();
        let mut m = Mapping {
            text: find("text", &config.text)?,
            title: opt("title", &config.title)?,
            id: opt("id", &config.id)?,
            url: opt("url", &config.url)?,
            time: opt("time", &config.time)?,
            lang: opt("lang", &config.lang)?,
            extra: Vec::new(),
        };
        if config.keep_extra {
            let mapped = [m.text]
                .into_iter()
                .chain([m.title, m.id, m.url, m.time, m.lang].into_iter().flatten())
                .collect::<Vec<_>>();
            let taken = |name: &str| {
                rows::base_fields().iter().any(|f| f.name() == name)
                    || config.set.contains_key(name)
            };
            m.extra = (0..names.len())
                .filter(|i| !mapped.contains(i))
                .map(|i| {
                    let name = &names[i];
                    let out = if taken(name) {
                        format!("input_{name}")
                    } else {
                        name.clone()
                    };
                    (i, out)
                })
                .collect();
        }
        Ok(m)
    }

    /// The output schema, the extra columns typed by `types` (in `extra`'s
    /// order).
    fn schema(&self, types: &[DataType], config: &TableConfig) -> SchemaRef {
        let mut fields = rows::base_fields();
        for ((_, name), ty) in self.extra.iter().zip(types) {
            fields.push(Field::new(name, ty.clone(), true));
        }
        for key in config.set.keys() {
            fields.push(Field::new(key, DataType::Utf8, false));
        }
        Arc::new(Schema::new(fields))
    }
}

/// The output, with what every batch of kept rows needs.
struct Sink<'a> {
    out: StageOutput,
    schema: SchemaRef,
    config: &'a TableConfig,
    admit: Admit,
}

impl Sink<'_> {
    /// Writes the rows admitted so far with their `extra` columns.
    fn flush(&mut self, source: &str, mut extra: Vec<ArrayRef>) -> Result<()> {
        if self.admit.is_empty() {
            return Ok(());
        }
        let n = self.admit.len();
        for value in self.config.set.values() {
            extra.push(Arc::new(StringArray::from(vec![value.as_str(); n])));
        }
        let base = self.admit.take_columns(source);
        self.out.write(&rows::batch(&self.schema, base, extra))?;
        Ok(())
    }

    fn commit(mut self, format: &str) -> Result<Manifest> {
        self.out
            .set_summary("time_unparsed", self.admit.time_unparsed.into());
        self.out.set_summary("format", format.into());
        Ok(self.out.commit()?)
    }
}

fn create_sink<'a>(output: &Path, schema: SchemaRef, config: &'a TableConfig) -> Result<Sink<'a>> {
    let info = StageInfo::new("import-table", config, 0);
    let out = StageOutput::create(output, schema.clone(), info, WriteOptions::default())?;
    Ok(Sink {
        out,
        schema,
        config,
        admit: Admit::new(config.id.is_some()),
    })
}

/// Imports `files` into a `documents` dataset at `output`.
pub fn import(files: &[PathBuf], output: &Path, config: &TableConfig) -> Result<Manifest> {
    config.validate()?;
    let formats = files
        .iter()
        .map(|f| config.format.of(f))
        .collect::<Result<Vec<_>>>()?;
    let parquet = formats
        .iter()
        .filter(|&&f| f == TableFormat::Parquet)
        .count();
    if parquet == files.len() {
        return parquet::import(files, output, config);
    }
    if parquet > 0 {
        return Err(TokenizeError::Config(
            "import-table: Parquet files cannot be imported together with text files".into(),
        ));
    }
    let mut columns = Columns::default();
    for (path, &format) in files.iter().zip(&formats) {
        text::scan(path, format, config.csv_header, &config.text, &mut columns)?;
    }
    let mapping = Mapping::resolve(&columns.names, config, files)?;
    let schema = mapping.schema(&vec![DataType::Utf8; mapping.extra.len()], config);
    let mut sink = create_sink(output, schema, config)?;
    for (path, &format) in files.iter().zip(&formats) {
        let source = path.display().to_string();
        let new_builders = || -> Vec<StringBuilder> {
            mapping.extra.iter().map(|_| StringBuilder::new()).collect()
        };
        let mut extra = new_builders();
        let mut rejected = Vec::new();
        let mut rows_in = 0u64;
        text::read(path, format, config.csv_header, &columns, |record| {
            rows_in += 1;
            match record {
                Record::Bad(r) => rejected.push(r),
                Record::Row { line, raw, values } => {
                    let get = |i: Option<usize>| i.and_then(|i| values[i].as_deref());
                    let fields = Fields {
                        text: get(Some(mapping.text)),
                        id: get(mapping.id).map(String::from),
                        title: get(mapping.title),
                        url: get(mapping.url),
                        lang: get(mapping.lang),
                        time: mapping
                            .time
                            .map(|i| get(Some(i)).map_or(Time::Missing, Time::Text)),
                    };
                    match sink.admit.admit(line, fields, || raw) {
                        Ok(()) => {
                            for (b, (i, _)) in extra.iter_mut().zip(&mapping.extra) {
                                b.append_option(values[*i].as_deref());
                            }
                        }
                        Err(r) => rejected.push(r),
                    }
                }
            }
            if sink.admit.len() >= BATCH_ROWS {
                let arrays = std::mem::replace(&mut extra, new_builders())
                    .into_iter()
                    .map(|mut b| Arc::new(b.finish()) as ArrayRef)
                    .collect();
                sink.flush(&source, arrays)?;
            }
            if rejected.len() >= BATCH_ROWS {
                write_rejects(&mut sink.out, &source, &std::mem::take(&mut rejected))?;
            }
            Ok(())
        })?;
        let arrays = extra
            .into_iter()
            .map(|mut b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        sink.flush(&source, arrays)?;
        write_rejects(&mut sink.out, &source, &rejected)?;
        sink.out.count_input(rows_in);
        sink.out.add_input_file(path, rows_in)?;
    }
    let names: std::collections::BTreeSet<String> = formats
        .iter()
        .map(|f| format!("{f:?}").to_lowercase())
        .collect();
    sink.commit(&names.into_iter().collect::<Vec<_>>().join(","))
}
