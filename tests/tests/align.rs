//! `ore align` end to end: a slice of the real LibreOffice help crawled in
//! both languages from a real static server and aligned by element id
//! (compared with 100 pairs read from the HTML by Python's html.parser,
//! tests/python/help_pairs.py), a small two-language site of our own
//! (every reject reason), and paragraph-order alignment of pages without
//! ids where one side inserts a paragraph and the other drops one.

use std::collections::HashMap;

use arrow_array::cast::AsArray;
use ore_core::Manifest;
use ore_tests::{
    align_help_slice, crawl_prefix as crawl, ore, read_all, repo_root, serve_site, source,
    stdout_ok, string_rows, write_docs,
};

#[test]
fn real_help_pages_align_by_id_into_the_known_pairs() {
    let Some(_) = source("libreoffice-help-en-us/usr/share/libreoffice/help/en-US") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = align_help_slice(d);
    assert!(out.starts_with("align: "), "{out}");

    let m = Manifest::read(d.join("pairs")).unwrap();
    let get = |k: &str| m.summary[k].as_u64().unwrap();
    assert_eq!(get("pages_src"), 88, "{out}");
    assert_eq!(get("pages_paired"), 88, "{out}");
    assert!(get("pages_by_id") >= 85, "{out}");
    assert!(m.rows.output > 900, "{out}");

    let got: HashMap<(String, String), (String, String)> = string_rows(&d.join("pairs"))
        .into_iter()
        .map(|r| {
            let file = r["src_url"].rsplit('/').next().unwrap().to_string();
            (
                (file, r["segment"].clone()),
                (r["src"].clone(), r["tgt"].clone()),
            )
        })
        .collect();
    // A pair whose source repeats an earlier pair's is in _rejects as a
    // `duplicate`, and that earlier pair is in the output.
    let duplicates: HashMap<(String, String), (String, String)> =
        string_rows(&d.join("pairs/_rejects"))
            .into_iter()
            .filter(|r| r["reject_reason"] == "duplicate")
            .map(|r| {
                let file = r["url"].rsplit('/').next().unwrap().to_string();
                (
                    (file, r["segment"].clone()),
                    (r["src"].clone(), r["tgt"].clone()),
                )
            })
            .collect();
    let sources: std::collections::HashSet<&str> = got.values().map(|(s, _)| s.as_str()).collect();
    assert!(!duplicates.is_empty());
    let known =
        std::fs::read_to_string(repo_root().join("tests/fixtures/align/help_pairs.tsv")).unwrap();
    let mut n = 0;
    for line in known.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let key = (f[0].to_string(), f[1].to_string());
        let want = (f[2].to_string(), f[3].to_string());
        match duplicates.get(&key) {
            Some(pair) => {
                assert_eq!(pair, &want, "{} {}", f[0], f[1]);
                assert!(sources.contains(f[2]), "{} {}", f[0], f[1]);
            }
            None => assert_eq!(got.get(&key), Some(&want), "{} {}", f[0], f[1]),
        }
        n += 1;
    }
    assert_eq!(n, 100);
    for r in string_rows(&d.join("pairs")) {
        assert!(
            r["src"]
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{r:?}"
        );
        assert_ne!(r["src"], r["tgt"]);
        let score: f64 = r["align_score"].parse().unwrap();
        assert!((0.001..=1.0).contains(&score), "{r:?}");
    }
}

const ZH_PAGE: &str = r#"<html lang="zh-CN"><head><title>插入表格</title></head><body>
<div id="DisplayArea"><h1 id="hd_1">插入表格</h1>
<p id="par_1">在当前文档中插入一个表格。</p>
<p id="par_2">选择<span class="menuitem">插入 - 表格</span>。</p>
<p id="par_3">Untranslated paragraph kept in English.</p>
<p id="par_zh">只有中文页面才有的段落。</p>
</div></body></html>"#;

const EN_PAGE: &str = r#"<html lang="en-US"><head><title>Insert Table</title></head><body>
<div id="DisplayArea"><h1 id="hd_1">Insert Table</h1>
<p id="par_1">Inserts a table into the current document.</p>
<p id="par_2">Choose <span class="menuitem">Insert - Table</span>.</p>
<p id="par_3">Untranslated paragraph kept in English.</p>
<p id="par_en">A paragraph only the English page has.</p>
</div></body></html>"#;

#[test]
fn a_small_site_aligns_by_id_and_rejects_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = d.join("site");
    for (lang, page) in [("zh-CN", ZH_PAGE), ("en-US", EN_PAGE)] {
        std::fs::create_dir_all(root.join(lang)).unwrap();
        std::fs::write(root.join(lang).join("table.html"), page).unwrap();
    }
    std::fs::write(
        root.join("zh-CN/only.html"),
        "<html><body><p id=\"a\">这一页没有英文版本。</p></body></html>",
    )
    .unwrap();
    std::fs::write(root.join(".built"), "").unwrap();
    let site = serve_site(d, Some(&root));
    crawl(d, site.port, "zh-CN/", "zh");
    crawl(d, site.port, "en-US/", "en");
    drop(site);
    let out = stdout_ok(&ore(
        d,
        &[
            "align", "--input", "zh", "--input", "en", "--output", "pairs",
        ],
    ));
    let pairs = string_rows(&d.join("pairs"));
    let got: Vec<(&str, &str, &str, &str)> = pairs
        .iter()
        .map(|r| {
            (
                r["segment"].as_str(),
                r["src"].as_str(),
                r["tgt"].as_str(),
                r["align_method"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("hd_1", "插入表格", "Insert Table", "id"),
            (
                "par_1",
                "在当前文档中插入一个表格。",
                "Inserts a table into the current document.",
                "id"
            ),
            ("par_2", "选择插入 - 表格。", "Choose Insert - Table.", "id"),
        ],
        "{out}"
    );
    for r in &pairs {
        assert_eq!(r["source_id"], r["src_doc_id"]);
    }
    // The token lists are the text's tokens (jieba for Chinese, words for
    // English): joined, they give the text back, spaces aside.
    for batch in read_all(&d.join("pairs")) {
        for side in ["src", "tgt"] {
            let text = batch
                .column_by_name(side)
                .unwrap()
                .as_string::<i32>()
                .clone();
            let lists = batch
                .column_by_name(&format!("{side}_tokens"))
                .unwrap()
                .as_list::<i32>()
                .clone();
            for r in 0..batch.num_rows() {
                let v = lists.value(r);
                let toks: Vec<String> = v
                    .as_string::<i32>()
                    .iter()
                    .map(|t| t.unwrap().to_string())
                    .collect();
                assert!(toks.len() > 1, "{toks:?}");
                let squeeze =
                    |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
                assert_eq!(squeeze(&toks.concat()), squeeze(text.value(r)));
            }
        }
    }
    let m = Manifest::read(d.join("pairs")).unwrap();
    let reasons: Vec<(&str, u64)> = m
        .rows
        .rejected_by_reason
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(
        reasons,
        vec![("no_counterpart", 1), ("unaligned", 2), ("untranslated", 1)],
        "{out}"
    );
    let rejects = string_rows(&d.join("pairs/_rejects"));
    let unaligned: Vec<(&str, &str)> = rejects
        .iter()
        .filter(|r| r["reject_reason"] == "unaligned")
        .map(|r| (r["side"].as_str(), r["segment"].as_str()))
        .collect();
    assert_eq!(unaligned, vec![("src", "par_zh"), ("tgt", "par_en")]);
    assert!(out.contains("1 + 1 paragraphs left unaligned"), "{out}");
}

#[test]
fn pages_without_ids_align_by_order_skipping_an_insert_and_a_drop() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The Chinese edition keeps a long paragraph (index 2) that the English
    // one dropped; the English one adds a long paragraph (index 4) of its own.
    let zh = [
        "第一章 安装",
        "本手册说明如何在一台新的计算机上安装和配置系统，并给出每一步所需的命令。",
        "这一段只在中文版中出现：它介绍了旧版本的图形安装界面，以及早期光盘上的引导参数、每个参数的默认值和它们的含义，还列出了当时常见的几种硬件问题和解决办法，英文版在修订时把它整段删去了。",
        "在开始之前，请备份所有重要的数据。",
        "安装程序会询问磁盘分区的方式。大多数用户可以选择默认的自动分区方案。",
        "安装完成后，重新启动。",
    ];
    let en = [
        "Chapter 1 Installation",
        "This handbook explains how to install and configure the system on a new computer, and gives the commands each step needs.",
        "Before you begin, back up all important data.",
        "The installer asks how the disk should be partitioned. Most users can choose the default automatic scheme.",
        "This paragraph was added to the English edition only: it describes the network installer, the mirrors it can download packages from, how to choose one that is close to you, what to do when a mirror is out of date, and how to check the signatures of what it downloads; it has no Chinese counterpart at all.",
        "Then restart.",
    ];
    let doc = |lang: &str, lines: &[&str]| {
        let url = format!("http://handbook.example/{lang}/install.html");
        (ore_core::ids::doc_id(&url), url, lines.join("\n"))
    };
    write_docs(&d.join("zh"), &[doc("zh-CN", &zh)]);
    write_docs(&d.join("en"), &[doc("en-US", &en)]);
    let out = stdout_ok(&ore(
        d,
        &[
            "align", "--input", "zh", "--input", "en", "--output", "pairs",
        ],
    ));
    let got: Vec<(String, String, String)> = string_rows(&d.join("pairs"))
        .into_iter()
        .map(|r| {
            (
                r["src"].clone(),
                r["tgt"].clone(),
                r["align_method"].clone(),
            )
        })
        .collect();
    let want: Vec<(String, String, String)> = [(0, 0), (1, 1), (3, 2), (4, 3), (5, 5)]
        .iter()
        .map(|&(i, j)| (zh[i].to_string(), en[j].to_string(), "order".to_string()))
        .collect();
    assert_eq!(got, want, "{out}");
    let rejects = string_rows(&d.join("pairs/_rejects"));
    let left: Vec<(&str, &str)> = rejects
        .iter()
        .map(|r| {
            (
                r["side"].as_str(),
                r.get("src").or(r.get("tgt")).unwrap().as_str(),
            )
        })
        .collect();
    assert_eq!(left, vec![("src", zh[2]), ("tgt", en[4])]);
}
