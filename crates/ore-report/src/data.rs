//! Reading what the report needs from a dataset: only the named columns,
//! streamed as batches, whatever their Arrow string, list or number type.

use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use ore_core::{Dataset, StrColumn};

use crate::error::{Error, Result};

/// Rows a batch.
const BATCH: usize = 8192;

/// Opens the dataset at `path`, or `None` when there is none (no folder, or
/// a folder without part files). A corrupt file is an error naming it.
pub fn open(path: &Path) -> Result<Option<Dataset>> {
    if !path.exists() {
        return Ok(None);
    }
    match Dataset::open(path) {
        Ok(ds) => Ok(Some(ds)),
        Err(ore_core::Error::EmptyDataset { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Whether the dataset has a top-level column `name`.
pub fn has(ds: &Dataset, name: &str) -> bool {
    ds.schema().index_of(name).is_ok()
}

/// The first of `names` the dataset has.
pub fn first_of<'a>(ds: &Dataset, names: &[&'a str]) -> Option<&'a str> {
    names.iter().copied().find(|n| has(ds, n))
}

/// Calls `each` with every batch of the columns of `columns` that the
/// dataset has (the others are left out; check with [`has`] first).
pub fn scan(
    ds: &Dataset,
    columns: &[&str],
    mut each: impl FnMut(&RecordBatch) -> Result<()>,
) -> Result<()> {
    let present: Vec<&str> = columns.iter().copied().filter(|c| has(ds, c)).collect();
    ds.batches_of(&present, BATCH)?
        .for_each_prefetched(|batch| each(&batch))
}

/// A string column of a batch, or `None` when the batch lacks it.
pub fn strs<'a>(batch: &'a RecordBatch, name: &str, path: &Path) -> Result<Option<StrColumn<'a>>> {
    if batch.column_by_name(name).is_none() {
        return Ok(None);
    }
    Ok(Some(StrColumn::of(batch, name, path)?))
}

/// A numeric column as `f64`s (nulls as NaN), or `None` when the batch lacks
/// it or it is not numeric.
pub fn floats(batch: &RecordBatch, name: &str) -> Option<Float64Array> {
    let col = batch.column_by_name(name)?;
    if !col.data_type().is_numeric() {
        return None;
    }
    let cast = arrow_cast::cast(col, &DataType::Float64).ok()?;
    Some(
        cast.as_primitive::<arrow_array::types::Float64Type>()
            .clone(),
    )
}

/// A timestamp column as microseconds since the epoch (UTC), or `None`.
pub fn micros(batch: &RecordBatch, name: &str) -> Option<Vec<Option<i64>>> {
    let col = batch.column_by_name(name)?;
    let DataType::Timestamp(_, tz) = col.data_type() else {
        return None;
    };
    let us = arrow_cast::cast(col, &DataType::Timestamp(TimeUnit::Microsecond, tz.clone())).ok()?;
    let ints = arrow_cast::cast(&us, &DataType::Int64).ok()?;
    let ints = ints.as_primitive::<Int64Type>();
    Some(
        (0..ints.len())
            .map(|i| ints.is_valid(i).then(|| ints.value(i)))
            .collect(),
    )
}

/// Microseconds since the epoch as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_micros(us: i64) -> String {
    arrow_array::temporal_conversions::timestamp_us_to_datetime(us)
        .map(|t| format!("{} UTC", t.format("%Y-%m-%d %H:%M:%S")))
        .unwrap_or_else(|| us.to_string())
}

/// A `list<utf8>` column: row `i`'s strings.
#[derive(Debug)]
pub struct StrLists {
    offsets: Vec<usize>,
    values: ArrayRef,
}

impl StrLists {
    /// The column `name` if it is a list of strings.
    pub fn of(batch: &RecordBatch, name: &str) -> Option<Self> {
        let col = batch.column_by_name(name)?;
        let (offsets, values): (Vec<usize>, ArrayRef) = match col.data_type() {
            DataType::List(_) => {
                let l = col.as_list::<i32>();
                (
                    l.value_offsets().iter().map(|&o| o as usize).collect(),
                    l.values().clone(),
                )
            }
            DataType::LargeList(_) => {
                let l = col.as_list::<i64>();
                (
                    l.value_offsets().iter().map(|&o| o as usize).collect(),
                    l.values().clone(),
                )
            }
            _ => return None,
        };
        matches!(
            values.data_type(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        )
        .then_some(Self { offsets, values })
    }

    /// Row `i`'s strings (nulls left out).
    pub fn row(&self, i: usize) -> Vec<&str> {
        let (a, b) = (self.offsets[i], self.offsets[i + 1]);
        let v = &self.values;
        match v.data_type() {
            DataType::Utf8 => {
                let s = v.as_string::<i32>();
                (a..b)
                    .filter(|&j| s.is_valid(j))
                    .map(|j| s.value(j))
                    .collect()
            }
            DataType::LargeUtf8 => {
                let s = v.as_string::<i64>();
                (a..b)
                    .filter(|&j| s.is_valid(j))
                    .map(|j| s.value(j))
                    .collect()
            }
            _ => {
                let s = v.as_string_view();
                (a..b)
                    .filter(|&j| s.is_valid(j))
                    .map(|j| s.value(j))
                    .collect()
            }
        }
    }
}

/// Reads a JSON file, or `None` when it does not exist.
pub fn json_file(path: &Path) -> Result<Option<serde_json::Value>> {
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|source| Error::Json {
            path: path.to_path_buf(),
            source,
        })
}

/// A stable 64-bit key of an id, for deterministic sampling.
pub fn sample_key(id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(id.as_bytes())
}
