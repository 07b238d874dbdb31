//! Streaming writers: [`PartWriter`] fills a folder with `part-NNNNN.parquet`
//! files; [`DatasetWriter`] adds the atomic commit for a standalone dataset.
//!
//! Row groups are encoded column by column, and the pool helps: once a row
//! group's rows are in, each of its columns becomes a job that the writer's
//! own thread works through, while idle rayon threads take jobs too (of this
//! row group or of the next ones). Finished row groups are appended in order,
//! so the bytes written do not depend on the number of threads, and a pool
//! busy with the stage's own work delays nothing.

use std::collections::{BTreeMap, VecDeque};
use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory, compute_leaves,
};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;

use super::staging::Staging;
use crate::error::{Error, IoContext, Result};

/// Top-level columns of whole documents, written without a dictionary.
const FREE_TEXT_COLUMNS: [&str; 2] = ["text", "html"];

/// Sizes and compression of the files a writer produces.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteOptions {
    /// Most rows in one row group.
    pub row_group_rows: usize,
    /// A row group is closed once its rows take this many bytes in memory
    /// (Arrow buffers, before encoding). This bounds what the writer holds,
    /// and gives the encoder several row groups to work on at once.
    pub row_group_bytes: usize,
    /// Most rows in one part file.
    pub file_rows: usize,
    /// A part file is closed once this many bytes were written to it.
    pub file_bytes: u64,
    /// zstd level (1–22).
    pub zstd_level: i32,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self {
            row_group_rows: 64 * 1024,
            row_group_bytes: 32 << 20,
            file_rows: 1_000_000,
            file_bytes: 256 << 20,
            zstd_level: 3,
        }
    }
}

/// One written part file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartInfo {
    pub path: PathBuf,
    pub rows: u64,
}

/// Writes record batches into consecutive `part-NNNNN.parquet` files of one
/// folder, splitting row groups and files at the configured bounds.
///
/// At least one part file is always written (possibly empty), so that the
/// schema of an empty dataset is still known to readers.
pub struct PartWriter {
    dir: PathBuf,
    schema: SchemaRef,
    props: WriterProperties,
    opts: WriteOptions,
    /// Rows of the row group being filled.
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    pending_bytes: usize,
    /// Rows sealed since the last file split by row count.
    file_rows_sealed: u64,
    encoder: Arc<Encoder>,
    /// Sealed row groups not yet appended: their rows and whether the part
    /// file ends after them, oldest first.
    sealed: VecDeque<(usize, bool)>,
    next_seq: u64,
    current: Option<OpenPart>,
    parts: Vec<PartInfo>,
    rows: u64,
}

struct OpenPart {
    writer: SerializedFileWriter<BufWriter<File>>,
    path: PathBuf,
    rows: u64,
}

impl std::fmt::Debug for PartWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartWriter")
            .field("dir", &self.dir)
            .field("parts", &self.parts.len())
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl PartWriter {
    /// Starts writing into `dir`, which is created if missing.
    pub fn new(dir: impl AsRef<Path>, schema: SchemaRef, opts: WriteOptions) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir).at(&dir)?;
        let level =
            ZstdLevel::try_new(opts.zstd_level).map_err(|e| Error::parquet(&dir, None, e))?;
        let mut props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(level))
            .set_max_row_group_row_count(Some(opts.row_group_rows.max(1)))
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_created_by(format!("ore {}", env!("CARGO_PKG_VERSION")));
        // Documents are nearly all distinct: a dictionary of them only costs
        // hashing until the writer gives up on it, and the space of a
        // dictionary page as big as the plain values.
        for field in schema.fields() {
            if FREE_TEXT_COLUMNS.contains(&field.name().as_str()) {
                props = props
                    .set_column_dictionary_enabled(ColumnPath::from(field.name().as_str()), false);
            }
        }
        let props = props.build();
        // Column writers depend only on the schema and the properties, which
        // every part file shares: one factory serves them all.
        let probe = ArrowWriter::try_new(std::io::sink(), schema.clone(), Some(props.clone()))
            .map_err(|e| Error::parquet(&dir, None, e))?;
        let (_, factory) = probe
            .into_serialized_writer()
            .map_err(|e| Error::parquet(&dir, None, e))?;
        let encoder = Arc::new(Encoder {
            factory,
            leaves: schema
                .fields()
                .iter()
                .map(|f| leaf_count(f.data_type()))
                .collect(),
            schema: schema.clone(),
            state: Mutex::new(EncoderState::default()),
            changed: Condvar::new(),
        });
        Ok(Self {
            dir,
            schema,
            props,
            opts,
            pending: Vec::new(),
            pending_rows: 0,
            pending_bytes: 0,
            file_rows_sealed: 0,
            encoder,
            sealed: VecDeque::new(),
            next_seq: 0,
            current: None,
            parts: Vec::new(),
            rows: 0,
        })
    }

    /// The schema every batch must have.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The folder the part files go to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Appends a batch. Its schema must equal the writer's (field names, types
    /// and nullability; metadata is ignored).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.schema().fields() != self.schema.fields() {
            return Err(Error::arrow(
                &self.dir,
                format!(
                    "batch schema does not match the dataset schema\n  dataset: {:?}\n  batch:   {:?}",
                    self.schema.fields(),
                    batch.schema().fields()
                ),
            ));
        }
        let file_rows = self.opts.file_rows.max(1) as u64;
        let group_rows = self.opts.row_group_rows.max(1);
        let mut offset = 0;
        while offset < batch.num_rows() {
            let room = ((file_rows - self.file_rows_sealed) as usize - self.pending_rows)
                .min(group_rows - self.pending_rows);
            let mut take = room.min(batch.num_rows() - offset);
            let mut slice = batch.slice(offset, take);
            let mut bytes = slice_bytes(&slice);
            let room_bytes = self.opts.row_group_bytes.saturating_sub(self.pending_bytes);
            if bytes > room_bytes && take > 1 {
                // Cut where the row group reaches its size, supposing rows of
                // the slice are alike in size.
                let fits = (take as u128 * room_bytes as u128).div_ceil(bytes as u128);
                take = (fits as usize).clamp(1, take);
                slice = batch.slice(offset, take);
                bytes = slice_bytes(&slice);
            }
            self.pending_bytes += bytes;
            self.pending.push(slice);
            self.pending_rows += take;
            offset += take;
            self.rows += take as u64;
            let file_full = self.file_rows_sealed + self.pending_rows as u64 >= file_rows;
            if file_full
                || self.pending_rows >= group_rows
                || self.pending_bytes >= self.opts.row_group_bytes
            {
                self.seal(file_full)?;
            }
        }
        Ok(())
    }

    /// Closes the last file and returns every part written.
    pub fn finish(mut self) -> Result<Vec<PartInfo>> {
        if self.pending_rows > 0 {
            self.seal(false)?;
        }
        self.drain(0)?;
        if self.parts.is_empty() && self.current.is_none() {
            self.open_part()?;
        }
        self.close_part()?;
        Ok(std::mem::take(&mut self.parts))
    }

    /// Hands the pending rows to the encoder as one row group, then appends
    /// whatever is finished.
    fn seal(&mut self, ends_file: bool) -> Result<()> {
        let batches = Arc::new(std::mem::take(&mut self.pending));
        let rows = std::mem::take(&mut self.pending_rows);
        self.pending_bytes = 0;
        self.file_rows_sealed = if ends_file {
            0
        } else {
            self.file_rows_sealed + rows as u64
        };
        let jobs = self.encoder.submit(self.next_seq, batches)?;
        self.next_seq += 1;
        self.sealed.push_back((rows, ends_file));
        for _ in 0..jobs.min(rayon::current_num_threads()) {
            let encoder = Arc::clone(&self.encoder);
            rayon::spawn(move || encoder.help());
        }
        // Row groups whose last columns are still with the pool may wait
        // while this thread goes on; a few at most, to bound memory.
        self.drain(rayon::current_num_threads())
    }

    /// Encodes queued columns on this thread, and appends finished row
    /// groups in order, until the queue is empty and at most `waiting` row
    /// groups are unfinished.
    fn drain(&mut self, waiting: usize) -> Result<()> {
        loop {
            let seq = self.next_seq - self.sealed.len() as u64;
            let mut state = self.encoder.lock();
            if let Some(done) = state.done.remove(&seq) {
                drop(state);
                let (rows, ends_file) = self.sealed.pop_front().expect("a sealed row group");
                self.append(done?, rows, ends_file)?;
                continue;
            }
            if let Some(job) = state.queue.pop_front() {
                drop(state);
                self.encoder.run(job);
            } else if self.sealed.len() <= waiting {
                return Ok(());
            } else {
                // The oldest row group's last columns are on the pool.
                drop(
                    self.encoder
                        .changed
                        .wait(state)
                        .unwrap_or_else(|e| e.into_inner()),
                );
            }
        }
    }

    fn append(
        &mut self,
        chunks: Vec<ArrowColumnChunk>,
        rows: usize,
        ends_file: bool,
    ) -> Result<()> {
        let part = self.open_part()?;
        let path = part.path.clone();
        let parquet = |e| Error::parquet(&path, None, e);
        let mut group = part.writer.next_row_group().map_err(parquet)?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut group).map_err(parquet)?;
        }
        group.close().map_err(parquet)?;
        part.rows += rows as u64;
        if ends_file || part.writer.bytes_written() as u64 >= self.opts.file_bytes {
            self.close_part()?;
        }
        Ok(())
    }

    fn open_part(&mut self) -> Result<&mut OpenPart> {
        if self.current.is_none() {
            let path = self
                .dir
                .join(format!("part-{:05}.parquet", self.parts.len()));
            let file = File::create(&path).at(&path)?;
            let writer = ArrowWriter::try_new(
                BufWriter::with_capacity(1 << 20, file),
                self.schema.clone(),
                Some(self.props.clone()),
            )
            .and_then(ArrowWriter::into_serialized_writer)
            .map_err(|e| Error::parquet(&path, None, e))?
            .0;
            self.current = Some(OpenPart {
                writer,
                path,
                rows: 0,
            });
        }
        Ok(self.current.as_mut().expect("part opened above"))
    }

    fn close_part(&mut self) -> Result<()> {
        let Some(part) = self.current.take() else {
            return Ok(());
        };
        let OpenPart { writer, path, rows } = part;
        let buffered = writer
            .into_inner()
            .map_err(|e| Error::parquet(&path, None, e))?;
        let file = buffered
            .into_inner()
            .map_err(|e| Error::io(&path, e.into_error()))?;
        file.sync_all().at(&path)?;
        self.parts.push(PartInfo { path, rows });
        Ok(())
    }
}

/// One column of one row group to encode: the writers of its leaves.
struct Job {
    seq: u64,
    field: usize,
    writers: Vec<ArrowColumnWriter>,
    batches: Arc<Vec<RecordBatch>>,
}

/// A row group whose columns are being encoded.
struct Group {
    /// The chunks of each field, once encoded.
    fields: Vec<Option<Vec<ArrowColumnChunk>>>,
    left: usize,
    error: Option<Error>,
}

/// Columns waiting to be encoded, row groups being encoded, and row groups
/// encoded but not yet appended.
#[derive(Default)]
struct EncoderState {
    queue: VecDeque<Job>,
    groups: BTreeMap<u64, Group>,
    done: BTreeMap<u64, Result<Vec<ArrowColumnChunk>>>,
}

/// Encodes columns, on whichever thread asks: pool threads through
/// [`Encoder::help`], the writer's own thread in [`PartWriter::drain`].
struct Encoder {
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    /// Parquet leaf columns of each field, in order.
    leaves: Vec<usize>,
    state: Mutex<EncoderState>,
    changed: Condvar,
}

impl Encoder {
    fn lock(&self) -> MutexGuard<'_, EncoderState> {
        // Encoding runs outside the lock, so a poisoned lock held no
        // half-made change.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues the columns of row group `seq`; returns how many jobs that is.
    fn submit(&self, seq: u64, batches: Arc<Vec<RecordBatch>>) -> Result<usize> {
        let mut writers = self
            .factory
            .create_column_writers(0)
            .map_err(|e| Error::parquet(Path::new("<row group encoder>"), None, e))?
            .into_iter();
        let jobs: Vec<Job> = self
            .leaves
            .iter()
            .enumerate()
            .map(|(field, &n)| Job {
                seq,
                field,
                writers: writers.by_ref().take(n).collect(),
                batches: Arc::clone(&batches),
            })
            .collect();
        let n = jobs.len();
        let mut state = self.lock();
        state.groups.insert(
            seq,
            Group {
                fields: (0..n).map(|_| None).collect(),
                left: n,
                error: None,
            },
        );
        state.queue.extend(jobs);
        Ok(n)
    }

    /// Encodes one queued column, if any is left.
    fn help(&self) {
        let job = self.lock().queue.pop_front();
        if let Some(job) = job {
            self.run(job);
        }
    }

    fn run(&self, job: Job) {
        let Job {
            seq,
            field,
            writers,
            batches,
        } = job;
        let encoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.encode(field, writers, &batches)
        }))
        .unwrap_or_else(|_| {
            Err(parquet::errors::ParquetError::General(
                "encoding a column panicked".into(),
            ))
        });
        drop(batches);
        let mut state = self.lock();
        let group = state.groups.get_mut(&seq).expect("a submitted row group");
        match encoded {
            Ok(chunks) => group.fields[field] = Some(chunks),
            Err(e) => {
                group.error = Some(Error::parquet(
                    Path::new(&format!("<column {}>", self.schema.field(field).name())),
                    None,
                    e,
                ));
            }
        }
        group.left -= 1;
        if group.left == 0 {
            let group = state.groups.remove(&seq).expect("a submitted row group");
            let result = match group.error {
                Some(e) => Err(e),
                None => Ok(group.fields.into_iter().flatten().flatten().collect()),
            };
            state.done.insert(seq, result);
            drop(state);
            self.changed.notify_all();
        }
    }

    /// The chunks of one field's leaves over a row group's batches.
    fn encode(
        &self,
        field: usize,
        mut writers: Vec<ArrowColumnWriter>,
        batches: &[RecordBatch],
    ) -> parquet::errors::Result<Vec<ArrowColumnChunk>> {
        let arrow_field = self.schema.field(field);
        for batch in batches {
            let leaves = compute_leaves(arrow_field, batch.column(field))?;
            for (writer, leaf) in writers.iter_mut().zip(&leaves) {
                writer.write(leaf)?;
            }
        }
        writers.into_iter().map(ArrowColumnWriter::close).collect()
    }
}

/// Parquet leaf columns an Arrow type becomes.
fn leaf_count(data_type: &DataType) -> usize {
    match data_type {
        DataType::Struct(fields) => fields.iter().map(|f| leaf_count(f.data_type())).sum(),
        DataType::List(item)
        | DataType::LargeList(item)
        | DataType::ListView(item)
        | DataType::LargeListView(item)
        | DataType::FixedSizeList(item, _)
        | DataType::Map(item, _) => leaf_count(item.data_type()),
        DataType::Dictionary(_, value) => leaf_count(value),
        DataType::RunEndEncoded(_, values) => leaf_count(values.data_type()),
        _ => 1,
    }
}

/// Bytes a batch's rows take in memory (only the sliced part of shared
/// buffers).
fn slice_bytes(batch: &RecordBatch) -> usize {
    batch
        .columns()
        .iter()
        .map(|c| {
            c.to_data()
                .get_slice_memory_size()
                .unwrap_or_else(|_| c.get_array_memory_size())
        })
        .sum()
}

/// A standalone dataset: part files written into a staging folder and moved
/// onto `target` by [`DatasetWriter::commit`]. Dropping it uncommitted (an
/// error, a panic) leaves whatever was at `target` untouched.
#[derive(Debug)]
pub struct DatasetWriter {
    staging: Staging,
    parts: PartWriter,
}

impl DatasetWriter {
    pub fn create(target: impl AsRef<Path>, schema: SchemaRef, opts: WriteOptions) -> Result<Self> {
        let staging = Staging::new(target)?;
        let parts = PartWriter::new(staging.path(), schema, opts)?;
        Ok(Self { staging, parts })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.parts.write(batch)
    }

    pub fn rows(&self) -> u64 {
        self.parts.rows()
    }

    /// Closes the files and moves the dataset into place. Returns the number
    /// of rows written.
    pub fn commit(self) -> Result<u64> {
        let rows = self.parts.rows();
        self.parts.finish()?;
        self.staging.commit()?;
        Ok(rows)
    }
}
