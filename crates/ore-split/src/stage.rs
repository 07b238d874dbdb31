//! The split stage in three passes over the input:
//! 1. read the key columns: every row's group keys (`source_id`,
//!    `dup_cluster`, `doc_id`, the canonical URL, the normalised text, a
//!    user's group column), identity, stratum and time; rows sharing a key
//!    are joined (union-find), and optionally near duplicates too (MinHash
//!    LSH, checked exactly on shingles recomputed for the candidates);
//! 2. place the groups: rows the split index knows keep their split, new
//!    members of an old group join it, new groups are placed in the order of
//!    a seeded hash of the group to meet the ratios by rows, per stratum;
//!    then audit the assignment (eval rows against train rows);
//! 3. read the input again and write each row into `train/`, `valid/` or
//!    `test/` with its `split` column (or into `_rejects/` when it bridges
//!    old groups of different splits).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use ore_core::{Dataset, Manifest, Progress, StageInfo, StageOutput, StrColumn, WriteOptions};
use ore_minhash::{MinHasher, candidate_pairs, exact_jaccard, use_char_shingles};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use crate::audit::{Audit, AuditColumns, AuditInput, AuditReport};
use crate::config::{Rule, SPLITS, SplitConfig};
use crate::error::{Result, SplitError};
use crate::groups::{Free, UnionFind, place};
use crate::index::{self, Assignments, IndexMeta};
use crate::keys::{as_strings, micros};
use crate::text::normalize;

/// The column the stage adds.
pub const SPLIT_COLUMN: &str = "split";
/// A row placed in no split: it bridges old groups of different splits.
const CONFLICT: u8 = u8::MAX;

/// A configured split stage.
#[derive(Debug)]
pub struct SplitStage {
    config: SplitConfig,
}

impl ore_core::StageDef for SplitStage {
    const KIND: &'static str = "split";
    const INPUTS: &'static [ore_core::InputSpec] = &[ore_core::InputSpec::dataset(&[
        "examples", "tokenize", "clean",
    ])];
    /// The order groups are placed in is a hash seeded by the run seed.
    const SEEDED: bool = true;
    type Config = SplitConfig;
}

impl ore_core::Stage for SplitStage {
    type Error = SplitError;

    fn build(config: SplitConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self { config })
    }

    fn run(&self, ctx: &ore_core::StageContext) -> Result<Manifest> {
        self.run_on(
            ctx.input("input")?,
            &ctx.output,
            ctx.seed,
            ctx.write.clone(),
        )
    }

    fn summary(&self, manifest: &Manifest, ctx: &ore_core::StageContext) -> String {
        summary_line(manifest, &ctx.output)
    }
}

/// What the command prints: rows per split, groups, the audit.
fn summary_line(manifest: &Manifest, output: &Path) -> String {
    let s = &manifest.summary;
    let split_rows = |name: &str| {
        s.get("splits")
            .and_then(|v| v.get(name))
            .and_then(|v| v.get("rows"))
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0)
    };
    let total = manifest.rows.output.max(1) as f64;
    let mut line = format!(
        "split: {} rows in, to {}: train {} ({:.1}%), valid {} ({:.1}%), test {} ({:.1}%), {} groups",
        manifest.rows.input,
        output.display(),
        split_rows("train"),
        100.0 * split_rows("train") as f64 / total,
        split_rows("valid"),
        100.0 * split_rows("valid") as f64 / total,
        split_rows("test"),
        100.0 * split_rows("test") as f64 / total,
        s.get("groups")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0),
    );
    if manifest.rows.rejected > 0 {
        line.push_str(&format!(
            ", {} rejected (split_conflict)",
            manifest.rows.rejected
        ));
    }
    if let Some(audit) = s.get("audit").filter(|a| a.is_object()) {
        let n = |k: &str| {
            audit
                .get(k)
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0)
        };
        line.push_str(&format!(
            "; audit: {} of {} eval rows leak (exact {}, near {}, ngram {}, variant {})",
            n("eval_rows_leaked"),
            n("eval_rows"),
            n("exact"),
            n("near"),
            n("ngram"),
            n("variant")
        ));
    }
    line.push_str(&format!(" in {:.1} s\n", manifest.wall_time_s));
    line
}

/// Everything pass 1 learns of the rows.
#[derive(Debug, Default)]
struct Rows {
    n: usize,
    /// Each row's identity hash: the split index's key.
    identity: Vec<u64>,
    /// Which column the identity hashes (`example_id`, …; `text`; `row`).
    identity_column: String,
    stratum: Vec<u32>,
    strata: Vec<String>,
    time: Vec<i64>,
    /// List rule: 2 a test host or id, 1 a valid one, 0 neither.
    want: Vec<u8>,
    /// Rows of one group, joined as keys were read.
    uf: UnionFind,
}

/// One group's figures.
#[derive(Debug, Clone, Copy, Default)]
struct Group {
    rows: u64,
    /// Smallest identity hash of its rows: what its order hash is of.
    key: u64,
    stratum: u32,
    newest: i64,
    want: u8,
    /// Bits 0–2: the splits its old rows are in (from the index).
    old: u8,
}

/// What the placement did, for the manifest.
#[derive(Debug, Default)]
struct Placed {
    /// Per row: 0 train, 1 valid, 2 test, or [`CONFLICT`].
    split: Vec<u8>,
    groups: Vec<Group>,
    of_row: Vec<u32>,
    inherited_rows: u64,
    new_rows: u64,
    conflict_rows: u64,
    conflict_groups: u64,
}

impl SplitStage {
    pub fn config(&self) -> &SplitConfig {
        &self.config
    }

    /// Splits `input` into `output/{train,valid,test}`.
    pub fn run_on(
        &self,
        input: &Path,
        output: &Path,
        seed: u64,
        opts: WriteOptions,
    ) -> Result<Manifest> {
        let dataset = Arc::new(Dataset::open(input)?);
        let cfg = &self.config;
        let schema = out_schema(dataset.schema());
        let info = StageInfo::new("split", cfg, seed);
        let mut out = StageOutput::create_subsets(output, schema.clone(), &SPLITS, info, opts)?;
        out.add_input(&dataset)?;

        let text = self.text_column(&dataset);
        let mut rows = self.read_keys(&dataset, text.as_deref(), seed)?;
        let near_pairs = match (&text, cfg.near_duplicates.enabled) {
            (Some(text), true) => self.join_near_duplicates(&dataset, text, &mut rows)?,
            (None, true) => {
                return Err(SplitError::input(
                    input,
                    format!(
                        "near_duplicates needs a text column (`{}`); set text_columns",
                        cfg.text_columns.join("`, `")
                    ),
                ));
            }
            _ => 0,
        };
        let ngram_joins = match (&text, cfg.group_ngrams) {
            (Some(text), true) => self.join_ngrams(&dataset, text, &mut rows)?,
            (None, true) => {
                return Err(SplitError::input(
                    input,
                    "group_ngrams needs a text column; set text_columns",
                ));
            }
            _ => 0,
        };
        let meta = IndexMeta {
            seed,
            identity: rows.identity_column.clone(),
        };
        let known = match &cfg.index {
            Some(dir) => index::load(dir, &meta)?,
            None => Assignments::default(),
        };
        let placed = self.place(&mut rows, &known, seed);
        let splits = Arc::new(placed.split.clone());

        let audit = match (&text, cfg.audit) {
            (Some(text), true) => Some(self.audit(&dataset, text, &splits)?),
            _ => None,
        };
        if let Some(report) = &audit
            && cfg.fail_on_leak
            && report.counts.eval_rows_leaked > 0
        {
            return Err(SplitError::Leak(leak_message(report, input)));
        }

        self.write(&dataset, &schema, &placed.split, &mut out)?;
        self.record(
            &mut out,
            &rows,
            &placed,
            [near_pairs, ngram_joins],
            audit.as_ref(),
            known.len(),
        );
        let manifest = out.commit()?;
        if let Some(dir) = &cfg.index {
            let mut updated = known;
            for (r, &s) in placed.split.iter().enumerate() {
                if s != CONFLICT {
                    updated.insert(rows.identity[r], s);
                }
            }
            index::save(dir, &meta, &updated)?;
        }
        Ok(manifest)
    }

    /// The first of `text_columns` the input has.
    fn text_column(&self, dataset: &Dataset) -> Option<String> {
        self.config
            .text_columns
            .iter()
            .find(|c| dataset.schema().field_with_name(c).is_ok())
            .cloned()
    }

    /// Pass 1: keys, identities, strata and times; rows sharing a key are
    /// joined.
    fn read_keys(&self, dataset: &Dataset, text: Option<&str>, seed: u64) -> Result<Rows> {
        let cfg = &self.config;
        let schema = dataset.schema();
        let has = |c: &str| schema.field_with_name(c).is_ok();
        let path = dataset.root();
        let group_columns: Vec<&str> = cfg
            .group_columns
            .iter()
            .map(String::as_str)
            .filter(|c| has(c))
            .collect();
        let url = cfg.url_column.as_deref().filter(|c| has(c));
        let id = cfg.id_columns.iter().map(String::as_str).find(|c| has(c));
        let needs_text = cfg.group_exact_text || !cfg.stratify_length.is_empty() || id.is_none();
        let text = text.filter(|_| needs_text);
        if let Some(label) = &cfg.stratify
            && !has(label)
        {
            return Err(SplitError::input(
                path,
                format!("no stratify column `{label}`"),
            ));
        }
        if !cfg.stratify_length.is_empty() && text.is_none() {
            return Err(SplitError::input(
                path,
                "stratify_length needs a text column; set text_columns",
            ));
        }
        let time = (cfg.by == Rule::Time).then_some(cfg.time_column.as_str());
        if let Some(t) = time
            && !has(t)
        {
            return Err(SplitError::input(
                path,
                format!("by = \"time\" needs the time column `{t}`"),
            ));
        }
        let list_ids =
            cfg.by == Rule::List && (!cfg.test_ids.is_empty() || !cfg.valid_ids.is_empty());
        if list_ids && id.is_none() {
            return Err(SplitError::input(
                path,
                format!(
                    "test_ids/valid_ids need an id column (`{}`)",
                    cfg.id_columns.join("`, `")
                ),
            ));
        }
        let list_hosts =
            cfg.by == Rule::List && (!cfg.test_hosts.is_empty() || !cfg.valid_hosts.is_empty());
        if list_hosts && url.is_none() {
            return Err(SplitError::input(
                path,
                "test_hosts/valid_hosts need a url column; set url_column",
            ));
        }
        let mut read: Vec<&str> = group_columns.clone();
        read.extend(url);
        read.extend(id);
        read.extend(text);
        read.extend(cfg.stratify.as_deref());
        read.extend(time);
        read.sort_unstable();
        read.dedup();

        let n = dataset.num_rows() as usize;
        let mut rows = Rows {
            n,
            identity: Vec::with_capacity(n),
            identity_column: id.or(text).unwrap_or("row").to_string(),
            uf: UnionFind::new(n),
            ..Rows::default()
        };
        let test_ids: FxHashSet<&str> = cfg.test_ids.iter().map(String::as_str).collect();
        let valid_ids: FxHashSet<&str> = cfg.valid_ids.iter().map(String::as_str).collect();
        let test_hosts: FxHashSet<String> =
            cfg.test_hosts.iter().map(|h| h.to_lowercase()).collect();
        let valid_hosts: FxHashSet<String> =
            cfg.valid_hosts.iter().map(|h| h.to_lowercase()).collect();
        // Per key column (and the URL, and the text): key → first row.
        let key_kinds = group_columns.len() + 2;
        let mut first: Vec<FxHashMap<u64, u32>> = vec![FxHashMap::default(); key_kinds];
        let mut strata: FxHashMap<String, u32> = FxHashMap::default();
        let bar = Progress::new(Some(n as u64), "rows");
        bar.set_message("split 1/3 keys");
        let mut offset = 0usize;
        let time_name = time.map(String::from);
        let keep_types: Vec<&str> = time.into_iter().collect();
        for batch in dataset.batches_of(&read, cfg.batch_rows)? {
            let batch = as_strings(batch?, &keep_types, path)?;
            let len = batch.num_rows();
            let str_col = |c: &str| StrColumn::of(&batch, c, path);
            let groups: Vec<StrColumn<'_>> = group_columns
                .iter()
                .map(|c| str_col(c))
                .collect::<ore_core::Result<_>>()?;
            let urls = url.map(str_col).transpose()?;
            let ids = id.map(str_col).transpose()?;
            let texts = text.map(str_col).transpose()?;
            let labels = cfg.stratify.as_deref().map(str_col).transpose()?;
            let times = match &time_name {
                Some(t) => Some(micros(
                    batch.column_by_name(t).expect("read above"),
                    t,
                    path,
                )?),
                None => None,
            };
            // Per row: its keys (None where null), identity, text length.
            let per_row: Vec<(Vec<Option<u64>>, u64, u64)> = (0..len)
                .into_par_iter()
                .map(|i| {
                    let mut keys: Vec<Option<u64>> = groups
                        .iter()
                        .map(|c| c.get(i).map(|v| xxh3_64(v.as_bytes())))
                        .collect();
                    keys.push(urls.as_ref().and_then(|u| u.get(i)).and_then(|u| {
                        ore_core::ids::canonical_url(u)
                            .ok()
                            .map(|c| xxh3_64(c.as_bytes()))
                    }));
                    let t = texts.as_ref().and_then(|t| t.get(i));
                    let text_key = t.map(|t| xxh3_64(normalize(t).as_bytes()));
                    keys.push(text_key.filter(|_| cfg.group_exact_text));
                    let identity = match (ids.as_ref().and_then(|c| c.get(i)), text_key) {
                        (Some(v), _) => xxh3_64(v.as_bytes()),
                        (None, Some(k)) if id.is_none() => k,
                        _ => xxh3_64_with_seed(&((offset + i) as u64).to_le_bytes(), seed),
                    };
                    let chars = t.map_or(0, |t| t.chars().count() as u64);
                    (keys, identity, chars)
                })
                .collect();
            for (i, (keys, identity, chars)) in per_row.into_iter().enumerate() {
                let r = (offset + i) as u32;
                for (kind, key) in keys.into_iter().enumerate() {
                    if let Some(key) = key {
                        match first[kind].entry(key) {
                            std::collections::hash_map::Entry::Occupied(e) => {
                                rows.uf.union(*e.get(), r)
                            }
                            std::collections::hash_map::Entry::Vacant(e) => {
                                e.insert(r);
                            }
                        }
                    }
                }
                rows.identity.push(identity);
                if let Some(labels) = &labels {
                    let label = labels.get(i).unwrap_or("").to_string();
                    let next = strata.len() as u32;
                    rows.stratum.push(*strata.entry(label).or_insert(next));
                } else if !cfg.stratify_length.is_empty() {
                    let bucket = cfg.stratify_length.partition_point(|&b| b <= chars);
                    rows.stratum.push(bucket as u32);
                }
                if let Some(times) = &times {
                    rows.time.push(times[i].unwrap_or(i64::MIN));
                }
                if cfg.by == Rule::List {
                    let row_id = ids.as_ref().and_then(|c| c.get(i));
                    let host = urls
                        .as_ref()
                        .and_then(|u| u.get(i))
                        .and_then(|u| url::Url::parse(u).ok())
                        .and_then(|u| u.host_str().map(str::to_lowercase));
                    let is = |ids: &FxHashSet<&str>, hosts: &FxHashSet<String>| {
                        row_id.is_some_and(|v| ids.contains(v))
                            || host.as_ref().is_some_and(|h| hosts.contains(h))
                    };
                    rows.want.push(if is(&test_ids, &test_hosts) {
                        2
                    } else if is(&valid_ids, &valid_hosts) {
                        1
                    } else {
                        0
                    });
                }
            }
            offset += len;
            bar.inc(len as u64);
        }
        bar.finish();
        rows.strata = if cfg.stratify.is_some() {
            let mut names = vec![String::new(); strata.len()];
            for (name, i) in strata {
                names[i as usize] = name;
            }
            names
        } else {
            let b = &cfg.stratify_length;
            (0..=b.len())
                .map(|k| match (k.checked_sub(1).map(|j| b[j]), b.get(k)) {
                    (None, Some(hi)) => format!("<{hi}"),
                    (Some(lo), Some(hi)) => format!("{lo}-{hi}"),
                    (Some(lo), None) => format!(">={lo}"),
                    (None, None) => "all".to_string(),
                })
                .collect()
        };
        if rows.stratum.is_empty() {
            rows.stratum = vec![0; n];
            rows.strata = vec!["all".into()];
        }
        Ok(rows)
    }

    /// Joins near-duplicate rows: MinHash signatures, LSH candidates, and
    /// the exact Jaccard similarity of the candidates' shingles (read again
    /// for those rows alone). Returns the number of verified pairs.
    fn join_near_duplicates(&self, dataset: &Dataset, text: &str, rows: &mut Rows) -> Result<u64> {
        let nd = &self.config.near_duplicates;
        let hasher = MinHasher::new(nd.num_perm, nd.seed, nd.char_shingle, nd.word_shingle);
        let path = dataset.root();
        let bar = Progress::new(Some(rows.n as u64), "rows");
        bar.set_message("split 1/3 near duplicates");
        let mut signatures: Vec<Vec<u32>> = Vec::with_capacity(rows.n);
        let mut skip = Vec::with_capacity(rows.n);
        for batch in dataset.batches_of(&[text], self.config.batch_rows)? {
            let batch = batch?;
            let texts = StrColumn::of(&batch, text, path)?;
            let signed: Vec<Option<Vec<u32>>> = (0..batch.num_rows())
                .into_par_iter()
                .map(|i| {
                    texts.get(i).map(|t| {
                        let norm = normalize(t);
                        hasher.text_signature(&norm, use_char_shingles(&norm))
                    })
                })
                .collect();
            for s in signed {
                skip.push(s.is_none());
                signatures.push(s.unwrap_or_default());
            }
            bar.inc(batch.num_rows() as u64);
        }
        bar.finish();
        let sigs: Vec<&[u32]> = signatures.iter().map(Vec::as_slice).collect();
        let pairs = candidate_pairs(&sigs, &skip, nd.threshold, nd.num_perm);
        drop(signatures);
        if pairs.is_empty() {
            return Ok(0);
        }
        let wanted: FxHashSet<u32> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
        let mut shingles: FxHashMap<u32, Vec<u64>> = FxHashMap::default();
        let mut offset = 0u32;
        for batch in dataset.batches_of(&[text], self.config.batch_rows)? {
            let batch = batch?;
            let texts = StrColumn::of(&batch, text, path)?;
            let len = batch.num_rows() as u32;
            let found: Vec<(u32, Vec<u64>)> = (0..len)
                .into_par_iter()
                .filter(|i| wanted.contains(&(offset + i)))
                .filter_map(|i| {
                    let t = texts.get(i as usize)?;
                    let norm = normalize(t);
                    Some((offset + i, hasher.shingles(&norm, use_char_shingles(&norm))))
                })
                .collect();
            shingles.extend(found);
            offset += len;
        }
        let verified: Vec<(u32, u32)> = pairs
            .into_par_iter()
            .filter(|(a, b)| match (shingles.get(a), shingles.get(b)) {
                (Some(x), Some(y)) => exact_jaccard(x, y) >= nd.threshold,
                _ => false,
            })
            .collect();
        for &(a, b) in &verified {
            rows.uf.union(a, b);
        }
        Ok(verified.len() as u64)
    }

    /// Joins two rows when the rare long n-grams they share (the audit's
    /// sizes, held by at most `ngram_max_rows` rows: commoner ones are
    /// phrasing) make at least `ngram_min_overlap` of either row's n-grams:
    /// the audit's n-gram leak, which then cannot cross splits. Returns the
    /// number of pairs joined.
    fn join_ngrams(&self, dataset: &Dataset, text: &str, rows: &mut Rows) -> Result<u64> {
        let a = &self.config.audit_settings;
        let max_rows = a.ngram_max_rows;
        let path = dataset.root();
        let bar = Progress::new(Some(rows.n as u64), "rows");
        bar.set_message("split 1/3 n-grams");
        // Every (n-gram, row), sorted on the pool: the rows of an n-gram are
        // then one run, read off without a hash table.
        let mut held: Vec<(u64, u32)> = Vec::new();
        let mut counts: Vec<u32> = Vec::with_capacity(rows.n);
        let mut offset = 0u32;
        for batch in dataset.batches_of(&[text], self.config.batch_rows)? {
            let batch = batch?;
            let texts = StrColumn::of(&batch, text, path)?;
            let len = batch.num_rows();
            let grams: Vec<Vec<u64>> = (0..len)
                .into_par_iter()
                .map(|i| {
                    texts
                        .get(i)
                        .map_or_else(Vec::new, |t| a.passage_grams(&normalize(t)))
                })
                .collect();
            for (i, grams) in grams.into_iter().enumerate() {
                let r = offset + i as u32;
                counts.push(grams.len() as u32);
                held.extend(grams.into_iter().map(|g| (g, r)));
            }
            offset += len as u32;
            bar.inc(len as u64);
        }
        bar.finish();
        held.par_sort_unstable();
        let mut pairs: FxHashMap<(u32, u32), u32> = FxHashMap::default();
        for run in held.chunk_by(|x, y| x.0 == y.0) {
            if run.len() < 2 || run.len() > max_rows {
                continue;
            }
            for (k, &(_, x)) in run.iter().enumerate() {
                for &(_, y) in &run[k + 1..] {
                    *pairs.entry((x, y)).or_default() += 1;
                }
            }
        }
        let min = a.ngram_min_overlap;
        let mut joined = 0u64;
        for ((x, y), n) in pairs {
            let share = |r: u32| f64::from(n) / f64::from(counts[r as usize].max(1));
            if share(x) >= min || share(y) >= min {
                rows.uf.union(x, y);
                joined += 1;
            }
        }
        Ok(joined)
    }

    /// Pass 2: every row's split.
    fn place(&self, rows: &mut Rows, known: &Assignments, seed: u64) -> Placed {
        let cfg = &self.config;
        let (of_row, n_groups) = rows.uf.groups();
        let mut groups = vec![
            Group {
                key: u64::MAX,
                newest: i64::MIN,
                ..Group::default()
            };
            n_groups
        ];
        let mut old: Vec<Option<u8>> = Vec::with_capacity(rows.n);
        // Majority stratum: (group, stratum) counts.
        let mut votes: FxHashMap<(u32, u32), u64> = FxHashMap::default();
        for r in 0..rows.n {
            let g = &mut groups[of_row[r] as usize];
            g.rows += 1;
            g.key = g.key.min(rows.identity[r]);
            if let Some(&t) = rows.time.get(r) {
                g.newest = g.newest.max(t);
            }
            if let Some(&w) = rows.want.get(r) {
                g.want = g.want.max(w);
            }
            let was = known.get(&rows.identity[r]).copied();
            if let Some(s) = was {
                g.old |= 1 << s;
            }
            old.push(was);
            *votes.entry((of_row[r], rows.stratum[r])).or_default() += 1;
        }
        let mut best: Vec<(u64, u32)> = vec![(0, u32::MAX); n_groups];
        for ((g, s), count) in votes {
            let b = &mut best[g as usize];
            if count > b.0 || (count == b.0 && s < b.1) {
                *b = (count, s);
            }
        }
        for (g, (_, s)) in groups.iter_mut().zip(best) {
            g.stratum = s;
        }

        let mut placed = Placed {
            split: vec![0; rows.n],
            of_row,
            ..Placed::default()
        };
        // Groups with old rows: inherited, or (old rows in two splits) old
        // rows stay and the new ones are set aside.
        let mut group_split: Vec<Option<u8>> = vec![None; n_groups];
        for (gi, g) in groups.iter().enumerate() {
            if g.old.count_ones() == 1 {
                group_split[gi] = Some(g.old.trailing_zeros() as u8);
            } else if g.old.count_ones() > 1 {
                placed.conflict_groups += 1;
            }
        }
        // Fixed rows per stratum and split, then the free groups.
        let n_strata = rows.strata.len().max(1);
        let mut fixed = vec![[0u64; 3]; n_strata];
        let mut total = vec![0u64; n_strata];
        for (r, &was) in old.iter().enumerate() {
            let g = placed.of_row[r] as usize;
            let stratum = groups[g].stratum as usize;
            total[stratum] += 1;
            match (group_split[g], was) {
                (Some(s), was) => {
                    placed.split[r] = s;
                    fixed[stratum][s as usize] += 1;
                    if was.is_some() {
                        placed.inherited_rows += 1;
                    } else {
                        placed.new_rows += 1;
                    }
                }
                (None, Some(s)) => {
                    placed.split[r] = s;
                    fixed[stratum][s as usize] += 1;
                    placed.inherited_rows += 1;
                }
                (None, None) if groups[g].old != 0 => {
                    placed.split[r] = CONFLICT;
                    placed.conflict_rows += 1;
                    total[stratum] -= 1;
                }
                (None, None) => placed.new_rows += 1,
            }
        }
        let mut free: Vec<Vec<Free>> = vec![Vec::new(); n_strata];
        for (gi, g) in groups.iter().enumerate() {
            if g.old != 0 {
                continue;
            }
            let order = match cfg.by {
                Rule::Ratio => xxh3_64_with_seed(&g.key.to_le_bytes(), seed),
                // Newest first; ties in hash order.
                Rule::Time => u64::MAX - (g.newest as u64 ^ (1 << 63)),
                Rule::List => 0,
            };
            free[g.stratum as usize].push(Free {
                group: gi as u32,
                rows: g.rows,
                order,
            });
        }
        let ratios = cfg.ratios.as_array();
        let fill = match cfg.by {
            Rule::Time => [2, 1, 0],
            _ => [0, 1, 2],
        };
        // Targets carry the rounding of earlier strata, so the whole split
        // meets the ratios within about one group too.
        let mut cum_total = 0u64;
        let mut assigned = [0u64; 3];
        for stratum in 0..n_strata {
            cum_total += total[stratum];
            let mut counts = fixed[stratum];
            let chosen: Vec<u8> = if cfg.by == Rule::List {
                free[stratum]
                    .iter()
                    .map(|f| {
                        let s = [0u8, 1, 2][groups[f.group as usize].want as usize];
                        counts[s as usize] += f.rows;
                        s
                    })
                    .collect()
            } else {
                let targets: [f64; 3] =
                    std::array::from_fn(|s| ratios[s] * cum_total as f64 - assigned[s] as f64);
                place(&free[stratum], targets, &mut counts, fill)
            };
            for (f, s) in free[stratum].iter().zip(chosen) {
                group_split[f.group as usize] = Some(s);
            }
            for s in 0..3 {
                assigned[s] += counts[s];
            }
        }
        for r in 0..rows.n {
            let g = placed.of_row[r] as usize;
            if groups[g].old == 0 {
                placed.split[r] = group_split[g].unwrap_or(0);
            }
        }
        placed.groups = groups;
        placed
    }

    /// Audits the assignment: valid and test rows against train rows.
    fn audit(
        &self,
        dataset: &Arc<Dataset>,
        text: &str,
        splits: &Arc<Vec<u8>>,
    ) -> Result<AuditReport> {
        let settings = &self.config.audit_settings;
        let columns = AuditColumns {
            text: Some(text.to_string()),
            ids: self.config.id_columns.clone(),
        };
        let side = |name: &str, want: u8| AuditInput {
            dataset: dataset.clone(),
            name: name.to_string(),
            select: Some((splits.clone(), want)),
        };
        Audit::new(settings, columns)?
            .run(&[side("train", 0)], &[side("valid", 1), side("test", 2)])
    }

    /// Pass 3: every row into its split (or the rejects).
    fn write(
        &self,
        dataset: &Dataset,
        schema: &SchemaRef,
        split: &[u8],
        out: &mut StageOutput,
    ) -> Result<()> {
        let path = dataset.root();
        let bar = Progress::new(Some(dataset.num_rows()), "rows");
        bar.set_message("split 3/3 write");
        let mut offset = 0usize;
        for batch in dataset.batches(self.config.batch_rows).read_ahead(2) {
            let batch = batch?;
            let len = batch.num_rows();
            out.count_input(len as u64);
            let base = without_split(&batch);
            let of = &split[offset..offset + len];
            for (s, name) in SPLITS.iter().enumerate() {
                let mask = BooleanArray::from_iter(of.iter().map(|&x| Some(x as usize == s)));
                let rows = arrow_select::filter::filter_record_batch(&base, &mask)
                    .map_err(|e| SplitError::input(path, e.to_string()))?;
                if rows.num_rows() == 0 {
                    continue;
                }
                let mut columns = rows.columns().to_vec();
                columns.push(Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                    *name,
                    rows.num_rows(),
                ))) as ArrayRef);
                let batch = RecordBatch::try_new(schema.clone(), columns)
                    .map_err(|e| SplitError::input(path, e.to_string()))?;
                out.write_subset(name, &batch)?;
            }
            if of.contains(&CONFLICT) {
                let mask = BooleanArray::from_iter(of.iter().map(|&x| Some(x == CONFLICT)));
                let rows = arrow_select::filter::filter_record_batch(&base, &mask)
                    .map_err(|e| SplitError::input(path, e.to_string()))?;
                let detail =
                    vec![Some("joins old groups of different splits".to_string()); rows.num_rows()];
                let reasons = vec!["split_conflict"; rows.num_rows()];
                out.reject(&rows, &reasons, Some(&detail))?;
            }
            offset += len;
            bar.inc(len as u64);
        }
        bar.finish();
        Ok(())
    }

    /// The manifest's summary: rows and groups per split and stratum, the
    /// index, the audit.
    fn record(
        &self,
        out: &mut StageOutput,
        rows: &Rows,
        placed: &Placed,
        [near_pairs, ngram_joins]: [u64; 2],
        audit: Option<&AuditReport>,
        indexed: usize,
    ) {
        let mut split_rows = [0u64; 3];
        let mut split_groups = [
            FxHashSet::default(),
            FxHashSet::default(),
            FxHashSet::default(),
        ];
        let mut strata: BTreeMap<&str, [u64; 3]> = BTreeMap::new();
        for (r, &s) in placed.split.iter().enumerate() {
            if s == CONFLICT {
                continue;
            }
            split_rows[s as usize] += 1;
            let g = placed.of_row[r];
            split_groups[s as usize].insert(g);
            let stratum = placed.groups[g as usize].stratum as usize;
            strata.entry(rows.strata[stratum].as_str()).or_default()[s as usize] += 1;
        }
        let total = split_rows.iter().sum::<u64>().max(1) as f64;
        let mut splits = serde_json::Map::new();
        for (s, name) in SPLITS.iter().enumerate() {
            splits.insert(
                name.to_string(),
                serde_json::json!({
                    "rows": split_rows[s],
                    "groups": split_groups[s].len(),
                    "fraction": split_rows[s] as f64 / total,
                }),
            );
        }
        out.set_summary("splits", serde_json::Value::Object(splits));
        out.set_summary("groups", serde_json::json!(placed.groups.len()));
        out.set_summary(
            "largest_group",
            serde_json::json!(placed.groups.iter().map(|g| g.rows).max().unwrap_or(0)),
        );
        if self.config.stratify.is_some() || !self.config.stratify_length.is_empty() {
            let by: serde_json::Map<String, serde_json::Value> = strata
                .into_iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        serde_json::json!({"train": v[0], "valid": v[1], "test": v[2]}),
                    )
                })
                .collect();
            out.set_summary("strata", serde_json::Value::Object(by));
        }
        if self.config.near_duplicates.enabled {
            out.set_summary("near_duplicate_pairs", serde_json::json!(near_pairs));
        }
        if self.config.group_ngrams {
            out.set_summary("ngram_pairs", serde_json::json!(ngram_joins));
        }
        out.set_summary("identity", serde_json::json!(rows.identity_column));
        if self.config.index.is_some() {
            out.set_summary(
                "index",
                serde_json::json!({
                    "rows_before": indexed,
                    "inherited_rows": placed.inherited_rows,
                    "new_rows": placed.new_rows,
                    "conflict_rows": placed.conflict_rows,
                    "conflict_groups": placed.conflict_groups,
                }),
            );
        }
        out.set_summary(
            "audit",
            match audit {
                Some(report) => serde_json::to_value(&report.counts).unwrap_or_default(),
                None => serde_json::json!("skipped"),
            },
        );
    }
}

/// The output schema: the input's columns (a `split` column of an earlier
/// split replaced) and `split`.
fn out_schema(input: &SchemaRef) -> SchemaRef {
    let mut fields: Vec<Field> = input
        .fields()
        .iter()
        .filter(|f| f.name() != SPLIT_COLUMN)
        .map(|f| ore_core::schema::adopt(f))
        .collect();
    fields.push(Field::new(SPLIT_COLUMN, DataType::Utf8, false));
    Arc::new(Schema::new_with_metadata(fields, input.metadata().clone()))
}

/// A batch without its `split` column (when splitting a split again).
fn without_split(batch: &RecordBatch) -> RecordBatch {
    match batch.schema().index_of(SPLIT_COLUMN) {
        Ok(i) => {
            let mut b = batch.clone();
            b.remove_column(i);
            b
        }
        Err(_) => batch.clone(),
    }
}

/// `fail_on_leak`'s error: the counts and the first leaked rows.
fn leak_message(report: &AuditReport, input: &Path) -> String {
    let c = &report.counts;
    let mut msg = format!(
        "{}: the split leaks {} of {} eval rows (exact {}, near {}, ngram {}, variant {}); \
         fail_on_leak = true, so nothing was written",
        input.display(),
        c.eval_rows_leaked,
        c.eval_rows,
        c.exact,
        c.near,
        c.ngram,
        c.variant
    );
    for (i, p) in report.pairs.iter().take(5).enumerate() {
        msg.push_str(if i == 0 { ": " } else { "; " });
        msg.push_str(&format!(
            "{} row {} ~ train row {} ({}, {:.2})",
            p.eval_set, p.eval_id, p.train_id, p.kind, p.similarity
        ));
    }
    msg
}
