//! The ore side of the `parquet_io` benchmark pair (bench/pairs.toml; the
//! other side is bench/pyarrow_io.py with the same flags and output).
//!
//! Reads every `*.html` file under `--input` into memory (untimed), then
//! times writing them as a dataset of `part-NNNNN.parquet` files with
//! [`DatasetWriter`] and reading the dataset back with [`Dataset`]. Prints
//! one JSON line with rows, bytes, seconds and MB/s.
//!
//! ```text
//! cargo run --release -p ore-core --example parquet_io -- \
//!     --input datasets/sources/libreoffice-help-zh-cn/usr/share/libreoffice/help/zh-CN \
//!     --out /tmp/out --row-group-rows 4096 --rows-per-file 1024 --zstd-level 3
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use ore_core::{Dataset, DatasetWriter, WriteOptions, ids};

struct Args {
    input: PathBuf,
    out: PathBuf,
    opts: WriteOptions,
}

fn parse_args() -> Result<Args, String> {
    let mut input = None;
    let mut out = None;
    let mut opts = WriteOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        let number = |v: String| v.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--input" => input = Some(PathBuf::from(value()?)),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--row-group-rows" => opts.row_group_rows = number(value()?)?,
            "--rows-per-file" => opts.file_rows = number(value()?)?,
            "--zstd-level" => opts.zstd_level = number(value()?)? as i32,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(Args {
        input: input.ok_or("--input is required")?,
        out: out.ok_or("--out is required")?,
        opts,
    })
}

fn html_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            html_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "html") {
            out.push(path);
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let mut paths = Vec::new();
    html_files(&args.input, &mut paths)?;
    let mut rows: Vec<(String, String)> = paths
        .iter()
        .map(|p| {
            let rel = p.strip_prefix(&args.input).unwrap_or(p);
            let rel = rel.to_string_lossy().replace('\\', "/");
            let bytes = std::fs::read(p)?;
            Ok((rel, String::from_utf8_lossy(&bytes).into_owned()))
        })
        .collect::<std::io::Result<_>>()?;
    rows.sort();
    if rows.is_empty() {
        return Err(format!("no *.html files under {}", args.input.display()).into());
    }
    let text_bytes: usize = rows.iter().map(|(_, t)| t.len()).sum();

    let start = Instant::now();
    let schema = Arc::new(Schema::new(vec![
        Field::new("doc_id", DataType::Utf8, false),
        Field::new("url", DataType::Utf8, false),
        Field::new("text", DataType::Utf8, false),
    ]));
    let mut writer = DatasetWriter::create(&args.out, schema.clone(), args.opts.clone())?;
    for chunk in rows.chunks(args.opts.row_group_rows.max(1)) {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                chunk.iter().map(|(rel, _)| ids::doc_id(rel)),
            )),
            Arc::new(StringArray::from_iter_values(
                chunk.iter().map(|(rel, _)| rel.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                chunk.iter().map(|(_, text)| text.as_str()),
            )),
        ];
        writer.write(&RecordBatch::try_new(schema.clone(), columns)?)?;
    }
    writer.commit()?;
    let write_s = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let dataset = Dataset::open(&args.out)?;
    let mut read_rows = 0;
    let mut batches = Vec::new();
    for batch in dataset.batches(8192) {
        let batch = batch?;
        read_rows += batch.num_rows();
        batches.push(batch);
    }
    let read_s = start.elapsed().as_secs_f64();
    if read_rows != rows.len() {
        return Err(format!("read {read_rows} rows back, wrote {}", rows.len()).into());
    }
    let disk_bytes = dataset.num_bytes();
    let mb = text_bytes as f64 / 1e6;
    println!(
        "{{\"rows\":{},\"text_bytes\":{text_bytes},\"disk_bytes\":{disk_bytes},\"write_s\":{write_s},\"read_s\":{read_s},\"write_mb_s\":{},\"read_mb_s\":{}}}",
        rows.len(),
        mb / write_s,
        mb / read_s
    );
    Ok(())
}
