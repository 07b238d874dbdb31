//! Reading the columns the split groups and places rows by, whatever their
//! Arrow types (ids may be integers, times strings).

use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};

use crate::error::{Result, SplitError};

/// `batch` with every column that is not a string cast to `utf8`, so that
/// ids and keys of any type read as text.
pub(crate) fn as_strings(batch: RecordBatch, except: &[&str], path: &Path) -> Result<RecordBatch> {
    let is_str =
        |t: &DataType| matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
    let schema = batch.schema();
    if schema
        .fields()
        .iter()
        .all(|f| is_str(f.data_type()) || except.contains(&f.name().as_str()))
    {
        return Ok(batch);
    }
    let mut fields = Vec::with_capacity(schema.fields().len());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(fields.capacity());
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        if is_str(field.data_type()) || except.contains(&field.name().as_str()) {
            fields.push(field.as_ref().clone());
            columns.push(column.clone());
            continue;
        }
        let cast = arrow_cast::cast(column, &DataType::Utf8).map_err(|e| {
            SplitError::input(
                path,
                format!(
                    "column `{}` ({}) cannot be read as text: {e}",
                    field.name(),
                    field.data_type()
                ),
            )
        })?;
        fields.push(Field::new(field.name(), DataType::Utf8, true));
        columns.push(cast);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| SplitError::input(path, e.to_string()))
}

/// A time column as microseconds since the epoch (timestamps of any unit,
/// dates, or ISO 8601 strings); `None` where null.
pub(crate) fn micros(column: &ArrayRef, name: &str, path: &Path) -> Result<Vec<Option<i64>>> {
    let cast = arrow_cast::cast(column, &DataType::Timestamp(TimeUnit::Microsecond, None))
        .map_err(|e| {
            SplitError::input(
                path,
                format!(
                    "time column `{name}` ({}) is not a time: {e}",
                    column.data_type()
                ),
            )
        })?;
    let values = cast.as_primitive::<TimestampMicrosecondType>();
    Ok((0..values.len())
        .map(|i| values.is_valid(i).then(|| values.value(i)))
        .collect())
}
