//! Column names and Arrow schemas of the tables in README.md ("Stages").
//! Stages add their own columns after these.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

/// Field metadata key with which a schema tells the writer how to encode a
/// column. It is stored with the schema in every part file, so a stage
/// that passes a column through writes it as it was written.
pub const ENCODING_KEY: &str = "ore.encoding";
/// [`ENCODING_KEY`]'s value for a column written without a dictionary.
pub const PLAIN: &str = "plain";

/// A string column whose values are nearly all distinct (whole documents,
/// ids unique a row), which the writer leaves without a dictionary: one
/// would only cost hashing until the writer gives up on it, and a
/// dictionary page as big as the plain values (People's Daily's `doc_id`:
/// 49 KB with one, 13 KB without).
pub fn distinct_utf8(name: &str, nullable: bool) -> Field {
    mark_plain(Field::new(name, DataType::Utf8, nullable))
}

/// Whether the writer leaves `field` without a dictionary.
pub fn is_plain(field: &Field) -> bool {
    field.metadata().get(ENCODING_KEY).map(String::as_str) == Some(PLAIN)
}

/// `field`, read from an input, as a stage passes it through: a column
/// that one of ore's tables defines as [`distinct_utf8`] (`doc_id`, `text`,
/// `example_id`) keeps that encoding when the input (another tool's file)
/// did not record one.
pub fn adopt(field: &Field) -> Field {
    static PLAIN_COLUMNS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let plain_columns = PLAIN_COLUMNS.get_or_init(|| {
        [documents_schema(), examples_schema(), predictions_schema()]
            .iter()
            .flat_map(|schema| schema.fields().iter())
            .filter(|f| is_plain(f))
            .map(|f| f.name().clone())
            .collect()
    });
    if plain_columns.contains(field.name())
        && field.data_type() == &DataType::Utf8
        && !field.metadata().contains_key(ENCODING_KEY)
    {
        return mark_plain(field.clone());
    }
    field.clone()
}

/// `field` with the metadata of [`distinct_utf8`].
pub fn mark_plain(mut field: Field) -> Field {
    field.metadata_mut().insert(ENCODING_KEY, PLAIN);
    field
}

/// Columns of the crawler's `documents` table.
pub mod documents {
    pub const DOC_ID: &str = "doc_id";
    pub const URL: &str = "url";
    pub const FINAL_URL: &str = "final_url";
    pub const STATUS: &str = "status";
    pub const FETCHED_AT: &str = "fetched_at";
    pub const CONTENT_TYPE: &str = "content_type";
    pub const CHARSET: &str = "charset";
    pub const LANG: &str = "lang";
    pub const TITLE: &str = "title";
    pub const TEXT: &str = "text";
    pub const HTML_SHA256: &str = "html_sha256";
    pub const DEPTH: &str = "depth";
    pub const PARENT_URL: &str = "parent_url";
}

/// Columns the tokenize stage adds.
pub mod tokens {
    pub const TOKENS: &str = "tokens";
    /// Character offset where each token starts in the text.
    pub const TOKEN_STARTS: &str = "token_starts";
    /// Character offset where each token ends (exclusive).
    pub const TOKEN_ENDS: &str = "token_ends";
    pub const POS: &str = "pos";
    pub const ENTITIES: &str = "entities";
    pub const TITLE_TOKENS: &str = "title_tokens";
    /// Every column the stage (re)writes.
    pub const ALL: [&str; 6] = [
        TOKENS,
        TOKEN_STARTS,
        TOKEN_ENDS,
        POS,
        ENTITIES,
        TITLE_TOKENS,
    ];
}

/// Columns of the `examples` table, the unit of training (augment, split,
/// train and eval read and write it).
pub mod examples {
    pub const EXAMPLE_ID: &str = "example_id";
    /// The `doc_id` of the original document.
    pub const SOURCE_ID: &str = "source_id";
    pub const SRC: &str = "src";
    pub const TGT: &str = "tgt";
    pub const SRC_TOKENS: &str = "src_tokens";
    pub const TGT_TOKENS: &str = "tgt_tokens";
    /// Augmentation that made the row; null for originals.
    pub const AUG_OP: &str = "aug_op";
    /// The operation's parameters as JSON.
    pub const AUG_PARAMS: &str = "aug_params";
    pub const AUG_SEED: &str = "aug_seed";
    /// `train`, `valid` or `test` in split outputs.
    pub const SPLIT: &str = "split";
}

/// Columns of eval's `predictions` table: one decoded example a row with
/// its own scores.
pub mod predictions {
    pub const EXAMPLE_ID: &str = "example_id";
    pub const SOURCE_ID: &str = "source_id";
    pub const SRC: &str = "src";
    /// The model's output.
    pub const HYP: &str = "hyp";
    /// The reference (the example's `tgt`).
    pub const REF: &str = "ref";
    /// Sentence BLEU (sacrebleu's `sentence_bleu`), 0–100.
    pub const BLEU: &str = "bleu";
    /// ROUGE F1 scores, 0–1.
    pub const ROUGE1: &str = "rouge1";
    pub const ROUGE2: &str = "rouge2";
    pub const ROUGE_L: &str = "rougeL";
}

/// `list<u32>`, the type of token offsets.
pub fn u32_list_type() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::UInt32, true)))
}

/// Timestamps are stored as UTC microseconds.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// `list<utf8>`, the type of token columns.
pub fn utf8_list_type() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

/// `list<struct{start: u32, end: u32, label: utf8}>`, the type of `entities`
/// (token offsets, end exclusive).
pub fn entities_type() -> DataType {
    let entity = Fields::from(vec![
        Field::new("start", DataType::UInt32, false),
        Field::new("end", DataType::UInt32, false),
        Field::new("label", DataType::Utf8, false),
    ]);
    DataType::List(Arc::new(Field::new("item", DataType::Struct(entity), true)))
}

/// The `documents` table written by the crawler.
pub fn documents_schema() -> SchemaRef {
    use documents::*;
    Arc::new(Schema::new(vec![
        distinct_utf8(DOC_ID, false),
        Field::new(URL, DataType::Utf8, false),
        Field::new(FINAL_URL, DataType::Utf8, false),
        Field::new(STATUS, DataType::UInt16, false),
        Field::new(FETCHED_AT, timestamp_type(), false),
        Field::new(CONTENT_TYPE, DataType::Utf8, true),
        Field::new(CHARSET, DataType::Utf8, true),
        Field::new(LANG, DataType::Utf8, true),
        Field::new(TITLE, DataType::Utf8, true),
        distinct_utf8(TEXT, false),
        Field::new(HTML_SHA256, DataType::Utf8, false),
        Field::new(DEPTH, DataType::UInt32, false),
        Field::new(PARENT_URL, DataType::Utf8, true),
    ]))
}

/// The `examples` table: source/target pairs with their lineage.
pub fn examples_schema() -> SchemaRef {
    use examples::*;
    Arc::new(Schema::new(vec![
        distinct_utf8(EXAMPLE_ID, false),
        Field::new(SOURCE_ID, DataType::Utf8, false),
        Field::new(SRC, DataType::Utf8, false),
        Field::new(TGT, DataType::Utf8, false),
        Field::new(SRC_TOKENS, utf8_list_type(), false),
        Field::new(TGT_TOKENS, utf8_list_type(), false),
        Field::new(AUG_OP, DataType::Utf8, true),
        Field::new(AUG_PARAMS, DataType::Utf8, true),
        Field::new(AUG_SEED, DataType::UInt64, true),
    ]))
}

/// The `predictions` table written by eval.
pub fn predictions_schema() -> SchemaRef {
    use predictions::*;
    let text = |name| Field::new(name, DataType::Utf8, false);
    let score = |name| Field::new(name, DataType::Float64, false);
    Arc::new(Schema::new(vec![
        distinct_utf8(EXAMPLE_ID, false),
        text(SOURCE_ID),
        text(SRC),
        text(HYP),
        text(REF),
        score(BLEU),
        score(ROUGE1),
        score(ROUGE2),
        score(ROUGE_L),
    ]))
}
