//! A conditional re-crawl's view of the previous crawl (`--previous DIR`):
//! the `ETag` and `Last-Modified` of each of its documents, sent back as
//! `If-None-Match` / `If-Modified-Since`, and the documents themselves,
//! carried over when the server answers 304 Not Modified.
//!
//! Only compact keys stay in memory (URL → validators and where the row
//! is); the rows are spilled as JSON lines into the crawl state folder and
//! read back one at a time, for the pages that come back 304.
//!
//! A carried page's links are the `links` column of the previous crawl:
//! every link found on the page before the scope rules, which is what
//! extracting the same HTML again would give. They go through this crawl's
//! scope rules and seen-set like the links of a page fetched now, so a
//! re-crawl reaches the same pages as a full crawl of an unchanged site,
//! whatever changed in between.
//!
//! A carried row records this run's fetch (`status` 304, `fetched_at`: when
//! the page was last confirmed unchanged, `not_modified`) and the previous
//! document's content. Its text is the one the previous crawl committed,
//! site chrome already removed, and is not stripped again; since removed
//! lines no longer count as repeated, a re-crawl in which few pages changed
//! learns less chrome from them.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use ore_core::Dataset;
use ore_core::column::StrColumn;

use crate::error::{Error, Result};
use crate::fetch::Validators;
use crate::row::Row;

/// The columns read from the previous crawl.
const COLUMNS: &[&str] = &[
    "url",
    "content_type",
    "charset",
    "lang",
    "title",
    "text",
    "html_sha256",
    "title_source",
    "charset_source",
    "out_links",
    "line_ids",
    "etag",
    "last_modified",
    "links",
];

/// The file the previous rows are spilled to, in the crawl state folder.
pub const SPILL_FILE: &str = "previous.jsonl";

#[derive(Debug)]
struct Entry {
    validators: Validators,
    offset: u64,
    len: usize,
}

/// The documents of the previous crawl that can be asked for conditionally.
#[derive(Debug)]
pub struct Previous {
    path: PathBuf,
    dataset: Dataset,
    /// The spilled rows, once [`Previous::load`] wrote them.
    spill: Option<(File, PathBuf)>,
    index: HashMap<String, Entry>,
}

fn error(path: &Path, message: impl std::fmt::Display) -> Error {
    Error::Previous {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

impl Previous {
    /// Opens the previous crawl at `path`. A folder that is not a crawl's
    /// output, or one written before ore recorded the columns read here,
    /// is an error naming the path.
    pub fn open(path: &Path) -> Result<Self> {
        let dataset = Dataset::open(path).map_err(|e| error(path, e))?;
        if let Some(manifest) = dataset.manifest_json().map_err(|e| error(path, e))?
            && let Some(stage) = manifest.get("stage").and_then(|s| s.as_str())
            && stage != "crawl"
        {
            return Err(error(
                path,
                format!("written by stage `{stage}`, not by a crawl"),
            ));
        }
        let missing: Vec<&str> = COLUMNS
            .iter()
            .copied()
            .filter(|c| dataset.schema().index_of(c).is_err())
            .collect();
        if !missing.is_empty() {
            return Err(error(
                path,
                format!(
                    "no column {} (a crawl made before ore kept them): crawl once without --previous",
                    missing
                        .iter()
                        .map(|c| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        Ok(Self {
            path: path.to_path_buf(),
            dataset,
            spill: None,
            index: HashMap::new(),
        })
    }

    /// Reads the previous crawl's documents that have an ETag or a
    /// Last-Modified, spilling them into `state_dir`.
    pub fn load(&mut self, state_dir: &Path) -> Result<()> {
        let path = self.path.as_path();
        let spill_path = state_dir.join(SPILL_FILE);
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&spill_path)
            .map_err(|e| Error::state(&spill_path, e))?;
        let mut writer = BufWriter::new(file);
        let mut index = HashMap::new();
        let mut offset = 0u64;
        for batch in self
            .dataset
            .batches_of(COLUMNS, 1024)
            .map_err(|e| error(path, e))?
        {
            let batch = batch.map_err(|e| error(path, e))?;
            for row in rows(&batch, path)? {
                if row.etag.is_none() && row.last_modified.is_none() {
                    continue;
                }
                let line = serde_json::to_vec(&row).map_err(|e| Error::state(&spill_path, e))?;
                writer
                    .write_all(&line)
                    .and_then(|()| writer.write_all(b"\n"))
                    .map_err(|e| Error::state(&spill_path, e))?;
                let validators = Validators {
                    etag: row.etag,
                    last_modified: row.last_modified,
                };
                index.insert(
                    row.url,
                    Entry {
                        validators,
                        offset,
                        len: line.len(),
                    },
                );
                offset += line.len() as u64 + 1;
            }
        }
        let spill = writer
            .into_inner()
            .map_err(|e| Error::state(&spill_path, e.error()))?;
        self.spill = Some((spill, spill_path));
        self.index = index;
        Ok(())
    }

    /// The previous crawl's dataset (recorded among the inputs).
    pub fn dataset(&self) -> &Dataset {
        &self.dataset
    }

    /// Documents that can be asked for conditionally.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The validators to send for a canonical URL.
    pub fn validators(&self, url: &str) -> Option<Validators> {
        self.index.get(url).map(|e| e.validators.clone())
    }

    /// Fills a row the server answered 304 for with the previous
    /// document: its content, its links and its validators where the 304
    /// sent none. The row keeps what this fetch recorded (status 304,
    /// `fetched_at`, final URL, depth, parent, lastmod).
    pub fn carry(&mut self, row: &mut Row) -> Result<()> {
        let (Some(entry), Some((spill, spill_path))) = (self.index.get(&row.url), &mut self.spill)
        else {
            // Validators are sent only for indexed URLs; a 304 for another
            // would be a server's error: nothing to carry.
            row.not_modified = false;
            row.reject = Some("http_304".into());
            row.detail = Some("304 Not Modified without a previous document".into());
            return Ok(());
        };
        let mut line = vec![0; entry.len];
        spill
            .seek(SeekFrom::Start(entry.offset))
            .and_then(|_| spill.read_exact(&mut line))
            .map_err(|e| Error::state(&*spill_path, e))?;
        let old: Row = serde_json::from_slice(&line).map_err(|e| Error::state(&*spill_path, e))?;
        row.content_type = old.content_type;
        row.charset = old.charset;
        row.charset_source = old.charset_source;
        row.lang = old.lang;
        row.title = old.title;
        row.title_source = old.title_source;
        row.text = old.text;
        row.line_ids = old.line_ids;
        row.html_sha256 = old.html_sha256;
        row.out_links = old.out_links;
        row.page_links = old.page_links;
        row.etag = row.etag.take().or(old.etag);
        row.last_modified = row.last_modified.take().or(old.last_modified);
        Ok(())
    }
}

/// The rows of a batch of [`COLUMNS`], as much of a [`Row`] as they hold.
fn rows(batch: &RecordBatch, path: &Path) -> Result<Vec<Row>> {
    let s = |name: &str| StrColumn::of(batch, name, path).map_err(|e| error(path, e));
    let (url, content_type, charset, lang) =
        (s("url")?, s("content_type")?, s("charset")?, s("lang")?);
    let (title, text, html_sha256) = (s("title")?, s("text")?, s("html_sha256")?);
    let (title_source, charset_source) = (s("title_source")?, s("charset_source")?);
    let (etag, last_modified) = (s("etag")?, s("last_modified")?);
    let column = |name: &str| {
        batch
            .column_by_name(name)
            .ok_or_else(|| error(path, format!("no column `{name}`")))
    };
    let out_links = column("out_links")?;
    let out_links = out_links
        .as_primitive_opt::<arrow_array::types::UInt32Type>()
        .ok_or_else(|| error(path, "column `out_links` is not uint32"))?;
    let list = |name: &str| -> Result<Vec<Vec<String>>> {
        let col = column(name)?;
        let list = col
            .as_list_opt::<i32>()
            .ok_or_else(|| error(path, format!("column `{name}` is not a list of strings")))?;
        (0..list.len())
            .map(|i| {
                if list.is_null(i) {
                    return Ok(Vec::new());
                }
                let values = list.value(i);
                let values = values.as_string_opt::<i32>().ok_or_else(|| {
                    error(path, format!("column `{name}` is not a list of strings"))
                })?;
                Ok(values.iter().map(|v| v.unwrap_or("").to_string()).collect())
            })
            .collect()
    };
    let (line_ids, links) = (list("line_ids")?, list("links")?);
    let owned = |c: &StrColumn, i| c.get(i).map(str::to_string);
    Ok(line_ids
        .into_iter()
        .zip(links)
        .enumerate()
        .map(|(i, (line_ids, page_links))| Row {
            url: url.get(i).unwrap_or("").to_string(),
            content_type: owned(&content_type, i),
            charset: owned(&charset, i),
            lang: owned(&lang, i),
            title: owned(&title, i),
            text: text.get(i).unwrap_or("").to_string(),
            html_sha256: owned(&html_sha256, i),
            title_source: owned(&title_source, i),
            charset_source: owned(&charset_source, i),
            out_links: if out_links.is_null(i) {
                0
            } else {
                out_links.value(i)
            },
            line_ids,
            page_links,
            etag: owned(&etag, i),
            last_modified: owned(&last_modified, i),
            ..Row::default()
        })
        .collect())
}
