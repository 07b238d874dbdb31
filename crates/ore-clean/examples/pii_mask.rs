//! The ore side of the `pii` benchmark pair (bench/pairs.toml; the other
//! side is python/pii_re.py with the same flags and output), and the Rust
//! half of the PII parity test (tests/tests/clean.rs).
//!
//! Reads a text file (one text a line, untimed), masks every kind of
//! personal information in each line with [`Redactor`] (on every core with
//! rayon, as the clean stage does; `--threads 1` for one), writes the
//! masked lines, and with `--json` prints one JSON line: lines, MB, seconds,
//! MB/s and the matches found by kind.
//!
//! ```text
//! cargo run --release -p ore-clean --example pii_mask -- \
//!     --input lines.txt --output masked.txt --json
//! ```

use std::path::PathBuf;
use std::time::Instant;

use ore_clean::pii::{PiiAction, PiiConfig, PiiKind, Redactor};
use rayon::prelude::*;

struct Args {
    input: PathBuf,
    output: PathBuf,
    json: bool,
    threads: usize,
}

fn parse_args() -> Result<Args, String> {
    let (mut input, mut output, mut json, mut threads) = (None, None, false, 0);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--input" => input = Some(PathBuf::from(value()?)),
            "--output" => output = Some(PathBuf::from(value()?)),
            "--json" => json = true,
            "--threads" => threads = value()?.parse().map_err(|e| format!("--threads: {e}"))?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(Args {
        input: input.ok_or("--input is required")?,
        output: output.ok_or("--output is required")?,
        json,
        threads,
    })
}

fn main() {
    let args = parse_args().unwrap_or_else(|e| {
        eprintln!("pii_mask: {e}");
        std::process::exit(2);
    });
    if args.threads > 0 {
        rayon::ThreadPoolBuilder::new()
            .num_threads(args.threads)
            .build_global()
            .expect("one global pool");
    }
    let text = std::fs::read_to_string(&args.input).unwrap_or_else(|e| {
        eprintln!("pii_mask: {}: {e}", args.input.display());
        std::process::exit(1);
    });
    let lines: Vec<&str> = text.lines().collect();
    let redactor = Redactor::new(PiiConfig {
        action: PiiAction::Mask,
        ..PiiConfig::default()
    });
    let start = Instant::now();
    let masked: Vec<(String, [u64; 6])> = lines
        .par_iter()
        .with_min_len(64)
        .map(|line| {
            let r = redactor.redact((*line).to_string());
            (r.text, r.counts)
        })
        .collect();
    let seconds = start.elapsed().as_secs_f64();
    let mut out = String::with_capacity(text.len());
    let mut found = [0u64; 6];
    for (line, counts) in &masked {
        out.push_str(line);
        out.push('\n');
        for (f, c) in found.iter_mut().zip(counts) {
            *f += c;
        }
    }
    if let Err(e) = std::fs::write(&args.output, out) {
        eprintln!("pii_mask: {}: {e}", args.output.display());
        std::process::exit(1);
    }
    if args.json {
        let mb = lines.iter().map(|l| l.len() + 1).sum::<usize>() as f64 / 1e6;
        let found: serde_json::Map<String, serde_json::Value> = PiiKind::ALL
            .iter()
            .map(|k| (k.name().to_string(), found[k.index()].into()))
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "lines": lines.len(),
                "mb": mb,
                "seconds": seconds,
                "mb_s": mb / seconds,
                "found": found,
            })
        );
    }
}
