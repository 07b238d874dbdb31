//! The `[split]` section of a pipeline file.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Result, SplitError};

/// The three splits, in the order ratios and outputs list them.
pub const SPLITS: [&str; 3] = ["train", "valid", "test"];

/// `[split]`: how rows are grouped and how groups are placed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SplitConfig {
    /// Fractions of rows for train, valid and test (they sum to 1).
    pub ratios: Ratios,
    /// Columns whose equal values put rows in one group (a group goes
    /// wholly to one split). Those the input lacks are skipped; a user's
    /// own group column is added here.
    pub group_columns: Vec<String>,
    /// A URL column grouped by its canonical form (for input without
    /// `doc_id`); skipped when absent.
    pub url_column: Option<String>,
    /// The row's identity, for the split index and the audit's pairs: the
    /// first of these columns the input has (else a hash of the text).
    pub id_columns: Vec<String>,
    /// The text the exact-duplicate key, the near-duplicate MinHash and the
    /// length strata read: the first of these columns the input has.
    pub text_columns: Vec<String>,
    /// Rows with the same normalised text are one group (always safe, and
    /// what the audit's exact pass checks).
    pub group_exact_text: bool,
    /// Near-duplicate groups computed at split time, for input that did not
    /// go through clean.
    pub near_duplicates: NearDuplicates,
    /// Two rows are one group when most of either is a passage of the
    /// other: the rare long n-grams they share (the audit's sizes,
    /// `ngram_max_rows`, `ngram_min_overlap`) make at least the audit's
    /// share of one row's n-grams, so the split passes its own n-gram
    /// audit.
    pub group_ngrams: bool,
    /// Stratify by this label column: each label's groups are split by the
    /// ratios on their own.
    pub stratify: Option<String>,
    /// Stratify by text length instead: bucket bounds in characters
    /// (`[200, 1000]` makes three buckets).
    pub stratify_length: Vec<u64>,
    /// `ratio` (default): balanced by rows in the order of a seeded hash of
    /// each group. `time`: the newest groups by `time_column` are test, the
    /// next valid (sized by the ratios). `list`: groups with a row from
    /// `test_hosts`/`test_ids` are test, `valid_hosts`/`valid_ids` valid,
    /// the rest train.
    pub by: Rule,
    pub time_column: String,
    pub test_hosts: Vec<String>,
    pub valid_hosts: Vec<String>,
    pub test_ids: Vec<String>,
    pub valid_ids: Vec<String>,
    /// Split index folder: the split of every row placed by earlier runs.
    /// Old rows keep their split, new members of an old group join it, and
    /// new groups are placed to keep the ratios.
    pub index: Option<PathBuf>,
    /// Audit the split it made (counts in the manifest).
    pub audit: bool,
    /// Fail, naming the leaked rows, when the audit finds any.
    pub fail_on_leak: bool,
    /// The audit's settings.
    #[serde(rename = "audit_settings")]
    pub audit_settings: AuditConfig,
    /// Rows per batch read.
    pub batch_rows: usize,
}

impl Default for SplitConfig {
    fn default() -> Self {
        Self {
            ratios: Ratios::default(),
            group_columns: ["source_id", "dup_cluster", "doc_id"]
                .map(String::from)
                .to_vec(),
            url_column: Some("url".into()),
            id_columns: ["example_id", "doc_id", "id"].map(String::from).to_vec(),
            text_columns: ["text", "src"].map(String::from).to_vec(),
            group_exact_text: true,
            near_duplicates: NearDuplicates::default(),
            group_ngrams: true,
            stratify: None,
            stratify_length: Vec::new(),
            by: Rule::Ratio,
            time_column: "fetched_at".into(),
            test_hosts: Vec::new(),
            valid_hosts: Vec::new(),
            test_ids: Vec::new(),
            valid_ids: Vec::new(),
            index: None,
            audit: true,
            fail_on_leak: false,
            audit_settings: AuditConfig::default(),
            batch_rows: 8192,
        }
    }
}

/// Fractions of rows per split.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Ratios {
    pub train: f64,
    pub valid: f64,
    pub test: f64,
}

impl Default for Ratios {
    fn default() -> Self {
        Self {
            train: 0.8,
            valid: 0.1,
            test: 0.1,
        }
    }
}

impl Ratios {
    /// In [`SPLITS`] order.
    pub fn as_array(&self) -> [f64; 3] {
        [self.train, self.valid, self.test]
    }
}

/// How groups are placed.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Rule {
    #[default]
    Ratio,
    Time,
    List,
}

/// MinHash near-duplicate groups at split time.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NearDuplicates {
    pub enabled: bool,
    /// Jaccard similarity of shingle sets at or above which two rows are
    /// one group (checked exactly on the candidate pairs LSH finds).
    pub threshold: f64,
    pub num_perm: usize,
    /// Shingle sizes: characters for CJK text, words otherwise.
    pub char_shingle: usize,
    pub word_shingle: usize,
    /// Seed of the MinHash permutations: the audit's (0) by default, so
    /// that the split groups every near-duplicate pair its audit would find.
    pub seed: u64,
}

impl Default for NearDuplicates {
    fn default() -> Self {
        Self {
            enabled: false,
            threshold: 0.8,
            num_perm: 128,
            char_shingle: 5,
            word_shingle: 3,
            seed: 0,
        }
    }
}

/// What the leakage audit looks for (`ore audit`, and `ore split` on its
/// own output).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// Near duplicates: Jaccard threshold on shingle sets, verified exactly.
    pub near_threshold: f64,
    pub num_perm: usize,
    pub char_shingle: usize,
    pub word_shingle: usize,
    /// Long n-gram overlap: n in words for Latin-script text (13, as the
    /// decontamination tools use) …
    pub ngram_words: usize,
    /// … and in characters for CJK text.
    pub ngram_chars: usize,
    /// An n-gram held by more rows than this (train and eval together) is
    /// common phrasing, not a copied passage: it makes no leak, and the
    /// split's `group_ngrams` does not join by it.
    pub ngram_max_rows: usize,
    /// The share of an eval row's n-grams that one train row must hold (of
    /// the rare ones) for an n-gram leak: a passage quoted in a few words
    /// is not a copy of the row.
    pub ngram_min_overlap: f64,
    /// The lineage column whose shared values across splits are variant
    /// leaks (augmented or sibling examples of one source document).
    pub source_column: String,
    /// Pairs written per eval row and kind (the most similar train rows).
    pub pairs_per_row: usize,
    /// Seed of the MinHash permutations.
    pub seed: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            near_threshold: 0.8,
            num_perm: 128,
            char_shingle: 5,
            word_shingle: 3,
            ngram_words: 13,
            ngram_chars: 25,
            ngram_max_rows: 10,
            ngram_min_overlap: 0.5,
            source_column: "source_id".into(),
            pairs_per_row: 1,
            seed: 0,
        }
    }
}

impl SplitConfig {
    /// Checks what can be checked before a row is read.
    pub fn validate(&self) -> Result<()> {
        let r = self.ratios.as_array();
        if r.iter().any(|x| !(0.0..=1.0).contains(x)) || (r.iter().sum::<f64>() - 1.0).abs() > 1e-6
        {
            return Err(SplitError::Config(format!(
                "ratios must each be in [0, 1] and sum to 1, not train {} + valid {} + test {}",
                r[0], r[1], r[2]
            )));
        }
        if self.stratify.is_some() && !self.stratify_length.is_empty() {
            return Err(SplitError::Config(
                "set stratify (a label column) or stratify_length (length buckets), not both"
                    .into(),
            ));
        }
        if self.stratify_length.windows(2).any(|w| w[0] >= w[1]) {
            return Err(SplitError::Config(
                "stratify_length bounds must rise strictly".into(),
            ));
        }
        let n = &self.near_duplicates;
        if n.enabled && (n.num_perm == 0 || !(0.0..=1.0).contains(&n.threshold)) {
            return Err(SplitError::Config(
                "near_duplicates needs num_perm ≥ 1 and 0 ≤ threshold ≤ 1".into(),
            ));
        }
        let lists = self.test_hosts.len()
            + self.valid_hosts.len()
            + self.test_ids.len()
            + self.valid_ids.len();
        if self.by == Rule::List && lists == 0 {
            return Err(SplitError::Config(
                "by = \"list\" needs test_hosts, valid_hosts, test_ids or valid_ids".into(),
            ));
        }
        if self.by != Rule::List && lists > 0 {
            return Err(SplitError::Config(
                "test_hosts/valid_hosts/test_ids/valid_ids need by = \"list\"".into(),
            ));
        }
        if self.batch_rows == 0 {
            return Err(SplitError::Config("batch_rows must be at least 1".into()));
        }
        self.audit_settings.validate()
    }
}

impl AuditConfig {
    /// The distinct long n-gram hashes of a normalised text
    /// ([`crate::text::normalize`]), of its script's size: `ngram_chars`
    /// for CJK text, `ngram_words` otherwise. The audit and the split's
    /// `group_ngrams` both take a row's n-grams from here.
    pub fn passage_grams(&self, normalized: &str) -> Vec<u64> {
        let n = if ore_minhash::use_char_shingles(normalized) {
            self.ngram_chars
        } else {
            self.ngram_words
        };
        crate::text::ngram_hashes(&crate::text::unit_hashes(normalized), n)
    }

    pub fn validate(&self) -> Result<()> {
        if self.num_perm == 0 || !(0.0..=1.0).contains(&self.near_threshold) {
            return Err(SplitError::Config(
                "audit needs num_perm ≥ 1 and 0 ≤ near_threshold ≤ 1".into(),
            ));
        }
        if self.ngram_words == 0 || self.ngram_chars == 0 {
            return Err(SplitError::Config(
                "audit n-gram sizes must be at least 1".into(),
            ));
        }
        if !(0.0..=1.0).contains(&self.ngram_min_overlap) {
            return Err(SplitError::Config(
                "audit ngram_min_overlap must be in [0, 1]".into(),
            ));
        }
        if self.char_shingle == 0 || self.word_shingle == 0 {
            return Err(SplitError::Config(
                "shingle sizes must be at least 1".into(),
            ));
        }
        Ok(())
    }
}
