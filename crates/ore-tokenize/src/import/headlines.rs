//! Headline → lead-paragraph pairs from People's Daily (PKU format) as an
//! `examples` dataset, for training headline generation.
//!
//! The 1998 file marks no article boundaries, so a pair is recovered the way
//! a reader finds it on the page: a short line that does not end like a
//! sentence (the headline), optionally followed by a few short lines (a
//! subtitle, a byline, a date), then a paragraph that does (the lead). The
//! gold segmentation of both becomes `src_tokens` / `tgt_tokens`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use ore_core::schema::{examples, examples_schema};
use ore_core::{Manifest, StageInfo, StageOutput, WriteOptions};
use serde::{Deserialize, Serialize};

use super::pku::parse_line;
use super::{MALFORMED_LINE, Rejected, write_rejects};
use crate::error::{Result, TokenizeError};

/// How headlines and leads are recognised (recorded in the manifest).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HeadlineConfig {
    /// Headline length in characters.
    pub min_headline_chars: usize,
    pub max_headline_chars: usize,
    /// Shortest lead paragraph in characters.
    pub min_lead_chars: usize,
    /// Short lines (subtitle, byline, date) allowed between the two.
    pub max_gap_lines: usize,
}

impl Default for HeadlineConfig {
    fn default() -> Self {
        Self {
            min_headline_chars: 4,
            max_headline_chars: 40,
            min_lead_chars: 40,
            max_gap_lines: 2,
        }
    }
}

/// One usable line: its words and the text they make.
#[derive(Debug)]
struct Para {
    line: u64,
    words: Vec<String>,
    text: String,
    chars: usize,
}

const SENTENCE_END: [char; 6] = ['。', '！', '？', '”', '…', '；'];

impl Para {
    fn ends_sentence(&self) -> bool {
        self.text.ends_with(SENTENCE_END)
    }

    fn is_headline(&self, c: &HeadlineConfig) -> bool {
        (c.min_headline_chars..=c.max_headline_chars).contains(&self.chars)
            && !self.ends_sentence()
            && !self.text.contains(['。', '！', '？'])
            && !self.text.starts_with(['（', '('])
            && self
                .text
                .chars()
                .any(|ch| ('\u{4e00}'..='\u{9fff}').contains(&ch))
    }

    fn is_lead(&self, c: &HeadlineConfig) -> bool {
        self.chars >= c.min_lead_chars && self.text.contains('。')
    }
}

/// A recovered pair: lead (source) and headline (target).
#[derive(Debug)]
pub struct Pair {
    pub headline_line: u64,
    pub lead_line: u64,
    pub headline: Vec<String>,
    pub lead: Vec<String>,
}

/// Finds the pairs in one file's text; malformed lines come back with their
/// line number and reason (they also break a pair that would span them).
pub fn pairs(text: &str, config: &HeadlineConfig) -> (Vec<Pair>, Vec<(u64, String, String)>) {
    let mut paras: Vec<Option<Para>> = Vec::new();
    let mut bad = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i as u64 + 1;
        if raw.trim().is_empty() {
            continue;
        }
        match parse_line(raw) {
            Ok(parsed) => {
                let text: String = parsed.words.concat();
                let chars = text.chars().count();
                paras.push(Some(Para {
                    line,
                    words: parsed.words,
                    text,
                    chars,
                }));
            }
            Err(message) => {
                bad.push((line, raw.to_string(), format!("line {line}: {message}")));
                paras.push(None);
            }
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < paras.len() {
        let Some(head) = paras[i].as_ref().filter(|p| p.is_headline(config)) else {
            i += 1;
            continue;
        };
        let mut j = i + 1;
        let mut found = None;
        while j < paras.len() && j <= i + 1 + config.max_gap_lines {
            match &paras[j] {
                Some(p) if p.is_lead(config) => {
                    found = Some(j);
                    break;
                }
                // A gap line is short and not itself a paragraph.
                Some(p) if p.chars < config.min_lead_chars && !p.text.contains('。') => j += 1,
                _ => break,
            }
        }
        match found.and_then(|j| paras[j].as_ref().map(|lead| (j, lead))) {
            Some((j, lead)) => {
                out.push(Pair {
                    headline_line: head.line,
                    lead_line: lead.line,
                    headline: head.words.clone(),
                    lead: lead.words.clone(),
                });
                i = j + 1;
            }
            None => i += 1,
        }
    }
    (out, bad)
}

fn token_lists<'a>(rows: impl Iterator<Item = &'a [String]>) -> ArrayRef {
    let mut b = ListBuilder::new(StringBuilder::new());
    for words in rows {
        for w in words {
            b.values().append_value(w);
        }
        b.append(true);
    }
    Arc::new(b.finish())
}

/// Imports the pairs of `files` into an `examples` dataset at `output`.
/// `example_id` and `source_id` are `FILE:LINE` of the headline (one
/// article, one example), so a later split can group by `source_id`.
pub fn import(files: &[PathBuf], output: &Path, config: &HeadlineConfig) -> Result<Manifest> {
    let schema = examples_schema();
    let info = StageInfo::new("import-headlines", config, 0);
    let mut out = StageOutput::create(output, schema.clone(), info, WriteOptions::default())?;
    for file in files {
        let text = std::fs::read_to_string(file).map_err(|e| TokenizeError::io(file, e))?;
        let (pairs, bad) = pairs(&text, config);
        out.add_input_file(file, (pairs.len() + bad.len()) as u64)?;
        let name = file
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        out.count_generated(pairs.len() as u64);
        out.count_input(bad.len() as u64);
        for chunk in pairs.chunks(8192) {
            let ids: Vec<String> = chunk
                .iter()
                .map(|p| format!("{name}:{}", p.headline_line))
                .collect();
            let n = chunk.len();
            let columns: Vec<ArrayRef> = vec![
                Arc::new(StringArray::from_iter_values(&ids)),
                Arc::new(StringArray::from_iter_values(&ids)),
                Arc::new(StringArray::from_iter_values(
                    chunk.iter().map(|p| p.lead.concat()),
                )),
                Arc::new(StringArray::from_iter_values(
                    chunk.iter().map(|p| p.headline.concat()),
                )),
                token_lists(chunk.iter().map(|p| p.lead.as_slice())),
                token_lists(chunk.iter().map(|p| p.headline.as_slice())),
                Arc::new(StringArray::from(vec![None::<&str>; n])),
                Arc::new(StringArray::from(vec![None::<&str>; n])),
                Arc::new(UInt64Array::from(vec![None::<u64>; n])),
            ];
            out.write(&RecordBatch::try_new(schema.clone(), columns)?)?;
        }
        let rejected: Vec<Rejected> = bad
            .into_iter()
            .map(|(line, content, detail)| Rejected {
                line,
                content,
                reason: MALFORMED_LINE,
                detail,
            })
            .collect();
        write_rejects(&mut out, &file.display().to_string(), &rejected)?;
    }
    out.set_summary("pairs", serde_json::json!(out.counts().output));
    debug_assert_eq!(examples::EXAMPLE_ID, schema.field(0).name());
    Ok(out.commit()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "苏丹/ns  总统/n  强调/v  实现/v  全国/n  和解/vn
本报讯/n  苏丹/ns  总统/n  巴希尔/nr  日前/t  发表/v  谈话/n  指出/v  ，/w  苏丹/ns  实现/v  和平/n  的/u  时期/n  已经/d  到来/v  ，/w  将/d  在/p  没有/v  外来/b  干预/vn  的/u  情况/n  下/f  把/p  国家/n  建成/v  一个/m  新/a  的/u  苏丹/ns  。/w
黄土地/n  上/f  的/u  蒲公英/n
李瑛/nr
归来/v  的/u  雁阵/n  飞过/v  渭水/ns
";

    #[test]
    fn headline_and_lead_pair_up_and_poems_do_not() {
        let (pairs, bad) = pairs(TEXT, &HeadlineConfig::default());
        assert!(bad.is_empty());
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs[0].headline.concat(), "苏丹总统强调实现全国和解");
        assert_eq!((pairs[0].headline_line, pairs[0].lead_line), (1, 2));
        assert!(pairs[0].lead.concat().starts_with("本报讯苏丹总统"));
    }

    #[test]
    fn a_byline_between_headline_and_lead_is_skipped() {
        let text = "唱/v  国歌/n  与/c  写/v  杂文/n\n胡昭衡/nr\n新年/t  １９９８/m  。/w  如/v  按/p  江湖/n  中/f  流行/v  的/u  以/p  撞/v  运气/n  发/v  横财/n  的/u  谐音/n  骗术/n  来说/u  ，/w  可以/v  称为/v  你久久发/n  ，/w  汉字/n  六书/n  有/v  其/r  优良/a  传统/n  。/w\n";
        let (pairs, _) = pairs(text, &HeadlineConfig::default());
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs[0].lead_line, 3);
    }

    #[test]
    fn malformed_lines_are_reported_with_their_number() {
        let (_, bad) = pairs("好/a\n坏了\n", &HeadlineConfig::default());
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].0, 2);
    }
}
