//! Parquet inputs: read by record batch; extra columns keep their types,
//! mapped ones are cast to text (an int id becomes its decimal text).

use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch, new_null_array};
use arrow_cast::display::array_value_to_string;
use arrow_schema::{DataType, TimeUnit};
use ore_core::{Dataset, Manifest};

use super::super::write_rejects;
use super::rows::{Fields, Time};
use super::{BATCH_ROWS, Mapping, TableConfig, create_sink};
use crate::error::{Result, TokenizeError};

/// A mapped time column, by its type.
enum TimeColumn {
    Text(ArrayRef),
    Seconds(ArrayRef),
    Micros(ArrayRef),
}

impl TimeColumn {
    fn of(array: &ArrayRef) -> Result<Self> {
        let ty = array.data_type();
        Ok(if ty.is_numeric() {
            TimeColumn::Seconds(arrow_cast::cast(array, &DataType::Float64)?)
        } else if matches!(
            ty,
            DataType::Timestamp(..) | DataType::Date32 | DataType::Date64
        ) {
            let micros = DataType::Timestamp(TimeUnit::Microsecond, None);
            TimeColumn::Micros(arrow_cast::cast(array, &micros)?)
        } else {
            TimeColumn::Text(arrow_cast::cast(array, &DataType::Utf8)?)
        })
    }

    fn get(&self, i: usize) -> Time<'_> {
        let a: &dyn Array = match self {
            TimeColumn::Text(a) | TimeColumn::Seconds(a) | TimeColumn::Micros(a) => a.as_ref(),
        };
        if a.is_null(i) {
            return Time::Missing;
        }
        match self {
            TimeColumn::Text(a) => Time::Text(a.as_string::<i32>().value(i)),
            TimeColumn::Seconds(a) => Time::Seconds(a.as_primitive::<Float64Type>().value(i)),
            TimeColumn::Micros(a) => {
                Time::Micros(a.as_primitive::<TimestampMicrosecondType>().value(i))
            }
        }
    }
}

/// Row `i` of a column cast to utf8 (`None`: null, or no such column).
fn value(a: &Option<ArrayRef>, i: usize) -> Option<&str> {
    a.as_ref()
        .filter(|a| a.is_valid(i))
        .map(|a| a.as_string::<i32>().value(i))
}

/// The row as a JSON object of its values' text (for `_rejects/`).
fn row_json(batch: &RecordBatch, row: usize) -> String {
    let map: serde_json::Map<String, serde_json::Value> = batch
        .schema()
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(f, a)| {
            let v = if a.is_null(row) {
                serde_json::Value::Null
            } else {
                array_value_to_string(a, row).map_or(serde_json::Value::Null, Into::into)
            };
            (f.name().clone(), v)
        })
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// Imports Parquet `files` into a `documents` dataset at `output`.
pub(crate) fn import(files: &[PathBuf], output: &Path, config: &TableConfig) -> Result<Manifest> {
    let datasets = files
        .iter()
        .map(Dataset::open)
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let mut names: Vec<String> = Vec::new();
    let mut types: Vec<DataType> = Vec::new();
    for (path, ds) in files.iter().zip(&datasets) {
        for field in ds.schema().fields() {
            match names.iter().position(|n| n == field.name()) {
                None => {
                    names.push(field.name().clone());
                    types.push(field.data_type().clone());
                }
                Some(i) if &types[i] != field.data_type() => {
                    return Err(TokenizeError::Input {
                        path: path.clone(),
                        message: format!(
                            "column `{}` is {} here but {} in an earlier file",
                            field.name(),
                            field.data_type(),
                            types[i]
                        ),
                    });
                }
                Some(_) => {}
            }
        }
    }
    let mapping = Mapping::resolve(&names, config, files)?;
    let extra_types: Vec<DataType> = mapping
        .extra
        .iter()
        .map(|(i, _)| types[*i].clone())
        .collect();
    let schema = mapping.schema(&extra_types, config);
    let mut sink = create_sink(output, schema, config)?;
    for (path, ds) in files.iter().zip(&datasets) {
        let source = path.display().to_string();
        let mut rows_in = 0u64;
        let mut rejected = Vec::new();
        for batch in ds.batches(BATCH_ROWS) {
            let batch = batch?;
            let column = |i: Option<usize>| i.and_then(|i| batch.column_by_name(&names[i]));
            let text_of = |i: Option<usize>| -> Result<Option<ArrayRef>> {
                Ok(match column(i) {
                    Some(a) => Some(arrow_cast::cast(a, &DataType::Utf8)?),
                    None => None,
                })
            };
            let text = text_of(Some(mapping.text))?;
            let id = text_of(mapping.id)?;
            let title = text_of(mapping.title)?;
            let url = text_of(mapping.url)?;
            let lang = text_of(mapping.lang)?;
            let time = column(mapping.time).map(TimeColumn::of).transpose()?;
            let mut keep = Vec::with_capacity(batch.num_rows());
            for i in 0..batch.num_rows() {
                let line = rows_in + i as u64 + 1;
                let fields = Fields {
                    text: value(&text, i),
                    id: value(&id, i).map(String::from),
                    title: value(&title, i),
                    url: value(&url, i),
                    lang: value(&lang, i),
                    time: time.as_ref().map(|t| t.get(i)),
                };
                match sink.admit.admit(line, fields, || row_json(&batch, i)) {
                    Ok(()) => keep.push(true),
                    Err(r) => {
                        keep.push(false);
                        rejected.push(r);
                    }
                }
            }
            rows_in += batch.num_rows() as u64;
            let mask = BooleanArray::from(keep);
            let kept = mask.true_count();
            let extra = mapping
                .extra
                .iter()
                .zip(&extra_types)
                .map(|((i, _), ty)| match column(Some(*i)) {
                    Some(a) => Ok(arrow_select::filter::filter(a, &mask)?),
                    None => Ok(new_null_array(ty, kept)),
                })
                .collect::<Result<Vec<ArrayRef>>>()?;
            sink.flush(&source, extra)?;
            write_rejects(&mut sink.out, &source, &std::mem::take(&mut rejected))?;
        }
        sink.out.count_input(rows_in);
        sink.out.add_input_file(path, rows_in)?;
    }
    sink.commit("parquet")
}
