//! Entities as token spans: from POS tags (`nr` → PER, …) and from
//! gazetteers of terms, the gazetteer winning where the two overlap.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use crate::config::TokenizeConfig;
use crate::error::{Result, TokenizeError};
use crate::segment::Segmenter;

/// Tokens `start..end` (end exclusive) are an entity of `label`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    pub start: u32,
    pub end: u32,
    pub label: String,
}

/// Entities from a POS sequence: tokens whose tag maps to a label, adjacent
/// tokens of one label joined when `merge` is set.
pub fn entities_from_pos(
    pos: &[impl AsRef<str>],
    labels: &BTreeMap<String, String>,
    merge: bool,
) -> Vec<Entity> {
    let mut out: Vec<Entity> = Vec::new();
    for (i, tag) in pos.iter().enumerate() {
        let Some(label) = labels.get(tag.as_ref()) else {
            continue;
        };
        let i = i as u32;
        match out.last_mut() {
            Some(last) if merge && last.end == i && &last.label == label => last.end = i + 1,
            _ => out.push(Entity {
                start: i,
                end: i + 1,
                label: label.clone(),
            }),
        }
    }
    out
}

/// Finds entities in token sequences.
#[derive(Debug, Default)]
pub struct EntityTagger {
    labels: BTreeMap<String, String>,
    merge: bool,
    /// Gazetteer terms as token sequences, indexed by their first token,
    /// longest first.
    terms: FxHashMap<String, Vec<(Vec<String>, String)>>,
}

impl EntityTagger {
    /// Reads the gazetteers and tokenizes each term with `segmenter` (after
    /// adding the Chinese terms to its dictionary, so that they stay whole).
    pub fn build(config: &TokenizeConfig, segmenter: &mut Segmenter) -> Result<Self> {
        let mut raw: Vec<(String, String)> = Vec::new();
        for g in &config.gazetteers {
            if g.label.is_empty() {
                return Err(TokenizeError::Config(
                    "gazetteer with an empty label".into(),
                ));
            }
            raw.extend(g.terms.iter().map(|t| (t.clone(), g.label.clone())));
            for path in &g.files {
                let text = std::fs::read_to_string(path).map_err(|e| TokenizeError::io(path, e))?;
                raw.extend(
                    text.lines()
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(|t| (t.to_string(), g.label.clone())),
                );
            }
        }
        for (term, _) in &raw {
            if term.chars().any(crate::segment::is_han) && !term.contains(char::is_whitespace) {
                segmenter.add_word(term);
            }
        }
        let mut terms: FxHashMap<String, Vec<(Vec<String>, String)>> = FxHashMap::default();
        for (term, label) in raw {
            let tokens = segmenter.segment(&term).tokens;
            if let Some(first) = tokens.first() {
                terms
                    .entry(first.clone())
                    .or_default()
                    .push((tokens, label));
            }
        }
        for list in terms.values_mut() {
            list.sort_by_key(|(seq, _)| std::cmp::Reverse(seq.len()));
        }
        Ok(Self {
            labels: config.entity_labels.clone(),
            merge: config.merge_adjacent_entities,
            terms,
        })
    }

    /// Entities of one token sequence, sorted by start.
    pub fn tag(&self, tokens: &[impl AsRef<str>], pos: &[impl AsRef<str>]) -> Vec<Entity> {
        let mut found: Vec<Entity> = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            let hit = self.terms.get(tokens[i].as_ref()).and_then(|candidates| {
                candidates.iter().find(|(seq, _)| {
                    tokens.len() - i >= seq.len()
                        && seq.iter().zip(&tokens[i..]).all(|(a, b)| a == b.as_ref())
                })
            });
            match hit {
                Some((seq, label)) => {
                    found.push(Entity {
                        start: i as u32,
                        end: (i + seq.len()) as u32,
                        label: label.clone(),
                    });
                    i += seq.len();
                }
                None => i += 1,
            }
        }
        let from_pos = entities_from_pos(pos, &self.labels, self.merge);
        let gazetteer_spans = found.clone();
        found.extend(from_pos.into_iter().filter(|e| {
            !gazetteer_spans
                .iter()
                .any(|g| e.start < g.end && g.start < e.end)
        }));
        found.sort_by_key(|e| (e.start, e.end));
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Gazetteer, default_entity_labels};

    #[test]
    fn pos_entities_merge_adjacent_names() {
        let pos = ["nr", "nr", "v", "ns", "nt", "nt"];
        let e = entities_from_pos(&pos, &default_entity_labels(), true);
        assert_eq!(
            e,
            [
                Entity {
                    start: 0,
                    end: 2,
                    label: "PER".into()
                },
                Entity {
                    start: 3,
                    end: 4,
                    label: "LOC".into()
                },
                Entity {
                    start: 4,
                    end: 6,
                    label: "ORG".into()
                },
            ]
        );
        assert_eq!(
            entities_from_pos(&pos, &default_entity_labels(), false).len(),
            5
        );
    }

    #[test]
    fn gazetteer_wins_over_pos() {
        let config = TokenizeConfig {
            gazetteers: vec![Gazetteer {
                label: "PRODUCT".into(),
                terms: vec!["LibreOffice Writer".into(), "清华大学".into()],
                files: vec![],
            }],
            ..TokenizeConfig::default()
        };
        let mut segmenter = Segmenter::build(&config).unwrap();
        let tagger = EntityTagger::build(&config, &mut segmenter).unwrap();
        let s = segmenter.segment("我在清华大学用 LibreOffice Writer 写作");
        let e = tagger.tag(&s.tokens, &s.pos);
        let spans: Vec<(String, String)> = e
            .iter()
            .map(|e| {
                (
                    s.tokens[e.start as usize..e.end as usize].join(" "),
                    e.label.clone(),
                )
            })
            .collect();
        assert!(
            spans.contains(&("清华大学".into(), "PRODUCT".into())),
            "{spans:?}"
        );
        assert!(
            spans.contains(&("LibreOffice Writer".into(), "PRODUCT".into())),
            "{spans:?}"
        );
        assert!(
            !spans.iter().any(|(_, l)| l == "ORG"),
            "gazetteer overrides nt: {spans:?}"
        );
    }
}
