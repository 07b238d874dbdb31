//! Representativeness (length distributions of train against test, and
//! where the documents come from) and timeliness (when the crawls fetched
//! their pages) of section 2.

use std::collections::HashMap;

use serde_json::json;

use crate::data;
use crate::doc::{Cell, Section};
use crate::error::Result;
use crate::quality::{fractions, mean, percentile};
use crate::stages::{Stage, of_kind};
use crate::svg::{self, Series};

/// Stage kinds whose output is a `documents`-like table.
pub const DOCUMENT_KINDS: &[&str] = &["crawl", "clean", "tokenize"];

/// The lengths (in characters) of a split's source and target texts, and
/// its rows by source.
#[derive(Debug, Default)]
struct SplitTexts {
    src: Vec<f64>,
    tgt: Vec<f64>,
    sources: Sources,
}

/// Lengths and sources of length-distribution charts and tables, for each
/// split stage's `train/` against its `test/`.
pub fn representativeness(s: &mut Section, stages: &[Stage]) -> Result<serde_json::Value> {
    s.heading("Representativeness");
    let mut figures = Vec::new();
    let splits = of_kind(stages, &["split"]);
    if splits.is_empty() {
        s.para("Lengths: no split stage in this pipeline.");
    }
    for st in splits {
        let train = split_texts(&st.output.join("train"))?;
        let test = split_texts(&st.output.join("test"))?;
        let (Some(train), Some(test)) = (train, test) else {
            s.para(format!(
                "`{}` has no train/ and test/ to compare.",
                st.section
            ));
            continue;
        };
        let mut summary = Vec::new();
        for (side, tr, te) in [
            ("src", &train.src, &test.src),
            ("tgt", &train.tgt, &test.tgt),
        ] {
            if tr.is_empty() && te.is_empty() {
                continue;
            }
            let all: Vec<f64> = tr.iter().chain(te.iter()).copied().collect();
            let hi = percentile(&all, 0.99).max(1.0);
            let clamp = |v: &Vec<f64>| v.iter().map(|x| x.min(hi)).collect::<Vec<f64>>();
            let (edges, trc) = svg::bin(&clamp(tr), 0.0, hi, 24);
            let (_, tec) = svg::bin(&clamp(te), 0.0, hi, 24);
            let title = format!(
                "{}: {side} length in characters, train against test",
                st.section
            );
            s.chart(
                &title,
                svg::histogram(
                    &title,
                    &format!(
                        "{side} characters (values above {} in the last bin)",
                        svg::fmt_num(hi)
                    ),
                    "fraction of rows",
                    &edges,
                    &[
                        Series::new(format!("train ({})", tr.len()), fractions(&trc)),
                        Series::new(format!("test ({})", te.len()), fractions(&tec)),
                    ],
                ),
                format!(
                    "mean {side} length train {}, test {}",
                    svg::fmt_num(mean(tr)),
                    svg::fmt_num(mean(te))
                ),
            );
            for (name, v) in [("train", tr), ("test", te)] {
                summary.push(vec![
                    Cell::text(&st.section),
                    Cell::text(name),
                    Cell::text(side),
                    Cell::Int(v.len() as u64),
                    Cell::opt(Some(mean(v)).filter(|m| m.is_finite()), 1),
                    Cell::opt(Some(percentile(v, 0.5)).filter(|m| m.is_finite()), 0),
                    Cell::opt(Some(percentile(v, 0.95)).filter(|m| m.is_finite()), 0),
                ]);
            }
            figures.push(json!({
                "section": st.section, "side": side, "edges": edges,
                "train": trc, "test": tec,
                "train_mean": Some(mean(tr)).filter(|m| m.is_finite()),
                "test_mean": Some(mean(te)).filter(|m| m.is_finite()),
            }));
        }
        if !summary.is_empty() {
            s.table(
                &[
                    "split stage",
                    "split",
                    "side",
                    "rows",
                    "mean chars",
                    "median",
                    "95th pct",
                ],
                summary,
            );
        }
        if !train.sources.counts.is_empty() {
            let train_top = train.sources.top(10);
            let test_counts = test.sources.keyed();
            let rows = train_top
                .iter()
                .map(|(key, n)| {
                    vec![
                        Cell::text(key),
                        Cell::Num(100.0 * *n as f64 / train.sources.total.max(1) as f64, 1),
                        Cell::Num(
                            100.0 * test_counts.get(key).copied().unwrap_or(0) as f64
                                / test.sources.total.max(1) as f64,
                            1,
                        ),
                    ]
                })
                .collect();
            s.para(format!(
                "Sources of `{}` (the ten largest in train).",
                st.section
            ));
            s.table(&["source", "train %", "test %"], rows);
        }
    }
    let docs = documents(s, stages)?;
    Ok(json!({"lengths": figures, "documents": docs}))
}

/// Source texts, target texts and sources of one split folder.
fn split_texts(path: &std::path::Path) -> Result<Option<SplitTexts>> {
    let Some(ds) = data::open(path)? else {
        return Ok(None);
    };
    let src_col = data::first_of(&ds, &["src", "text"]);
    let tgt_col = data::first_of(&ds, &["tgt", "title"]);
    let url_col = data::first_of(&ds, &["src_url", "url"]);
    let mut out = SplitTexts::default();
    let cols: Vec<&str> = [src_col, tgt_col, url_col].into_iter().flatten().collect();
    let root = ds.root().to_path_buf();
    data::scan(&ds, &cols, |batch| {
        let len = |c: Option<&str>| -> Result<Vec<f64>> {
            let Some(col) = c
                .map(|c| data::strs(batch, c, &root))
                .transpose()?
                .flatten()
            else {
                return Ok(Vec::new());
            };
            Ok((0..batch.num_rows())
                .map(|i| col.get(i).map_or(f64::NAN, |t| t.chars().count() as f64))
                .collect())
        };
        out.src.extend(len(src_col)?);
        out.tgt.extend(len(tgt_col)?);
        if let Some(urls) = url_col
            .map(|c| data::strs(batch, c, &root))
            .transpose()?
            .flatten()
        {
            for i in 0..batch.num_rows() {
                out.sources.add_url(urls.get(i));
            }
        }
        Ok(())
    })?;
    Ok(Some(out))
}

/// Rows counted by where they come from: the URL's host, or, when every
/// row has one host, its first three folders.
#[derive(Debug, Default)]
pub struct Sources {
    counts: HashMap<(String, String), u64>,
    total: u64,
}

impl Sources {
    pub fn add_url(&mut self, url: Option<&str>) {
        self.total += 1;
        let key = match url.and_then(|u| url::Url::parse(u).ok()) {
            Some(u) => {
                let host = match (u.host_str(), u.port()) {
                    (Some(h), Some(p)) => format!("{h}:{p}"),
                    (Some(h), None) => h.to_string(),
                    _ => u.scheme().to_string(),
                };
                let segments: Vec<&str> =
                    u.path_segments().map(|s| s.collect()).unwrap_or_default();
                let folders = &segments[..segments.len().saturating_sub(1)];
                let folder = folders
                    .iter()
                    .take(3)
                    .copied()
                    .collect::<Vec<_>>()
                    .join("/");
                (host, folder)
            }
            None => ("(no URL)".to_string(), String::new()),
        };
        *self.counts.entry(key).or_default() += 1;
    }

    /// Counts by key: host, or host/folders when there is only one host.
    fn keyed(&self) -> HashMap<String, u64> {
        let one_host = {
            let mut hosts = self.counts.keys().map(|(h, _)| h);
            let first = hosts.next();
            hosts.all(|h| Some(h) == first)
        };
        let mut out: HashMap<String, u64> = HashMap::new();
        for ((host, folder), n) in &self.counts {
            let key = if one_host && !folder.is_empty() {
                format!("{host}/{folder}")
            } else {
                host.clone()
            };
            *out.entry(key).or_default() += n;
        }
        out
    }

    /// The `n` largest keys, largest first (ties by name).
    pub fn top(&self, n: usize) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = self.keyed().into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }
}

/// Where each documents-like stage's rows come from (URL and language).
fn documents(s: &mut Section, stages: &[Stage]) -> Result<serde_json::Value> {
    let mut figures = Vec::new();
    let docs = of_kind(stages, &["crawl", "clean"]);
    if docs.is_empty() {
        s.para("Sources: no crawl or clean stage in this pipeline.");
    }
    for st in docs {
        let Some(ds) = data::open(&st.output)? else {
            continue;
        };
        let url_col = data::first_of(&ds, &["url", "src_url"]);
        let lang_col = data::first_of(&ds, &["lang_detected", "lang"]);
        if url_col.is_none() && lang_col.is_none() {
            continue;
        }
        let mut sources = Sources::default();
        let mut langs: HashMap<String, u64> = HashMap::new();
        let root = ds.root().to_path_buf();
        let cols: Vec<&str> = [url_col, lang_col].into_iter().flatten().collect();
        data::scan(&ds, &cols, |batch| {
            let urls = url_col
                .map(|c| data::strs(batch, c, &root))
                .transpose()?
                .flatten();
            let ls = lang_col
                .map(|c| data::strs(batch, c, &root))
                .transpose()?
                .flatten();
            for i in 0..batch.num_rows() {
                if let Some(u) = urls {
                    sources.add_url(u.get(i));
                }
                if let Some(l) = ls {
                    *langs
                        .entry(l.get(i).unwrap_or("(none)").to_string())
                        .or_default() += 1;
                }
            }
            Ok(())
        })?;
        let top = sources.top(12);
        let mut lang_top: Vec<(String, u64)> = langs.into_iter().collect();
        lang_top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        lang_top.truncate(8);
        if !top.is_empty() {
            let title = format!("{}: documents by source", st.section);
            let labels: Vec<String> = top.iter().map(|(k, _)| k.clone()).collect();
            s.chart(
                &title,
                svg::stacked_hbars(
                    &title,
                    &labels,
                    &[Series::new(
                        "documents",
                        top.iter().map(|(_, n)| *n as f64).collect(),
                    )],
                ),
                top.iter()
                    .map(|(k, n)| format!("{k}: {n}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
        }
        if !lang_top.is_empty() {
            s.para(format!(
                "`{}` by language ({}): {}.",
                st.section,
                lang_col.unwrap_or_default(),
                lang_top
                    .iter()
                    .map(|(l, n)| format!("{l} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        figures.push(json!({"section": st.section, "sources": top, "languages": lang_top}));
    }
    Ok(json!(figures))
}

/// The earliest and latest `fetched_at` of each crawl-kind stage.
pub fn timeliness(s: &mut Section, stages: &[Stage]) -> Result<serde_json::Value> {
    s.heading("Timeliness");
    let crawls = of_kind(stages, &["crawl"]);
    if crawls.is_empty() {
        s.para("No crawl stage in this pipeline.");
        return Ok(json!([]));
    }
    let mut rows = Vec::new();
    let mut figures = Vec::new();
    for st in crawls {
        let Some(ds) = data::open(&st.output)? else {
            continue;
        };
        if !data::has(&ds, "fetched_at") {
            continue;
        }
        let (mut lo, mut hi, mut n) = (i64::MAX, i64::MIN, 0u64);
        data::scan(&ds, &["fetched_at"], |batch| {
            for v in data::micros(batch, "fetched_at")
                .unwrap_or_default()
                .into_iter()
                .flatten()
            {
                lo = lo.min(v);
                hi = hi.max(v);
                n += 1;
            }
            Ok(())
        })?;
        if n == 0 {
            continue;
        }
        let span = (hi - lo) as f64 / 1e6;
        rows.push(vec![
            Cell::text(&st.section),
            Cell::Int(n),
            Cell::text(data::format_micros(lo)),
            Cell::text(data::format_micros(hi)),
            Cell::Num(span, 1),
        ]);
        figures.push(json!({
            "section": st.section, "documents": n,
            "first": data::format_micros(lo), "last": data::format_micros(hi), "span_s": span,
        }));
    }
    if rows.is_empty() {
        s.para("The crawl outputs have no `fetched_at`.");
    } else {
        s.table(
            &[
                "crawl stage",
                "documents",
                "first fetched",
                "last fetched",
                "span (s)",
            ],
            rows,
        );
    }
    Ok(json!(figures))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_host_is_broken_down_by_folder() {
        let mut s = Sources::default();
        s.add_url(Some("http://127.0.0.1:8765/zh-CN/text/swriter/a.html"));
        s.add_url(Some("http://127.0.0.1:8765/zh-CN/text/swriter/b.html"));
        s.add_url(Some("http://127.0.0.1:8765/zh-CN/text/scalc/guide/c.html"));
        assert_eq!(
            s.top(5),
            [
                ("127.0.0.1:8765/zh-CN/text/swriter".to_string(), 2),
                ("127.0.0.1:8765/zh-CN/text/scalc".to_string(), 1)
            ]
        );
        s.add_url(Some("https://example.org/x"));
        s.add_url(None);
        assert_eq!(s.top(1), [("127.0.0.1:8765".to_string(), 3)]);
        assert_eq!(s.top(5).len(), 3);
    }
}
