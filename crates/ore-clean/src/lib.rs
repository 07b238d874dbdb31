//! `ore-clean`: the clean stage.
//!
//! [`Cleaner`] normalises text ([`normalize`]), removes lines repeated across
//! a site ([`boilerplate`]), identifies the language ([`lang`]), applies
//! quality rules with one reject reason each ([`quality`]), finds and masks
//! personal information ([`pii`]), and removes exact
//! and near duplicates with MinHash LSH (the `ore-minhash` crate, [`dedup`]), optionally
//! against a persistent index of everything kept before. [`CleanConfig`] is
//! the `[clean]` section; [`Cleaner`] is the stage of the Stage contract
//! (`ore_core::Stage`), run by `ore clean` and `ore run`.
//!
//! ```
//! use ore_clean::config::NormalizeConfig;
//! use ore_clean::normalize::normalize;
//!
//! // NFKC folds full-width forms; runs of spaces collapse.
//! let text = normalize("ＬｉｂｒｅＯｆｆｉｃｅ　　７ 的帮助", &NormalizeConfig::default());
//! assert_eq!(text, "LibreOffice 7 的帮助");
//!
//! // The stage itself: validated before a row is read.
//! use ore_core::Stage;
//! let mut config = ore_clean::CleanConfig::default();
//! config.dedup.threshold = 1.5;
//! assert!(<ore_clean::Cleaner as Stage>::build(config).is_err());
//! ```

pub mod boilerplate;
pub mod config;
pub mod dedup;
pub mod error;
pub mod lang;
pub mod normalize;
pub mod pii;
pub mod quality;
pub mod shards;
pub mod stage;

pub use config::CleanConfig;
pub use error::{CleanError, Result};
pub use stage::{Cleaner, RunPaths};
