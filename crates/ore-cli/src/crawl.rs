//! `ore crawl`: fetch pages into a `documents` dataset.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use ore_crawl::{CrawlConfig, Crawler};

use crate::stage_args::{CommonArgs, Invocation, as_built, run_stage};

/// Arguments of `ore crawl`. Every flag overrides the key of the same name
/// in the `[crawl]` section of --config.
#[derive(Debug, Args)]
pub(crate) struct CrawlArgs {
    #[command(flatten)]
    common: CommonArgs,

    /// Start URL (http or https); repeat for several. Replaces the seeds of --config.
    #[arg(long = "seed", value_name = "URL")]
    seeds: Vec<String>,

    /// Sitemap (`sitemap.xml`, a sitemap index, `.xml.gz`) whose URLs are
    /// crawled as seeds, under the same scope rules; its host counts as a
    /// seed host. Repeatable; replaces the sitemaps of --config.
    #[arg(long = "sitemap", value_name = "URL")]
    sitemaps: Vec<String>,

    /// Also read the `Sitemap:` lines of the seed hosts' robots.txt.
    #[arg(long)]
    sitemaps_from_robots: bool,

    /// An earlier crawl's output: ask for its pages with If-None-Match /
    /// If-Modified-Since and carry those answered 304 Not Modified over
    /// (`not_modified` column). Must be another folder than --output.
    #[arg(long, value_name = "DIR")]
    previous: Option<PathBuf>,

    /// Continue an interrupted crawl of the same --output from its saved
    /// state (`.<name>.crawl-state/` beside it), without refetching pages.
    #[arg(long)]
    resume: bool,

    /// Stop after trying this many URLs.
    #[arg(long, value_name = "N")]
    max_pages: Option<u64>,

    /// Follow links at most this many hops from a seed.
    #[arg(long, value_name = "N")]
    max_depth: Option<u32>,

    /// Requests in flight at once over all hosts [default: 16].
    #[arg(long, value_name = "N")]
    concurrency: Option<usize>,

    /// Requests in flight at once to one host [default: 8].
    #[arg(long, value_name = "N")]
    per_host_concurrency: Option<usize>,

    /// Minimum delay between two requests to one host, in milliseconds
    /// (robots.txt Crawl-delay can raise it) [default: 0].
    #[arg(long, value_name = "MS")]
    delay_ms: Option<u64>,

    /// User agent sent and matched against robots.txt [default: ore-crawl/VERSION].
    #[arg(long, value_name = "UA")]
    user_agent: Option<String>,

    /// Do not fetch or obey robots.txt (only for sites you run yourself).
    #[arg(long)]
    ignore_robots: bool,

    /// Follow links to any host (still subject to --include/--exclude).
    #[arg(long)]
    any_host: bool,

    /// Also follow links to this domain and its subdomains; repeatable.
    #[arg(long = "allow-domain", value_name = "DOMAIN")]
    allowed_domains: Vec<String>,

    /// Follow only URLs matching this regular expression; repeatable.
    #[arg(long, value_name = "REGEX")]
    include: Vec<String>,

    /// Never follow URLs matching this regular expression; repeatable.
    #[arg(long, value_name = "REGEX")]
    exclude: Vec<String>,

    /// Fetch pages matching this regular expression only for their links
    /// (directory listings, site maps); repeatable.
    #[arg(long, value_name = "REGEX")]
    link_only: Vec<String>,

    /// Drop query strings from every URL.
    #[arg(long)]
    strip_query: bool,

    /// Timeout of a whole request, in seconds [default: 30].
    #[arg(long, value_name = "S")]
    timeout: Option<f64>,

    /// Connect timeout, in seconds [default: 10].
    #[arg(long, value_name = "S")]
    connect_timeout: Option<f64>,

    /// Retries after a 5xx, 429 or connection error [default: 3].
    #[arg(long, value_name = "N")]
    retries: Option<u32>,

    /// Largest body read, in bytes [default: 10485760].
    #[arg(long, value_name = "BYTES")]
    max_body: Option<u64>,

    /// Allow links to loopback, private and link-local addresses (by
    /// default allowed only when a seed is such an address).
    #[arg(long)]
    allow_private: bool,

    /// Keep lines repeated on most pages of a site (not removed as chrome).
    #[arg(long)]
    keep_repeated_lines: bool,
}

pub(crate) fn run(args: &CrawlArgs) -> Result<String> {
    let mut inv = Invocation::new(&args.common);
    inv.resume = args.resume;
    if let Some(previous) = &args.previous {
        inv.inputs.push(("previous", vec![previous.clone()]));
    }
    run_stage::<Crawler>(&inv, |config| apply_flags(args, config), as_built)
}

/// Every flag overrides the key of the same name in `[crawl]`.
fn apply_flags(args: &CrawlArgs, config: &mut CrawlConfig) -> Result<()> {
    if !args.seeds.is_empty() {
        config.seeds = args.seeds.clone();
    }
    if !args.sitemaps.is_empty() {
        config.sitemaps = args.sitemaps.clone();
    }
    config.sitemaps_from_robots |= args.sitemaps_from_robots;
    config.max_pages = args.max_pages.or(config.max_pages);
    config.max_depth = args.max_depth.or(config.max_depth);
    if let Some(n) = args.concurrency {
        config.concurrency = n;
    }
    if let Some(n) = args.per_host_concurrency {
        config.per_host_concurrency = n;
    }
    if let Some(ms) = args.delay_ms {
        config.min_delay_ms = ms;
    }
    if let Some(ua) = &args.user_agent {
        config.user_agent = ua.clone();
    }
    if args.ignore_robots {
        config.robots = false;
    }
    if args.any_host {
        config.same_host = false;
    }
    config
        .allowed_domains
        .extend(args.allowed_domains.iter().cloned());
    config.include.extend(args.include.iter().cloned());
    config.exclude.extend(args.exclude.iter().cloned());
    config.link_only.extend(args.link_only.iter().cloned());
    config.strip_query |= args.strip_query;
    if let Some(s) = args.timeout {
        config.timeout_s = s;
    }
    if let Some(s) = args.connect_timeout {
        config.connect_timeout_s = s;
    }
    if let Some(n) = args.retries {
        config.retries = n;
    }
    if let Some(n) = args.max_body {
        config.max_body_bytes = n;
    }
    if args.allow_private {
        config.allow_private = Some(true);
    }
    if args.keep_repeated_lines {
        config.drop_repeated_lines = false;
    }
    Ok(())
}
