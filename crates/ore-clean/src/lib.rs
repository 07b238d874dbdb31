//! `ore-clean`: the clean stage.
//!
//! [`Cleaner`] normalises text ([`normalize`]), removes lines repeated across
//! a site ([`boilerplate`]), identifies the language ([`lang`]), applies
//! quality rules with one reject reason each ([`quality`]), and removes exact
//! and near duplicates with MinHash LSH ([`minhash`], [`dedup`]), optionally
//! against a persistent index of everything kept before.

pub mod boilerplate;
pub mod config;
pub mod dedup;
pub mod error;
pub mod lang;
pub mod minhash;
pub mod normalize;
pub mod quality;
pub mod stage;

pub use config::CleanConfig;
pub use error::{CleanError, Result};
pub use stage::{Cleaner, RunPaths};
