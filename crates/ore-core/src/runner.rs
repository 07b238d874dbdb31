//! The pipeline as a graph of stages, and which of them are up to date.
//!
//! [`Graph::build`] reads a [`Pipeline`]: every section is a stage of a
//! known kind, its inputs name other sections (whose outputs they are) or
//! paths, and the stages are put in dependency order (file order where the
//! graph leaves a choice). An unknown stage, an input that names nothing or
//! a cycle is one error naming the file and the key.
//!
//! [`Graph::check`] decides whether a stage's output is up to date the way
//! DVC's lock file does, but from the manifests ore already writes: the
//! output's manifest must record the same stage, ore version, config, seed
//! (for seeded stages) and input content hashes as now. Input hashes come
//! from the inputs' own manifests (`output_hash`, recorded at commit), so
//! deciding never re-reads a dataset that ore wrote.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::config::Pipeline;
use crate::contract::{InputKind, InputSpec, StageKind};
use crate::dataset::{Dataset, MANIFEST_FILE};
use crate::error::{Error, Result};
use crate::manifest::{Manifest, ORE_VERSION, file_hash, folder_hash};

/// What one input key of a stage names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputRef {
    /// The output of another section.
    Stage { section: String, path: PathBuf },
    /// A path outside the pipeline.
    Path(PathBuf),
}

impl InputRef {
    pub fn path(&self) -> &Path {
        match self {
            InputRef::Stage { path, .. } | InputRef::Path(path) => path,
        }
    }

    /// The section it names, if any.
    pub fn section(&self) -> Option<&str> {
        match self {
            InputRef::Stage { section, .. } => Some(section),
            InputRef::Path(_) => None,
        }
    }
}

/// One stage of a pipeline.
#[derive(Debug, Clone)]
pub struct Node {
    pub section: String,
    pub kind: StageKind,
    /// Each declared input with what the section names for it (empty when
    /// the section names nothing and there is no default).
    pub inputs: Vec<(InputSpec, Vec<InputRef>)>,
    pub output: PathBuf,
    /// The section's config after defaults (what the manifest records).
    pub config: serde_json::Value,
}

impl Node {
    /// The sections this stage reads.
    pub fn upstream(&self) -> impl Iterator<Item = &str> {
        self.inputs
            .iter()
            .flat_map(|(_, refs)| refs.iter().filter_map(InputRef::section))
    }

    /// The paths of input `key`.
    pub fn input_paths(&self, key: &str) -> Vec<PathBuf> {
        self.inputs
            .iter()
            .filter(|(spec, _)| spec.key == key)
            .flat_map(|(_, refs)| refs.iter().map(|r| r.path().to_path_buf()))
            .collect()
    }
}

/// A pipeline's stages in dependency order.
#[derive(Debug, Clone)]
pub struct Graph {
    path: PathBuf,
    seed: u64,
    nodes: Vec<Node>,
}

/// Why a stage is not up to date; empty when it is.
pub type Reasons = Vec<String>;

impl Graph {
    /// Checks every section of `pipeline` against the stage `kinds` and
    /// orders them.
    pub fn build(pipeline: &Pipeline, kinds: &[StageKind]) -> Result<Self> {
        let path = pipeline.path().to_path_buf();
        let err = |message: String| Error::Config {
            path: path.clone(),
            message,
        };
        let known = || kinds.iter().map(|k| k.kind).collect::<Vec<_>>().join(", ");
        let mut nodes = Vec::new();
        for name in pipeline.section_names() {
            let kind_name = pipeline.kind_of(name)?;
            let Some(kind) = kinds.iter().find(|k| k.kind == kind_name) else {
                return Err(err(if kind_name == name {
                    format!(
                        "unknown section `[{name}]`: not a stage (expected one of: {}; or give it `stage = \"KIND\"`)",
                        known()
                    )
                } else {
                    format!(
                        "key `{name}.stage`: unknown stage `{kind_name}` (expected one of: {})",
                        known()
                    )
                }));
            };
            let config = (kind.config)(pipeline, name)?;
            let mut inputs = Vec::new();
            for spec in kind.inputs {
                let refs = match pipeline.refs(name, spec.key)? {
                    Some(refs) => refs,
                    None => default_input(pipeline, name, spec).into_iter().collect(),
                };
                if refs.len() > 1 && !spec.many {
                    return Err(err(format!(
                        "key `{name}.{}`: stage `{}` reads one {}, not {}",
                        spec.key,
                        kind.kind,
                        spec.key,
                        refs.len()
                    )));
                }
                let refs = refs
                    .into_iter()
                    .map(|r| {
                        if r == name {
                            Err(err(format!(
                                "key `{name}.{}`: cycle: `{name}` reads its own output",
                                spec.key
                            )))
                        } else if pipeline.has_section(&r) {
                            Ok(InputRef::Stage {
                                path: pipeline.stage_output(&r),
                                section: r,
                            })
                        } else if let Some((section, sub)) = r.split_once('/')
                            && pipeline.has_section(section)
                            && !sub.is_empty()
                        {
                            // A sub-dataset of a stage's output (`split/train`).
                            Ok(InputRef::Stage {
                                path: pipeline.stage_output(section).join(sub),
                                section: section.to_string(),
                            })
                        } else {
                            Ok(InputRef::Path(PathBuf::from(r)))
                        }
                    })
                    .collect::<Result<Vec<_>>>()?;
                inputs.push((*spec, refs));
            }
            nodes.push(Node {
                section: name.to_string(),
                kind: *kind,
                inputs,
                output: pipeline.stage_output(name),
                config,
            });
        }
        let nodes = order(nodes).map_err(err)?;
        Ok(Self {
            path,
            seed: pipeline.pipeline.seed,
            nodes,
        })
    }

    /// The stages in dependency order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn node(&self, section: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.section == section)
    }

    /// The node of `section`, or an error listing the sections there are.
    pub fn require(&self, section: &str) -> Result<&Node> {
        self.node(section).ok_or_else(|| Error::Config {
            path: self.path.clone(),
            message: format!(
                "no stage `{section}` in this pipeline (it has: {})",
                self.nodes
                    .iter()
                    .map(|n| n.section.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
    }

    /// `section` and every stage that reads its output, directly or not.
    pub fn downstream(&self, section: &str) -> BTreeSet<String> {
        let mut found = BTreeSet::from([section.to_string()]);
        for node in &self.nodes {
            if node.upstream().any(|u| found.contains(u)) {
                found.insert(node.section.clone());
            }
        }
        found
    }

    /// Checks that `node` can run: every required input is named, and
    /// every path it names (outside the pipeline) exists.
    pub fn check_runnable(&self, node: &Node) -> Result<()> {
        for (spec, refs) in &node.inputs {
            if refs.is_empty() && spec.required {
                return Err(Error::Config {
                    path: self.path.clone(),
                    message: format!(
                        "key `{}.{}` is missing: name the stage (or path) that `{}` reads",
                        node.section, spec.key, node.section
                    ),
                });
            }
            for r in refs {
                if let InputRef::Path(p) = r
                    && !p.exists()
                {
                    return Err(Error::Config {
                        path: self.path.clone(),
                        message: format!(
                            "key `{}.{}`: `{}` is neither a stage of this pipeline nor an existing path",
                            node.section,
                            spec.key,
                            p.display()
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// Why `node`'s output is not up to date (empty when it is).
    /// `rerun` holds the stages that run (or would run) before it in this
    /// run; their outputs count as changed.
    pub fn check(&self, node: &Node, rerun: &BTreeSet<String>, hashes: &mut Hashes) -> Reasons {
        if !node.output.exists() {
            return vec!["output missing".into()];
        }
        let manifest = match Manifest::read(&node.output) {
            Ok(m) => m,
            Err(_) if !node.output.join(MANIFEST_FILE).exists() => {
                return vec![format!("output has no {MANIFEST_FILE}")];
            }
            Err(e) => return vec![format!("output's manifest is unreadable: {e}")],
        };
        let mut reasons = Vec::new();
        if manifest.stage != node.kind.kind {
            reasons.push(format!(
                "output was written by stage `{}`, not `{}`",
                manifest.stage, node.kind.kind
            ));
        }
        if manifest.ore_version != ORE_VERSION {
            reasons.push(format!(
                "ore version {} → {ORE_VERSION}",
                manifest.ore_version
            ));
        }
        if node.kind.seeded && manifest.seed != self.seed {
            reasons.push(format!("seed {} → {}", manifest.seed, self.seed));
        }
        let mut changed = Vec::new();
        diff_json(&node.section, &manifest.config, &node.config, &mut changed);
        reasons.extend(changed.into_iter().map(|c| format!("config {c}")));
        for (spec, refs) in &node.inputs {
            for r in refs {
                if let Some(section) = r.section()
                    && rerun.contains(section)
                {
                    reasons.push(format!("input `{section}` is rerun"));
                    continue;
                }
                let label = match r.section() {
                    Some(s) => format!("input `{s}`"),
                    None => format!("input `{}`", r.path().display()),
                };
                let recorded = manifest
                    .inputs
                    .iter()
                    .find(|i| same_path(&i.path, r.path()));
                let Some(recorded) = recorded else {
                    reasons.push(format!(
                        "{label} is new (the output was made from {})",
                        if manifest.inputs.is_empty() {
                            "no input".to_string()
                        } else {
                            manifest
                                .inputs
                                .iter()
                                .map(|i| format!("`{}`", i.path.display()))
                                .collect::<Vec<_>>()
                                .join(", ")
                        }
                    ));
                    continue;
                };
                match hashes.of(r.path(), spec.kind) {
                    Ok(hash) if hash == recorded.content_hash => {}
                    Ok(_) => reasons.push(format!("{label} changed")),
                    Err(e) => reasons.push(format!("{label} cannot be read: {e}")),
                }
            }
        }
        for file in &manifest.files {
            if !node.output.join(file).exists() {
                reasons.push(format!("output file `{file}` is missing"));
                break;
            }
        }
        reasons
    }
}

/// The default of an input the section does not name.
fn default_input(pipeline: &Pipeline, name: &str, spec: &InputSpec) -> Option<String> {
    let others = || spec.defaults.iter().filter(|d| **d != name);
    others()
        .find(|d| pipeline.has_section(d))
        .or_else(|| others().find(|d| pipeline.stage_output(d).exists()))
        .map(|d| {
            if pipeline.has_section(d) {
                (*d).to_string()
            } else {
                pipeline.stage_output(d).to_string_lossy().into_owned()
            }
        })
}

/// Dependency order, file order among stages that are free to go.
fn order(mut pending: Vec<Node>) -> std::result::Result<Vec<Node>, String> {
    let mut placed: Vec<Node> = Vec::with_capacity(pending.len());
    let names: BTreeSet<String> = pending.iter().map(|n| n.section.clone()).collect();
    while !pending.is_empty() {
        let ready = pending.iter().position(|n| {
            n.upstream()
                .all(|u| !names.contains(u) || placed.iter().any(|p| p.section == u))
        });
        match ready {
            Some(i) => placed.push(pending.remove(i)),
            None => return Err(describe_cycle(&pending)),
        }
    }
    Ok(placed)
}

fn describe_cycle(pending: &[Node]) -> String {
    // Every pending node waits on another pending one: walk until a repeat.
    let find = |s: &str| pending.iter().find(|n| n.section == s);
    let mut path: Vec<&Node> = vec![&pending[0]];
    loop {
        let current = path[path.len() - 1];
        let Some(next) = current.upstream().find_map(find) else {
            break;
        };
        if let Some(start) = path.iter().position(|n| n.section == next.section) {
            let cycle: Vec<&str> = path[start..]
                .iter()
                .map(|n| n.section.as_str())
                .chain([next.section.as_str()])
                .collect();
            let key = path[start..]
                .iter()
                .find_map(|n| {
                    n.inputs
                        .iter()
                        .find(|(_, refs)| refs.iter().any(|r| r.section().is_some()))
                        .map(|(spec, _)| format!("{}.{}", n.section, spec.key))
                })
                .unwrap_or_default();
            return format!("key `{key}`: cycle: {}", cycle.join(" → "));
        }
        path.push(next);
    }
    "the stages' inputs form a cycle".into()
}

/// Whether two paths name the same file or folder (literally, or once
/// both are resolved).
pub fn same_path(a: &Path, b: &Path) -> bool {
    if a == b {
        return true;
    }
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The changed leaves between a recorded and a current config, as
/// "`section.key`: old → new".
fn diff_json(
    prefix: &str,
    old: &serde_json::Value,
    new: &serde_json::Value,
    out: &mut Vec<String>,
) {
    use serde_json::Value;
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let null = Value::Null;
                diff_json(
                    &format!("{prefix}.{key}"),
                    a.get(key).unwrap_or(&null),
                    b.get(key).unwrap_or(&null),
                    out,
                );
            }
        }
        (a, b) if a != b => out.push(format!("`{prefix}`: {} → {}", short(a), short(b))),
        _ => {}
    }
}

fn short(value: &serde_json::Value) -> String {
    let text = match value {
        serde_json::Value::Null => "(none)".to_string(),
        other => other.to_string(),
    };
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(59).collect::<String>())
    } else {
        text
    }
}

/// Content hashes of inputs, each computed once: from the input's
/// manifest when ore wrote it, else from its bytes.
#[derive(Debug, Default)]
pub struct Hashes {
    known: BTreeMap<PathBuf, String>,
}

impl Hashes {
    /// Forgets the hash of `path` and of every dataset inside it (a stage
    /// just rewrote it).
    pub fn forget(&mut self, path: &Path) {
        self.known.retain(|known, _| !known.starts_with(path));
    }

    pub fn of(&mut self, path: &Path, kind: InputKind) -> Result<String> {
        if let Some(hash) = self.known.get(path) {
            return Ok(hash.clone());
        }
        let hash = input_hash(path, kind)?;
        self.known.insert(path.to_path_buf(), hash.clone());
        Ok(hash)
    }
}

/// The content hash of an input as its reader records it: a dataset's or
/// model folder's `output_hash` from its manifest, else computed.
pub fn input_hash(path: &Path, kind: InputKind) -> Result<String> {
    if path.join(MANIFEST_FILE).is_file()
        && let Ok(manifest) = Manifest::read(path)
        && let Some(hash) = manifest.output_hash
    {
        return Ok(hash);
    }
    match kind {
        InputKind::Files => file_hash(path),
        InputKind::Model => folder_hash(path),
        InputKind::Dataset => Dataset::open(path)?.content_hash(),
    }
}

#[cfg(test)]
mod tests;
