//! CoNLL-2003 (`word POS chunk NER` a line) and two-column BIO (`token
//! TAG` a line) files: blank lines between sentences, `-DOCSTART-` between
//! documents; NER in IOB1 or IOB2. [`ConllConfig`] documents the settings,
//! `sample` among them.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use ore_core::Manifest;
use serde::{Deserialize, Serialize};

use super::sample::Sample;
use super::{BAD_TAG, ImportedRow, MALFORMED_LINE, NOT_SAMPLED, Parsed, Rejected, write_import};
use crate::entities::Entity;
use crate::error::{Result, TokenizeError};
use crate::segment::is_han;

/// How B- and I- tags are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    /// Either: an entity starts at `B-X`, or at `I-X` not continuing an `X`.
    #[default]
    Auto,
    /// IOB1: `B-X` only separates two adjacent entities of one type.
    Iob1,
    /// IOB2: every entity starts with `B-X`; an `I-X` that does not continue
    /// an `X` is an error.
    Iob2,
}

/// The columns of a file's lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Each file by the first of its lines with 4 or 2 columns: CoNLL-2003
    /// or BIO. A file with lines of both counts is an error naming the file
    /// and the line; a line with another count is a malformed line.
    #[default]
    Auto,
    /// CoNLL-2003: `word POS chunk NER`.
    Conll2003,
    /// Two columns, `token TAG`: no POS or chunk tags (their columns are
    /// null), e.g. People's Daily NER, a Chinese character a line.
    Bio,
}

impl Format {
    /// The columns a line has, and what they are.
    fn columns(self) -> (usize, &'static str) {
        match self {
            Format::Auto | Format::Conll2003 => (4, "word POS chunk NER"),
            Format::Bio => (2, "token TAG"),
        }
    }
}

/// Import settings, recorded in the manifest (`[SECTION]` with `stage =
/// "import-conll"` in a pipeline, or `--config` of `ore import conll`).
///
/// One row a sentence. A row's `text` is its words joined with a space, or
/// with nothing when a word holds a Chinese character. A file without
/// `-DOCSTART-` lines has no documents: each sentence is its own (`doc_id`
/// `FILE:LINE`); else `doc_id` is `FILE#N`, the Nth document.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConllConfig {
    /// How B- and I- tags are read: `auto`, `iob1` or `iob2` (strict).
    pub scheme: Scheme,
    /// The files' columns: `auto` (default: each file by its column count),
    /// `conll2003` (`word POS chunk NER`) or `bio` (`token TAG`).
    pub format: Format,
    /// Keep N of the well-formed sentences, drawn uniformly at random
    /// (deterministic for `sample_seed`; kept rows stay in file order); every
    /// other one goes to `_rejects/` as `not_sampled`. All are kept when there
    /// are N or fewer. Unset (default): keep every sentence.
    pub sample: Option<NonZeroUsize>,
    /// Seed of `sample` (default 0). The import takes no run seed, so a
    /// pipeline's seed never changes (nor reruns) it: a sentence is kept when
    /// the hash of this seed, its file's name and its first line is among
    /// the N lowest.
    pub sample_seed: u64,
}

/// Imports CoNLL or BIO files into a dataset at `output`.
pub fn import(files: &[PathBuf], output: &Path, config: ConllConfig) -> Result<Manifest> {
    let sample = match config.sample {
        Some(n) => Some(choose_sample(files, &config, n.get())?),
        None => None,
    };
    write_import(
        "conll",
        &config,
        files,
        output,
        &[("chunks", true), ("ner_tags", false)],
        |index, path, text| {
            let keep = |line| sample.as_ref().is_none_or(|s| s.keeps(index, line));
            parse_with(path, text, &config, &keep)
        },
    )
}

/// Chooses the sentences `sample` keeps among the well-formed ones of all
/// files.
fn choose_sample(files: &[PathBuf], config: &ConllConfig, n: usize) -> Result<Sample> {
    let mut rows = Vec::new();
    for (index, file) in files.iter().enumerate() {
        let text = std::fs::read_to_string(file).map_err(|e| TokenizeError::io(file, e))?;
        let parsed = parse(file, &text, config)?;
        rows.extend(parsed.rows.iter().map(|r| (index, r.line)));
    }
    Ok(Sample::choose(n, config.sample_seed, files, &rows))
}

/// Splits a tag into prefix and type: `B-PER` → (`B`, `PER`), `O` → (`O`, ``).
fn split_tag(tag: &str) -> Option<(char, &str)> {
    if tag == "O" {
        return Some(('O', ""));
    }
    let (prefix, kind) = tag.split_once('-')?;
    match prefix {
        "B" | "I" if !kind.is_empty() => prefix.chars().next().map(|p| (p, kind)),
        _ => None,
    }
}

/// Entity spans of an IOB sequence, or the index of a tag that breaks IOB2.
pub fn decode_iob(tags: &[&str], scheme: Scheme) -> Result<Vec<Entity>, usize> {
    let mut out: Vec<Entity> = Vec::new();
    let mut previous = ('O', "");
    for (i, tag) in tags.iter().enumerate() {
        let (prefix, kind) = split_tag(tag).ok_or(i)?;
        let continues = previous.0 != 'O' && previous.1 == kind;
        match prefix {
            'O' => {}
            'B' => out.push(Entity {
                start: i as u32,
                end: i as u32 + 1,
                label: kind.to_string(),
            }),
            _ if continues => {
                if let Some(last) = out.last_mut() {
                    last.end = i as u32 + 1;
                }
            }
            _ if scheme == Scheme::Iob2 => return Err(i),
            _ => out.push(Entity {
                start: i as u32,
                end: i as u32 + 1,
                label: kind.to_string(),
            }),
        }
        previous = (prefix, kind);
    }
    Ok(out)
}

/// A line between sentences (blank) or documents (`-DOCSTART-`).
fn is_boundary(raw: &str) -> bool {
    raw.trim().is_empty() || raw.starts_with("-DOCSTART-")
}

/// The format of one file: `format`, or under `auto` the column count of
/// its first line with 4 or 2 (CoNLL-2003 when none has).
pub fn detect_format(path: &Path, text: &str, format: Format) -> Result<Format> {
    if format != Format::Auto {
        return Ok(format);
    }
    let mut found: Option<(Format, usize)> = None;
    for (i, raw) in text.lines().enumerate() {
        if is_boundary(raw) {
            continue;
        }
        let this = match raw.split_whitespace().count() {
            4 => Format::Conll2003,
            2 => Format::Bio,
            _ => continue,
        };
        match found {
            None => found = Some((this, i + 1)),
            Some((first, at)) if first != this => {
                return Err(TokenizeError::Input {
                    path: path.to_path_buf(),
                    message: format!(
                        "line {}: {} columns, but line {at} has {}: a file is either CoNLL-2003 \
                         (`word POS chunk NER`) or BIO (`token TAG`); set `format` to read it as one",
                        i + 1,
                        this.columns().0,
                        first.columns().0
                    ),
                });
            }
            Some(_) => {}
        }
    }
    Ok(found.map_or(Format::Conll2003, |(f, _)| f))
}

/// Parses one file's text (every well-formed sentence a row).
pub fn parse(path: &Path, text: &str, config: &ConllConfig) -> Result<Parsed> {
    parse_with(path, text, config, &|_| true)
}

/// One sentence's lines: (line number, text).
type Lines<'a> = [(u64, &'a str)];

/// Parses one file's text; a well-formed sentence whose first line `keep`
/// refuses goes to the rejects as `not_sampled`.
fn parse_with(
    path: &Path,
    text: &str,
    config: &ConllConfig,
    keep: &dyn Fn(u64) -> bool,
) -> Result<Parsed> {
    let format = detect_format(path, text, config.format)?;
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let has_documents = text.lines().any(|l| l.starts_with("-DOCSTART-"));
    let mut parsed = Parsed::default();
    let mut doc = 0usize;
    let mut sentence: Vec<(u64, &str)> = Vec::new();
    let mut flush = |sentence: &mut Vec<(u64, &str)>, doc: usize| {
        let Some(&(first_line, _)) = sentence.first() else {
            return;
        };
        let content = || {
            sentence
                .iter()
                .map(|(_, l)| *l)
                .collect::<Vec<_>>()
                .join("\n")
        };
        match sentence_row(sentence, format, config.scheme) {
            Ok(mut row) if keep(first_line) => {
                row.doc_id = if has_documents {
                    format!("{name}#{doc}")
                } else {
                    format!("{name}:{first_line}")
                };
                parsed.rows.push(row);
            }
            Ok(_) => parsed.rejected.push(Rejected {
                line: first_line,
                content: content(),
                reason: NOT_SAMPLED,
                detail: format!(
                    "line {first_line}: not among the {} sentences sampled (sample_seed {})",
                    config.sample.map_or(0, NonZeroUsize::get),
                    config.sample_seed
                ),
            }),
            Err((reason, detail)) => parsed.rejected.push(Rejected {
                line: first_line,
                content: content(),
                reason,
                detail,
            }),
        }
        sentence.clear();
    };
    for (i, raw) in text.lines().enumerate() {
        if is_boundary(raw) {
            flush(&mut sentence, doc);
            doc += usize::from(raw.starts_with("-DOCSTART-"));
        } else {
            sentence.push((i as u64 + 1, raw));
        }
    }
    flush(&mut sentence, doc);
    Ok(parsed)
}

/// One sentence as a row (without its `doc_id`), or why it is rejected.
fn sentence_row(
    sentence: &Lines<'_>,
    format: Format,
    scheme: Scheme,
) -> std::result::Result<ImportedRow, (&'static str, String)> {
    let (columns, names) = format.columns();
    let bio = format == Format::Bio;
    let mut words = Vec::with_capacity(sentence.len());
    let mut pos = Vec::new();
    let mut chunks = Vec::new();
    let mut tags = Vec::with_capacity(sentence.len());
    for &(line, raw) in sentence {
        let fields: Vec<&str> = raw.split_whitespace().collect();
        if fields.len() != columns {
            return Err((
                MALFORMED_LINE,
                format!(
                    "line {line}: expected {columns} columns ({names}), found {}",
                    fields.len()
                ),
            ));
        }
        let tag = fields[columns - 1];
        let chunk = (!bio).then(|| fields[2]);
        if split_tag(tag).is_none() || chunk.is_some_and(|c| split_tag(c).is_none()) {
            return Err((
                BAD_TAG,
                format!("line {line}: tags must be O, B-X or I-X: `{raw}`"),
            ));
        }
        words.push(fields[0].to_string());
        tags.push(tag.to_string());
        if let Some(chunk) = chunk {
            pos.push(fields[1].to_string());
            chunks.push(chunk.to_string());
        }
    }
    let tag_strs: Vec<&str> = tags.iter().map(String::as_str).collect();
    let entities = decode_iob(&tag_strs, scheme).map_err(|i| {
        (
            BAD_TAG,
            format!(
                "line {}: `{}` does not continue an entity (IOB2)",
                sentence[i].0, tags[i]
            ),
        )
    })?;
    let spaced = !words.iter().any(|w| w.chars().any(is_han));
    Ok(ImportedRow {
        doc_id: String::new(),
        line: sentence[0].0,
        words,
        pos: (!bio).then_some(pos),
        entities,
        extra: vec![(!bio).then_some(chunks), Some(tags)],
        spaced,
    })
}

#[cfg(test)]
mod tests;
