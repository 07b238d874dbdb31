//! [`BackgroundWriter`]: a [`PartWriter`] on its own thread, so that Parquet
//! encoding and compression overlap with the stage's work instead of adding
//! to it.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use arrow_array::RecordBatch;

use super::encode::{
    CopySource, EncodedRowGroup, GroupInProgress, ParallelEncoder, RowGroupBuffer, RowGroupEncoder,
};
use super::writer::{PartInfo, PartWriter, check_schema};
use crate::error::{Error, Result};

/// Batches waiting to be written; bounds the memory a slow disk can hold up
/// (16 of clean's 4 MiB row groups at most). `ore tokenize` hands over a
/// batch in 4 chunks a thread: with room for only 2, its next batch waited
/// on the writer, and on 22 MB and two threads the stage took 1.02 s
/// instead of 0.90 s.
const QUEUE: usize = 16;

/// What the writer thread is handed, in output order.
enum Item {
    Batch(RecordBatch),
    Encoded(EncodedRowGroup),
    GroupStart(Vec<Option<CopySource>>),
    GroupBatch(RecordBatch),
    GroupEnd,
}

/// Writes batches on a dedicated thread. An error on that thread is reported
/// by the next [`BackgroundWriter::write`] or by [`BackgroundWriter::finish`].
#[derive(Debug)]
pub(crate) struct BackgroundWriter {
    sender: Option<SyncSender<Item>>,
    thread: Option<JoinHandle<Result<Vec<PartInfo>>>>,
    schema: arrow_schema::SchemaRef,
    dir: std::path::PathBuf,
    encoder: RowGroupEncoder,
    /// An empty buffer with this output's bounds.
    buffer: RowGroupBuffer,
}

impl BackgroundWriter {
    pub(crate) fn spawn(mut writer: PartWriter) -> Self {
        let schema = writer.schema().clone();
        let dir = writer.dir().to_path_buf();
        let encoder = writer.encoder();
        let buffer = writer.row_group_buffer();
        let (sender, receiver): (SyncSender<Item>, Receiver<Item>) = sync_channel(QUEUE);
        let thread = std::thread::Builder::new()
            .name("ore-writer".into())
            .spawn(move || {
                let mut open: Option<GroupInProgress> = None;
                let no_group = || writer_gone("a row group's rows came without its start");
                for item in receiver {
                    match item {
                        Item::Batch(batch) => writer.write(&batch)?,
                        Item::Encoded(group) => writer.append_encoded(group)?,
                        Item::GroupStart(copies) => {
                            open = Some(writer.encoder().start_group(copies)?);
                        }
                        Item::GroupBatch(batch) => {
                            open.as_mut().ok_or_else(no_group)?.write(&batch)?
                        }
                        Item::GroupEnd => {
                            let group = open.take().ok_or_else(no_group)?.finish()?;
                            // A group whose rows were all dropped leaves no
                            // empty row group behind.
                            if group.rows() > 0 {
                                writer.append_encoded(group)?;
                            }
                        }
                    }
                }
                writer.finish()
            })
            .ok();
        Self {
            sender: Some(sender),
            thread,
            schema,
            dir,
            encoder,
            buffer,
        }
    }

    /// An encoder of row groups for this writer's files on the rayon pool,
    /// cut as [`PartWriter::row_group_buffer`] says; its groups come back
    /// through [`BackgroundWriter::write_encoded`].
    pub(crate) fn parallel_encoder(&self) -> ParallelEncoder {
        ParallelEncoder::new(self.encoder.clone(), self.buffer.clone())
    }

    /// Queues a row group encoded by [`BackgroundWriter::parallel_encoder`].
    pub(crate) fn write_encoded(&mut self, group: EncodedRowGroup) -> Result<()> {
        self.send(Item::Encoded(group))
    }

    fn send(&mut self, item: Item) -> Result<()> {
        let sent = self.sender.as_ref().is_some_and(|s| s.send(item).is_ok());
        if !sent {
            // The thread stopped: it failed on an earlier batch.
            return Err(self
                .join()
                .err()
                .unwrap_or_else(|| writer_gone("the writer thread stopped")));
        }
        Ok(())
    }

    /// Queues a batch; a batch of the wrong schema is refused at once.
    pub(crate) fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        check_schema(&self.dir, &self.schema, batch)?;
        self.send(Item::Batch(batch.clone()))
    }

    /// Starts a row group of its own, whose fields with a copy source are
    /// spliced in from an input file instead of encoded
    /// ([`RowGroupEncoder::start_group`]); the writer thread encodes the
    /// other fields of the batches [`BackgroundWriter::write_in_group`]
    /// sends, and appends the group at [`BackgroundWriter::end_group`].
    pub(crate) fn start_group(&mut self, copies: Vec<Option<CopySource>>) -> Result<()> {
        self.send(Item::GroupStart(copies))
    }

    pub(crate) fn write_in_group(&mut self, batch: &RecordBatch) -> Result<()> {
        check_schema(&self.dir, &self.schema, batch)?;
        self.send(Item::GroupBatch(batch.clone()))
    }

    pub(crate) fn end_group(&mut self) -> Result<()> {
        self.send(Item::GroupEnd)
    }

    pub(crate) fn schema(&self) -> &arrow_schema::SchemaRef {
        &self.schema
    }

    /// Waits for every queued batch, closes the files and returns them.
    pub(crate) fn finish(mut self) -> Result<Vec<PartInfo>> {
        self.join()
    }

    fn join(&mut self) -> Result<Vec<PartInfo>> {
        self.sender.take();
        match self.thread.take() {
            Some(handle) => handle
                .join()
                .unwrap_or_else(|_| Err(writer_gone("the writer thread panicked"))),
            None => Err(writer_gone(
                "the writer thread could not be started or was already joined",
            )),
        }
    }
}

impl Drop for BackgroundWriter {
    /// An unfinished writer (the stage failed) still waits for its thread, so
    /// that nothing writes into the staging folder while it is removed.
    fn drop(&mut self) {
        self.sender.take();
        if let Some(handle) = self.thread.take() {
            let _ = handle.join();
        }
    }
}

fn writer_gone(message: &str) -> Error {
    Error::Arrow {
        path: std::path::PathBuf::from("<background writer>"),
        message: message.to_string(),
    }
}
