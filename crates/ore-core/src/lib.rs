//! `ore-core`: the contract every `ore` stage shares.
//!
//! - [`Dataset`] reads a Parquet file or a folder of part files (ours or any
//!   other writer's) as a stream of Arrow record batches.
//! - [`DatasetWriter`] and [`StageOutput`] write `part-NNNNN.parquet` files
//!   (zstd, bounded row groups) into a staging folder that is renamed into
//!   place only when complete; [`StageOutput`] also writes `_rejects/` and
//!   `_manifest.json` and refuses to commit unless
//!   `rows in + generated = rows out + rejected`.
//! - [`Stage`] / [`StageDef`] is the contract every stage implements, and
//!   [`runner::Graph`] the pipeline as a graph of stages that knows which are
//!   up to date.
//! - [`Pipeline`] loads `pipelines/*.toml` strictly.
//! - [`translate`] is the seam through which augment's back-translation
//!   calls a model that train made, without depending on it.
//! - [`ids`] gives stable document ids and per-row seeds; [`Progress`] the
//!   progress bar every long stage shows.
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{RecordBatch, StringArray};
//! use arrow_schema::{DataType, Field, Schema};
//! use ore_core::{Dataset, StageInfo, StageOutput, WriteOptions};
//!
//! let dir = tempfile::tempdir()?;
//! let schema = Arc::new(Schema::new(vec![Field::new("text", DataType::Utf8, false)]));
//! let batch = RecordBatch::try_new(
//!     schema.clone(),
//!     vec![Arc::new(StringArray::from(vec!["长文本", "ok", "x"]))],
//! )?;
//!
//! let info = StageInfo::new("clean", &serde_json::json!({"min_chars": 2}), 42);
//! let mut out = StageOutput::create(dir.path().join("clean"), schema, info, WriteOptions::default())?;
//! out.count_input(3);
//! out.write(&batch.slice(0, 2))?;
//! out.reject_all(&batch.slice(2, 1), "too_short", None)?;
//! let manifest = out.commit()?;
//! assert_eq!(manifest.rows.rejected_by_reason["too_short"], 1);
//!
//! let kept = Dataset::open(dir.path().join("clean"))?;
//! assert_eq!(kept.num_rows(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod column;
pub mod config;
pub mod contract;
pub mod dataset;
pub mod error;
pub mod ids;
pub mod manifest;
pub mod ordered;
pub mod progress;
pub mod runner;
pub mod schema;
pub mod shard;
pub mod stage;
pub mod testing;
pub mod translate;

pub use column::StrColumn;
pub use config::{Pipeline, PipelineSection, Serve, TOOL_SECTIONS};
pub use contract::{InputKind, InputSpec, Stage, StageContext, StageDef, StageKind};
pub use dataset::{
    Dataset, DatasetWriter, MANIFEST_FILE, REJECTS_DIR, RowGroupSource, WriteOptions,
};
pub use error::{Error, Result};
pub use manifest::{Manifest, RowCounts};
pub use ordered::InOrder;
pub use progress::Progress;
pub use stage::{REJECT_DETAIL, REJECT_REASON, StageInfo, StageOutput};
pub use translate::{TranslateError, Translator};
