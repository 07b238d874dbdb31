use std::path::Path;
use std::sync::Arc;

use arrow_array::{RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use serde::{Deserialize, Serialize};

use super::*;
use crate::contract::StageDef;
use crate::{StageInfo, StageOutput, WriteOptions};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Knobs {
    #[serde(default)]
    level: u32,
}

struct Source;
impl StageDef for Source {
    const KIND: &'static str = "source";
    const INPUTS: &'static [InputSpec] = &[];
    const SEEDED: bool = false;
    type Config = Knobs;
}

struct Filter;
impl StageDef for Filter {
    const KIND: &'static str = "filter";
    const INPUTS: &'static [InputSpec] = &[InputSpec::dataset(&["source"])];
    const SEEDED: bool = true;
    type Config = Knobs;
}

const KINDS: &[StageKind] = &[StageKind::of::<Source>(), StageKind::of::<Filter>()];

fn pipeline(dir: &Path, body: &str) -> Pipeline {
    let text = format!(
        "[pipeline]\nname = \"t\"\nseed = 1\noutput_root = \"{}\"\n{body}",
        dir.display()
    );
    Pipeline::parse(Path::new("p.toml"), &text).expect("pipeline")
}

fn graph(dir: &Path, body: &str) -> Result<Graph> {
    Graph::build(&pipeline(dir, body), KINDS)
}

/// Commits a one-row dataset as `node` would, reading `inputs`.
fn commit(node: &Node, seed: u64, text: &str) {
    let schema = Arc::new(Schema::new(vec![Field::new("text", DataType::Utf8, false)]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(StringArray::from(vec![text]))],
    )
    .expect("batch");
    let mut info = StageInfo::new(node.kind.kind, &node.config, seed);
    info.config = node.config.clone();
    let mut out =
        StageOutput::create(&node.output, schema, info, WriteOptions::default()).expect("create");
    for path in node.input_paths("input") {
        out.add_input(&Dataset::open(&path).expect("input"))
            .expect("add");
    }
    out.count_input(1);
    out.write(&batch).expect("write");
    out.commit().expect("commit");
}

#[test]
fn stages_are_ordered_by_their_inputs_and_file_order() {
    let dir = tempfile::tempdir().expect("tmp");
    let g = graph(
        dir.path(),
        "[b]\nstage = \"filter\"\ninput = \"a\"\n[a]\nstage = \"source\"\n[c]\nstage = \"filter\"\ninput = \"a\"\n",
    )
    .expect("graph");
    let order: Vec<&str> = g.nodes().iter().map(|n| n.section.as_str()).collect();
    assert_eq!(order, ["a", "b", "c"]);
    assert_eq!(
        g.downstream("a").into_iter().collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    assert_eq!(g.downstream("b").into_iter().collect::<Vec<_>>(), ["b"]);
}

/// `[sweep]` is `ore sweep`'s, not a stage: the graph passes over it.
#[test]
fn a_sweep_section_is_not_a_stage() {
    let dir = tempfile::tempdir().expect("tmp");
    let g = graph(
        dir.path(),
        "[a]\nstage = \"source\"\n[sweep]\nstage = \"a\"\n[sweep.space]\nlevel = [1, 2]\n",
    )
    .expect("graph");
    let order: Vec<&str> = g.nodes().iter().map(|n| n.section.as_str()).collect();
    assert_eq!(order, ["a"]);
}

#[test]
fn a_cycle_is_one_error_naming_the_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let err = graph(
        dir.path(),
        "[a]\nstage = \"filter\"\ninput = \"b\"\n[b]\nstage = \"filter\"\ninput = \"a\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("p.toml: key `a.input`: cycle: a → b → a"),
        "{err}"
    );
    assert!(!err.contains('\n'), "{err}");
    let err = graph(dir.path(), "[a]\nstage = \"filter\"\ninput = \"a\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("`a` reads its own output"), "{err}");
}

#[test]
fn unknown_stages_and_inputs_that_name_nothing_are_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let err = graph(dir.path(), "[cleen]\n").unwrap_err().to_string();
    assert!(err.contains("unknown section `[cleen]`"), "{err}");
    let err = graph(dir.path(), "[x]\nstage = \"fliter\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("key `x.stage`: unknown stage `fliter`"),
        "{err}"
    );
    let g = graph(dir.path(), "[f]\nstage = \"filter\"\ninput = \"sorce\"\n").expect("graph");
    let err = g
        .check_runnable(g.require("f").expect("f"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "key `f.input`: `sorce` is neither a stage of this pipeline nor an existing path"
        ),
        "{err}"
    );
    let g = graph(dir.path(), "[filter]\n").expect("graph");
    let err = g
        .check_runnable(g.require("filter").expect("f"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("key `filter.input` is missing"), "{err}");
    assert!(g.require("nope").is_err());
    let err = graph(dir.path(), "[source]\nlevle = 1\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("`source.levle`"), "{err}");
}

#[test]
fn up_to_date_until_an_input_config_or_seed_changes() {
    let dir = tempfile::tempdir().expect("tmp");
    let body = "[source]\n[filter]\ninput = \"source\"\nlevel = 1\n";
    let g = graph(dir.path(), body).expect("graph");
    let none = BTreeSet::new();
    let (source, filter) = (
        g.require("source").expect("s"),
        g.require("filter").expect("f"),
    );
    assert_eq!(
        g.check(source, &none, &mut Hashes::default()),
        ["output missing"]
    );
    commit(source, 1, "a");
    commit(filter, 1, "b");
    assert!(g.check(source, &none, &mut Hashes::default()).is_empty());
    assert!(g.check(filter, &none, &mut Hashes::default()).is_empty());

    // A rerun upstream makes the reader stale.
    let rerun = BTreeSet::from(["source".to_string()]);
    assert_eq!(
        g.check(filter, &rerun, &mut Hashes::default()),
        ["input `source` is rerun"]
    );

    // A config change names the key with both values.
    let g2 = graph(dir.path(), &body.replace("level = 1", "level = 2")).expect("graph");
    let reasons = g2.check(
        g2.require("filter").expect("f"),
        &none,
        &mut Hashes::default(),
    );
    assert_eq!(reasons, ["config `filter.level`: 1 → 2"]);

    // The seed counts for seeded stages only.
    let mut p = pipeline(dir.path(), body);
    p.set("pipeline.seed=5").expect("set");
    let g4 = Graph::build(&p, KINDS).expect("graph");
    assert!(
        g4.check(
            g4.require("source").expect("s"),
            &none,
            &mut Hashes::default()
        )
        .is_empty()
    );
    assert_eq!(
        g4.check(
            g4.require("filter").expect("f"),
            &none,
            &mut Hashes::default()
        ),
        ["seed 1 → 5"]
    );

    // A new upstream output (different content) is a changed input.
    commit(source, 1, "a changed");
    assert_eq!(
        g.check(filter, &none, &mut Hashes::default()),
        ["input `source` changed"]
    );
}

#[test]
fn output_hash_equals_the_content_hash_its_readers_record() {
    let dir = tempfile::tempdir().expect("tmp");
    let g = graph(dir.path(), "[source]\n").expect("graph");
    let source = g.require("source").expect("s");
    commit(source, 1, "x");
    let manifest = Manifest::read(&source.output).expect("manifest");
    assert_eq!(
        manifest.output_hash.expect("output_hash"),
        Dataset::open(&source.output)
            .expect("open")
            .content_hash()
            .expect("hash")
    );
}
