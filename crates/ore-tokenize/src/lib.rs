//! `ore-tokenize`: the tokenize-and-annotate stage.

pub mod columns;
pub mod config;
pub mod entities;
pub mod error;
pub mod import;
pub mod segment;
pub mod stage;
pub mod vocab;

pub use config::{Mode, TokenizeConfig};
pub use entities::{Entity, EntityTagger, entities_from_pos};
pub use error::{Result, TokenizeError};
pub use import::{ConllImport, HeadlinesImport, PkuImport};
pub use segment::{Segmented, Segmenter};
pub use stage::{TokenizeStage, Tokenizer};
