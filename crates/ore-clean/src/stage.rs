//! The clean stage in three streaming passes over the input:
//! 1. count short lines per host (boilerplate);
//! 2. normalise, filter, and compute MinHash signatures of the survivors
//!    (memory holds signatures, not texts: each cleaned batch, with its
//!    signal columns, is spilled to an unnamed scratch file on the output's
//!    disk); LSH gives candidate pairs, whose exact Jaccard similarity is
//!    checked on shingles recomputed for those rows alone; clusters are the
//!    connected components;
//! 3. read the spilled batches back, add `dup_cluster`, and write every row,
//!    kept or rejected with its reason.

use std::io::{BufReader, BufWriter, Seek};
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt64Array};
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use ore_core::shard::{ROWS_STEP, Shard};
use ore_core::{Dataset, Manifest, Progress, StageInfo, StageOutput, StrColumn, WriteOptions};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use xxhash_rust::xxh3::xxh3_128;

use crate::boilerplate::{Boilerplate, LineCounts, host_of};
use crate::config::CleanConfig;
use crate::dedup::{Candidates, Entry, IndexMeta, Verdict, load_index, save_index};
use crate::error::{CleanError, Result};
use crate::normalize::normalize;
use crate::pii::{PiiCounts, PiiKind, Redactor};
use crate::quality::{LinesDropped, QualityFilter, Signals};
use ore_minhash::MinHasher;

/// The column that names a row's duplicate cluster, added in pass 3.
const DUP_CLUSTER: &str = "dup_cluster";

/// A signal column: how its value is read off a measured row.
#[derive(Clone, Copy)]
enum Signal {
    Count(fn(&Measured) -> u64),
    /// Matches of one kind of personal information; null where that kind
    /// was not looked for.
    Pii(PiiKind),
    Ratio(fn(&Measured) -> f64),
    Text(fn(&Measured) -> String),
}

/// The signal columns pass 2 writes, in order: the one list of them.
const SIGNALS: [(&str, Signal); 29] = [
    ("n_chars", Signal::Count(|m| m.signals.n_chars)),
    ("n_words", Signal::Count(|m| m.signals.n_words)),
    ("n_lines", Signal::Count(|m| m.signals.n_lines)),
    ("cjk_ratio", Signal::Ratio(|m| m.signals.cjk_ratio)),
    ("symbol_ratio", Signal::Ratio(|m| m.signals.symbol_ratio)),
    ("digit_ratio", Signal::Ratio(|m| m.signals.digit_ratio)),
    (
        "punct_end_ratio",
        Signal::Ratio(|m| m.signals.punct_end_ratio),
    ),
    ("dup_line_frac", Signal::Ratio(|m| m.signals.dup_line_frac)),
    (
        "dup_ngram_frac",
        Signal::Ratio(|m| m.signals.dup_ngram_frac),
    ),
    ("bad_words", Signal::Count(|m| m.signals.bad_words)),
    ("stop_words", Signal::Count(|m| m.signals.stop_words)),
    ("mean_word_len", Signal::Ratio(|m| m.signals.mean_word_len)),
    (
        "alpha_word_frac",
        Signal::Ratio(|m| m.signals.alpha_word_frac),
    ),
    (
        "bullet_line_frac",
        Signal::Ratio(|m| m.signals.bullet_line_frac),
    ),
    (
        "ellipsis_line_frac",
        Signal::Ratio(|m| m.signals.ellipsis_line_frac),
    ),
    ("lorem_ipsum", Signal::Count(|m| m.signals.lorem_ipsum)),
    (
        "lines_dropped_javascript",
        Signal::Count(|m| m.lines_dropped.javascript),
    ),
    (
        "lines_dropped_unterminated",
        Signal::Count(|m| m.lines_dropped.unterminated),
    ),
    (
        "lines_dropped_short",
        Signal::Count(|m| m.lines_dropped.short),
    ),
    (
        PiiKind::UrlCredentials.reason(),
        Signal::Pii(PiiKind::UrlCredentials),
    ),
    (PiiKind::Email.reason(), Signal::Pii(PiiKind::Email)),
    (PiiKind::IdCard.reason(), Signal::Pii(PiiKind::IdCard)),
    (PiiKind::BankCard.reason(), Signal::Pii(PiiKind::BankCard)),
    (PiiKind::Phone.reason(), Signal::Pii(PiiKind::Phone)),
    (PiiKind::Ip.reason(), Signal::Pii(PiiKind::Ip)),
    ("boilerplate_lines", Signal::Count(|m| m.boilerplate_lines)),
    ("lang_detected", Signal::Text(|m| m.lang.clone())),
    ("lang_confidence", Signal::Ratio(|m| m.lang_confidence)),
    (
        "text_hash",
        Signal::Text(|m| format!("{:032x}", m.text_hash)),
    ),
];

/// Columns the stage adds (and replaces when rerun on its own output): the
/// signals, then `dup_cluster`.
pub const SIGNAL_COLUMNS: [&str; SIGNALS.len() + 1] = {
    let mut names = [DUP_CLUSTER; SIGNALS.len() + 1];
    let mut i = 0;
    while i < SIGNALS.len() {
        names[i] = SIGNALS[i].0;
        i += 1;
    }
    names
};

impl Signal {
    fn field(self, name: &str) -> Field {
        let data_type = match self {
            Signal::Count(_) | Signal::Pii(_) => DataType::UInt64,
            Signal::Ratio(_) => DataType::Float64,
            Signal::Text(_) => DataType::Utf8,
        };
        Field::new(name, data_type, true)
    }

    /// The column of these rows (null where a row's text is null).
    fn column(self, measured: &[Option<Measured>]) -> ArrayRef {
        match self {
            Signal::Count(f) => Arc::new(
                measured
                    .iter()
                    .map(|m| m.as_ref().map(f))
                    .collect::<UInt64Array>(),
            ),
            Signal::Pii(kind) => Arc::new(
                measured
                    .iter()
                    .map(|m| m.as_ref()?.pii.map(|c| c[kind.index()]))
                    .collect::<UInt64Array>(),
            ),
            Signal::Ratio(f) => Arc::new(
                measured
                    .iter()
                    .map(|m| m.as_ref().map(f))
                    .collect::<Float64Array>(),
            ),
            Signal::Text(f) => Arc::new(
                measured
                    .iter()
                    .map(|m| m.as_ref().map(f))
                    .collect::<StringArray>(),
            ),
        }
    }
}

/// What became of an input row in pass 2.
#[derive(Debug, Clone, Copy)]
enum Fate {
    /// Its text is null.
    NullText,
    /// A quality or language rule rejected it.
    Rejected(&'static str),
    /// It is entry `entry` of the deduplication table, shingled by
    /// characters or not (decided from its signal counts in pass 2).
    Entry { entry: usize, char_shingles: bool },
}

/// What pass 2 learns about a row (its signal columns).
#[derive(Debug, Clone)]
struct Measured {
    signals: Signals,
    boilerplate_lines: u64,
    /// Lines the C4 line rules dropped.
    lines_dropped: LinesDropped,
    /// Personal information found, by kind (`None`: not looked for).
    pii: Option<PiiCounts>,
    lang: String,
    lang_confidence: f64,
    /// xxh3-128 of the cleaned text: the exact-duplicate key and the
    /// `text_hash` column.
    text_hash: u128,
    /// The quality or language rule it fails.
    reject: Option<&'static str>,
}

/// A configured clean stage.
#[derive(Debug)]
pub struct Cleaner {
    config: CleanConfig,
    quality: QualityFilter,
    pii: Redactor,
    keep_langs: FxHashSet<String>,
}

/// Where the stage reads, writes and keeps its index.
#[derive(Debug, Clone)]
pub struct RunPaths<'a> {
    pub input: &'a Path,
    pub output: &'a Path,
    pub index: Option<&'a Path>,
}

impl ore_core::StageDef for Cleaner {
    const KIND: &'static str = "clean";
    const INPUTS: &'static [ore_core::InputSpec] = &[ore_core::InputSpec::dataset(&["crawl"])];
    /// MinHash permutations derive from the seed.
    const SEEDED: bool = true;
    type Config = CleanConfig;
}

impl ore_core::Stage for Cleaner {
    type Error = CleanError;

    fn build(config: CleanConfig) -> Result<Self> {
        Cleaner::build(&config)
    }

    fn run(&self, ctx: &ore_core::StageContext) -> Result<Manifest> {
        if let Some(shard) = ctx.shard {
            return self.run_shard(ctx, shard);
        }
        let paths = RunPaths {
            input: ctx.input("input")?,
            output: &ctx.output,
            index: self.config.index.as_deref(),
        };
        self.run(&paths, ctx.seed, ctx.write.clone())
    }

    /// Boilerplate removal needs every page of a host counted first: its
    /// shards count lines (`lines`), the commit adds the counts up, then
    /// the shards clean their rows (`rows`). Deduplication is the rows
    /// step's commit ([`crate::shards::commit_rows`]).
    fn shard_steps(&self) -> Option<Vec<&'static str>> {
        Some(if self.config.boilerplate.enabled {
            vec![crate::shards::LINES_STEP, ROWS_STEP]
        } else {
            vec![ROWS_STEP]
        })
    }
}

impl Cleaner {
    pub fn build(config: &CleanConfig) -> Result<Self> {
        let d = &config.dedup;
        if d.near && (d.num_perm == 0 || !(0.0..=1.0).contains(&d.threshold)) {
            return Err(CleanError::Config(
                "dedup needs num_perm ≥ 1 and 0 ≤ threshold ≤ 1".into(),
            ));
        }
        if config.batch_rows == 0 {
            return Err(CleanError::Config("batch_rows must be at least 1".into()));
        }
        if !config.lang.detect && !config.lang.keep.is_empty() {
            return Err(CleanError::Config(
                "lang.keep needs lang.detect = true".into(),
            ));
        }
        Ok(Self {
            quality: QualityFilter::build(&config.quality)?,
            pii: Redactor::new(config.pii),
            keep_langs: config.lang.keep.iter().cloned().collect(),
            config: config.clone(),
        })
    }

    /// The cleaned text: normalised, boilerplate lines removed.
    fn clean_text(&self, raw: &str, host: &str, boilerplate: &Boilerplate) -> (String, u64) {
        boilerplate.strip(host, normalize(raw, &self.config.normalize))
    }

    /// Cleans one text (normalisation, boilerplate, the C4 line rules,
    /// personal information) and measures what is left.
    fn measure(&self, raw: &str, host: &str, boilerplate: &Boilerplate) -> (String, Measured) {
        let (text, boilerplate_lines) = self.clean_text(raw, host, boilerplate);
        let (text, lines_dropped) = self.quality.drop_lines(text);
        let (text, pii, pii_reject) = if self.pii.enabled() {
            let r = self.pii.redact(text);
            (r.text, Some(r.counts), r.reject.map(PiiKind::reason))
        } else {
            (text, None, None)
        };
        let signals = self.quality.signals(&text);
        let (mut lang, lang_confidence) = if self.config.lang.detect {
            crate::lang::detect(&text)
        } else {
            ("und".to_string(), 0.0)
        };
        if lang_confidence < self.config.lang.min_confidence {
            lang = "und".into();
        }
        let reject = pii_reject
            .or_else(|| self.quality.check(&signals))
            .or_else(|| {
                (!self.keep_langs.is_empty() && !self.keep_langs.contains(&lang))
                    .then_some("language")
            });
        let measured = Measured {
            signals,
            boilerplate_lines,
            lines_dropped,
            pii,
            lang,
            lang_confidence,
            text_hash: xxh3_128(text.as_bytes()),
            reject,
        };
        (text, measured)
    }

    /// Runs the stage: the three passes of the module header, then the
    /// index (when kept) and the commit.
    pub fn run(&self, paths: &RunPaths<'_>, seed: u64, opts: WriteOptions) -> Result<Manifest> {
        let input = self.open_input(paths.input)?;
        let d = &self.config.dedup;
        let meta = IndexMeta::of(d, seed);
        let mut entries: Vec<Entry> = match paths.index {
            Some(dir) => load_index(dir, &meta)?,
            None => Vec::new(),
        };
        let indexed = entries.len();
        let run = Run {
            cleaner: self,
            boilerplate: self.count_boilerplate(&input)?,
            layout: self.layout(input.dataset.schema()),
            hasher: MinHasher::new(d.num_perm, seed, d.char_shingle, d.word_shingle),
            input,
            output: paths.output,
        };
        let info = StageInfo::new("clean", &self.config, seed);
        let mut out = StageOutput::create(paths.output, run.layout.out_schema.clone(), info, opts)?;
        out.add_input(&run.input.dataset)?;
        let (fates, mut scratch, totals) =
            run.filter_and_sign(&mut entries, out.scratch_file()?)?;
        totals.summarize(self, &mut out);
        let dedup = run.deduplicate(&entries, &fates, &mut scratch)?;
        run.write_rows(&fates, &dedup.verdicts, &mut scratch, &mut out)?;

        if let Some(dir) = paths.index {
            let kept: Vec<&Entry> = entries
                .iter()
                .zip(&dedup.verdicts)
                .filter(|(e, v)| e.from_index || matches!(v, Verdict::Kept { .. }))
                .map(|(e, _)| e)
                .collect();
            save_index(dir, &meta, &kept)?;
            out.set_summary("index_entries_before", serde_json::json!(indexed));
            out.set_summary("index_entries_after", serde_json::json!(kept.len()));
        }
        out.set_summary("duplicate_clusters", serde_json::json!(dedup.clusters));
        out.set_summary("candidate_pairs", serde_json::json!(dedup.candidates));
        out.set_summary("verified_pairs", serde_json::json!(dedup.verified));
        out.set_summary(
            "boilerplate_lines",
            serde_json::json!(run.boilerplate.len()),
        );
        Ok(out.commit()?)
    }

    /// Opens the input and checks that it has the text column.
    fn open_input<'a>(&self, path: &'a Path) -> Result<Input<'a>> {
        let dataset = Dataset::open(path)?;
        let schema = dataset.schema().clone();
        if schema.field_with_name(&self.config.text_column).is_err() {
            return Err(CleanError::Core(ore_core::Error::Arrow {
                path: path.to_path_buf(),
                message: format!(
                    "no `{}` column to clean; set clean.text_column",
                    self.config.text_column
                ),
            }));
        }
        Ok(Input {
            has_ids: schema.field_with_name(&self.config.id_column).is_ok(),
            has_urls: schema.field_with_name(&self.config.url_column).is_ok(),
            dataset,
            path,
        })
    }

    /// Pass 1: the lines that repeat across a host's pages (boilerplate).
    fn count_boilerplate(&self, input: &Input<'_>) -> Result<Boilerplate> {
        if !self.config.boilerplate.enabled {
            return Ok(Boilerplate::default());
        }
        Ok(self.count_lines(input)?.finish(&self.config.boilerplate))
    }

    /// Per host, the documents each short line is in.
    fn count_lines(&self, input: &Input<'_>) -> Result<LineCounts> {
        let progress = Progress::new(Some(input.dataset.num_rows()), "rows");
        progress.set_message("clean 1/3 lines");
        let mut counts = LineCounts::default();
        input
            .dataset
            .for_each_batch(self.config.batch_rows, |batch| -> Result<()> {
                let (texts, hosts) = self.columns(&batch, input.path, input.has_urls)?;
                let normalized: Vec<Option<String>> = (0..batch.num_rows())
                    .into_par_iter()
                    .map(|i| texts.get(i).map(|t| normalize(t, &self.config.normalize)))
                    .collect();
                for (i, text) in normalized.iter().enumerate() {
                    if let Some(text) = text {
                        counts.add(&hosts[i], text, &self.config.boilerplate);
                    }
                }
                progress.inc(batch.num_rows() as u64);
                Ok(())
            })?;
        progress.finish();
        Ok(counts)
    }

    /// One step of one shard of a sharded run ([`ore_core::shard`]): the
    /// line counts of its slice, or its rows cleaned with the merged
    /// boilerplate lines, with their MinHash entries beside them for the
    /// commit to deduplicate.
    fn run_shard(&self, ctx: &ore_core::StageContext, shard: Shard) -> Result<Manifest> {
        let output = ctx.output.as_path();
        let step = match ctx.step.as_deref() {
            Some(step) => step,
            None if self.config.boilerplate.enabled
                && !crate::shards::boilerplate_merged(output) =>
            {
                crate::shards::LINES_STEP
            }
            None => ROWS_STEP,
        };
        let mut input = self.open_input(ctx.input("input")?)?;
        input.dataset = input.dataset.shard(shard);
        let info = StageInfo::new("clean", &self.config, ctx.seed).with_shard(Some(shard));
        let target = ore_core::shard::shard_dir(output, step, shard);
        if step == crate::shards::LINES_STEP {
            let counts = self.count_lines(&input)?.to_batch()?;
            let mut out = StageOutput::create(&target, counts.schema(), info, ctx.write.clone())?;
            out.add_input(&input.dataset)?;
            out.count_generated(counts.num_rows() as u64);
            out.set_summary("rows_read", serde_json::json!(input.dataset.num_rows()));
            out.write(&counts)?;
            return Ok(out.commit()?);
        }
        let boilerplate = if self.config.boilerplate.enabled {
            crate::shards::load_boilerplate(output, &self.config, ctx.seed)?
        } else {
            Boilerplate::default()
        };
        let d = &self.config.dedup;
        let run = Run {
            cleaner: self,
            boilerplate,
            layout: self.layout(input.dataset.schema()),
            hasher: MinHasher::new(d.num_perm, ctx.seed, d.char_shingle, d.word_shingle),
            input,
            output,
        };
        let mut out = StageOutput::create(
            &target,
            run.layout.out_schema.clone(),
            info,
            ctx.write.clone(),
        )?;
        out.add_input(&run.input.dataset)?;
        let mut entries = Vec::new();
        let (fates, mut scratch, totals) =
            run.filter_and_sign(&mut entries, out.scratch_file()?)?;
        totals.summarize(self, &mut out);
        // Every survivor is kept for now; the commit sees all shards.
        let verdicts: Vec<Verdict> = entries
            .iter()
            .map(|e| Verdict::Kept {
                cluster: e.doc_id.clone(),
            })
            .collect();
        run.write_rows(&fates, &verdicts, &mut scratch, &mut out)?;
        let mut char_shingles = vec![false; entries.len()];
        for fate in &fates {
            if let Fate::Entry {
                entry,
                char_shingles: chars,
            } = *fate
            {
                char_shingles[entry] = chars;
            }
        }
        for (chunk, flags) in entries.chunks(8192).zip(char_shingles.chunks(8192)) {
            let refs: Vec<&Entry> = chunk.iter().collect();
            let batch = crate::shards::minhash_batch(&refs, flags)?;
            out.write_side(crate::shards::MINHASH_DIR, &batch)?;
        }
        out.set_summary(
            "boilerplate_lines",
            serde_json::json!(run.boilerplate.len()),
        );
        Ok(out.commit()?)
    }

    /// The output schema: the input's columns (the text replaced by the
    /// cleaned text, earlier signal columns dropped), then the signals.
    fn layout(&self, schema: &Schema) -> Layout {
        let kept_columns: Vec<usize> = (0..schema.fields().len())
            .filter(|&i| !SIGNAL_COLUMNS.contains(&schema.field(i).name().as_str()))
            .collect();
        let mut fields: Vec<Field> = kept_columns
            .iter()
            .map(|&i| ore_core::schema::adopt(schema.field(i)))
            .collect();
        let text_index = fields
            .iter()
            .position(|f| f.name() == &self.config.text_column)
            .unwrap_or_default();
        fields[text_index] =
            ore_core::schema::adopt(&Field::new(&self.config.text_column, DataType::Utf8, true));
        fields.extend(signal_fields());
        let out_schema: SchemaRef = Arc::new(Schema::new(fields));
        let spill_schema: SchemaRef = Arc::new(Schema::new(
            out_schema.fields()[..out_schema.fields().len() - 1].to_vec(),
        ));
        Layout {
            out_schema,
            spill_schema,
            kept_columns,
            text_index,
        }
    }

    fn columns<'a>(
        &self,
        batch: &'a RecordBatch,
        input: &Path,
        has_urls: bool,
    ) -> Result<(StrColumn<'a>, Vec<String>)> {
        let texts = StrColumn::of(batch, &self.config.text_column, input)?;
        let hosts = if has_urls {
            let urls = StrColumn::of(batch, &self.config.url_column, input)?;
            (0..batch.num_rows())
                .map(|i| host_of(urls.get(i)))
                .collect()
        } else {
            vec![String::new(); batch.num_rows()]
        };
        Ok((texts, hosts))
    }

    fn ids(
        &self,
        batch: &RecordBatch,
        input: &Path,
        has_ids: bool,
        first_row: u64,
    ) -> Result<Vec<String>> {
        if has_ids {
            let ids = StrColumn::of(batch, &self.config.id_column, input)?;
            Ok((0..batch.num_rows())
                .map(|i| {
                    ids.get(i)
                        .map_or_else(|| format!("row-{}", first_row + i as u64), str::to_string)
                })
                .collect())
        } else {
            Ok((0..batch.num_rows())
                .map(|i| format!("row-{}", first_row + i as u64))
                .collect())
        }
    }

    /// The batch with the cleaned text and the signal columns (all but
    /// `dup_cluster`).
    fn assemble(
        &self,
        batch: &RecordBatch,
        layout: &Layout,
        cleaned: &[Option<String>],
        measured: &[Option<Measured>],
    ) -> Result<RecordBatch> {
        let mut columns: Vec<ArrayRef> = layout
            .kept_columns
            .iter()
            .map(|&i| batch.column(i).clone())
            .collect();
        columns[layout.text_index] = Arc::new(StringArray::from(
            cleaned.iter().map(Option::as_deref).collect::<Vec<_>>(),
        ));
        columns.extend(SIGNALS.iter().map(|&(_, signal)| signal.column(measured)));
        Ok(RecordBatch::try_new(layout.spill_schema.clone(), columns)?)
    }
}

/// The input of a run, with the optional columns it has.
struct Input<'a> {
    dataset: Dataset,
    path: &'a Path,
    has_ids: bool,
    has_urls: bool,
}

/// The output's columns, and where they come from.
struct Layout {
    out_schema: SchemaRef,
    /// The output's columns but `dup_cluster`, which needs the clusters:
    /// pass 2 spills rows of this schema and pass 3 appends it.
    spill_schema: SchemaRef,
    /// The input columns kept, in order.
    kept_columns: Vec<usize>,
    /// Where the (cleaned) text is among them.
    text_index: usize,
}

/// What the deduplication found.
struct Dedup {
    verdicts: Vec<Verdict>,
    clusters: usize,
    candidates: usize,
    verified: u64,
}

/// One run of the stage, between pass 1 and the commit.
struct Run<'a> {
    cleaner: &'a Cleaner,
    input: Input<'a>,
    boilerplate: Boilerplate,
    layout: Layout,
    hasher: MinHasher,
    output: &'a Path,
}

impl Run<'_> {
    /// Pass 2: normalises, measures and filters every row, gives each
    /// survivor its entry (with its MinHash signature) in `entries`, and
    /// spills the rows with their signals into `scratch`. Each batch's rows
    /// are assembled and spilled on a thread of their own while the pool
    /// measures the next batch.
    fn filter_and_sign(
        &self,
        entries: &mut Vec<Entry>,
        scratch: std::fs::File,
    ) -> Result<(Vec<Fate>, std::fs::File, Totals)> {
        let (cleaner, input, output) = (self.cleaner, &self.input, self.output);
        let mut totals = Totals::default();
        let d = &cleaner.config.dedup;
        let rows = input.dataset.num_rows();
        let spill = StreamWriter::try_new(BufWriter::new(scratch), &self.layout.spill_schema)?;
        let mut fates: Vec<Fate> = Vec::with_capacity(rows as usize);
        let progress = Progress::new(Some(rows), "rows");
        progress.set_message("clean 2/3 filter + minhash");
        // Ids of rows without one count from the whole input's first row.
        let mut row = input.dataset.first_row();
        type Spilled = (RecordBatch, Vec<Option<String>>, Vec<Option<Measured>>);
        let (to_spill, spilled) = std::sync::mpsc::sync_channel::<Spilled>(2);
        let spill = std::thread::scope(|scope| -> Result<_> {
            let spiller = scope.spawn(|| -> Result<_> {
                let mut spill = spill;
                for (batch, cleaned, measured) in spilled {
                    let assembled = cleaner.assemble(&batch, &self.layout, &cleaned, &measured)?;
                    spill
                        .write(&assembled)
                        .map_err(|e| spill_error(output, e))?;
                }
                spill.finish().map_err(|e| spill_error(output, e))?;
                Ok(spill)
            });
            let measured =
                input
                    .dataset
                    .for_each_batch(cleaner.config.batch_rows, |batch| -> Result<()> {
                        let (texts, hosts) = cleaner.columns(&batch, input.path, input.has_urls)?;
                        let ids = cleaner.ids(&batch, input.path, input.has_ids, row)?;
                        type Row = (Option<String>, Option<Measured>, Option<Entry>);
                        let results: Vec<Row> = (0..batch.num_rows())
                            .into_par_iter()
                            .map(|i| {
                                let Some(raw) = texts.get(i) else {
                                    return (None, None, None);
                                };
                                let (text, m) = cleaner.measure(raw, &hosts[i], &self.boilerplate);
                                if m.reject.is_some() {
                                    return (Some(text), Some(m), None);
                                }
                                let signature = if d.near {
                                    self.hasher.text_signature(&text, m.signals.char_shingles())
                                } else {
                                    Vec::new()
                                };
                                let entry = Entry {
                                    doc_id: ids[i].clone(),
                                    text_hash: m.text_hash,
                                    n_chars: m.signals.n_chars,
                                    signature,
                                    from_index: false,
                                };
                                (Some(text), Some(m), Some(entry))
                            })
                            .collect();
                        let mut cleaned = Vec::with_capacity(results.len());
                        let mut measured = Vec::with_capacity(results.len());
                        for (text, m, e) in results {
                            if let Some(m) = &m {
                                totals.add(m);
                            }
                            fates.push(fate(m.as_ref(), e, entries));
                            cleaned.push(text);
                            measured.push(m);
                        }
                        let n = batch.num_rows() as u64;
                        if to_spill.send((batch, cleaned, measured)).is_err() {
                            // The spiller stopped on an error, which is reported instead.
                            return Err(spill_error(
                                output,
                                arrow_schema::ArrowError::IoError(
                                    "the spill writer stopped".into(),
                                    std::io::Error::other("spill writer stopped"),
                                ),
                            ));
                        }
                        row += n;
                        progress.inc(n);
                        Ok(())
                    });
            drop(to_spill);
            // The spiller's error comes first: it explains a stop above.
            let spill = spiller
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            measured?;
            Ok(spill)
        })?;
        progress.finish();
        let scratch = spill
            .into_inner()
            .map_err(|e| spill_error(output, e))?
            .into_inner()
            .map_err(|e| spill_error(output, e.into_error().into()))?;
        Ok((fates, scratch, totals))
    }

    /// Exact duplicates, then LSH candidate pairs, checked exactly between
    /// documents of this run (their shingles are recomputed from the spilled
    /// texts, for those rows only; documents from the index are compared by
    /// their signatures); clusters are the connected components.
    fn deduplicate(
        &self,
        entries: &[Entry],
        fates: &[Fate],
        scratch: &mut std::fs::File,
    ) -> Result<Dedup> {
        let d = &self.cleaner.config.dedup;
        let candidates = Candidates::of(entries, d);
        let shingles = self.candidate_shingles(&candidates.needed, fates, scratch)?;
        let (verdicts, clusters, verified) = candidates.cluster(entries, d, &shingles);
        Ok(Dedup {
            verdicts,
            clusters,
            candidates: candidates.pairs.len(),
            verified,
        })
    }

    /// The shingles of the entries in `needed`, from their spilled texts.
    fn candidate_shingles(
        &self,
        needed: &FxHashSet<usize>,
        fates: &[Fate],
        scratch: &mut std::fs::File,
    ) -> Result<FxHashMap<usize, Vec<u64>>> {
        if needed.is_empty() {
            return Ok(FxHashMap::default());
        }
        let progress = Progress::new(Some(self.input.dataset.num_rows()), "rows");
        progress.set_message("clean 2/3 verify candidates");
        // Only the candidates' texts are kept, to be shingled in one
        // parallel pass, longest first so that no thread is left with a
        // long one at the end.
        let mut texts: Vec<(usize, bool, String)> = Vec::with_capacity(needed.len());
        let mut row = 0usize;
        let projection = Some(vec![self.layout.text_index]);
        for batch in read_spill(scratch, self.output, projection)? {
            let batch = batch.map_err(|e| spill_error(self.output, e))?;
            let n = batch.num_rows();
            let column = StrColumn::of(&batch, &self.cleaner.config.text_column, self.input.path)?;
            for (i, fate) in fates[row..row + n].iter().enumerate() {
                if let Fate::Entry {
                    entry,
                    char_shingles,
                } = *fate
                    && needed.contains(&entry)
                    && let Some(text) = column.get(i)
                {
                    texts.push((entry, char_shingles, text.to_string()));
                }
            }
            row += n;
            progress.inc(n as u64);
        }
        texts.sort_by_key(|(_, _, text)| std::cmp::Reverse(text.len()));
        let shingles = texts
            .par_iter()
            .with_max_len(1)
            .map(|(e, char_shingles, text)| (*e, self.hasher.shingles(text, *char_shingles)))
            .collect();
        progress.finish();
        Ok(shingles)
    }

    /// Pass 3: the spilled rows with `dup_cluster`, kept or rejected. The
    /// whole output is written now, so its row groups are encoded on the
    /// pool, side by side, while the spill is read.
    fn write_rows(
        &self,
        fates: &[Fate],
        verdicts: &[Verdict],
        scratch: &mut std::fs::File,
        out: &mut StageOutput,
    ) -> Result<()> {
        let (cleaner, input, output) = (self.cleaner, &self.input, self.output);
        let progress = Progress::new(Some(input.dataset.num_rows()), "rows");
        progress.set_message("clean 3/3 write");
        let mut row = 0usize;
        for batch in read_spill(scratch, output, None)? {
            let batch = batch.map_err(|e| spill_error(output, e))?;
            let n = batch.num_rows();
            out.count_input(n as u64);
            let first = input.dataset.first_row() + row as u64;
            let ids = cleaner.ids(&batch, input.path, input.has_ids, first)?;
            let mut decisions: Vec<(Option<&'static str>, Option<&str>)> = Vec::with_capacity(n);
            for fate in &fates[row..row + n] {
                decisions.push(match *fate {
                    Fate::NullText => (Some("null_text"), None),
                    Fate::Rejected(reason) => (Some(reason), None),
                    Fate::Entry { entry, .. } => match &verdicts[entry] {
                        Verdict::Kept { cluster } => (None, Some(cluster.as_str())),
                        Verdict::ExactDuplicate { of } => (Some("exact_duplicate"), Some(of)),
                        Verdict::NearDuplicate { of } => (Some("near_duplicate"), Some(of)),
                    },
                });
            }
            let dup_cluster: ArrayRef = Arc::new(StringArray::from_iter_values(
                decisions
                    .iter()
                    .zip(&ids)
                    .map(|(d, id)| d.1.unwrap_or(id.as_str())),
            ));
            let mut columns = batch.columns().to_vec();
            columns.push(dup_cluster);
            let full = RecordBatch::try_new(self.layout.out_schema.clone(), columns)?;
            if decisions.iter().all(|d| d.0.is_none()) {
                out.write_parallel(full)?;
            } else {
                let keep: arrow_array::BooleanArray =
                    decisions.iter().map(|d| Some(d.0.is_none())).collect();
                let drop: arrow_array::BooleanArray =
                    decisions.iter().map(|d| Some(d.0.is_some())).collect();
                out.write_parallel(arrow_select::filter::filter_record_batch(&full, &keep)?)?;
                let rejected = arrow_select::filter::filter_record_batch(&full, &drop)?;
                let reasons: Vec<&str> = decisions.iter().filter_map(|d| d.0).collect();
                let details: Vec<Option<String>> = decisions
                    .iter()
                    .filter(|d| d.0.is_some())
                    .map(|d| d.1.map(|of| format!("duplicate of {of}")))
                    .collect();
                out.reject(&rejected, &reasons, Some(&details))?;
            }
            row += n;
            progress.inc(n as u64);
        }
        // The last group starts encoding on the pool; this thread, which
        // would only wait for it, encodes the rejects meanwhile.
        out.close_rejects()?;
        progress.finish();
        Ok(())
    }
}

/// What pass 2 counts over all rows, for the manifest's summary.
#[derive(Debug, Default)]
struct Totals {
    /// Personal information found, by kind …
    pii_found: PiiCounts,
    /// … and the rows it was found in.
    pii_rows: PiiCounts,
    lines_dropped: LinesDropped,
}

impl Totals {
    fn add(&mut self, m: &Measured) {
        if let Some(counts) = m.pii {
            for (i, &n) in counts.iter().enumerate() {
                self.pii_found[i] += n;
                self.pii_rows[i] += u64::from(n > 0);
            }
        }
        self.lines_dropped += m.lines_dropped;
    }

    /// `pii` (per kind looked for: its action, matches found, rows with
    /// one) and `lines_dropped` (per C4 line rule), when they are on.
    fn summarize(&self, cleaner: &Cleaner, out: &mut StageOutput) {
        let pii = &cleaner.config.pii;
        if pii.enabled() {
            let kinds: serde_json::Map<String, serde_json::Value> = pii
                .kinds()
                .into_iter()
                .map(|k| {
                    let i = k.index();
                    (
                        k.name().to_string(),
                        serde_json::json!({
                            "action": pii.action(k),
                            "found": self.pii_found[i],
                            "rows": self.pii_rows[i],
                        }),
                    )
                })
                .collect();
            out.set_summary("pii", serde_json::Value::Object(kinds));
        }
        if cleaner.quality.drops_lines() {
            let d = &self.lines_dropped;
            out.set_summary(
                "lines_dropped",
                serde_json::json!({
                    "javascript": d.javascript,
                    "unterminated": d.unterminated,
                    "short": d.short,
                }),
            );
        }
    }
}

/// What pass 2 makes of a row: a measured row without an entry failed a
/// rule; one with an entry joins the dedup table.
fn fate(measured: Option<&Measured>, entry: Option<Entry>, entries: &mut Vec<Entry>) -> Fate {
    match (measured, entry) {
        (None, _) => Fate::NullText,
        (
            Some(Measured {
                reject: Some(reason),
                ..
            }),
            _,
        ) => Fate::Rejected(reason),
        (Some(m), Some(e)) => {
            entries.push(e);
            Fate::Entry {
                entry: entries.len() - 1,
                char_shingles: m.signals.char_shingles(),
            }
        }
        (Some(_), None) => unreachable!("a row that passes has an entry"),
    }
}

/// Reads the scratch file from its start: every column, or only those of
/// `projection`.
///
/// The batches are not validated again (UTF-8, offsets): this process wrote
/// them in pass 2 from validated arrays, into an unnamed file nothing else
/// opens. Validating the texts took about a tenth of the serial time between
/// pass 2 and the end of the stage.
fn read_spill<'a>(
    scratch: &'a mut std::fs::File,
    output: &Path,
    projection: Option<Vec<usize>>,
) -> Result<StreamReader<BufReader<&'a mut std::fs::File>>> {
    scratch
        .rewind()
        .map_err(|e| spill_error(output, e.into()))?;
    let reader = StreamReader::try_new(BufReader::new(scratch), projection)
        .map_err(|e| spill_error(output, e))?;
    // SAFETY: the scratch file holds exactly what pass 2's `StreamWriter`
    // wrote from arrays that were valid; see above.
    #[allow(unsafe_code)]
    let reader = unsafe { reader.with_skip_validation(true) };
    Ok(reader)
}

/// An error of the scratch file pass 2 spills into, named by the output.
fn spill_error(output: &Path, e: arrow_schema::ArrowError) -> CleanError {
    CleanError::Core(ore_core::Error::Arrow {
        path: output.to_path_buf(),
        message: format!("scratch file of the clean stage: {e}"),
    })
}

/// The signal columns' fields, `dup_cluster` last.
fn signal_fields() -> Vec<Field> {
    let mut fields: Vec<Field> = SIGNALS
        .iter()
        .map(|&(name, signal)| signal.field(name))
        .collect();
    fields.push(Field::new(DUP_CLUSTER, DataType::Utf8, false));
    fields
}
