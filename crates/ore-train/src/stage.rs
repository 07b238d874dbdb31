//! Train and eval as the pipeline knows them: kind, config and inputs,
//! known without libtorch, so that `ore run` can tell whether they are up
//! to date. Their runtimes (`ore_model::Train`, `ore_model::Eval`) link
//! libtorch.

use ore_core::{InputSpec, StageDef};

use crate::config::TrainConfig;

/// Text to tokens, for `examples` datasets without token lists (the binary
/// passes the tokenize stage's segmenter: stage crates do not import each
/// other).
pub type BoxedTokenizer = Box<dyn Fn(&str) -> Vec<String> + Send + Sync>;

/// The train stage as the runner knows it: an LSTM or GRU encoder-decoder
/// trained on an `examples` dataset (or, with `task = "tag"`, a BiLSTM-CRF
/// tagger on a `tokens` dataset with entities) (a split output's `train/` + `valid/`, or one
/// dataset with a held-out slice), written to a model folder with its
/// `_manifest.json`. Its runtime is `ore_model::Train`.
#[derive(Debug, Clone, Copy)]
pub struct TrainStage;

impl StageDef for TrainStage {
    const KIND: &'static str = "train";
    const INPUTS: &'static [InputSpec] = &[
        InputSpec::dataset(&["split", "augment", "examples"]),
        // A tagger's validation sentences (else the split's `valid/`, else
        // a slice held out by source_id).
        InputSpec {
            key: "valid",
            kind: ore_core::InputKind::Dataset,
            required: false,
            many: false,
            defaults: &[],
        },
    ];
    /// Initialisation, shuffling and dropout derive from the seed.
    const SEEDED: bool = true;
    type Config = TrainConfig;
}

/// Whether a dataset (or a split output's `train/`) has token lists.
pub fn has_token_lists(input: &std::path::Path) -> bool {
    let probe = if input.join("train").is_dir() {
        input.join("train")
    } else {
        input.to_path_buf()
    };
    ore_core::Dataset::open(&probe).is_ok_and(|d| {
        let s = d.schema();
        s.index_of(ore_core::schema::examples::SRC_TOKENS).is_ok()
            && s.index_of(ore_core::schema::examples::TGT_TOKENS).is_ok()
    })
}
