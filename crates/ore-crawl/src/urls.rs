//! URL canonicalisation and crawl scope: which links are followed.

use std::collections::HashSet;

use regex::Regex;
use url::Url;

use crate::config::CrawlConfig;
use crate::error::{Error, Result};

/// Canonicalises URLs and decides which are in scope.
#[derive(Debug)]
pub struct UrlRules {
    same_host: bool,
    seed_hosts: HashSet<String>,
    allowed_domains: Vec<String>,
    include: Vec<Regex>,
    exclude: Vec<Regex>,
    link_only: Vec<Regex>,
    strip_query: bool,
    strip_params: Vec<String>,
    max_url_len: usize,
    /// This crawl's shard: URLs whose host (or URL) hashes to another are
    /// another shard's.
    shard: Option<(ore_core::shard::Shard, crate::config::ShardBy)>,
}

/// Why a link is not followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Not http(s), another host, or an include/exclude pattern.
    OutOfScope,
    /// Longer than `max_url_len`.
    TooLong,
}

fn compile(patterns: &[String], key: &str) -> Result<Vec<Regex>> {
    patterns
        .iter()
        .map(|p| {
            Regex::new(p).map_err(|e| {
                let msg = e
                    .to_string()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                Error::Config(format!("`{key}` pattern `{p}`: {msg}"))
            })
        })
        .collect()
}

impl UrlRules {
    /// Builds the rules; `seeds` are canonical seed URLs (and sitemap URLs,
    /// whose hosts are seed hosts too).
    pub fn new(config: &CrawlConfig, seeds: &[Url]) -> Result<Self> {
        Ok(Self {
            same_host: config.same_host,
            seed_hosts: seeds
                .iter()
                .filter_map(|u| u.host_str().map(str::to_ascii_lowercase))
                .collect(),
            allowed_domains: config
                .allowed_domains
                .iter()
                .map(|d| d.trim_start_matches('.').to_ascii_lowercase())
                .collect(),
            include: compile(&config.include, "include")?,
            exclude: compile(&config.exclude, "exclude")?,
            link_only: compile(&config.link_only, "link_only")?,
            strip_query: config.strip_query,
            strip_params: config.strip_params.clone(),
            max_url_len: config.max_url_len,
            shard: None,
        })
    }

    /// The rules of shard `shard` of a crawl split `by` host or URL.
    pub fn with_shard(mut self, shard: ore_core::shard::Shard, by: crate::config::ShardBy) -> Self {
        self.shard = Some((shard, by));
        self
    }

    /// Whether `url` (canonical) is this shard's: always, unsharded.
    pub fn in_shard(&self, url: &Url) -> bool {
        let Some((shard, by)) = self.shard else {
            return true;
        };
        let key = match by {
            crate::config::ShardBy::Host => url.host_str().unwrap_or_default().to_ascii_lowercase(),
            crate::config::ShardBy::Url => url.as_str().to_string(),
        };
        ore_core::ids::row_seed(0, &key) % u64::from(shard.count) == u64::from(shard.index)
    }

    /// The canonical form of `url`: fragment dropped, query stripped as
    /// configured, percent-encoding normalised, then `ore_core`'s canonical
    /// form (lower-case host, no default port, dot segments resolved).
    pub fn canonical(&self, url: &Url) -> Url {
        let mut url = url.clone();
        url.set_fragment(None);
        if self.strip_query {
            url.set_query(None);
        } else if !self.strip_params.is_empty() && url.query().is_some() {
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| !self.strip_params.iter().any(|p| param_matches(p, k)))
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            if kept.is_empty() {
                url.set_query(None);
            } else {
                url.query_pairs_mut().clear().extend_pairs(kept);
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        let path = normalize_percent(url.path());
        if path != url.path() {
            url.set_path(&path);
        }
        url
    }

    /// Whether a canonical URL is followed.
    pub fn check(&self, url: &Url) -> Result<(), Skip> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Skip::OutOfScope);
        }
        let Some(host) = url.host_str() else {
            return Err(Skip::OutOfScope);
        };
        if !self.host_ok(host) || !self.in_shard(url) {
            return Err(Skip::OutOfScope);
        }
        let s = url.as_str();
        if !self.include.is_empty() && !self.include.iter().any(|r| r.is_match(s)) {
            return Err(Skip::OutOfScope);
        }
        if self.exclude.iter().any(|r| r.is_match(s)) {
            return Err(Skip::OutOfScope);
        }
        if s.len() > self.max_url_len {
            return Err(Skip::TooLong);
        }
        Ok(())
    }

    /// Whether the host of a URL is in scope (a seed's or sitemap's host,
    /// or an allowed domain), whatever its path: the test a sitemap listed
    /// in a sitemap index passes, since `include` patterns are written for
    /// pages.
    pub fn host_in_scope(&self, url: &Url) -> bool {
        matches!(url.scheme(), "http" | "https")
            && url.host_str().is_some_and(|h| self.host_ok(h))
            && self.in_shard(url)
    }

    fn host_ok(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        let by_domain = self
            .allowed_domains
            .iter()
            .any(|d| host == *d || host.ends_with(&format!(".{d}")));
        if self.same_host {
            self.seed_hosts.contains(&host) || by_domain
        } else {
            self.allowed_domains.is_empty() || by_domain || self.seed_hosts.contains(&host)
        }
    }

    /// URLs longer than this are not followed.
    pub fn max_url_len(&self) -> usize {
        self.max_url_len
    }

    /// Whether a page is fetched only for its links.
    pub fn is_link_only(&self, url: &str) -> bool {
        self.link_only.iter().any(|r| r.is_match(url))
    }
}

fn param_matches(pattern: &str, key: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => key.starts_with(prefix),
        None => key == pattern,
    }
}

/// Upper-case percent-escapes and decode escaped unreserved characters
/// (RFC 3986 §6.2.2), so `%7e`, `%7E` and `~` are one URL.
fn normalize_percent(path: &str) -> String {
    // Empty segments (`a//b`) are link typos that static servers ignore.
    let mut collapsed = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && collapsed.ends_with('/')) {
            collapsed.push(c);
        }
    }
    let path = collapsed.as_str();
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = &path[i + 1..i + 3];
            if let Ok(v) = u8::from_str_radix(hex, 16) {
                if v.is_ascii_alphanumeric() || matches!(v, b'-' | b'.' | b'_' | b'~') {
                    out.push(v as char);
                } else {
                    out.push('%');
                    out.push_str(&hex.to_ascii_uppercase());
                }
                i += 3;
                continue;
            }
        }
        out.push(bytes[i] as char);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(config: CrawlConfig) -> UrlRules {
        let seed = Url::parse("http://example.com/").unwrap();
        UrlRules::new(&config, &[seed]).unwrap()
    }

    #[test]
    fn canonical_drops_fragment_port_and_tracking_params() {
        let r = rules(CrawlConfig {
            strip_params: vec!["utm_*".into()],
            ..CrawlConfig::default()
        });
        let u =
            Url::parse("HTTP://Example.COM:80/a//%7euser/%e4%b8%ad?utm_source=x&id=3#top").unwrap();
        assert_eq!(
            r.canonical(&u).as_str(),
            "http://example.com/a/~user/%E4%B8%AD?id=3"
        );
        let u = Url::parse("http://example.com/a?utm_source=x").unwrap();
        assert_eq!(r.canonical(&u).as_str(), "http://example.com/a");
    }

    #[test]
    fn scope_is_same_host_by_default() {
        let r = rules(CrawlConfig {
            allowed_domains: vec!["docs.org".into()],
            exclude: vec!["/private/".into()],
            ..CrawlConfig::default()
        });
        let ok = |s: &str| r.check(&Url::parse(s).unwrap());
        assert_eq!(ok("http://example.com/x"), Ok(()));
        assert_eq!(ok("https://a.docs.org/x"), Ok(()));
        assert_eq!(ok("http://other.com/x"), Err(Skip::OutOfScope));
        assert_eq!(ok("http://example.com/private/x"), Err(Skip::OutOfScope));
        assert_eq!(ok("ftp://example.com/x"), Err(Skip::OutOfScope));
        let long = format!("http://example.com/{}", "a".repeat(3000));
        assert_eq!(ok(&long), Err(Skip::TooLong));
    }

    #[test]
    fn bad_pattern_is_a_config_error() {
        let seed = Url::parse("http://example.com/").unwrap();
        let config = CrawlConfig {
            include: vec!["(".into()],
            ..CrawlConfig::default()
        };
        let err = UrlRules::new(&config, &[seed]).unwrap_err().to_string();
        assert!(err.contains("`include` pattern `(`"), "{err}");
    }
}
