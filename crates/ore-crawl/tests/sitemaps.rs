//! Sitemaps as seeds, against a local server: an index listing a plain
//! sitemap, a gzipped one, a broken one and one on a host out of scope;
//! robots.txt listing a plain-text sitemap; pages with W3C `<lastmod>`s.

#![allow(clippy::unwrap_used)] // a test file

mod common;

use std::io::Write;

use common::{Request, Server, by_url, crawl, reply, rows, try_crawl, urls};
use ore_crawl::CrawlConfig;

/// 2024-03-05T00:00:00Z in microseconds.
const MARCH_5: i64 = 1_709_596_800_000_000;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn urlset(entries: &[(&str, Option<&str>)]) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for (loc, lastmod) in entries {
        s.push_str(&format!("<url><loc>{loc}</loc>"));
        if let Some(t) = lastmod {
            s.push_str(&format!("<lastmod>{t}</lastmod>"));
        }
        s.push_str("</url>\n");
    }
    s + "</urlset>\n"
}

fn site(req: &Request, port: u16) -> common::Reply {
    let local = |p: &str| format!("http://127.0.0.1:{port}{p}");
    let html = "text/html; charset=utf-8";
    let page = |title: &str, extra: &str| {
        reply(
            200,
            html,
            format!("<title>{title}</title><p>The page {title}.</p>{extra}"),
        )
    };
    match req.path.as_str() {
        "/robots.txt" => reply(
            200,
            "text/plain",
            format!(
                "User-agent: *\nDisallow: /private/\n\nSitemap: {}\n",
                local("/extra.txt")
            ),
        ),
        "/sitemap_index.xml" => reply(
            200,
            "application/xml",
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>{}</loc><lastmod>2024-03-05</lastmod></sitemap>
  <sitemap><loc>{}</loc></sitemap>
  <sitemap><loc>{}</loc></sitemap>
  <sitemap><loc>http://localhost:{port}/elsewhere.xml</loc></sitemap>
</sitemapindex>"#,
                local("/sitemaps/a.xml"),
                local("/sitemaps/b.xml.gz"),
                local("/sitemaps/broken.xml"),
            ),
        ),
        "/sitemaps/a.xml" => reply(
            200,
            "text/xml",
            urlset(&[
                (&local("/p1.html"), Some("2024-03-05")),
                (
                    &local("/p2.html?a=1&amp;b=2"),
                    Some("2024-03-05T08:00:00+08:00"),
                ),
                (&local("/private/x.html"), None),
                (&local("/skip/me.html"), None),
                (&format!("http://localhost:{port}/p9.html"), None),
            ]),
        ),
        "/sitemaps/b.xml.gz" => reply(
            200,
            "application/gzip",
            gzip(
                urlset(&[
                    (&local("/p3.html"), Some("last tuesday")),
                    (&local("/p1.html"), Some("2020-01-01")),
                ])
                .as_bytes(),
            ),
        ),
        "/sitemaps/broken.xml" => reply(200, "application/xml", "<urlset><url><loc>x</urlset>"),
        "/extra.txt" => reply(200, "text/plain", format!("{}\n", local("/p4.html"))),
        "/p1.html" => page("p1", "<a href=/p5.html>p5</a>"),
        "/p2.html?a=1&b=2" => page("p2", ""),
        "/p3.html" => page("p3", ""),
        "/p4.html" => page("p4", ""),
        "/p5.html" => page("p5", ""),
        _ => reply(404, html, "<p>not found</p>"),
    }
}

#[test]
fn sitemap_index_gzip_and_robots_sitemaps_seed_the_crawl_with_lastmod() {
    let server = Server::start(site);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("crawl");
    let config = CrawlConfig {
        sitemaps: vec![server.url("/sitemap_index.xml")],
        sitemaps_from_robots: true,
        exclude: vec!["/skip/".into()],
        drop_repeated_lines: false,
        // One request at a time: the sitemaps are read in the order the
        // index lists them, so which listing of p1 comes first is fixed.
        concurrency: 1,
        per_host_concurrency: 1,
        ..CrawlConfig::default()
    };
    let report = crawl(config, &out, None);

    let docs = rows(&out);
    let rejects = rows(&out.join("_rejects"));
    assert_eq!(
        urls(&docs),
        [
            "/p1.html",
            "/p2.html?a=1&b=2",
            "/p3.html",
            "/p4.html",
            "/p5.html"
        ]
        .map(|p| server.url(p))
    );
    let lastmod = |p: &str| {
        by_url(&docs, &server.url(p))["lastmod"]
            .as_deref()
            .map(|t| t.parse::<i64>().unwrap())
    };
    assert_eq!(lastmod("/p1.html"), Some(MARCH_5), "the first listing wins");
    assert_eq!(lastmod("/p2.html?a=1&b=2"), Some(MARCH_5), "+08:00 to UTC");
    assert_eq!(lastmod("/p3.html"), None, "unparsable lastmod is null");
    assert_eq!(lastmod("/p4.html"), None, "plain-text sitemap");
    assert_eq!(lastmod("/p5.html"), None, "found by a link");
    let p1 = by_url(&docs, &server.url("/p1.html"));
    assert_eq!(p1["depth"].as_deref(), Some("0"));
    assert_eq!(p1["parent_url"], Some(server.url("/sitemaps/a.xml")));
    assert_eq!(
        by_url(&docs, &server.url("/p5.html"))["depth"].as_deref(),
        Some("1")
    );

    let reason = |p: &str| by_url(&rejects, &server.url(p))["reject_reason"].clone();
    for sitemap in [
        "/sitemap_index.xml",
        "/sitemaps/a.xml",
        "/sitemaps/b.xml.gz",
        "/extra.txt",
    ] {
        assert_eq!(reason(sitemap).as_deref(), Some("sitemap"), "{sitemap}");
    }
    let a = by_url(&rejects, &server.url("/sitemaps/a.xml"));
    assert_eq!(a["depth"].as_deref(), Some("1"), "nesting level");
    assert_eq!(
        a["reject_detail"].as_deref(),
        Some("3 pages and 0 sitemaps queued, 2 out of scope")
    );
    assert_eq!(
        reason("/sitemaps/broken.xml").as_deref(),
        Some("sitemap_error")
    );
    let detail = by_url(&rejects, &server.url("/sitemaps/broken.xml"))["reject_detail"]
        .clone()
        .unwrap();
    assert!(
        detail.starts_with(&format!(
            "{}: XML error at byte ",
            server.url("/sitemaps/broken.xml")
        )),
        "{detail}"
    );
    assert_eq!(reason("/private/x.html").as_deref(), Some("robots"));

    // Out of scope (another host, an excluded path) or disallowed: never
    // requested.
    for path in [
        "/elsewhere.xml",
        "/p9.html",
        "/skip/me.html",
        "/private/x.html",
    ] {
        assert!(server.requests(path).is_empty(), "{path} was fetched");
    }
    // Every URL tried once, as a document or a reject.
    assert_eq!(report.tried as usize, docs.len() + rejects.len());
    assert_eq!((docs.len(), rejects.len()), (5, 6));
    let mut all = urls(&docs);
    all.extend(urls(&rejects));
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n, "a URL recorded twice");
}

#[test]
fn sitemap_seeds_survive_a_resume_with_their_lastmod() {
    let server = Server::start(site);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("crawl");
    // The state of a crawl killed right after it read a.xml: its row lists
    // the seeds it queued (with a lastmod a.xml no longer says).
    let state = tmp.path().join(".crawl.crawl-state");
    std::fs::create_dir_all(&state).unwrap();
    let row = serde_json::json!({
        "url": server.url("/sitemaps/a.xml"), "final_url": null, "parent_url": null,
        "depth": 0, "status": 200, "fetched_at_us": 0, "content_type": "text/xml",
        "charset": null, "charset_source": null, "lang": null, "title": null,
        "title_source": null, "text": "", "html_sha256": null, "out_links": 0,
        "wire_bytes": 100, "reject": "sitemap", "detail": "2 pages and 0 sitemaps queued",
        "seeds": [
            {"url": server.url("/p1.html"), "lastmod_us": 86_400_000_000i64},
            {"url": server.url("/p3.html")},
        ],
    });
    std::fs::write(state.join("rows.jsonl"), format!("{row}\n")).unwrap();
    let config = CrawlConfig {
        sitemaps: vec![server.url("/sitemaps/a.xml")],
        max_depth: Some(0),
        robots: false,
        ..CrawlConfig::default()
    };
    let report = try_crawl(config, &out, None, true).unwrap();
    assert_eq!(report.resumed, 1);
    assert!(
        server.requests("/sitemaps/a.xml").is_empty(),
        "sitemap read again"
    );
    let docs = rows(&out);
    assert_eq!(
        urls(&docs),
        [server.url("/p1.html"), server.url("/p3.html")]
    );
    assert_eq!(
        by_url(&docs, &server.url("/p1.html"))["lastmod"].as_deref(),
        Some("86400000000")
    );
    assert_eq!(
        by_url(&docs, &server.url("/p3.html"))["parent_url"],
        Some(server.url("/sitemaps/a.xml"))
    );
}

#[test]
fn sitemap_settings_are_checked_before_the_crawl() {
    let err = ore_crawl::Crawler::build(CrawlConfig::default()).unwrap_err();
    assert!(err.to_string().contains("--sitemap URL"), "{err}");
    let err = ore_crawl::Crawler::build(CrawlConfig {
        sitemaps: vec!["ftp://example.com/sitemap.xml".into()],
        ..CrawlConfig::default()
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "seed `ftp://example.com/sitemap.xml`: only http and https URLs can be crawled"
    );
    let err = ore_crawl::Crawler::build(CrawlConfig {
        sitemaps: vec!["http://127.0.0.1/sitemap.xml".into()],
        sitemaps_from_robots: true,
        robots: false,
        ..CrawlConfig::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("sitemaps_from_robots"), "{err}");
}
