//! Pipeline files (`pipelines/*.toml`): one `[pipeline]` section and one
//! section per stage. Every section is parsed strictly: an unknown or
//! misspelled key, a wrong type or a missing file is one error line that
//! names the file and the key.
//!
//! A section is a stage of kind `stage` (default: the section's name) that
//! reads what `input` (and, for eval, `model`) names: another section, whose
//! output it then is, or a path. The other keys of the section are the
//! stage's config; `output` moves its output folder and `serve` starts a
//! local server for the stage's duration (see [`Serve`]).
//!
//! A few section names are not stages but belong to a command that reads
//! the pipeline file ([`TOOL_SECTIONS`]: `[sweep]`, read by `ore sweep`):
//! the graph never sees them, and [`Pipeline::tool_section`] hands them out.
//!
//! ```toml
//! [pipeline]
//! name = "demo"
//! seed = 42
//!
//! [clean]
//! input = "crawl"
//! quality.min_words = 5
//!
//! [pd_tokens]             # a second tokenize stage, on another input
//! stage = "tokenize"
//! input = "pd"
//! ```

use std::fs;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Keys of every stage section that wire the pipeline rather than
/// configure the stage; they are not part of the stage's config (nor of its
/// hash). The keys of the inputs a stage declares (`input`, eval's `model`)
/// are graph keys of that stage's sections too, and only of those: train's
/// `[train.model]` is its config.
pub const GRAPH_KEYS: &[&str] = &["stage", "output", "serve"];

/// Sections that are not stages: each belongs to the command named after
/// it (`[sweep]`: `ore sweep`'s search space), which parses it itself. They
/// are not part of the stage graph, so `ore run` and `ore status` pass
/// over them.
pub const TOOL_SECTIONS: &[&str] = &["sweep"];

/// A local server a stage needs while it runs (the demo's static copy of
/// a web site for the crawler): started before the stage, stopped by its
/// PID after it, also when the stage fails.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Serve {
    /// The program and its arguments (run in the current folder).
    pub command: Vec<String>,
    /// `HOST:PORT` that accepts connections once the server is ready.
    pub ready: String,
    /// How long to wait for it, in seconds.
    #[serde(default = "default_ready_timeout")]
    pub timeout_s: f64,
}

fn default_ready_timeout() -> f64 {
    60.0
}

/// The `[pipeline]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct PipelineSection {
    /// Name of the pipeline; outputs go to `<output_root>/<name>/<stage>/`.
    pub name: String,
    /// Run seed; every random choice derives from it and the row's id.
    #[serde(default)]
    pub seed: u64,
    /// Folder under which stage outputs are written.
    #[serde(default = "default_output_root")]
    pub output_root: PathBuf,
}

fn default_output_root() -> PathBuf {
    PathBuf::from("datasets")
}

/// A loaded pipeline file.
#[derive(Debug, Clone)]
pub struct Pipeline {
    path: PathBuf,
    pub pipeline: PipelineSection,
    sections: toml::Table,
    /// The [`TOOL_SECTIONS`] the file has.
    tools: toml::Table,
}

impl Pipeline {
    /// Reads and checks a pipeline file: TOML syntax, known section names and
    /// the `[pipeline]` section. Stage sections are checked by
    /// [`Pipeline::section`] when the stage builds its config.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let text = fs::read_to_string(&path)
            .map_err(|e| config_error(&path, format!("cannot read: {e}")))?;
        Self::parse(&path, &text)
    }

    /// Like [`Pipeline::load`] on text already in memory; `path` is used in
    /// error messages.
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let mut table: toml::Table = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| line_col(text, s.start))
                .map(|(l, c)| format!("line {l}, column {c}: "))
                .unwrap_or_default();
            config_error(path, format!("{at}{}", one_line(e.message())))
        })?;
        for (key, value) in &table {
            if !value.is_table() {
                return Err(config_error(
                    path,
                    format!(
                        "key `{key}`: expected a section `[{key}]`, found a {}",
                        value.type_str()
                    ),
                ));
            }
        }
        let pipeline = table
            .remove("pipeline")
            .ok_or_else(|| config_error(path, "missing `[pipeline]` section with `name`".into()))?;
        let pipeline = deserialize_section(path, "pipeline", pipeline)?;
        let mut tools = toml::Table::new();
        for name in TOOL_SECTIONS {
            if let Some(section) = table.remove(*name) {
                tools.insert((*name).to_string(), section);
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            pipeline,
            sections: table,
            tools,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the file has a section `name`.
    pub fn has_section(&self, name: &str) -> bool {
        self.sections.contains_key(name)
    }

    /// The stage sections, in file order.
    pub fn section_names(&self) -> impl Iterator<Item = &str> {
        self.sections.keys().map(String::as_str)
    }

    /// Tool section `name` (one of [`TOOL_SECTIONS`]) as written, if the
    /// file has it.
    pub fn tool_section(&self, name: &str) -> Option<&toml::Table> {
        self.tools.get(name)?.as_table()
    }

    /// Tool section `name` as `T`, strictly (an unknown key is an error
    /// naming it), or `None` when the file has no such section.
    pub fn tool_config<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>> {
        self.tools
            .get(name)
            .map(|value| deserialize_section(&self.path, name, value.clone()))
            .transpose()
    }

    /// The kind of stage section `name` runs: its `stage` key, or its name.
    pub fn kind_of(&self, name: &str) -> Result<String> {
        match self.graph_value(name, "stage") {
            None => Ok(name.to_string()),
            Some(toml::Value::String(kind)) => Ok(kind.clone()),
            Some(other) => Err(config_error(
                &self.path,
                format!(
                    "key `{name}.stage`: expected a stage name, found a {}",
                    other.type_str()
                ),
            )),
        }
    }

    fn graph_value(&self, name: &str, key: &str) -> Option<&toml::Value> {
        self.sections.get(name)?.as_table()?.get(key)
    }

    /// What key `key` (`input`, `model`) of section `name` names: a string
    /// or a list of strings, each a section or a path; `None` if absent.
    pub fn refs(&self, name: &str, key: &str) -> Result<Option<Vec<String>>> {
        let bad = |found: &str| {
            config_error(
                &self.path,
                format!(
                    "key `{name}.{key}`: expected a stage name or a path (or a list of them), found {found}"
                ),
            )
        };
        match self.graph_value(name, key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(vec![s.clone()])),
            Some(toml::Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| bad(v.type_str()))
                })
                .collect::<Result<Vec<_>>>()
                .map(Some),
            Some(other) => Err(bad(other.type_str())),
        }
    }

    /// The server section `name` needs while it runs, if any.
    pub fn serve(&self, name: &str) -> Result<Option<Serve>> {
        match self.graph_value(name, "serve") {
            None => Ok(None),
            Some(value) => {
                deserialize_section(&self.path, &format!("{name}.serve"), value.clone()).map(Some)
            }
        }
    }

    /// Builds a stage's config from section `name` without its graph keys
    /// ([`GRAPH_KEYS`] and `input`), or its `Default` when the section is
    /// absent. For a stage that declares other inputs, see
    /// [`Pipeline::stage_config`].
    pub fn section<T: DeserializeOwned + Default>(&self, name: &str) -> Result<T> {
        self.stage_config(name, &["input"])
    }

    /// Builds a stage's config from section `name` without [`GRAPH_KEYS`]
    /// and the keys of the inputs the stage declares, or its `Default` when
    /// the section is absent.
    pub fn stage_config<T: DeserializeOwned + Default>(
        &self,
        name: &str,
        input_keys: &[&str],
    ) -> Result<T> {
        match self.sections.get(name) {
            Some(value) => {
                let mut value = value.clone();
                if let Some(table) = value.as_table_mut() {
                    for key in GRAPH_KEYS.iter().chain(input_keys) {
                        table.remove(*key);
                    }
                }
                deserialize_section(&self.path, name, value)
            }
            None => Ok(T::default()),
        }
    }

    /// Where section `name` (a stage's, or a tool's) writes: its `output`
    /// key, else `<output_root>/<pipeline name>/<name>`.
    pub fn stage_output(&self, name: &str) -> PathBuf {
        let output = self
            .sections
            .get(name)
            .or_else(|| self.tools.get(name))
            .and_then(|s| s.get("output"));
        if let Some(toml::Value::String(path)) = output {
            return PathBuf::from(path);
        }
        self.pipeline
            .output_root
            .join(&self.pipeline.name)
            .join(name)
    }

    /// Applies a `--set SECTION.KEY=VALUE` override: the value is read as
    /// TOML (`6`, `true`, `[1, 2]`, `"x"`), else taken as a string.
    /// `pipeline.seed` and the other `[pipeline]` keys can be set too.
    pub fn set(&mut self, assignment: &str) -> Result<()> {
        let Some((key, raw)) = assignment.split_once('=') else {
            return Err(config_error(
                &self.path,
                format!("--set `{assignment}`: expected SECTION.KEY=VALUE"),
            ));
        };
        let key = key.trim();
        let raw = raw.trim();
        let value: toml::Value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.to_string()));
        let parts: Vec<&str> = key.split('.').collect();
        if parts.len() < 2 || parts.iter().any(|p| p.is_empty()) {
            return Err(config_error(
                &self.path,
                format!("--set `{assignment}`: expected SECTION.KEY=VALUE"),
            ));
        }
        if parts[0] == "pipeline" {
            let mut table = toml::Table::try_from(&self.pipeline)
                .map_err(|e| config_error(&self.path, e.to_string()))?;
            insert_path(&mut table, &parts[1..], value);
            self.pipeline = deserialize_section(&self.path, "pipeline", toml::Value::Table(table))?;
            return Ok(());
        }
        let sections = if self.tools.contains_key(parts[0]) {
            &mut self.tools
        } else {
            &mut self.sections
        };
        if !sections.contains_key(parts[0]) {
            return Err(config_error(
                &self.path,
                format!("--set `{assignment}`: no section `[{}]`", parts[0]),
            ));
        }
        let table = sections
            .get_mut(parts[0])
            .and_then(toml::Value::as_table_mut)
            .ok_or_else(|| config_error(&self.path, format!("`{}` is not a section", parts[0])))?;
        insert_path(table, &parts[1..], value);
        Ok(())
    }
}

fn insert_path(table: &mut toml::Table, path: &[&str], value: toml::Value) {
    match path {
        [] => {}
        [last] => {
            table.insert((*last).to_string(), value);
        }
        [first, rest @ ..] => {
            let entry = table
                .entry((*first).to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            if let Some(inner) = entry.as_table_mut() {
                insert_path(inner, rest, value);
            }
        }
    }
}

fn deserialize_section<T: DeserializeOwned>(
    path: &Path,
    section: &str,
    value: toml::Value,
) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        let message = one_line(&e.into_inner().to_string());
        let mut key = if inner == "." {
            section.to_string()
        } else {
            format!("{section}.{inner}")
        };
        // For an unknown field the path stops at its parent; name the field.
        if let Some(field) = unknown_field(&message)
            && !key.ends_with(&format!(".{field}"))
        {
            key = format!("{key}.{field}");
        }
        config_error(path, format!("key `{key}`: {message}"))
    })
}

fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn config_error(path: &Path, message: String) -> Error {
    Error::Config {
        path: path.to_path_buf(),
        message,
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct CleanConfig {
        #[serde(default)]
        min_chars: usize,
        #[serde(default)]
        filters: Filters,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Filters {
        #[serde(default)]
        max_symbol_ratio: f64,
    }

    fn parse(text: &str) -> Result<Pipeline> {
        Pipeline::parse(Path::new("pipelines/t.toml"), text)
    }

    #[test]
    fn reads_sections_and_defaults() {
        let p = parse("[pipeline]\nname = \"t\"\nseed = 7\n[clean]\nmin_chars = 20\n").unwrap();
        assert_eq!(p.pipeline.seed, 7);
        assert_eq!(p.stage_output("clean"), PathBuf::from("datasets/t/clean"));
        let clean: CleanConfig = p.section("clean").unwrap();
        assert_eq!(clean.min_chars, 20);
        let absent: CleanConfig = p.section("tokenize").unwrap();
        assert_eq!(absent.min_chars, 0);
    }

    #[test]
    fn unknown_key_names_file_and_key() {
        let p = parse("[pipeline]\nname = \"t\"\n[clean]\nmin_charz = 20\n").unwrap();
        let err = p.section::<CleanConfig>("clean").unwrap_err().to_string();
        assert!(err.starts_with("pipelines/t.toml: "), "{err}");
        assert!(err.contains("`clean.min_charz`"), "{err}");
        assert!(!err.contains('\n'), "one line: {err}");
    }

    #[test]
    fn unknown_nested_key_names_full_path() {
        let p =
            parse("[pipeline]\nname = \"t\"\n[clean.filters]\nmax_symbol_ratoi = 0.1\n").unwrap();
        let err = p.section::<CleanConfig>("clean").unwrap_err().to_string();
        assert!(err.contains("`clean.filters.max_symbol_ratoi`"), "{err}");
    }

    #[test]
    fn wrong_type_names_key() {
        let p = parse("[pipeline]\nname = \"t\"\n[clean]\nmin_chars = \"many\"\n").unwrap();
        let err = p.section::<CleanConfig>("clean").unwrap_err().to_string();
        assert!(err.contains("`clean.min_chars`"), "{err}");
    }

    #[test]
    fn unknown_key_in_pipeline_section() {
        let err = parse("[pipeline]\nname = \"t\"\nseeed = 1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`pipeline.seeed`"), "{err}");
    }

    #[test]
    fn graph_keys_are_not_config() {
        let p = parse(
            "[pipeline]\nname = \"t\"\n[pd_clean]\nstage = \"clean\"\ninput = [\"a\", \"b\"]\noutput = \"o\"\nmin_chars = 3\n",
        )
        .unwrap();
        let clean: CleanConfig = p.section("pd_clean").unwrap();
        assert_eq!(clean.min_chars, 3);
        assert_eq!(p.kind_of("pd_clean").unwrap(), "clean");
        assert_eq!(
            p.refs("pd_clean", "input").unwrap(),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(p.refs("pd_clean", "model").unwrap(), None);
        assert_eq!(p.stage_output("pd_clean"), PathBuf::from("o"));
    }

    /// Train's `[train.model]` is its config, while `model` is an input
    /// key of eval: a stage's graph keys are those it declares.
    #[test]
    fn a_config_key_named_like_another_stages_input_stays_config() {
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Train {
            #[serde(default)]
            model: BTreeMap<String, u32>,
        }
        let p =
            parse("[pipeline]\nname = \"t\"\n[train]\ninput = \"x\"\n[train.model]\nhidden = 3\n")
                .unwrap();
        let train: Train = p.stage_config("train", &["input"]).unwrap();
        assert_eq!(train.model["hidden"], 3);
        let stripped: Train = p.stage_config("train", &["input", "model"]).unwrap();
        assert!(stripped.model.is_empty());
    }

    #[test]
    fn a_bad_input_key_names_it() {
        let p = parse("[pipeline]\nname = \"t\"\n[clean]\ninput = 3\n").unwrap();
        let err = p.refs("clean", "input").unwrap_err().to_string();
        assert!(err.contains("`clean.input`"), "{err}");
    }

    #[test]
    fn set_overrides_nested_keys_and_the_seed() {
        let mut p = parse("[pipeline]\nname = \"t\"\nseed = 1\n[clean]\nmin_chars = 20\n").unwrap();
        p.set("clean.filters.max_symbol_ratio=0.5").unwrap();
        p.set("clean.min_chars = 7").unwrap();
        p.set("pipeline.seed=9").unwrap();
        let clean: CleanConfig = p.section("clean").unwrap();
        assert_eq!(clean.min_chars, 7);
        assert_eq!(clean.filters.max_symbol_ratio, 0.5);
        assert_eq!(p.pipeline.seed, 9);
        assert!(
            p.set("nowhere.x=1")
                .unwrap_err()
                .to_string()
                .contains("no section `[nowhere]`")
        );
        assert!(p.set("clean").is_err());
    }

    /// `[sweep]` belongs to `ore sweep`: it is neither a stage section nor
    /// lost, and `--set` reaches it.
    #[test]
    fn a_tool_section_is_kept_apart_from_the_stages() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Sweep {
            trials: u32,
            output: Option<String>,
        }
        let mut p = parse(
            "[pipeline]\nname = \"t\"\n[clean]\nmin_chars = 2\n[sweep]\ntrials = 3\n[sweep.space]\n\"model.hidden\" = [1, 2]\n",
        )
        .unwrap();
        assert_eq!(p.section_names().collect::<Vec<_>>(), ["clean"]);
        assert!(!p.has_section("sweep"));
        assert!(p.tool_section("sweep").unwrap().contains_key("space"));
        assert!(p.tool_section("nothing").is_none());
        p.set("sweep.trials=5").unwrap();
        p.tool_section("sweep").unwrap().get("space").unwrap();
        let err = p.tool_config::<Sweep>("sweep").unwrap_err().to_string();
        assert!(err.contains("`sweep.space`"), "{err}");
        let mut p = parse("[pipeline]\nname = \"t\"\n[sweep]\ntrials = 3\n").unwrap();
        p.set("sweep.trials=5").unwrap();
        assert_eq!(p.tool_config::<Sweep>("sweep").unwrap().unwrap().trials, 5);
        assert_eq!(p.stage_output("sweep"), PathBuf::from("datasets/t/sweep"));
        p.set("sweep.output=\"o\"").unwrap();
        assert_eq!(p.stage_output("sweep"), PathBuf::from("o"));
        let sweep = p.tool_config::<Sweep>("sweep").unwrap().unwrap();
        assert_eq!(sweep.output.as_deref(), Some("o"));
    }

    #[test]
    fn a_section_must_be_a_table() {
        let err = parse("clean = 3\n[pipeline]\nname = \"t\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("key `clean`"), "{err}");
    }

    #[test]
    fn syntax_error_gives_line() {
        let err = parse("[pipeline]\nname = \n").unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
        assert!(!err.contains('\n'), "one line: {err}");
    }

    #[test]
    fn missing_file_names_it() {
        let err = Pipeline::load("pipelines/does-not-exist.toml")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("pipelines/does-not-exist.toml: cannot read"),
            "{err}"
        );
    }
}
