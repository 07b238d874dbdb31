//! Ground truth for the `clean_dedup_*` bench pairs: near-duplicate clusters
//! by the exact Jaccard similarity of every pair of documents (no MinHash,
//! no LSH), on the shingles `ore clean` uses, after its default
//! normalisation. Prints {"clusters", "pairs", "docs_in_clusters"}.
//!
//! `cargo run --release -p ore-clean --example dedup_truth -- DATASET [THRESHOLD]`

use ore_clean::config::NormalizeConfig;
use ore_clean::normalize::normalize;
use ore_core::{Dataset, StrColumn};
use ore_minhash::{MinHasher, exact_jaccard, use_char_shingles};
use rayon::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: dedup_truth DATASET [THRESHOLD]")?;
    let threshold: f64 = args.next().map_or(Ok(0.8), |t| t.parse())?;
    let dataset = Dataset::open(&path)?;
    let hasher = MinHasher::new(1, 0, 5, 5);
    let config = NormalizeConfig::default();
    let mut sets: Vec<Vec<u64>> = Vec::new();
    for batch in dataset.batches_of(&["text"], 4096)? {
        let batch = batch?;
        let texts = StrColumn::of(&batch, "text", dataset.root())?;
        for i in 0..texts.len() {
            let text = normalize(texts.get(i).unwrap_or_default(), &config);
            sets.push(hasher.shingles(&text, use_char_shingles(&text)));
        }
    }
    // J(A, B) ≥ t needs min(|A|, |B|) ≥ t·max(|A|, |B|): with the sets in
    // order of size, each is compared only with the next ones in that window.
    let mut order: Vec<usize> = (0..sets.len()).filter(|&i| !sets[i].is_empty()).collect();
    order.sort_by_key(|&i| sets[i].len());
    let (sets, order) = (&sets, &order);
    let pairs: Vec<(usize, usize)> = (0..order.len())
        .into_par_iter()
        .flat_map_iter(|x| {
            let a = &sets[order[x]];
            (x + 1..order.len())
                .take_while(move |&y| a.len() as f64 >= threshold * sets[order[y]].len() as f64)
                .filter(move |&y| exact_jaccard(a, &sets[order[y]]) >= threshold)
                .map(move |y| (order[x], order[y]))
        })
        .collect();
    let mut parent: Vec<usize> = (0..sets.len()).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for &(i, j) in &pairs {
        let (a, b) = (find(&mut parent, i), find(&mut parent, j));
        if a != b {
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut sizes = vec![0usize; sets.len()];
    for i in 0..sets.len() {
        let root = find(&mut parent, i);
        sizes[root] += 1;
    }
    let clusters = sizes.iter().filter(|&&s| s > 1).count();
    let in_clusters: usize = sizes.iter().filter(|&&s| s > 1).sum();
    println!(
        "{{\"clusters\":{clusters},\"pairs\":{},\"docs_in_clusters\":{in_clusters}}}",
        pairs.len()
    );
    Ok(())
}
