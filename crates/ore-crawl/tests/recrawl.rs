//! Conditional re-crawls against a local server that honours
//! If-None-Match (ETag) and If-Modified-Since (Last-Modified) with 304s:
//! unchanged pages are carried over with their text and links, a changed
//! one is fetched again, and the manifest counts the 304s.

#![allow(clippy::unwrap_used)] // a test file

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use common::{Request, Server, by_url, crawl, reply, rows, try_crawl, urls};
use ore_core::Manifest;
use ore_crawl::CrawlConfig;

/// A page: its body and validators.
#[derive(Clone)]
struct Page {
    body: String,
    etag: Option<&'static str>,
    last_modified: Option<&'static str>,
}

type Site = Arc<Mutex<HashMap<String, Page>>>;

fn page(body: &str, etag: Option<&'static str>, last_modified: Option<&'static str>) -> Page {
    Page {
        body: body.into(),
        etag,
        last_modified,
    }
}

const OLD: &str = "Tue, 05 Mar 2024 00:00:00 GMT";

fn site() -> Site {
    let pages = [
        (
            "/",
            page(
                "<title>Home</title><p>Home page.</p><a href=/a.html>a</a> <a href=/b.html>b</a> <a href=/c.html>c</a>",
                Some("\"home-1\""),
                Some(OLD),
            ),
        ),
        // `/d.html` is linked from `/a.html` only: reached on a re-crawl
        // only if a carried page's links are followed.
        (
            "/a.html",
            page(
                "<title>A</title><p>Page A, unchanged.</p><a href=/d.html>d</a>",
                Some("W/\"a-1\""),
                None,
            ),
        ),
        (
            "/b.html",
            page("<title>B</title><p>Page B, unchanged.</p>", None, Some(OLD)),
        ),
        (
            "/c.html",
            page(
                "<title>C</title><p>Page C, first version.</p>",
                Some("\"c-1\""),
                Some(OLD),
            ),
        ),
        (
            "/d.html",
            page("<title>D</title><p>Page D, no validators.</p>", None, None),
        ),
    ];
    Arc::new(Mutex::new(
        pages.into_iter().map(|(p, v)| (p.to_string(), v)).collect(),
    ))
}

/// RFC 9110 §13.2.2: If-None-Match decides when sent; If-Modified-Since
/// only without it.
fn serve(site: &Site, req: &Request) -> common::Reply {
    let Some(page) = site.lock().unwrap().get(&req.path).cloned() else {
        return reply(404, "text/html", "<p>not found</p>");
    };
    let unchanged = match (req.headers.get("if-none-match"), page.etag) {
        (Some(inm), Some(etag)) => inm == etag,
        (Some(_), None) => false,
        (None, _) => {
            page.last_modified.is_some()
                && req.headers.get("if-modified-since").map(String::as_str) == page.last_modified
        }
    };
    let mut r = if unchanged {
        reply(304, "text/html; charset=utf-8", "")
    } else {
        reply(200, "text/html; charset=utf-8", page.body.clone())
    };
    if unchanged {
        r.headers.clear();
    }
    if let Some(etag) = page.etag {
        r.headers.push(("ETag".into(), etag.into()));
    }
    if let Some(date) = page.last_modified {
        r.headers.push(("Last-Modified".into(), date.into()));
    }
    r
}

#[test]
fn a_recrawl_carries_unchanged_pages_over_on_304_and_refetches_the_changed_one() {
    let pages = site();
    let served = pages.clone();
    let server = Server::start(move |req, _| serve(&served, req));
    let tmp = tempfile::tempdir().unwrap();
    let config = CrawlConfig {
        seeds: vec![server.url("/")],
        robots: false,
        ..CrawlConfig::default()
    };
    let first = tmp.path().join("first");
    let report = crawl(config.clone(), &first, None);
    assert_eq!((report.documents, report.not_modified), (5, 0));
    let old = rows(&first);
    let a = by_url(&old, &server.url("/a.html"));
    assert_eq!(a["etag"].as_deref(), Some("W/\"a-1\""));
    assert_eq!(a["last_modified"], None);
    assert_eq!(a["not_modified"].as_deref(), Some("false"));
    assert_eq!(a["links"], Some(server.url("/d.html")));
    assert!(server.log.lock().unwrap().iter().all(|r| {
        !r.headers.contains_key("if-none-match") && !r.headers.contains_key("if-modified-since")
    }));

    pages.lock().unwrap().insert(
        "/c.html".into(),
        page(
            "<title>C</title><p>Page C, second version.</p>",
            Some("\"c-2\""),
            Some("Wed, 06 Mar 2024 00:00:00 GMT"),
        ),
    );
    server.clear();
    let second = tmp.path().join("second");
    let report = crawl(config, &second, Some(&first));

    // The server saw each page's validators from the first crawl.
    let sent = |path: &str, header: &str| {
        let requests = server.requests(path);
        assert_eq!(requests.len(), 1, "{path} fetched once");
        requests[0].headers.get(header).cloned()
    };
    assert_eq!(sent("/", "if-none-match").as_deref(), Some("\"home-1\""));
    assert_eq!(sent("/", "if-modified-since").as_deref(), Some(OLD));
    assert_eq!(
        sent("/a.html", "if-none-match").as_deref(),
        Some("W/\"a-1\"")
    );
    assert_eq!(sent("/a.html", "if-modified-since"), None);
    assert_eq!(sent("/b.html", "if-none-match"), None);
    assert_eq!(sent("/b.html", "if-modified-since").as_deref(), Some(OLD));
    assert_eq!(sent("/c.html", "if-none-match").as_deref(), Some("\"c-1\""));
    assert_eq!(sent("/d.html", "if-none-match"), None);
    assert_eq!(sent("/d.html", "if-modified-since"), None);

    let new = rows(&second);
    assert_eq!(urls(&new), urls(&old), "the same pages, /d.html included");
    for path in ["/", "/a.html", "/b.html"] {
        let (before, after) = (
            by_url(&old, &server.url(path)),
            by_url(&new, &server.url(path)),
        );
        assert_eq!(after["not_modified"].as_deref(), Some("true"), "{path}");
        assert_eq!(after["status"].as_deref(), Some("304"), "{path}");
        for column in [
            "text",
            "title",
            "lang",
            "html_sha256",
            "line_ids",
            "links",
            "etag",
            "last_modified",
            "doc_id",
        ] {
            assert_eq!(after[column], before[column], "{path}: {column}");
        }
    }
    let c = by_url(&new, &server.url("/c.html"));
    assert_eq!(c["not_modified"].as_deref(), Some("false"));
    assert_eq!(c["text"].as_deref(), Some("Page C, second version."));
    assert_eq!(c["etag"].as_deref(), Some("\"c-2\""));
    let d = by_url(&new, &server.url("/d.html"));
    assert_eq!(d["not_modified"].as_deref(), Some("false"));

    assert_eq!((report.documents, report.not_modified), (5, 3));
    assert!(
        report.summary().contains("5 documents, 3 not modified"),
        "{}",
        report.summary()
    );
    let manifest = Manifest::read(&second).unwrap();
    assert_eq!(manifest.summary["not_modified"], 3);
    assert_eq!(
        manifest.rows.input,
        manifest.rows.output + manifest.rows.rejected
    );
    assert_eq!(manifest.rows.output, 5);
    assert!(
        manifest.inputs.iter().any(|i| i.path == first),
        "the previous crawl is recorded as an input: {:?}",
        manifest.inputs
    );

    // A third crawl against the second (whose carried rows are 304s)
    // carries everything over.
    let third = tmp.path().join("third");
    let config = CrawlConfig {
        seeds: vec![server.url("/")],
        robots: false,
        ..CrawlConfig::default()
    };
    let report = crawl(config, &third, Some(&second));
    assert_eq!(
        (report.documents, report.not_modified),
        (5, 4),
        "all but /d.html"
    );
    let third_rows = rows(&third);
    for url in urls(&new) {
        assert_eq!(
            by_url(&third_rows, &url)["text"],
            by_url(&new, &url)["text"]
        );
    }
}

#[test]
fn a_previous_crawl_that_is_missing_or_lacks_the_columns_is_a_one_line_error() {
    let tmp = tempfile::tempdir().unwrap();
    let config = CrawlConfig {
        seeds: vec!["http://127.0.0.1:9/".into()],
        robots: false,
        ..CrawlConfig::default()
    };
    let missing = tmp.path().join("nothing-here");
    let err = try_crawl(
        config.clone(),
        &tmp.path().join("out"),
        Some(&missing),
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with(&format!("previous crawl {}: ", missing.display())),
        "{err}"
    );
    assert!(!err.contains('\n'), "{err}");

    // A crawl output from before the columns: documents without them.
    let old = tmp.path().join("old");
    let schema = ore_core::schema::documents_schema();
    let info = ore_core::StageInfo::new("crawl", &serde_json::json!({}), 0);
    let out = ore_core::StageOutput::create(&old, schema, info, ore_core::WriteOptions::default())
        .unwrap();
    out.commit().unwrap();
    let err = try_crawl(config, &tmp.path().join("out"), Some(&old), false)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "previous crawl {}: no column `title_source`",
            old.display()
        )),
        "{err}"
    );
    assert!(
        err.contains("`etag`") && err.contains("without --previous"),
        "{err}"
    );
    assert!(!err.contains('\n'), "{err}");
}
