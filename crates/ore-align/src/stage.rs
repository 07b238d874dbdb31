//! [`AlignStage`]: the Stage that reads two `documents` datasets and writes
//! their parallel `examples`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use ore_core::column::StrColumn;
use ore_core::schema::examples_schema;
use ore_core::{Dataset, Manifest, StageInfo, StageOutput, WriteOptions};
use serde_json::json;

use crate::align::{self, Bead, LengthModel, Page};
use crate::config::{AlignConfig, Method};
use crate::error::{AlignError, Result};

/// Turns a text into its tokens (jieba for Chinese, words for English),
/// for the `src_tokens`/`tgt_tokens` columns; the binary hands one over.
pub type Tokenize = Box<dyn Fn(&str) -> Vec<String> + Send + Sync>;

/// A configured align stage.
pub struct AlignStage {
    config: AlignConfig,
    tokenize: Option<Tokenize>,
}

impl std::fmt::Debug for AlignStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlignStage")
            .field("config", &self.config)
            .field("tokenize", &self.tokenize.is_some())
            .finish()
    }
}

impl ore_core::StageDef for AlignStage {
    const KIND: &'static str = "align";
    const INPUTS: &'static [ore_core::InputSpec] = &[ore_core::InputSpec {
        key: "input",
        kind: ore_core::InputKind::Dataset,
        required: true,
        many: true,
        defaults: &[],
    }];
    const SEEDED: bool = false;
    type Config = AlignConfig;
}

impl ore_core::Stage for AlignStage {
    type Error = AlignError;

    fn build(config: AlignConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            config,
            tokenize: None,
        })
    }

    fn run(&self, ctx: &ore_core::StageContext) -> Result<Manifest> {
        match ctx.inputs("input") {
            [src, tgt] => self.run_on(src, tgt, &ctx.output, ctx.write.clone()),
            other => Err(AlignError::Config(format!(
                "align reads two crawls (--input SRC --input TGT: source language first), got {}",
                other.len()
            ))),
        }
    }

    fn summary(&self, manifest: &Manifest, ctx: &ore_core::StageContext) -> String {
        summary_line(manifest, &ctx.output)
    }
}

fn summary_line(manifest: &Manifest, output: &Path) -> String {
    let s = &manifest.summary;
    let get = |k: &str| s.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
    let mut line = format!(
        "align: {} pairs written to {} from {} page pairs ({} by id, {} by order) of {} + {} pages; {} + {} paragraphs left unaligned",
        manifest.rows.output,
        output.display(),
        get("pages_paired"),
        get("pages_by_id"),
        get("pages_by_order"),
        get("pages_src"),
        get("pages_tgt"),
        get("unaligned_src"),
        get("unaligned_tgt"),
    );
    if manifest.rows.rejected > 0 {
        let _ = write!(line, "; {} rejected", manifest.rows.rejected);
        line.push_str(&manifest.rows.by_reason_text());
    }
    let _ = writeln!(line, " in {:.1} s", manifest.wall_time_s);
    line
}

/// The columns of `examples` plus align's own.
pub fn output_schema() -> SchemaRef {
    let mut fields: Vec<Field> = examples_schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    for name in [
        "src_doc_id",
        "tgt_doc_id",
        "src_url",
        "tgt_url",
        "segment",
        "align_method",
    ] {
        fields.push(Field::new(name, DataType::Utf8, false));
    }
    fields.push(Field::new("align_score", DataType::Float64, false));
    Arc::new(Schema::new(fields))
}

/// Rejected pages, paragraphs and pairs (`StageOutput` adds the reason).
pub fn rejects_schema() -> SchemaRef {
    let s = |name, nullable| Field::new(name, DataType::Utf8, nullable);
    Arc::new(Schema::new(vec![
        s("side", false),
        s("doc_id", false),
        s("url", false),
        s("segment", true),
        s("src", true),
        s("tgt", true),
    ]))
}

/// One output pair before it is written.
struct Pair<'a> {
    src: &'a Page,
    tgt: &'a Page,
    bead: Bead,
    method: &'static str,
    /// The bead's lines of each page, joined.
    src_text: String,
    tgt_text: String,
}

impl<'a> Pair<'a> {
    fn new(src: &'a Page, tgt: &'a Page, bead: Bead, method: &'static str) -> Self {
        Self {
            src_text: align::join(&src.lines[bead.src.clone()]),
            tgt_text: align::join(&tgt.lines[bead.tgt.clone()]),
            src,
            tgt,
            bead,
            method,
        }
    }
}

/// One rejected row.
struct Reject {
    side: &'static str,
    doc_id: String,
    url: String,
    segment: Option<String>,
    src: Option<String>,
    tgt: Option<String>,
    reason: &'static str,
}

impl AlignStage {
    /// The tokenizer for the token-list columns.
    pub fn with_tokenizer(mut self, tokenize: Tokenize) -> Self {
        self.tokenize = Some(tokenize);
        self
    }

    pub fn config(&self) -> &AlignConfig {
        &self.config
    }

    /// The key a page is paired by: its URL, the source's with its
    /// language part replaced by the target's.
    fn key(&self, url: &str, is_src: bool) -> Option<String> {
        if !is_src {
            return Some(url.to_string());
        }
        url.contains(&self.config.src_part)
            .then(|| url.replacen(&self.config.src_part, &self.config.tgt_part, 1))
    }

    pub fn run_on(
        &self,
        src_path: &Path,
        tgt_path: &Path,
        output: &Path,
        opts: WriteOptions,
    ) -> Result<Manifest> {
        let tokenize = self.tokenize.as_ref().ok_or_else(|| {
            AlignError::Config(
                "no tokenizer for src_tokens/tgt_tokens (AlignStage::with_tokenizer)".into(),
            )
        })?;
        let cfg = &self.config;
        let src_set = Dataset::open(src_path)?;
        let tgt_set = Dataset::open(tgt_path)?;
        let src_pages = read_pages(&src_set)?;
        let tgt_pages = read_pages(&tgt_set)?;

        let mut tgt_by_key: HashMap<String, usize> = HashMap::new();
        for (i, p) in tgt_pages.iter().enumerate() {
            tgt_by_key.entry(p.url.clone()).or_insert(i);
        }
        let mut rejects = Vec::new();
        let mut paired: Vec<(usize, usize)> = Vec::new();
        let mut tgt_used = vec![false; tgt_pages.len()];
        for (i, p) in src_pages.iter().enumerate() {
            match self.key(&p.url, true).and_then(|k| tgt_by_key.get(&k)) {
                Some(&j) if !tgt_used[j] => {
                    tgt_used[j] = true;
                    paired.push((i, j));
                }
                _ => rejects.push(page_reject("src", p)),
            }
        }
        for (j, p) in tgt_pages.iter().enumerate() {
            if !tgt_used[j] {
                rejects.push(page_reject("tgt", p));
            }
        }

        // Which page pairs align by id, then the length model: from the
        // id pairs where there are enough, else from the page lengths.
        let by_id: Vec<bool> = paired
            .iter()
            .map(|&(i, j)| match cfg.method {
                Method::Ids => true,
                Method::Order => false,
                Method::Auto => {
                    align::shared_id_share(&src_pages[i], &tgt_pages[j]) >= cfg.min_shared_ids
                }
            })
            .collect();
        let mut id_pairs: Vec<Vec<Pair<'_>>> = paired
            .iter()
            .zip(&by_id)
            .map(|(&(i, j), &ids)| {
                let (s, t) = (&src_pages[i], &tgt_pages[j]);
                if !ids {
                    return Vec::new();
                }
                align::by_ids(s, t)
                    .into_iter()
                    .map(|b| Pair::new(s, t, b, "id"))
                    .collect()
            })
            .collect();
        // Only pairs that pass the text checks inform the model: an
        // untranslated paragraph has the lengths of a copy.
        let lengths: Vec<(usize, usize)> = id_pairs
            .iter()
            .flatten()
            .filter(|p| cfg.text_reason(&p.src_text, &p.tgt_text).is_none())
            .map(|p| (align::length(&p.src_text), align::length(&p.tgt_text)))
            .collect();
        let page_ratio = {
            let (a, b) = paired.iter().fold((0usize, 0usize), |(a, b), &(i, j)| {
                (
                    a + src_pages[i]
                        .lines
                        .iter()
                        .map(|l| align::length(l))
                        .sum::<usize>(),
                    b + tgt_pages[j]
                        .lines
                        .iter()
                        .map(|l| align::length(l))
                        .sum::<usize>(),
                )
            });
            if a > 0 && b > 0 {
                b as f64 / a as f64
            } else {
                1.0
            }
        };
        let fallback = LengthModel {
            ratio: page_ratio,
            variance: 6.8 * page_ratio,
        };
        let mut model = LengthModel::estimate(&lengths, fallback);
        if cfg.length_ratio > 0.0 {
            model.ratio = cfg.length_ratio;
        }
        if cfg.length_variance > 0.0 {
            model.variance = cfg.length_variance;
        }

        let mut pairs: Vec<Pair<'_>> = Vec::new();
        let (mut unaligned_src, mut unaligned_tgt) = (0u64, 0u64);
        let (mut pages_by_id, mut pages_by_order) = (0u64, 0u64);
        for ((&(i, j), &ids), page_pairs) in paired.iter().zip(&by_id).zip(&mut id_pairs) {
            let (s, t) = (&src_pages[i], &tgt_pages[j]);
            let mut page_pairs = std::mem::take(page_pairs);
            if ids {
                pages_by_id += 1;
                for p in &mut page_pairs {
                    p.bead.score =
                        model.score(align::length(&p.src_text), align::length(&p.tgt_text));
                }
            } else {
                pages_by_order += 1;
                page_pairs = align::by_order(s, t, &model)
                    .into_iter()
                    .map(|b| Pair::new(s, t, b, "order"))
                    .collect();
            }
            for k in align::unaligned(s.lines.len(), page_pairs.iter().map(|p| p.bead.src.clone()))
            {
                unaligned_src += 1;
                rejects.push(line_reject("src", s, k));
            }
            for k in align::unaligned(t.lines.len(), page_pairs.iter().map(|p| p.bead.tgt.clone()))
            {
                unaligned_tgt += 1;
                rejects.push(line_reject("tgt", t, k));
            }
            pairs.extend(page_pairs);
        }

        // Quality: untranslated, too long, or lengths too far apart.
        let mut kept = Vec::with_capacity(pairs.len());
        let mut seen: std::collections::HashSet<String> = Default::default();
        let mut duplicates = 0u64;
        for p in pairs {
            let reason = cfg
                .text_reason(&p.src_text, &p.tgt_text)
                .or((p.bead.score < cfg.min_score).then_some("low_score"))
                .or_else(|| {
                    let repeat = cfg.dedup && !seen.insert(align::text_key(&p.src_text));
                    duplicates += u64::from(repeat);
                    repeat.then_some("duplicate")
                });
            match reason {
                Some(reason) => rejects.push(Reject {
                    side: "pair",
                    doc_id: p.src.doc_id.clone(),
                    url: p.src.url.clone(),
                    segment: Some(segment_name(&p.bead)),
                    src: Some(p.src_text),
                    tgt: Some(p.tgt_text),
                    reason,
                }),
                None => kept.push(p),
            }
        }

        let info = StageInfo::new("align", cfg, 0);
        let schema = output_schema();
        let mut out = StageOutput::create(output, schema.clone(), info, opts)?;
        out.add_input(&src_set)?;
        out.add_input(&tgt_set)?;
        out.count_generated(kept.len() as u64);
        out.count_input(rejects.len() as u64);
        for chunk in kept.chunks(4096) {
            out.write(&pairs_batch(chunk, &schema, tokenize)?)?;
        }
        for chunk in rejects.chunks(4096) {
            let (batch, reasons) = rejects_batch(chunk)?;
            out.reject(&batch, &reasons, None)?;
        }
        out.set_summary("pages_src", json!(src_pages.len()));
        out.set_summary("pages_tgt", json!(tgt_pages.len()));
        out.set_summary("pages_paired", json!(paired.len()));
        out.set_summary("pages_by_id", json!(pages_by_id));
        out.set_summary("pages_by_order", json!(pages_by_order));
        out.set_summary("unaligned_src", json!(unaligned_src));
        out.set_summary("unaligned_tgt", json!(unaligned_tgt));
        out.set_summary("duplicates", json!(duplicates));
        out.set_summary(
            "length_model",
            json!({"ratio": model.ratio, "variance": model.variance, "estimated_from_id_pairs": lengths.len()}),
        );
        Ok(out.commit()?)
    }
}

fn segment_name(b: &Bead) -> String {
    match &b.id {
        Some(id) => id.clone(),
        None => format!(
            "lines {}-{}/{}-{}",
            b.src.start, b.src.end, b.tgt.start, b.tgt.end
        ),
    }
}

fn page_reject(side: &'static str, p: &Page) -> Reject {
    let text = Some(p.lines.join("\n"));
    let (src, tgt) = if side == "src" {
        (text, None)
    } else {
        (None, text)
    };
    Reject {
        side,
        doc_id: p.doc_id.clone(),
        url: p.url.clone(),
        segment: None,
        src,
        tgt,
        reason: if p.lines.is_empty() {
            "empty_page"
        } else {
            "no_counterpart"
        },
    }
}

fn line_reject(side: &'static str, p: &Page, line: usize) -> Reject {
    let text = Some(p.lines[line].clone());
    let (src, tgt) = if side == "src" {
        (text, None)
    } else {
        (None, text)
    };
    let id = &p.ids[line];
    Reject {
        side,
        doc_id: p.doc_id.clone(),
        url: p.url.clone(),
        segment: Some(if id.is_empty() {
            format!("line {line}")
        } else {
            id.clone()
        }),
        src,
        tgt,
        reason: "unaligned",
    }
}

/// The pages of a `documents` dataset (`doc_id`, `url`, `text`, and the
/// crawl's `line_ids` when it has them).
fn read_pages(set: &Dataset) -> Result<Vec<Page>> {
    let path = set.root();
    let has = |c: &str| set.schema().index_of(c).is_ok();
    for c in ["doc_id", "url", "text"] {
        if !has(c) {
            return Err(AlignError::input(
                path,
                format!("no `{c}` column: not a crawl's documents dataset"),
            ));
        }
    }
    let mut columns = vec!["doc_id", "url", "text"];
    let with_ids = has("line_ids");
    if with_ids {
        columns.push("line_ids");
    }
    let mut pages = Vec::new();
    for batch in set.batches_of(&columns, 4096)? {
        let batch = batch?;
        let doc = StrColumn::of(&batch, "doc_id", path)?;
        let url = StrColumn::of(&batch, "url", path)?;
        let text = StrColumn::of(&batch, "text", path)?;
        let ids = batch
            .column_by_name("line_ids")
            .and_then(|c| c.as_list_opt::<i32>().cloned());
        for r in 0..batch.num_rows() {
            let lines: Vec<String> = text
                .get(r)
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect();
            let mut line_ids: Vec<String> = match &ids {
                Some(list) if list.is_valid(r) => {
                    let v = list.value(r);
                    let v = v.as_string::<i32>();
                    (0..v.len()).map(|k| v.value(k).to_string()).collect()
                }
                _ => Vec::new(),
            };
            if line_ids.len() != lines.len() {
                line_ids = vec![String::new(); lines.len()];
            }
            pages.push(Page {
                doc_id: doc.get(r).unwrap_or_default().to_string(),
                url: url.get(r).unwrap_or_default().to_string(),
                lines,
                ids: line_ids,
            });
        }
    }
    Ok(pages)
}

fn example_id(p: &Pair<'_>) -> String {
    let key = format!(
        "{}\u{1f}{}\u{1f}{}",
        p.src.doc_id,
        p.tgt.doc_id,
        segment_name(&p.bead)
    );
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(key.as_bytes()))
}

fn pairs_batch(chunk: &[Pair<'_>], schema: &SchemaRef, tokenize: &Tokenize) -> Result<RecordBatch> {
    let n = chunk.len();
    let strings = |f: &dyn Fn(&Pair<'_>) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(chunk.iter().map(f)))
    };
    let tokens = |text: for<'p> fn(&'p Pair<'_>) -> &'p str| -> ArrayRef {
        let mut b = ListBuilder::new(StringBuilder::new());
        for p in chunk {
            for tok in tokenize(text(p)) {
                b.values().append_value(tok);
            }
            b.append(true);
        }
        Arc::new(b.finish())
    };
    let columns: Vec<ArrayRef> = vec![
        strings(&example_id),
        strings(&|p| p.src.doc_id.clone()),
        strings(&|p| p.src_text.clone()),
        strings(&|p| p.tgt_text.clone()),
        tokens(|p| &p.src_text),
        tokens(|p| &p.tgt_text),
        Arc::new(StringArray::new_null(n)),
        Arc::new(StringArray::new_null(n)),
        Arc::new(UInt64Array::new_null(n)),
        strings(&|p| p.src.doc_id.clone()),
        strings(&|p| p.tgt.doc_id.clone()),
        strings(&|p| p.src.url.clone()),
        strings(&|p| p.tgt.url.clone()),
        strings(&|p| segment_name(&p.bead)),
        strings(&|p| p.method.to_string()),
        Arc::new(Float64Array::from_iter_values(
            chunk.iter().map(|p| p.bead.score),
        )),
    ];
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

fn rejects_batch(chunk: &[Reject]) -> Result<(RecordBatch, Vec<&'static str>)> {
    let opt = |f: &dyn Fn(&Reject) -> Option<String>| -> ArrayRef {
        Arc::new(StringArray::from_iter(chunk.iter().map(f)))
    };
    let columns: Vec<ArrayRef> = vec![
        opt(&|r| Some(r.side.to_string())),
        opt(&|r| Some(r.doc_id.clone())),
        opt(&|r| Some(r.url.clone())),
        opt(&|r| r.segment.clone()),
        opt(&|r| r.src.clone()),
        opt(&|r| r.tgt.clone()),
    ];
    let batch = RecordBatch::try_new(rejects_schema(), columns)?;
    Ok((batch, chunk.iter().map(|r| r.reason).collect()))
}
