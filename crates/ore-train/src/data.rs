//! From an `examples` dataset to padded batches of ids.
//!
//! - [`load_split`] reads a folder holding `train/` and `valid/` (a split
//!   output) or one dataset, from which a validation slice is held out by a
//!   hash of `source_id` (so every variant of a document falls on one side).
//! - [`Encoded`] turns token lists into units (tokens or characters) and
//!   ids, truncated to the configured lengths.
//! - [`batches`] shuffles with the run seed, sorts windows of batches by
//!   length so padding stays small, and pads.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, ListArray};
use arrow_schema::{DataType, Field};
use ore_core::schema::examples::{EXAMPLE_ID, SOURCE_ID, SRC, SRC_TOKENS, TGT, TGT_TOKENS};
use ore_core::{Dataset, StrColumn};

use crate::bpe::{self, Bpe};
use crate::config::{DataConfig, Units};
use crate::error::{Result, TrainError};
use crate::vocab::{BOS_ID, EOS_ID, PAD_ID, Vocab};

/// One training pair as the model sees it (before units and ids).
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub example_id: String,
    pub source_id: String,
    pub src: Vec<String>,
    pub tgt: Vec<String>,
    /// The target text (the reference of evaluation).
    pub tgt_text: String,
    /// The source text (the lead baseline cuts it).
    pub src_text: String,
}

impl Example {
    /// The same pair the other way round (`data.swap_sides`).
    pub fn swapped(self) -> Self {
        Self {
            src: self.tgt,
            tgt: self.src,
            tgt_text: self.src_text,
            src_text: self.tgt_text,
            ..self
        }
    }

    fn src_tokens(&self) -> &[String] {
        &self.src
    }

    fn tgt_tokens(&self) -> &[String] {
        &self.tgt
    }
}

/// Turns every example of `set` round (`data.swap_sides`).
pub fn swap_sides(set: &mut Vec<Example>) {
    *set = std::mem::take(set)
        .into_iter()
        .map(Example::swapped)
        .collect();
}

/// Splits text into tokens when a dataset has no token columns (the CLI
/// passes the tokenize stage's tokenizer).
pub type TextTokenizer<'a> = &'a (dyn Fn(&str) -> Vec<String> + Sync);

/// Where the training and validation examples come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// `DIR/train` and `DIR/valid` of a split output.
    Split { train: PathBuf, valid: PathBuf },
    /// One dataset; the validation slice is held out by hash.
    HeldOut { path: PathBuf, fraction: f64 },
}

impl Source {
    /// A folder with `train/` (and `valid/`) is a split; anything else is
    /// one dataset.
    pub fn detect(path: &Path, fraction: f64) -> Self {
        let (train, valid) = (path.join("train"), path.join("valid"));
        if train.is_dir() && valid.is_dir() {
            Source::Split { train, valid }
        } else {
            Source::HeldOut {
                path: path.to_path_buf(),
                fraction,
            }
        }
    }
}

/// Whether `source_id` falls in the held-out validation slice.
pub fn is_held_out(source_id: &str, fraction: f64) -> bool {
    let h = ore_core::ids::row_seed(0, source_id);
    ((h >> 11) as f64 / (1u64 << 53) as f64) < fraction
}

/// Reads every example of a dataset.
pub fn load_examples(path: &Path, tokenizer: Option<TextTokenizer<'_>>) -> Result<Vec<Example>> {
    let dataset = Dataset::open(path)?;
    let schema = dataset.schema().clone();
    let has = |name: &str| schema.index_of(name).is_ok();
    let tokens = has(SRC_TOKENS) && has(TGT_TOKENS);
    for name in [EXAMPLE_ID, SRC, TGT] {
        if !has(name) {
            return Err(TrainError::invalid(
                path,
                format!(
                    "no `{name}` column: not an examples dataset (expected example_id, source_id, src, tgt, src_tokens, tgt_tokens)"
                ),
            ));
        }
    }
    if !tokens && tokenizer.is_none() {
        return Err(TrainError::invalid(
            path,
            "no src_tokens/tgt_tokens columns and no tokenizer to make them",
        ));
    }
    let mut columns = vec![EXAMPLE_ID, SRC, TGT];
    if has(SOURCE_ID) {
        columns.push(SOURCE_ID);
    }
    if tokens {
        columns.extend([SRC_TOKENS, TGT_TOKENS]);
    }
    let mut out = Vec::with_capacity(dataset.num_rows() as usize);
    for batch in dataset.batches_of(&columns, 8192)? {
        let batch = batch?;
        let ids = StrColumn::of(&batch, EXAMPLE_ID, path)?;
        let src = StrColumn::of(&batch, SRC, path)?;
        let tgt = StrColumn::of(&batch, TGT, path)?;
        let sources = has(SOURCE_ID)
            .then(|| StrColumn::of(&batch, SOURCE_ID, path))
            .transpose()?;
        let lists = if tokens {
            Some((
                utf8_lists(&batch, SRC_TOKENS, path)?,
                utf8_lists(&batch, TGT_TOKENS, path)?,
            ))
        } else {
            None
        };
        for row in 0..batch.num_rows() {
            let (Some(example_id), Some(src_text), Some(tgt_text)) =
                (ids.get(row), src.get(row), tgt.get(row))
            else {
                return Err(TrainError::invalid(
                    path,
                    format!("row {}: null example_id, src or tgt", out.len()),
                ));
            };
            let (s, t) = match (&lists, tokenizer) {
                (Some((s, t)), _) => (list_row(s, row), list_row(t, row)),
                (None, Some(tok)) => (tok(src_text), tok(tgt_text)),
                (None, None) => unreachable!("checked above"),
            };
            out.push(Example {
                example_id: example_id.to_string(),
                source_id: sources
                    .as_ref()
                    .and_then(|c| c.get(row))
                    .unwrap_or(example_id)
                    .to_string(),
                src: s,
                tgt: t,
                tgt_text: tgt_text.to_string(),
                src_text: src_text.to_string(),
            });
        }
    }
    Ok(out)
}

/// A `list<utf8>` column, whatever list and string widths the writer used.
pub fn utf8_lists(batch: &arrow_array::RecordBatch, name: &str, path: &Path) -> Result<ListArray> {
    let column: &ArrayRef = batch
        .column_by_name(name)
        .ok_or_else(|| TrainError::invalid(path, format!("no `{name}` column")))?;
    let target = DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
    let cast = if column.data_type() == &target {
        column.clone()
    } else {
        arrow_cast::cast(column, &target).map_err(|e| {
            TrainError::invalid(
                path,
                format!(
                    "column `{name}` is {} , not a list of strings: {e}",
                    column.data_type()
                ),
            )
        })?
    };
    Ok(cast.as_list::<i32>().clone())
}

pub fn list_row(list: &ListArray, row: usize) -> Vec<String> {
    if list.is_null(row) {
        return Vec::new();
    }
    let values = list.value(row);
    let strings = values.as_string::<i32>();
    strings.iter().flatten().map(String::from).collect()
}

/// Training and validation examples.
pub fn load_split(
    source: &Source,
    tokenizer: Option<TextTokenizer<'_>>,
) -> Result<(Vec<Example>, Vec<Example>)> {
    match source {
        Source::Split { train, valid } => Ok((
            load_examples(train, tokenizer)?,
            load_examples(valid, tokenizer)?,
        )),
        Source::HeldOut { path, fraction } => {
            let all = load_examples(path, tokenizer)?;
            Ok(all
                .into_iter()
                .partition(|e| !is_held_out(&e.source_id, *fraction)))
        }
    }
}

/// Characters of tokens holding Han, whole tokens otherwise; for `bpe`,
/// which needs learnt merges ([`Vocabs::src_units`]), the tokens.
pub fn units(tokens: &[String], units: Units) -> Vec<String> {
    match units {
        Units::Tokens | Units::Bpe => tokens.to_vec(),
        Units::Chars => tokens
            .iter()
            .flat_map(|t| {
                if t.chars().any(is_han) {
                    t.chars().map(String::from).collect::<Vec<_>>()
                } else {
                    vec![t.clone()]
                }
            })
            .collect(),
    }
}

fn is_han(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}' | '\u{20000}'..='\u{2ffff}')
}

/// Source and target vocabularies (the same one when shared), with the
/// subword merges of `bpe` units.
#[derive(Debug, Clone, PartialEq)]
pub struct Vocabs {
    pub src: Vocab,
    pub tgt: Vocab,
    pub subwords: Option<Subwords>,
}

/// The merges each side's tokens are cut into pieces with (one list for
/// both sides when the vocabulary is shared).
#[derive(Debug, Clone, PartialEq)]
pub struct Subwords {
    pub src: Bpe,
    pub tgt: Bpe,
}

impl Subwords {
    /// Learns `config.bpe_merges` merges on the training tokens.
    pub fn learn(examples: &[Example], config: &DataConfig) -> Self {
        let count = |side: fn(&Example) -> &[String]| {
            examples
                .iter()
                .flat_map(move |e| side(e).iter().map(|t| (t.as_str(), 1)))
        };
        let (src, tgt) = (Example::src_tokens, Example::tgt_tokens);
        if config.shared_vocab {
            let both = Bpe::learn(count(src).chain(count(tgt)), config.bpe_merges);
            Self {
                src: both.clone(),
                tgt: both,
            }
        } else {
            Self {
                src: Bpe::learn(count(src), config.bpe_merges),
                tgt: Bpe::learn(count(tgt), config.bpe_merges),
            }
        }
    }
}

fn side_units(tokens: &[String], kind: Units, bpe: Option<&Bpe>) -> Vec<String> {
    match (kind, bpe) {
        (Units::Bpe, Some(bpe)) => bpe.segment_all(tokens),
        _ => units(tokens, kind),
    }
}

impl Vocabs {
    /// A source token list as the model's units.
    pub fn src_units(&self, tokens: &[String], kind: Units) -> Vec<String> {
        side_units(tokens, kind, self.subwords.as_ref().map(|s| &s.src))
    }

    /// A target token list as the model's units.
    pub fn tgt_units(&self, tokens: &[String], kind: Units) -> Vec<String> {
        side_units(tokens, kind, self.subwords.as_ref().map(|s| &s.tgt))
    }

    /// Output units back to tokens (pieces of `bpe` glued together).
    pub fn tgt_tokens(&self, units: Vec<String>) -> Vec<String> {
        match self.subwords {
            Some(_) => bpe::join_pieces(&units),
            None => units,
        }
    }

    pub fn build(examples: &[Example], config: &DataConfig) -> Self {
        let subwords = (config.units == Units::Bpe).then(|| Subwords::learn(examples, config));
        let side = |bpe: Option<&Bpe>, tokens: fn(&Example) -> &[String]| -> Vec<Vec<String>> {
            examples
                .iter()
                .map(|e| side_units(tokens(e), config.units, bpe))
                .collect()
        };
        let src_units = side(subwords.as_ref().map(|s| &s.src), Example::src_tokens);
        let tgt_units = side(subwords.as_ref().map(|s| &s.tgt), Example::tgt_tokens);
        fn flat(v: &[Vec<String>]) -> Vec<&str> {
            v.iter().flatten().map(String::as_str).collect()
        }
        if config.shared_vocab {
            let mut all = flat(&src_units);
            all.extend(flat(&tgt_units));
            let v = Vocab::build(all.into_iter(), config.min_count, config.max_vocab);
            Self {
                src: v.clone(),
                tgt: v,
                subwords,
            }
        } else {
            Self {
                subwords,
                src: Vocab::build(
                    flat(&src_units).into_iter(),
                    config.min_count,
                    config.max_vocab,
                ),
                tgt: Vocab::build(
                    flat(&tgt_units).into_iter(),
                    config.min_count,
                    config.max_vocab,
                ),
            }
        }
    }
}

/// One example as ids: source (truncated), target (truncated) without the
/// `<bos>`/`<eos>` the batches add.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub index: usize,
    pub src: Vec<i64>,
    pub tgt: Vec<i64>,
}

/// Encodes examples (an empty source becomes one `<unk>`, since the encoder
/// needs at least one step).
pub fn encode(examples: &[Example], vocabs: &Vocabs, config: &DataConfig) -> Vec<Encoded> {
    examples
        .iter()
        .enumerate()
        .map(|(index, e)| {
            let mut src: Vec<i64> = vocabs
                .src_units(&e.src, config.units)
                .iter()
                .take(config.max_src_len)
                .map(|u| vocabs.src.id(u))
                .collect();
            if src.is_empty() {
                src.push(crate::vocab::UNK_ID);
            }
            let tgt = vocabs
                .tgt_units(&e.tgt, config.units)
                .iter()
                .take(config.max_tgt_len)
                .map(|u| vocabs.tgt.id(u))
                .collect();
            Encoded { index, src, tgt }
        })
        .collect()
}

/// A padded batch, rows sorted by source length (longest first, as packed
/// sequences need). `index` maps rows back to the examples.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub index: Vec<usize>,
    /// `[rows, src_len]`, row-major, padded with `<pad>`.
    pub src: Vec<i64>,
    pub src_len: usize,
    pub src_lengths: Vec<i64>,
    /// Decoder input `<bos> y1 … yn`, `[rows, tgt_len]`.
    pub tgt_in: Vec<i64>,
    /// Decoder output `y1 … yn <eos>`, `[rows, tgt_len]`.
    pub tgt_out: Vec<i64>,
    pub tgt_len: usize,
    /// Target units in the batch, `<eos>` included (not padding).
    pub tgt_units: usize,
}

impl Batch {
    pub fn rows(&self) -> usize {
        self.index.len()
    }

    /// Pads the given examples into one batch.
    pub fn of(examples: &[&Encoded]) -> Self {
        let mut rows: Vec<&Encoded> = examples.to_vec();
        rows.sort_by(|a, b| b.src.len().cmp(&a.src.len()).then(a.index.cmp(&b.index)));
        let src_len = rows.first().map_or(1, |r| r.src.len());
        let tgt_len = rows.iter().map(|r| r.tgt.len() + 1).max().unwrap_or(1);
        let mut b = Batch {
            index: rows.iter().map(|r| r.index).collect(),
            src: vec![PAD_ID; rows.len() * src_len],
            src_len,
            src_lengths: rows.iter().map(|r| r.src.len() as i64).collect(),
            tgt_in: vec![PAD_ID; rows.len() * tgt_len],
            tgt_out: vec![PAD_ID; rows.len() * tgt_len],
            tgt_len,
            tgt_units: rows.iter().map(|r| r.tgt.len() + 1).sum(),
        };
        for (i, r) in rows.iter().enumerate() {
            b.src[i * src_len..i * src_len + r.src.len()].copy_from_slice(&r.src);
            let row_in = &mut b.tgt_in[i * tgt_len..];
            row_in[0] = BOS_ID;
            row_in[1..=r.tgt.len()].copy_from_slice(&r.tgt);
            let row_out = &mut b.tgt_out[i * tgt_len..];
            row_out[..r.tgt.len()].copy_from_slice(&r.tgt);
            row_out[r.tgt.len()] = EOS_ID;
        }
        b
    }
}

/// SplitMix64: a small seeded generator for shuffles (no global state, so a
/// resumed run reproduces an epoch's order from its seed alone).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// The batches of one epoch: shuffled by `seed`, bucketed by length.
/// Without a seed (evaluation) the order is the data's, still bucketed.
pub fn batches(data: &[Encoded], config: &DataConfig, seed: Option<u64>) -> Vec<Batch> {
    let mut order: Vec<&Encoded> = data.iter().collect();
    let mut rng = seed.map(Rng::new);
    if let Some(rng) = rng.as_mut() {
        rng.shuffle(&mut order);
    }
    let window = config.batch_size * config.bucket_batches.max(1);
    let mut out = Vec::with_capacity(data.len().div_ceil(config.batch_size));
    for chunk in order.chunks_mut(window) {
        chunk.sort_by(|a, b| b.src.len().cmp(&a.src.len()).then(a.index.cmp(&b.index)));
        out.extend(chunk.chunks(config.batch_size).map(Batch::of));
    }
    if let Some(rng) = rng.as_mut() {
        rng.shuffle(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(id: &str, src: &str, tgt: &str) -> Example {
        Example {
            example_id: id.into(),
            source_id: id.into(),
            src: src.split(' ').map(String::from).collect(),
            tgt: tgt.split(' ').map(String::from).collect(),
            tgt_text: tgt.replace(' ', ""),
            src_text: src.replace(' ', ""),
        }
    }

    #[test]
    fn char_units_split_han_tokens_only() {
        let t: Vec<String> = ["中国", "GDP", "增长"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(units(&t, Units::Chars), ["中", "国", "GDP", "增", "长"]);
        assert_eq!(units(&t, Units::Tokens), t);
    }

    #[test]
    fn batches_pad_sort_and_cover_every_example_once() {
        let examples: Vec<Example> = (0..10)
            .map(|i| ex(&format!("e{i}"), &vec!["a"; i + 1].join(" "), "b c"))
            .collect();
        let config = DataConfig {
            batch_size: 3,
            max_src_len: 6,
            ..DataConfig::default()
        };
        let vocabs = Vocabs::build(&examples, &config);
        let enc = encode(&examples, &vocabs, &config);
        assert!(enc.iter().all(|e| e.src.len() <= 6));
        let bs = batches(&enc, &config, Some(7));
        let mut seen: Vec<usize> = bs.iter().flat_map(|b| b.index.clone()).collect();
        seen.sort();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
        for b in &bs {
            assert!(b.src_lengths.windows(2).all(|w| w[0] >= w[1]));
            assert_eq!(b.src.len(), b.rows() * b.src_len);
            assert_eq!(b.tgt_in[0], BOS_ID);
            assert_eq!(b.tgt_out[2], EOS_ID);
            assert_eq!(b.tgt_units, b.rows() * 3);
        }
        assert_eq!(batches(&enc, &config, Some(7)), bs);
        assert_ne!(batches(&enc, &config, Some(8)), bs);
    }

    #[test]
    fn text_only_examples_go_through_the_tokenizer_and_others_are_refused() {
        use arrow_array::{RecordBatch, StringArray};
        use arrow_schema::{DataType, Field, Schema};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ex");
        let schema = Arc::new(Schema::new(vec![
            Field::new(EXAMPLE_ID, DataType::Utf8, false),
            Field::new(SRC, DataType::Utf8, false),
            Field::new(TGT, DataType::Utf8, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec!["a", "b"])),
                Arc::new(StringArray::from(vec!["今天 天气 好", "x y"])),
                Arc::new(StringArray::from(vec!["天气", "y"])),
            ],
        )
        .unwrap();
        let mut w =
            ore_core::DatasetWriter::create(&path, schema, ore_core::WriteOptions::default())
                .unwrap();
        w.write(&batch).unwrap();
        w.commit().unwrap();
        let split = |t: &str| t.split(' ').map(String::from).collect::<Vec<_>>();
        let examples = load_examples(&path, Some(&split)).unwrap();
        assert_eq!(examples[0].src, ["今天", "天气", "好"]);
        assert_eq!(examples[1].tgt, ["y"]);
        // source_id falls back to example_id.
        assert_eq!(examples[1].source_id, "b");
        let err = load_examples(&path, None).unwrap_err().to_string();
        assert!(err.contains("no src_tokens/tgt_tokens"), "{err}");
    }

    #[test]
    fn held_out_slice_is_stable_and_near_the_fraction() {
        let ids: Vec<String> = (0..10_000).map(|i| format!("doc{i}")).collect();
        let held = ids.iter().filter(|i| is_held_out(i, 0.1)).count();
        assert!((800..1200).contains(&held), "{held}");
        assert!(
            ids.iter()
                .all(|i| is_held_out(i, 0.1) == is_held_out(i, 0.1))
        );
    }
}
