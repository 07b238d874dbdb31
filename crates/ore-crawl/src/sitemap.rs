//! Sitemaps (sitemaps.org): a `<urlset>` lists pages with their
//! `<lastmod>`, a `<sitemapindex>` lists more sitemaps; either may be
//! gzipped, and a plain-text sitemap lists one URL a line. `<lastmod>` is a
//! W3C datetime (a date, or a date and time with a time zone). [`parse`]
//! reads one; `queue` puts what it lists on the frontier.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use quick_xml::Reader;
use quick_xml::events::Event;
use url::Url;

use crate::frontier::{Frontier, Item, host_key};
use crate::row::{Row, SitemapSeed};
use crate::task::base_row;
use crate::urls::{Skip, UrlRules};

/// Sitemaps nested deeper than this below a configured one are not read
/// (the protocol allows one level: an index of sitemaps).
pub const MAX_NESTING: u32 = 3;

/// What one sitemap lists.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sitemap {
    /// A `<sitemapindex>` (not a `<urlset>` or a plain-text list).
    pub is_index: bool,
    /// Page URLs with their lastmod (microseconds since the epoch, UTC;
    /// `None` when absent or not a W3C datetime).
    pub pages: Vec<(Url, Option<i64>)>,
    /// The sitemaps an index lists.
    pub sitemaps: Vec<Url>,
    /// `<loc>` values that are not URLs.
    pub bad_locs: usize,
}

/// Which element's text is being read.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Field {
    Loc,
    Lastmod,
}

/// Parses a sitemap body (after any gzip); relative `<loc>`s resolve
/// against `base`. The error names what is wrong and where (the byte
/// offset of an XML error).
pub fn parse(body: &[u8], base: &Url) -> Result<Sitemap, String> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        None => return Err("empty sitemap".into()),
        Some(b'<') => {}
        Some(_) => return Ok(parse_text(&String::from_utf8_lossy(body), base)),
    }
    let mut reader = Reader::from_reader(body);
    let mut buf = Vec::new();
    let mut out = Sitemap::default();
    let mut root: Option<String> = None;
    // (loc, lastmod) of the `<url>` or `<sitemap>` being read.
    let mut entry: Option<(String, String)> = None;
    let mut field: Option<Field> = None;
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("XML error at byte {}: {e}", reader.error_position()))?;
        let text = match &event {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).to_ascii_lowercase();
                match (&root, name.as_str()) {
                    (None, "urlset" | "sitemapindex") => {
                        out.is_index = name == "sitemapindex";
                        root = Some(name);
                    }
                    (None, other) => {
                        return Err(format!(
                            "not a sitemap: the root element is <{other}>, not <urlset> or <sitemapindex>"
                        ));
                    }
                    (Some(_), "url" | "sitemap") => entry = Some(Default::default()),
                    (Some(_), "loc") if entry.is_some() => field = Some(Field::Loc),
                    (Some(_), "lastmod") if entry.is_some() => field = Some(Field::Lastmod),
                    _ => {}
                }
                None
            }
            Event::End(e) => {
                let name = e.local_name();
                match name.as_ref() {
                    b"loc" | b"lastmod" => field = None,
                    b"url" | b"sitemap" => {
                        if let Some((loc, lastmod)) = entry.take() {
                            out.add(&loc, &lastmod, base);
                        }
                    }
                    _ => {}
                }
                None
            }
            Event::Text(t) => Some(t.decode().map_err(|e| format!("{e}"))?.into_owned()),
            Event::CData(t) => Some(t.decode().map_err(|e| format!("{e}"))?.into_owned()),
            Event::GeneralRef(r) => Some(match r.resolve_char_ref() {
                Ok(Some(c)) => c.to_string(),
                _ => {
                    let name = r.decode().map_err(|e| format!("{e}"))?;
                    quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or_else(|| format!("unknown entity `&{name};`"))?
                        .to_string()
                }
            }),
            Event::Eof => break,
            _ => None,
        };
        if let (Some(text), Some(field), Some((loc, lastmod))) = (text, field, entry.as_mut()) {
            match field {
                Field::Loc => loc.push_str(&text),
                Field::Lastmod => lastmod.push_str(&text),
            }
        }
        buf.clear();
    }
    if root.is_none() {
        return Err("not a sitemap: no <urlset> or <sitemapindex>".into());
    }
    Ok(out)
}

impl Sitemap {
    fn add(&mut self, loc: &str, lastmod: &str, base: &Url) {
        let Ok(mut url) = base.join(loc.trim()) else {
            self.bad_locs += 1;
            return;
        };
        url.set_fragment(None);
        if self.is_index {
            self.sitemaps.push(url);
        } else {
            self.pages.push((url, parse_lastmod(lastmod)));
        }
    }
}

/// A plain-text sitemap: one URL a line.
fn parse_text(text: &str, base: &Url) -> Sitemap {
    let mut out = Sitemap::default();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        out.add(line, "", base);
    }
    out
}

/// The rows a fetched sitemap gives: its own (`sitemap`, with what it
/// queued, or `sitemap_error`), then one for each listed page too long
/// to follow. Listed pages in scope join the frontier as seeds (depth
/// 0, with their lastmod); listed sitemaps on an in-scope host join it
/// one nesting level deeper, up to [`MAX_NESTING`] and
/// `max_sitemaps`.
pub(crate) fn queue(
    rules: &UrlRules,
    mut row: Row,
    sitemap: Sitemap,
    frontier: &mut Frontier,
    sitemaps_left: &mut usize,
) -> Vec<Row> {
    let mut rows = Vec::new();
    let (mut out_of_scope, mut already, mut over_limit) = (0usize, 0usize, 0usize);
    for (url, lastmod_us) in sitemap.pages {
        let canon = rules.canonical(&url);
        let item = Item {
            lastmod_us,
            ..Item::page(canon.to_string(), 0, Some(row.url.clone()))
        };
        match rules.check(&canon) {
            Ok(()) if frontier.mark_seen(canon.as_str()) => {
                row.seeds.push(SitemapSeed {
                    url: item.url.clone(),
                    lastmod_us,
                });
                frontier.push(item, host_key(&canon));
            }
            Ok(()) => already += 1,
            Err(Skip::TooLong) if frontier.mark_seen(canon.as_str()) => {
                rows.push(Row {
                    reject: Some("url_too_long".into()),
                    detail: Some(format!(
                        "{} bytes, limit {}",
                        canon.as_str().len(),
                        rules.max_url_len()
                    )),
                    ..base_row(&item)
                });
            }
            Err(Skip::TooLong) => already += 1,
            Err(Skip::OutOfScope) => out_of_scope += 1,
        }
    }
    for url in sitemap.sitemaps {
        let canon = rules.canonical(&url);
        if !rules.host_in_scope(&canon) {
            out_of_scope += 1;
        } else if row.depth >= MAX_NESTING || *sitemaps_left == 0 {
            over_limit += 1;
        } else if frontier.mark_seen(canon.as_str()) {
            *sitemaps_left -= 1;
            row.sitemaps.push(canon.to_string());
            let item = Item {
                sitemap: true,
                ..Item::page(canon.to_string(), row.depth + 1, Some(row.url.clone()))
            };
            frontier.push(item, host_key(&canon));
        } else {
            already += 1;
        }
    }
    if row.reject.as_deref() == Some("sitemap") {
        let mut detail = format!(
            "{} pages and {} sitemaps queued",
            row.seeds.len(),
            row.sitemaps.len()
        );
        for (n, what) in [
            (already, "already queued"),
            (out_of_scope, "out of scope"),
            (over_limit, "sitemaps over the nesting or count limit"),
            (sitemap.bad_locs, "<loc> not a URL"),
        ] {
            if n > 0 {
                detail.push_str(&format!(", {n} {what}"));
            }
        }
        row.detail = Some(detail);
    }
    rows.insert(0, row);
    rows
}

/// Queues the sitemaps a seed host's robots.txt lists (any host: the
/// protocol lets robots.txt point elsewhere; the SSRF guard still
/// applies).
pub(crate) fn queue_from_robots(
    rules: &UrlRules,
    host: &str,
    listed: Vec<String>,
    frontier: &mut Frontier,
    sitemaps_left: &mut usize,
) {
    let robots_url = format!("{host}/robots.txt");
    for raw in listed {
        let Ok(url) = Url::parse(&raw) else { continue };
        if !matches!(url.scheme(), "http" | "https") || *sitemaps_left == 0 {
            continue;
        }
        let canon = rules.canonical(&url);
        if frontier.mark_seen(canon.as_str()) {
            *sitemaps_left -= 1;
            let item = Item {
                sitemap: true,
                ..Item::page(canon.to_string(), 0, Some(robots_url.clone()))
            };
            frontier.push(item, host_key(&canon));
        }
    }
}

/// A W3C datetime (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`, or a date and
/// `Thh:mm`, `Thh:mm:ss` or `Thh:mm:ss.s` with `Z` or `±hh:mm`) as
/// microseconds since the Unix epoch, UTC. A time without a zone is taken
/// as UTC; anything else is `None`.
pub fn parse_lastmod(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_micros());
    }
    let zoned = match s.strip_suffix(['Z', 'z']) {
        Some(rest) => format!("{rest}+00:00"),
        None => s.to_string(),
    };
    for fmt in ["%Y-%m-%dT%H:%M%:z", "%Y-%m-%dT%H:%M:%S%.f%:z"] {
        if let Ok(t) = DateTime::parse_from_str(&zoned, fmt) {
            return Some(t.timestamp_micros());
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc().timestamp_micros());
        }
    }
    let date = match s.len() {
        4 => format!("{s}-01-01"),
        7 => format!("{s}-01"),
        _ => s.to_string(),
    };
    let date = NaiveDate::parse_from_str(&date, "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("http://example.com/sitemaps/sitemap.xml").unwrap()
    }

    /// 2024-03-05T00:00:00Z in microseconds.
    const MARCH_5: i64 = 1_709_596_800_000_000;

    #[test]
    fn lastmod_forms() {
        assert_eq!(parse_lastmod("2024-03-05"), Some(MARCH_5));
        assert_eq!(parse_lastmod(" 2024-03-05T00:00:00Z "), Some(MARCH_5));
        assert_eq!(parse_lastmod("2024-03-05T08:00:00+08:00"), Some(MARCH_5));
        assert_eq!(parse_lastmod("2024-03-05T08:00+08:00"), Some(MARCH_5));
        assert_eq!(parse_lastmod("2024-03-04T19:00-05:00"), Some(MARCH_5));
        assert_eq!(parse_lastmod("2024-03-05T00:00Z"), Some(MARCH_5));
        assert_eq!(
            parse_lastmod("2024-03-05T00:00:00.5Z"),
            Some(MARCH_5 + 500_000)
        );
        assert_eq!(parse_lastmod("2024-03-05T00:00:00"), Some(MARCH_5));
        assert_eq!(parse_lastmod("2024-03"), parse_lastmod("2024-03-01"));
        assert_eq!(parse_lastmod("2024"), parse_lastmod("2024-01-01"));
        for bad in ["", "yesterday", "2024-13-01", "2024-02-30", "05/03/2024"] {
            assert_eq!(parse_lastmod(bad), None, "{bad}");
        }
    }

    #[test]
    fn urlset_with_namespaces_entities_and_bad_lastmod() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>http://example.com/a?x=1&amp;y=2</loc><lastmod>2024-03-05</lastmod></url>
  <url><loc> /b.html </loc><lastmod>soon</lastmod><priority>0.5</priority></url>
  <url><loc><![CDATA[http://example.com/c]]></loc></url>
  <url><loc>http://[bad</loc></url>
</urlset>"#;
        let s = parse(xml.as_bytes(), &base()).unwrap();
        assert!(!s.is_index);
        let pages: Vec<(&str, Option<i64>)> =
            s.pages.iter().map(|(u, t)| (u.as_str(), *t)).collect();
        assert_eq!(
            pages,
            [
                ("http://example.com/a?x=1&y=2", Some(MARCH_5)),
                ("http://example.com/b.html", None),
                ("http://example.com/c", None),
            ]
        );
        assert_eq!(s.bad_locs, 1);
    }

    #[test]
    fn index_and_text_sitemaps() {
        let xml = "<sm:sitemapindex xmlns:sm=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\
                   <sm:sitemap><sm:loc>http://example.com/s1.xml.gz</sm:loc>\
                   <sm:lastmod>2024-03-05</sm:lastmod></sm:sitemap></sm:sitemapindex>";
        let s = parse(xml.as_bytes(), &base()).unwrap();
        assert!(s.is_index);
        assert_eq!(s.sitemaps[0].as_str(), "http://example.com/s1.xml.gz");
        assert!(s.pages.is_empty());
        let s = parse(
            b"\xEF\xBB\xBFhttp://example.com/a\n\nhttp://example.com/b\n",
            &base(),
        )
        .unwrap();
        assert_eq!(s.pages.len(), 2);
    }

    #[test]
    fn broken_xml_and_other_documents_are_errors() {
        let err = parse(b"<urlset><url><loc>x</loc></urlset>", &base()).unwrap_err();
        assert!(err.starts_with("XML error at byte "), "{err}");
        let err = parse(b"<html><body>hi</body></html>", &base()).unwrap_err();
        assert!(err.contains("root element is <html>"), "{err}");
        assert_eq!(parse(b"  \n", &base()).unwrap_err(), "empty sitemap");
    }
}
