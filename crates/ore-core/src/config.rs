//! Pipeline files (`pipelines/*.toml`): one `[pipeline]` section and one
//! section per stage. Every section is parsed strictly: an unknown or
//! misspelled key, a wrong type or a missing file is one error line that
//! names the file and the key.
//!
//! ```toml
//! [pipeline]
//! name = "demo"
//! seed = 42
//!
//! [clean]
//! min_chars = 20
//! ```

use std::fs;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Sections a pipeline file may hold besides `[pipeline]`.
pub const STAGE_SECTIONS: &[&str] = &[
    "crawl", "clean", "tokenize", "augment", "split", "train", "eval",
];

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
        for key in table.keys() {
            if key != "pipeline" && !STAGE_SECTIONS.contains(&key.as_str()) {
                return Err(config_error(
                    path,
                    format!(
                        "unknown section `{key}` (expected `pipeline` or one of: {})",
                        STAGE_SECTIONS.join(", ")
                    ),
                ));
            }
        }
        let pipeline = table
            .remove("pipeline")
            .ok_or_else(|| config_error(path, "missing `[pipeline]` section with `name`".into()))?;
        let pipeline = deserialize_section(path, "pipeline", pipeline)?;
        Ok(Self {
            path: path.to_path_buf(),
            pipeline,
            sections: table,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the file has a section for `stage`.
    pub fn has_section(&self, stage: &str) -> bool {
        self.sections.contains_key(stage)
    }

    /// Builds a stage's config from its section, or its `Default` when the
    /// section is absent.
    pub fn section<T: DeserializeOwned + Default>(&self, stage: &str) -> Result<T> {
        match self.sections.get(stage) {
            Some(value) => deserialize_section(&self.path, stage, value.clone()),
            None => Ok(T::default()),
        }
    }

    /// Where `stage` writes by default: `<output_root>/<name>/<stage>`.
    pub fn stage_output(&self, stage: &str) -> PathBuf {
        self.pipeline
            .output_root
            .join(&self.pipeline.name)
            .join(stage)
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
    fn unknown_section_is_an_error() {
        let err = parse("[pipeline]\nname = \"t\"\n[cleen]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown section `cleen`"), "{err}");
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
