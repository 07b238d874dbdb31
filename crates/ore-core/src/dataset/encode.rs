//! Row groups encoded away from the writer's thread.
//!
//! The streaming writer ([`super::PartWriter::write`]) encodes each batch as
//! it arrives, on one thread, which overlaps well with a stage that produces
//! rows as it goes. A stage that produces its whole output in a burst at the
//! end (the clean stage writes nothing until its duplicate clusters are
//! known) would leave that one thread compressing while the others idle.
//! Such a stage cuts its rows into row groups with a [`RowGroupBuffer`],
//! encodes them on the rayon pool with a [`RowGroupEncoder`] (the columns of
//! one group in parallel too), and hands the [`EncodedRowGroup`]s back to
//! the writer in order.
//!
//! Where the groups are cut depends only on the rows, never on the thread
//! count or timing, so the files are the same bytes whatever `--threads`.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory, compute_leaves,
};
use parquet::basic::Compression;
use parquet::column::writer::ColumnCloseResult;
use parquet::file::metadata::ColumnChunkMetaData;
use parquet::schema::types::SchemaDescPtr;
use rayon::prelude::*;

use super::writer::check_schema;
use crate::error::{Error, Result};
use crate::ordered::InOrder;

/// In-memory (Arrow) size at which a [`RowGroupBuffer`] closes a row group.
/// Small enough that a burst of a few megabytes still makes several groups
/// to encode side by side; large enough that a group's column chunks are
/// whole compressed pages (1 MiB) and its metadata a negligible share.
pub(crate) const ENCODED_GROUP_BYTES: usize = 4 << 20;

/// A row group whose columns are encoded and compressed, ready to be
/// appended to a part file.
pub(crate) struct EncodedRowGroup {
    pub(super) chunks: Vec<GroupChunk>,
    pub(super) rows: usize,
}

/// One leaf column of an [`EncodedRowGroup`]: encoded here, or an already
/// encoded chunk of an input file, spliced in byte for byte.
pub(super) enum GroupChunk {
    Encoded(ArrowColumnChunk),
    Copied {
        file: Arc<File>,
        close: ColumnCloseResult,
    },
}

/// The encoded column chunks of one top-level field in one row group of an
/// input Parquet file, which a stage that passes the field through unchanged
/// can copy into its output instead of encoding it again (see
/// [`RowGroupEncoder::start_group`]), held by a [`RowGroupSource`].
#[derive(Clone)]
pub(crate) struct CopySource {
    pub(crate) file: Arc<File>,
    pub(crate) path: PathBuf,
    /// The field's leaf chunks, in schema order.
    pub(crate) leaves: Vec<ColumnChunkMetaData>,
    pub(crate) rows: usize,
}

impl std::fmt::Debug for CopySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CopySource")
            .field("path", &self.path)
            .field("leaves", &self.leaves.len())
            .field("rows", &self.rows)
            .finish()
    }
}

/// One row group of an input dataset, as the source of the output row
/// group a stage makes from its rows (see
/// [`crate::StageOutput::write_from`]): the output group keeps the input's
/// row-group bounds, and takes the input's encoded chunks of the columns it
/// passes through unchanged instead of encoding them again. Made by
/// [`crate::Dataset::row_group_source`]; cheap to clone.
#[derive(Clone)]
pub struct RowGroupSource(Arc<SourceGroup>);

struct SourceGroup {
    rows: u64,
    /// The columns an output group copies, by name.
    copies: Vec<(String, CopySource)>,
}

impl RowGroupSource {
    pub(crate) fn new(rows: u64, copies: Vec<(String, CopySource)>) -> Self {
        Self(Arc::new(SourceGroup { rows, copies }))
    }

    /// Rows of the input row group.
    pub fn rows(&self) -> u64 {
        self.0.rows
    }

    /// Whether an output group made from it copies any column.
    pub fn copies_columns(&self) -> bool {
        !self.0.copies.is_empty()
    }

    /// Whether both name the same input row group (as made by one call).
    pub(crate) fn same(&self, other: &RowGroupSource) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// The chunks to copy into an output group of `schema`, one entry per
    /// field, matched by name.
    pub(crate) fn copies_for(&self, schema: &arrow_schema::Schema) -> Vec<Option<CopySource>> {
        schema
            .fields()
            .iter()
            .map(|field| {
                self.0
                    .copies
                    .iter()
                    .find(|(name, _)| name == field.name())
                    .map(|(_, copy)| copy.clone())
            })
            .collect()
    }
}

impl std::fmt::Debug for RowGroupSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowGroupSource")
            .field("rows", &self.0.rows)
            .field(
                "copies",
                &self.0.copies.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl EncodedRowGroup {
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }
}

impl std::fmt::Debug for EncodedRowGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncodedRowGroup")
            .field("rows", &self.rows)
            .field("columns", &self.chunks.len())
            .finish()
    }
}

/// Encodes whole row groups for one dataset schema, on any thread. Cheap to
/// clone.
#[derive(Clone)]
pub(crate) struct RowGroupEncoder {
    inner: Arc<Inner>,
}

struct Inner {
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    /// The Parquet schema the factory writes.
    parquet: SchemaDescPtr,
    /// Parquet leaf columns of each field, in order.
    leaves: Vec<usize>,
    /// The dataset's folder, to name it in errors.
    dir: PathBuf,
}

impl std::fmt::Debug for RowGroupEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowGroupEncoder")
            .field("dir", &self.inner.dir)
            .finish_non_exhaustive()
    }
}

impl RowGroupEncoder {
    /// `parquet` is the Parquet schema the factory writes, which tells how
    /// many leaf columns each top-level field became.
    pub(super) fn new(
        factory: ArrowRowGroupWriterFactory,
        parquet: SchemaDescPtr,
        schema: SchemaRef,
        dir: PathBuf,
    ) -> Self {
        let mut leaves = vec![0; schema.fields().len()];
        for leaf in 0..parquet.num_columns() {
            leaves[parquet.get_column_root_idx(leaf)] += 1;
        }
        Self {
            inner: Arc::new(Inner {
                factory,
                schema,
                parquet,
                leaves,
                dir,
            }),
        }
    }

    /// Fresh column writers for a row group, grouped by field: a field has
    /// one per Parquet leaf column.
    fn field_writers(&self) -> Result<Vec<Vec<ArrowColumnWriter>>> {
        let inner = &*self.inner;
        let mut writers = inner
            .factory
            .create_column_writers(0)
            .map_err(|e| Error::parquet(&inner.dir, None, e))?
            .into_iter();
        Ok(inner
            .leaves
            .iter()
            .map(|&n| writers.by_ref().take(n).collect())
            .collect())
    }

    /// Encodes `batches` as one row group, each column on its own rayon
    /// task. Every batch must have the dataset's schema.
    pub(crate) fn encode(&self, batches: &[RecordBatch]) -> Result<EncodedRowGroup> {
        let inner = &*self.inner;
        for batch in batches {
            check_schema(&inner.dir, &inner.schema, batch)?;
        }
        let parquet = |e| Error::parquet(&inner.dir, None, e);
        let fields: Vec<(usize, Vec<ArrowColumnWriter>)> =
            self.field_writers()?.into_iter().enumerate().collect();
        let chunks: Vec<Vec<ArrowColumnChunk>> = fields
            .into_par_iter()
            .with_max_len(1)
            .map(|(field, writers)| {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    encode_field(&inner.schema, field, writers, batches)
                }))
                .unwrap_or_else(|_| {
                    Err(parquet::errors::ParquetError::General(format!(
                        "encoding column `{}` panicked",
                        inner.schema.field(field).name()
                    )))
                })
                .map_err(parquet)
            })
            .collect::<Result<_>>()?;
        Ok(EncodedRowGroup {
            chunks: chunks
                .into_iter()
                .flatten()
                .map(GroupChunk::Encoded)
                .collect(),
            rows: batches.iter().map(RecordBatch::num_rows).sum(),
        })
    }

    /// Starts a row group that takes some fields' chunks from an input file
    /// (`copies[field]`, one entry per field of the dataset schema) and
    /// encodes the others from the batches given to
    /// [`GroupInProgress::write`], on the calling thread, as they come.
    ///
    /// A copy is used only where every leaf's Parquet descriptor (name,
    /// types, repetition, levels) is the one this dataset writes and the
    /// chunk is zstd-compressed, as every chunk ore writes is; otherwise
    /// that field is encoded like the rest. The group's rows must be the
    /// copied row group's: [`GroupInProgress::finish`] checks.
    pub(crate) fn start_group(&self, copies: Vec<Option<CopySource>>) -> Result<GroupInProgress> {
        let inner = &*self.inner;
        let mut first_leaf = 0;
        let mut fields = Vec::with_capacity(inner.leaves.len());
        for (field, field_writers) in self.field_writers()?.into_iter().enumerate() {
            let n = field_writers.len();
            let copy = copies.get(field).cloned().flatten().filter(|copy| {
                copy.leaves.len() == n
                    && copy.leaves.iter().enumerate().all(|(i, leaf)| {
                        *leaf.column_descr() == *inner.parquet.column(first_leaf + i)
                            && matches!(leaf.compression(), Compression::ZSTD(_))
                    })
            });
            first_leaf += n;
            fields.push(match copy {
                Some(copy) => FieldSink::Copy(copy),
                None => FieldSink::Encode(field_writers),
            });
        }
        Ok(GroupInProgress {
            encoder: self.clone(),
            fields,
            rows: 0,
        })
    }
}

/// A row group being written field by field: see
/// [`RowGroupEncoder::start_group`].
pub(crate) struct GroupInProgress {
    encoder: RowGroupEncoder,
    fields: Vec<FieldSink>,
    rows: usize,
}

enum FieldSink {
    Encode(Vec<ArrowColumnWriter>),
    Copy(CopySource),
}

impl std::fmt::Debug for GroupInProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupInProgress")
            .field("rows", &self.rows)
            .field(
                "copied_fields",
                &self
                    .fields
                    .iter()
                    .filter(|f| matches!(f, FieldSink::Copy(_)))
                    .count(),
            )
            .finish_non_exhaustive()
    }
}

impl GroupInProgress {
    /// Encodes the batch's fields that are not copied. The batch must have
    /// the dataset's schema; its copied columns are not read.
    pub(crate) fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let inner = &*self.encoder.inner;
        check_schema(&inner.dir, &inner.schema, batch)?;
        for (field, sink) in self.fields.iter_mut().enumerate() {
            if let FieldSink::Encode(writers) = sink {
                write_field(&inner.schema, field, writers, batch)
                    .map_err(|e| Error::parquet(&inner.dir, None, e))?;
            }
        }
        self.rows += batch.num_rows();
        Ok(())
    }

    /// Closes the encoded columns; the group is ready for
    /// [`super::PartWriter::append_encoded`].
    pub(crate) fn finish(self) -> Result<EncodedRowGroup> {
        let inner = &*self.encoder.inner;
        let mut chunks = Vec::new();
        for sink in self.fields {
            match sink {
                FieldSink::Encode(writers) => {
                    for writer in writers {
                        let chunk = writer
                            .close()
                            .map_err(|e| Error::parquet(&inner.dir, None, e))?;
                        chunks.push(GroupChunk::Encoded(chunk));
                    }
                }
                FieldSink::Copy(copy) => {
                    if copy.rows != self.rows {
                        return Err(Error::arrow(
                            &inner.dir,
                            format!(
                                "a row group of {} rows cannot take the column chunks of {}: \
                                 they hold {} rows",
                                self.rows,
                                copy.path.display(),
                                copy.rows
                            ),
                        ));
                    }
                    for leaf in copy.leaves {
                        chunks.push(GroupChunk::Copied {
                            file: copy.file.clone(),
                            close: ColumnCloseResult {
                                bytes_written: leaf.compressed_size().max(0) as u64,
                                rows_written: copy.rows as u64,
                                metadata: leaf,
                                bloom_filter: None,
                                column_index: None,
                                offset_index: None,
                            },
                        });
                    }
                }
            }
        }
        Ok(EncodedRowGroup {
            chunks,
            rows: self.rows,
        })
    }
}

/// The chunks of one field's leaves over a row group's batches.
fn encode_field(
    schema: &SchemaRef,
    field: usize,
    mut writers: Vec<ArrowColumnWriter>,
    batches: &[RecordBatch],
) -> parquet::errors::Result<Vec<ArrowColumnChunk>> {
    for batch in batches {
        write_field(schema, field, &mut writers, batch)?;
    }
    writers.into_iter().map(ArrowColumnWriter::close).collect()
}

/// Writes one batch's column `field` to the writers of its leaves.
fn write_field(
    schema: &SchemaRef,
    field: usize,
    writers: &mut [ArrowColumnWriter],
    batch: &RecordBatch,
) -> parquet::errors::Result<()> {
    let leaves = compute_leaves(schema.field(field), batch.column(field))?;
    for (writer, leaf) in writers.iter_mut().zip(&leaves) {
        writer.write(leaf)?;
    }
    Ok(())
}

/// Gathers batches into row groups: a group closes at `max_rows` rows (the
/// batch that crosses it is cut) or once it holds `max_bytes` of Arrow
/// memory (after the batch that reaches it).
#[derive(Debug, Clone)]
pub(crate) struct RowGroupBuffer {
    max_rows: usize,
    max_bytes: usize,
    batches: Vec<RecordBatch>,
    rows: usize,
    bytes: usize,
}

impl RowGroupBuffer {
    pub(crate) fn new(max_rows: usize, max_bytes: usize) -> Self {
        Self {
            max_rows: max_rows.max(1),
            max_bytes: max_bytes.max(1),
            batches: Vec::new(),
            rows: 0,
            bytes: 0,
        }
    }

    /// Adds a batch; returns the row groups it completed, oldest first.
    pub(crate) fn push(&mut self, batch: RecordBatch) -> Vec<Vec<RecordBatch>> {
        let mut full = Vec::new();
        let mut offset = 0;
        while offset < batch.num_rows() {
            let take = (self.max_rows - self.rows).min(batch.num_rows() - offset);
            let part = batch.slice(offset, take);
            self.bytes += slice_bytes(&part);
            self.rows += take;
            self.batches.push(part);
            offset += take;
            if self.rows >= self.max_rows || self.bytes >= self.max_bytes {
                full.extend(self.finish());
            }
        }
        full
    }

    /// The rows not yet in a closed group, as a last group.
    pub(crate) fn finish(&mut self) -> Option<Vec<RecordBatch>> {
        self.rows = 0;
        self.bytes = 0;
        let batches = std::mem::take(&mut self.batches);
        (!batches.is_empty()).then_some(batches)
    }
}

/// Cuts rows into row groups ([`RowGroupBuffer`]), encodes each on the rayon
/// pool as soon as it is complete ([`RowGroupEncoder`]), and hands the
/// encoded groups to a sink in order, while the caller goes on producing
/// rows. At most a few groups per pool thread are in flight, which bounds
/// the memory held.
pub(crate) struct ParallelEncoder {
    encoder: RowGroupEncoder,
    buffer: RowGroupBuffer,
    /// Groups handed to the pool, back in order.
    order: InOrder<Result<EncodedRowGroup>>,
}

impl std::fmt::Debug for ParallelEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParallelEncoder")
            .field("order", &self.order)
            .finish_non_exhaustive()
    }
}

impl ParallelEncoder {
    pub(crate) fn new(encoder: RowGroupEncoder, buffer: RowGroupBuffer) -> Self {
        Self {
            encoder,
            buffer,
            order: InOrder::default(),
        }
    }

    /// Adds rows; the groups they complete start encoding, and the groups
    /// encoded so far go to `sink`, in order.
    pub(crate) fn push(
        &mut self,
        batch: RecordBatch,
        mut sink: impl FnMut(EncodedRowGroup) -> Result<()>,
    ) -> Result<()> {
        for group in self.buffer.push(batch) {
            self.submit(group);
        }
        let max_in_flight = 2 * rayon::current_num_threads() as u64;
        self.drain(max_in_flight, &mut sink)
    }

    /// Starts encoding the rows not yet in a group, as a group of their
    /// own, without waiting for it: the caller can do other work before
    /// [`ParallelEncoder::finish`].
    pub(crate) fn flush(&mut self) {
        if let Some(group) = self.buffer.finish() {
            self.submit(group);
        }
    }

    /// Encodes the last rows and waits for every group to reach `sink`.
    pub(crate) fn finish(
        mut self,
        mut sink: impl FnMut(EncodedRowGroup) -> Result<()>,
    ) -> Result<()> {
        self.flush();
        self.drain(0, &mut sink)
    }

    fn submit(&mut self, group: Vec<RecordBatch>) {
        let (encoder, ticket) = (self.encoder.clone(), self.order.submit());
        rayon::spawn(move || ticket.send(encoder.encode(&group)));
    }

    /// Hands finished groups to `sink` in order, waiting while more than
    /// `in_flight` are submitted but not written.
    fn drain(
        &mut self,
        in_flight: u64,
        sink: &mut impl FnMut(EncodedRowGroup) -> Result<()>,
    ) -> Result<()> {
        loop {
            let wait = self.order.pending() > in_flight;
            match self.order.next(wait) {
                Some(group) => sink(group?)?,
                None => return Ok(()),
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{ArrayRef, Int64Array};
    use arrow_schema::{DataType, Field, Schema};

    fn batch(rows: std::ops::Range<i64>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let column: ArrayRef = Arc::new(Int64Array::from_iter_values(rows));
        RecordBatch::try_new(schema, vec![column]).unwrap()
    }

    fn sizes(groups: &[Vec<RecordBatch>]) -> Vec<usize> {
        groups
            .iter()
            .map(|g| g.iter().map(RecordBatch::num_rows).sum())
            .collect()
    }

    #[test]
    fn groups_are_cut_at_the_row_bound_inside_a_batch() {
        let mut buffer = RowGroupBuffer::new(4, usize::MAX);
        let mut groups = buffer.push(batch(0..3));
        assert!(groups.is_empty());
        groups.extend(buffer.push(batch(3..13)));
        groups.extend(buffer.finish());
        assert_eq!(sizes(&groups), [4, 4, 4, 1]);
        let values: Vec<i64> = groups
            .iter()
            .flatten()
            .flat_map(|b| {
                let a = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                a.values().to_vec()
            })
            .collect();
        assert_eq!(values, (0..13).collect::<Vec<_>>());
        assert!(buffer.finish().is_none());
    }

    #[test]
    fn groups_close_after_the_batch_that_reaches_the_byte_bound() {
        // 100 rows of i64 are 800 bytes.
        let mut buffer = RowGroupBuffer::new(usize::MAX, 1000);
        let mut groups = Vec::new();
        for i in 0..5 {
            groups.extend(buffer.push(batch(i * 100..(i + 1) * 100)));
        }
        groups.extend(buffer.finish());
        assert_eq!(sizes(&groups), [200, 200, 100]);
    }
}
