//! The `[tokenize]` section of a pipeline file.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// How Chinese runs are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// jieba's precise mode: the most likely segmentation, no overlaps.
    #[default]
    Precise,
    /// jieba's search mode: precise tokens plus the dictionary words inside
    /// them (overlapping spans; no POS tags or entities).
    Search,
}

/// How the text outside Chinese runs is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NonChinese {
    /// Unicode words (UAX #29): `１９９７`, `ＡＢＣ`, `don't` and `3.14` are
    /// one token each, whitespace is dropped; a run of Han characters with
    /// ASCII letters and digits next to them (`Windows系统`) goes to jieba.
    #[default]
    Words,
    /// Exactly as Python jieba 0.42.1's `lcut` (`lcut_for_search` in search
    /// mode): runs of U+4E00–U+9FD5, ASCII letters, digits and `+#&._%-` go
    /// to jieba, and every other character is a token of its own
    /// (`１９９７` is four), `\r\n` one token; whitespace tokens are kept.
    Jieba,
}

/// Tokenize-stage settings.
///
/// ```toml
/// [tokenize]
/// mode = "precise"
/// hmm = true
/// user_words = ["云计算", "韩玉鉴赏 5 nz"]
/// [[tokenize.gazetteers]]
/// label = "PRODUCT"
/// terms = ["LibreOffice", "Writer"]
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", default)]
pub struct TokenizeConfig {
    /// `precise` or `search`.
    pub mode: Mode,
    /// Let jieba's HMM join characters that are not in the dictionary.
    pub hmm: bool,
    /// `words` (Unicode words) or `jieba` (Python jieba's own handling,
    /// one token a character): see [`NonChinese`].
    pub non_chinese: NonChinese,
    /// Column holding the text to tokenize.
    pub text_column: String,
    /// Column tokenized into `title_tokens` when the input has it.
    pub title_column: String,
    /// Lowercase Latin tokens (Chinese is unaffected).
    pub lowercase: bool,
    /// Tag parts of speech (jieba's PKU-style tags; `eng`, `m`, `x` for
    /// Latin words, numbers and symbols).
    pub pos: bool,
    /// Mark entities from POS tags and gazetteers.
    pub entities: bool,
    /// jieba user dictionaries (`word [freq] [tag]` a line), relative to the
    /// working directory.
    pub user_dicts: Vec<PathBuf>,
    /// Extra dictionary entries in the same `word [freq] [tag]` form.
    pub user_words: Vec<String>,
    /// Stop-word files (one word a line); those tokens are removed.
    pub stop_word_files: Vec<PathBuf>,
    /// Stop words given inline.
    pub stop_words: Vec<String>,
    /// Entity label for each POS tag (tokens with other tags are no entity).
    pub entity_labels: BTreeMap<String, String>,
    /// Join adjacent tokens with the same entity label into one entity
    /// (`江/nr 泽民/nr` → one PER).
    pub merge_adjacent_entities: bool,
    /// Term lists whose matches become entities (they win over POS-derived
    /// entities they overlap).
    pub gazetteers: Vec<Gazetteer>,
    /// The vocabulary written to `_vocab/` beside the dataset.
    pub vocab: VocabConfig,
    /// Rows per batch read and written.
    pub batch_rows: usize,
    /// Copy the input's columns that pass through unchanged (`text`, ids,
    /// titles, …) into the output as they are encoded in the input, row
    /// group by row group, instead of encoding them again: each row group
    /// of the input becomes one of the output. Only zstd-compressed chunks
    /// are copied (pyarrow's default, snappy, is encoded again). In a group whose `text` may
    /// hold nulls (by the file's statistics), whose rows are dropped, every
    /// column is encoded. Off: every column is encoded with ore's settings,
    /// in row groups of ore's size.
    pub copy_columns: bool,
}

impl Default for TokenizeConfig {
    fn default() -> Self {
        Self {
            mode: Mode::Precise,
            hmm: true,
            non_chinese: NonChinese::Words,
            text_column: "text".into(),
            title_column: "title".into(),
            lowercase: false,
            pos: true,
            entities: true,
            user_dicts: Vec::new(),
            user_words: Vec::new(),
            stop_word_files: Vec::new(),
            stop_words: Vec::new(),
            entity_labels: default_entity_labels(),
            merge_adjacent_entities: true,
            gazetteers: Vec::new(),
            vocab: VocabConfig::default(),
            batch_rows: 2048,
            copy_columns: true,
        }
    }
}

/// `nr` → PER, `ns` → LOC, `nt` → ORG, `nz` → MISC.
pub fn default_entity_labels() -> BTreeMap<String, String> {
    [("nr", "PER"), ("ns", "LOC"), ("nt", "ORG"), ("nz", "MISC")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Terms that are entities of one label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Gazetteer {
    pub label: String,
    #[serde(default)]
    pub terms: Vec<String>,
    /// Files of terms, one a line.
    #[serde(default)]
    pub files: Vec<PathBuf>,
}

/// Vocabulary settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", default)]
pub struct VocabConfig {
    /// Write `_vocab/`.
    pub enabled: bool,
    /// Drop tokens seen fewer times.
    pub min_count: u64,
    /// Keep at most this many tokens (most frequent first; 0 = all).
    pub max_size: usize,
}

impl Default for VocabConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            min_count: 1,
            max_size: 0,
        }
    }
}
