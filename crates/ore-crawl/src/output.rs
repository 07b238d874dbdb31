//! Writing the saved rows as the stage's output: `documents` (the columns of
//! `ore_core::schema::documents_schema()` followed by the crawler's own, see
//! [`output_schema`]) and `_rejects/` (see [`rejects_schema`]).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{
    ArrayRef, BooleanArray, RecordBatch, StringArray, TimestampMicrosecondArray, UInt16Array,
    UInt32Array,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use ore_core::schema::{documents_schema, timestamp_type, utf8_list_type};
use ore_core::{StageOutput, ids};
use url::Url;

use crate::error::{Error, Result};
use crate::row::Row;

const BATCH: usize = 512;

/// `documents` plus the crawler's own columns: `title_source`,
/// `charset_source`, `out_links` (links found), `line_ids`, then `lastmod`
/// (the sitemap's, null when none or unparsable), `etag` and
/// `last_modified` (the response headers), `not_modified` (a re-crawl got a
/// 304 and carried the previous document over) and `links` (every link
/// found on the page, before the scope rules).
pub fn output_schema() -> SchemaRef {
    let mut fields: Vec<Field> = documents_schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new("title_source", DataType::Utf8, true));
    fields.push(Field::new("charset_source", DataType::Utf8, true));
    fields.push(Field::new("out_links", DataType::UInt32, false));
    fields.push(Field::new("line_ids", utf8_list_type(), false));
    fields.push(Field::new("lastmod", timestamp_type(), true));
    fields.push(Field::new("etag", DataType::Utf8, true));
    fields.push(Field::new("last_modified", DataType::Utf8, true));
    fields.push(Field::new("not_modified", DataType::Boolean, false));
    fields.push(Field::new("links", utf8_list_type(), false));
    Arc::new(Schema::new(fields))
}

/// Rejected URLs (`StageOutput` adds `reject_reason` and `reject_detail`).
pub fn rejects_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("url", DataType::Utf8, false),
        Field::new("final_url", DataType::Utf8, true),
        Field::new("parent_url", DataType::Utf8, true),
        Field::new("depth", DataType::UInt32, false),
        Field::new("status", DataType::UInt16, true),
        Field::new("content_type", DataType::Utf8, true),
        Field::new("fetched_at", timestamp_type(), false),
    ]))
}

/// Lines seen on at least this share of a host's pages are site chrome…
const CHROME_SHARE: f64 = 0.5;
/// …when the host has at least this many pages.
const CHROME_MIN_PAGES: usize = 10;

type Fixed = BuildHasherDefault<DefaultHasher>;

fn line_key(host: &str, line: &str) -> u64 {
    Fixed::default().hash_one((host, line))
}

fn host_of(row: &Row) -> String {
    Url::parse(row.final_url.as_deref().unwrap_or(&row.url))
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default()
}

/// Lines repeated on most pages of a host, found in a first pass.
#[derive(Debug, Default)]
pub struct Chrome {
    lines: HashSet<u64>,
}

impl Chrome {
    pub fn learn(rows: impl Iterator<Item = Result<Row>>) -> Result<Self> {
        let mut pages: HashMap<String, usize> = HashMap::new();
        let mut counts: HashMap<u64, (String, usize)> = HashMap::new();
        for row in rows {
            let row = row?;
            if !row.is_document() {
                continue;
            }
            let host = host_of(&row);
            *pages.entry(host.clone()).or_default() += 1;
            let distinct: HashSet<&str> = row
                .text
                .lines()
                .filter(|l| l.chars().count() <= 200)
                .collect();
            for line in distinct {
                counts
                    .entry(line_key(&host, line))
                    .or_insert_with(|| (host.clone(), 0))
                    .1 += 1;
            }
        }
        let lines = counts
            .into_iter()
            .filter(|(_, (host, n))| {
                let total = pages.get(host).copied().unwrap_or(0);
                total >= CHROME_MIN_PAGES && *n as f64 >= CHROME_SHARE * total as f64
            })
            .map(|(k, _)| k)
            .collect();
        Ok(Self { lines })
    }

    pub fn strip(&self, row: &mut Row) {
        if self.lines.is_empty() {
            return;
        }
        let host = host_of(row);
        let ids = std::mem::take(&mut row.line_ids);
        let has_ids = ids.len() == row.text.lines().count();
        let mut kept = Vec::new();
        for (i, line) in row.text.lines().enumerate() {
            if !self.lines.contains(&line_key(&host, line)) {
                kept.push(line);
                if has_ids {
                    row.line_ids.push(ids[i].clone());
                }
            }
        }
        row.text = kept.join("\n");
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

/// The `line_ids` column: one id per line of `text` (`""` where the page
/// gave none, or the row came from a state saved before the column).
fn line_ids(rows: &[Row]) -> ArrayRef {
    let mut b = ListBuilder::new(StringBuilder::new());
    for r in rows {
        let lines = if r.text.is_empty() {
            0
        } else {
            r.text.lines().count()
        };
        if r.line_ids.len() == lines {
            r.line_ids.iter().for_each(|id| b.values().append_value(id));
        } else {
            (0..lines).for_each(|_| b.values().append_value(""));
        }
        b.append(true);
    }
    Arc::new(b.finish())
}

/// The `links` column.
fn page_links(rows: &[Row]) -> ArrayRef {
    let mut b = ListBuilder::new(StringBuilder::new());
    for r in rows {
        r.page_links
            .iter()
            .for_each(|link| b.values().append_value(link));
        b.append(true);
    }
    Arc::new(b.finish())
}

/// Buffers rows and writes them in batches.
#[derive(Debug, Default)]
pub struct RowWriter {
    docs: Vec<Row>,
    rejects: Vec<Row>,
}

impl RowWriter {
    pub fn push(&mut self, out: &mut StageOutput, row: Row) -> Result<()> {
        out.count_input(1);
        if row.is_document() {
            self.docs.push(row);
            if self.docs.len() >= BATCH {
                self.flush_docs(out)?;
            }
        } else {
            self.rejects.push(row);
            if self.rejects.len() >= BATCH {
                self.flush_rejects(out)?;
            }
        }
        Ok(())
    }

    pub fn finish(mut self, out: &mut StageOutput) -> Result<()> {
        self.flush_docs(out)?;
        self.flush_rejects(out)
    }

    fn flush_docs(&mut self, out: &mut StageOutput) -> Result<()> {
        if self.docs.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.docs);
        let s = |f: fn(&Row) -> Option<&str>| -> ArrayRef {
            Arc::new(StringArray::from_iter(rows.iter().map(f)))
        };
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| ids::doc_id(&r.url)),
            )),
            s(|r| Some(&r.url)),
            s(|r| Some(r.final_url.as_deref().unwrap_or(&r.url))),
            Arc::new(UInt16Array::from_iter_values(
                rows.iter().map(|r| r.status.unwrap_or(0)),
            )),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(rows.iter().map(|r| r.fetched_at_us))
                    .with_timezone("UTC"),
            ),
            s(|r| r.content_type.as_deref()),
            s(|r| r.charset.as_deref()),
            s(|r| r.lang.as_deref()),
            s(|r| r.title.as_deref()),
            s(|r| Some(&r.text)),
            s(|r| Some(r.html_sha256.as_deref().unwrap_or(""))),
            Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.depth))),
            s(|r| r.parent_url.as_deref()),
            s(|r| r.title_source.as_deref()),
            s(|r| r.charset_source.as_deref()),
            Arc::new(UInt32Array::from_iter_values(
                rows.iter().map(|r| r.out_links),
            )),
            line_ids(&rows),
            Arc::new(
                TimestampMicrosecondArray::from_iter(rows.iter().map(|r| r.lastmod_us))
                    .with_timezone("UTC"),
            ),
            s(|r| r.etag.as_deref()),
            s(|r| r.last_modified.as_deref()),
            Arc::new(BooleanArray::from_iter(
                rows.iter().map(|r| Some(r.not_modified)),
            )),
            page_links(&rows),
        ];
        let batch = RecordBatch::try_new(output_schema(), columns)
            .map_err(|e| Error::Config(format!("documents batch: {e}")))?;
        out.write(&batch)?;
        Ok(())
    }

    fn flush_rejects(&mut self, out: &mut StageOutput) -> Result<()> {
        if self.rejects.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.rejects);
        let s = |f: fn(&Row) -> Option<&str>| -> ArrayRef {
            Arc::new(StringArray::from_iter(rows.iter().map(f)))
        };
        let columns: Vec<ArrayRef> = vec![
            s(|r| Some(&r.url)),
            s(|r| r.final_url.as_deref()),
            s(|r| r.parent_url.as_deref()),
            Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.depth))),
            Arc::new(UInt16Array::from_iter(rows.iter().map(|r| r.status))),
            s(|r| r.content_type.as_deref()),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(rows.iter().map(|r| r.fetched_at_us))
                    .with_timezone("UTC"),
            ),
        ];
        let batch = RecordBatch::try_new(rejects_schema(), columns)
            .map_err(|e| Error::Config(format!("rejects batch: {e}")))?;
        let reasons: Vec<&str> = rows
            .iter()
            .map(|r| r.reject.as_deref().unwrap_or("unknown"))
            .collect();
        let details: Vec<Option<String>> = rows.iter().map(|r| r.detail.clone()).collect();
        out.reject(&batch, &reasons, Some(&details))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chrome_lines_are_learned_per_host() {
        let rows: Vec<Result<Row>> = (0..12)
            .map(|i| {
                Ok(Row {
                    url: format!("http://a/{i}"),
                    text: format!("页面 {i} 的正文\n版权所有 © 示例\n捐助我们"),
                    ..Row::default()
                })
            })
            .collect();
        let chrome = Chrome::learn(rows.into_iter()).unwrap();
        assert_eq!(chrome.len(), 2);
        let mut row = Row {
            url: "http://a/x".into(),
            text: "新的\n捐助我们".into(),
            ..Row::default()
        };
        chrome.strip(&mut row);
        assert_eq!(row.text, "新的");
    }
}
