//! `ore-crawl`: the crawl stage of `ore`, a polite, fault-tolerant and
//! resumable crawler that writes the `documents` dataset.
//!
//! - [`CrawlConfig`] is the `[crawl]` section of a pipeline file;
//!   [`Crawler::build`] checks it and [`Crawler::run`] crawls and commits.
//! - [`frontier`]: per-host breadth-first queues, the seen-set, politeness;
//!   [`robots`]: robots.txt; [`fetch`]: redirects, retries, limits,
//!   decompression; [`guard`]: the SSRF guard; [`charset`]: decoding;
//!   [`extract`]: title, main text, links; [`state`]: resume;
//!   [`sitemap`]: sitemaps as seeds; [`previous`]: conditional re-crawls
//!   that carry unchanged pages (304) over.
//!
//! ```
//! use ore_crawl::extract::extract;
//! use url::Url;
//!
//! let html = "<html lang=zh-CN><title>插入表格</title><nav><a href=/>首页</a></nav>\
//!             <p>选择<b>插入</b> - 表格。</p><a href=next.html>下一页</a></html>";
//! let page = extract(html, &Url::parse("http://example.com/help/")?, 100);
//! assert_eq!(page.title.as_deref(), Some("插入表格"));
//! assert_eq!(page.text, "选择插入 - 表格。\n下一页");
//! assert_eq!(page.links[1].as_str(), "http://example.com/help/next.html");
//! # Ok::<(), url::ParseError>(())
//! ```

pub mod charset;
pub mod config;
pub mod crawl;
pub mod error;
pub mod extract;
pub mod fetch;
pub mod frontier;
pub mod guard;
pub mod output;
pub mod previous;
pub mod robots;
pub mod row;
pub mod sitemap;
pub mod state;
pub(crate) mod task;
pub mod urls;

pub use config::CrawlConfig;
pub use crawl::{Crawler, Report, RunOptions};
pub use error::{Error, Result};
