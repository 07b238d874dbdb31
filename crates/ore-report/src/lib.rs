//! `ore-report`: the pipeline's data report, `ore report P.toml`.
//!
//! [`build`] reads what a pipeline's stages wrote (manifests, outputs,
//! `_rejects/`, model logs, eval reports) and makes a [`doc::Report`] of
//! seven sections: the stages and where their rows went; data quality
//! (diversity: distinct-n, TTR and self-BLEU of augmented variants;
//! authenticity and noise: reject reasons and clean's quality signals;
//! representativeness: train against test lengths and document sources;
//! timeliness: when pages were fetched); duplicate clusters; augmentation
//! samples with their edits highlighted; the split and its audit; training
//! curves; and the scores of every eval stage with sample predictions
//! traced back to their URL; and, once `ore sweep` has run, an eighth: the
//! sweep's trials ranked by validation loss and its ensemble. A stage that
//! has not run leaves its section a sentence saying so.
//!
//! [`write`] puts `index.html` (self-contained: inline CSS and SVG charts,
//! no script), `report.md` and `report.json` into a folder atomically.
//!
//! ```
//! let dir = tempfile::tempdir()?;
//! let file = dir.path().join("p.toml");
//! std::fs::write(&file, format!(
//!     "[pipeline]\nname = \"p\"\noutput_root = \"{}\"\n\n[clean]\ninput = \"docs\"\n",
//!     dir.path().display()
//! ))?;
//! let pipeline = ore_core::Pipeline::load(&file)?;
//! let report = ore_report::build(&pipeline)?;
//! let out = ore_report::write(&report, &ore_report::default_dir(&pipeline))?;
//! let html = std::fs::read_to_string(out.join("index.html"))?;
//! assert!(html.contains("1. Stages") && html.contains("Not run yet: clean."));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::{Path, PathBuf};

use ore_core::Pipeline;

pub mod augment;
pub mod data;
pub mod diff;
pub mod doc;
pub mod dups;
pub mod error;
pub mod metrics;
pub mod models;
pub mod quality;
pub mod render;
pub mod represent;
pub mod stages;
pub mod svg;
pub mod sweep;

pub use doc::Report;
pub use error::{Error, Result};

/// `<output_root>/<pipeline name>/_report`.
pub fn default_dir(pipeline: &Pipeline) -> PathBuf {
    pipeline
        .pipeline
        .output_root
        .join(&pipeline.pipeline.name)
        .join("_report")
}

/// Reads the pipeline's outputs into a report.
pub fn build(pipeline: &Pipeline) -> Result<Report> {
    let stages = stages::catalogue(pipeline)?;
    let augment = augment::collect(&stages)?;
    let mut sections = vec![
        stages::section(&stages),
        quality::section(&stages, &augment)?,
        dups::section(&stages)?,
        augment::section(&stages, &augment),
        models::split_section(&stages),
        models::training_section(&stages)?,
        models::scores_section(&stages)?,
    ];
    sections.extend(sweep::section(pipeline)?);
    Ok(Report {
        pipeline: pipeline.pipeline.name.clone(),
        pipeline_file: pipeline.path().display().to_string(),
        sections,
    })
}

/// Writes `index.html`, `report.md` and `report.json` into `dir`: first
/// into a sibling temp folder, which then replaces `dir` (an old report
/// is removed only once the new one is in place). Returns `dir`.
pub fn write(report: &Report, dir: &Path) -> Result<PathBuf> {
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
    let name = dir
        .file_name()
        .map_or_else(|| "_report".into(), |n| n.to_string_lossy().into_owned());
    let pid = std::process::id();
    let tmp = parent.join(format!(".{name}.tmp-{pid}"));
    let old = parent.join(format!(".{name}.old-{pid}"));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let json = serde_json::to_string_pretty(&report.json()).map_err(|source| Error::Json {
        path: tmp.join("report.json"),
        source,
    })?;
    for (file, text) in [
        ("index.html", render::html(report)),
        ("report.md", render::markdown(report)),
        ("report.json", json + "\n"),
    ] {
        let path = tmp.join(file);
        std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
    }
    let had_old = dir.exists();
    if had_old {
        std::fs::rename(dir, &old).map_err(|e| Error::io(dir, e))?;
    }
    if let Err(e) = std::fs::rename(&tmp, dir) {
        if had_old {
            let _ = std::fs::rename(&old, dir);
        }
        return Err(Error::io(dir, e));
    }
    if had_old {
        std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
    }
    Ok(dir.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(name: &str) -> Report {
        let mut s = doc::Section::new("stages", "1. Stages");
        s.para(name);
        Report {
            pipeline: name.into(),
            pipeline_file: "p.toml".into(),
            sections: vec![s],
        }
    }

    #[test]
    fn a_new_report_replaces_the_old_one_and_leaves_no_temp_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("p").join("_report");
        write(&report("first"), &out).expect("first");
        std::fs::write(out.join("stale.txt"), "from an older report").expect("write");
        write(&report("second"), &out).expect("second");
        let html = std::fs::read_to_string(out.join("index.html")).expect("html");
        assert!(html.contains("second") && !html.contains("first"));
        assert!(
            !out.join("stale.txt").exists(),
            "the old folder is replaced whole"
        );
        let names: Vec<String> = std::fs::read_dir(dir.path().join("p"))
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["_report"]);
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).expect("json"))
                .expect("valid JSON");
        assert_eq!(json["pipeline"], "second");
        assert!(
            std::fs::read_to_string(out.join("report.md"))
                .expect("md")
                .contains("## 1. Stages")
        );
    }
}
