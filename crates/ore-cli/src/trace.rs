//! `ore trace ID`: the lineage of one row, from a prediction back to the
//! URL it came from, by joins on the id columns the stages already write.
//!
//! Starting from the last stage (in pipeline order) whose output holds the
//! id (`example_id`, `doc_id`, or a prediction's text in `hyp`), it walks
//! the stages upstream:
//! - an example is looked up by `example_id` in each upstream dataset of
//!   examples; a variant's `parent_id` leads to the example it was made
//!   from (with the op and its parameters);
//! - an example's `source_id` (and a pair's `src_doc_id` and `tgt_doc_id`)
//!   is looked up as `doc_id` in each upstream dataset of documents, down to
//!   the crawl's row: its URL and fetch time.
//!
//! Every hop prints the stage's manifest: kind, config hash, revision and
//! when it ran.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use clap::Args;
use ore_core::runner::Graph;
use ore_core::{Dataset, Manifest, Pipeline};
use serde_json::{Value, json};

use crate::inspect::values::{cells, single_line};
use crate::stages::KINDS;

/// Arguments of `ore trace`.
#[derive(Debug, Args)]
pub(crate) struct TraceArgs {
    /// An example id, a document id, or a prediction (its text).
    #[arg(value_name = "ID")]
    id: String,

    /// The pipeline whose outputs are searched (default: each of
    /// pipelines/*.toml in turn, the demo first, until one holds the id).
    #[arg(long, value_name = "P.toml")]
    config: Option<PathBuf>,

    /// Print the chain as JSON.
    #[arg(long)]
    json: bool,
}

/// Columns shown for a row, in this order, when it has them.
const SHOWN: &[&str] = &[
    "example_id",
    "doc_id",
    "source_id",
    "parent_id",
    "split",
    "aug_op",
    "aug_params",
    "hyp",
    "ref",
    "bleu",
    "rougeL",
    "src",
    "tgt",
    "src_doc_id",
    "tgt_doc_id",
    "title",
    "url",
    "final_url",
    "status",
    "fetched_at",
];

/// One row on the way back.
#[derive(Debug)]
struct Hop {
    /// Pipeline order of its stage (later stages first when printed).
    order: usize,
    what: String,
    section: String,
    fields: Vec<(String, String)>,
    manifest: Option<Manifest>,
}

pub(crate) fn run(args: &TraceArgs) -> Result<String> {
    let pipelines: Vec<PathBuf> = match &args.config {
        Some(p) => vec![p.clone()],
        None => {
            let mut files: Vec<PathBuf> = std::fs::read_dir("pipelines")
                .context("no --config given and no pipelines/ folder here")?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            files.sort_by_key(|p| (p.file_stem().is_none_or(|s| s != "demo"), p.clone()));
            files
        }
    };
    for path in &pipelines {
        let pipeline = Pipeline::load(path)?;
        let graph = Graph::build(&pipeline, KINDS)?;
        if let Some(hops) = trace(&graph, &args.id)? {
            return Ok(if args.json {
                format!(
                    "{}\n",
                    serde_json::to_string_pretty(&to_json(&args.id, path, &hops))?
                )
            } else {
                render(&args.id, path, &hops)
            });
        }
    }
    bail!(
        "{}: no output of {} holds this id (an example_id, doc_id or prediction)",
        args.id,
        pipelines
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// What to look for next, in the stages upstream.
#[derive(Debug, Default)]
struct Wanted {
    examples: BTreeSet<String>,
    docs: BTreeSet<String>,
}

fn trace(graph: &Graph, id: &str) -> Result<Option<Vec<Hop>>> {
    let order: HashMap<&str, usize> = graph
        .nodes()
        .iter()
        .enumerate()
        .map(|(i, n)| (n.section.as_str(), i))
        .collect();
    // The start: the last stage whose output holds the id.
    let mut start = None;
    for node in graph.nodes().iter().rev() {
        let Some(set) = open(&node.output) else {
            continue;
        };
        let mut hit = None;
        for column in ["example_id", "hyp", "doc_id"] {
            hit = find(&set, column, id)?;
            if hit.is_some() {
                break;
            }
        }
        if let Some(row) = hit {
            start = Some((node, set, row));
            break;
        }
    }
    let Some((node, set, row)) = start else {
        return Ok(None);
    };
    let mut hops = Vec::new();
    let mut wanted = Wanted::default();
    let what = if row.column_by_name("hyp").is_some() {
        "prediction"
    } else if row.column_by_name("doc_id").is_some() {
        "document"
    } else {
        "example"
    };
    follow(
        &set,
        &row,
        what,
        node,
        order[node.section.as_str()],
        &mut hops,
        &mut wanted,
    )?;

    let mut queue: VecDeque<&str> = node.upstream().collect();
    let mut seen: BTreeSet<&str> = queue.iter().copied().collect();
    while let Some(section) = queue.pop_front() {
        let Some(up) = graph.node(section) else {
            continue;
        };
        for s in up.upstream() {
            if seen.insert(s) {
                queue.push_back(s);
            }
        }
        let Some(set) = open(&up.output) else {
            continue;
        };
        let has = |c: &str| set.schema().index_of(c).is_ok();
        let pos = order[up.section.as_str()];
        if has("example_id") {
            let ids: Vec<String> = wanted.examples.iter().cloned().collect();
            for id in ids {
                if let Some(row) = find(&set, "example_id", &id)? {
                    follow(&set, &row, "example", up, pos, &mut hops, &mut wanted)?;
                }
            }
        } else if has("doc_id") {
            let ids: Vec<String> = wanted.docs.iter().cloned().collect();
            for id in ids {
                if let Some(row) = find(&set, "doc_id", &id)? {
                    follow(&set, &row, "document", up, pos, &mut hops, &mut wanted)?;
                }
            }
        }
    }
    // Later stages first; within a stage, in the order found.
    hops.sort_by_key(|h| std::cmp::Reverse(h.order));
    Ok(Some(hops))
}

/// Records the hop of `row` and what it points to: a variant's parent (in
/// the same dataset), the example's documents.
fn follow(
    set: &Dataset,
    row: &RecordBatch,
    what: &str,
    node: &ore_core::runner::Node,
    order: usize,
    hops: &mut Vec<Hop>,
    wanted: &mut Wanted,
) -> Result<()> {
    let get = |c: &str| value(row, c);
    let mut label = what.to_string();
    if what == "example"
        && let Some(op) = get("aug_op")
    {
        label = format!("variant ({op})");
    }
    let key = get("example_id")
        .or_else(|| get("doc_id"))
        .unwrap_or_default();
    // A stage whose rows pass through (split, augment) can hold the same
    // row twice in one walk; keep the first.
    let is_key = |(k, v): &(String, String)| (k == "example_id" || k == "doc_id") && *v == key;
    if hops
        .iter()
        .any(|h| h.section == node.section && h.fields.iter().any(is_key))
    {
        return Ok(());
    }
    hops.push(Hop {
        order,
        what: label,
        section: node.section.clone(),
        fields: SHOWN
            .iter()
            .filter_map(|c| get(c).map(|v| (c.to_string(), v)))
            .collect(),
        manifest: Manifest::read(&node.output).ok(),
    });
    if let Some(e) = get("example_id") {
        wanted.examples.insert(e);
    }
    for c in ["source_id", "src_doc_id", "tgt_doc_id"] {
        if let Some(d) = get(c) {
            wanted.docs.insert(d);
        }
    }
    if let Some(d) = get("doc_id") {
        wanted.docs.insert(d);
    }
    // A variant: its parent is in the same dataset.
    if let Some(parent) = get("parent_id")
        && get("aug_op").is_some()
        && let Some(prow) = find(set, "example_id", &parent)?
    {
        wanted.examples.insert(parent);
        follow(set, &prow, "example", node, order, hops, wanted)?;
    }
    Ok(())
}

/// The dataset at `path`, when there is one.
fn open(path: &std::path::Path) -> Option<Dataset> {
    if !path.join("_manifest.json").is_file() {
        return None;
    }
    Dataset::open(path).ok().filter(|d| !d.files().is_empty())
}

/// The first row whose `column` (a string column) equals `value`.
fn find(set: &Dataset, column: &str, value: &str) -> Result<Option<RecordBatch>> {
    if set.schema().index_of(column).is_err() {
        return Ok(None);
    }
    for batch in set.batches(4096) {
        let batch = batch?;
        let Some(col) = batch.column_by_name(column) else {
            continue;
        };
        let Some(strings) = col.as_string_opt::<i32>() else {
            return Ok(None);
        };
        if let Some(i) =
            (0..strings.len()).find(|&i| strings.is_valid(i) && strings.value(i) == value)
        {
            return Ok(Some(batch.slice(i, 1)));
        }
    }
    Ok(None)
}

/// A one-row batch's value of `column`, as text (`None`: no such column,
/// or null).
fn value(row: &RecordBatch, column: &str) -> Option<String> {
    let col = row.column_by_name(column)?;
    cells(col).into_iter().next().flatten()
}

fn short(s: &str, max: usize) -> String {
    let s = single_line(s);
    if s.chars().count() <= max {
        s
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

fn manifest_line(m: &Manifest) -> String {
    format!(
        "{} stage, config {}, revision {}, run {}",
        m.stage,
        {
            let hash = m.config_hash.trim_start_matches("sha256:");
            &hash[..hash.len().min(12)]
        },
        m.git_revision,
        m.started_at
    )
}

fn render(id: &str, pipeline: &std::path::Path, hops: &[Hop]) -> String {
    let chain: Vec<String> = hops
        .iter()
        .map(|h| format!("{} ({})", h.what, h.section))
        .collect();
    let mut out = format!("{id} in {}: {}\n", pipeline.display(), chain.join(" → "));
    if let Some(url) = hops
        .iter()
        .rev()
        .find_map(|h| h.fields.iter().find(|(k, _)| k == "url"))
    {
        out.push_str(&format!("from {}\n", url.1));
    }
    for h in hops {
        out.push_str(&format!("\n{} · {}", h.what, h.section));
        if let Some(m) = &h.manifest {
            out.push_str(&format!("  ({})", manifest_line(m)));
        }
        out.push('\n');
        for (k, v) in &h.fields {
            out.push_str(&format!("  {k:<11} {}\n", short(v, 100)));
        }
    }
    out
}

fn to_json(id: &str, pipeline: &std::path::Path, hops: &[Hop]) -> Value {
    json!({
        "id": id,
        "pipeline": pipeline,
        "chain": hops.iter().map(|h| json!({
            "what": h.what,
            "section": h.section,
            "row": h.fields.iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect::<serde_json::Map<_, _>>(),
            "manifest": h.manifest.as_ref().map(|m| json!({
                "stage": m.stage,
                "config_hash": m.config_hash,
                "git_revision": m.git_revision,
                "started_at": m.started_at,
            })),
        })).collect::<Vec<_>>(),
    })
}
