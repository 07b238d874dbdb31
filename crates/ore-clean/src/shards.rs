//! The clean stage run in shards ([`ore_core::shard`]), with the same
//! output as one run over the whole input:
//!
//! 1. `lines`: each shard counts, per host, the documents each short line
//!    is in; the commit adds the counts up and keeps the host's boilerplate
//!    lines (`.NAME.shards/boilerplate/`), as pass 1 does in one run;
//! 2. `rows`: each shard cleans, measures and filters its rows with those
//!    lines, writes every survivor (each its own `dup_cluster` for now),
//!    its quality rejects, and the survivors' MinHash entries
//!    (`_minhash/`);
//! 3. the commit deduplicates globally: the entries of every shard (after
//!    those of an `--index`) in input order, exact duplicates by hash, LSH
//!    candidate pairs, each verified on the exact shingles of the two texts
//!    (read back from the shards for the candidates only), clusters as
//!    connected components. The shards' part files whose rows all stay as
//!    they are go into the output as they are; the others are rewritten
//!    with their duplicates moved to `_rejects/`.
//!
//! Without boilerplate removal there is no `lines` step.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use ore_core::dataset::PartWriter;
use ore_core::shard::{ShardCommit, ShardSet, area};
use ore_core::{Dataset, Manifest, StrColumn};
use ore_minhash::MinHasher;
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::boilerplate::{Boilerplate, LineCounts};
use crate::config::CleanConfig;
use crate::dedup::{
    Candidates, Entry, IndexMeta, Verdict, entries_batch, load_index, read_entries, save_index,
};
use crate::error::{CleanError, Result};

/// The step that counts boilerplate lines.
pub const LINES_STEP: &str = "lines";
/// A rows shard's side dataset of MinHash entries.
pub const MINHASH_DIR: &str = "_minhash";
/// Where the merged boilerplate lines wait for the rows step.
const BOILERPLATE_DIR: &str = "boilerplate";
const DUP_CLUSTER: &str = "dup_cluster";

fn boilerplate_dir(output: &Path) -> PathBuf {
    area(output).join(BOILERPLATE_DIR)
}

/// Whether the `lines` step's counts have been merged for `output`.
pub fn boilerplate_merged(output: &Path) -> bool {
    boilerplate_dir(output)
        .join(ore_core::dataset::MANIFEST_FILE)
        .is_file()
}

/// The merged boilerplate lines, checked to come from this config.
pub fn load_boilerplate(output: &Path, config: &CleanConfig, _seed: u64) -> Result<Boilerplate> {
    let dir = boilerplate_dir(output);
    if !boilerplate_merged(output) {
        return Err(CleanError::Config(format!(
            "{}: the boilerplate lines of all shards are not merged yet: run the `lines` step of every shard (--shard K/N --step lines), then `ore commit {}`, then the rows",
            output.display(),
            output.display()
        )));
    }
    let manifest = Manifest::read(&dir)?;
    let wanted = ore_core::manifest::config_hash(&serde_json::to_value(config).unwrap_or_default());
    if manifest.config_hash != wanted {
        return Err(CleanError::Config(format!(
            "{}: the merged boilerplate lines were counted with another [clean] config: run the `lines` step of every shard again",
            dir.display()
        )));
    }
    let mut boilerplate = Boilerplate::default();
    let data = Dataset::open(&dir)?;
    for batch in data.batches(64 * 1024) {
        boilerplate.add_batch(&batch?, config.boilerplate.max_line_chars)?;
    }
    Ok(boilerplate)
}

/// A rows shard's MinHash entries with whether each was shingled by
/// characters.
pub fn minhash_batch(entries: &[&Entry], char_shingles: &[bool]) -> Result<RecordBatch> {
    let batch = entries_batch(entries)?;
    let mut fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new("char_shingles", DataType::Boolean, false));
    let mut columns = batch.columns().to_vec();
    columns.push(Arc::new(BooleanArray::from(char_shingles.to_vec())));
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// `ore commit` of a clean stage's step: the line counts merged into the
/// boilerplate lines, or the rows deduplicated into the output. Returns
/// the line the command prints.
pub fn commit_shards(set: ShardSet) -> Result<String> {
    if set.step() == LINES_STEP {
        return commit_lines(set);
    }
    let target = set.target().to_path_buf();
    let manifest = commit_rows(set)?;
    Ok(manifest.summary_line(&target))
}

fn shard_config(set: &ShardSet) -> Result<CleanConfig> {
    serde_json::from_value(set.manifest().config.clone())
        .map_err(|e| CleanError::Config(format!("the shards' [clean] config does not parse: {e}")))
}

/// Adds up the shards' line counts and writes the boilerplate lines.
fn commit_lines(set: ShardSet) -> Result<String> {
    let config = shard_config(&set)?;
    let mut counts = LineCounts::default();
    for index in 0..set.count() as usize {
        for file in set.files(index, "") {
            for batch in Dataset::open(&file)?.batches(64 * 1024) {
                counts.add_batch(&batch?)?;
            }
        }
    }
    let boilerplate = counts.finish(&config.boilerplate);
    let batch = boilerplate.to_batch()?;
    let first = set.manifest();
    let info = ore_core::StageInfo {
        stage: first.stage.clone(),
        config: first.config.clone(),
        seed: first.seed,
        shard: None,
    };
    let dir = boilerplate_dir(set.target());
    let mut out = ore_core::StageOutput::create(
        &dir,
        batch.schema(),
        info,
        ore_core::WriteOptions::default(),
    )?;
    out.count_generated(batch.num_rows() as u64);
    out.write(&batch)?;
    out.commit()?;
    Ok(format!(
        "clean: line counts of {} shards merged: {} boilerplate lines; next: the rows step of every shard (--shard K/N), then `ore commit {}`\n",
        set.count(),
        boilerplate.len(),
        set.target().display()
    ))
}

/// Where a new entry's row is: its shard and its row in that shard's
/// output.
struct Place {
    shard: usize,
    row: usize,
    char_shingles: bool,
}

/// Deduplicates the rows of every shard together and commits the output.
pub fn commit_rows(set: ShardSet) -> Result<Manifest> {
    let config = shard_config(&set)?;
    let seed = set.manifest().seed;
    let d = &config.dedup;
    let meta = IndexMeta::of(d, seed);
    let mut entries: Vec<Entry> = match &config.index {
        Some(dir) => load_index(dir, &meta)?,
        None => Vec::new(),
    };
    let indexed = entries.len();
    let mut places: Vec<Place> = Vec::new();
    for (shard, (dir, manifest)) in set.shards().iter().enumerate() {
        let before = entries.len();
        let first_place = places.len();
        for file in set.files(shard, MINHASH_DIR) {
            let data = Dataset::open(&file)?;
            entries.extend(read_entries(&data, d.num_perm, false)?);
            for batch in data.batches_of(&["char_shingles"], 64 * 1024)? {
                let batch = batch?;
                let flags = batch
                    .column(0)
                    .as_any()
                    .downcast_ref::<BooleanArray>()
                    .ok_or_else(|| {
                        CleanError::Config(format!(
                            "{}: char_shingles is not boolean",
                            file.display()
                        ))
                    })?;
                for flag in flags.iter() {
                    places.push(Place {
                        shard,
                        row: places.len() - first_place,
                        char_shingles: flag.unwrap_or(false),
                    });
                }
            }
        }
        if (entries.len() - before) as u64 != manifest.rows.output {
            return Err(CleanError::Config(format!(
                "{}: {} rows but {} MinHash entries: run this shard again",
                dir.display(),
                manifest.rows.output,
                entries.len() - before
            )));
        }
    }
    let candidates = Candidates::of(&entries, d);
    let hasher = MinHasher::new(d.num_perm, seed, d.char_shingle, d.word_shingle);
    let shingles =
        candidate_shingles(&set, &config, &places, indexed, &candidates.needed, &hasher)?;
    let (verdicts, clusters, verified) = candidates.cluster(&entries, d, &shingles);

    let boilerplate_lines = set
        .manifest()
        .summary
        .get("boilerplate_lines")
        .cloned()
        .unwrap_or_default();
    let mut commit = ShardCommit::begin(set)?;
    commit.add_shard_counts();
    // The shards' `pii` and `lines_dropped` counts, added up; the figures
    // set below replace the others.
    commit.merge_summaries(&["boilerplate_lines"]);
    let mut rejects: Option<PartWriter> = None;
    let rejects_dir = commit.staging_path().join(".dedup_rejects");
    let mut entry = indexed;
    for shard in 0..commit.set().count() as usize {
        for file in commit.set().files(shard, "") {
            let data = Dataset::open(&file)?;
            let rows = data.num_rows() as usize;
            let range = entry..entry + rows;
            entry += rows;
            let untouched = verdicts[range.clone()]
                .iter()
                .zip(&entries[range.clone()])
                .all(|(v, e)| matches!(v, Verdict::Kept { cluster } if *cluster == e.doc_id));
            if untouched {
                commit.adopt("", &file)?;
                continue;
            }
            rewrite(
                &mut commit,
                &data,
                &verdicts[range],
                &mut rejects,
                &rejects_dir,
            )?;
        }
    }
    // The shards' own rejects, then the duplicates found across them.
    for shard in 0..commit.set().count() as usize {
        commit.adopt_all(shard, ore_core::dataset::REJECTS_DIR)?;
    }
    if let Some(writer) = rejects {
        for part in writer.finish()? {
            commit.adopt(ore_core::dataset::REJECTS_DIR, &part.path)?;
        }
    }
    let _ = std::fs::remove_dir_all(&rejects_dir);
    let _ = std::fs::remove_dir_all(commit.staging_path().join(".dedup_rows"));

    if let Some(dir) = &config.index {
        let kept: Vec<&Entry> = entries
            .iter()
            .zip(&verdicts)
            .filter(|(e, v)| e.from_index || matches!(v, Verdict::Kept { .. }))
            .map(|(e, _)| e)
            .collect();
        save_index(dir, &meta, &kept)?;
        commit.set_summary("index_entries_before", serde_json::json!(indexed));
        commit.set_summary("index_entries_after", serde_json::json!(kept.len()));
    }
    commit.set_summary("duplicate_clusters", serde_json::json!(clusters));
    commit.set_summary("candidate_pairs", serde_json::json!(candidates.pairs.len()));
    commit.set_summary("verified_pairs", serde_json::json!(verified));
    commit.set_summary("boilerplate_lines", boilerplate_lines);
    Ok(commit.finish()?)
}

/// The shingles of the candidate entries, from their texts in the shards'
/// outputs.
fn candidate_shingles(
    set: &ShardSet,
    config: &CleanConfig,
    places: &[Place],
    indexed: usize,
    needed: &FxHashSet<usize>,
    hasher: &MinHasher,
) -> Result<FxHashMap<usize, Vec<u64>>> {
    // Per shard, the rows wanted and the entry each is.
    let mut wanted: Vec<FxHashMap<usize, usize>> = vec![FxHashMap::default(); set.count() as usize];
    for &e in needed {
        let place = &places[e - indexed];
        wanted[place.shard].insert(place.row, e);
    }
    let mut texts: Vec<(usize, bool, String)> = Vec::with_capacity(needed.len());
    for (shard, rows) in wanted.iter().enumerate() {
        if rows.is_empty() {
            continue;
        }
        let dir = &set.shards()[shard].0;
        let data = Dataset::open(dir)?;
        let mut row = 0usize;
        for batch in data.batches_of(&[config.text_column.as_str()], 8192)? {
            let batch = batch?;
            let column = StrColumn::of(&batch, &config.text_column, dir)?;
            for i in 0..batch.num_rows() {
                if let Some(&e) = rows.get(&(row + i))
                    && let Some(text) = column.get(i)
                {
                    texts.push((e, places[e - indexed].char_shingles, text.to_string()));
                }
            }
            row += batch.num_rows();
        }
    }
    texts.sort_by_key(|(_, _, text)| std::cmp::Reverse(text.len()));
    Ok(texts
        .par_iter()
        .with_max_len(1)
        .map(|(e, chars, text)| (*e, hasher.shingles(text, *chars)))
        .collect())
}

/// A shard's part file with its duplicates moved to the rejects and the
/// clusters of the rows kept set.
fn rewrite(
    commit: &mut ShardCommit,
    data: &Dataset,
    verdicts: &[Verdict],
    rejects: &mut Option<PartWriter>,
    rejects_dir: &Path,
) -> Result<()> {
    let schema = data.schema().clone();
    let dup_index = schema.index_of(DUP_CLUSTER).map_err(|_| {
        CleanError::Config(format!(
            "{}: no {DUP_CLUSTER} column",
            data.root().display()
        ))
    })?;
    let rows_dir = commit.staging_path().join(".dedup_rows");
    let _ = std::fs::remove_dir_all(&rows_dir);
    let mut kept_writer = PartWriter::new(&rows_dir, schema.clone(), Default::default())?;
    let mut row = 0usize;
    for batch in data.batches(8192) {
        let batch = batch?;
        let n = batch.num_rows();
        let here = &verdicts[row..row + n];
        row += n;
        // As in one run: a kept row names its cluster, a duplicate the
        // row it duplicates.
        let dup: ArrayRef = Arc::new(StringArray::from_iter_values(here.iter().map(
            |v| match v {
                Verdict::Kept { cluster } => cluster.as_str(),
                Verdict::ExactDuplicate { of } | Verdict::NearDuplicate { of } => of.as_str(),
            },
        )));
        let mut columns = batch.columns().to_vec();
        columns[dup_index] = dup;
        let full = RecordBatch::try_new(schema.clone(), columns)?;
        let keep: BooleanArray = here
            .iter()
            .map(|v| Some(matches!(v, Verdict::Kept { .. })))
            .collect();
        kept_writer.write(&arrow_select::filter::filter_record_batch(&full, &keep)?)?;
        let drop: BooleanArray = here
            .iter()
            .map(|v| Some(!matches!(v, Verdict::Kept { .. })))
            .collect();
        let dropped = arrow_select::filter::filter_record_batch(&full, &drop)?;
        if dropped.num_rows() == 0 {
            continue;
        }
        let (reasons, details): (Vec<&str>, Vec<Option<String>>) = here
            .iter()
            .filter_map(|v| match v {
                Verdict::Kept { .. } => None,
                Verdict::ExactDuplicate { of } => {
                    Some(("exact_duplicate", Some(format!("duplicate of {of}"))))
                }
                Verdict::NearDuplicate { of } => {
                    Some(("near_duplicate", Some(format!("duplicate of {of}"))))
                }
            })
            .unzip();
        let rejected = ore_core::stage::with_reject_columns(&dropped, &reasons, Some(&details))?;
        if rejects.is_none() {
            *rejects = Some(PartWriter::new(
                rejects_dir,
                rejected.schema(),
                Default::default(),
            )?);
        }
        if let Some(writer) = rejects {
            writer.write(&rejected)?;
        }
        let counts = commit.counts_mut();
        counts.output -= reasons.len() as u64;
        counts.rejected += reasons.len() as u64;
        for reason in reasons {
            *counts
                .rejected_by_reason
                .entry(reason.to_string())
                .or_default() += 1;
        }
    }
    for part in kept_writer.finish()? {
        if part.rows > 0 {
            commit.adopt("", &part.path)?;
        }
    }
    let _ = std::fs::remove_dir_all(&rows_dir);
    Ok(())
}
