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
use ore_core::shard::{ROWS_STEP, Shard};
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
        if let Some(shard) = ctx.shard {
            return self.run_shard(ctx, shard);
        }
        self.run_on(
            ctx.input("input")?,
            &ctx.output,
            ctx.seed,
            ctx.write.clone(),
        )
    }

    /// `keys`: each shard reads its rows' keys (and MinHash signatures);
    /// the commit joins every shard's rows into groups, places and audits
    /// them. `rows`: each shard writes its rows into their splits.
    fn shard_steps(&self) -> Option<Vec<&'static str>> {
        Some(vec![KEYS_STEP, ROWS_STEP])
    }

    fn summary(&self, manifest: &Manifest, ctx: &ore_core::StageContext) -> String {
        if manifest.shard.is_some() {
            return manifest.summary_line(&ctx.output);
        }
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

/// What pass 2 and the audit decided.
struct Placement {
    rows: Rows,
    placed: Placed,
    known: Assignments,
    summary: serde_json::Map<String, serde_json::Value>,
}

/// The columns pass 1 reads.
#[derive(Debug, Clone)]
struct KeyPlan {
    groups: Vec<String>,
    url: Option<String>,
    id: Option<String>,
    text: Option<String>,
    time: Option<String>,
    read: Vec<String>,
    identity_column: String,
}

/// What pass 1 reads of each row, before rows are joined: what a shard of
/// a sharded split keeps (`_keys/`) for the commit to join.
#[derive(Debug, Default)]
struct RowKeys {
    /// Key kinds per row: the group columns, the URL, the text.
    kinds: usize,
    /// Row-major: `kinds` keys a row.
    keys: Vec<Option<u64>>,
    identity: Vec<u64>,
    label: Vec<Option<String>>,
    chars: Vec<u64>,
    time: Vec<i64>,
    want: Vec<u8>,
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
        self.check_text(text.as_deref(), input)?;
        let near_pairs = match (&text, cfg.near_duplicates.enabled) {
            (Some(text), true) => self.join_near_duplicates(&dataset, text, &mut rows)?,
            _ => 0,
        };
        let Placement {
            rows,
            placed,
            known,
            summary,
        } = self.place_and_audit(&dataset, input, text.as_deref(), rows, near_pairs, seed)?;
        self.write(&dataset, &schema, &placed.split, &mut out)?;
        for (key, value) in summary {
            out.set_summary(&key, value);
        }
        let manifest = out.commit()?;
        if let Some(dir) = &cfg.index {
            let meta = IndexMeta {
                seed,
                identity: rows.identity_column.clone(),
            };
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

    /// From the rows joined by their keys (and near duplicates): the
    /// n-gram joins, the index's old assignments, the placement, the audit
    /// (an error on a leak with `fail_on_leak`) and the manifest's figures.
    fn place_and_audit(
        &self,
        dataset: &Arc<Dataset>,
        input: &Path,
        text: Option<&str>,
        mut rows: Rows,
        near_pairs: u64,
        seed: u64,
    ) -> Result<Placement> {
        let cfg = &self.config;
        let ngram_joins = match (text, cfg.group_ngrams) {
            (Some(text), true) => self.join_ngrams(dataset, text, &mut rows)?,
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
        let audit = match (text, cfg.audit) {
            (Some(text), true) => Some(self.audit(dataset, text, &splits)?),
            _ => None,
        };
        if let Some(report) = &audit
            && cfg.fail_on_leak
            && report.counts.eval_rows_leaked > 0
        {
            return Err(SplitError::Leak(leak_message(report, input)));
        }
        let summary = self.record(
            &rows,
            &placed,
            [near_pairs, ngram_joins],
            audit.as_ref(),
            known.len(),
        );
        Ok(Placement {
            rows,
            placed,
            known,
            summary,
        })
    }

    /// Refuses settings that need a text column the input lacks.
    fn check_text(&self, text: Option<&str>, input: &Path) -> Result<()> {
        let cfg = &self.config;
        if text.is_none() && cfg.near_duplicates.enabled {
            return Err(SplitError::input(
                input,
                format!(
                    "near_duplicates needs a text column (`{}`); set text_columns",
                    cfg.text_columns.join("`, `")
                ),
            ));
        }
        if text.is_none() && cfg.group_ngrams {
            return Err(SplitError::input(
                input,
                "group_ngrams needs a text column; set text_columns",
            ));
        }
        Ok(())
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
        let plan = self.key_plan(dataset, text)?;
        let keys = self.read_row_keys(&plan, dataset, seed)?;
        Ok(self.join_keys(&plan, keys))
    }

    /// Which columns pass 1 reads, checked against what the config asks.
    fn key_plan(&self, dataset: &Dataset, text: Option<&str>) -> Result<KeyPlan> {
        let cfg = &self.config;
        let schema = dataset.schema();
        let has = |c: &str| schema.field_with_name(c).is_ok();
        let path = dataset.root();
        let groups: Vec<String> = cfg
            .group_columns
            .iter()
            .filter(|c| has(c))
            .cloned()
            .collect();
        let url = cfg.url_column.clone().filter(|c| has(c));
        let id = cfg.id_columns.iter().find(|c| has(c)).cloned();
        let needs_text = cfg.group_exact_text || !cfg.stratify_length.is_empty() || id.is_none();
        let text = text.filter(|_| needs_text).map(str::to_string);
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
        let time = (cfg.by == Rule::Time).then(|| cfg.time_column.clone());
        if let Some(t) = &time
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
        let mut read: Vec<String> = groups.clone();
        read.extend(url.clone());
        read.extend(id.clone());
        read.extend(text.clone());
        read.extend(cfg.stratify.clone());
        read.extend(time.clone());
        read.sort_unstable();
        read.dedup();
        Ok(KeyPlan {
            identity_column: id.clone().or(text.clone()).unwrap_or("row".into()),
            groups,
            url,
            id,
            text,
            time,
            read,
        })
    }

    /// Every row's keys, identity, stratum label or length, time and list
    /// rule, in order (the rows of a shard: ids of rows without one count
    /// from the whole input's first row).
    fn read_row_keys(&self, plan: &KeyPlan, dataset: &Dataset, seed: u64) -> Result<RowKeys> {
        let cfg = &self.config;
        let path = dataset.root();
        let n = dataset.num_rows() as usize;
        let mut out = RowKeys {
            kinds: plan.groups.len() + 2,
            ..RowKeys::default()
        };
        let test_ids: FxHashSet<&str> = cfg.test_ids.iter().map(String::as_str).collect();
        let valid_ids: FxHashSet<&str> = cfg.valid_ids.iter().map(String::as_str).collect();
        let test_hosts: FxHashSet<String> =
            cfg.test_hosts.iter().map(|h| h.to_lowercase()).collect();
        let valid_hosts: FxHashSet<String> =
            cfg.valid_hosts.iter().map(|h| h.to_lowercase()).collect();
        let bar = Progress::new(Some(n as u64), "rows");
        bar.set_message("split 1/3 keys");
        let mut offset = dataset.first_row() as usize;
        let keep_types: Vec<&str> = plan.time.as_deref().into_iter().collect();
        let read: Vec<&str> = plan.read.iter().map(String::as_str).collect();
        for batch in dataset.batches_of(&read, cfg.batch_rows)? {
            let batch = as_strings(batch?, &keep_types, path)?;
            let len = batch.num_rows();
            let str_col = |c: &str| StrColumn::of(&batch, c, path);
            let groups: Vec<StrColumn<'_>> = plan
                .groups
                .iter()
                .map(|c| str_col(c))
                .collect::<ore_core::Result<_>>()?;
            let urls = plan.url.as_deref().map(str_col).transpose()?;
            let ids = plan.id.as_deref().map(str_col).transpose()?;
            let texts = plan.text.as_deref().map(str_col).transpose()?;
            let labels = cfg.stratify.as_deref().map(str_col).transpose()?;
            let times = match &plan.time {
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
                        (None, Some(k)) if plan.id.is_none() => k,
                        _ => xxh3_64_with_seed(&((offset + i) as u64).to_le_bytes(), seed),
                    };
                    let chars = t.map_or(0, |t| t.chars().count() as u64);
                    (keys, identity, chars)
                })
                .collect();
            for (i, (keys, identity, chars)) in per_row.into_iter().enumerate() {
                out.keys.extend(keys);
                out.identity.push(identity);
                out.chars.push(chars);
                out.label
                    .push(labels.as_ref().map(|l| l.get(i).unwrap_or("").to_string()));
                out.time.push(
                    times
                        .as_ref()
                        .map_or(i64::MIN, |t| t[i].unwrap_or(i64::MIN)),
                );
                let want = if cfg.by == Rule::List {
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
                    if is(&test_ids, &test_hosts) {
                        2
                    } else if is(&valid_ids, &valid_hosts) {
                        1
                    } else {
                        0
                    }
                } else {
                    0
                };
                out.want.push(want);
            }
            offset += len;
            bar.inc(len as u64);
        }
        bar.finish();
        Ok(out)
    }

    /// Rows from their keys: those sharing a key joined (union-find), the
    /// strata numbered in the order the rows name them.
    fn join_keys(&self, plan: &KeyPlan, keys: RowKeys) -> Rows {
        let cfg = &self.config;
        let n = keys.identity.len();
        let mut rows = Rows {
            n,
            identity_column: plan.identity_column.clone(),
            uf: UnionFind::new(n),
            ..Rows::default()
        };
        // Per key column (and the URL, and the text): key → first row.
        let mut first: Vec<FxHashMap<u64, u32>> = vec![FxHashMap::default(); keys.kinds];
        let mut strata: FxHashMap<String, u32> = FxHashMap::default();
        for r in 0..n {
            for (kind, key) in keys.keys[r * keys.kinds..(r + 1) * keys.kinds]
                .iter()
                .enumerate()
            {
                if let Some(key) = key {
                    match first[kind].entry(*key) {
                        std::collections::hash_map::Entry::Occupied(e) => {
                            rows.uf.union(*e.get(), r as u32)
                        }
                        std::collections::hash_map::Entry::Vacant(e) => {
                            e.insert(r as u32);
                        }
                    }
                }
            }
            if cfg.stratify.is_some() {
                let label = keys.label[r].clone().unwrap_or_default();
                let next = strata.len() as u32;
                rows.stratum.push(*strata.entry(label).or_insert(next));
            } else if !cfg.stratify_length.is_empty() {
                let bucket = cfg.stratify_length.partition_point(|&b| b <= keys.chars[r]);
                rows.stratum.push(bucket as u32);
            }
            if plan.time.is_some() {
                rows.time.push(keys.time[r]);
            }
            if cfg.by == Rule::List {
                rows.want.push(keys.want[r]);
            }
        }
        rows.identity = keys.identity;
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
        rows
    }

    /// Joins near-duplicate rows: MinHash signatures, LSH candidates, and
    /// the exact Jaccard similarity of the candidates' shingles (read again
    /// for those rows alone). Returns the number of verified pairs.
    fn join_near_duplicates(&self, dataset: &Dataset, text: &str, rows: &mut Rows) -> Result<u64> {
        let (signatures, skip) = self.signatures(dataset, text)?;
        self.join_signed(dataset, text, rows, signatures, &skip)
    }

    /// Every row's MinHash signature (none for a row without text, which
    /// `skip` marks).
    fn signatures(&self, dataset: &Dataset, text: &str) -> Result<(Vec<Vec<u32>>, Vec<bool>)> {
        let nd = &self.config.near_duplicates;
        let hasher = MinHasher::new(nd.num_perm, nd.seed, nd.char_shingle, nd.word_shingle);
        let path = dataset.root();
        let n = dataset.num_rows() as usize;
        let bar = Progress::new(Some(n as u64), "rows");
        bar.set_message("split 1/3 near duplicates");
        let mut signatures: Vec<Vec<u32>> = Vec::with_capacity(n);
        let mut skip = Vec::with_capacity(n);
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
        Ok((signatures, skip))
    }

    /// Joins the rows whose signatures make them LSH candidates and whose
    /// shingles (read again for those rows alone) are near enough.
    fn join_signed(
        &self,
        dataset: &Dataset,
        text: &str,
        rows: &mut Rows,
        signatures: Vec<Vec<u32>>,
        skip: &[bool],
    ) -> Result<u64> {
        let nd = &self.config.near_duplicates;
        let hasher = MinHasher::new(nd.num_perm, nd.seed, nd.char_shingle, nd.word_shingle);
        let path = dataset.root();
        let sigs: Vec<&[u32]> = signatures.iter().map(Vec::as_slice).collect();
        let pairs = candidate_pairs(&sigs, skip, nd.threshold, nd.num_perm);
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
        rows: &Rows,
        placed: &Placed,
        [near_pairs, ngram_joins]: [u64; 2],
        audit: Option<&AuditReport>,
        indexed: usize,
    ) -> serde_json::Map<String, serde_json::Value> {
        let mut out = serde_json::Map::new();
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
        out.insert("splits".into(), serde_json::Value::Object(splits));
        out.insert("groups".into(), serde_json::json!(placed.groups.len()));
        out.insert(
            "largest_group".into(),
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
            out.insert("strata".into(), serde_json::Value::Object(by));
        }
        if self.config.near_duplicates.enabled {
            out.insert("near_duplicate_pairs".into(), serde_json::json!(near_pairs));
        }
        if self.config.group_ngrams {
            out.insert("ngram_pairs".into(), serde_json::json!(ngram_joins));
        }
        out.insert("identity".into(), serde_json::json!(rows.identity_column));
        if self.config.index.is_some() {
            out.insert(
                "index".into(),
                serde_json::json!({
                    "rows_before": indexed,
                    "inherited_rows": placed.inherited_rows,
                    "new_rows": placed.new_rows,
                    "conflict_rows": placed.conflict_rows,
                    "conflict_groups": placed.conflict_groups,
                }),
            );
        }
        out.insert(
            "audit".into(),
            match audit {
                Some(report) => serde_json::to_value(&report.counts).unwrap_or_default(),
                None => serde_json::json!("skipped"),
            },
        );
        out
    }
}

/// The step of a sharded split that reads keys.
pub const KEYS_STEP: &str = "keys";
/// Where the commit of the keys step leaves every row's split.
const ASSIGNMENT_DIR: &str = "assignment";

fn assignment_dir(output: &Path) -> std::path::PathBuf {
    ore_core::shard::area(output).join(ASSIGNMENT_DIR)
}

impl RowKeys {
    /// The rows as a `_keys` batch: one column per key kind (`k0`, …), then
    /// `identity`, `label`, `chars`, `time`, `want` and `signature`
    /// (little-endian u32s; null without text or near-duplicate grouping).
    fn batch(&self, signatures: Option<&(Vec<Vec<u32>>, Vec<bool>)>) -> Result<RecordBatch> {
        use arrow_array::{BinaryArray, Int64Array, UInt8Array, UInt64Array};
        let n = self.identity.len();
        let mut fields = Vec::new();
        let mut columns: Vec<ArrayRef> = Vec::new();
        for k in 0..self.kinds {
            fields.push(Field::new(format!("k{k}"), DataType::UInt64, true));
            columns.push(Arc::new(UInt64Array::from_iter(
                (0..n).map(|r| self.keys[r * self.kinds + k]),
            )));
        }
        fields.push(Field::new("identity", DataType::UInt64, false));
        columns.push(Arc::new(UInt64Array::from(self.identity.clone())));
        fields.push(Field::new("label", DataType::Utf8, true));
        columns.push(Arc::new(StringArray::from(self.label.clone())));
        fields.push(Field::new("chars", DataType::UInt64, false));
        columns.push(Arc::new(UInt64Array::from(self.chars.clone())));
        fields.push(Field::new("time", DataType::Int64, false));
        columns.push(Arc::new(Int64Array::from(self.time.clone())));
        fields.push(Field::new("want", DataType::UInt8, false));
        columns.push(Arc::new(UInt8Array::from(self.want.clone())));
        fields.push(Field::new("signature", DataType::Binary, true));
        let sigs: Vec<Option<Vec<u8>>> = (0..n)
            .map(|r| {
                let (sigs, skip) = signatures?;
                (!skip[r]).then(|| sigs[r].iter().flat_map(|v| v.to_le_bytes()).collect())
            })
            .collect();
        columns.push(Arc::new(BinaryArray::from_iter(sigs)));
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
            .map_err(|e| SplitError::Config(format!("shard keys: {e}")))
    }

    /// Appends the rows of a `_keys` batch, and their signatures to
    /// `signatures` when given.
    fn extend(
        &mut self,
        batch: &RecordBatch,
        path: &Path,
        signatures: Option<&mut (Vec<Vec<u32>>, Vec<bool>)>,
    ) -> Result<()> {
        use arrow_array::Array;
        use arrow_array::cast::AsArray;
        use arrow_array::types::{Int64Type, UInt8Type, UInt64Type};
        let bad = |what: &str| SplitError::input(path, format!("shard keys: {what}"));
        let col = |name: &str| batch.column_by_name(name).ok_or_else(|| bad(name));
        let keys: Vec<_> = (0..self.kinds)
            .map(|k| Ok(col(&format!("k{k}"))?.as_primitive::<UInt64Type>().clone()))
            .collect::<Result<_>>()?;
        let identity = col("identity")?.as_primitive::<UInt64Type>().clone();
        let label = col("label")?.as_string::<i32>().clone();
        let chars = col("chars")?.as_primitive::<UInt64Type>().clone();
        let time = col("time")?.as_primitive::<Int64Type>().clone();
        let want = col("want")?.as_primitive::<UInt8Type>().clone();
        let signature = col("signature")?.as_binary::<i32>().clone();
        for r in 0..batch.num_rows() {
            for k in &keys {
                self.keys.push(k.is_valid(r).then(|| k.value(r)));
            }
            self.identity.push(identity.value(r));
            self.label
                .push(label.is_valid(r).then(|| label.value(r).to_string()));
            self.chars.push(chars.value(r));
            self.time.push(time.value(r));
            self.want.push(want.value(r));
        }
        if let Some((sigs, skip)) = signatures {
            for r in 0..batch.num_rows() {
                skip.push(signature.is_null(r));
                sigs.push(if signature.is_null(r) {
                    Vec::new()
                } else {
                    signature
                        .value(r)
                        .chunks_exact(4)
                        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                        .collect()
                });
            }
        }
        Ok(())
    }
}

impl SplitStage {
    /// One step of one shard of a sharded split ([`ore_core::shard`]).
    fn run_shard(&self, ctx: &ore_core::StageContext, shard: Shard) -> Result<Manifest> {
        let input = ctx.input("input")?;
        let output = ctx.output.as_path();
        let step = match ctx.step.as_deref() {
            Some(step) => step,
            None if assignment_dir(output)
                .join(ore_core::MANIFEST_FILE)
                .is_file() =>
            {
                ROWS_STEP
            }
            None => KEYS_STEP,
        };
        let whole = Dataset::open(input)?;
        let slice = whole.shard(shard);
        let info = StageInfo::new("split", &self.config, ctx.seed).with_shard(Some(shard));
        if step == KEYS_STEP {
            let text = self.text_column(&whole);
            self.check_text(text.as_deref(), input)?;
            let plan = self.key_plan(&slice, text.as_deref())?;
            let keys = self.read_row_keys(&plan, &slice, ctx.seed)?;
            let signatures = match (&text, self.config.near_duplicates.enabled) {
                (Some(text), true) => Some(self.signatures(&slice, text)?),
                _ => None,
            };
            let batch = keys.batch(signatures.as_ref())?;
            let target = ore_core::shard::shard_dir(output, KEYS_STEP, shard);
            let mut out = StageOutput::create(&target, batch.schema(), info, ctx.write.clone())?;
            out.add_input(&slice)?;
            out.count_generated(batch.num_rows() as u64);
            out.write(&batch)?;
            return Ok(out.commit()?);
        }
        let (split, _, _) = load_assignment(output, &self.config, ctx.seed)?;
        if split.len() as u64 != whole.num_rows() {
            return Err(SplitError::input(
                input,
                format!(
                    "{} rows, but the groups were placed for {}: run the keys step again",
                    whole.num_rows(),
                    split.len()
                ),
            ));
        }
        let first = slice.first_row() as usize;
        let n = slice.num_rows() as usize;
        let schema = out_schema(whole.schema());
        let target = ore_core::shard::shard_dir(output, ROWS_STEP, shard);
        let mut out =
            StageOutput::create_subsets(&target, schema.clone(), &SPLITS, info, ctx.write.clone())?;
        out.add_input(&slice)?;
        self.write(&slice, &schema, &split[first..first + n], &mut out)?;
        Ok(out.commit()?)
    }
}

/// Every row's split and identity, and the placement's summary figures.
type Assignment = (
    Vec<u8>,
    Vec<u64>,
    serde_json::Map<String, serde_json::Value>,
);

/// Every row's split and identity as the keys step's commit placed them,
/// with the figures of the placement, checked to come from this config.
fn load_assignment(output: &Path, config: &SplitConfig, seed: u64) -> Result<Assignment> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{UInt8Type, UInt64Type};
    let dir = assignment_dir(output);
    if !dir.join(ore_core::MANIFEST_FILE).is_file() {
        return Err(SplitError::input(
            output,
            "the groups of all shards are not placed yet: run the `keys` step of every shard (--shard K/N --step keys), then `ore commit` of the output, then the rows",
        ));
    }
    let manifest = Manifest::read(&dir)?;
    let wanted = ore_core::manifest::config_hash(&serde_json::to_value(config).unwrap_or_default());
    if manifest.config_hash != wanted || manifest.seed != seed {
        return Err(SplitError::input(
            &dir,
            "the groups were placed with another [split] config or seed: run the keys step again",
        ));
    }
    let (mut split, mut identity) = (Vec::new(), Vec::new());
    for batch in Dataset::open(&dir)?.batches(64 * 1024) {
        let batch = batch?;
        split.extend(batch.column(0).as_primitive::<UInt8Type>().values().iter());
        identity.extend(batch.column(1).as_primitive::<UInt64Type>().values().iter());
    }
    Ok((split, identity, manifest.summary))
}

/// `ore commit` of a sharded split's step: the keys of every shard joined,
/// placed and audited (`keys`), or the rows put together (`rows`). Returns
/// the line the command prints.
pub fn commit_shards(set: ore_core::shard::ShardSet) -> Result<String> {
    let target = set.target().to_path_buf();
    let first = set.manifest().clone();
    let config: SplitConfig = serde_json::from_value(first.config.clone()).map_err(|e| {
        SplitError::input(
            &target,
            format!("the shards' [split] config does not parse: {e}"),
        )
    })?;
    let stage = <SplitStage as ore_core::Stage>::build(config)?;
    let cfg = &stage.config;
    let seed = first.seed;
    if set.step() == ROWS_STEP {
        let (split, identity, summary) = load_assignment(&target, cfg, seed)?;
        let mut commit = ore_core::shard::ShardCommit::begin(set)?;
        commit.concat(&[])?;
        for (key, value) in summary {
            commit.set_summary(&key, value);
        }
        let manifest = commit.finish()?;
        if let Some(dir) = &cfg.index {
            let meta = IndexMeta {
                seed,
                identity: manifest.summary["identity"]
                    .as_str()
                    .unwrap_or("row")
                    .to_string(),
            };
            let mut updated = index::load(dir, &meta)?;
            for (r, &s) in split.iter().enumerate() {
                if s != CONFLICT {
                    updated.insert(identity[r], s);
                }
            }
            index::save(dir, &meta, &updated)?;
        }
        return Ok(summary_line(&manifest, &target));
    }
    let input = first.inputs[0].path.clone();
    let dataset = Arc::new(Dataset::open(&input)?);
    let text = stage.text_column(&dataset);
    stage.check_text(text.as_deref(), &input)?;
    let plan = stage.key_plan(&dataset, text.as_deref())?;
    let mut keys = RowKeys {
        kinds: plan.groups.len() + 2,
        ..RowKeys::default()
    };
    let near = text.is_some() && cfg.near_duplicates.enabled;
    let mut signatures = (Vec::new(), Vec::new());
    for index in 0..set.count() as usize {
        for file in set.files(index, "") {
            for batch in Dataset::open(&file)?.batches(64 * 1024) {
                keys.extend(&batch?, &file, near.then_some(&mut signatures))?;
            }
        }
    }
    if keys.identity.len() as u64 != dataset.num_rows() {
        return Err(SplitError::input(
            &input,
            format!(
                "{} rows, but the shards read {}: run the keys step of every shard again",
                dataset.num_rows(),
                keys.identity.len()
            ),
        ));
    }
    let mut rows = stage.join_keys(&plan, keys);
    let near_pairs = match (&text, near) {
        (Some(text), true) => {
            stage.join_signed(&dataset, text, &mut rows, signatures.0, &signatures.1)?
        }
        _ => 0,
    };
    let Placement {
        rows,
        placed,
        summary,
        ..
    } = stage.place_and_audit(&dataset, &input, text.as_deref(), rows, near_pairs, seed)?;
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("split", DataType::UInt8, false),
            Field::new("identity", DataType::UInt64, false),
        ])),
        vec![
            Arc::new(arrow_array::UInt8Array::from(placed.split.clone())),
            Arc::new(arrow_array::UInt64Array::from(rows.identity.clone())),
        ],
    )
    .map_err(|e| SplitError::input(&target, e.to_string()))?;
    let info = StageInfo {
        stage: first.stage.clone(),
        config: first.config.clone(),
        seed,
        shard: None,
    };
    let mut out = StageOutput::create(
        assignment_dir(&target),
        batch.schema(),
        info,
        WriteOptions::default(),
    )?;
    out.count_generated(batch.num_rows() as u64);
    out.write(&batch)?;
    for (key, value) in summary {
        out.set_summary(&key, value);
    }
    out.commit()?;
    Ok(format!(
        "split: keys of {} shards joined into {} groups and placed; next: the rows step of every shard (--shard K/N), then `ore commit {}`\n",
        set.count(),
        placed.groups.len(),
        target.display()
    ))
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
