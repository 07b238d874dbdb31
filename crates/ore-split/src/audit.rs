//! The leakage audit: which rows of the eval splits are also, or nearly,
//! in the training split.
//!
//! The eval rows are indexed (they are the smaller side); the training rows
//! are streamed past the index, in parallel per batch, as the
//! decontamination tools scan a training set against a benchmark. An eval
//! row leaks:
//! - **exact**: a training row has the same normalised text
//!   ([`crate::text::normalize`]);
//! - **near**: else, a training row's shingle set has Jaccard similarity at
//!   or above the threshold, found by MinHash LSH and checked exactly;
//! - **ngram**: else, it shares a long n-gram with a training row (13 words
//!   for Latin-script text, 25 characters for CJK text, by default) that
//!   at most `ngram_max_rows` rows of train and eval hold (an n-gram in
//!   more rows is common phrasing, a standard sentence of a help site, not a
//!   copied passage), when such n-grams of one train row make at least
//!   `ngram_min_overlap` of the eval row's n-grams: most of the row is a
//!   passage of a training row;
//! - **variant** (counted apart from the three above): a training row has
//!   the same `source_id`, an augmented or sibling example of one source.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use ore_core::{Dataset, DatasetWriter, Progress, StrColumn, WriteOptions};
use ore_minhash::{
    CANDIDATE_MARGIN, MinHasher, band_key, estimate, exact_jaccard, lsh_params, use_char_shingles,
};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;
use xxhash_rust::xxh3::xxh3_64;

use crate::config::AuditConfig;
use crate::error::{Result, SplitError};
use crate::keys::as_strings;
use crate::text::normalize;

/// The kinds of leak, in the order an eval row is counted under (exact
/// first); `variant` is counted on its own.
pub const KINDS: [&str; 4] = ["exact", "near", "ngram", "variant"];

/// One side of the audit: a dataset, or the rows of it that a selection
/// marks (the split stage audits its own assignment before writing it).
#[derive(Debug, Clone)]
pub struct AuditInput {
    pub dataset: Arc<Dataset>,
    /// What the pairs call this side (`valid`, a path).
    pub name: String,
    /// Rows whose entry equals `want` take part; all rows when `None`.
    pub select: Option<(Arc<Vec<u8>>, u8)>,
}

impl AuditInput {
    pub fn whole(dataset: Arc<Dataset>, name: impl Into<String>) -> Self {
        Self {
            dataset,
            name: name.into(),
            select: None,
        }
    }

    fn takes(&self, row: usize) -> bool {
        match &self.select {
            None => true,
            Some((marks, want)) => marks.get(row) == Some(want),
        }
    }
}

/// Which columns the audit reads.
#[derive(Debug, Clone)]
pub struct AuditColumns {
    /// The text compared; `None`: the first of `text`, `src` present.
    pub text: Option<String>,
    /// Row ids for the pairs: the first of these present (else `#ROW`).
    pub ids: Vec<String>,
}

impl Default for AuditColumns {
    fn default() -> Self {
        Self {
            text: None,
            ids: ["example_id", "doc_id", "id"].map(String::from).to_vec(),
        }
    }
}

/// Counts of the audit, as `ore audit --json` prints them.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct AuditCounts {
    pub exact: u64,
    pub near: u64,
    pub ngram: u64,
    pub variant: u64,
    pub eval_rows: u64,
    pub eval_rows_leaked: u64,
}

/// One offending pair.
#[derive(Debug, Clone, PartialEq)]
pub struct LeakPair {
    pub train_id: String,
    pub eval_id: String,
    /// The eval side's name.
    pub eval_set: String,
    pub kind: &'static str,
    /// 1 for exact and variant, the exact Jaccard similarity for near, the
    /// share of the eval row's n-grams found in the train row for ngram.
    pub similarity: f64,
}

/// What the audit found.
#[derive(Debug, Clone, Default)]
pub struct AuditReport {
    pub counts: AuditCounts,
    pub pairs: Vec<LeakPair>,
    /// Train rows read.
    pub train_rows: u64,
}

/// An indexed eval row.
#[derive(Debug)]
struct EvalRow {
    id: String,
    set: u32,
    shingles: Vec<u64>,
    ngrams: u32,
}

/// The eval side, indexed.
#[derive(Debug, Default)]
struct EvalIndex {
    rows: Vec<EvalRow>,
    signatures: Vec<u32>,
    exact: FxHashMap<u64, Vec<u32>>,
    bands: Vec<FxHashMap<u64, Vec<u32>>>,
    /// N-gram hash → its number in `gram_rows`.
    grams: FxHashMap<u64, u32>,
    /// The eval rows holding each n-gram.
    gram_rows: Vec<Vec<u32>>,
    /// How many train rows hold each n-gram (counted in the first scan).
    gram_train: Vec<u32>,
    sources: FxHashMap<u64, Vec<u32>>,
}

impl EvalIndex {
    /// Whether n-gram `g` is rare enough to be a copied passage.
    fn rare(&self, g: u32, max_rows: usize) -> bool {
        self.gram_train[g as usize] as usize + self.gram_rows[g as usize].len() <= max_rows
    }
}

/// The best matches of each (eval row, kind): similarity and train row id.
type Best = BTreeMap<(u32, u8), Vec<(f64, String)>>;

/// A train row's match with an eval row.
#[derive(Debug, Clone, Copy)]
struct Hit {
    eval: u32,
    kind: u8,
    similarity: f64,
}

/// The audit.
#[derive(Debug, Clone)]
pub struct Audit {
    config: AuditConfig,
    columns: AuditColumns,
    hasher: MinHasher,
    bands: usize,
    band_rows: usize,
    progress: bool,
}

/// The columns of one side's batches.
struct Cols<'a> {
    text: StrColumn<'a>,
    id: Option<StrColumn<'a>>,
    source: Option<StrColumn<'a>>,
}

impl Audit {
    pub fn new(config: &AuditConfig, columns: AuditColumns) -> Result<Self> {
        config.validate()?;
        let (bands, band_rows) = lsh_params(
            (config.near_threshold - CANDIDATE_MARGIN).max(0.05),
            config.num_perm,
        );
        Ok(Self {
            hasher: MinHasher::new(
                config.num_perm,
                config.seed,
                config.char_shingle,
                config.word_shingle,
            ),
            config: config.clone(),
            columns,
            bands,
            band_rows,
            progress: true,
        })
    }

    /// Shows no progress bars (tests, and the split stage's own audit,
    /// which has its own).
    pub fn quiet(mut self) -> Self {
        self.progress = false;
        self
    }

    /// Audits `eval` against `train`.
    pub fn run(&self, train: &[AuditInput], eval: &[AuditInput]) -> Result<AuditReport> {
        let text = self.text_column(train.iter().chain(eval))?;
        let mut index = self.index_eval(eval, &text)?;
        let (mut hits, train_rows, marked) = self.scan_train(train, &text, &mut index)?;
        self.rare_ngrams(train, &text, &index, &marked, &mut hits)?;
        Ok(self.report(&index, eval, hits, train_rows))
    }

    /// The text column every side must have.
    fn text_column<'a>(&self, sides: impl Iterator<Item = &'a AuditInput>) -> Result<String> {
        let sides: Vec<&AuditInput> = sides.collect();
        let candidates: Vec<String> = match &self.columns.text {
            Some(c) => vec![c.clone()],
            None => vec!["text".into(), "src".into()],
        };
        let has = |side: &AuditInput, c: &str| side.dataset.schema().field_with_name(c).is_ok();
        for c in &candidates {
            if sides.iter().all(|s| has(s, c)) {
                return Ok(c.clone());
            }
        }
        let missing = sides
            .iter()
            .find(|s| !candidates.iter().any(|c| has(s, c)))
            .unwrap_or(&sides[0]);
        Err(SplitError::input(
            missing.dataset.root(),
            format!(
                "no text column `{}` to audit; name one with --text-column",
                candidates.join("` or `")
            ),
        ))
    }

    fn columns_of<'a>(&self, batch: &'a RecordBatch, text: &str, path: &Path) -> Result<Cols<'a>> {
        let id = self
            .columns
            .ids
            .iter()
            .find(|c| batch.column_by_name(c).is_some())
            .map(|c| StrColumn::of(batch, c, path))
            .transpose()?;
        let source = match batch.column_by_name(&self.config.source_column) {
            Some(_) => Some(StrColumn::of(batch, &self.config.source_column, path)?),
            None => None,
        };
        Ok(Cols {
            text: StrColumn::of(batch, text, path)?,
            id,
            source,
        })
    }

    /// Calls `each` with the columns of every batch of `side`, the number
    /// of its first row in the dataset, and its rows.
    fn each_batch(
        &self,
        side: &AuditInput,
        text: &str,
        mut each: impl FnMut(&Cols<'_>, usize, usize) -> Result<()>,
    ) -> Result<()> {
        let path = side.dataset.root().to_path_buf();
        let names = self.read_columns(&side.dataset, text);
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut offset = 0usize;
        for batch in side.dataset.batches_of(&names, 4096)? {
            let batch = as_strings(batch?, &[], &path)?;
            let cols = self.columns_of(&batch, text, &path)?;
            let n = batch.num_rows();
            each(&cols, offset, n)?;
            offset += n;
        }
        Ok(())
    }

    /// Columns a side's batches are read with.
    fn read_columns(&self, dataset: &Dataset, text: &str) -> Vec<String> {
        let mut names = vec![text.to_string()];
        if let Some(id) = self
            .columns
            .ids
            .iter()
            .find(|c| dataset.schema().field_with_name(c).is_ok())
        {
            names.push(id.clone());
        }
        if dataset
            .schema()
            .field_with_name(&self.config.source_column)
            .is_ok()
        {
            names.push(self.config.source_column.clone());
        }
        names
    }

    fn bar(&self, total: u64, message: &'static str) -> Progress {
        if !self.progress {
            return Progress::hidden();
        }
        let bar = Progress::new(Some(total), "rows");
        bar.set_message(message);
        bar
    }

    /// Reads every eval row into the index.
    fn index_eval(&self, eval: &[AuditInput], text: &str) -> Result<EvalIndex> {
        let mut index = EvalIndex {
            bands: vec![FxHashMap::default(); self.bands],
            ..EvalIndex::default()
        };
        let total = eval.iter().map(|e| e.dataset.num_rows()).sum();
        let bar = self.bar(total, "audit 1/2 eval");
        for (set, side) in eval.iter().enumerate() {
            self.each_batch(side, text, |cols, offset, n| {
                #[allow(clippy::type_complexity)]
                let rows: Vec<
                    Option<(EvalRow, u64, Vec<u32>, Vec<u64>, Option<u64>)>,
                > = (0..n)
                    .into_par_iter()
                    .map(|i| {
                        if !side.takes(offset + i) {
                            return None;
                        }
                        let t = cols.text.get(i)?;
                        let norm = normalize(t);
                        let cjk = use_char_shingles(&norm);
                        let shingles = self.hasher.shingles(&norm, cjk);
                        let signature = self.hasher.signature(&shingles);
                        let grams = self.config.passage_grams(&norm);
                        let id = row_id(cols.id.as_ref(), i, offset);
                        let source = cols
                            .source
                            .as_ref()
                            .and_then(|s| s.get(i))
                            .map(|s| xxh3_64(s.as_bytes()));
                        let row = EvalRow {
                            id,
                            set: set as u32,
                            shingles,
                            ngrams: grams.len() as u32,
                        };
                        Some((row, xxh3_64(norm.as_bytes()), signature, grams, source))
                    })
                    .collect();
                for (row, exact, signature, grams, source) in rows.into_iter().flatten() {
                    let e = index.rows.len() as u32;
                    index.exact.entry(exact).or_default().push(e);
                    let mut buf = Vec::new();
                    for (band, bucket) in index.bands.iter_mut().enumerate() {
                        let key = band_key(&signature, band, self.band_rows, &mut buf);
                        bucket.entry(key).or_default().push(e);
                    }
                    index.signatures.extend_from_slice(&signature);
                    for g in grams {
                        let next = index.gram_rows.len() as u32;
                        let k = *index.grams.entry(g).or_insert(next);
                        if k == next {
                            index.gram_rows.push(Vec::new());
                        }
                        index.gram_rows[k as usize].push(e);
                    }
                    if let Some(s) = source {
                        index.sources.entry(s).or_default().push(e);
                    }
                    index.rows.push(row);
                }
                bar.inc(n as u64);
                Ok(())
            })?;
        }
        bar.finish();
        index.gram_train = vec![0; index.gram_rows.len()];
        Ok(index)
    }

    /// Streams the train rows past the index: the best exact, near and
    /// variant hits of each eval row, with the train row's id; counts the
    /// train rows of each eval n-gram, and marks the train rows holding one
    /// (per side, by row number) for [`Audit::rare_ngrams`].
    #[allow(clippy::type_complexity)]
    fn scan_train(
        &self,
        train: &[AuditInput],
        text: &str,
        index: &mut EvalIndex,
    ) -> Result<(Best, u64, Vec<FxHashSet<usize>>)> {
        let mut best = Best::new();
        let mut marked = vec![FxHashSet::default(); train.len()];
        let total = train.iter().map(|e| e.dataset.num_rows()).sum();
        let bar = self.bar(total, "audit 2/2 train");
        let mut train_rows = 0u64;
        for (k, side) in train.iter().enumerate() {
            self.each_batch(side, text, |cols, offset, n| {
                let idx: &EvalIndex = index;
                let found: Vec<(usize, Vec<Hit>, Vec<u32>)> = (0..n)
                    .into_par_iter()
                    .filter(|&i| side.takes(offset + i))
                    .map(|i| {
                        let (hits, grams) = self.hits(cols, i, idx);
                        (i, hits, grams)
                    })
                    .collect();
                train_rows += found.len() as u64;
                for (i, hits, grams) in found {
                    if !grams.is_empty() {
                        marked[k].insert(offset + i);
                        for g in grams {
                            index.gram_train[g as usize] += 1;
                        }
                    }
                    if !hits.is_empty() {
                        self.keep_best(&mut best, hits, &row_id(cols.id.as_ref(), i, offset));
                    }
                }
                bar.inc(n as u64);
                Ok(())
            })?;
        }
        bar.finish();
        Ok((best, train_rows, marked))
    }

    fn keep_best(&self, best: &mut Best, hits: Vec<Hit>, id: &str) {
        let keep = self.config.pairs_per_row.max(1);
        for hit in hits {
            let slot = best.entry((hit.eval, hit.kind)).or_default();
            slot.push((hit.similarity, id.to_string()));
            slot.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            slot.truncate(keep);
        }
    }

    /// The second look at the train rows that hold an eval n-gram: the
    /// n-grams they share with eval rows that are rare, counted per eval
    /// row.
    fn rare_ngrams(
        &self,
        train: &[AuditInput],
        text: &str,
        index: &EvalIndex,
        marked: &[FxHashSet<usize>],
        best: &mut Best,
    ) -> Result<()> {
        let max_rows = self.config.ngram_max_rows;
        let min_overlap = self.config.ngram_min_overlap;
        for (k, side) in train.iter().enumerate() {
            if marked[k].is_empty() {
                continue;
            }
            self.each_batch(side, text, |cols, offset, n| {
                let found: Vec<(usize, Vec<Hit>)> = (0..n)
                    .into_par_iter()
                    .filter(|&i| marked[k].contains(&(offset + i)))
                    .map(|i| {
                        let mut shared: FxHashMap<u32, u32> = FxHashMap::default();
                        for g in self.row_grams(cols.text.get(i).unwrap_or(""), index) {
                            if index.rare(g, max_rows) {
                                for &e in &index.gram_rows[g as usize] {
                                    *shared.entry(e).or_default() += 1;
                                }
                            }
                        }
                        let hits = shared
                            .into_iter()
                            .map(|(e, count)| Hit {
                                eval: e,
                                kind: 2,
                                similarity: f64::from(count)
                                    / f64::from(index.rows[e as usize].ngrams.max(1)),
                            })
                            .filter(|h| h.similarity >= min_overlap)
                            .collect();
                        (i, hits)
                    })
                    .collect();
                for (i, hits) in found {
                    self.keep_best(best, hits, &row_id(cols.id.as_ref(), i, offset));
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    /// The eval n-grams (by number) a text holds, of its own script's size.
    fn row_grams(&self, text: &str, index: &EvalIndex) -> Vec<u32> {
        self.config
            .passage_grams(&normalize(text))
            .into_iter()
            .filter_map(|g| index.grams.get(&g).copied())
            .collect()
    }

    /// The eval rows one train row matches exactly, nearly or by source,
    /// and the eval n-grams it holds.
    fn hits(&self, cols: &Cols<'_>, i: usize, index: &EvalIndex) -> (Vec<Hit>, Vec<u32>) {
        let mut hits = Vec::new();
        if let Some(source) = cols.source.as_ref().and_then(|s| s.get(i)) {
            for &e in index
                .sources
                .get(&xxh3_64(source.as_bytes()))
                .map_or(&[][..], Vec::as_slice)
            {
                hits.push(Hit {
                    eval: e,
                    kind: 3,
                    similarity: 1.0,
                });
            }
        }
        let Some(t) = cols.text.get(i) else {
            return (hits, Vec::new());
        };
        let norm = normalize(t);
        let exact = index
            .exact
            .get(&xxh3_64(norm.as_bytes()))
            .map_or(&[][..], Vec::as_slice);
        for &e in exact {
            hits.push(Hit {
                eval: e,
                kind: 0,
                similarity: 1.0,
            });
        }
        // Near duplicates: candidates from shared bands, estimated, checked.
        let cjk = use_char_shingles(&norm);
        let shingles = self.hasher.shingles(&norm, cjk);
        let signature = self.hasher.signature(&shingles);
        let num_perm = self.config.num_perm;
        let floor = self.config.near_threshold - 2.0 * CANDIDATE_MARGIN;
        let mut seen = FxHashSet::default();
        let mut buf = Vec::new();
        for (band, bucket) in index.bands.iter().enumerate() {
            let key = band_key(&signature, band, self.band_rows, &mut buf);
            for &e in bucket.get(&key).map_or(&[][..], Vec::as_slice) {
                if exact.contains(&e) || !seen.insert(e) {
                    continue;
                }
                let theirs = &index.signatures[e as usize * num_perm..(e as usize + 1) * num_perm];
                if estimate(&signature, theirs) < floor {
                    continue;
                }
                let similarity = exact_jaccard(&shingles, &index.rows[e as usize].shingles);
                if similarity >= self.config.near_threshold {
                    hits.push(Hit {
                        eval: e,
                        kind: 1,
                        similarity,
                    });
                }
            }
        }
        let grams = if index.grams.is_empty() {
            Vec::new()
        } else {
            self.row_grams(t, index)
        };
        (hits, grams)
    }

    /// Counts each eval row under its first kind, and the pairs of those.
    fn report(
        &self,
        index: &EvalIndex,
        eval: &[AuditInput],
        best: Best,
        train_rows: u64,
    ) -> AuditReport {
        let mut counts = AuditCounts {
            eval_rows: index.rows.len() as u64,
            ..AuditCounts::default()
        };
        let mut pairs = Vec::new();
        let mut leaked = FxHashSet::default();
        let mut counted: Option<u32> = None;
        for ((e, kind), matches) in best {
            // Keys come sorted by eval row, then kind: the first of exact,
            // near, ngram counts the row; variant counts on its own.
            if kind < 3 {
                if counted == Some(e) {
                    continue;
                }
                counted = Some(e);
            }
            match kind {
                0 => counts.exact += 1,
                1 => counts.near += 1,
                2 => counts.ngram += 1,
                _ => counts.variant += 1,
            }
            leaked.insert(e);
            let row = &index.rows[e as usize];
            for (similarity, train_id) in matches {
                pairs.push(LeakPair {
                    train_id,
                    eval_id: row.id.clone(),
                    eval_set: eval[row.set as usize].name.clone(),
                    kind: KINDS[kind as usize],
                    similarity,
                });
            }
        }
        counts.eval_rows_leaked = leaked.len() as u64;
        AuditReport {
            counts,
            pairs,
            train_rows,
        }
    }
}

/// A row's id: its id column's value, else `#ROW` (its number in its
/// dataset, from 0).
fn row_id(ids: Option<&StrColumn<'_>>, i: usize, offset: usize) -> String {
    match ids.and_then(|c| c.get(i)) {
        Some(id) => id.to_string(),
        None => format!("#{}", offset + i),
    }
}

/// The schema of the pairs dataset `ore audit --output` writes.
pub fn pairs_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("train_id", DataType::Utf8, false),
        Field::new("eval_id", DataType::Utf8, false),
        Field::new("eval_set", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("similarity", DataType::Float64, false),
    ]))
}

/// The pairs as one batch of [`pairs_schema`].
pub fn pairs_batch(pairs: &[LeakPair]) -> Result<RecordBatch> {
    let col = |f: fn(&LeakPair) -> &str| {
        Arc::new(StringArray::from_iter_values(pairs.iter().map(f))) as arrow_array::ArrayRef
    };
    RecordBatch::try_new(
        pairs_schema(),
        vec![
            col(|p| &p.train_id),
            col(|p| &p.eval_id),
            col(|p| &p.eval_set),
            col(|p| p.kind),
            Arc::new(Float64Array::from_iter_values(
                pairs.iter().map(|p| p.similarity),
            )),
        ],
    )
    .map_err(|e| SplitError::Query(format!("pairs: {e}")))
}

/// Writes the pairs as a dataset at `dir` (replaced atomically).
pub fn write_pairs(dir: &Path, pairs: &[LeakPair]) -> Result<u64> {
    let mut writer = DatasetWriter::create(dir, pairs_schema(), WriteOptions::default())?;
    writer.write(&pairs_batch(pairs)?)?;
    Ok(writer.commit()?)
}
