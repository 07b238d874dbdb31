//! `ore-split`: grouped, stratified train/valid/test splits that stay
//! stable as data grows, a leakage audit for any pair of splits, and polars
//! SQL over any dataset.
//!
//! - [`SplitStage`] is the `split` stage of the Stage contract: rows that
//!   share a `source_id`, `dup_cluster`, `doc_id`, canonical URL, normalised
//!   text or a named group column (and optionally near duplicates, by
//!   MinHash) are one group, and a group goes wholly to one split. Groups
//!   are placed in the order of a seeded hash to meet the ratios by rows,
//!   per stratum; with a split index ([`index`]) old rows never move.
//! - [`Audit`] finds exact, near-duplicate, long n-gram and variant leaks
//!   between a training split and eval splits, ore's or anyone's.
//! - [`query`] runs polars SQL over a dataset (`ore query`).

pub mod audit;
pub mod config;
pub mod error;
pub mod groups;
pub mod index;
mod keys;
pub mod query;
pub mod stage;
pub mod text;

pub use audit::{Audit, AuditColumns, AuditCounts, AuditInput, AuditReport, LeakPair};
pub use config::{AuditConfig, Ratios, Rule, SPLITS, SplitConfig};
pub use error::{Result, SplitError};
pub use stage::{SPLIT_COLUMN, SplitStage};
