//! [`CrawlConfig`]: the `[crawl]` section of a pipeline file.

use serde::{Deserialize, Serialize};

/// Settings of the crawl stage (`[crawl]` in a pipeline file). Every
/// command-line flag of `ore crawl` overrides the key of the same name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", default)]
pub struct CrawlConfig {
    /// Start URLs (http or https).
    pub seeds: Vec<String>,
    /// Sitemaps (`sitemap.xml`, a sitemap index, `.xml.gz`, or a plain list
    /// of URLs) whose URLs are crawled as seeds (depth 0), under the same
    /// scope rules as links; their hosts count as seed hosts. Each sitemap
    /// fetched is a `_rejects/` row with the reason `sitemap` (or
    /// `sitemap_error`), and each page keeps its `<lastmod>` in `lastmod`.
    // Not written when unset, so that the config (and its hash in the
    // manifests of earlier crawls) stays what it was without sitemaps.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sitemaps: Vec<String>,
    /// Also read the `Sitemap:` lines of the robots.txt of every seed host
    /// (needs `robots = true`).
    #[serde(skip_serializing_if = "is_false")]
    pub sitemaps_from_robots: bool,
    /// Sitemap files fetched at most (an index and what it lists count
    /// one each); nested indexes are followed three levels deep.
    #[serde(skip_serializing_if = "is_default_max_sitemaps")]
    pub max_sitemaps: usize,
    /// Links followed from a seed at most this deep (seeds are depth 0).
    pub max_depth: Option<u32>,
    /// Stop after trying this many URLs.
    pub max_pages: Option<u64>,
    /// Follow only links to the host of the page's seed (plus `allowed_domains`).
    pub same_host: bool,
    /// Further hosts to follow; a domain also admits its subdomains.
    pub allowed_domains: Vec<String>,
    /// Regular expressions: when not empty, a URL must match one of them.
    pub include: Vec<String>,
    /// Regular expressions: a URL matching any of them is not followed.
    pub exclude: Vec<String>,
    /// Regular expressions: pages fetched only for their links (directory
    /// listings, site maps); they end in `_rejects/` as `link_only`.
    pub link_only: Vec<String>,
    /// Drop the whole query string of every URL.
    pub strip_query: bool,
    /// Query parameters dropped from every URL (`utm_*` style prefixes end in `*`).
    pub strip_params: Vec<String>,
    /// User agent sent with every request and matched in robots.txt.
    pub user_agent: String,
    /// Fetch and obey robots.txt (Allow/Disallow, Crawl-delay).
    pub robots: bool,
    /// Requests in flight at once, over all hosts.
    pub concurrency: usize,
    /// Requests in flight at once to one host.
    pub per_host_concurrency: usize,
    /// Minimum delay between two requests to one host, in milliseconds
    /// (robots.txt Crawl-delay raises it).
    pub min_delay_ms: u64,
    /// Crawl-delay values above this many seconds are capped.
    pub max_crawl_delay_s: f64,
    /// Connect timeout, in seconds.
    pub connect_timeout_s: f64,
    /// Timeout of a whole request (headers and body), in seconds.
    pub timeout_s: f64,
    /// Retries after a 5xx, 429 or connection error.
    pub retries: u32,
    /// First retry delay in milliseconds; doubles each retry, with jitter.
    pub backoff_ms: u64,
    /// Retry-After values above this many seconds are capped.
    pub max_retry_after_s: f64,
    /// Redirects followed for one URL.
    pub max_redirects: u32,
    /// Largest response body read (bytes on the wire).
    pub max_body_bytes: u64,
    /// Largest body after gzip/deflate/br decompression.
    pub max_decompressed_bytes: u64,
    /// Longer URLs are not followed.
    pub max_url_len: usize,
    /// Links taken from one page at most.
    pub max_links_per_page: usize,
    /// Follow links to loopback, private and link-local addresses. Unset:
    /// allowed only when a seed itself is such an address (a local crawl).
    pub allow_private: Option<bool>,
    /// Remove lines repeated on most pages of a host (site chrome).
    pub drop_repeated_lines: bool,
    /// Save the crawl state this often, in seconds.
    pub checkpoint_s: f64,
    /// How a sharded crawl (`--shard K/N`) splits the URLs: by a hash of
    /// the host (each shard crawls whole sites, following their links), or
    /// of the URL (for a list of seeds without links followed:
    /// `max_depth = 0`).
    #[serde(skip_serializing_if = "ShardBy::is_host")]
    pub shard_by: ShardBy,
}

/// See [`CrawlConfig::shard_by`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShardBy {
    #[default]
    Host,
    Url,
}

const DEFAULT_MAX_SITEMAPS: usize = 1000;

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_default_max_sitemaps(n: &usize) -> bool {
    *n == DEFAULT_MAX_SITEMAPS
}

impl ShardBy {
    fn is_host(&self) -> bool {
        *self == ShardBy::Host
    }
}

impl Default for CrawlConfig {
    fn default() -> Self {
        Self {
            seeds: Vec::new(),
            sitemaps: Vec::new(),
            sitemaps_from_robots: false,
            max_sitemaps: DEFAULT_MAX_SITEMAPS,
            max_depth: None,
            max_pages: None,
            same_host: true,
            allowed_domains: Vec::new(),
            include: Vec::new(),
            exclude: Vec::new(),
            link_only: Vec::new(),
            strip_query: false,
            strip_params: Vec::new(),
            user_agent: format!("ore-crawl/{}", env!("CARGO_PKG_VERSION")),
            robots: true,
            concurrency: 16,
            per_host_concurrency: 8,
            min_delay_ms: 0,
            max_crawl_delay_s: 30.0,
            connect_timeout_s: 10.0,
            timeout_s: 30.0,
            retries: 3,
            backoff_ms: 500,
            max_retry_after_s: 60.0,
            max_redirects: 10,
            max_body_bytes: 10 << 20,
            max_decompressed_bytes: 50 << 20,
            max_url_len: 2048,
            max_links_per_page: 2000,
            allow_private: None,
            drop_repeated_lines: true,
            checkpoint_s: 2.0,
            shard_by: ShardBy::Host,
        }
    }
}
