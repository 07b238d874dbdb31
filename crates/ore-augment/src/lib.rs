//! `ore-augment`: the augment stage of ore.
//!
//! - Ops are data (`[[augment.ops]]`): synonym swap (HIT Cilin for Chinese,
//!   WordNet 3.0 and/or MyThes for English, POS-matched), character noise,
//!   keyboard typos, Chinese homophones from CC-CEDICT readings weighted by
//!   jieba's frequencies, equivalent numerals, punctuation (AEDA), EDA's
//!   four word ops, and the NER-aware ops of Dai & Adel (2020).
//! - Every op edits a [`seq::Seq`], whose tokens carry their tags, so tags
//!   stay aligned by construction and entity spans are rebuilt.
//! - Each variant's random choices derive from (run seed, example id,
//!   variant, op), never from a global generator ([`rng`]).
//! - [`AugmentStage`] is the Stage: lineage columns, the similarity window,
//!   and the leakage guard (only training rows are augmented).

pub mod augment;
pub mod config;
pub mod error;
pub mod lexicon;
pub mod ops;
pub mod rng;
pub mod seq;
pub mod stage;
pub mod tables;
pub mod translate;

pub use augment::{Augmenter, Outcome, Variant};
pub use config::{AugmentConfig, Combine, OpConfig, OpKind, Side};
pub use error::{AugmentError, Result};
pub use stage::AugmentStage;
