//! The clean stage on real pages: near-duplicate quality against exact
//! Jaccard, incremental cleaning with an index, determinism and row
//! accounting.

use std::collections::BTreeSet;
use std::path::Path;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;

use ore_clean::config::NormalizeConfig;
use ore_clean::normalize::normalize;
use ore_core::{Dataset, Manifest};
use ore_minhash::{MinHasher, candidate_pairs, estimate, exact_jaccard, use_char_shingles};
use ore_tests::{help_docs, ore, source, stdout_ok, write_docs};

const HELP: &str = "libreoffice-help-zh-cn/usr/share/libreoffice/help/zh-CN/text";

fn kept_ids(path: &Path) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for batch in Dataset::open(path).expect("open").batches(4096) {
        let batch = batch.expect("read");
        let col = batch
            .column_by_name("doc_id")
            .expect("doc_id")
            .as_string::<i32>()
            .clone();
        ids.extend(col.iter().flatten().map(String::from));
    }
    ids
}

#[test]
fn near_duplicates_match_exact_jaccard_on_help_pages() {
    let Some(dir) = source(HELP) else { return };
    let hasher = MinHasher::new(128, 42, 5, 5);
    let config = NormalizeConfig::default();
    let shingles: Vec<Vec<u64>> = help_docs(&dir)
        .iter()
        .map(|d| {
            let text = normalize(&d.2, &config);
            hasher.shingles(&text, use_char_shingles(&text))
        })
        .filter(|s| !s.is_empty())
        .collect();
    let signatures: Vec<Vec<u32>> = shingles.iter().map(|s| hasher.signature(s)).collect();

    // Exact Jaccard of every pair that could reach the lowest threshold
    // (sizes alone bound it: J <= min/max).
    let lowest = 0.5;
    let mut exact: Vec<((u32, u32), f64)> = Vec::new();
    for i in 0..shingles.len() {
        for j in i + 1..shingles.len() {
            let (a, b) = (shingles[i].len(), shingles[j].len());
            if (a.min(b) as f64) < lowest * a.max(b) as f64 {
                continue;
            }
            let jac = exact_jaccard(&shingles[i], &shingles[j]);
            if jac >= lowest {
                exact.push(((i as u32, j as u32), jac));
            }
        }
    }
    let mut checked = 0;
    for threshold in [0.5, 0.6, 0.7, 0.8, 0.9] {
        let truth: BTreeSet<(u32, u32)> = exact
            .iter()
            .filter(|(_, j)| *j >= threshold)
            .map(|(p, _)| *p)
            .collect();
        // What the stage does: LSH candidates, then an exact check.
        let sigs: Vec<&[u32]> = signatures.iter().map(Vec::as_slice).collect();
        let candidates = candidate_pairs(&sigs, &[], threshold, 128);
        let by_estimate = candidates
            .iter()
            .filter(|&&(i, j)| estimate(sigs[i as usize], sigs[j as usize]) >= threshold)
            .count();
        let predicted: BTreeSet<(u32, u32)> = candidates
            .iter()
            .copied()
            .filter(|&(i, j)| {
                exact_jaccard(&shingles[i as usize], &shingles[j as usize]) >= threshold
            })
            .collect();
        let hits = predicted.intersection(&truth).count();
        let precision = hits as f64 / predicted.len().max(1) as f64;
        let recall = hits as f64 / truth.len().max(1) as f64;
        eprintln!(
            "near duplicates on {} help pages at Jaccard >= {threshold}: {} true pairs, {} candidates ({by_estimate} by estimate alone), {} verified, precision {precision:.4}, recall {recall:.4}",
            shingles.len(),
            truth.len(),
            candidates.len(),
            predicted.len()
        );
        // Too few pairs make the ratios a coin toss on borderline pairs.
        if truth.len() >= 100 {
            assert!(precision >= 0.95, "precision {precision} at {threshold}");
            assert!(recall >= 0.90, "recall {recall} at {threshold}");
            checked += 1;
        }
    }
    assert!(checked >= 1, "no threshold had enough true pairs to judge");
}

#[test]
fn incremental_cleaning_equals_cleaning_everything_at_once() {
    let Some(dir) = source(HELP) else { return };
    let mut docs = help_docs(&dir);
    docs.truncate(900);
    let split = 600;
    let mut b: Vec<(String, String, String)> = docs[split..].to_vec();
    // B also carries copies of A's pages, under new URLs, some lightly edited.
    for (k, d) in docs[..split].iter().step_by(10).enumerate() {
        let url = format!("{}?copy={k}", d.1);
        let text = if k % 2 == 0 {
            d.2.clone()
        } else {
            format!("{}\n（转载）", d.2)
        };
        b.push((ore_core::ids::doc_id(&url), url, text));
    }
    let a = &docs[..split];
    let tmp = tempfile::tempdir().expect("tempdir");
    write_docs(&tmp.path().join("a"), a);
    write_docs(&tmp.path().join("b"), &b);
    let mut all = a.to_vec();
    all.extend(b.iter().cloned());
    write_docs(&tmp.path().join("ab"), &all);
    // Boilerplate statistics are per run, so they are off for this comparison.
    std::fs::write(
        tmp.path().join("p.toml"),
        "[pipeline]\nname = \"t\"\nseed = 7\n[clean.boilerplate]\nenabled = false\n",
    )
    .expect("write");
    let clean = |input: &str, output: &str, index: Option<&str>| {
        let mut args = vec![
            "clean", "--config", "p.toml", "--input", input, "--output", output,
        ];
        if let Some(index) = index {
            args.extend(["--index", index]);
        }
        stdout_ok(&ore(tmp.path(), &args))
    };
    clean("a", "clean_a", Some("index"));
    let out_b = clean("b", "clean_b", Some("index"));
    clean("ab", "clean_ab", None);

    let incremental: BTreeSet<String> = kept_ids(&tmp.path().join("clean_a"))
        .union(&kept_ids(&tmp.path().join("clean_b")))
        .cloned()
        .collect();
    let at_once = kept_ids(&tmp.path().join("clean_ab"));
    assert_eq!(incremental, at_once);
    // Every copy of an A page in B was rejected as a duplicate.
    let b_kept = kept_ids(&tmp.path().join("clean_b"));
    assert!(
        b.iter()
            .filter(|d| d.1.contains("?copy="))
            .all(|d| !b_kept.contains(&d.0)),
        "{out_b}"
    );

    for name in ["clean_a", "clean_b", "clean_ab"] {
        let m = Manifest::read(tmp.path().join(name)).expect("manifest");
        assert_eq!(m.rows.input, m.rows.output + m.rows.rejected, "{name}");
    }
    let m = Manifest::read(tmp.path().join("clean_b")).expect("manifest");
    assert!(
        m.rows
            .rejected_by_reason
            .get("exact_duplicate")
            .copied()
            .unwrap_or(0)
            >= 25,
        "{:?}",
        m.rows
    );
    assert!(
        m.rows
            .rejected_by_reason
            .get("near_duplicate")
            .copied()
            .unwrap_or(0)
            >= 25,
        "{:?}",
        m.rows
    );
}

#[test]
fn cleaning_is_deterministic() {
    let Some(dir) = source(HELP) else { return };
    let mut docs = help_docs(&dir);
    docs.truncate(400);
    let tmp = tempfile::tempdir().expect("tempdir");
    write_docs(&tmp.path().join("in"), &docs);
    let rows = |name: &str| -> Vec<RecordBatch> {
        stdout_ok(&ore(
            tmp.path(),
            &["clean", "--input", "in", "--output", name, "--seed", "5"],
        ));
        Dataset::open(tmp.path().join(name))
            .expect("open")
            .batches(100_000)
            .collect::<Result<Vec<_>, _>>()
            .expect("read")
    };
    let (first, second) = (rows("c1"), rows("c2"));
    assert_eq!(first, second);
    let one_thread = {
        stdout_ok(&ore(
            tmp.path(),
            &[
                "clean",
                "--input",
                "in",
                "--output",
                "c3",
                "--seed",
                "5",
                "--threads",
                "1",
            ],
        ));
        Dataset::open(tmp.path().join("c3"))
            .expect("open")
            .batches(100_000)
            .collect::<Result<Vec<_>, _>>()
            .expect("read")
    };
    assert_eq!(first, one_thread, "thread count does not change the output");
}

/// `ore clean --pii mask` with per-kind overrides on help pages and posts
/// carrying personal information: masked, removed or rejected as asked,
/// counted in the `pii_*` columns and the manifest, every row accounted
/// for; the Gopher and C4 rules each reject with their own reason.
#[test]
fn personal_information_and_gopher_c4_rules() {
    let Some(dir) = source(HELP) else { return };
    let mut docs = help_docs(&dir);
    docs.truncate(60);
    let post = |id: &str, text: &str| {
        (
            id.to_string(),
            format!("http://forum.example/{id}"),
            text.to_string(),
        )
    };
    docs.extend([
        post(
            "p1",
            "有问题请发邮件到 wang.fang@163.com 或者打电话 138-0013-8000 联系我们，我们会尽快回复大家的问题。",
        ),
        post(
            "p2",
            "办理时请出示身份证 11010519491231002X 的原件和复印件，工作人员会在三个工作日内完成审核。",
        ),
        post(
            "p3",
            "The server at 192.168.20.14 kept dropping the connection, so we moved the share to a new machine.",
        ),
        post(
            "p4",
            "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore.",
        ),
        post(
            "p5",
            "Cheap watches online now, best prices guaranteed, free shipping worldwide, order today.",
        ),
    ]);
    let tmp = tempfile::tempdir().expect("tempdir");
    write_docs(&tmp.path().join("in"), &docs);
    std::fs::write(
        tmp.path().join("P.toml"),
        "[pipeline]\nname = \"pii\"\n\n[clean.pii]\nid_card = \"reject\"\nip = \"remove\"\n\n[clean.quality]\nmin_stop_words = 2\nreject_lorem_ipsum = true\n",
    )
    .expect("write P.toml");
    stdout_ok(&ore(
        tmp.path(),
        &[
            "clean", "--input", "in", "--output", "out", "--pii", "mask", "--config", "P.toml",
        ],
    ));
    let m = Manifest::read(tmp.path().join("out")).expect("manifest");
    let r = &m.rows;
    assert_eq!(r.input, docs.len() as u64);
    assert_eq!(r.input, r.output + r.rejected);
    assert_eq!(r.rejected_by_reason.get("pii_id_card"), Some(&1));
    assert_eq!(r.rejected_by_reason.get("lorem_ipsum"), Some(&1));
    assert!(
        r.rejected_by_reason
            .get("few_stop_words")
            .is_some_and(|&n| n >= 1)
    );
    let pii = &m.summary["pii"];
    assert_eq!(pii["email"]["found"], 1);
    assert_eq!(pii["email"]["action"], "mask");
    assert_eq!(pii["phone"]["found"], 1);
    assert_eq!(pii["id_card"]["rows"], 1);
    assert_eq!(pii["ip"]["action"], "remove");
    assert_eq!(pii["ip"]["found"], 1);

    let rows = ore_tests::string_rows(&tmp.path().join("out"));
    let text_of = |id: &str| {
        rows.iter()
            .find(|r| r["doc_id"] == id)
            .map(|r| r["text"].clone())
            .unwrap_or_else(|| panic!("{id} kept"))
    };
    assert_eq!(
        text_of("p1"),
        "有问题请发邮件到 [EMAIL] 或者打电话 [PHONE] 联系我们,我们会尽快回复大家的问题。"
    );
    assert_eq!(
        text_of("p3"),
        "The server at  kept dropping the connection, so we moved the share to a new machine."
    );
    let p1 = rows.iter().find(|r| r["doc_id"] == "p1").expect("p1");
    assert_eq!(
        (p1["pii_email"].as_str(), p1["pii_phone"].as_str()),
        ("1", "1")
    );
    // The help pages hold no personal information: untouched, counted 0.
    for (id, _, _) in &docs[..60] {
        if let Some(r) = rows.iter().find(|r| &r["doc_id"] == id) {
            assert!(!r["text"].contains("[EMAIL]") && !r["text"].contains("[PHONE]"));
            assert_eq!(r["pii_email"], "0");
        }
    }
    let rejects = ore_tests::string_rows(&tmp.path().join("out/_rejects"));
    let reason_of = |id: &str| {
        rejects
            .iter()
            .find(|r| r["doc_id"] == id)
            .map(|r| r["reject_reason"].clone())
    };
    assert_eq!(reason_of("p2").as_deref(), Some("pii_id_card"));
    assert_eq!(reason_of("p4").as_deref(), Some("lorem_ipsum"));
    assert_eq!(reason_of("p5").as_deref(), Some("few_stop_words"));

    // Without --pii nothing is looked for: the columns are null, the
    // manifest has no counts, and the text is as it was.
    stdout_ok(&ore(
        tmp.path(),
        &["clean", "--input", "in", "--output", "plain"],
    ));
    let m = Manifest::read(tmp.path().join("plain")).expect("manifest");
    assert!(!m.summary.contains_key("pii"));
    let rows = ore_tests::string_rows(&tmp.path().join("plain"));
    let p1 = rows.iter().find(|r| r["doc_id"] == "p1").expect("p1");
    assert!(p1["text"].contains("wang.fang@163.com"));
    assert!(!p1.contains_key("pii_email"), "null where not looked for");
}
