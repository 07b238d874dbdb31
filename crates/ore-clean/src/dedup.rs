//! Exact and near-duplicate clustering over MinHash signatures, with an
//! index that a later run loads so new documents are compared with every
//! document kept before.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::UInt64Type;
use arrow_array::{ArrayRef, BinaryArray, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use ore_core::{Dataset, DatasetWriter, WriteOptions};
use ore_minhash::{candidate_pairs, estimate, exact_jaccard};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

use crate::config::{DedupConfig, Keep};
use crate::error::{CleanError, Result};

/// One document taking part in deduplication.
#[derive(Debug, Clone)]
pub struct Entry {
    pub doc_id: String,
    pub text_hash: u128,
    pub n_chars: u64,
    pub signature: Vec<u32>,
    /// Kept by an earlier run (from the index): never rejected now.
    pub from_index: bool,
}

/// What happened to a new document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Kept { cluster: String },
    ExactDuplicate { of: String },
    NearDuplicate { of: String },
}

/// Settings that must match between an index and the run using it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexMeta {
    pub num_perm: usize,
    pub seed: u64,
    pub char_shingle: usize,
    pub word_shingle: usize,
    pub threshold: f64,
}

impl IndexMeta {
    /// The settings of a run with `dedup` and seed `seed`.
    pub fn of(d: &DedupConfig, seed: u64) -> Self {
        Self {
            num_perm: d.num_perm,
            seed,
            char_shingle: d.char_shingle,
            word_shingle: d.word_shingle,
            threshold: d.threshold,
        }
    }
}

const META_FILE: &str = "_index.json";
const DATA_DIR: &str = "entries";

/// Loads the entries of an index folder (none if it does not exist).
pub fn load_index(dir: &Path, meta: &IndexMeta) -> Result<Vec<Entry>> {
    let meta_path = dir.join(META_FILE);
    if !meta_path.exists() {
        return Ok(Vec::new());
    }
    let text = std::fs::read_to_string(&meta_path).map_err(|e| CleanError::io(&meta_path, e))?;
    let stored: IndexMeta =
        serde_json::from_str(&text).map_err(|e| index_error(&meta_path, e.to_string()))?;
    if &stored != meta {
        return Err(index_error(
            &meta_path,
            format!(
                "index was built with {stored:?}; this run uses {meta:?} (use a new index folder)"
            ),
        ));
    }
    read_entries(&Dataset::open(dir.join(DATA_DIR))?, meta.num_perm, true)
}

/// The entries of a dataset of [`entries_batch`]es (an index's, or a clean
/// shard's `_minhash/`), in order.
pub fn read_entries(data: &Dataset, num_perm: usize, from_index: bool) -> Result<Vec<Entry>> {
    let dir = data.root();
    let mut out = Vec::new();
    for batch in data.batches(8192) {
        let batch = batch?;
        let ids = batch.column(0).as_string::<i32>();
        let hashes = batch.column(1).as_string::<i32>();
        let chars = batch.column(2).as_primitive::<UInt64Type>();
        let sigs = batch.column(3).as_binary::<i32>();
        for i in 0..batch.num_rows() {
            let text_hash = u128::from_str_radix(hashes.value(i), 16)
                .map_err(|e| index_error(dir, e.to_string()))?;
            let signature = sigs
                .value(i)
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect::<Vec<_>>();
            if signature.len() != num_perm && !signature.is_empty() {
                return Err(index_error(
                    dir,
                    format!("row {i}: signature of {} values", signature.len()),
                ));
            }
            out.push(Entry {
                doc_id: ids.value(i).to_string(),
                text_hash,
                n_chars: chars.value(i),
                signature,
                from_index,
            });
        }
    }
    Ok(out)
}

fn index_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        ore_core::schema::distinct_utf8("doc_id", false),
        Field::new("text_hash", DataType::Utf8, false),
        Field::new("n_chars", DataType::UInt64, false),
        Field::new("signature", DataType::Binary, false),
    ]))
}

/// Entries as rows: `doc_id`, `text_hash` (hex), `n_chars`, `signature`
/// (little-endian u32s).
pub fn entries_batch(chunk: &[&Entry]) -> Result<RecordBatch> {
    let sigs: Vec<Vec<u8>> = chunk
        .iter()
        .map(|e| e.signature.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            chunk.iter().map(|e| e.doc_id.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            chunk.iter().map(|e| format!("{:032x}", e.text_hash)),
        )),
        Arc::new(UInt64Array::from_iter_values(
            chunk.iter().map(|e| e.n_chars),
        )),
        Arc::new(BinaryArray::from_iter_values(sigs.iter())),
    ];
    Ok(RecordBatch::try_new(index_schema(), columns)?)
}

/// Writes the index: every kept entry (old and new), replacing the folder's
/// entries atomically.
pub fn save_index(dir: &Path, meta: &IndexMeta, entries: &[&Entry]) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| CleanError::io(dir, e))?;
    let mut writer =
        DatasetWriter::create(dir.join(DATA_DIR), index_schema(), WriteOptions::default())?;
    for chunk in entries.chunks(8192) {
        writer.write(&entries_batch(chunk)?)?;
    }
    writer.commit()?;
    let meta_path: PathBuf = dir.join(META_FILE);
    let text =
        serde_json::to_string_pretty(meta).map_err(|e| index_error(&meta_path, e.to_string()))?;
    std::fs::write(&meta_path, text).map_err(|e| CleanError::io(&meta_path, e))
}

fn index_error(path: &Path, message: String) -> CleanError {
    CleanError::Index {
        path: path.to_path_buf(),
        message,
    }
}

/// Union-find over entry indices.
struct Sets {
    parent: Vec<u32>,
}

impl Sets {
    fn new(n: usize) -> Self {
        Self {
            parent: (0..n as u32).collect(),
        }
    }

    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = p;
        }
        x
    }

    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            // The earlier entry stays the root, so roots are deterministic.
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[hi as usize] = lo;
        }
    }
}

/// The pairs a deduplication decides on.
#[derive(Debug, Default)]
pub struct Candidates {
    /// Each entry's first exact duplicate before it (with `dedup.exact`).
    pub exact_of: Vec<Option<u32>>,
    /// LSH candidate pairs among the others (with `dedup.near`).
    pub pairs: Vec<(u32, u32)>,
    /// The entries of this run (not of the index) that a pair names: the
    /// check needs their shingles, from their texts.
    pub needed: FxHashSet<usize>,
}

impl Candidates {
    /// Exact duplicates by hash, then LSH candidate pairs among the rest.
    pub fn of(entries: &[Entry], d: &DedupConfig) -> Self {
        let exact_of = if d.exact {
            exact_duplicates(entries)
        } else {
            vec![None; entries.len()]
        };
        let pairs = if d.near {
            let skip: Vec<bool> = exact_of.iter().map(Option::is_some).collect();
            let sigs: Vec<&[u32]> = entries.iter().map(|e| e.signature.as_slice()).collect();
            candidate_pairs(&sigs, &skip, d.threshold, d.num_perm)
        } else {
            Vec::new()
        };
        let needed = pairs
            .iter()
            .flat_map(|&(i, j)| [i as usize, j as usize])
            .filter(|&e| !entries[e].from_index)
            .collect();
        Self {
            exact_of,
            pairs,
            needed,
        }
    }

    /// [`cluster`] with each pair checked on the exact Jaccard similarity
    /// of the two texts' shingles, or of their signatures for an entry of
    /// the index (whose text is gone). Also returns the pairs confirmed.
    pub fn cluster(
        &self,
        entries: &[Entry],
        d: &DedupConfig,
        shingles: &FxHashMap<usize, Vec<u64>>,
    ) -> (Vec<Verdict>, usize, u64) {
        let mut verified = 0u64;
        let (verdicts, clusters) = cluster(entries, &self.exact_of, &self.pairs, d, |i, j| {
            let same = match (shingles.get(&(i as usize)), shingles.get(&(j as usize))) {
                (Some(a), Some(b)) => exact_jaccard(a, b) >= d.threshold,
                _ => {
                    estimate(
                        &entries[i as usize].signature,
                        &entries[j as usize].signature,
                    ) >= d.threshold
                }
            };
            verified += u64::from(same);
            same
        });
        (verdicts, clusters, verified)
    }
}

/// Exact duplicates by text hash (later ones point at the first).
pub fn exact_duplicates(entries: &[Entry]) -> Vec<Option<u32>> {
    let mut first: FxHashMap<u128, u32> = FxHashMap::default();
    entries
        .iter()
        .enumerate()
        .map(|(i, e)| match first.get(&e.text_hash) {
            Some(&j) => Some(j),
            None => {
                first.insert(e.text_hash, i as u32);
                None
            }
        })
        .collect()
}

/// Clusters `entries` (index entries first, then new ones in input order):
/// exact duplicates by hash, near duplicates along the `candidates` that
/// `verify` confirms. Returns one verdict per entry and the number of
/// clusters with more than one member.
pub fn cluster(
    entries: &[Entry],
    exact_of: &[Option<u32>],
    candidates: &[(u32, u32)],
    config: &DedupConfig,
    mut verify: impl FnMut(u32, u32) -> bool,
) -> (Vec<Verdict>, usize) {
    let n = entries.len();
    let mut sets = Sets::new(n);
    for (i, of) in exact_of.iter().enumerate() {
        if let Some(j) = of {
            sets.union(i as u32, *j);
        }
    }
    for &(i, j) in candidates {
        // A pair already joined through others needs no check.
        if sets.find(i) != sets.find(j) && verify(i, j) {
            sets.union(i, j);
        }
    }
    // Representative of each cluster.
    let mut rep: FxHashMap<u32, u32> = FxHashMap::default();
    let mut sizes: FxHashMap<u32, usize> = FxHashMap::default();
    for i in 0..n as u32 {
        let root = sets.find(i);
        *sizes.entry(root).or_default() += 1;
        let better = |cur: u32| -> bool {
            let (a, b) = (&entries[i as usize], &entries[cur as usize]);
            if a.from_index != b.from_index {
                return a.from_index;
            }
            match config.keep {
                Keep::Earliest => i < cur,
                Keep::Longest => a.n_chars > b.n_chars || (a.n_chars == b.n_chars && i < cur),
            }
        };
        match rep.get(&root) {
            Some(&cur) if !better(cur) => {}
            _ => {
                rep.insert(root, i);
            }
        }
    }
    let verdicts = (0..n)
        .map(|i| {
            let root = sets.find(i as u32);
            let r = rep[&root] as usize;
            let cluster = entries[r].doc_id.clone();
            if i == r || entries[i].from_index {
                Verdict::Kept { cluster }
            } else if let Some(j) = exact_of.get(i).copied().flatten() {
                Verdict::ExactDuplicate {
                    of: entries[j as usize].doc_id.clone(),
                }
            } else {
                Verdict::NearDuplicate { of: cluster }
            }
        })
        .collect();
    let clusters = sizes.values().filter(|&&s| s > 1).count();
    (verdicts, clusters)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ore_minhash::{MinHasher, candidate_pairs, estimate};

    /// Clustering as the stage does it, verifying by estimate here.
    fn run(entries: &[Entry], config: &DedupConfig) -> (Vec<Verdict>, usize) {
        let exact = exact_duplicates(entries);
        let skip: Vec<bool> = exact.iter().map(Option::is_some).collect();
        let sigs: Vec<&[u32]> = entries.iter().map(|e| e.signature.as_slice()).collect();
        let candidates = candidate_pairs(&sigs, &skip, config.threshold, config.num_perm);
        cluster(entries, &exact, &candidates, config, |i, j| {
            estimate(
                &entries[i as usize].signature,
                &entries[j as usize].signature,
            ) >= config.threshold
        })
    }

    fn entry(m: &MinHasher, id: &str, text: &str, from_index: bool) -> Entry {
        Entry {
            doc_id: id.into(),
            text_hash: xxhash_rust::xxh3::xxh3_128(text.as_bytes()),
            n_chars: text.chars().count() as u64,
            signature: m.signature(&m.shingles(text, true)),
            from_index,
        }
    }

    #[test]
    fn exact_near_and_distinct() {
        let m = MinHasher::new(128, 1, 5, 5);
        let base = "数据库中的查询可以从一个或多个表中检索记录，并按照条件排序和筛选结果，然后显示在窗体或报表中。".repeat(2);
        let near = base.replacen("显示", "展示", 1);
        let other =
            "演示文稿中的幻灯片可以包含文本、图片、表格和图表，并且可以设置切换效果与动画。"
                .repeat(2);
        let entries = vec![
            entry(&m, "a", &base, false),
            entry(&m, "b", &base, false),
            entry(&m, "c", &near, false),
            entry(&m, "d", &other, false),
        ];
        let (v, clusters) = run(&entries, &DedupConfig::default());
        assert_eq!(
            v[0],
            Verdict::Kept {
                cluster: "a".into()
            }
        );
        assert_eq!(v[1], Verdict::ExactDuplicate { of: "a".into() });
        assert_eq!(v[2], Verdict::NearDuplicate { of: "a".into() });
        assert_eq!(
            v[3],
            Verdict::Kept {
                cluster: "d".into()
            }
        );
        assert_eq!(clusters, 1);

        let longest = DedupConfig {
            keep: Keep::Longest,
            ..DedupConfig::default()
        };
        let mut e2 = entries.clone();
        e2[2] = entry(&m, "c", &format!("{near}。"), false);
        let (v, _) = run(&e2, &longest);
        assert_eq!(
            v[2],
            Verdict::Kept {
                cluster: "c".into()
            }
        );
        assert_eq!(v[0], Verdict::NearDuplicate { of: "c".into() });
    }

    #[test]
    fn index_entries_are_never_rejected() {
        let m = MinHasher::new(128, 1, 5, 5);
        let text =
            "数据库中的查询可以从一个或多个表中检索记录，并按照条件排序和筛选结果。".repeat(2);
        let entries = vec![
            entry(&m, "old", &text, true),
            entry(&m, "new", &format!("{text}和更多"), false),
        ];
        let longest = DedupConfig {
            keep: Keep::Longest,
            ..DedupConfig::default()
        };
        let (v, _) = run(&entries, &longest);
        assert_eq!(
            v[0],
            Verdict::Kept {
                cluster: "old".into()
            }
        );
        assert_eq!(v[1], Verdict::NearDuplicate { of: "old".into() });
    }
}
