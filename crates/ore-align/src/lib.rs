//! `ore-align`: the align stage of ore (`ore align`).
//!
//! Two crawls of one site, one per language, become one `examples`
//! dataset of translation pairs (`src` in the first input's language,
//! `tgt` in the second's):
//! - pages are paired by URL, the source URL's language part
//!   (`src_part`, `/zh-CN/`) replaced by the target's (`tgt_part`);
//! - a page pair whose lines share element ids (the crawl's `line_ids`
//!   column: the `id` of the innermost block element of each line of
//!   `text`) is aligned by id: each id that holds one run of lines on both
//!   pages is one pair ([`align::by_ids`]);
//! - other page pairs are aligned by paragraph order and length
//!   ([`align::gale_church`]), which can skip a paragraph on either side
//!   and merge two into one;
//! - every pair carries Gale and Church's length-match probability as
//!   `align_score`; identical sides (untranslated), over-long sides and low
//!   scores go to `_rejects/`, with every unpaired page and unaligned
//!   paragraph.

pub mod align;
pub mod config;
pub mod error;
pub mod examples;
pub mod stage;

pub use config::{AlignConfig, Method};
pub use error::{AlignError, Result};
pub use examples::{ExamplesConfig, ExamplesStage, Task};
pub use stage::AlignStage;
