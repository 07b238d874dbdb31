//! Times BLEU and ROUGE separately on a hypothesis and a reference file.
//!
//! `cargo run --release -p ore-eval --example eval_speed -- HYP REF zh|en`

use std::time::Instant;

use ore_eval::{Bleu, EvalConfig, Lang, rouge_scores};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [hyp, reference, lang] = args.as_slice() else {
        return Err("usage: eval_speed HYP REF zh|en".into());
    };
    let hyps: Vec<String> = std::fs::read_to_string(hyp)?
        .lines()
        .map(String::from)
        .collect();
    let refs: Vec<Vec<String>> = vec![
        std::fs::read_to_string(reference)?
            .lines()
            .map(String::from)
            .collect(),
    ];
    let config = EvalConfig::for_lang(lang.parse::<Lang>()?);
    let start = Instant::now();
    let bleu = Bleu::new(config.bleu.clone()).corpus_score(&hyps, &refs)?;
    let bleu_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut n = 0;
    for line in hyps.iter().chain(&refs[0]) {
        n += config.bleu.tokenize.apply(line).len();
    }
    println!(
        "tokenize only: {:.1} ms ({n} bytes)",
        start.elapsed().as_secs_f64() * 1e3
    );
    let start = Instant::now();
    let rouge = rouge_scores(config.rouge, &hyps, &refs)?;
    let rouge_s = start.elapsed().as_secs_f64();
    println!(
        "{} pairs: BLEU {:.2} in {:.1} ms, ROUGE ({} pairs) in {:.1} ms",
        hyps.len(),
        bleu.score,
        bleu_s * 1e3,
        rouge.len(),
        rouge_s * 1e3
    );
    Ok(())
}
