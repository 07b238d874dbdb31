//! Fetching one URL: redirects followed by hand (limit, loop detection and
//! the SSRF guard on every hop), retries with exponential backoff and jitter
//! for 5xx, 429 and connection errors (honouring `Retry-After`), a body
//! limit enforced while streaming, and decompression with its own limit.

use std::collections::HashSet;
use std::hash::BuildHasher;
use std::io::Read;
use std::time::Duration;

use reqwest::header::{
    ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE,
    IF_NONE_MATCH, LAST_MODIFIED, LOCATION, RETRY_AFTER,
};
use url::Url;

use crate::config::CrawlConfig;
use crate::error::{Error, Result};
use crate::guard::Guard;

/// A page fetched with a 2xx status and an HTML (or unlabelled) body, or
/// a 304 Not Modified (no body) to a conditional request.
#[derive(Debug, Clone)]
pub struct Page {
    pub final_url: Url,
    pub status: u16,
    pub content_type: Option<String>,
    /// The body after decompression.
    pub body: Vec<u8>,
    /// Bytes received on the wire.
    pub wire_bytes: u64,
    /// The `ETag` and `Last-Modified` response headers.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Page {
    /// The server answered 304 to the validators sent.
    pub fn not_modified(&self) -> bool {
        self.status == 304
    }
}

/// The validators of an earlier fetch of a URL, sent back as
/// `If-None-Match` and `If-Modified-Since` (as received, RFC 9110 §13.1).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// Why a URL gave no page; it becomes a `_rejects/` row.
#[derive(Debug, Clone, Default)]
pub struct Failure {
    /// `http_404`, `timeout`, `connect_error`, `redirect_loop`, `too_large`, …
    pub reason: String,
    pub detail: Option<String>,
    pub final_url: Option<Url>,
    pub status: Option<u16>,
    pub content_type: Option<String>,
    pub wire_bytes: u64,
    retryable: bool,
    retry_after: Option<Duration>,
}

impl Failure {
    fn new(reason: impl Into<String>, detail: impl Into<Option<String>>) -> Self {
        Self {
            reason: reason.into(),
            detail: detail.into(),
            ..Self::default()
        }
    }
}

/// Whether a Content-Type names an HTML document.
pub fn is_html(content_type: &str) -> bool {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    matches!(mime.as_str(), "text/html" | "application/xhtml+xml" | "")
}

/// The HTTP client and its limits.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    guard: Guard,
    max_redirects: u32,
    max_body: u64,
    max_decompressed: u64,
    retries: u32,
    backoff: Duration,
    max_retry_after: Duration,
}

impl Fetcher {
    pub fn new(config: &CrawlConfig, guard: Guard) -> Result<Self> {
        let secs = |s: f64, key: &str| {
            Duration::try_from_secs_f64(s).map_err(|_| {
                Error::Config(format!(
                    "`{key}` must be a non-negative number of seconds, got {s}"
                ))
            })
        };
        let client = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(secs(config.connect_timeout_s, "connect_timeout_s")?)
            .timeout(secs(config.timeout_s, "timeout_s")?)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(config.per_host_concurrency.max(1))
            .tcp_nodelay(true)
            .no_proxy()
            .build()
            .map_err(|e| Error::Client(e.to_string()))?;
        Ok(Self {
            client,
            guard,
            max_redirects: config.max_redirects,
            max_body: config.max_body_bytes,
            max_decompressed: config.max_decompressed_bytes,
            retries: config.retries,
            backoff: Duration::from_millis(config.backoff_ms),
            max_retry_after: secs(config.max_retry_after_s, "max_retry_after_s")?,
        })
    }

    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// Fetches a small text file (robots.txt): `Ok(None)` for a 4xx,
    /// `Err` for a 5xx or a network failure.
    pub async fn fetch_text(&self, url: &Url, limit: u64) -> Result<Option<String>, Failure> {
        match self.fetch_with_retries(url, false, None).await {
            Ok(page) => {
                let body = &page.body[..page.body.len().min(limit as usize)];
                Ok(Some(String::from_utf8_lossy(body).into_owned()))
            }
            Err(f) if f.status.is_some_and(|s| (400..500).contains(&s)) => Ok(None),
            Err(f) => Err(f),
        }
    }

    /// Fetches an HTML page, retrying transient failures, with the
    /// validators of an earlier fetch if there are any: a 304 answer is a
    /// [`Page`] without a body ([`Page::not_modified`]).
    pub async fn fetch_if_modified(
        &self,
        url: &Url,
        validators: Option<&Validators>,
    ) -> Result<Page, Failure> {
        self.fetch_with_retries(url, true, validators).await
    }

    /// Fetches a file of any type (a sitemap), under the same limits.
    pub async fn fetch_file(&self, url: &Url) -> Result<Page, Failure> {
        self.fetch_with_retries(url, false, None).await
    }

    async fn fetch_with_retries(
        &self,
        url: &Url,
        html_only: bool,
        validators: Option<&Validators>,
    ) -> Result<Page, Failure> {
        let mut attempt = 0;
        loop {
            match self.fetch_once(url, html_only, validators).await {
                Err(f) if f.retryable && attempt < self.retries => {
                    let wait = f.retry_after.map_or_else(
                        || self.backoff_delay(url, attempt),
                        |d| d.min(self.max_retry_after),
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// `backoff × 2^attempt`, scaled by a random factor in [0.5, 1).
    fn backoff_delay(&self, url: &Url, attempt: u32) -> Duration {
        let noise =
            std::collections::hash_map::RandomState::new().hash_one((url.as_str(), attempt));
        let factor = 0.5 + (noise % 1000) as f64 / 2000.0;
        self.backoff
            .mul_f64(f64::from(1u32 << attempt.min(16)) * factor)
    }

    async fn fetch_once(
        &self,
        url: &Url,
        html_only: bool,
        validators: Option<&Validators>,
    ) -> Result<Page, Failure> {
        let mut current = url.clone();
        let mut chain: HashSet<Url> = HashSet::from([current.clone()]);
        let mut hops = 0;
        loop {
            if let Err(detail) = self.guard.check(&current).await {
                return Err(Failure {
                    final_url: Some(current),
                    ..Failure::new("ssrf_blocked", detail)
                });
            }
            let mut request = self
                .client
                .get(current.clone())
                .header(ACCEPT, "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5")
                .header(ACCEPT_ENCODING, "gzip, deflate, br");
            // On every hop: they validate the resource the chain ends at.
            if let Some(v) = validators {
                if let Some(etag) = &v.etag {
                    request = request.header(IF_NONE_MATCH, etag);
                }
                if let Some(date) = &v.last_modified {
                    request = request.header(IF_MODIFIED_SINCE, date);
                }
            }
            let response = request
                .send()
                .await
                .map_err(|e| request_failure(&e, &current))?;
            let status = response.status().as_u16();
            let header = |name| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let content_type = header(CONTENT_TYPE);
            let (etag, last_modified) = (header(ETAG), header(LAST_MODIFIED));
            if status == 304 && validators.is_some() {
                return Ok(Page {
                    final_url: current,
                    status,
                    content_type,
                    body: Vec::new(),
                    wire_bytes: 0,
                    etag,
                    last_modified,
                });
            }
            let fail = |reason: String, detail: Option<String>| Failure {
                final_url: Some(current.clone()),
                status: Some(status),
                content_type: content_type.clone(),
                ..Failure::new(reason, detail)
            };
            if (300..400).contains(&status)
                && let Some(location) = header(LOCATION)
            {
                let Ok(mut next) = current.join(&location) else {
                    return Err(fail(
                        "bad_redirect".into(),
                        Some(format!("Location: {location}")),
                    ));
                };
                next.set_fragment(None);
                if !chain.insert(next.clone()) {
                    return Err(fail(
                        "redirect_loop".into(),
                        Some(format!("back to {next}")),
                    ));
                }
                hops += 1;
                if hops > self.max_redirects {
                    return Err(fail(
                        "too_many_redirects".into(),
                        Some(format!("more than {} redirects", self.max_redirects)),
                    ));
                }
                current = next;
                continue;
            }
            if status == 429 || status >= 500 {
                let retry_after = header(RETRY_AFTER)
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .and_then(|s| Duration::try_from_secs_f64(s).ok());
                return Err(Failure {
                    retryable: true,
                    retry_after,
                    ..fail(format!("http_{status}"), None)
                });
            }
            if !(200..300).contains(&status) {
                return Err(fail(format!("http_{status}"), None));
            }
            if html_only
                && let Some(ct) = &content_type
                && !is_html(ct)
            {
                return Err(fail("not_html".into(), Some(ct.clone())));
            }
            if let Some(len) = response.content_length()
                && len > self.max_body
            {
                return Err(fail(
                    "too_large".into(),
                    Some(format!("Content-Length {len} over {} bytes", self.max_body)),
                ));
            }
            let encoding = header(CONTENT_ENCODING);
            let mut response = response;
            let mut body = Vec::new();
            loop {
                match response.chunk().await {
                    Ok(Some(chunk)) => {
                        if (body.len() + chunk.len()) as u64 > self.max_body {
                            return Err(fail(
                                "too_large".into(),
                                Some(format!("body over {} bytes", self.max_body)),
                            ));
                        }
                        body.extend_from_slice(&chunk);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        let mut f = request_failure(&e, &current);
                        f.status = Some(status);
                        f.content_type = content_type.clone();
                        f.wire_bytes = body.len() as u64;
                        return Err(f);
                    }
                }
            }
            let wire_bytes = body.len() as u64;
            let body =
                match encoding.as_deref().map(str::trim) {
                    None | Some("") | Some("identity") => body,
                    Some(enc) => decompress(enc, &body, self.max_decompressed).map_err(
                        |(reason, detail)| Failure {
                            wire_bytes,
                            ..fail(reason.into(), Some(detail))
                        },
                    )?,
                };
            return Ok(Page {
                final_url: current,
                status,
                content_type,
                body,
                wire_bytes,
                etag,
                last_modified,
            });
        }
    }
}

fn request_failure(e: &reqwest::Error, url: &Url) -> Failure {
    let detail = error_chain(e);
    let (reason, retryable) = if e.is_timeout() {
        ("timeout", false)
    } else if e.is_connect() {
        ("connect_error", true)
    } else if e.is_body() || e.is_decode() {
        ("body_error", true)
    } else {
        ("http_error", false)
    };
    Failure {
        final_url: Some(url.clone()),
        retryable,
        ..Failure::new(reason, detail)
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

/// Decompresses `body` (`gzip`, `deflate` or `br`), reading at most `limit`
/// bytes of output, so a compression bomb costs at most `limit` of memory.
pub fn decompress(
    encoding: &str,
    body: &[u8],
    limit: u64,
) -> Result<Vec<u8>, (&'static str, String)> {
    let mut out = Vec::new();
    let read = match encoding.to_ascii_lowercase().as_str() {
        "gzip" | "x-gzip" => flate2::read::MultiGzDecoder::new(body)
            .take(limit + 1)
            .read_to_end(&mut out),
        "deflate" => {
            // Servers send zlib-wrapped or raw deflate under this name.
            let zlib = flate2::read::ZlibDecoder::new(body)
                .take(limit + 1)
                .read_to_end(&mut out);
            if zlib.is_err() {
                out.clear();
                flate2::read::DeflateDecoder::new(body)
                    .take(limit + 1)
                    .read_to_end(&mut out)
            } else {
                zlib
            }
        }
        "br" => brotli_decompressor::Decompressor::new(body, 8192)
            .take(limit + 1)
            .read_to_end(&mut out),
        other => {
            return Err((
                "bad_encoding",
                format!("unsupported Content-Encoding `{other}`"),
            ));
        }
    };
    if let Err(e) = read {
        return Err(("bad_encoding", format!("{encoding}: {e}")));
    }
    if out.len() as u64 > limit {
        return Err(("too_large", format!("decompressed body over {limit} bytes")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn gzip_bomb_stops_at_the_limit() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..64 {
            enc.write_all(&zeros).unwrap();
        }
        let bomb = enc.finish().unwrap();
        assert!(bomb.len() < 100_000);
        let err = decompress("gzip", &bomb, 1 << 20).unwrap_err();
        assert_eq!(err.0, "too_large");
        let ok = decompress("gzip", &bomb, 64 << 20).unwrap();
        assert_eq!(ok.len(), 64 << 20);
    }

    #[test]
    fn deflate_both_framings_and_unknown() {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all("页面".as_bytes()).unwrap();
        assert_eq!(
            decompress("deflate", &z.finish().unwrap(), 100).unwrap(),
            "页面".as_bytes()
        );
        let mut d = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        d.write_all(b"raw").unwrap();
        assert_eq!(
            decompress("deflate", &d.finish().unwrap(), 100).unwrap(),
            b"raw"
        );
        assert_eq!(decompress("zstd", b"x", 10).unwrap_err().0, "bad_encoding");
    }

    #[test]
    fn html_types() {
        assert!(is_html("text/html; charset=gbk"));
        assert!(is_html("application/xhtml+xml"));
        assert!(!is_html("application/pdf"));
        assert!(!is_html("text/plain"));
    }
}
