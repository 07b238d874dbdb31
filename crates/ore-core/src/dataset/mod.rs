//! Datasets on disk: folders of `part-NNNNN.parquet` files plus
//! `_manifest.json` and `_rejects/`.

mod background;
mod encode;
mod reader;
mod staging;
mod writer;

pub(crate) use background::BackgroundWriter;
pub(crate) use encode::ParallelEncoder;
pub use encode::RowGroupSource;
pub use reader::{Batches, Dataset, PartFile};
pub use staging::Staging;
pub use writer::{DatasetWriter, PartInfo, PartWriter, WriteOptions};

/// File name of a dataset's manifest.
pub const MANIFEST_FILE: &str = "_manifest.json";
/// Sub-folder holding a stage's rejected rows.
pub const REJECTS_DIR: &str = "_rejects";
