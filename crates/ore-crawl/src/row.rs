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
    /// Every link found on the page (resolved, without fragment, before
    /// the scope rules; at most `max_links_per_page`): the `links` column.
    /// A re-crawl that gets a 304 for the page follows these, as it would
    /// the links of the same HTML fetched again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub page_links: Vec<String>,
    /// The page's `<lastmod>` in the sitemap that listed it, microseconds
    /// since the Unix epoch, UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lastmod_us: Option<i64>,
    /// The response's `ETag` and `Last-Modified` headers, sent back as
    /// `If-None-Match` / `If-Modified-Since` by a re-crawl.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// The server answered 304 Not Modified to a re-crawl: the content is
    /// the previous crawl's, carried over.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_modified: bool,
    /// A sitemap's row: the pages it queued (depth 0) with their lastmod,
    /// replayed on `--resume` like `links`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seeds: Vec<SitemapSeed>,
    /// A sitemap index's row: the sitemaps it queued.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sitemaps: Vec<String>,
}

/// A page URL a sitemap queued, with its `<lastmod>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SitemapSeed {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lastmod_us: Option<i64>,
}

impl Row {
    pub fn is_document(&self) -> bool {
        self.reject.is_none()
    }
}
