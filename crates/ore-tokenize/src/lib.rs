//! `ore-tokenize`: the tokenize-and-annotate stage, and the importers of
//! labelled corpora.
//!
//! - [`Segmenter`]: jieba-rs for Chinese runs, Unicode word segmentation for
//!   other text, character offsets and POS tags; [`EntityTagger`] adds
//!   entities from POS tags and gazetteers; [`Tokenizer`] holds both.
//! - [`TokenizeStage`] (the `[tokenize]` section, [`TokenizeConfig`]) is the
//!   stage of the Stage contract that `ore tokenize` and `ore run` run;
//!   [`PkuImport`], [`ConllImport`] and [`HeadlinesImport`] are the
//!   importers, stages too; [`TableImport`] ([`TableConfig`]) reads any
//!   JSONL, CSV, TSV or Parquet dump into the `documents` table.
//!
//! ```
//! use ore_tokenize::{TokenizeConfig, Tokenizer};
//!
//! let tokenizer = Tokenizer::build(&TokenizeConfig::default())?;
//! let row = tokenizer.segmenter().segment("我爱北京天安门");
//! assert_eq!(row.tokens, ["我", "爱", "北京", "天安门"]);
//! assert_eq!((row.starts[2], row.ends[2]), (2, 4)); // character offsets
//! # Ok::<(), ore_tokenize::TokenizeError>(())
//! ```

pub mod columns;
pub mod config;
pub mod entities;
pub mod error;
pub mod import;
pub mod segment;
pub mod stage;
pub mod vocab;

pub use config::{Mode, NonChinese, TokenizeConfig};
pub use entities::{Entity, EntityTagger, entities_from_pos};
pub use error::{Result, TokenizeError};
pub use import::table::{TableConfig, TableFormat};
pub use import::{ConllImport, HeadlinesImport, PkuImport, TableImport};
pub use segment::{Segmented, Segmenter};
pub use stage::{TokenizeStage, Tokenizer, commit_shards};
