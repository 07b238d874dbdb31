//! `ore metrics` as a user runs it: files in, report out, clear errors.

use ore_tests::{one_line_error, ore, python, stdout_ok};

const HYP_ZH: &str =
    "我们今天去公园散步。\n他说：“ＧＤＰ增长了7.8%。”\nWindows 10 版本2.0发布了\n\n";
const REF_ZH: &str =
    "我们今天去公园。\n他说：“今年GDP增长7.8%。”\nWindows 10 的 2.0 版本发布了\n空的\n";

#[test]
fn metrics_json_has_the_documented_fields_and_matches_sacrebleu_cli() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("hyp.txt"), HYP_ZH).expect("write");
    std::fs::write(tmp.path().join("ref.txt"), REF_ZH).expect("write");
    let out = stdout_ok(&ore(
        tmp.path(),
        &[
            "metrics", "--hyp", "hyp.txt", "--ref", "ref.txt", "--lang", "zh", "--json",
        ],
    ));
    let json: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    for key in [
        "score",
        "bp",
        "precisions",
        "sys_len",
        "ref_len",
        "signature",
    ] {
        assert!(
            json["bleu"].get(key).is_some(),
            "bleu.{key} missing: {json}"
        );
    }
    for kind in ["rouge1", "rouge2", "rougeL"] {
        for key in ["p", "r", "f"] {
            assert!(json[kind][key].is_f64(), "{kind}.{key} missing: {json}");
        }
    }
    assert_eq!(
        json["bleu"]["signature"],
        "nrefs:1|case:mixed|eff:no|tok:zh|smooth:exp|version:2.6.0"
    );

    let Some(python) = python() else { return };
    let sacrebleu = std::process::Command::new(python)
        .args([
            "-m",
            "sacrebleu",
            "ref.txt",
            "-i",
            "hyp.txt",
            "-tok",
            "zh",
            "-b",
            "-w",
            "6",
        ])
        .current_dir(tmp.path())
        .output()
        .expect("run sacrebleu");
    assert!(
        sacrebleu.status.success(),
        "{}",
        String::from_utf8_lossy(&sacrebleu.stderr)
    );
    let theirs: f64 = String::from_utf8_lossy(&sacrebleu.stdout)
        .trim()
        .parse()
        .expect("a number");
    let ours = json["bleu"]["score"].as_f64().expect("score");
    assert!(
        (ours - theirs).abs() < 1e-6,
        "ore {ours} vs sacrebleu CLI {theirs}"
    );
}

#[test]
fn metrics_text_report_and_paired_bootstrap() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("hyp.txt"), HYP_ZH).expect("write");
    std::fs::write(tmp.path().join("ref.txt"), REF_ZH).expect("write");
    std::fs::write(tmp.path().join("base.txt"), "我们\n他说\nWindows\n\n").expect("write");
    let out = stdout_ok(&ore(
        tmp.path(),
        &[
            "metrics",
            "--hyp",
            "hyp.txt",
            "--ref",
            "ref.txt",
            "--baseline",
            "base.txt",
            "--bootstrap",
            "200",
        ],
    ));
    for needle in [
        "BLEU = ",
        "ROUGE-1",
        "ROUGE-L",
        "bootstrap interval",
        "Paired bootstrap",
        "p = ",
    ] {
        assert!(out.contains(needle), "{needle} missing:\n{out}");
    }
}

#[test]
fn metrics_errors_name_the_file_and_counts() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("hyp.txt"), "a\nb\nc\n").expect("write");
    std::fs::write(tmp.path().join("ref.txt"), "a\nb\n").expect("write");
    let err = one_line_error(&ore(
        tmp.path(),
        &[
            "metrics", "--hyp", "hyp.txt", "--ref", "ref.txt", "--lang", "en",
        ],
    ));
    assert!(
        err.contains("hyp.txt has 3 lines but ref.txt has 2"),
        "{err}"
    );

    std::fs::write(tmp.path().join("bad.txt"), b"ok\nok\n\xff\xfe\n").expect("write");
    let err = one_line_error(&ore(
        tmp.path(),
        &[
            "metrics", "--hyp", "bad.txt", "--ref", "hyp.txt", "--lang", "en",
        ],
    ));
    assert!(err.contains("bad.txt: line 3: not valid UTF-8"), "{err}");

    let err = one_line_error(&ore(
        tmp.path(),
        &["metrics", "--hyp", "missing.txt", "--ref", "ref.txt"],
    ));
    assert!(err.contains("missing.txt"), "{err}");

    let out = ore(
        tmp.path(),
        &[
            "metrics", "--hyp", "hyp.txt", "--ref", "ref.txt", "--lang", "fr",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown language `fr`"));
}
