//! The vocabulary artifact: token, count and document frequency, written as
//! `_vocab/` beside the tokens dataset for the training stage.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::config::VocabConfig;

/// Name of the side dataset holding the vocabulary.
pub const VOCAB_DIR: &str = "_vocab";

/// Counts tokens over documents.
#[derive(Debug, Default)]
pub struct VocabCounter {
    counts: FxHashMap<String, (u64, u64)>,
}

impl VocabCounter {
    /// Adds one document's tokens.
    pub fn add_document<S: AsRef<str>>(&mut self, tokens: &[S]) {
        let mut seen: FxHashSet<&str> = FxHashSet::default();
        for t in tokens {
            let t = t.as_ref();
            let first = seen.insert(t);
            match self.counts.get_mut(t) {
                Some((count, df)) => {
                    *count += 1;
                    *df += u64::from(first);
                }
                None => {
                    self.counts.insert(t.to_string(), (1, 1));
                }
            }
        }
    }

    /// Adds another counter's counts.
    pub fn merge(&mut self, other: VocabCounter) {
        for (token, (count, df)) in other.counts {
            let entry = self.counts.entry(token).or_default();
            entry.0 += count;
            entry.1 += df;
        }
    }

    /// Adds the counts of a `_vocab/` dataset (a shard's, uncut).
    pub fn add_counts(&mut self, vocab: &ore_core::Dataset) -> ore_core::Result<()> {
        for batch in vocab.batches_of(&["token", "count", "doc_freq"], 64 * 1024)? {
            let batch = batch?;
            let tokens = ore_core::StrColumn::of(&batch, "token", vocab.root())?;
            let number = |i: usize| {
                batch
                    .column(i)
                    .as_any()
                    .downcast_ref::<UInt64Array>()
                    .cloned()
                    .ok_or_else(|| ore_core::Error::arrow(vocab.root(), "vocab counts are not u64"))
            };
            let (counts, dfs) = (number(1)?, number(2)?);
            for i in 0..batch.num_rows() {
                let Some(token) = tokens.get(i) else { continue };
                let entry = self.counts.entry(token.to_string()).or_default();
                entry.0 += counts.value(i);
                entry.1 += dfs.value(i);
            }
        }
        Ok(())
    }

    /// Tokens seen at least `min_count` times, most frequent first (ties by
    /// token), at most `max_size` of them (0 = all).
    pub fn finish(self, config: &VocabConfig) -> Vec<(String, u64, u64)> {
        let mut entries: Vec<(String, u64, u64)> = self
            .counts
            .into_iter()
            .filter(|(_, (count, _))| *count >= config.min_count)
            .map(|(t, (c, d))| (t, c, d))
            .collect();
        entries.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        if config.max_size > 0 {
            entries.truncate(config.max_size);
        }
        entries
    }
}

/// `token: utf8, count: u64, doc_freq: u64`.
pub fn vocab_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("token", DataType::Utf8, false),
        Field::new("count", DataType::UInt64, false),
        Field::new("doc_freq", DataType::UInt64, false),
    ]))
}

/// The vocabulary as one record batch.
pub fn vocab_batch(
    entries: &[(String, u64, u64)],
) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            entries.iter().map(|e| e.0.as_str()),
        )),
        Arc::new(UInt64Array::from_iter_values(entries.iter().map(|e| e.1))),
        Arc::new(UInt64Array::from_iter_values(entries.iter().map(|e| e.2))),
    ];
    RecordBatch::try_new(vocab_schema(), columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_document_frequency_and_cuts() {
        let mut v = VocabCounter::default();
        v.add_document(&["a", "b", "a"]);
        v.add_document(&["a", "c"]);
        let all = v.finish(&VocabConfig::default());
        assert_eq!(all[0], ("a".to_string(), 3, 2));
        assert_eq!(all.len(), 3);

        let mut v = VocabCounter::default();
        v.add_document(&["a", "b", "a", "c", "c"]);
        let cut = v.finish(&VocabConfig {
            enabled: true,
            min_count: 2,
            max_size: 1,
        });
        assert_eq!(cut, [("a".to_string(), 2, 1)]);
    }
}
