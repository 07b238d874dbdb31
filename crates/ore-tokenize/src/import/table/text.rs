//! Line-based inputs (JSONL, CSV, TSV, plain lines), plain or compressed
//! (`.gz`, `.zst`), read as they stream: one line, or one CSV record, in
//! memory at a time.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;

use super::super::{MALFORMED_LINE, Rejected};
use super::TableFormat;
use crate::error::{Result, TokenizeError};

/// The input's lines, decompressed by its extension.
pub(crate) struct Lines {
    reader: Box<dyn BufRead>,
    path: PathBuf,
    number: u64,
    buf: Vec<u8>,
}

/// One line, with its terminator (`\n`, `\r\n` or none at the end).
#[derive(Debug)]
pub(crate) struct Line {
    pub(crate) number: u64,
    pub(crate) text: String,
    /// False when the bytes were not UTF-8 (`text` is then lossy).
    pub(crate) utf8: bool,
}

impl Line {
    /// The line without its terminator.
    pub(crate) fn body(&self) -> &str {
        let s = self.text.strip_suffix('\n').unwrap_or(&self.text);
        s.strip_suffix('\r').unwrap_or(s)
    }

    fn terminator(&self) -> &str {
        &self.text[self.body().len()..]
    }
}

impl Lines {
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let io = |e| TokenizeError::io(path, e);
        let file = File::open(path).map_err(io)?;
        let name = path.to_string_lossy();
        let reader: Box<dyn BufRead> = if name.ends_with(".gz") {
            let gz = flate2::bufread::MultiGzDecoder::new(BufReader::new(file));
            Box::new(BufReader::with_capacity(1 << 16, gz))
        } else if name.ends_with(".zst") {
            let zst = zstd::stream::read::Decoder::new(file).map_err(io)?;
            Box::new(BufReader::with_capacity(1 << 16, zst))
        } else {
            Box::new(BufReader::with_capacity(1 << 16, file))
        };
        Ok(Self {
            reader,
            path: path.to_path_buf(),
            number: 0,
            buf: Vec::new(),
        })
    }

    pub(crate) fn next_line(&mut self) -> Result<Option<Line>> {
        self.buf.clear();
        let n = self
            .reader
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| TokenizeError::io(&self.path, e))?;
        if n == 0 {
            return Ok(None);
        }
        self.number += 1;
        let mut bytes = self.buf.as_slice();
        if self.number == 1 {
            bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        }
        let (text, utf8) = match std::str::from_utf8(bytes) {
            Ok(s) => (s.to_string(), true),
            Err(_) => (String::from_utf8_lossy(bytes).into_owned(), false),
        };
        Ok(Some(Line {
            number: self.number,
            text,
            utf8,
        }))
    }
}

/// The columns of all inputs, in the order first seen.
#[derive(Debug, Default)]
pub(crate) struct Columns {
    pub(crate) names: Vec<String>,
    index: FxHashMap<String, usize>,
}

impl Columns {
    pub(crate) fn add(&mut self, name: &str) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), self.names.len() - 1);
        self.names.len() - 1
    }

    pub(crate) fn get(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }
}

/// One input record: its values by [`Columns`] index, or why it is
/// malformed.
#[derive(Debug)]
pub(crate) enum Record {
    Row {
        line: u64,
        raw: String,
        values: Vec<Option<String>>,
    },
    Bad(Rejected),
}

fn malformed(line: u64, raw: String, why: &str) -> Record {
    Record::Bad(Rejected {
        line,
        content: raw,
        reason: MALFORMED_LINE,
        detail: format!("line {line}: {why}"),
    })
}

/// Name of column `i` (0-based) of a CSV or TSV file without a header.
pub(crate) fn headerless_name(i: usize) -> String {
    format!("column_{}", i + 1)
}

fn delimiter(format: TableFormat) -> char {
    if format == TableFormat::Tsv {
        '\t'
    } else {
        ','
    }
}

/// Adds the columns of `path` to `columns`: every key of a JSONL file,
/// the header (or `column_1`… as many as the first record has) of a CSV or
/// TSV file, `text_column` for plain lines.
pub(crate) fn scan(
    path: &Path,
    format: TableFormat,
    csv_header: bool,
    text_column: &str,
    columns: &mut Columns,
) -> Result<()> {
    let mut lines = Lines::open(path)?;
    match format {
        TableFormat::Jsonl => {
            while let Some(line) = lines.next_line()? {
                if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(line.body()) {
                    for key in map.keys() {
                        columns.add(key);
                    }
                }
            }
        }
        TableFormat::Csv | TableFormat::Tsv => {
            if let Some(first) = next_csv(&mut lines, delimiter(format))? {
                let names = header_names(path, &first, csv_header)?;
                for name in &names {
                    columns.add(name);
                }
            }
        }
        _ => {
            columns.add(text_column);
        }
    }
    Ok(())
}

/// The column names the first record of a CSV file gives.
fn header_names(path: &Path, first: &CsvRecord, csv_header: bool) -> Result<Vec<String>> {
    let fields = first.fields.as_ref().map_err(|why| TokenizeError::Input {
        path: path.to_path_buf(),
        message: format!("line {}: {why}", first.line),
    })?;
    if !csv_header {
        return Ok((0..fields.len()).map(headerless_name).collect());
    }
    let mut seen = rustc_hash::FxHashSet::default();
    for name in fields {
        if !seen.insert(name) {
            return Err(TokenizeError::Input {
                path: path.to_path_buf(),
                message: format!("line {}: column `{name}` twice in the header", first.line),
            });
        }
    }
    Ok(fields.clone())
}

/// Calls `each` with every record of `path`. Blank lines between JSONL or
/// CSV records are not records; in `lines` format every line is one.
pub(crate) fn read(
    path: &Path,
    format: TableFormat,
    csv_header: bool,
    columns: &Columns,
    mut each: impl FnMut(Record) -> Result<()>,
) -> Result<()> {
    let mut lines = Lines::open(path)?;
    let unknown = |name: &str| TokenizeError::Input {
        path: path.to_path_buf(),
        message: format!("column `{name}` appeared after the scan (did the file change?)"),
    };
    match format {
        TableFormat::Jsonl => {
            while let Some(line) = lines.next_line()? {
                let body = line.body();
                if body.trim().is_empty() {
                    continue;
                }
                let n = line.number;
                if !line.utf8 {
                    each(malformed(n, body.to_string(), "not UTF-8"))?;
                    continue;
                }
                let record = match serde_json::from_str::<serde_json::Value>(body) {
                    Ok(serde_json::Value::Object(map)) => {
                        let mut values = vec![None; columns.names.len()];
                        for (key, value) in map {
                            let i = columns.get(&key).ok_or_else(|| unknown(&key))?;
                            values[i] = match value {
                                serde_json::Value::Null => None,
                                serde_json::Value::String(s) => Some(s),
                                other => Some(other.to_string()),
                            };
                        }
                        Record::Row {
                            line: n,
                            raw: body.to_string(),
                            values,
                        }
                    }
                    Ok(_) => malformed(n, body.to_string(), "not a JSON object"),
                    Err(e) => malformed(n, body.to_string(), &format!("bad JSON: {e}")),
                };
                each(record)?;
            }
        }
        TableFormat::Csv | TableFormat::Tsv => {
            let delim = delimiter(format);
            let Some(first) = next_csv(&mut lines, delim)? else {
                return Ok(());
            };
            let names = header_names(path, &first, csv_header)?;
            let slots = names
                .iter()
                .map(|name| columns.get(name).ok_or_else(|| unknown(name)))
                .collect::<Result<Vec<usize>>>()?;
            let mut pending = (!csv_header).then_some(first);
            loop {
                let record = match pending.take() {
                    Some(r) => r,
                    None => match next_csv(&mut lines, delim)? {
                        Some(r) => r,
                        None => break,
                    },
                };
                if record.raw.is_empty() {
                    continue;
                }
                let out = match record.fields {
                    Err(why) => malformed(record.line, record.raw, &why),
                    Ok(fields) if fields.len() != slots.len() => malformed(
                        record.line,
                        record.raw,
                        &format!("{} fields, not {}", fields.len(), slots.len()),
                    ),
                    Ok(fields) => {
                        let mut values = vec![None; columns.names.len()];
                        for (&slot, field) in slots.iter().zip(fields) {
                            values[slot] = Some(field);
                        }
                        Record::Row {
                            line: record.line,
                            raw: record.raw,
                            values,
                        }
                    }
                };
                each(out)?;
            }
        }
        _ => {
            while let Some(line) = lines.next_line()? {
                let body = line.body().to_string();
                let record = if line.utf8 {
                    Record::Row {
                        line: line.number,
                        raw: body.clone(),
                        values: vec![Some(body)],
                    }
                } else {
                    malformed(line.number, body, "not UTF-8")
                };
                each(record)?;
            }
        }
    }
    Ok(())
}

/// One CSV record: the line it starts on, its text as in the file (line
/// breaks inside quotes included, the final one not), and its fields or
/// why it is malformed.
#[derive(Debug)]
pub(crate) struct CsvRecord {
    pub(crate) line: u64,
    pub(crate) raw: String,
    pub(crate) fields: std::result::Result<Vec<String>, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a field.
    Start,
    Unquoted,
    Quoted,
    /// A `"` inside a quoted field: its end, or the first of `""`.
    QuoteInQuoted,
}

/// Reads the next record (RFC 4180: fields in `"` may hold the delimiter,
/// line breaks and `""` for a quote; CRLF or LF ends a record). A `"` in
/// the middle of an unquoted field is taken as it is; text after a closing
/// quote, or a quote never closed, makes the record malformed.
pub(crate) fn next_csv(lines: &mut Lines, delim: char) -> Result<Option<CsvRecord>> {
    let Some(mut line) = lines.next_line()? else {
        return Ok(None);
    };
    let start = line.number;
    let mut raw = String::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut state = State::Start;
    let mut error: Option<String> = None;
    loop {
        if !line.utf8 {
            error.get_or_insert_with(|| "not UTF-8".into());
        }
        raw.push_str(&line.text);
        for c in line.body().chars() {
            state = match (state, c) {
                (State::Start, '"') => State::Quoted,
                (State::Start | State::Unquoted | State::QuoteInQuoted, c) if c == delim => {
                    fields.push(std::mem::take(&mut field));
                    State::Start
                }
                (State::Start | State::Unquoted, c) => {
                    field.push(c);
                    State::Unquoted
                }
                (State::Quoted, '"') => State::QuoteInQuoted,
                (State::Quoted, c) => {
                    field.push(c);
                    State::Quoted
                }
                (State::QuoteInQuoted, '"') => {
                    field.push('"');
                    State::Quoted
                }
                (State::QuoteInQuoted, c) => {
                    error.get_or_insert_with(|| format!("`{c}` after a closing quote"));
                    field.push(c);
                    State::Unquoted
                }
            };
        }
        if state != State::Quoted {
            break;
        }
        field.push_str(line.terminator());
        match lines.next_line()? {
            Some(next) => line = next,
            None => {
                error.get_or_insert_with(|| "a quoted field is never closed".into());
                break;
            }
        }
    }
    fields.push(field);
    let end = raw.trim_end_matches(['\n', '\r']).len();
    raw.truncate(end);
    Ok(Some(CsvRecord {
        line: start,
        raw,
        fields: error.map_or(Ok(fields), Err),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(text: &str, delim: char) -> Vec<CsvRecord> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, text).unwrap();
        let mut lines = Lines::open(&path).unwrap();
        let mut out = Vec::new();
        while let Some(r) = next_csv(&mut lines, delim).unwrap() {
            out.push(r);
        }
        out
    }

    #[test]
    fn quoted_newlines_doubled_quotes_and_crlf() {
        let r = records("a,b\r\n\"x, \"\"y\"\"\r\nz\",2\r\nplain,\"\"\r\n", ',');
        assert_eq!(r.len(), 3);
        assert_eq!(r[1].line, 2);
        assert_eq!(
            r[1].fields.as_ref().unwrap(),
            &["x, \"y\"\r\nz".to_string(), "2".to_string()]
        );
        assert_eq!(r[1].raw, "\"x, \"\"y\"\"\r\nz\",2");
        assert_eq!(r[2].line, 4);
        assert_eq!(r[2].fields.as_ref().unwrap(), &["plain", ""]);
    }

    #[test]
    fn unclosed_quote_and_text_after_quote_are_malformed() {
        let r = records("\"a\"b,c\n\"never\nclosed", ',');
        assert_eq!(r.len(), 2);
        assert!(r[0].fields.is_err());
        assert_eq!(r[1].line, 2);
        assert_eq!(
            r[1].fields.as_ref().unwrap_err(),
            "a quoted field is never closed"
        );
    }

    #[test]
    fn tsv_uses_tabs_and_the_same_quotes() {
        let r = records("a\tb,c\t\"d\te\"\n", '\t');
        assert_eq!(r[0].fields.as_ref().unwrap(), &["a", "b,c", "d\te"]);
    }
}
