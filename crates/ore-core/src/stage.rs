//! [`StageOutput`]: how a stage writes its dataset, its `_rejects/` and its
//! manifest, committed together or not at all.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::dataset::{
    BackgroundWriter, Dataset, ParallelEncoder, PartInfo, PartWriter, REJECTS_DIR, RowGroupSource,
    Staging, WriteOptions,
};
use crate::error::{Error, IoContext, Result};
use crate::manifest::{GIT_REVISION, InputRecord, Manifest, ORE_VERSION, RowCounts, config_hash};

/// Column added to rejected rows: why the row was dropped (`http_404`,
/// `too_short`, `near_duplicate`, …).
pub const REJECT_REASON: &str = "reject_reason";
/// Column added to rejected rows: optional detail (the kept duplicate's id, …).
pub const REJECT_DETAIL: &str = "reject_detail";

/// What identifies one run of a stage in its manifest.
#[derive(Debug, Clone)]
pub struct StageInfo {
    pub stage: String,
    /// The stage's config section after defaults (any `Serialize` config).
    pub config: serde_json::Value,
    pub seed: u64,
    pub shard: Option<String>,
}

impl StageInfo {
    pub fn new(stage: impl Into<String>, config: &impl serde::Serialize, seed: u64) -> Self {
        Self {
            stage: stage.into(),
            config: serde_json::to_value(config).unwrap_or(serde_json::Value::Null),
            seed,
            shard: None,
        }
    }

    /// The same, for shard `shard` of a sharded run (recorded as `K/N`).
    pub fn with_shard(mut self, shard: Option<crate::shard::Shard>) -> Self {
        self.shard = shard.map(|s| s.to_string());
        self
    }
}

/// The output of one stage run.
///
/// Every input row must end up either written or rejected with a reason
/// ([`StageOutput::reject`]); [`StageOutput::commit`] refuses to commit
/// when the counts do not add up. Dropping the value without committing
/// discards everything written.
///
/// Kept rows are written one of three ways, which a stage may mix (the rows
/// stay in the order given):
/// - [`StageOutput::write`] streams them: encoded and compressed on a
///   background thread as they come, which suits a stage that produces
///   rows as it goes;
/// - [`StageOutput::write_parallel`] encodes whole row groups on the rayon
///   pool side by side, for a stage that produces its output in a burst;
/// - [`StageOutput::write_from`] makes one output row group of the rows of
///   one input row group, copying the columns the stage passes through
///   unchanged byte for byte instead of encoding them again.
#[derive(Debug)]
pub struct StageOutput {
    // Fields drop in order: the writer thread stops before the staging
    // folder is removed.
    out: BackgroundWriter,
    /// The sub-datasets that hold the kept rows of a stage whose output is
    /// several datasets side by side ([`StageOutput::create_subsets`]).
    subsets: Vec<(String, BackgroundWriter)>,
    writing: Writing,
    staging: Staging,
    rejects: Option<PartWriter>,
    /// The files of `_rejects/` once [`StageOutput::close_rejects`] closed it.
    closed_rejects: Option<Vec<PartInfo>>,
    /// Extra datasets committed with the output (`_vocab/`, …).
    sides: Vec<(String, PartWriter)>,
    opts: WriteOptions,
    counts: RowCounts,
    info: StageInfo,
    /// Inputs, each with the thread hashing its content unless the hash
    /// was known.
    inputs: Vec<(InputRecord, Option<std::thread::JoinHandle<Result<String>>>)>,
    summary: serde_json::Map<String, serde_json::Value>,
    started: Instant,
    started_at: SystemTime,
}

/// How the kept rows are being written at the moment.
#[derive(Debug)]
enum Writing {
    Streaming,
    /// Row groups encoded on the pool ([`StageOutput::write_parallel`]).
    Parallel(ParallelEncoder),
    /// An output row group made from an input one
    /// ([`StageOutput::write_from`]), with the rows written to it so far.
    FromGroup {
        source: RowGroupSource,
        rows: usize,
    },
}

impl StageOutput {
    pub fn create(
        target: impl AsRef<Path>,
        schema: SchemaRef,
        info: StageInfo,
        opts: WriteOptions,
    ) -> Result<Self> {
        Self::create_subsets(target, schema, &[], info, opts)
    }

    /// An output whose kept rows are written into sub-datasets named
    /// `names` (`split/train`, `split/valid`, `split/test`), each a folder of
    /// part files of `schema`, with [`StageOutput::write_subset`]. The
    /// manifest, `_rejects/` and side datasets stay at the top, and a reader
    /// of the top folder reads every sub-dataset. With no names, this is
    /// [`StageOutput::create`].
    pub fn create_subsets(
        target: impl AsRef<Path>,
        schema: SchemaRef,
        names: &[&str],
        info: StageInfo,
        opts: WriteOptions,
    ) -> Result<Self> {
        let staging = Staging::new(target)?;
        let mut main = PartWriter::new(staging.path(), schema.clone(), opts.clone())?;
        if !names.is_empty() {
            main = main.without_empty_part();
        }
        let out = BackgroundWriter::spawn(main);
        let subsets = names
            .iter()
            .map(|name| {
                let dir = staging.path().join(name);
                let writer = PartWriter::new(dir, schema.clone(), opts.clone())?;
                Ok((name.to_string(), BackgroundWriter::spawn(writer)))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            out,
            writing: Writing::Streaming,
            staging,
            rejects: None,
            closed_rejects: None,
            sides: Vec::new(),
            subsets,
            opts,
            counts: RowCounts::default(),
            info,
            inputs: Vec::new(),
            summary: serde_json::Map::new(),
            started: Instant::now(),
            started_at: SystemTime::now(),
        })
    }

    /// Records an input dataset (path, content hash, rows) in the manifest.
    /// Rows are counted as they are read, with [`StageOutput::count_input`].
    /// The content is hashed on a thread of its own, so that the stage does
    /// not wait for a read of its whole input before it starts.
    pub fn add_input(&mut self, dataset: &Dataset) -> Result<()> {
        let record = InputRecord {
            path: dataset.root().to_path_buf(),
            content_hash: String::new(),
            // A shard records the rows of its whole input.
            rows: dataset.whole_rows(),
        };
        let dataset = dataset.clone();
        let hashing = std::thread::Builder::new()
            .name("ore-input-hash".into())
            .spawn(move || dataset.content_hash())
            .at(&record.path)?;
        self.inputs.push((record, Some(hashing)));
        Ok(())
    }

    /// Records an input file (a corpus an importer reads) with its content
    /// hash; `rows` is what the stage read from it.
    pub fn add_input_file(&mut self, path: &Path, rows: u64) -> Result<()> {
        let hash = crate::manifest::file_hash(path)?;
        self.add_input_hash(path, hash, rows);
        Ok(())
    }

    /// Records an input whose content hash the stage already knows (a
    /// model folder's, from its manifest).
    pub fn add_input_hash(&mut self, path: &Path, content_hash: String, rows: u64) {
        let record = InputRecord {
            path: path.to_path_buf(),
            content_hash,
            rows,
        };
        self.inputs.push((record, None));
    }

    /// Dates the run from an earlier start (a stage that gathers its rows
    /// before it creates the output, like the crawler), so the manifest's
    /// `started_at` and `wall_time_s` cover the whole run.
    pub fn set_started(&mut self, started: Instant) {
        let ago = started.elapsed();
        self.started = started;
        self.started_at = SystemTime::now()
            .checked_sub(ago)
            .unwrap_or(self.started_at);
    }

    /// Counts rows read (or, for the crawler, URLs tried).
    pub fn count_input(&mut self, rows: u64) {
        self.counts.input += rows;
    }

    /// Counts rows created by the stage (augmented variants).
    pub fn count_generated(&mut self, rows: u64) {
        self.counts.generated += rows;
    }

    /// Adds a stage-specific figure to the manifest's `summary`.
    pub fn set_summary(&mut self, key: &str, value: serde_json::Value) {
        self.summary.insert(key.to_string(), value);
    }

    pub fn counts(&self) -> &RowCounts {
        &self.counts
    }

    /// An unnamed scratch file in the staging folder, on the output's disk
    /// (not a RAM-backed /tmp): a stage spills what it must read back later
    /// into it. The file has no name, so it vanishes when closed, also when
    /// the process is killed.
    pub fn scratch_file(&self) -> Result<std::fs::File> {
        tempfile::tempfile_in(self.staging.path()).at(self.staging.path())
    }

    /// Writes kept rows, encoded and compressed on a background thread as
    /// they come.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.settle()?;
        self.out.write(batch)?;
        self.counts.output += batch.num_rows() as u64;
        Ok(())
    }

    /// Writes kept rows into sub-dataset `name` of an output made by
    /// [`StageOutput::create_subsets`], encoded on that sub-dataset's own
    /// background thread.
    pub fn write_subset(&mut self, name: &str, batch: &RecordBatch) -> Result<()> {
        let Some((_, writer)) = self.subsets.iter_mut().find(|(n, _)| n == name) else {
            return Err(Error::arrow(
                self.staging.target(),
                format!("no sub-dataset `{name}` in this output"),
            ));
        };
        writer.write(batch)?;
        self.counts.output += batch.num_rows() as u64;
        Ok(())
    }

    /// Writes kept rows whose row groups are encoded on the rayon pool,
    /// several side by side and each one's columns in parallel, while the
    /// stage goes on: for a stage that writes its whole output in a burst
    /// (clean writes nothing until its duplicate clusters are known), which
    /// would otherwise leave one thread compressing while the others idle.
    /// Where the row groups are cut depends only on the rows, so the files
    /// are the same bytes whatever the number of threads.
    pub fn write_parallel(&mut self, batch: RecordBatch) -> Result<()> {
        if !matches!(self.writing, Writing::Parallel(_)) {
            self.settle()?;
            self.writing = Writing::Parallel(self.out.parallel_encoder());
        }
        let rows = batch.num_rows() as u64;
        if let Writing::Parallel(encoder) = &mut self.writing {
            let out = &mut self.out;
            encoder.push(batch, |group| out.write_encoded(group))?;
        }
        self.counts.output += rows;
        Ok(())
    }

    /// Writes kept rows made from rows of the input row group `source`
    /// ([`Dataset::row_group_source`]), in order. The rows of consecutive
    /// calls with the same source make one output row group, whose columns
    /// that `source` copies (matched by name, and where their Parquet types
    /// are the ones this output writes) are the input's chunks, byte for
    /// byte; the batch's values of those columns are not read. Such a group
    /// must get every row of its input group: closing it checks. A source
    /// that copies nothing only keeps the input's row-group bounds, closing
    /// a group early at the output's row bound.
    ///
    /// The group closes when a call names another source, rows are written
    /// another way, or the output commits.
    pub fn write_from(&mut self, batch: &RecordBatch, source: &RowGroupSource) -> Result<()> {
        let n = batch.num_rows();
        let max_rows = self.opts.row_group_rows.max(1);
        match &mut self.writing {
            Writing::FromGroup { source: open, rows } if open.same(source) => {
                if !source.copies_columns() && *rows > 0 && *rows + n > max_rows {
                    self.out.end_group()?;
                    self.out.start_group(Vec::new())?;
                    *rows = 0;
                }
            }
            _ => {
                self.settle()?;
                let copies = source.copies_for(self.out.schema());
                self.out.start_group(copies)?;
                self.writing = Writing::FromGroup {
                    source: source.clone(),
                    rows: 0,
                };
            }
        }
        self.out.write_in_group(batch)?;
        if let Writing::FromGroup { rows, .. } = &mut self.writing {
            *rows += n;
        }
        self.counts.output += n as u64;
        Ok(())
    }

    /// Ends the way rows were being written, so that the next rows, written
    /// another way, follow them: the pool's row groups are waited for, an
    /// open input-made group is closed.
    fn settle(&mut self) -> Result<()> {
        match std::mem::replace(&mut self.writing, Writing::Streaming) {
            Writing::Streaming => Ok(()),
            Writing::Parallel(encoder) => {
                let out = &mut self.out;
                encoder.finish(|group| out.write_encoded(group))
            }
            Writing::FromGroup { .. } => self.out.end_group(),
        }
    }

    /// Starts encoding the rows [`StageOutput::write_parallel`] has not yet
    /// put in a row group, as a last group, without waiting for it.
    fn flush_parallel(&mut self) {
        if let Writing::Parallel(encoder) = &mut self.writing {
            encoder.flush();
        }
    }

    /// Writes dropped rows to `_rejects/` with one reason (and optional
    /// detail) per row. All rejected batches of a stage share one schema.
    pub fn reject<S: AsRef<str>>(
        &mut self,
        batch: &RecordBatch,
        reasons: &[S],
        details: Option<&[Option<String>]>,
    ) -> Result<()> {
        let n = batch.num_rows();
        if reasons.len() != n || details.is_some_and(|d| d.len() != n) {
            return Err(Error::arrow(
                self.staging.target(),
                format!("reject: {n} rows but {} reasons", reasons.len()),
            ));
        }
        if n == 0 {
            return Ok(());
        }
        if self.closed_rejects.is_some() {
            return Err(Error::arrow(
                self.staging.target(),
                format!("reject: {n} rows after the rejects were closed"),
            ));
        }
        let rejected = with_reject_columns(batch, reasons, details)
            .map_err(|e| Error::arrow(self.staging.target(), e))?;
        let schema = rejected.schema();
        if self.rejects.is_none() {
            let dir = self.staging.path().join(REJECTS_DIR);
            self.rejects = Some(PartWriter::new(dir, schema, self.opts.clone())?);
        }
        if let Some(writer) = &mut self.rejects {
            writer.write(&rejected)?;
        }
        for r in reasons {
            *self
                .counts
                .rejected_by_reason
                .entry(r.as_ref().to_string())
                .or_default() += 1;
        }
        self.counts.rejected += n as u64;
        Ok(())
    }

    /// Writes rows of a side dataset `name` (a folder inside the output,
    /// such as `_vocab`, committed together with it). Names should start
    /// with `_` so that readers of the main dataset skip them.
    pub fn write_side(&mut self, name: &str, batch: &RecordBatch) -> Result<()> {
        let index = match self.sides.iter().position(|(n, _)| n == name) {
            Some(i) => i,
            None => {
                let dir = self.staging.path().join(name);
                let writer = PartWriter::new(dir, batch.schema(), self.opts.clone())?;
                self.sides.push((name.to_string(), writer));
                self.sides.len() - 1
            }
        };
        self.sides[index].1.write(batch)
    }

    /// Writes a file (a report, a figure) into the output, committed with
    /// it; `name` may name a sub-folder (`_report/report.md`). Names should
    /// start with `_` so that readers of the dataset skip them.
    pub fn write_file(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        let path = self.staging.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).at(parent)?;
        }
        std::fs::write(&path, bytes).map_err(|source| crate::Error::Io { path, source })
    }

    /// Rejects every row of `batch` for the same reason.
    pub fn reject_all(
        &mut self,
        batch: &RecordBatch,
        reason: &str,
        detail: Option<&str>,
    ) -> Result<()> {
        let reasons = vec![reason; batch.num_rows()];
        let details = detail.map(|d| vec![Some(d.to_string()); batch.num_rows()]);
        self.reject(batch, &reasons, details.as_deref())
    }

    /// Encodes and closes `_rejects/` now, for a stage that rejects no more
    /// rows and has this thread free while others finish the output (the
    /// last row groups of [`StageOutput::write_parallel`] are encoded on the
    /// pool meanwhile). Rejecting rows afterwards is an error.
    pub fn close_rejects(&mut self) -> Result<()> {
        self.flush_parallel();
        let parts = match self.rejects.take() {
            Some(writer) => writer.finish()?,
            None => Vec::new(),
        };
        self.closed_rejects
            .get_or_insert_with(Vec::new)
            .extend(parts);
        Ok(())
    }

    /// Checks the row balance, closes every file, writes the manifest and
    /// moves the whole output into place.
    pub fn commit(mut self) -> Result<Manifest> {
        self.counts.check(&self.info.stage)?;
        let staging_dir = self.staging.path().to_path_buf();
        // The rejects and side outputs are closed on this thread while the
        // pool and the main output's writer thread finish its last row
        // groups.
        self.flush_parallel();
        let mut extra_files: Vec<String> = self
            .closed_rejects
            .iter()
            .flatten()
            .map(|part| relative(&part.path, &staging_dir))
            .collect();
        let extra = self
            .rejects
            .take()
            .into_iter()
            .chain(std::mem::take(&mut self.sides).into_iter().map(|(_, w)| w));
        for writer in extra {
            for part in writer.finish()? {
                extra_files.push(relative(&part.path, &staging_dir));
            }
        }
        self.settle()?;
        let mut parts = self.out.finish()?;
        for (_, writer) in std::mem::take(&mut self.subsets) {
            parts.extend(writer.finish()?);
        }
        let output_hash =
            crate::manifest::hash_files(&staging_dir, parts.iter().map(|p| p.path.as_path()))?;
        let mut files: Vec<String> = parts
            .iter()
            .map(|part| relative(&part.path, &staging_dir))
            .collect();
        files.extend(extra_files);
        let inputs = self
            .inputs
            .into_iter()
            .map(|(mut record, hashing)| {
                let Some(hashing) = hashing else {
                    return Ok(record);
                };
                record.content_hash = hashing.join().unwrap_or_else(|_| {
                    Err(Error::Io {
                        path: record.path.clone(),
                        source: std::io::Error::other("hashing the input panicked"),
                    })
                })?;
                Ok(record)
            })
            .collect::<Result<Vec<_>>>()?;
        crate::shard::fault_point(&self.info, self.staging.target());
        let manifest = Manifest {
            stage: self.info.stage.clone(),
            ore_version: ORE_VERSION.to_string(),
            git_revision: GIT_REVISION.to_string(),
            config_hash: config_hash(&self.info.config),
            config: self.info.config,
            inputs,
            rows: self.counts,
            files,
            output_hash: Some(output_hash),
            started_at: humantime::format_rfc3339_seconds(self.started_at).to_string(),
            wall_time_s: self.started.elapsed().as_secs_f64(),
            seed: self.info.seed,
            shard: self.info.shard,
            summary: self.summary,
        };
        manifest.write(&staging_dir)?;
        self.staging.commit()?;
        Ok(manifest)
    }
}

/// `batch` as `_rejects/` rows: its columns (in the encodings ore's tables
/// give them, whoever wrote the input), then `reject_reason` and
/// `reject_detail`.
pub fn with_reject_columns<S: AsRef<str>>(
    batch: &RecordBatch,
    reasons: &[S],
    details: Option<&[Option<String>]>,
) -> std::result::Result<RecordBatch, arrow_schema::ArrowError> {
    let n = batch.num_rows();
    let reason: ArrayRef = Arc::new(StringArray::from_iter_values(
        reasons.iter().map(|r| r.as_ref()),
    ));
    let detail: ArrayRef = match details {
        Some(d) => Arc::new(StringArray::from(d.to_vec())),
        None => Arc::new(StringArray::new_null(n)),
    };
    let mut fields: Vec<Arc<Field>> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| Arc::new(crate::schema::adopt(f)))
        .collect();
    fields.push(Arc::new(Field::new(REJECT_REASON, DataType::Utf8, false)));
    fields.push(Arc::new(Field::new(REJECT_DETAIL, DataType::Utf8, true)));
    let mut columns = batch.columns().to_vec();
    columns.push(reason);
    columns.push(detail);
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

fn relative(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Counts of rejected rows by reason, read back from a dataset's `_rejects/`.
pub fn reject_counts(dataset_dir: impl AsRef<Path>) -> Result<BTreeMap<String, u64>> {
    let dir = dataset_dir.as_ref().join(REJECTS_DIR);
    let mut counts = BTreeMap::new();
    if !dir.is_dir() {
        return Ok(counts);
    }
    let rejects = Dataset::open(&dir)?;
    for batch in rejects.batches_of(&[REJECT_REASON], 8192)? {
        let batch = batch?;
        let reasons = batch
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| Error::arrow(&dir, "reject_reason is not a utf8 column"))?;
        for r in reasons.iter().flatten() {
            *counts.entry(r.to_string()).or_default() += 1;
        }
    }
    Ok(counts)
}
