//! The split index: the split of every row placed so far, kept between
//! runs (`--index DIR`), so that old rows never move as data grows.
//!
//! On disk it is a dataset (`row_key: u64`, `split: u8`, sorted by key)
//! whose schema metadata names the seed and the identity it was keyed by;
//! it is replaced atomically after each run's output is committed.

use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{UInt8Type, UInt64Type};
use arrow_array::{RecordBatch, UInt8Array, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use ore_core::{Dataset, DatasetWriter, WriteOptions};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::error::{Result, SplitError};

/// The schema metadata key holding [`IndexMeta`] as JSON.
const META_KEY: &str = "ore.split_index";

/// What an index was made with; a run with other settings refuses it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IndexMeta {
    pub seed: u64,
    /// The column the row keys hash (`example_id`, …, or `text`).
    pub identity: String,
}

/// Row key → split (0 train, 1 valid, 2 test).
pub type Assignments = FxHashMap<u64, u8>;

/// Loads the index at `dir` (empty when the folder does not exist).
pub fn load(dir: &Path, meta: &IndexMeta) -> Result<Assignments> {
    let mut map = Assignments::default();
    if !dir.exists() {
        return Ok(map);
    }
    let bad = |message: String| SplitError::Index {
        path: dir.to_path_buf(),
        message,
    };
    let dataset = Dataset::open(dir)?;
    let text = dataset
        .schema()
        .metadata()
        .get(META_KEY)
        .ok_or_else(|| bad(format!("not a split index (no `{META_KEY}` metadata)")))?;
    let found: IndexMeta =
        serde_json::from_str(text).map_err(|e| bad(format!("{META_KEY}: {e}")))?;
    if &found != meta {
        return Err(bad(format!(
            "made with seed {} keyed by `{}`, this run has seed {} keyed by `{}`; \
             use the same seed and id column, or a new index folder",
            found.seed, found.identity, meta.seed, meta.identity
        )));
    }
    for batch in dataset.batches_of(&["row_key", "split"], 65_536)? {
        let batch = batch?;
        let (Some(keys), Some(splits)) = (
            batch.column(0).as_primitive_opt::<UInt64Type>(),
            batch.column(1).as_primitive_opt::<UInt8Type>(),
        ) else {
            return Err(bad("row_key must be uint64 and split uint8".into()));
        };
        for (k, s) in keys.values().iter().zip(splits.values()) {
            if *s > 2 {
                return Err(bad(format!(
                    "split {s} of row key {k:016x} is not 0, 1 or 2"
                )));
            }
            map.insert(*k, *s);
        }
    }
    Ok(map)
}

/// Replaces the index at `dir` with `assignments`.
pub fn save(dir: &Path, meta: &IndexMeta, assignments: &Assignments) -> Result<()> {
    let mut rows: Vec<(u64, u8)> = assignments.iter().map(|(k, s)| (*k, *s)).collect();
    rows.sort_unstable();
    let json = serde_json::to_string(meta).map_err(|e| SplitError::Index {
        path: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    let schema = Arc::new(Schema::new_with_metadata(
        vec![
            Field::new("row_key", DataType::UInt64, false),
            Field::new("split", DataType::UInt8, false),
        ],
        std::collections::HashMap::from([(META_KEY.to_string(), json)]),
    ));
    let mut writer = DatasetWriter::create(dir, schema.clone(), WriteOptions::default())?;
    for chunk in rows.chunks(1 << 20) {
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(UInt64Array::from_iter_values(chunk.iter().map(|r| r.0))),
                Arc::new(UInt8Array::from_iter_values(chunk.iter().map(|r| r.1))),
            ],
        )
        .map_err(|e| SplitError::Index {
            path: dir.to_path_buf(),
            message: e.to_string(),
        })?;
        writer.write(&batch)?;
    }
    writer.commit()?;
    Ok(())
}
