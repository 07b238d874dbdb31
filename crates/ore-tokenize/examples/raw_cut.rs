//! The raw jieba-rs loop the tokenize stage is compared with: read the
//! `text` column of a dataset into memory (untimed), then time loading
//! jieba's dictionary and `Jieba::cut` over every text on one thread — the
//! work the stage cannot avoid. Prints {"mb_per_s": …} from its own timer.
//! The `tokenize_overhead` bench pair times the whole process instead
//! (bench/timed.py), as it times `ore tokenize`, so that both sides pay
//! process start and reading the Parquet texts.
//!
//! `cargo run --release -p ore-tokenize --example raw_cut -- DATASET`

use std::time::Instant;

use ore_core::{Dataset, StrColumn};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: raw_cut DATASET")?;
    let dataset = Dataset::open(&path)?;
    let mut texts = Vec::new();
    for batch in dataset.batches_of(&["text"], 8192)? {
        let batch = batch?;
        let column = StrColumn::of(&batch, "text", dataset.root())?;
        texts.extend(
            (0..column.len())
                .filter_map(|i| column.get(i))
                .map(String::from),
        );
    }
    let start = Instant::now();
    let jieba = jieba_rs::Jieba::new();
    let load_s = start.elapsed().as_secs_f64();
    let mut tokens = 0;
    for t in &texts {
        tokens += jieba.cut(t, true).len();
    }
    let seconds = start.elapsed().as_secs_f64();
    if std::env::var_os("ORE_PROFILE_SEGMENTER").is_some() {
        let config = ore_tokenize::TokenizeConfig {
            pos: false,
            entities: false,
            ..Default::default()
        };
        let segmenter = ore_tokenize::Segmenter::build(&config)?;
        let start = Instant::now();
        let n: usize = texts
            .iter()
            .map(|t| segmenter.segment(t).tokens.len())
            .sum();
        eprintln!(
            "Segmenter::segment: {:.3} s, {n} tokens",
            start.elapsed().as_secs_f64()
        );
        // The stage's path: tokens into reused buffers, no string per token;
        // against `Jieba::cut` alone, each the best of five rounds (this
        // machine is noisy), alternating.
        let mut row = ore_tokenize::columns::RowTokens::default();
        let (mut best_cut, mut best_into, mut n) = (f64::MAX, f64::MAX, 0);
        for _ in 0..5 {
            let start = Instant::now();
            let cut: usize = texts.iter().map(|t| jieba.cut(t, true).len()).sum();
            best_cut = best_cut.min(start.elapsed().as_secs_f64());
            std::hint::black_box(cut);
            let start = Instant::now();
            n = 0;
            for t in &texts {
                row.clear();
                segmenter.segment_into(t, &mut row);
                n += row.len();
            }
            best_into = best_into.min(start.elapsed().as_secs_f64());
        }
        eprintln!(
            "Segmenter::segment_into: {best_into:.3} s, {n} tokens; Jieba::cut {best_cut:.3} s \
             (best of 5 each): {:.3}x",
            best_cut / best_into
        );
        let tokenizer = ore_tokenize::Tokenizer::build(&config)?;
        let start = Instant::now();
        let n: usize = texts
            .iter()
            .map(|t| tokenizer.annotate(t, None).text.tokens.len())
            .sum();
        eprintln!(
            "Tokenizer::annotate: {:.3} s, {n} tokens",
            start.elapsed().as_secs_f64()
        );
    }
    let mb = texts.iter().map(String::len).sum::<usize>() as f64 / 1e6;
    println!(
        "{{\"mb\":{mb},\"seconds\":{seconds},\"load_s\":{load_s},\"tokens\":{tokens},\"mb_per_s\":{}}}",
        mb / seconds
    );
    Ok(())
}
