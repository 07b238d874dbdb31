//! People's Daily (PKU) format: `word/tag` items separated by spaces, one
//! paragraph a line, compounds in brackets with their own tag
//! (`[中央/n  人民/n  广播/vn  电台/n]nt`), optionally a leading id item
//! (`19980101-01-001-001/m`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ore_core::Manifest;
use serde::{Deserialize, Serialize};

use super::{ImportedRow, MALFORMED_LINE, Parsed, Rejected, write_import};
use crate::config::default_entity_labels;
use crate::entities::{Entity, entities_from_pos};
use crate::error::Result;

/// Import settings, recorded in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PkuConfig {
    /// Entity label for each tag (of a word or of a bracketed compound).
    pub entity_labels: BTreeMap<String, String>,
}

impl Default for PkuConfig {
    fn default() -> Self {
        Self {
            entity_labels: default_entity_labels(),
        }
    }
}

/// Imports People's Daily files into a dataset at `output`.
pub fn import(files: &[PathBuf], output: &Path, config: &PkuConfig) -> Result<Manifest> {
    write_import("pku", config, files, output, &[], |_, path, text| {
        Ok(parse(path, text, config))
    })
}

/// One parsed line.
#[derive(Debug, Default)]
pub(crate) struct Line {
    pub(crate) id: Option<String>,
    pub(crate) words: Vec<String>,
    pub(crate) tags: Vec<String>,
    /// Bracketed compounds: first word, end word (exclusive), tag.
    pub(crate) compounds: Vec<(usize, usize, String)>,
}

/// One line: words, tags, and compounds.
pub(crate) fn parse_line(line: &str) -> Result<Line, String> {
    let Line {
        mut id,
        mut words,
        mut tags,
        mut compounds,
    } = Line::default();
    let mut open: Option<usize> = None;
    for (k, item) in line.split_whitespace().enumerate() {
        if k == 0 && item.starts_with("1998") && item.contains('-') && item.ends_with("/m") {
            id = item.strip_suffix("/m").map(String::from);
            continue;
        }
        let mut item = item;
        if let Some(rest) = item.strip_prefix('[') {
            if open.is_some() {
                return Err(format!("nested `[` in `{item}`"));
            }
            open = Some(words.len());
            item = rest;
        }
        let (token, compound_tag) = match item.rfind(']') {
            Some(i) if i > 0 => (&item[..i], Some(&item[i + 1..])),
            _ => (item, None),
        };
        let (word, tag) = token
            .rsplit_once('/')
            .ok_or_else(|| format!("`{item}` is not word/tag"))?;
        if word.is_empty() || tag.is_empty() {
            return Err(format!("`{item}` has an empty word or tag"));
        }
        words.push(word.to_string());
        tags.push(tag.to_string());
        if let Some(compound_tag) = compound_tag {
            let start = open
                .take()
                .ok_or_else(|| format!("`]` without `[` in `{item}`"))?;
            if compound_tag.is_empty() {
                return Err(format!("compound without a tag in `{item}`"));
            }
            compounds.push((start, words.len(), compound_tag.to_string()));
        }
    }
    if open.is_some() {
        return Err("`[` is never closed".into());
    }
    Ok(Line {
        id,
        words,
        tags,
        compounds,
    })
}

/// Parses one file's text.
pub fn parse(path: &Path, text: &str, config: &PkuConfig) -> Parsed {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let mut parsed = Parsed::default();
    for (i, raw) in text.lines().enumerate() {
        let line = i as u64 + 1;
        if raw.trim().is_empty() {
            continue;
        }
        match parse_line(raw) {
            Ok(Line {
                id,
                words,
                tags,
                compounds,
            }) => {
                let entities = entities(&tags, &compounds, &config.entity_labels);
                parsed.rows.push(ImportedRow {
                    doc_id: id.unwrap_or_else(|| format!("{name}:{line}")),
                    line,
                    words,
                    pos: Some(tags),
                    entities,
                    extra: Vec::new(),
                    spaced: false,
                });
            }
            Err(message) => parsed.rejected.push(Rejected {
                line,
                content: raw.to_string(),
                reason: MALFORMED_LINE,
                detail: format!("line {line}: {message}"),
            }),
        }
    }
    parsed
}

/// Compounds whose tag is an entity label become entities; words outside
/// them give entities from their own tags.
fn entities(
    tags: &[String],
    compounds: &[(usize, usize, String)],
    labels: &BTreeMap<String, String>,
) -> Vec<Entity> {
    let mut out: Vec<Entity> = compounds
        .iter()
        .filter_map(|(start, end, tag)| {
            labels.get(tag).map(|label| Entity {
                start: *start as u32,
                end: *end as u32,
                label: label.clone(),
            })
        })
        .collect();
    let inside = |i: u32| out.iter().any(|e| e.start <= i && i < e.end);
    let word_entities: Vec<Entity> = entities_from_pos(tags, labels, true)
        .into_iter()
        .flat_map(|e| {
            // Split a merged run where it enters a compound entity.
            (e.start..e.end)
                .filter(|&i| !inside(i))
                .map(move |i| (i, e.label.clone()))
        })
        .fold(Vec::new(), |mut acc: Vec<Entity>, (i, label)| {
            match acc.last_mut() {
                Some(last) if last.end == i && last.label == label => last.end = i + 1,
                _ => acc.push(Entity {
                    start: i,
                    end: i + 1,
                    label,
                }),
            }
            acc
        });
    out.extend(word_entities);
    out.sort_by_key(|e| (e.start, e.end));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compounds_and_names_become_entities() {
        let line = "19980101-01-001-002/m  [中央/n  人民/n  广播/vn  电台/n]nt  记者/n  江/nr  泽民/nr  在/p  北京/ns  。/w";
        let parsed = parse(Path::new("pd.txt"), line, &PkuConfig::default());
        assert!(parsed.rejected.is_empty());
        let row = &parsed.rows[0];
        assert_eq!(row.doc_id, "19980101-01-001-002");
        assert_eq!(row.words.concat(), "中央人民广播电台记者江泽民在北京。");
        let e: Vec<(u32, u32, &str)> = row
            .entities
            .iter()
            .map(|e| (e.start, e.end, e.label.as_str()))
            .collect();
        assert_eq!(e, [(0, 4, "ORG"), (5, 7, "PER"), (8, 9, "LOC")]);
    }

    #[test]
    fn malformed_lines_are_rejected() {
        let text = "好/a  的/u\n[中央/n  人民/n\n没有标签\n";
        let parsed = parse(Path::new("pd.txt"), text, &PkuConfig::default());
        assert_eq!(parsed.rows.len(), 1);
        assert_eq!(parsed.rejected.len(), 2);
        assert!(parsed.rejected[0].detail.starts_with("line 2:"));
        assert!(parsed.rejected[1].detail.starts_with("line 3:"));
    }
}
