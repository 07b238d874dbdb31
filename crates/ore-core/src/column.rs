//! Reading a text column whatever its Arrow string type (`utf8`,
//! `large_utf8` from polars, `utf8_view` from DuckDB or newer pyarrow).

use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;

use crate::error::{Error, Result};

/// A string column of a batch.
#[derive(Debug, Clone, Copy)]
pub enum StrColumn<'a> {
    Utf8(&'a arrow_array::StringArray),
    LargeUtf8(&'a arrow_array::LargeStringArray),
    Utf8View(&'a arrow_array::StringViewArray),
}

impl<'a> StrColumn<'a> {
    /// The column `name` of `batch`; `path` names the dataset in errors.
    pub fn of(batch: &'a RecordBatch, name: &str, path: &Path) -> Result<Self> {
        let column = batch.column_by_name(name).ok_or_else(|| Error::Arrow {
            path: path.to_path_buf(),
            message: format!("no column named `{name}`"),
        })?;
        match column.data_type() {
            DataType::Utf8 => Ok(StrColumn::Utf8(column.as_string::<i32>())),
            DataType::LargeUtf8 => Ok(StrColumn::LargeUtf8(column.as_string::<i64>())),
            DataType::Utf8View => Ok(StrColumn::Utf8View(column.as_string_view())),
            other => Err(Error::Arrow {
                path: path.to_path_buf(),
                message: format!("column `{name}` is {other}, expected a string column"),
            }),
        }
    }

    /// Row `i`, or `None` when null.
    pub fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            StrColumn::Utf8(a) => a.is_valid(i).then(|| a.value(i)),
            StrColumn::LargeUtf8(a) => a.is_valid(i).then(|| a.value(i)),
            StrColumn::Utf8View(a) => a.is_valid(i).then(|| a.value(i)),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            StrColumn::Utf8(a) => a.len(),
            StrColumn::LargeUtf8(a) => a.len(),
            StrColumn::Utf8View(a) => a.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
