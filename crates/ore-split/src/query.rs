//! `ore query`: polars SQL over a dataset folder or file; the table is
//! `self`.
//!
//! The part files are listed the way every ore reader lists them (names
//! starting with `_` or `.` skipped, so `_rejects/` is not read) and handed
//! to polars' lazy Parquet scan, which reads only the columns and row
//! groups the query needs. The result comes back as Arrow record batches,
//! through an in-memory Parquet file, for ore's table printer and writer.

use std::path::Path;

use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_schema::SchemaRef;
use ore_core::Dataset;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use polars::prelude::*;
use polars::sql::SQLContext;

use crate::error::{Result, SplitError};

/// The table name a query reads.
pub const TABLE: &str = "self";

/// A query's result.
#[derive(Debug, Clone)]
pub struct QueryResult {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

impl QueryResult {
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// Runs `sql` over the dataset at `path`.
pub fn query(path: &Path, sql: &str) -> Result<QueryResult> {
    let dataset = Dataset::open(path)?;
    let paths: Vec<PlRefPath> = dataset
        .files()
        .iter()
        .map(|f| PlRefPath::new(f.path.to_string_lossy().into_owned()))
        .collect();
    let args = ScanArgsParquet {
        glob: false,
        hive_options: HiveOptions::new_disabled(),
        ..ScanArgsParquet::default()
    };
    let frame = LazyFrame::scan_parquet_files(paths.into_iter().collect(), args)
        .map_err(|e| polars_error(path, e))?;
    let mut ctx = SQLContext::new();
    ctx.register(TABLE, frame);
    let mut result = ctx
        .execute(sql)
        .and_then(LazyFrame::collect)
        .map_err(|e| polars_error(path, e))?;
    to_arrow(&mut result, path)
}

/// One line naming the dataset and what polars said.
fn polars_error(path: &Path, e: PolarsError) -> SplitError {
    let kind = match &e {
        PolarsError::SQLSyntax(_) => "SQL syntax error",
        PolarsError::SQLInterface(_) => "SQL error",
        PolarsError::ColumnNotFound(_) => "no such column",
        _ => "query failed",
    };
    let detail = match &e {
        PolarsError::SQLSyntax(m)
        | PolarsError::SQLInterface(m)
        | PolarsError::ColumnNotFound(m)
        | PolarsError::ComputeError(m)
        | PolarsError::InvalidOperation(m)
        | PolarsError::SchemaMismatch(m) => m.to_string(),
        other => other.to_string(),
    };
    let detail = detail.split_whitespace().collect::<Vec<_>>().join(" ");
    SplitError::Query(format!("{}: {kind}: {detail}", path.display()))
}

/// The frame as Arrow record batches, by way of an in-memory Parquet file.
fn to_arrow(frame: &mut DataFrame, path: &Path) -> Result<QueryResult> {
    let mut bytes = Vec::new();
    ParquetWriter::new(&mut bytes)
        .with_compression(ParquetCompression::Uncompressed)
        .finish(frame)
        .map_err(|e| polars_error(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
        .and_then(|b| b.with_batch_size(8192).build())
        .map_err(|e| SplitError::Query(format!("{}: reading the result: {e}", path.display())))?;
    let schema = reader.schema();
    let batches = reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| SplitError::Query(format!("{}: reading the result: {e}", path.display())))?;
    Ok(QueryResult { schema, batches })
}
