//! The augment stage: reads an `examples` or `tokens` dataset (or a split
//! output), writes every original and its variants, and sends variants
//! outside the similarity window to `_rejects/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow_array::builder::{ListBuilder, StringBuilder, UInt32Builder, UInt64Builder};
use arrow_array::cast::AsArray;
use arrow_array::types::{UInt32Type, UInt64Type};
use arrow_array::{Array, ArrayRef, ListArray, RecordBatch, StringArray, StructArray, UInt32Array};
use arrow_buffer::OffsetBuffer;
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};
use ore_core::schema::{distinct_utf8, entities_type, examples, u32_list_type, utf8_list_type};
use ore_core::{Dataset, Manifest, Progress, StageInfo, StageOutput, StrColumn, WriteOptions};
use rayon::prelude::*;
use serde_json::json;

use crate::augment::{Augmenter, ORIGINAL_NOT_KEPT, Outcome, Variant};
use crate::config::{AugmentConfig, OtherSplits, Side};
use crate::error::{AugmentError, Result};
use crate::lexicon::Lexicon;
use crate::ops::PoolBuilder;
use crate::seq::{Parts, Seq, Span};

/// The column naming a variant's parent example (null for originals).
pub const PARENT_ID: &str = "parent_id";
/// The split column of split outputs.
pub const SPLIT: &str = examples::SPLIT;
/// The sub-datasets of a split output.
const SPLITS: [&str; 3] = ["train", "valid", "test"];

/// A configured augment stage.
#[derive(Debug)]
pub struct AugmentStage {
    config: AugmentConfig,
    /// The model folders of the `translators` input, which `model`
    /// translators naming a section resolve to.
    translators: Vec<std::path::PathBuf>,
}

impl ore_core::StageDef for AugmentStage {
    const KIND: &'static str = "augment";
    const INPUTS: &'static [ore_core::InputSpec] = &[
        ore_core::InputSpec::dataset(&["split", "examples", "tokenize"]),
        // The model sections that `back_translation` ops name (`translators
        // = ["zh_en", "en_zh"]`, then `model = "zh_en"` in an op).
        ore_core::InputSpec {
            key: "translators",
            kind: ore_core::InputKind::Model,
            required: false,
            many: true,
            defaults: &[],
        },
    ];
    /// Every variant's choices derive from the run seed.
    const SEEDED: bool = true;
    type Config = AugmentConfig;
}

impl ore_core::Stage for AugmentStage {
    type Error = AugmentError;

    fn build(config: AugmentConfig) -> Result<Self> {
        config.validate()?;
        Lexicon::check(&config.resources, config.needs())?;
        Ok(Self {
            config,
            translators: Vec::new(),
        })
    }

    fn run(&self, ctx: &ore_core::StageContext) -> Result<Manifest> {
        let translators = ctx.inputs("translators");
        if !translators.is_empty() {
            let stage = Self {
                config: self.config.clone(),
                translators: translators.to_vec(),
            };
            return stage.run_shard(
                ctx.input("input")?,
                &ctx.output,
                ctx.shard,
                ctx.seed,
                ctx.write.clone(),
                ctx.progress,
            );
        }
        self.run_shard(
            ctx.input("input")?,
            &ctx.output,
            ctx.shard,
            ctx.seed,
            ctx.write.clone(),
            ctx.progress,
        )
    }

    /// Each row's variants depend on the row, the run seed and the ops
    /// alone (the pools of mention_replace are read from the whole
    /// training set by every shard), so shards concatenate.
    fn shard_steps(&self) -> Option<Vec<&'static str>> {
        Some(vec![ore_core::shard::ROWS_STEP])
    }

    fn summary(&self, manifest: &Manifest, ctx: &ore_core::StageContext) -> String {
        summary_line(manifest, &ctx.output)
    }
}

/// What the command prints.
fn summary_line(manifest: &Manifest, output: &Path) -> String {
    let s = &manifest.summary;
    let get = |k: &str| s.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
    let mut line = format!(
        "augment: {} rows in, {} written to {} ({} originals, {} variants), {} identical variants dropped",
        manifest.rows.input,
        manifest.rows.output,
        output.display(),
        get("originals"),
        get("variants"),
        get("identical"),
    );
    if manifest.rows.rejected > 0 {
        line.push_str(&format!(", {} rejected", manifest.rows.rejected));
        line.push_str(&manifest.rows.by_reason_text());
    }
    if get("passed_through") > 0 {
        line.push_str(&format!(
            ", {} eval rows passed through",
            get("passed_through")
        ));
    }
    if let Some(load) = s.get("load_s").and_then(|v| v.as_object())
        && !load.is_empty()
    {
        let parts: Vec<String> = load
            .iter()
            .map(|(k, v)| format!("{k} {:.2} s", v.as_f64().unwrap_or(0.0)))
            .collect();
        line.push_str(&format!("; loaded {}", parts.join(", ")));
    }
    line.push_str(&format!(" in {:.1} s\n", manifest.wall_time_s));
    line
}

/// Which kind of table the input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `src`/`tgt` with `src_tokens`/`tgt_tokens`.
    Examples,
    /// `text` with `tokens` (and POS, entities, offsets).
    Tokens,
}

/// The columns of one side.
#[derive(Debug, Clone)]
struct SideCols {
    text: String,
    tokens: String,
    starts: Option<String>,
    ends: Option<String>,
    pos: Option<String>,
    entities: Option<String>,
    /// IOB entity tags, written back in IOB2 (read only without `entities`).
    ner_tags: Option<String>,
    /// Other IOB tag columns carried token by token (CoNLL's `chunks`).
    extra: Vec<String>,
}

impl SideCols {
    fn list_columns(&self) -> impl Iterator<Item = (&String, DataType)> {
        let utf8 = utf8_list_type;
        [
            Some((&self.tokens, utf8())),
            self.starts.as_ref().map(|c| (c, u32_list_type())),
            self.ends.as_ref().map(|c| (c, u32_list_type())),
            self.pos.as_ref().map(|c| (c, utf8())),
            self.entities.as_ref().map(|c| (c, entities_type())),
            self.ner_tags.as_ref().map(|c| (c, utf8())),
        ]
        .into_iter()
        .flatten()
        .chain(self.extra.iter().map(move |c| (c, utf8())))
    }

    /// Every column of the side with the type the stage writes it in.
    fn columns(&self) -> Vec<(String, DataType)> {
        let mut out = vec![(self.text.clone(), DataType::Utf8)];
        out.extend(self.list_columns().map(|(c, t)| (c.clone(), t)));
        out
    }
}

/// How the input's columns are used.
#[derive(Debug, Clone)]
struct Layout {
    /// The column that identifies a row: `example_id`, else `doc_id`
    /// (with `line` when the input has one), else `id`.
    id: Option<String>,
    line: Option<String>,
    /// Where a missing `source_id` comes from.
    source: Option<String>,
    sides: Vec<SideCols>,
    has_split: bool,
    /// Columns the stage writes itself, by name, with their types.
    rebuilt: BTreeMap<String, DataType>,
    input_schema: SchemaRef,
    schema: SchemaRef,
}

impl Layout {
    fn of(schema: &SchemaRef, side: Side, path: &Path) -> Result<Self> {
        let has = |c: &str| schema.field_with_name(c).is_ok();
        let kind = if has("src") || has("tgt") {
            Kind::Examples
        } else if has("text") {
            Kind::Tokens
        } else {
            return Err(AugmentError::input(
                path,
                "neither an examples dataset (`src`, `src_tokens`) nor a tokens dataset (`text`, `tokens`)",
            ));
        };
        let opt = |c: &str| has(c).then(|| c.to_string());
        let mut sides = Vec::new();
        let names: &[(&str, &str)] = match (kind, side) {
            (Kind::Examples, Side::Src) => &[("src", "src_tokens")],
            (Kind::Examples, Side::Tgt) => &[("tgt", "tgt_tokens")],
            (Kind::Examples, Side::Both) => &[("src", "src_tokens"), ("tgt", "tgt_tokens")],
            (Kind::Tokens, Side::Src) => &[("text", "tokens")],
            (Kind::Tokens, _) => {
                return Err(AugmentError::input(
                    path,
                    "a tokens dataset has one side (`text`); side must be \"src\"",
                ));
            }
        };
        for &(text, tokens) in names {
            for c in [text, tokens] {
                if !has(c) {
                    return Err(AugmentError::input(
                        path,
                        format!(
                            "no column `{c}`: augment needs each side's text and tokens (run `ore tokenize` first)"
                        ),
                    ));
                }
            }
            let tagged = kind == Kind::Tokens;
            let tag = |c: &str| if tagged { opt(c) } else { None };
            let entities = tag("entities");
            sides.push(SideCols {
                text: text.into(),
                tokens: tokens.into(),
                starts: tag("token_starts"),
                ends: tag("token_ends"),
                pos: tag("pos"),
                ner_tags: tag("ner_tags"),
                entities,
                extra: tag("chunks").into_iter().collect(),
            });
        }
        let id = ["example_id", "doc_id", "id"]
            .into_iter()
            .find(|c| has(c))
            .map(String::from);
        // An importer's doc_id names the document, and `line` the row in it.
        let line = (id.as_deref() == Some("doc_id") && has("line")).then(|| "line".to_string());
        let source = ["source_id", "doc_id"]
            .into_iter()
            .find(|c| has(c))
            .map(String::from);

        let mut rebuilt: BTreeMap<String, DataType> = BTreeMap::new();
        for s in &sides {
            rebuilt.extend(s.columns());
        }
        let lineage = [
            (examples::EXAMPLE_ID, DataType::Utf8),
            (PARENT_ID, DataType::Utf8),
            (examples::AUG_OP, DataType::Utf8),
            (examples::AUG_PARAMS, DataType::Utf8),
            (examples::AUG_SEED, DataType::UInt64),
        ];
        for (name, dt) in &lineage {
            if let Ok(f) = schema.field_with_name(name)
                && f.data_type() != dt
                && !(dt == &DataType::Utf8 && StrType::is(f.data_type()))
            {
                return Err(AugmentError::input(
                    path,
                    format!("column `{name}` is {}, expected {dt}", f.data_type()),
                ));
            }
            rebuilt.insert(name.to_string(), dt.clone());
        }
        if !has(examples::SOURCE_ID) {
            rebuilt.insert(examples::SOURCE_ID.into(), DataType::Utf8);
        }

        let mut fields: Vec<Field> = schema
            .fields()
            .iter()
            .map(|f| {
                let f = ore_core::schema::adopt(f);
                match rebuilt.get(f.name()) {
                    Some(dt) => f.with_data_type(dt.clone()),
                    None => f,
                }
            })
            .collect();
        let mut add = |field: Field| {
            if !has(field.name()) {
                fields.push(field);
            }
        };
        add(distinct_utf8(examples::EXAMPLE_ID, false));
        add(Field::new(examples::SOURCE_ID, DataType::Utf8, false));
        add(Field::new(PARENT_ID, DataType::Utf8, true));
        add(Field::new(examples::AUG_OP, DataType::Utf8, true));
        add(Field::new(examples::AUG_PARAMS, DataType::Utf8, true));
        add(Field::new(examples::AUG_SEED, DataType::UInt64, true));
        // Variants are written with nulls where originals had none.
        for f in &mut fields {
            if [
                PARENT_ID,
                examples::AUG_OP,
                examples::AUG_PARAMS,
                examples::AUG_SEED,
            ]
            .contains(&f.name().as_str())
            {
                *f = f.clone().with_nullable(true);
            }
        }
        Ok(Self {
            id,
            line,
            source,
            sides,
            has_split: has(SPLIT),
            rebuilt,
            input_schema: schema.clone(),
            schema: Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone())),
        })
    }
}

/// String types a column may come in.
struct StrType;
impl StrType {
    fn is(dt: &DataType) -> bool {
        matches!(
            dt,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        )
    }
}

/// The side columns of a batch cast to the types the stage reads.
fn normalize(batch: &RecordBatch, layout: &Layout, path: &Path) -> Result<RecordBatch> {
    let schema = batch.schema();
    let mut columns = batch.columns().to_vec();
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    for (name, dt) in &layout.rebuilt {
        let Ok(i) = schema.index_of(name) else {
            continue;
        };
        if columns[i].data_type() != dt {
            columns[i] = arrow_cast::cast(&columns[i], dt).map_err(|e| {
                AugmentError::input(
                    path,
                    format!(
                        "column `{name}` ({}) cannot be read as {dt}: {e}",
                        columns[i].data_type()
                    ),
                )
            })?;
            fields[i] = fields[i].clone().with_data_type(dt.clone());
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| AugmentError::input(path, e.to_string()))
}

fn str_list(list: &ListArray, row: usize) -> Vec<&str> {
    let offsets = list.value_offsets();
    let values = list.values().as_string::<i32>();
    (offsets[row] as usize..offsets[row + 1] as usize)
        .map(|k| {
            if values.is_valid(k) {
                values.value(k)
            } else {
                ""
            }
        })
        .collect()
}

fn u32_list(list: &ListArray, row: usize) -> Vec<u32> {
    let offsets = list.value_offsets();
    let values = list.values().as_primitive::<UInt32Type>();
    (offsets[row] as usize..offsets[row + 1] as usize)
        .map(|k| values.value(k))
        .collect()
}

fn spans(list: &ListArray, row: usize) -> Vec<Span> {
    let offsets = list.value_offsets();
    let s = list.values().as_struct();
    let (start, end) = (
        s.column(0).as_primitive::<UInt32Type>(),
        s.column(1).as_primitive::<UInt32Type>(),
    );
    let label = s.column(2).as_string::<i32>();
    (offsets[row] as usize..offsets[row + 1] as usize)
        .filter(|&k| s.is_valid(k))
        .map(|k| Span {
            start: start.value(k),
            end: end.value(k),
            label: label.value(k).to_string(),
        })
        .collect()
}

/// Entity spans of IOB tags (IOB1 or IOB2: an `I-X` not continuing an `X`
/// starts one).
fn spans_of_tags(tags: &[&str]) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    let mut prev: Option<&str> = None;
    for (i, tag) in tags.iter().enumerate() {
        let (prefix, kind) = match tag.split_once('-') {
            Some((p, k)) if (p == "B" || p == "I") && !k.is_empty() => (p, k),
            _ => {
                prev = None;
                continue;
            }
        };
        if prefix == "I" && prev == Some(kind) {
            if let Some(last) = out.last_mut() {
                last.end = i as u32 + 1;
            }
        } else {
            out.push(Span {
                start: i as u32,
                end: i as u32 + 1,
                label: kind.to_string(),
            });
        }
        prev = Some(kind);
    }
    out
}

/// One batch's side columns, ready to read row by row.
struct SideArrays<'a> {
    text: StrColumn<'a>,
    tokens: &'a ListArray,
    starts: Option<&'a ListArray>,
    ends: Option<&'a ListArray>,
    pos: Option<&'a ListArray>,
    entities: Option<&'a ListArray>,
    ner_tags: Option<&'a ListArray>,
    extra: Vec<&'a ListArray>,
}

impl<'a> SideArrays<'a> {
    fn of(batch: &'a RecordBatch, cols: &SideCols, path: &Path) -> Result<Self> {
        let list = |name: &Option<String>| -> Option<&'a ListArray> {
            name.as_ref()
                .and_then(|n| batch.column_by_name(n))
                .map(|c| c.as_list::<i32>())
        };
        let tokens = batch
            .column_by_name(&cols.tokens)
            .map(|c| c.as_list::<i32>())
            .ok_or_else(|| AugmentError::input(path, format!("no column `{}`", cols.tokens)))?;
        Ok(Self {
            text: StrColumn::of(batch, &cols.text, path)?,
            tokens,
            starts: list(&cols.starts),
            ends: list(&cols.ends),
            pos: list(&cols.pos),
            entities: list(&cols.entities),
            ner_tags: list(&cols.ner_tags),
            extra: cols
                .extra
                .iter()
                .filter_map(|c| list(&Some(c.clone())))
                .collect(),
        })
    }

    /// Row `i` as a sequence, or `None` when its text or tokens are null.
    fn seq(&self, i: usize) -> Option<Seq> {
        let text = self.text.get(i)?;
        if self.tokens.is_null(i) {
            return None;
        }
        let valid =
            |l: Option<&'a ListArray>| -> Option<&'a ListArray> { l.filter(|l| l.is_valid(i)) };
        let tokens = str_list(self.tokens, i);
        let entities = match (valid(self.entities), valid(self.ner_tags)) {
            (Some(e), _) => spans(e, i),
            (None, Some(t)) => spans_of_tags(&str_list(t, i)),
            (None, None) => Vec::new(),
        };
        let parts = Parts {
            text,
            starts: valid(self.starts).map(|l| u32_list(l, i)),
            ends: valid(self.ends).map(|l| u32_list(l, i)),
            pos: valid(self.pos)
                .map(|l| str_list(l, i))
                .filter(|p| p.len() == tokens.len()),
            extra: self
                .extra
                .iter()
                .map(|l| {
                    if l.is_valid(i) {
                        str_list(l, i)
                    } else {
                        Vec::new()
                    }
                })
                .collect(),
            entities,
            tokens,
        };
        Some(Seq::new(&parts))
    }
}

/// One row to write: an input row as it is, or one of its variants.
#[derive(Debug, Clone, Copy)]
struct OutRow<'a> {
    parent: usize,
    variant: Option<&'a Variant>,
}

/// What one input row gave.
#[derive(Debug, Default)]
struct RowResult {
    outcomes: Vec<Outcome>,
    /// Passed through without augmentation (an eval split's row).
    passed: bool,
}

/// Counts for the manifest, per op.
#[derive(Debug, Default)]
struct OpStats {
    variants: u64,
    identical: u64,
    rejected: u64,
    edits: u64,
}

/// Counts for the manifest.
#[derive(Debug, Default)]
struct Stats {
    originals: u64,
    variants: u64,
    identical: u64,
    passed_through: u64,
    not_augmented: u64,
    ops: BTreeMap<String, OpStats>,
}

impl AugmentStage {
    pub fn config(&self) -> &AugmentConfig {
        &self.config
    }

    /// Augments `input` into `output`.
    pub fn run_on(
        &self,
        input: &Path,
        output: &Path,
        seed: u64,
        opts: WriteOptions,
        progress: bool,
    ) -> Result<Manifest> {
        self.run_shard(input, output, None, seed, opts, progress)
    }

    /// [`AugmentStage::run_on`] on shard `shard` of the input (of each of a
    /// split folder's sub-datasets), into the output's shard area.
    pub fn run_shard(
        &self,
        input: &Path,
        output: &Path,
        shard: Option<ore_core::shard::Shard>,
        seed: u64,
        opts: WriteOptions,
        progress: bool,
    ) -> Result<Manifest> {
        let cfg = &self.config;
        let started = Instant::now();
        // A split output: train/ is augmented, the rest passed through.
        let subsets: Vec<&str> = SPLITS
            .into_iter()
            .filter(|s| input.join(s).is_dir())
            .collect();
        let is_split_folder = subsets.contains(&"train") && subsets.len() > 1;
        let whole: Vec<(Option<&str>, Dataset)> = if is_split_folder {
            subsets
                .iter()
                .map(|s| Ok((Some(*s), Dataset::open(input.join(s))?)))
                .collect::<Result<_>>()?
        } else {
            vec![(None, Dataset::open(input)?)]
        };
        let parts: Vec<(Option<&str>, Dataset)> = match shard {
            Some(shard) => whole.iter().map(|(s, d)| (*s, d.shard(shard))).collect(),
            None => whole.clone(),
        };
        let layout = Layout::of(parts[0].1.schema(), cfg.side, input)?;
        for (_, d) in &parts[1..] {
            if d.schema().fields() != parts[0].1.schema().fields() {
                return Err(AugmentError::input(
                    d.root(),
                    "its columns differ from those of train/",
                ));
            }
        }
        if !is_split_folder && layout.has_split {
            self.check_splits(&parts[0].1)?;
        }

        let lexicon = Lexicon::load(&cfg.resources, cfg.needs())?;
        let pools = if cfg.ops.iter().any(|o| o.kind.uses_pool()) {
            let t = Instant::now();
            let pools = match &cfg.pool {
                Some(p) => {
                    let d = Dataset::open(p)?;
                    let l = Layout::of(d.schema(), Side::Src, p)?;
                    self.pools(&d, &l, false)?
                }
                // From every training row, whichever shard this is.
                None => self.pools(&whole[0].1, &layout, layout.has_split)?,
            };
            Some((pools, t.elapsed().as_secs_f64()))
        } else {
            None
        };
        let mut load_s: serde_json::Map<String, serde_json::Value> = lexicon
            .load_s
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        let mut pool_counts = None;
        if let Some((p, secs)) = &pools {
            load_s.insert("pool".into(), json!(secs));
            pool_counts = Some(json!({"tokens": p.tokens(), "mentions": p.mentions()}));
        }
        let mut augmenter = Augmenter::new(cfg.clone(), lexicon, pools.map(|(p, _)| p));
        let mut translators = rustc_hash::FxHashMap::default();
        let mut resolved = cfg.clone();
        resolved.resolve_translators(&self.translators);
        for (j, op) in resolved.ops.iter().enumerate() {
            if let (Some(f), Some(b)) = (&op.forward, &op.backward) {
                translators.insert(j, (f.build()?, b.build()?));
            }
        }
        if !translators.is_empty() {
            augmenter = augmenter
                .with_back_translations(crate::translate::BackTranslations::new(translators));
        }

        let info = StageInfo::new("augment", cfg, seed).with_shard(shard);
        let output = &match shard {
            Some(shard) => ore_core::shard::shard_dir(output, ore_core::shard::ROWS_STEP, shard),
            None => output.to_path_buf(),
        };
        let names: Vec<&str> = if is_split_folder {
            subsets.clone()
        } else {
            Vec::new()
        };
        let mut out =
            StageOutput::create_subsets(output, layout.schema.clone(), &names, info, opts)?;
        out.set_started(started);
        let total: u64 = parts.iter().map(|(_, d)| d.num_rows()).sum();
        let bar = if progress {
            Progress::new(Some(total), "rows")
        } else {
            Progress::hidden()
        };
        bar.set_message("augment");
        let mut stats = Stats::default();
        // The input as the pipeline names it (a split folder as one
        // dataset), so that the runner recognises it.
        if is_split_folder {
            // Hashed as the runner hashes it (the split's own output hash).
            let hash = ore_core::runner::input_hash(input, ore_core::InputKind::Dataset)?;
            let whole: u64 = whole.iter().map(|(_, d)| d.num_rows()).sum();
            out.add_input_hash(input, hash, whole);
        } else {
            out.add_input(&parts[0].1)?;
        }
        // The translators' model folders, hashed as the runner hashes them.
        for model in &self.translators {
            let hash = ore_core::runner::input_hash(model, ore_core::InputKind::Model)?;
            out.add_input_hash(model, hash, 0);
        }
        for (subset, dataset) in &parts {
            let augment = subset.is_none_or(|s| s == "train");
            let path = dataset.root().to_path_buf();
            dataset.for_each_batch(cfg.batch_rows, |batch| -> Result<()> {
                let batch = normalize(&batch, &layout, &path)?;
                out.count_input(batch.num_rows() as u64);
                let results =
                    self.augment_batch(&augmenter, &layout, &batch, &path, seed, augment)?;
                self.write_batch(&layout, &batch, &results, *subset, &mut out, &mut stats)?;
                bar.inc(batch.num_rows() as u64);
                Ok(())
            })?;
        }
        bar.finish();

        let ops: serde_json::Map<String, serde_json::Value> = stats
            .ops
            .iter()
            .map(|(k, s)| {
                (
                    k.clone(),
                    json!({"variants": s.variants, "identical": s.identical, "rejected": s.rejected, "edits": s.edits}),
                )
            })
            .collect();
        out.set_summary("originals", json!(stats.originals));
        out.set_summary("variants", json!(stats.variants));
        out.set_summary("identical", json!(stats.identical));
        out.set_summary("passed_through", json!(stats.passed_through));
        out.set_summary("not_augmented", json!(stats.not_augmented));
        out.set_summary("ops", serde_json::Value::Object(ops));
        out.set_summary("load_s", serde_json::Value::Object(load_s));
        if let Some(p) = pool_counts {
            out.set_summary("pool", p);
        }
        Ok(out.commit()?)
    }

    /// Refuses (or, with `other_splits = "pass"`, allows) rows whose
    /// `split` is not `train`.
    fn check_splits(&self, dataset: &Dataset) -> Result<()> {
        let mut others: BTreeMap<String, u64> = BTreeMap::new();
        let path = dataset.root().to_path_buf();
        for batch in dataset.batches_of(&[SPLIT], 65536)? {
            let batch = batch?;
            let col = StrColumn::of(&batch, SPLIT, &path)?;
            for i in 0..col.len() {
                let v = col.get(i).unwrap_or("null");
                if v != "train" {
                    *others.entry(v.to_string()).or_default() += 1;
                }
            }
        }
        if others.is_empty() || self.config.other_splits == OtherSplits::Pass {
            return Ok(());
        }
        let list: Vec<String> = others.iter().map(|(k, n)| format!("{n} `{k}`")).collect();
        Err(AugmentError::input(
            path,
            format!(
                "has rows outside the training split ({}): augment works on training rows only, so that no variant enters an eval split; give the split's train/ (input = \"split/train\"), the split folder itself (valid/ and test/ pass through), or set augment.other_splits = \"pass\"",
                list.join(", ")
            ),
        ))
    }

    /// The tagged tokens and mentions of the training rows.
    fn pools(
        &self,
        dataset: &Dataset,
        layout: &Layout,
        train_only: bool,
    ) -> Result<crate::ops::Pools> {
        let mut builder = PoolBuilder::default();
        let path = dataset.root().to_path_buf();
        dataset.for_each_batch(self.config.batch_rows, |batch| -> Result<()> {
            let batch = normalize(&batch, layout, &path)?;
            let side = SideArrays::of(&batch, &layout.sides[0], &path)?;
            let split = if train_only {
                Some(StrColumn::of(&batch, SPLIT, &path)?)
            } else {
                None
            };
            for i in 0..batch.num_rows() {
                if split.is_some_and(|s| s.get(i) != Some("train")) {
                    continue;
                }
                if let Some(seq) = side.seq(i) {
                    builder.add(&seq);
                }
            }
            Ok(())
        })?;
        Ok(builder.finish())
    }

    fn augment_batch(
        &self,
        augmenter: &Augmenter,
        layout: &Layout,
        batch: &RecordBatch,
        path: &Path,
        seed: u64,
        augment: bool,
    ) -> Result<Vec<RowResult>> {
        let n = batch.num_rows();
        if !augment {
            return Ok((0..n)
                .map(|_| RowResult {
                    outcomes: Vec::new(),
                    passed: true,
                })
                .collect());
        }
        let sides: Vec<SideArrays<'_>> = layout
            .sides
            .iter()
            .map(|s| SideArrays::of(batch, s, path))
            .collect::<Result<_>>()?;
        let ids = Ids::of(batch, layout, path)?;
        let split = if layout.has_split {
            Some(StrColumn::of(batch, SPLIT, path)?)
        } else {
            None
        };
        let pass = || -> Vec<RowResult> {
            (0..n)
                .into_par_iter()
                .map(|i| {
                    if split.is_some_and(|s| s.get(i) != Some("train")) {
                        return RowResult {
                            outcomes: Vec::new(),
                            passed: true,
                        };
                    }
                    let seqs: Option<Vec<Seq>> = sides.iter().map(|s| s.seq(i)).collect();
                    let outcomes = match seqs {
                        Some(seqs) => augmenter.variants(seed, &ids.example_id(i), &seqs),
                        None => Vec::new(),
                    };
                    RowResult {
                        outcomes,
                        passed: false,
                    }
                })
                .collect()
        };
        let Some(bt) = &augmenter.back_translations else {
            return Ok(pass());
        };
        // Back-translation: each pass notes the round trips it lacks, which
        // are then made in batches; a chain of two such ops needs one more
        // pass, since the second translates what the first made.
        let max_passes = 1 + augmenter.config.ops.len();
        for _ in 0..max_passes {
            let results = pass();
            if !bt.has_missing() {
                bt.clear();
                return Ok(results);
            }
            bt.fill()?;
        }
        Err(AugmentError::Config(
            "back_translation: round trips still missing after every pass".into(),
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn write_batch(
        &self,
        layout: &Layout,
        batch: &RecordBatch,
        results: &[RowResult],
        subset: Option<&str>,
        out: &mut StageOutput,
        stats: &mut Stats,
    ) -> Result<()> {
        let keep_original = self.config.keep_original;
        let mut kept: Vec<OutRow<'_>> = Vec::new();
        let mut rejected: Vec<OutRow<'_>> = Vec::new();
        let mut reasons: Vec<&str> = Vec::new();
        let mut details: Vec<Option<String>> = Vec::new();
        let mut generated = 0u64;
        for (parent, r) in results.iter().enumerate() {
            let original = OutRow {
                parent,
                variant: None,
            };
            if r.passed {
                stats.passed_through += 1;
                kept.push(original);
                continue;
            }
            if r.outcomes.is_empty() {
                stats.not_augmented += 1;
            }
            if keep_original || r.passed {
                stats.originals += 1;
                kept.push(original);
            } else {
                rejected.push(original);
                reasons.push(ORIGINAL_NOT_KEPT);
                details.push(None);
            }
            for o in &r.outcomes {
                match o {
                    Outcome::Kept(v) => {
                        let s = stats.ops.entry(v.op.clone()).or_default();
                        s.variants += 1;
                        s.edits += v.edits as u64;
                        stats.variants += 1;
                        generated += 1;
                        kept.push(OutRow {
                            parent,
                            variant: Some(v),
                        });
                    }
                    Outcome::Rejected(v, reason, detail) => {
                        stats.ops.entry(v.op.clone()).or_default().rejected += 1;
                        generated += 1;
                        rejected.push(OutRow {
                            parent,
                            variant: Some(v),
                        });
                        reasons.push(reason);
                        details.push(Some(detail.clone()));
                    }
                    Outcome::Identical { op } => {
                        stats.ops.entry(op.clone()).or_default().identical += 1;
                        stats.identical += 1;
                    }
                }
            }
        }
        out.count_generated(generated);
        let path = PathBuf::new();
        if !kept.is_empty() {
            let rows = build(layout, batch, &kept, &path)?;
            match subset {
                Some(name) => out.write_subset(name, &rows)?,
                None => out.write(&rows)?,
            }
        }
        if !rejected.is_empty() {
            let rows = build(layout, batch, &rejected, &path)?;
            out.reject(&rows, &reasons, Some(&details))?;
        }
        Ok(())
    }
}

/// The identity columns of a batch.
struct Ids<'a> {
    id: Option<StrColumn<'a>>,
    line: Option<&'a arrow_array::UInt64Array>,
    source: Option<StrColumn<'a>>,
    text: StrColumn<'a>,
}

impl<'a> Ids<'a> {
    fn of(batch: &'a RecordBatch, layout: &Layout, path: &Path) -> Result<Self> {
        let col = |name: &Option<String>| -> Result<Option<StrColumn<'a>>> {
            name.as_ref()
                .map(|n| StrColumn::of(batch, n, path))
                .transpose()
                .map_err(Into::into)
        };
        let line = match &layout.line {
            Some(l) => Some(
                batch
                    .column_by_name(l)
                    .and_then(|c| c.as_primitive_opt::<UInt64Type>())
                    .ok_or_else(|| AugmentError::input(path, format!("column `{l}` is not u64")))?,
            ),
            None => None,
        };
        Ok(Self {
            id: col(&layout.id)?,
            line,
            source: col(&layout.source)?,
            text: StrColumn::of(batch, &layout.sides[0].text, path)?,
        })
    }

    /// The row's `example_id`: its id column, else a hash of its text.
    fn example_id(&self, i: usize) -> String {
        match self.id.and_then(|c| c.get(i)) {
            Some(id) => match self.line {
                Some(line) if line.is_valid(i) => format!("{id}:{}", line.value(i)),
                _ => id.to_string(),
            },
            None => format!(
                "{:032x}",
                xxhash_rust::xxh3::xxh3_128(self.text.get(i).unwrap_or("").as_bytes())
            ),
        }
    }

    fn source_id(&self, i: usize) -> String {
        match self.source.and_then(|c| c.get(i)) {
            Some(s) => s.to_string(),
            None => self.example_id(i),
        }
    }
}

/// The output rows `rows` of `batch`, in the output schema.
fn build(
    layout: &Layout,
    batch: &RecordBatch,
    rows: &[OutRow<'_>],
    path: &Path,
) -> Result<RecordBatch> {
    let parents = UInt32Array::from_iter_values(rows.iter().map(|r| r.parent as u32));
    let ids = Ids::of(batch, layout, path)?;
    let input = |name: &str| batch.column_by_name(name);
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(layout.schema.fields().len());
    for field in layout.schema.fields() {
        let name = field.name().as_str();
        let side = layout
            .sides
            .iter()
            .enumerate()
            .find(|(_, s)| s.columns().iter().any(|(c, _)| c == name));
        let column: ArrayRef = if let Some((k, cols)) = side {
            side_column(cols, k, name, batch, rows)?
        } else {
            match name {
                examples::EXAMPLE_ID => {
                    Arc::new(StringArray::from_iter_values(rows.iter().map(|r| {
                        let id = ids.example_id(r.parent);
                        match r.variant {
                            Some(v) => format!("{id}~{}", v.index),
                            None => id,
                        }
                    })))
                }
                examples::SOURCE_ID if layout.input_schema.field_with_name(name).is_err() => {
                    Arc::new(StringArray::from_iter_values(
                        rows.iter().map(|r| ids.source_id(r.parent)),
                    ))
                }
                PARENT_ID => {
                    let old = input(name)
                        .map(|_| StrColumn::of(batch, name, path))
                        .transpose()?;
                    Arc::new(StringArray::from_iter(rows.iter().map(
                        |r| match r.variant {
                            Some(_) => Some(ids.example_id(r.parent)),
                            None => old.and_then(|c| c.get(r.parent)).map(String::from),
                        },
                    )))
                }
                examples::AUG_OP | examples::AUG_PARAMS => {
                    let old = input(name)
                        .map(|_| StrColumn::of(batch, name, path))
                        .transpose()?;
                    Arc::new(StringArray::from_iter(rows.iter().map(
                        |r| match r.variant {
                            Some(v) if name == examples::AUG_OP => Some(v.op.clone()),
                            Some(v) => Some(v.params.clone()),
                            None => old.and_then(|c| c.get(r.parent)).map(String::from),
                        },
                    )))
                }
                examples::AUG_SEED => {
                    let old = input(name).map(|c| c.as_primitive::<UInt64Type>());
                    let mut b = UInt64Builder::with_capacity(rows.len());
                    for r in rows {
                        match (r.variant, old) {
                            (Some(v), _) => b.append_value(v.seed),
                            (None, Some(o)) if o.is_valid(r.parent) => {
                                b.append_value(o.value(r.parent))
                            }
                            (None, _) => b.append_null(),
                        }
                    }
                    Arc::new(b.finish())
                }
                _ => {
                    let c = input(name)
                        .ok_or_else(|| AugmentError::input(path, format!("no column `{name}`")))?;
                    arrow_select::take::take(c.as_ref(), &parents, None)
                        .map_err(|e| AugmentError::input(path, e.to_string()))?
                }
            }
        };
        columns.push(column);
    }
    RecordBatch::try_new(layout.schema.clone(), columns)
        .map_err(|e| AugmentError::input(path, format!("building output rows: {e}")))
}

/// One column of side `k` for `rows`: the input's value for rows without
/// a variant, the variant's otherwise.
fn side_column(
    cols: &SideCols,
    k: usize,
    name: &str,
    batch: &RecordBatch,
    rows: &[OutRow<'_>],
) -> Result<ArrayRef> {
    let path = PathBuf::new();
    let col = batch
        .column_by_name(name)
        .ok_or_else(|| AugmentError::input(&path, format!("no column `{name}`")))?;
    fn seq_of<'v>(r: &OutRow<'v>, k: usize) -> Option<&'v Seq> {
        r.variant.map(|v| &v.sides[k])
    }
    if name == cols.text {
        let old = StrColumn::of(batch, name, &path)?;
        return Ok(Arc::new(StringArray::from_iter(rows.iter().map(
            |r| match seq_of(r, k) {
                Some(s) => Some(s.text()),
                None => old.get(r.parent).map(String::from),
            },
        ))));
    }
    let old = col.as_list::<i32>();
    let is = |c: &Option<String>| c.as_deref() == Some(name);
    if is(&cols.starts) || is(&cols.ends) {
        let starts = is(&cols.starts);
        let mut b = ListBuilder::new(UInt32Builder::new());
        for r in rows {
            match seq_of(r, k) {
                Some(s) => {
                    let (st, en) = s.offsets();
                    b.values().append_slice(if starts { &st } else { &en });
                    b.append(true);
                }
                None if old.is_valid(r.parent) => {
                    b.values().append_slice(&u32_list(old, r.parent));
                    b.append(true);
                }
                None => b.append(false),
            }
        }
        return Ok(Arc::new(b.finish()));
    }
    if is(&cols.entities) {
        return Ok(entity_column(old, rows, k));
    }
    let extra = cols.extra.iter().position(|c| c == name);
    let mut b = ListBuilder::new(StringBuilder::new());
    for r in rows {
        match seq_of(r, k) {
            Some(s) => {
                if name == cols.tokens {
                    for t in &s.toks {
                        b.values().append_value(&t.text);
                    }
                } else if is(&cols.pos) {
                    for t in &s.toks {
                        b.values().append_value(t.pos.as_deref().unwrap_or(""));
                    }
                } else if is(&cols.ner_tags) {
                    for t in s.iob2() {
                        b.values().append_value(t);
                    }
                } else if let Some(e) = extra {
                    for t in &s.toks {
                        b.values()
                            .append_value(t.extra.get(e).map_or("O", String::as_str));
                    }
                }
                b.append(true);
            }
            None if old.is_valid(r.parent) => {
                for v in str_list(old, r.parent) {
                    b.values().append_value(v);
                }
                b.append(true);
            }
            None => b.append(false),
        }
    }
    Ok(Arc::new(b.finish()))
}

fn entity_column(old: &ListArray, rows: &[OutRow<'_>], k: usize) -> ArrayRef {
    let (mut starts, mut ends, mut labels) = (Vec::new(), Vec::new(), Vec::new());
    let mut offsets = vec![0i32];
    let mut valid = Vec::with_capacity(rows.len());
    for r in rows {
        let list = match r.variant {
            Some(v) => Some(v.sides[k].entities()),
            None if old.is_valid(r.parent) => Some(spans(old, r.parent)),
            None => None,
        };
        valid.push(list.is_some());
        for s in list.unwrap_or_default() {
            starts.push(s.start);
            ends.push(s.end);
            labels.push(s.label);
        }
        offsets.push(starts.len() as i32);
    }
    let DataType::List(item) = entities_type() else {
        unreachable!("entities_type is a list")
    };
    let DataType::Struct(fields) = item.data_type().clone() else {
        unreachable!("entities are structs")
    };
    let fields: Fields = fields;
    let values = StructArray::new(
        fields,
        vec![
            Arc::new(UInt32Array::from(starts)) as ArrayRef,
            Arc::new(UInt32Array::from(ends)),
            Arc::new(StringArray::from(labels)),
        ],
        None,
    );
    let nulls = valid
        .iter()
        .any(|v| !v)
        .then(|| arrow_buffer::NullBuffer::from(valid));
    Arc::new(ListArray::new(
        item,
        OffsetBuffer::new(offsets.into()),
        Arc::new(values),
        nulls,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iob_tags_decode_to_spans() {
        let s = spans_of_tags(&["I-ORG", "O", "I-PER", "I-PER", "B-PER", "I-LOC"]);
        let got: Vec<(u32, u32, &str)> = s
            .iter()
            .map(|s| (s.start, s.end, s.label.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![(0, 1, "ORG"), (2, 4, "PER"), (4, 5, "PER"), (5, 6, "LOC")]
        );
    }
}
