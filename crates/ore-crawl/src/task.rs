//! What one fetch task does, off the scheduler's loop: a host's
//! robots.txt, a page (fetched, decoded and extracted, or a 304 to a
//! conditional request) or a sitemap (fetched, gunzipped and parsed).

use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use url::Url;

use crate::charset;
use crate::extract;
use crate::fetch::{Failure, Fetcher, Page, Validators, decompress, is_html};
use crate::frontier::Item;
use crate::robots::Robots;
use crate::row::Row;
use crate::sitemap::{self, Sitemap};

pub(crate) fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

pub(crate) fn base_row(item: &Item) -> Row {
    Row {
        url: item.url.clone(),
        parent_url: item.parent.clone(),
        depth: item.depth,
        fetched_at_us: now_us(),
        lastmod_us: item.lastmod_us,
        ..Row::default()
    }
}

pub(crate) async fn fetch_robots(fetcher: &Fetcher, host: &str, user_agent: &str) -> Robots {
    let Ok(url) = Url::parse(&format!("{host}/robots.txt")) else {
        return Robots::allow_all();
    };
    match fetcher.fetch_text(&url, 512 * 1024).await {
        Ok(Some(text)) => Robots::parse(&text, user_agent),
        Ok(None) => Robots::allow_all(),
        // RFC 9309: an unreachable robots.txt (5xx) means "disallow all";
        // a network failure will fail the pages themselves, with a reason.
        Err(f) if f.status.is_some_and(|s| s >= 500) => Robots::disallow_all(),
        Err(_) => Robots::allow_all(),
    }
}

/// Fetches, decodes and extracts one page. With `validators` (the page's
/// ETag and Last-Modified in the previous crawl), a 304 gives a row marked
/// `not_modified` and no links: the scheduler carries the previous
/// document over.
pub(crate) async fn fetch_page(
    fetcher: &Fetcher,
    item: Item,
    url: Url,
    max_links: usize,
    validators: Option<Validators>,
) -> (Row, Vec<Url>) {
    let base = base_row(&item);
    let page = match fetcher.fetch_if_modified(&url, validators.as_ref()).await {
        Ok(page) => page,
        Err(f) => return (failed(base, f), Vec::new()),
    };
    let mut row = Row {
        etag: page.etag.clone(),
        last_modified: page.last_modified.clone(),
        not_modified: page.not_modified(),
        ..fetched(base, &page)
    };
    if row.not_modified {
        return (row, Vec::new());
    }
    let head = &page.body[..page.body.len().min(1024)];
    let looks_html = String::from_utf8_lossy(head)
        .to_ascii_lowercase()
        .contains('<');
    if page
        .content_type
        .as_deref()
        .is_none_or(|ct| ct.trim().is_empty())
        && !looks_html
    {
        row.reject = Some("not_html".into());
        row.detail = Some("no Content-Type and no markup".into());
        return (row, Vec::new());
    }
    debug_assert!(page.content_type.as_deref().is_none_or(is_html));
    let decoded = charset::decode(&page.body, page.content_type.as_deref());
    let extracted = extract::extract(&decoded.text, &page.final_url, max_links);
    row.html_sha256 = Some(hex::encode(Sha256::digest(&page.body)));
    row.charset = Some(decoded.charset);
    row.charset_source = Some(decoded.source.to_string());
    row.lang = extracted.lang;
    row.title = extracted.title;
    row.title_source = extracted.title_source.map(str::to_string);
    row.text = extracted.text;
    row.line_ids = extracted.line_ids;
    row.out_links =
        u32::try_from(extracted.links.len() + extracted.links_dropped).unwrap_or(u32::MAX);
    row.page_links = extracted.links.iter().map(Url::to_string).collect();
    (row, extracted.links)
}

/// The row of a URL whose fetch failed, with the failure's reason and
/// detail.
fn failed(base: Row, f: Failure) -> Row {
    Row {
        final_url: f.final_url.map(String::from),
        status: f.status,
        content_type: f.content_type,
        wire_bytes: f.wire_bytes,
        reject: Some(f.reason),
        detail: f.detail,
        fetched_at_us: now_us(),
        ..base
    }
}

/// The row of a fetched URL, before its body is read.
fn fetched(base: Row, page: &Page) -> Row {
    Row {
        final_url: Some(page.final_url.to_string()),
        status: Some(page.status),
        content_type: page.content_type.clone(),
        wire_bytes: page.wire_bytes,
        fetched_at_us: now_us(),
        ..base
    }
}

/// Fetches and parses one sitemap (gzipped or not, whatever its
/// Content-Type). The row is a reject either way: `sitemap` once the
/// scheduler has queued what it lists, or `sitemap_error` with a detail
/// naming the URL and what failed.
pub(crate) async fn fetch_sitemap(
    fetcher: &Fetcher,
    item: Item,
    url: Url,
    max_decompressed: u64,
) -> (Row, Sitemap) {
    let base = base_row(&item);
    let error = |detail: String| (Some("sitemap_error".to_string()), Some(detail));
    let page = match fetcher.fetch_file(&url).await {
        Ok(page) => page,
        Err(f) => {
            let (reject, detail) = error(match &f.detail {
                Some(d) => format!("{url}: {}: {d}", f.reason),
                None => format!("{url}: {}", f.reason),
            });
            let row = Row {
                reject,
                detail,
                ..failed(base, f)
            };
            return (row, Sitemap::default());
        }
    };
    let mut row = Row {
        reject: Some("sitemap".into()),
        ..fetched(base, &page)
    };
    // `.xml.gz` files come as application/gzip, not Content-Encoding.
    let body = if page.body.starts_with(&[0x1f, 0x8b]) {
        decompress("gzip", &page.body, max_decompressed).map_err(|(_, e)| e)
    } else {
        Ok(page.body)
    };
    match body.and_then(|body| sitemap::parse(&body, &page.final_url)) {
        Ok(parsed) => (row, parsed),
        Err(e) => {
            (row.reject, row.detail) = error(format!("{url}: {e}"));
            (row, Sitemap::default())
        }
    }
}
