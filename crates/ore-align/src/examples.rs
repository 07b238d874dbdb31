//! [`ExamplesStage`]: documents become the `examples` of one generation
//! task (`ore examples --task headline|summary|translation`).
//!
//! - `headline`: a page's body → its title. The body is the page's text
//!   without the lines that repeat the title (the help's pages open with
//!   their title as a heading): otherwise the task is a copy.
//! - `summary`: the rest of the page → its first paragraph (again without
//!   the title's lines).
//! - `translation`: two crawls of one site → aligned pairs, as
//!   [`crate::AlignStage`] makes them (`[SECTION.align]` configures it).
//!
//! Each kept example records its document (`source_id` = `doc_id`, `url`,
//! `fetched_at`), so lineage runs from any example back to its URL; every
//! document that makes no example goes to `_rejects/` with the reason.

use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use ore_core::column::StrColumn;
use ore_core::schema::{examples_schema, timestamp_type};
use ore_core::{Dataset, Manifest, StageInfo, StageOutput, WriteOptions};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::align::text_key;
use crate::config::AlignConfig;
use crate::error::{AlignError, Result};
use crate::stage::{AlignStage, Tokenize};

/// Which task the examples are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// Page body → page title.
    Headline,
    /// Rest of the page → its first paragraph.
    Summary,
    /// Two crawls of one site → aligned translation pairs.
    Translation,
}

impl Task {
    pub fn name(self) -> &'static str {
        match self {
            Task::Headline => "headline",
            Task::Summary => "summary",
            Task::Translation => "translation",
        }
    }
}

impl std::str::FromStr for Task {
    type Err = AlignError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "headline" => Ok(Task::Headline),
            "summary" => Ok(Task::Summary),
            "translation" => Ok(Task::Translation),
            other => Err(AlignError::Config(format!(
                "task {other:?}: expected headline, summary or translation"
            ))),
        }
    }
}

/// `[examples]`: which task, and the bounds on the two sides.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExamplesConfig {
    pub task: Task,
    /// The input column that holds the page text.
    pub text_column: String,
    /// A source shorter than this many characters (spaces aside) is
    /// rejected (`too_short`).
    pub min_src_chars: usize,
    /// A target shorter than this is rejected (`no_title` for a headline,
    /// `no_paragraph` for a summary).
    pub min_tgt_chars: usize,
    /// A target longer than this many characters is rejected
    /// (`tgt_too_long`): a "title" of a paragraph's length is not one.
    pub max_tgt_chars: usize,
    /// The source is cut to this many characters at a line end where it
    /// can be (0: whole pages). Models read a prefix anyway; this keeps
    /// the dataset small.
    pub max_src_chars: usize,
    /// A document whose target repeats an earlier document's target and
    /// whose source repeats its source (whitespace and case aside) is
    /// rejected (`duplicate`).
    pub dedup: bool,
    /// `translation` only: how the two crawls are aligned.
    pub align: AlignConfig,
}

impl Default for ExamplesConfig {
    fn default() -> Self {
        Self {
            task: Task::Headline,
            text_column: "text".into(),
            min_src_chars: 20,
            min_tgt_chars: 2,
            max_tgt_chars: 80,
            max_src_chars: 2000,
            dedup: true,
            align: AlignConfig::default(),
        }
    }
}

impl ExamplesConfig {
    pub fn validate(&self) -> Result<()> {
        if self.min_tgt_chars > self.max_tgt_chars {
            return Err(AlignError::Config(format!(
                "min_tgt_chars ({}) > max_tgt_chars ({})",
                self.min_tgt_chars, self.max_tgt_chars
            )));
        }
        if self.text_column.is_empty() {
            return Err(AlignError::Config("text_column is empty".into()));
        }
        self.align.validate()
    }
}

/// A configured examples stage.
pub struct ExamplesStage {
    config: ExamplesConfig,
    tokenize: Option<Arc<Tokenize>>,
}

impl std::fmt::Debug for ExamplesStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExamplesStage")
            .field("config", &self.config)
            .field("tokenize", &self.tokenize.is_some())
            .finish()
    }
}

impl ore_core::StageDef for ExamplesStage {
    const KIND: &'static str = "examples";
    const INPUTS: &'static [ore_core::InputSpec] = &[ore_core::InputSpec {
        key: "input",
        kind: ore_core::InputKind::Dataset,
        required: true,
        many: true,
        defaults: &["tokenize", "clean", "crawl"],
    }];
    const SEEDED: bool = false;
    type Config = ExamplesConfig;
}

impl ore_core::Stage for ExamplesStage {
    type Error = AlignError;

    fn build(config: ExamplesConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            config,
            tokenize: None,
        })
    }

    fn run(&self, ctx: &ore_core::StageContext) -> Result<Manifest> {
        let inputs = ctx.inputs("input");
        match (self.config.task, inputs) {
            (Task::Translation, [src, tgt]) => {
                let align = AlignStage::build(self.config.align.clone())?
                    .with_tokenizer(self.take_tokenizer()?);
                align.run_on(src, tgt, &ctx.output, ctx.write.clone())
            }
            (Task::Translation, other) => Err(AlignError::Config(format!(
                "task translation reads two crawls (--input SRC --input TGT), got {}",
                other.len()
            ))),
            (_, [input]) => self.run_on(input, &ctx.output, ctx.write.clone()),
            (task, other) => Err(AlignError::Config(format!(
                "task {} reads one documents dataset, got {} inputs",
                task.name(),
                other.len()
            ))),
        }
    }

    fn summary(&self, manifest: &Manifest, ctx: &ore_core::StageContext) -> String {
        let mut line = format!(
            "examples ({}): {} examples written to {} from {} documents",
            self.config.task.name(),
            manifest.rows.output,
            ctx.output.display(),
            manifest.rows.input,
        );
        if manifest.rows.rejected > 0 {
            line.push_str(&format!("; {} rejected", manifest.rows.rejected));
            line.push_str(&manifest.rows.by_reason_text());
        }
        line.push_str(&format!(" in {:.1} s\n", manifest.wall_time_s));
        line
    }
}

/// One document's example, or why it has none.
#[derive(Debug, Clone, PartialEq)]
pub enum Made {
    Example { src: String, tgt: String },
    Rejected(&'static str),
}

/// The body of a page: its non-empty lines, without those that repeat the
/// title.
pub fn body_lines<'a>(text: &'a str, title: &str) -> Vec<&'a str> {
    let title = text_key(title);
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && (title.is_empty() || text_key(l) != title))
        .collect()
}

/// Joins lines, stopping at the line that would take the text past
/// `max_chars` (0: no limit); a first line longer than that is cut.
fn join_capped(lines: &[&str], max_chars: usize) -> String {
    let mut out = String::new();
    let mut n = 0usize;
    for line in lines {
        let len = line.chars().count();
        if max_chars > 0 && n > 0 && n + 1 + len > max_chars {
            break;
        }
        if !out.is_empty() {
            out.push('\n');
            n += 1;
        }
        if max_chars > 0 && len > max_chars {
            out.extend(line.chars().take(max_chars));
            break;
        }
        out.push_str(line);
        n += len;
    }
    out
}

fn visible_len(s: &str) -> usize {
    s.chars().filter(|c| !c.is_whitespace()).count()
}

impl ExamplesConfig {
    /// The example a document makes for this task (headline or summary).
    pub fn make(&self, title: Option<&str>, text: &str) -> Made {
        let title = title.map(str::trim).unwrap_or_default();
        let body = body_lines(text, title);
        let (src_lines, tgt) = match self.task {
            Task::Headline => {
                if visible_len(title) < self.min_tgt_chars.max(1) {
                    return Made::Rejected("no_title");
                }
                (&body[..], title.to_string())
            }
            Task::Summary | Task::Translation => match body.split_first() {
                Some((first, rest)) if visible_len(first) >= self.min_tgt_chars.max(1) => {
                    (rest, first.to_string())
                }
                _ => return Made::Rejected("no_paragraph"),
            },
        };
        if tgt.chars().count() > self.max_tgt_chars {
            return Made::Rejected("tgt_too_long");
        }
        let src = join_capped(src_lines, self.max_src_chars);
        if visible_len(&src) < self.min_src_chars.max(1) {
            return Made::Rejected(if src_lines.is_empty() {
                "empty_body"
            } else {
                "too_short"
            });
        }
        Made::Example { src, tgt }
    }
}

/// The columns of `examples` plus the document's `url` and `fetched_at`.
pub fn output_schema() -> SchemaRef {
    let mut fields: Vec<Field> = examples_schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new("url", DataType::Utf8, false));
    fields.push(Field::new("fetched_at", timestamp_type(), true));
    fields.push(Field::new("task", DataType::Utf8, false));
    Arc::new(Schema::new(fields))
}

impl ExamplesStage {
    /// The tokenizer for the token-list columns.
    pub fn with_tokenizer(mut self, tokenize: Tokenize) -> Self {
        self.tokenize = Some(Arc::new(tokenize));
        self
    }

    pub fn config(&self) -> &ExamplesConfig {
        &self.config
    }

    fn take_tokenizer(&self) -> Result<Tokenize> {
        // The align stage owns its tokenizer; hand it a view of ours.
        let shared = Arc::clone(self.tokenizer()?);
        Ok(Box::new(move |text: &str| shared(text)))
    }

    fn tokenizer(&self) -> Result<&Arc<Tokenize>> {
        self.tokenize.as_ref().ok_or_else(|| {
            AlignError::Config(
                "no tokenizer for src_tokens/tgt_tokens (ExamplesStage::with_tokenizer)".into(),
            )
        })
    }

    /// Headline or summary examples of one documents dataset.
    pub fn run_on(&self, input: &Path, output: &Path, opts: WriteOptions) -> Result<Manifest> {
        let cfg = &self.config;
        let tokenize = self.tokenizer()?;
        let set = Dataset::open(input)?;
        let has = |c: &str| set.schema().index_of(c).is_ok();
        for c in ["doc_id", "url", cfg.text_column.as_str()] {
            if !has(c) {
                return Err(AlignError::input(
                    input,
                    format!("no `{c}` column: not a documents dataset (crawl, clean or tokenize)"),
                ));
            }
        }
        let mut columns = vec!["doc_id", "url", cfg.text_column.as_str()];
        for c in ["title", "fetched_at"] {
            if has(c) {
                columns.push(c);
            }
        }
        let schema = output_schema();
        let info = StageInfo::new("examples", cfg, 0);
        let mut out = StageOutput::create(output, schema.clone(), info, opts)?;
        out.add_input(&set)?;
        let mut seen: std::collections::HashSet<(String, String)> = Default::default();
        let (mut made, mut duplicates) = (0u64, 0u64);
        for batch in set.batches_of(&columns, 4096)? {
            let batch = batch?;
            out.count_input(batch.num_rows() as u64);
            let doc = StrColumn::of(&batch, "doc_id", input)?;
            let url = StrColumn::of(&batch, "url", input)?;
            let text = StrColumn::of(&batch, &cfg.text_column, input)?;
            let title = has("title")
                .then(|| StrColumn::of(&batch, "title", input))
                .transpose()?;
            let fetched = batch.column_by_name("fetched_at").cloned();
            let mut rows: Vec<(usize, String, String)> = Vec::new();
            let mut rejected: Vec<usize> = Vec::new();
            let mut reasons: Vec<&'static str> = Vec::new();
            for r in 0..batch.num_rows() {
                let t = title.as_ref().and_then(|c| c.get(r));
                match cfg.make(t, text.get(r).unwrap_or_default()) {
                    Made::Example { src, tgt } => {
                        if cfg.dedup && !seen.insert((text_key(&src), text_key(&tgt))) {
                            duplicates += 1;
                            rejected.push(r);
                            reasons.push("duplicate");
                        } else {
                            rows.push((r, src, tgt));
                        }
                    }
                    Made::Rejected(reason) => {
                        rejected.push(r);
                        reasons.push(reason);
                    }
                }
            }
            made += rows.len() as u64;
            if !rows.is_empty() {
                let n = rows.len();
                let take = |f: &dyn Fn(&(usize, String, String)) -> String| -> ArrayRef {
                    Arc::new(StringArray::from_iter_values(rows.iter().map(f)))
                };
                let tokens = |side: fn(&(usize, String, String)) -> &str| -> ArrayRef {
                    let mut b = ListBuilder::new(StringBuilder::new());
                    for row in &rows {
                        for tok in tokenize(side(row)) {
                            b.values().append_value(tok);
                        }
                        b.append(true);
                    }
                    Arc::new(b.finish())
                };
                let doc_of = |row: &(usize, String, String)| doc.get(row.0).unwrap_or_default();
                let fetched_at: ArrayRef = match &fetched {
                    Some(col) => {
                        let idx = UInt64Array::from_iter_values(rows.iter().map(|r| r.0 as u64));
                        let taken = arrow_select::take::take(col.as_ref(), &idx, None)?;
                        arrow_cast::cast(&taken, &timestamp_type())?
                    }
                    None => arrow_array::new_null_array(&timestamp_type(), n),
                };
                let task = cfg.task.name();
                let columns: Vec<ArrayRef> = vec![
                    take(&|row| example_id(doc_of(row), task)),
                    take(&|row| doc_of(row).to_string()),
                    take(&|row| row.1.clone()),
                    take(&|row| row.2.clone()),
                    tokens(|row| &row.1),
                    tokens(|row| &row.2),
                    Arc::new(StringArray::new_null(n)),
                    Arc::new(StringArray::new_null(n)),
                    Arc::new(UInt64Array::new_null(n)),
                    take(&|row| url.get(row.0).unwrap_or_default().to_string()),
                    fetched_at,
                    Arc::new(StringArray::from_iter_values(std::iter::repeat_n(task, n))),
                ];
                out.write(&RecordBatch::try_new(schema.clone(), columns)?)?;
            }
            if !rejected.is_empty() {
                let idx = UInt64Array::from_iter_values(rejected.iter().map(|&r| r as u64));
                let taken = arrow_select::take::take_record_batch(&batch, &idx)?;
                out.reject(&taken, &reasons, None)?;
            }
        }
        out.set_summary("task", json!(cfg.task.name()));
        out.set_summary("examples", json!(made));
        out.set_summary("duplicates", json!(duplicates));
        Ok(out.commit()?)
    }
}

/// A stable id: the document's id and the task.
pub fn example_id(doc_id: &str, task: &str) -> String {
    let key = format!("{doc_id}\u{1f}{task}");
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(key.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(task: Task) -> ExamplesConfig {
        ExamplesConfig {
            task,
            min_src_chars: 5,
            ..ExamplesConfig::default()
        }
    }

    #[test]
    fn headline_drops_the_title_line_from_the_body() {
        let text = "视图\n该菜单包含了用于控制文档在屏幕上的显示的命令。\n普通\n视 图";
        let made = cfg(Task::Headline).make(Some(" 视图 "), text);
        assert_eq!(
            made,
            Made::Example {
                src: "该菜单包含了用于控制文档在屏幕上的显示的命令。\n普通".into(),
                tgt: "视图".into()
            }
        );
    }

    #[test]
    fn summary_is_the_first_paragraph_after_the_title() {
        let text = "Title\nFirst paragraph here.\nSecond one, longer text.\nThird.";
        let made = cfg(Task::Summary).make(Some("Title"), text);
        assert_eq!(
            made,
            Made::Example {
                src: "Second one, longer text.\nThird.".into(),
                tgt: "First paragraph here.".into()
            }
        );
    }

    #[test]
    fn documents_without_an_example_say_why() {
        let c = cfg(Task::Headline);
        assert_eq!(c.make(None, "some body text"), Made::Rejected("no_title"));
        assert_eq!(c.make(Some("T"), "T\n"), Made::Rejected("no_title"));
        assert_eq!(c.make(Some("Tt"), "Tt\n"), Made::Rejected("empty_body"));
        assert_eq!(c.make(Some("Tt"), "Tt\nab"), Made::Rejected("too_short"));
        let long = "x".repeat(81);
        assert_eq!(
            c.make(Some(&long), "body text long enough"),
            Made::Rejected("tgt_too_long")
        );
        assert_eq!(
            cfg(Task::Summary).make(Some("T"), "T"),
            Made::Rejected("no_paragraph")
        );
    }

    #[test]
    fn long_sources_are_cut_at_a_line_end() {
        let lines = ["aaaa", "bbbb", "cccc"];
        assert_eq!(join_capped(&lines, 9), "aaaa\nbbbb");
        assert_eq!(join_capped(&lines, 0), "aaaa\nbbbb\ncccc");
        assert_eq!(join_capped(&["abcdefgh"], 3), "abc");
    }
}
