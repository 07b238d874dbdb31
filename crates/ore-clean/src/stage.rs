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
use ore_core::{Dataset, Manifest, Progress, StageInfo, StageOutput, StrColumn, WriteOptions};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use xxhash_rust::xxh3::xxh3_128;

use crate::boilerplate::{Boilerplate, LineCounts, host_of};
use crate::config::CleanConfig;
use crate::dedup::{
    Entry, IndexMeta, Verdict, candidate_pairs, cluster, exact_duplicates, load_index, save_index,
};
use crate::error::{CleanError, Result};
use crate::minhash::{MinHasher, estimate, exact_jaccard};
use crate::normalize::normalize;
use crate::quality::{QualityFilter, Signals};

/// Columns the stage adds (and replaces when rerun on its own output).
pub const SIGNAL_COLUMNS: [&str; 15] = [
    "n_chars",
    "n_words",
    "n_lines",
    "cjk_ratio",
    "symbol_ratio",
    "digit_ratio",
    "punct_end_ratio",
    "dup_line_frac",
    "dup_ngram_frac",
    "bad_words",
    "boilerplate_lines",
    "lang_detected",
    "lang_confidence",
    "text_hash",
    "dup_cluster",
];

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
        let paths = RunPaths {
            input: ctx.input("input")?,
            output: &ctx.output,
            index: self.config.index.as_deref(),
        };
        self.run(&paths, ctx.seed, ctx.write.clone())
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
            keep_langs: config.lang.keep.iter().cloned().collect(),
            config: config.clone(),
        })
    }

    /// The cleaned text: normalised, boilerplate lines removed.
    fn clean_text(&self, raw: &str, host: &str, boilerplate: &Boilerplate) -> (String, u64) {
        boilerplate.strip(host, normalize(raw, &self.config.normalize))
    }

    fn measure(&self, raw: &str, host: &str, boilerplate: &Boilerplate) -> (String, Measured) {
        let (text, boilerplate_lines) = self.clean_text(raw, host, boilerplate);
        let signals = self.quality.signals(&text);
        let (mut lang, lang_confidence) = if self.config.lang.detect {
            crate::lang::detect(&text)
        } else {
            ("und".to_string(), 0.0)
        };
        if lang_confidence < self.config.lang.min_confidence {
            lang = "und".into();
        }
        let reject = self.quality.check(&signals).or_else(|| {
            (!self.keep_langs.is_empty() && !self.keep_langs.contains(&lang)).then_some("language")
        });
        let measured = Measured {
            signals,
            boilerplate_lines,
            lang,
            lang_confidence,
            text_hash: xxh3_128(text.as_bytes()),
            reject,
        };
        (text, measured)
    }

    /// Runs the stage.
    pub fn run(&self, paths: &RunPaths<'_>, seed: u64, opts: WriteOptions) -> Result<Manifest> {
        let input = paths.input;
        let dataset = Dataset::open(input)?;
        let schema = dataset.schema().clone();
        let has_ids = schema.field_with_name(&self.config.id_column).is_ok();
        let has_urls = schema.field_with_name(&self.config.url_column).is_ok();
        if schema.field_with_name(&self.config.text_column).is_err() {
            return Err(CleanError::Core(ore_core::Error::Arrow {
                path: input.to_path_buf(),
                message: format!(
                    "no `{}` column to clean; set clean.text_column",
                    self.config.text_column
                ),
            }));
        }
        let rows = dataset.num_rows();
        let batch_rows = self.config.batch_rows;

        // Pass 1: boilerplate lines per host.
        let boilerplate = if self.config.boilerplate.enabled {
            let progress = Progress::new(Some(rows), "rows");
            progress.set_message("clean 1/3 lines");
            let mut counts = LineCounts::default();
            dataset.for_each_batch(batch_rows, |batch| -> Result<()> {
                let (texts, hosts) = self.columns(&batch, input, has_urls)?;
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
            counts.finish(&self.config.boilerplate)
        } else {
            Boilerplate::default()
        };

        // Pass 2: filters and signatures.
        let d = &self.config.dedup;
        let hasher = MinHasher::new(d.num_perm, seed, d.char_shingle, d.word_shingle);
        let meta = IndexMeta {
            num_perm: d.num_perm,
            seed,
            char_shingle: d.char_shingle,
            word_shingle: d.word_shingle,
            threshold: d.threshold,
        };
        let mut entries: Vec<Entry> = match paths.index {
            Some(dir) => load_index(dir, &meta)?,
            None => Vec::new(),
        };
        let indexed = entries.len();

        // The output schema: the input's columns (the text replaced by the
        // cleaned text, earlier signal columns dropped), then the signals.
        let mut fields: Vec<Field> = schema
            .fields()
            .iter()
            .filter(|f| !SIGNAL_COLUMNS.contains(&f.name().as_str()))
            .map(|f| f.as_ref().clone())
            .collect();
        let kept_columns: Vec<usize> = (0..schema.fields().len())
            .filter(|&i| !SIGNAL_COLUMNS.contains(&schema.field(i).name().as_str()))
            .collect();
        let text_index = fields
            .iter()
            .position(|f| f.name() == &self.config.text_column)
            .unwrap_or_default();
        fields[text_index] = Field::new(&self.config.text_column, DataType::Utf8, true);
        fields.extend(signal_fields());
        let out_schema: SchemaRef = Arc::new(Schema::new(fields));
        // Pass 2 spills every row without `dup_cluster`, which needs the
        // clusters; pass 3 appends it.
        let spill_schema: SchemaRef = Arc::new(Schema::new(
            out_schema.fields()[..out_schema.fields().len() - 1].to_vec(),
        ));
        let info = StageInfo::new("clean", &self.config, seed);
        let mut out = StageOutput::create(paths.output, out_schema.clone(), info, opts)?;
        out.add_input(&dataset)?;
        let scratch = out.scratch_file()?;
        let spill = StreamWriter::try_new(BufWriter::new(scratch), &spill_schema)?;

        let mut fates: Vec<Fate> = Vec::with_capacity(rows as usize);
        let progress = Progress::new(Some(rows), "rows");
        progress.set_message("clean 2/3 filter + minhash");
        let mut row = 0u64;
        // Each batch's rows are assembled and spilled on a thread of their
        // own while the pool measures the next batch.
        type Spilled = (RecordBatch, Vec<Option<String>>, Vec<Option<Measured>>);
        let (to_spill, spilled) = std::sync::mpsc::sync_channel::<Spilled>(2);
        let spill = std::thread::scope(|scope| -> Result<_> {
            let spiller = scope.spawn(|| -> Result<_> {
                let mut spill = spill;
                for (batch, cleaned, measured) in spilled {
                    let assembled = self.assemble(
                        &batch,
                        &kept_columns,
                        text_index,
                        &spill_schema,
                        &cleaned,
                        &measured,
                    )?;
                    spill
                        .write(&assembled)
                        .map_err(|e| spill_error(paths.output, e))?;
                }
                spill.finish().map_err(|e| spill_error(paths.output, e))?;
                Ok(spill)
            });
            let measured = dataset.for_each_batch(batch_rows, |batch| -> Result<()> {
                let (texts, hosts) = self.columns(&batch, input, has_urls)?;
                let ids = self.ids(&batch, input, has_ids, row)?;
                type Row = (Option<String>, Option<Measured>, Option<Entry>);
                let results: Vec<Row> = (0..batch.num_rows())
                    .into_par_iter()
                    .map(|i| {
                        let Some(raw) = texts.get(i) else {
                            return (None, None, None);
                        };
                        let (text, m) = self.measure(raw, &hosts[i], &boilerplate);
                        if m.reject.is_some() {
                            return (Some(text), Some(m), None);
                        }
                        let signature = if d.near {
                            hasher.text_signature(&text, m.signals.char_shingles())
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
                    // A measured row without an entry failed a rule (see the
                    // closure above); one with an entry joins the dedup table.
                    fates.push(match (&m, e) {
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
                    });
                    cleaned.push(text);
                    measured.push(m);
                }
                let n = batch.num_rows() as u64;
                if to_spill.send((batch, cleaned, measured)).is_err() {
                    // The spiller stopped on an error, which is reported instead.
                    return Err(spill_error(
                        paths.output,
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

        // Candidate pairs, then an exact check of those between documents of
        // this run (their shingles are recomputed, for those rows only;
        // documents from the index are compared by their signatures).
        let exact_of = if d.exact {
            exact_duplicates(&entries)
        } else {
            vec![None; entries.len()]
        };
        let candidates = if d.near {
            let skip: Vec<bool> = exact_of.iter().map(Option::is_some).collect();
            let sigs: Vec<&[u32]> = entries.iter().map(|e| e.signature.as_slice()).collect();
            candidate_pairs(&sigs, &skip, d.threshold, d.num_perm)
        } else {
            Vec::new()
        };
        let needed: FxHashSet<usize> = candidates
            .iter()
            .flat_map(|&(i, j)| [i as usize, j as usize])
            .filter(|&e| !entries[e].from_index)
            .collect();
        // The spilled (cleaned) texts give the shingles of the candidates.
        let mut scratch = spill
            .into_inner()
            .map_err(|e| spill_error(paths.output, e))?
            .into_inner()
            .map_err(|e| spill_error(paths.output, e.into_error().into()))?;
        let mut shingles: FxHashMap<usize, Vec<u64>> = FxHashMap::default();
        if !needed.is_empty() {
            let progress = Progress::new(Some(rows), "rows");
            progress.set_message("clean 2/3 verify candidates");
            // Only the candidates' texts are kept, to be shingled in one
            // parallel pass, longest first so that no thread is left with a
            // long one at the end.
            let mut texts: Vec<(usize, bool, String)> = Vec::with_capacity(needed.len());
            let mut row = 0usize;
            for batch in read_spill(&mut scratch, paths.output, Some(vec![text_index]))? {
                let batch = batch.map_err(|e| spill_error(paths.output, e))?;
                let n = batch.num_rows();
                let column = StrColumn::of(&batch, &self.config.text_column, input)?;
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
            shingles = texts
                .par_iter()
                .with_max_len(1)
                .map(|(e, char_shingles, text)| (*e, hasher.shingles(text, *char_shingles)))
                .collect();
            progress.finish();
        }
        let mut verified = 0u64;
        let (verdicts, clusters) = cluster(&entries, &exact_of, &candidates, d, |i, j| {
            let same = match (shingles.get(&(i as usize)), shingles.get(&(j as usize))) {
                (Some(a), Some(b)) => exact_jaccard(a, b) >= d.threshold,
                _ => {
                    estimate(
                        &entries[i as usize].signature,
                        &entries[j as usize].signature,
                    ) >= d.threshold
                }
            };
            verified += u64::from(same);
            same
        });

        // Pass 3: the spilled rows with `dup_cluster`, kept or rejected. The
        // whole output is written now, so its row groups are encoded on the
        // pool, side by side, while the spill is read.
        let progress = Progress::new(Some(rows), "rows");
        progress.set_message("clean 3/3 write");
        let mut encoder = out.parallel_encoder();
        let mut row = 0usize;
        for batch in read_spill(&mut scratch, paths.output, None)? {
            let batch = batch.map_err(|e| spill_error(paths.output, e))?;
            let n = batch.num_rows();
            out.count_input(n as u64);
            let ids = self.ids(&batch, input, has_ids, row as u64)?;
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
            let full = RecordBatch::try_new(out_schema.clone(), columns)?;
            if decisions.iter().all(|d| d.0.is_none()) {
                encoder.push(full, |group| out.write_encoded(group))?;
            } else {
                let keep: arrow_array::BooleanArray =
                    decisions.iter().map(|d| Some(d.0.is_none())).collect();
                let drop: arrow_array::BooleanArray =
                    decisions.iter().map(|d| Some(d.0.is_some())).collect();
                let kept = arrow_select::filter::filter_record_batch(&full, &keep)?;
                encoder.push(kept, |group| out.write_encoded(group))?;
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
        encoder.flush();
        out.close_rejects()?;
        encoder.finish(|group| out.write_encoded(group))?;
        progress.finish();

        if let Some(dir) = paths.index {
            let kept: Vec<&Entry> = entries
                .iter()
                .zip(&verdicts)
                .filter(|(e, v)| e.from_index || matches!(v, Verdict::Kept { .. }))
                .map(|(e, _)| e)
                .collect();
            save_index(dir, &meta, &kept)?;
            out.set_summary("index_entries_before", serde_json::json!(indexed));
            out.set_summary("index_entries_after", serde_json::json!(kept.len()));
        }
        out.set_summary("duplicate_clusters", serde_json::json!(clusters));
        out.set_summary("candidate_pairs", serde_json::json!(candidates.len()));
        out.set_summary("verified_pairs", serde_json::json!(verified));
        out.set_summary("boilerplate_lines", serde_json::json!(boilerplate.len()));
        Ok(out.commit()?)
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
        kept_columns: &[usize],
        text_index: usize,
        schema: &SchemaRef,
        cleaned: &[Option<String>],
        measured: &[Option<Measured>],
    ) -> Result<RecordBatch> {
        let mut columns: Vec<ArrayRef> = kept_columns
            .iter()
            .map(|&i| batch.column(i).clone())
            .collect();
        columns[text_index] = Arc::new(StringArray::from(
            cleaned.iter().map(Option::as_deref).collect::<Vec<_>>(),
        ));
        let sig = |f: fn(&Measured) -> f64| -> ArrayRef {
            Arc::new(Float64Array::from(
                measured
                    .iter()
                    .map(|m| m.as_ref().map(f))
                    .collect::<Vec<_>>(),
            ))
        };
        let count = |f: fn(&Measured) -> u64| -> ArrayRef {
            Arc::new(UInt64Array::from(
                measured
                    .iter()
                    .map(|m| m.as_ref().map(f))
                    .collect::<Vec<_>>(),
            ))
        };
        columns.extend([
            count(|m| m.signals.n_chars),
            count(|m| m.signals.n_words),
            count(|m| m.signals.n_lines),
            sig(|m| m.signals.cjk_ratio),
            sig(|m| m.signals.symbol_ratio),
            sig(|m| m.signals.digit_ratio),
            sig(|m| m.signals.punct_end_ratio),
            sig(|m| m.signals.dup_line_frac),
            sig(|m| m.signals.dup_ngram_frac),
            count(|m| m.signals.bad_words),
            count(|m| m.boilerplate_lines),
            Arc::new(StringArray::from(
                measured
                    .iter()
                    .map(|m| m.as_ref().map(|m| m.lang.as_str()))
                    .collect::<Vec<_>>(),
            )),
            sig(|m| m.lang_confidence),
            Arc::new(StringArray::from(
                measured
                    .iter()
                    .map(|m| m.as_ref().map(|m| format!("{:032x}", m.text_hash)))
                    .collect::<Vec<_>>(),
            )),
        ]);
        Ok(RecordBatch::try_new(schema.clone(), columns)?)
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

fn signal_fields() -> Vec<Field> {
    let u = |n: &str| Field::new(n, DataType::UInt64, true);
    let f = |n: &str| Field::new(n, DataType::Float64, true);
    vec![
        u("n_chars"),
        u("n_words"),
        u("n_lines"),
        f("cjk_ratio"),
        f("symbol_ratio"),
        f("digit_ratio"),
        f("punct_end_ratio"),
        f("dup_line_frac"),
        f("dup_ngram_frac"),
        u("bad_words"),
        u("boilerplate_lines"),
        Field::new("lang_detected", DataType::Utf8, true),
        f("lang_confidence"),
        Field::new("text_hash", DataType::Utf8, true),
        Field::new("dup_cluster", DataType::Utf8, false),
    ]
}
