//! Every stage kind `ore` knows, as the Stage contract declares it: the
//! list the pipeline graph is checked against and `ore run` is built on.

use ore_core::StageKind;

/// The stage kinds, in pipeline order.
pub(crate) const KINDS: &[StageKind] = &[
    StageKind::of::<ore_crawl::Crawler>(),
    StageKind::of::<ore_tokenize::PkuImport>(),
    StageKind::of::<ore_tokenize::ConllImport>(),
    StageKind::of::<ore_tokenize::TableImport>(),
    StageKind::of::<ore_tokenize::HeadlinesImport>(),
    StageKind::of::<ore_clean::Cleaner>(),
    StageKind::of::<ore_tokenize::TokenizeStage>(),
    StageKind::of::<ore_align::AlignStage>(),
    StageKind::of::<ore_align::ExamplesStage>(),
    StageKind::of::<ore_split::SplitStage>(),
    StageKind::of::<ore_augment::AugmentStage>(),
    StageKind::of::<ore_train::TrainStage>(),
    StageKind::of::<ore_train::EvalStage>(),
    StageKind::of::<ore_train::TranslateStage>(),
];
