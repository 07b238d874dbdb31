//! Streaming writers: [`PartWriter`] fills a folder with `part-NNNNN.parquet`
//! files; [`DatasetWriter`] adds the atomic commit for a standalone dataset.

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;

use super::encode::{
    ENCODED_GROUP_BYTES, EncodedRowGroup, GroupChunk, RowGroupBuffer, RowGroupEncoder,
};
use super::staging::Staging;
use crate::error::{Error, IoContext, Result};

/// Sizes and compression of the files a writer produces.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteOptions {
    /// Most rows in one row group.
    pub row_group_rows: usize,
    /// A row group is closed once its buffered (encoded) size reaches this,
    /// so that long documents do not make the writer hold gigabytes.
    pub row_group_bytes: usize,
    /// Most rows in one part file.
    pub file_rows: usize,
    /// A part file is closed once this many bytes were written to it.
    pub file_bytes: u64,
    /// zstd level (1–22).
    pub zstd_level: i32,
    /// zstd level of list-of-string columns (`tokens`, `pos`). Their pages
    /// are mostly dictionary indices, which level 3 makes only 6% smaller
    /// than level 1, in 40% more time (People's Daily's `tokens`); free
    /// text and offsets gain 20–30% from it.
    pub list_zstd_level: i32,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self {
            row_group_rows: 64 * 1024,
            row_group_bytes: 64 << 20,
            file_rows: 1_000_000,
            file_bytes: 256 << 20,
            zstd_level: 3,
            list_zstd_level: 1,
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
/// schema of an empty dataset is still known to readers, unless
/// [`PartWriter::without_empty_part`] says otherwise.
pub struct PartWriter {
    dir: PathBuf,
    /// Whether [`PartWriter::finish`] writes an empty part when no row came.
    empty_part: bool,
    schema: SchemaRef,
    props: WriterProperties,
    opts: WriteOptions,
    encoder: RowGroupEncoder,
    current: Option<OpenPart>,
    parts: Vec<PartInfo>,
    rows: u64,
}

struct OpenPart {
    writer: PartFileWriter,
    path: PathBuf,
    rows: u64,
}

/// How the open part file is being filled.
enum PartFileWriter {
    /// Batches are encoded as they arrive.
    Streaming(ArrowWriter<BufWriter<File>>),
    /// Row groups encoded elsewhere are appended whole (see
    /// [`PartWriter::append_encoded`]).
    Appending(SerializedFileWriter<BufWriter<File>>),
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

/// Page size bound of list leaves (`tokens`, `token_starts`, …). Their
/// pages encode small (dictionary indices, bit-packed deltas): at the
/// default bound of 1 MiB, one page held all of a 5 MB input's offsets and
/// was compressed only when the stage closed its output, on the critical
/// path. Pages of 128 KiB are compressed as the stage goes.
const LIST_PAGE_BYTES: usize = 128 << 10;

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
        let list_level =
            ZstdLevel::try_new(opts.list_zstd_level).map_err(|e| Error::parquet(&dir, None, e))?;
        for field in schema.fields() {
            // Where the schema was defined, it said (schema::distinct_utf8).
            if crate::schema::is_plain(field) {
                props = props
                    .set_column_dictionary_enabled(ColumnPath::from(field.name().as_str()), false);
            }
            let (DataType::List(item) | DataType::LargeList(item)) = field.data_type() else {
                continue;
            };
            let leaf = ColumnPath::new(vec![
                field.name().clone(),
                "list".to_string(),
                item.name().clone(),
            ]);
            props = props.set_column_data_page_size_limit(leaf.clone(), LIST_PAGE_BYTES);
            if matches!(item.data_type(), DataType::Utf8 | DataType::LargeUtf8) {
                // Lists of words (`tokens`, `pos`): the smallest and largest
                // word of a page filter no query, and comparing every token
                // for them cost about 1% of `ore tokenize`'s CPU. Their pages
                // are dictionary indices, see `list_zstd_level`.
                props = props
                    .set_column_statistics_enabled(leaf.clone(), EnabledStatistics::None)
                    .set_column_compression(leaf, Compression::ZSTD(list_level));
            } else if item.data_type().is_integer() {
                // Lists of integers (`token_starts`, `token_ends`) rise within
                // a row: delta encoding writes them in 20% less time than a
                // dictionary, for 4% more bytes.
                props = props
                    .set_column_dictionary_enabled(leaf.clone(), false)
                    .set_column_encoding(leaf, Encoding::DELTA_BINARY_PACKED);
            }
        }
        let props = props.build();
        // Column writers depend only on the schema and the properties, which
        // every part file shares: one factory serves them all.
        let (probe, factory) =
            ArrowWriter::try_new(std::io::sink(), schema.clone(), Some(props.clone()))
                .and_then(ArrowWriter::into_serialized_writer)
                .map_err(|e| Error::parquet(&dir, None, e))?;
        let encoder = RowGroupEncoder::new(
            factory,
            Arc::new(probe.schema_descr().clone()),
            schema.clone(),
            dir.clone(),
        );
        Ok(Self {
            dir,
            empty_part: true,
            schema,
            props,
            opts,
            encoder,
            current: None,
            parts: Vec::new(),
            rows: 0,
        })
    }

    /// Writes no file at all when no row comes: for a folder whose rows
    /// live in sub-datasets (`split/train`, …).
    pub fn without_empty_part(mut self) -> Self {
        self.empty_part = false;
        self
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

    /// An encoder of whole row groups for this writer's files, usable on
    /// any thread; see [`PartWriter::append_encoded`].
    pub(crate) fn encoder(&self) -> RowGroupEncoder {
        self.encoder.clone()
    }

    /// A buffer cutting rows into the row groups [`PartWriter::append_encoded`]
    /// takes: at most the configured rows per row group and per file, and
    /// about [`ENCODED_GROUP_BYTES`] of memory each.
    pub(crate) fn row_group_buffer(&self) -> RowGroupBuffer {
        RowGroupBuffer::new(
            self.opts.row_group_rows.min(self.opts.file_rows),
            ENCODED_GROUP_BYTES.min(self.opts.row_group_bytes),
        )
    }

    /// Appends a row group encoded by [`PartWriter::encoder`]. The part file
    /// is closed first if the group would take it past its row bound, and
    /// after if it reached its byte bound. A part file that took an encoded
    /// group takes later batches of [`PartWriter::write`] as row groups of
    /// their own.
    pub(crate) fn append_encoded(&mut self, group: EncodedRowGroup) -> Result<()> {
        let file_rows = self.opts.file_rows.max(1) as u64;
        if self
            .current
            .as_ref()
            .is_some_and(|p| p.rows > 0 && p.rows + group.rows as u64 > file_rows)
        {
            self.close_part()?;
        }
        self.open_part()?;
        let OpenPart { writer, path, rows } = self.current.take().expect("a part opened above");
        let parquet = |e| Error::parquet(&path, None, e);
        let mut writer = match writer {
            PartFileWriter::Streaming(w) => w.into_serialized_writer().map_err(parquet)?.0,
            PartFileWriter::Appending(w) => w,
        };
        let mut row_group = writer.next_row_group().map_err(parquet)?;
        for chunk in group.chunks {
            match chunk {
                GroupChunk::Encoded(chunk) => chunk.append_to_row_group(&mut row_group),
                GroupChunk::Copied { file, close } => row_group.append_column(&*file, close),
            }
            .map_err(parquet)?;
        }
        row_group.close().map_err(parquet)?;
        let rows = rows + group.rows as u64;
        self.rows += group.rows as u64;
        let full = rows >= file_rows || writer.bytes_written() as u64 >= self.opts.file_bytes;
        self.current = Some(OpenPart {
            writer: PartFileWriter::Appending(writer),
            path,
            rows,
        });
        if full {
            self.close_part()?;
        }
        Ok(())
    }

    /// Appends a batch. Its schema must equal the writer's (field names, types
    /// and nullability; metadata is ignored).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        check_schema(&self.dir, &self.schema, batch)?;
        let file_rows = self.opts.file_rows.max(1) as u64;
        let (row_group_bytes, file_bytes) = (self.opts.row_group_bytes, self.opts.file_bytes);
        let group_rows = self.opts.row_group_rows.max(1);
        let mut offset = 0;
        while offset < batch.num_rows() {
            let part = self.open_part()?;
            let room = (file_rows - part.rows) as usize;
            let mut take = room.min(batch.num_rows() - offset);
            if let PartFileWriter::Appending(_) = part.writer {
                // Each slice becomes a row group of its own.
                take = take.min(group_rows);
            }
            let slice = batch.slice(offset, take);
            match &mut part.writer {
                PartFileWriter::Streaming(writer) => {
                    let parquet = |e| Error::parquet(&part.path, None, e);
                    writer.write(&slice).map_err(parquet)?;
                    if writer.in_progress_size() >= row_group_bytes {
                        writer.flush().map_err(parquet)?;
                    }
                    part.rows += take as u64;
                    let full =
                        part.rows >= file_rows || writer.bytes_written() as u64 >= file_bytes;
                    self.rows += take as u64;
                    if full {
                        self.close_part()?;
                    }
                }
                PartFileWriter::Appending(_) => {
                    let group = self.encoder.encode(&[slice])?;
                    self.append_encoded(group)?;
                }
            }
            offset += take;
        }
        Ok(())
    }

    /// Closes the last file and returns every part written.
    pub fn finish(mut self) -> Result<Vec<PartInfo>> {
        if self.empty_part && self.parts.is_empty() && self.current.is_none() {
            self.open_part()?;
        }
        self.close_part()?;
        Ok(std::mem::take(&mut self.parts))
    }

    fn open_part(&mut self) -> Result<&mut OpenPart> {
        if self.current.is_none() {
            let path = self
                .dir
                .join(format!("part-{:05}.parquet", self.parts.len()));
            let file = File::create(&path).at(&path)?;
            let writer = PartFileWriter::Streaming(
                ArrowWriter::try_new(
                    BufWriter::with_capacity(1 << 20, file),
                    self.schema.clone(),
                    Some(self.props.clone()),
                )
                .map_err(|e| Error::parquet(&path, None, e))?,
            );
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
        let buffered = match writer {
            PartFileWriter::Streaming(w) => w.into_inner(),
            PartFileWriter::Appending(w) => w.into_inner(),
        }
        .map_err(|e| Error::parquet(&path, None, e))?;
        let file = buffered
            .into_inner()
            .map_err(|e| Error::io(&path, e.into_error()))?;
        file.sync_all().at(&path)?;
        self.parts.push(PartInfo { path, rows });
        Ok(())
    }
}

/// Refuses a batch whose fields (names, types, nullability; not metadata)
/// differ from the dataset's, naming the dataset's folder.
pub(super) fn check_schema(dir: &Path, schema: &SchemaRef, batch: &RecordBatch) -> Result<()> {
    if batch.schema().fields() == schema.fields() {
        return Ok(());
    }
    Err(Error::arrow(
        dir,
        format!(
            "batch schema does not match the dataset schema\n  dataset: {:?}\n  batch:   {:?}",
            schema.fields(),
            batch.schema().fields()
        ),
    ))
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
