//! The `[clean]` section of a pipeline file.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use crate::pii::{PiiAction, PiiConfig};

/// Clean-stage settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", default)]
pub struct CleanConfig {
    /// Column holding the text.
    pub text_column: String,
    /// Column holding the document id (row numbers are used without it).
    pub id_column: String,
    /// Column holding the URL, whose host groups documents for boilerplate.
    pub url_column: String,
    pub normalize: NormalizeConfig,
    pub boilerplate: BoilerplateConfig,
    pub lang: LangConfig,
    pub quality: QualityConfig,
    pub dedup: DedupConfig,
    /// Personal information: found, counted, and masked, removed or made a
    /// reason to reject the row (`[clean.pii]`; off by default).
    #[serde(skip_serializing_if = "PiiConfig::is_off")]
    pub pii: PiiConfig,
    /// Rows per batch.
    pub batch_rows: usize,
    /// Near-duplicate index folder: documents kept by earlier runs are
    /// loaded from it (so a new batch is deduplicated against everything
    /// seen before) and the kept documents of this run are added to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<PathBuf>,
}

impl Default for CleanConfig {
    fn default() -> Self {
        Self {
            text_column: "text".into(),
            id_column: "doc_id".into(),
            url_column: "url".into(),
            normalize: NormalizeConfig::default(),
            boilerplate: BoilerplateConfig::default(),
            lang: LangConfig::default(),
            quality: QualityConfig::default(),
            dedup: DedupConfig::default(),
            pii: PiiConfig::default(),
            batch_rows: 1024,
            index: None,
        }
    }
}

/// Unicode normal form applied first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnicodeForm {
    /// Compatibility composition: also folds full-width forms, ligatures, …
    #[default]
    Nfkc,
    Nfc,
    None,
}

/// Text normalisation, step by step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", default)]
pub struct NormalizeConfig {
    pub unicode: UnicodeForm,
    /// Full-width ASCII (`ＡＢＣ１２３`) to half-width, also under NFC.
    pub full_width_ascii: bool,
    /// Remove control characters (except line breaks and tabs) and
    /// zero-width characters.
    pub remove_control: bool,
    /// Decode leftover HTML entities and drop leftover tags.
    pub strip_html: bool,
    /// Collapse runs of spaces; keep one line break between lines and at
    /// most one empty line between paragraphs.
    pub collapse_whitespace: bool,
}

impl Default for NormalizeConfig {
    fn default() -> Self {
        Self {
            unicode: UnicodeForm::Nfkc,
            full_width_ascii: true,
            remove_control: true,
            strip_html: true,
            collapse_whitespace: true,
        }
    }
}

/// Lines repeated across many documents of one site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", default)]
pub struct BoilerplateConfig {
    pub enabled: bool,
    /// A line is boilerplate when at least this many documents of its host
    /// contain it …
    pub min_docs: u64,
    /// … and at least this fraction of them.
    pub min_fraction: f64,
    /// Only lines up to this many characters are considered.
    pub max_line_chars: usize,
}

impl Default for BoilerplateConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            min_docs: 5,
            min_fraction: 0.05,
            max_line_chars: 100,
        }
    }
}

/// Language identification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", default)]
pub struct LangConfig {
    /// Identify the language (off: `lang_detected` is `und`).
    pub detect: bool,
    /// Languages to keep (ISO 639-1 where one exists, e.g. `zh`, `en`);
    /// empty keeps all.
    pub keep: Vec<String>,
    /// Below this confidence the language is `und` (kept only if `keep` is
    /// empty or lists `und`).
    pub min_confidence: f64,
}

impl Default for LangConfig {
    fn default() -> Self {
        Self {
            detect: true,
            keep: Vec::new(),
            min_confidence: 0.0,
        }
    }
}

/// Quality filters (Gopher/C4 style); each failing rule is its own reject
/// reason, and each signal is a column of the output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", default)]
pub struct QualityConfig {
    /// Fewest characters for CJK text (cjk_ratio ≥ 0.3) …
    pub min_cjk_chars: u64,
    /// … and fewest words for other text.
    pub min_words: u64,
    /// Most characters.
    pub max_chars: u64,
    /// Fewest CJK characters among letters (0 = no rule).
    pub min_cjk_ratio: f64,
    /// Most symbols (not letters, digits, spaces or punctuation) among
    /// characters.
    pub max_symbol_ratio: f64,
    /// Most digits among characters.
    pub max_digit_ratio: f64,
    /// Fewest lines ending in punctuation (0 = no rule).
    pub min_punct_end_ratio: f64,
    /// Most characters in lines that repeat within the document.
    pub max_dup_line_frac: f64,
    /// Most characters covered by repeated character/word 4-grams.
    pub max_dup_ngram_frac: f64,
    /// Bad-word list files (one a line) …
    pub bad_word_files: Vec<PathBuf>,
    /// … and inline; a document with more than `max_bad_words` is rejected.
    pub bad_words: Vec<String>,
    pub max_bad_words: u64,
    /// C4: reject a document that contains "lorem ipsum" (any case). Off
    /// by default: documentation about placeholder text holds it too (the
    /// LibreOffice help's ScriptForge String page does).
    pub reject_lorem_ipsum: bool,
    /// Gopher: most lines starting with a bullet (Gopher: 0.9).
    pub max_bullet_line_frac: f64,
    /// Gopher: most lines ending in an ellipsis (Gopher: 0.3).
    pub max_ellipsis_line_frac: f64,
    /// Gopher: fewest words with a letter (Gopher: 0.8; 0 = no rule).
    pub min_alpha_word_frac: f64,
    /// Gopher, for English: fewest stop words (`the`, `be`, `to`, `of`,
    /// `and`, `that`, `have`, `with`; Gopher: 2; 0 = no rule). CJK text is
    /// exempt.
    pub min_stop_words: u64,
    /// Gopher, for English: mean word length bounds (Gopher: 3 and 10;
    /// 0 = no bound). CJK text is exempt.
    pub min_mean_word_len: f64,
    pub max_mean_word_len: f64,
    /// C4 line rules, which drop lines rather than documents (counted in
    /// the `lines_dropped_*` columns): a line that mentions javascript …
    pub drop_javascript_lines: bool,
    /// … one not ending in terminal punctuation (`.!?"`, `。！？”` …),
    /// which would drop most Chinese headings and list items …
    pub drop_unterminated_lines: bool,
    /// … and one with fewer words than this (C4: 3; a CJK character is a
    /// word; 0 = no rule).
    pub min_line_words: u64,
}

impl Default for QualityConfig {
    fn default() -> Self {
        Self {
            min_cjk_chars: 10,
            min_words: 5,
            max_chars: 1_000_000,
            min_cjk_ratio: 0.0,
            max_symbol_ratio: 0.3,
            max_digit_ratio: 0.5,
            min_punct_end_ratio: 0.0,
            max_dup_line_frac: 0.5,
            max_dup_ngram_frac: 0.6,
            bad_word_files: Vec::new(),
            bad_words: Vec::new(),
            max_bad_words: 0,
            reject_lorem_ipsum: false,
            max_bullet_line_frac: 1.0,
            max_ellipsis_line_frac: 1.0,
            min_alpha_word_frac: 0.0,
            min_stop_words: 0,
            min_mean_word_len: 0.0,
            max_mean_word_len: 0.0,
            drop_javascript_lines: false,
            drop_unterminated_lines: false,
            min_line_words: 0,
        }
    }
}

/// Which document of a duplicate cluster is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Keep {
    /// The first in input order (documents already in the index come first).
    /// With this rule, cleaning A then B with `--index` keeps the same set as
    /// cleaning A and B together.
    #[default]
    Earliest,
    /// The longest (ties: earliest). Documents already in an index stay kept.
    Longest,
}

/// Exact and near-duplicate removal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", default)]
pub struct DedupConfig {
    pub exact: bool,
    pub near: bool,
    /// MinHash permutations.
    pub num_perm: usize,
    /// Estimated Jaccard similarity at which two documents are duplicates.
    pub threshold: f64,
    /// Shingle size in characters for CJK text …
    pub char_shingle: usize,
    /// … and in words for other text.
    pub word_shingle: usize,
    pub keep: Keep,
}

impl Default for DedupConfig {
    fn default() -> Self {
        Self {
            exact: true,
            near: true,
            num_perm: 128,
            threshold: 0.8,
            char_shingle: 5,
            word_shingle: 5,
            keep: Keep::Earliest,
        }
    }
}
