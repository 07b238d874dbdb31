//! What every input format shares: a row's admission (text present, id
//! unique, time parsed) and the `documents` columns of the kept rows.

use std::sync::Arc;

use arrow_array::builder::{StringBuilder, TimestampMicrosecondBuilder};
use arrow_array::{ArrayRef, RecordBatch, StringArray, UInt16Array, UInt32Array, UInt64Array};
use arrow_schema::{DataType, Field, SchemaRef};
use ore_core::ids;
use ore_core::schema::{documents, documents_schema};
use rustc_hash::{FxHashMap, FxHashSet};

use super::super::Rejected;
use super::{DUPLICATE_ID, NO_ID, NO_TEXT};

/// Column with the input file of each row.
pub const SOURCE: &str = "source";
/// Column with the line a row starts on (the row number for Parquet).
pub const LINE: &str = "line";

/// The `documents` columns as an import writes them: `doc_id` and `text`
/// are always set; the crawl's other non-null columns (`url`, `final_url`,
/// `status`, `fetched_at`, `html_sha256`, `depth`) are null when the input
/// does not say, so they are nullable here. Then `source` and `line`.
pub fn base_fields() -> Vec<Field> {
    let mut fields: Vec<Field> = documents_schema()
        .fields()
        .iter()
        .map(|f| {
            let keep = f.name() == documents::DOC_ID || f.name() == documents::TEXT;
            f.as_ref().clone().with_nullable(!keep)
        })
        .collect();
    fields.push(Field::new(SOURCE, DataType::Utf8, false));
    fields.push(Field::new(LINE, DataType::UInt64, false));
    fields
}

/// A time value as the input gives it.
#[derive(Debug, Clone, Copy)]
pub enum Time<'a> {
    Missing,
    /// Unix seconds or RFC 3339.
    Text(&'a str),
    Seconds(f64),
    Micros(i64),
}

/// The mapped values of one input row.
#[derive(Debug, Default)]
pub struct Fields<'a> {
    pub text: Option<&'a str>,
    /// The mapped id column's value (`None` when not mapped).
    pub id: Option<String>,
    pub title: Option<&'a str>,
    pub url: Option<&'a str>,
    pub lang: Option<&'a str>,
    pub time: Option<Time<'a>>,
}

/// How ids are made, with the ids seen so far in this import.
#[derive(Debug)]
enum Ids {
    /// The mapped id column: a second row with an id is a duplicate.
    Mapped(FxHashSet<String>),
    /// A content hash of the text ([`ids::doc_id`], the crawl's hash); the
    /// k-th repeat of a text (k ≥ 1) gets `HASH-k`, so every row is kept
    /// (exact duplicates are clean's to drop, with its own reason) and the
    /// ids stay stable when rows are appended.
    Hashed(FxHashMap<String, u32>),
}

/// Decides each row's fate and gathers the kept rows' columns.
#[derive(Debug)]
pub struct Admit {
    ids: Ids,
    /// Time values present but neither unix seconds nor RFC 3339.
    pub time_unparsed: u64,
    doc_id: Vec<String>,
    url: Vec<Option<String>>,
    lang: Vec<Option<String>>,
    title: Vec<Option<String>>,
    text: Vec<String>,
    fetched_at: Vec<Option<i64>>,
    line: Vec<u64>,
}

impl Admit {
    pub fn new(mapped_id: bool) -> Self {
        Self {
            ids: if mapped_id {
                Ids::Mapped(FxHashSet::default())
            } else {
                Ids::Hashed(FxHashMap::default())
            },
            time_unparsed: 0,
            doc_id: Vec::new(),
            url: Vec::new(),
            lang: Vec::new(),
            title: Vec::new(),
            text: Vec::new(),
            fetched_at: Vec::new(),
            line: Vec::new(),
        }
    }

    /// Rows gathered since the last [`Admit::take_batch`].
    pub fn len(&self) -> usize {
        self.doc_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.doc_id.is_empty()
    }

    /// Keeps the row (`Ok`) or says why not; `raw` gives the rejected
    /// row's content.
    pub fn admit(
        &mut self,
        line: u64,
        f: Fields<'_>,
        raw: impl FnOnce() -> String,
    ) -> Result<(), Rejected> {
        let reject = |reason, detail: String| Rejected {
            line,
            content: raw(),
            reason,
            detail: format!("line {line}: {detail}"),
        };
        let Some(text) = f.text.filter(|t| !t.trim().is_empty()) else {
            return Err(reject(NO_TEXT, "no text".into()));
        };
        let doc_id = match &mut self.ids {
            Ids::Mapped(seen) => {
                let Some(id) = f.id.filter(|id| !id.is_empty()) else {
                    return Err(reject(NO_ID, "no id".into()));
                };
                if !seen.insert(id.clone()) {
                    return Err(reject(DUPLICATE_ID, format!("id `{id}` seen before")));
                }
                id
            }
            Ids::Hashed(seen) => {
                let hash = ids::doc_id(text);
                let repeats = seen.entry(hash.clone()).or_default();
                let id = match *repeats {
                    0 => hash,
                    k => format!("{hash}-{k}"),
                };
                *repeats += 1;
                id
            }
        };
        let parsed = |t: Option<i64>| (t, t.is_none());
        let (fetched_at, unparsed) = match f.time.unwrap_or(Time::Missing) {
            Time::Missing => (None, false),
            Time::Text(s) if s.trim().is_empty() => (None, false),
            Time::Micros(us) => (Some(us), false),
            Time::Seconds(s) => parsed(seconds_to_micros(s)),
            Time::Text(s) => parsed(parse_time(s)),
        };
        self.time_unparsed += u64::from(unparsed);
        self.doc_id.push(doc_id);
        self.url.push(f.url.map(String::from));
        self.lang.push(f.lang.map(String::from));
        self.title.push(f.title.map(String::from));
        self.text.push(text.to_string());
        self.fetched_at.push(fetched_at);
        self.line.push(line);
        Ok(())
    }

    /// The `documents` columns (and `source`, `line`) of the rows gathered
    /// so far, which it forgets.
    pub fn take_columns(&mut self, source: &str) -> Vec<ArrayRef> {
        let n = self.len();
        let strings = |v: Vec<Option<String>>| -> ArrayRef { Arc::new(StringArray::from(v)) };
        let nulls = || -> ArrayRef { Arc::new(StringArray::from(vec![None::<&str>; n])) };
        let url = std::mem::take(&mut self.url);
        let mut fetched = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
        fetched.extend(std::mem::take(&mut self.fetched_at));
        let mut source_column = StringBuilder::with_capacity(n, source.len() * n);
        for _ in 0..n {
            source_column.append_value(source);
        }
        vec![
            Arc::new(StringArray::from(std::mem::take(&mut self.doc_id))),
            strings(url.clone()),
            strings(url),
            Arc::new(UInt16Array::from(vec![None::<u16>; n])),
            Arc::new(fetched.finish()),
            nulls(),
            nulls(),
            strings(std::mem::take(&mut self.lang)),
            strings(std::mem::take(&mut self.title)),
            Arc::new(StringArray::from(std::mem::take(&mut self.text))),
            nulls(),
            Arc::new(UInt32Array::from(vec![None::<u32>; n])),
            nulls(),
            Arc::new(source_column.finish()),
            Arc::new(UInt64Array::from(std::mem::take(&mut self.line))),
        ]
    }
}

/// A batch of `schema`: the base columns, then `extra` (in schema order).
pub fn batch(schema: &SchemaRef, mut base: Vec<ArrayRef>, extra: Vec<ArrayRef>) -> RecordBatch {
    base.extend(extra);
    RecordBatch::try_new(schema.clone(), base).expect("columns follow the import schema")
}

fn seconds_to_micros(s: f64) -> Option<i64> {
    let us = (s * 1e6).round();
    (us.is_finite() && us.abs() < 9.0e18).then_some(us as i64)
}

/// Unix seconds (an integer or a decimal) or an RFC 3339 date-time, as UTC
/// microseconds.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<i64>() {
        return secs.checked_mul(1_000_000);
    }
    if let Ok(secs) = s.parse::<f64>() {
        return seconds_to_micros(secs);
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_seconds_and_rfc3339_agree() {
        let us = 1_700_000_000_000_000;
        assert_eq!(parse_time("1700000000"), Some(us));
        assert_eq!(parse_time("1700000000.5"), Some(us + 500_000));
        assert_eq!(parse_time("2023-11-14T22:13:20Z"), Some(us));
        assert_eq!(parse_time("2023-11-15T06:13:20+08:00"), Some(us));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("NaN"), None);
    }

    #[test]
    fn repeated_texts_get_distinct_stable_ids() {
        let mut admit = Admit::new(false);
        for line in 1..=3 {
            let f = Fields {
                text: Some("同一句话"),
                ..Fields::default()
            };
            admit.admit(line, f, String::new).unwrap();
        }
        let hash = ids::doc_id("同一句话");
        assert_eq!(
            admit.doc_id,
            [hash.clone(), format!("{hash}-1"), format!("{hash}-2")]
        );
    }
}
