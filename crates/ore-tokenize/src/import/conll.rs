//! CoNLL-2003: `word POS chunk NER` a line, blank lines between sentences,
//! `-DOCSTART-` between documents; NER in IOB1 or IOB2.

use std::path::{Path, PathBuf};

use ore_core::Manifest;
use serde::{Deserialize, Serialize};

use super::{BAD_TAG, ImportedRow, MALFORMED_LINE, Parsed, Rejected, write_import};
use crate::entities::Entity;
use crate::error::Result;

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

/// Import settings, recorded in the manifest.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConllConfig {
    pub scheme: Scheme,
}

/// Imports CoNLL files into a dataset at `output`.
pub fn import(files: &[PathBuf], output: &Path, config: ConllConfig) -> Result<Manifest> {
    write_import(
        "conll",
        &config,
        files,
        output,
        &["chunks", "ner_tags"],
        |path, text| parse(path, text, config.scheme),
    )
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

/// Parses one file's text.
pub fn parse(path: &Path, text: &str, scheme: Scheme) -> Parsed {
    let stem = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let mut parsed = Parsed::default();
    let mut doc = 0usize;
    let mut sentence: Vec<(u64, &str)> = Vec::new();
    let flush = |sentence: &mut Vec<(u64, &str)>, doc: usize, parsed: &mut Parsed| {
        if sentence.is_empty() {
            return;
        }
        let first_line = sentence[0].0;
        let content = || {
            sentence
                .iter()
                .map(|(_, l)| *l)
                .collect::<Vec<_>>()
                .join("\n")
        };
        let mut row = ImportedRow {
            doc_id: format!("{stem}#{doc}"),
            line: first_line,
            spaced: true,
            extra: vec![Vec::new(), Vec::new()],
            ..ImportedRow::default()
        };
        let mut problem: Option<(&'static str, String)> = None;
        for &(line, raw) in sentence.iter() {
            let fields: Vec<&str> = raw.split_whitespace().collect();
            if fields.len() != 4 {
                problem = Some((
                    MALFORMED_LINE,
                    format!(
                        "line {line}: expected 4 columns (word POS chunk NER), found {}",
                        fields.len()
                    ),
                ));
                break;
            }
            if split_tag(fields[2]).is_none() || split_tag(fields[3]).is_none() {
                problem = Some((
                    BAD_TAG,
                    format!("line {line}: tags must be O, B-X or I-X: `{raw}`"),
                ));
                break;
            }
            row.words.push(fields[0].to_string());
            row.pos.push(fields[1].to_string());
            row.extra[0].push(fields[2].to_string());
            row.extra[1].push(fields[3].to_string());
        }
        if problem.is_none() {
            let tags: Vec<&str> = row.extra[1].iter().map(String::as_str).collect();
            match decode_iob(&tags, scheme) {
                Ok(entities) => row.entities = entities,
                Err(i) => {
                    problem = Some((
                        BAD_TAG,
                        format!(
                            "line {}: `{}` does not continue an entity (IOB2)",
                            sentence[i].0, tags[i]
                        ),
                    ));
                }
            }
        }
        match problem {
            None => parsed.rows.push(row),
            Some((reason, detail)) => parsed.rejected.push(Rejected {
                line: first_line,
                content: content(),
                reason,
                detail,
            }),
        }
        sentence.clear();
    };
    for (i, raw) in text.lines().enumerate() {
        let line = i as u64 + 1;
        if raw.starts_with("-DOCSTART-") {
            flush(&mut sentence, doc, &mut parsed);
            doc += 1;
        } else if raw.trim().is_empty() {
            flush(&mut sentence, doc, &mut parsed);
        } else {
            sentence.push((line, raw));
        }
    }
    flush(&mut sentence, doc, &mut parsed);
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(tags: &[&str], scheme: Scheme) -> Vec<(u32, u32, String)> {
        decode_iob(tags, scheme)
            .unwrap()
            .into_iter()
            .map(|e| (e.start, e.end, e.label))
            .collect()
    }

    #[test]
    fn iob1_and_iob2_decode_alike() {
        let iob1 = ["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-ORG"];
        let iob2 = ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "B-ORG"];
        let expected = vec![
            (0, 2, "PER".to_string()),
            (3, 4, "LOC".to_string()),
            (4, 5, "LOC".to_string()),
            (5, 6, "ORG".to_string()),
        ];
        assert_eq!(spans(&iob1, Scheme::Auto), expected);
        assert_eq!(spans(&iob2, Scheme::Iob2), expected);
        assert_eq!(decode_iob(&iob1, Scheme::Iob2), Err(0));
    }

    #[test]
    fn malformed_lines_are_rejected_with_line_numbers() {
        let text = "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nbad line\nx NN B-NP O\n\nok NN B-NP Q-PER\n";
        let parsed = parse(Path::new("t.conll"), text, Scheme::Auto);
        assert_eq!(parsed.rows.len(), 1);
        assert_eq!(parsed.rows[0].words, ["EU", "rejects"]);
        assert_eq!(parsed.rejected.len(), 2);
        assert_eq!(parsed.rejected[0].reason, MALFORMED_LINE);
        assert!(
            parsed.rejected[0].detail.starts_with("line 6:"),
            "{:?}",
            parsed.rejected[0]
        );
        assert_eq!(parsed.rejected[1].reason, BAD_TAG);
        assert!(parsed.rejected[1].detail.starts_with("line 9:"));
    }
}
