//! The sequence tagger's data, without libtorch: sentences with gold IOB2
//! tags read from a `tokens` dataset's `entities`, the word, character and
//! tag vocabularies, padded batches, and Viterbi decoding.
//!
//! - [`load_tagged`] reads `tokens` and `entities` (token offsets) and
//!   spells the entities as IOB2 tags; rows are identified by `example_id`
//!   (augment's outputs) or `doc_id` (importers, tokenize), and held out for
//!   validation by `source_id` (so a variant stays with its original).
//! - [`TagVocabs`] holds words (lower-cased, digits as `0`), characters
//!   (case kept) and tags (`O`, then `B-X`, `I-X` for each type seen in
//!   training).
//! - [`tag_batches`] pads sentences into batches sorted by length (the
//!   BiLSTM packs them), bucketed and shuffled as the seq2seq batches are.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::UInt32Type;
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray, UInt32Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use ore_core::schema::documents::DOC_ID;
use ore_core::schema::examples::{EXAMPLE_ID, SOURCE_ID};
use ore_core::schema::tokens::{ENTITIES, TOKENS};
use ore_core::{Dataset, StrColumn};
use ore_eval::ner::{EntityScores, chunks};

use crate::config::{DataConfig, TrainConfig};
use crate::data::{Rng, Source, is_held_out, list_row, utf8_lists};
use crate::error::{Result, TrainError};
use crate::vocab::{PAD_ID, Vocab};

/// Characters of a word the character features look at.
pub const MAX_WORD_CHARS: usize = 20;
/// The word vocabulary's file in a tagger's model folder.
pub const WORDS_FILE: &str = "vocab.words.txt";
pub const CHARS_FILE: &str = "vocab.chars.txt";
/// One tag a line, `O` first.
pub const TAGS_FILE: &str = "tags.txt";

/// One sentence with its gold tags.
#[derive(Debug, Clone, PartialEq)]
pub struct Tagged {
    /// `example_id`, else `doc_id`.
    pub id: String,
    /// `source_id`, else the id: what validation is held out by.
    pub group: String,
    pub tokens: Vec<String>,
    /// IOB2, one a token.
    pub tags: Vec<String>,
}

/// Entity spans `(start, end, label)` (token offsets, end exclusive) as IOB2
/// tags; overlapping or out-of-range spans are an error naming the span.
pub fn iob2(len: usize, spans: &[(usize, usize, &str)]) -> Result<Vec<String>, String> {
    let mut tags = vec!["O".to_string(); len];
    for &(start, end, label) in spans {
        if start >= end || end > len {
            return Err(format!(
                "entity {start}..{end} ({label}) outside the {len} tokens"
            ));
        }
        if tags[start..end].iter().any(|t| t != "O") {
            return Err(format!("entity {start}..{end} ({label}) overlaps another"));
        }
        tags[start] = format!("B-{label}");
        for t in &mut tags[start + 1..end] {
            *t = format!("I-{label}");
        }
    }
    Ok(tags)
}

/// Whether a dataset (or a split output's `train/`) has what the tagger
/// needs: `tokens` and `entities`.
pub fn has_tags(input: &Path) -> bool {
    let probe = if input.join("train").is_dir() {
        input.join("train")
    } else {
        input.to_path_buf()
    };
    Dataset::open(&probe).is_ok_and(|d| {
        let s = d.schema();
        s.index_of(TOKENS).is_ok() && s.index_of(ENTITIES).is_ok()
    })
}

/// Reads every sentence of a `tokens` dataset with its gold tags.
pub fn load_tagged(path: &Path) -> Result<Vec<Tagged>> {
    let dataset = Dataset::open(path)?;
    let schema = dataset.schema().clone();
    let has = |name: &str| schema.index_of(name).is_ok();
    for name in [TOKENS, ENTITIES] {
        if !has(name) {
            return Err(TrainError::invalid(
                path,
                format!(
                    "no `{name}` column: the tagger reads a tokens dataset with gold entities (`ore import conll`, tokenize, or augment of one)"
                ),
            ));
        }
    }
    let id_column = if has(EXAMPLE_ID) {
        EXAMPLE_ID
    } else if has(DOC_ID) {
        DOC_ID
    } else {
        return Err(TrainError::invalid(
            path,
            "no `example_id` or `doc_id` column to identify rows",
        ));
    };
    let mut columns = vec![id_column, TOKENS, ENTITIES];
    if has(SOURCE_ID) {
        columns.push(SOURCE_ID);
    }
    let mut out = Vec::with_capacity(dataset.num_rows() as usize);
    for batch in dataset.batches_of(&columns, 8192)? {
        let batch = batch?;
        read_batch(&batch, id_column, path, &mut out)?;
    }
    Ok(out)
}

fn read_batch(
    batch: &RecordBatch,
    id_column: &str,
    path: &Path,
    out: &mut Vec<Tagged>,
) -> Result<()> {
    let ids = StrColumn::of(batch, id_column, path)?;
    let groups = batch
        .column_by_name(SOURCE_ID)
        .is_some()
        .then(|| StrColumn::of(batch, SOURCE_ID, path))
        .transpose()?;
    let tokens = utf8_lists(batch, TOKENS, path)?;
    let entities = batch
        .column_by_name(ENTITIES)
        .and_then(|c| c.as_list_opt::<i32>())
        .ok_or_else(|| TrainError::invalid(path, "`entities` is not a list of structs"))?;
    for row in 0..batch.num_rows() {
        let at = out.len();
        let id = ids
            .get(row)
            .ok_or_else(|| TrainError::invalid(path, format!("row {at}: null {id_column}")))?;
        let words = list_row(&tokens, row);
        let mut spans = Vec::new();
        if !entities.is_null(row) {
            let value = entities.value(row);
            let structs = value.as_struct_opt().ok_or_else(|| {
                TrainError::invalid(path, "`entities` items are not structs {start, end, label}")
            })?;
            let field = |name: &str| {
                structs.column_by_name(name).ok_or_else(|| {
                    TrainError::invalid(path, format!("`entities` items have no `{name}`"))
                })
            };
            let (starts, ends, labels) = (field("start")?, field("end")?, field("label")?);
            let (Some(starts), Some(ends)) = (
                starts.as_primitive_opt::<UInt32Type>(),
                ends.as_primitive_opt::<UInt32Type>(),
            ) else {
                return Err(TrainError::invalid(
                    path,
                    "`entities` start/end are not u32 token offsets",
                ));
            };
            let labels = labels
                .as_string_opt::<i32>()
                .ok_or_else(|| TrainError::invalid(path, "`entities` labels are not strings"))?;
            for i in 0..structs.len() {
                spans.push((
                    starts.value(i) as usize,
                    ends.value(i) as usize,
                    labels.value(i).to_string(),
                ));
            }
        }
        let spans: Vec<(usize, usize, &str)> =
            spans.iter().map(|(a, b, l)| (*a, *b, l.as_str())).collect();
        let tags = iob2(words.len(), &spans)
            .map_err(|e| TrainError::invalid(path, format!("row {at} ({id}): {e}")))?;
        out.push(Tagged {
            id: id.to_string(),
            group: groups
                .as_ref()
                .and_then(|g| g.get(row))
                .unwrap_or(id)
                .to_string(),
            tokens: words,
            tags,
        });
    }
    Ok(())
}

/// Training and validation sentences: a split's `train/` and `valid/`, an
/// explicit validation dataset, or a slice held out by `source_id`.
pub fn load_tag_split(
    input: &Path,
    valid: Option<&Path>,
    fraction: f64,
) -> Result<(Vec<Tagged>, Vec<Tagged>)> {
    if let Some(valid) = valid {
        return Ok((load_tagged(input)?, load_tagged(valid)?));
    }
    match Source::detect(input, fraction) {
        Source::Split { train, valid } => Ok((load_tagged(&train)?, load_tagged(&valid)?)),
        Source::HeldOut { path, fraction } => Ok(load_tagged(&path)?
            .into_iter()
            .partition(|t| !is_held_out(&t.group, fraction))),
    }
}

/// The word as the word embedding sees it: lower case, digits as `0`.
pub fn word_key(token: &str) -> String {
    token
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_numeric() { '0' } else { c })
        .collect()
}

/// The tagger's vocabularies.
#[derive(Debug, Clone, PartialEq)]
pub struct TagVocabs {
    pub words: Vocab,
    pub chars: Vocab,
    /// `O` first, then `B-X`, `I-X` by type name.
    pub tags: Vec<String>,
}

impl TagVocabs {
    /// From the training sentences.
    pub fn build(train: &[Tagged], config: &DataConfig) -> Self {
        let keys: Vec<String> = train
            .iter()
            .flat_map(|t| t.tokens.iter().map(|w| word_key(w)))
            .collect();
        let words = Vocab::build(
            keys.iter().map(String::as_str),
            config.min_count,
            config.max_vocab,
        );
        let chars: Vec<String> = train
            .iter()
            .flat_map(|t| t.tokens.iter())
            .flat_map(|w| w.chars().take(MAX_WORD_CHARS).map(String::from))
            .collect();
        let chars = Vocab::build(chars.iter().map(String::as_str), 1, usize::MAX);
        let mut types: Vec<&str> = train
            .iter()
            .flat_map(|t| t.tags.iter())
            .filter_map(|t| t.strip_prefix("B-").or_else(|| t.strip_prefix("I-")))
            .collect();
        types.sort_unstable();
        types.dedup();
        let mut tags = vec!["O".to_string()];
        for t in types {
            tags.push(format!("B-{t}"));
            tags.push(format!("I-{t}"));
        }
        Self { words, chars, tags }
    }

    /// Id of a tag; a type never seen in training counts as `O`.
    pub fn tag_id(&self, tag: &str) -> i64 {
        self.tags.iter().position(|t| t == tag).unwrap_or(0) as i64
    }

    pub fn save(&self, dir: &Path) -> Result<()> {
        self.words.save(&dir.join(WORDS_FILE))?;
        self.chars.save(&dir.join(CHARS_FILE))?;
        let mut text = self.tags.join("\n");
        text.push('\n');
        crate::io::write_atomic(&dir.join(TAGS_FILE), text.as_bytes())
    }

    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(TAGS_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| TrainError::io(&path, e))?;
        let tags: Vec<String> = text.lines().map(String::from).collect();
        if tags.first().map(String::as_str) != Some("O") {
            return Err(TrainError::invalid(
                &path,
                "not a tag list (the first line must be O)",
            ));
        }
        Ok(Self {
            words: Vocab::load(&dir.join(WORDS_FILE))?,
            chars: Vocab::load(&dir.join(CHARS_FILE))?,
            tags,
        })
    }

    /// A sentence as ids.
    pub fn encode(&self, index: usize, t: &Tagged) -> TagEncoded {
        TagEncoded {
            index,
            words: t
                .tokens
                .iter()
                .map(|w| self.words.id(&word_key(w)))
                .collect(),
            chars: t
                .tokens
                .iter()
                .map(|w| {
                    w.chars()
                        .take(MAX_WORD_CHARS)
                        .map(|c| self.chars.id(c.encode_utf8(&mut [0; 4])))
                        .collect()
                })
                .collect(),
            tags: t.tags.iter().map(|tag| self.tag_id(tag)).collect(),
        }
    }
}

/// One sentence as ids.
#[derive(Debug, Clone, PartialEq)]
pub struct TagEncoded {
    /// Position in the sentences it was made from.
    pub index: usize,
    pub words: Vec<i64>,
    pub chars: Vec<Vec<i64>>,
    pub tags: Vec<i64>,
}

/// Sentences as ids (empty sentences are left out: nothing to tag).
pub fn encode_tagged(sentences: &[Tagged], vocabs: &TagVocabs) -> Vec<TagEncoded> {
    sentences
        .iter()
        .enumerate()
        .filter(|(_, t)| !t.tokens.is_empty())
        .map(|(i, t)| vocabs.encode(i, t))
        .collect()
}

/// Padded sentences, longest first.
#[derive(Debug, Clone, PartialEq)]
pub struct TagBatch {
    pub index: Vec<usize>,
    /// `[rows, len]`.
    pub words: Vec<i64>,
    /// `[rows, len, char_len]`.
    pub chars: Vec<i64>,
    /// `[rows, len]`, `<pad>` (0) past each length.
    pub tags: Vec<i64>,
    pub lengths: Vec<i64>,
    pub len: usize,
    pub char_len: usize,
    /// Tokens in the batch (not padding).
    pub tokens: usize,
}

impl TagBatch {
    pub fn rows(&self) -> usize {
        self.index.len()
    }

    pub fn of(sentences: &[&TagEncoded]) -> Self {
        let mut rows: Vec<&TagEncoded> = sentences.to_vec();
        rows.sort_by(|a, b| {
            b.words
                .len()
                .cmp(&a.words.len())
                .then(a.index.cmp(&b.index))
        });
        let len = rows.first().map_or(1, |r| r.words.len()).max(1);
        let char_len = rows
            .iter()
            .flat_map(|r| r.chars.iter().map(Vec::len))
            .max()
            .unwrap_or(1)
            .max(1);
        let n = rows.len();
        let mut b = TagBatch {
            index: rows.iter().map(|r| r.index).collect(),
            words: vec![PAD_ID; n * len],
            chars: vec![PAD_ID; n * len * char_len],
            tags: vec![0; n * len],
            lengths: rows.iter().map(|r| r.words.len() as i64).collect(),
            len,
            char_len,
            tokens: rows.iter().map(|r| r.words.len()).sum(),
        };
        for (i, r) in rows.iter().enumerate() {
            b.words[i * len..i * len + r.words.len()].copy_from_slice(&r.words);
            b.tags[i * len..i * len + r.tags.len()].copy_from_slice(&r.tags);
            for (j, chars) in r.chars.iter().enumerate() {
                let at = (i * len + j) * char_len;
                b.chars[at..at + chars.len()].copy_from_slice(chars);
            }
        }
        b
    }
}

/// The batches of one epoch: shuffled by `seed`, sorted by length within
/// windows of `data.bucket_batches` batches; without a seed, in order.
pub fn tag_batches(data: &[TagEncoded], config: &DataConfig, seed: Option<u64>) -> Vec<TagBatch> {
    let mut order: Vec<&TagEncoded> = data.iter().collect();
    let mut rng = seed.map(Rng::new);
    if let Some(rng) = rng.as_mut() {
        rng.shuffle(&mut order);
    }
    let window = config.batch_size * config.bucket_batches.max(1);
    let mut out = Vec::with_capacity(data.len().div_ceil(config.batch_size));
    for chunk in order.chunks_mut(window) {
        chunk.sort_by(|a, b| {
            b.words
                .len()
                .cmp(&a.words.len())
                .then(a.index.cmp(&b.index))
        });
        out.extend(chunk.chunks(config.batch_size).map(TagBatch::of));
    }
    if let Some(rng) = rng.as_mut() {
        rng.shuffle(&mut out);
    }
    out
}

/// The best tag path of one sentence: `emissions` `[len, k]` row-major,
/// `transitions` `[k, k]` (from row to column), `start` and `end` `[k]`.
pub fn viterbi(
    emissions: &[f32],
    k: usize,
    transitions: &[f32],
    start: &[f32],
    end: &[f32],
) -> Vec<usize> {
    let len = emissions.len() / k;
    if len == 0 {
        return Vec::new();
    }
    let mut score: Vec<f32> = (0..k).map(|j| start[j] + emissions[j]).collect();
    let mut back = vec![0usize; len * k];
    let mut next = vec![0f32; k];
    for t in 1..len {
        for j in 0..k {
            let (mut best, mut arg) = (f32::NEG_INFINITY, 0);
            for (i, s) in score.iter().enumerate() {
                let v = s + transitions[i * k + j];
                if v > best {
                    best = v;
                    arg = i;
                }
            }
            next[j] = best + emissions[t * k + j];
            back[t * k + j] = arg;
        }
        std::mem::swap(&mut score, &mut next);
    }
    let mut last = 0;
    let mut best = f32::NEG_INFINITY;
    for j in 0..k {
        let v = score[j] + end[j];
        if v > best {
            best = v;
            last = j;
        }
    }
    let mut path = vec![0; len];
    path[len - 1] = last;
    for t in (1..len).rev() {
        path[t - 1] = back[t * k + path[t]];
    }
    path
}

/// The highest-scoring tag of each token (a tagger without a CRF).
pub fn argmax_tags(emissions: &[f32], k: usize) -> Vec<usize> {
    emissions
        .chunks(k)
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
                    if v > best.1 { (i, v) } else { best }
                })
                .0
        })
        .collect()
}

/// Settings of a tagger that make no sense for it are refused with the
/// key's name.
pub fn validate_for_tagging(config: &TrainConfig) -> Result<(), String> {
    if config.teacher_forcing < 1.0 || config.label_smoothing > 0.0 {
        return Err("teacher_forcing and label_smoothing do not apply to task = \"tag\"".into());
    }
    if config.data.swap_sides {
        return Err("data.swap_sides does not apply to task = \"tag\"".into());
    }
    Ok(())
}

/// The sentences an eval scores, and from where.
#[derive(Debug)]
pub struct TagRows {
    pub sentences: Vec<Tagged>,
    pub input: PathBuf,
    pub note: String,
}

/// The split `split` of a split output; else the model's held-out slice
/// when `input` is the model's own training data; else every row.
pub fn select_tag_rows(
    input: &Path,
    split: &str,
    model_input_hash: &str,
    held_out: Option<f64>,
) -> Result<TagRows> {
    let split_dir = input.join(split);
    if split_dir.is_dir() {
        return Ok(TagRows {
            sentences: load_tagged(&split_dir)?,
            input: split_dir,
            note: format!("split `{split}`"),
        });
    }
    let all = load_tagged(input)?;
    let own = Dataset::open(input)?.content_hash()? == model_input_hash;
    match held_out {
        Some(fraction) if own => {
            let sentences: Vec<Tagged> = all
                .into_iter()
                .filter(|t| is_held_out(&t.group, fraction))
                .collect();
            Ok(TagRows {
                sentences,
                input: input.to_path_buf(),
                note: format!(
                    "held-out slice ({:.0}% by source_id) of the model's training input",
                    fraction * 100.0
                ),
            })
        }
        _ => {
            if own {
                eprintln!(
                    "warning: {} is the data the model was trained on",
                    input.display()
                );
            }
            Ok(TagRows {
                sentences: all,
                input: input.to_path_buf(),
                note: "every row".into(),
            })
        }
    }
}

/// Columns of a tagger's predictions: the row's id, its tokens, gold and
/// predicted IOB2 tags, and its entity counts (gold, predicted, both).
pub fn tag_predictions_schema() -> SchemaRef {
    let list = ore_core::schema::utf8_list_type();
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new(TOKENS, list.clone(), false),
        Field::new("tags", list.clone(), false),
        Field::new("predicted_tags", list, false),
        Field::new("gold_entities", DataType::UInt32, false),
        Field::new("predicted_entities", DataType::UInt32, false),
        Field::new("correct_entities", DataType::UInt32, false),
    ]))
}

/// One row a sentence.
pub fn tag_predictions_batch(
    sentences: &[Tagged],
    predicted: &[Vec<String>],
) -> Result<RecordBatch> {
    let lists = |rows: &mut dyn Iterator<Item = &Vec<String>>| {
        let mut b = ListBuilder::new(StringBuilder::new());
        for row in rows {
            for v in row {
                b.values().append_value(v);
            }
            b.append(true);
        }
        Arc::new(b.finish()) as ArrayRef
    };
    let (mut gold_n, mut pred_n, mut both_n) = (Vec::new(), Vec::new(), Vec::new());
    for (s, p) in sentences.iter().zip(predicted) {
        let gold = chunks(&s.tags);
        let pred = chunks(p);
        both_n.push(pred.iter().filter(|c| gold.contains(c)).count() as u32);
        gold_n.push(gold.len() as u32);
        pred_n.push(pred.len() as u32);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            sentences.iter().map(|s| s.id.as_str()),
        )),
        lists(&mut sentences.iter().map(|s| &s.tokens)),
        lists(&mut sentences.iter().map(|s| &s.tags)),
        lists(&mut predicted.iter()),
        Arc::new(UInt32Array::from(gold_n)),
        Arc::new(UInt32Array::from(pred_n)),
        Arc::new(UInt32Array::from(both_n)),
    ];
    Ok(RecordBatch::try_new(tag_predictions_schema(), columns)?)
}

/// Share of tokens whose predicted tag is the gold one.
pub fn token_accuracy(sentences: &[Tagged], predicted: &[Vec<String>]) -> f64 {
    let (mut right, mut all) = (0usize, 0usize);
    for (s, p) in sentences.iter().zip(predicted) {
        all += s.tags.len();
        right += s.tags.iter().zip(p).filter(|(a, b)| a == b).count();
    }
    right as f64 / all.max(1) as f64
}

/// The eval report of a tagger, in Markdown: overall and per type, as
/// seqeval's `classification_report` lays them out.
pub fn tag_report_md(
    scores: &EntityScores,
    accuracy: f64,
    sentences: usize,
    setup: &str,
) -> String {
    let mut md = format!(
        "# Tagger evaluation\n\n{setup}\n\n{sentences} sentences; entity-level scores (seqeval's default mode), token accuracy {:.2}%.\n\n| type | precision | recall | F1 | support | predicted |\n|---|---:|---:|---:|---:|---:|\n",
        accuracy * 100.0
    );
    let row = |name: &str, s: &ore_eval::ner::LabelScores| {
        format!(
            "| {name} | {:.2} | {:.2} | {:.2} | {} | {} |\n",
            s.precision * 100.0,
            s.recall * 100.0,
            s.f1 * 100.0,
            s.support,
            s.predicted
        )
    };
    for (label, s) in &scores.per_label {
        md.push_str(&row(label, s));
    }
    md.push_str(&row("**micro avg**", &scores.overall));
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentence(words: &str, tags: &str) -> Tagged {
        Tagged {
            id: words.into(),
            group: words.into(),
            tokens: words.split(' ').map(String::from).collect(),
            tags: tags.split(' ').map(String::from).collect(),
        }
    }

    #[test]
    fn spans_become_iob2_and_bad_spans_are_named() {
        assert_eq!(
            iob2(5, &[(0, 2, "PER"), (3, 4, "LOC")]).unwrap(),
            ["B-PER", "I-PER", "O", "B-LOC", "O"]
        );
        assert!(iob2(2, &[(1, 3, "X")]).unwrap_err().contains("outside"));
        assert!(
            iob2(4, &[(0, 2, "X"), (1, 3, "Y")])
                .unwrap_err()
                .contains("overlaps")
        );
    }

    #[test]
    fn vocabularies_batches_and_round_trip() {
        let train = vec![
            sentence("Paris is in France", "B-LOC O O B-LOC"),
            sentence("John Smith visited 1999", "B-PER I-PER O O"),
        ];
        let v = TagVocabs::build(&train, &DataConfig::default());
        assert_eq!(v.tags, ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]);
        assert_eq!(v.tag_id("B-ORG"), 0);
        assert_eq!(word_key("Year1999"), "year0000");
        assert_ne!(v.words.id("paris"), crate::vocab::UNK_ID);
        let enc = encode_tagged(&train, &v);
        let b = TagBatch::of(&enc.iter().collect::<Vec<_>>());
        assert_eq!((b.rows(), b.len, b.tokens), (2, 4, 8));
        assert_eq!(b.char_len, 7, "`visited` is the longest word");
        let dir = tempfile::tempdir().unwrap();
        v.save(dir.path()).unwrap();
        assert_eq!(TagVocabs::load(dir.path()).unwrap(), v);
    }

    #[test]
    fn viterbi_finds_the_best_path_by_brute_force() {
        // Three tags, four tokens: compare with every one of the 81 paths.
        let k = 3;
        let mut rng = Rng::new(7);
        let mut r = || (rng.next_f64() * 4.0 - 2.0) as f32;
        let emissions: Vec<f32> = (0..4 * k).map(|_| r()).collect();
        let transitions: Vec<f32> = (0..k * k).map(|_| r()).collect();
        let start: Vec<f32> = (0..k).map(|_| r()).collect();
        let end: Vec<f32> = (0..k).map(|_| r()).collect();
        let score = |p: &[usize]| {
            let mut s = start[p[0]] + end[p[3]];
            for t in 0..4 {
                s += emissions[t * k + p[t]];
                if t > 0 {
                    s += transitions[p[t - 1] * k + p[t]];
                }
            }
            s
        };
        let mut best = (f32::NEG_INFINITY, vec![]);
        for code in 0..81 {
            let p: Vec<usize> = (0..4).map(|t| (code / 3usize.pow(t)) % 3).collect();
            if score(&p) > best.0 {
                best = (score(&p), p);
            }
        }
        assert_eq!(viterbi(&emissions, k, &transitions, &start, &end), best.1);
        assert_eq!(argmax_tags(&[0.1, 0.5, 0.2, 0.9, 0.0, 0.1], 3), [1, 0]);
    }
}
