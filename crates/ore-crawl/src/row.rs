//! [`Row`]: the outcome of one tried URL, as saved in the crawl state and
//! written to `documents` or `_rejects/`.

use serde::{Deserialize, Serialize};

/// One tried URL. A document when `reject` is `None`, else a rejected row.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Canonical URL tried.
    pub url: String,
    pub final_url: Option<String>,
    pub parent_url: Option<String>,
    pub depth: u32,
    pub status: Option<u16>,
    /// Microseconds since the Unix epoch, UTC.
    pub fetched_at_us: i64,
    pub content_type: Option<String>,
    pub charset: Option<String>,
    /// Where the charset came from: `bom`, `header`, `meta`, `detected`.
    pub charset_source: Option<String>,
    pub lang: Option<String>,
    pub title: Option<String>,
    pub title_source: Option<String>,
    pub text: String,
    /// The block id of each line of `text` (see [`crate::Extracted`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub line_ids: Vec<String>,
    pub html_sha256: Option<String>,
    /// Out-links found on the page (before scope rules).
    pub out_links: u32,
    pub wire_bytes: u64,
    pub reject: Option<String>,
    pub detail: Option<String>,
    /// Canonical in-scope URLs this page added to the frontier, in order:
    /// replayed on `--resume` to rebuild the frontier.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
}

impl Row {
    pub fn is_document(&self) -> bool {
        self.reject.is_none()
    }
}
