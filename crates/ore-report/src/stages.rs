//! The pipeline's stages as the report sees them (section, kind, output
//! folder, manifest), and section 1: where the rows went.

use std::path::PathBuf;

use ore_core::{MANIFEST_FILE, Manifest, Pipeline};
use serde_json::json;

use crate::doc::{Cell, Section};
use crate::error::Result;
use crate::svg::{self, Series};

/// One section of the pipeline file.
#[derive(Debug, Clone)]
pub struct Stage {
    pub section: String,
    /// The stage kind (`crawl`, `clean`, `train`, …).
    pub kind: String,
    pub output: PathBuf,
    /// What its `input` key names, as folders (a section's output, or a path).
    pub inputs: Vec<PathBuf>,
    /// `None` when the stage has not run (no `_manifest.json`).
    pub manifest: Option<Manifest>,
}

impl Stage {
    pub fn ran(&self) -> bool {
        self.manifest.is_some()
    }
}

/// Every stage section of the pipeline, in file order, with its manifest
/// when it has run. A manifest that does not parse is an error naming it.
pub fn catalogue(pipeline: &Pipeline) -> Result<Vec<Stage>> {
    let mut out = Vec::new();
    for section in pipeline.section_names() {
        let output = pipeline.stage_output(section);
        let manifest = if output.join(MANIFEST_FILE).is_file() {
            Some(Manifest::read(&output)?)
        } else {
            None
        };
        let inputs = pipeline
            .refs(section, "input")?
            .unwrap_or_default()
            .into_iter()
            .map(|r| {
                if pipeline.has_section(&r) {
                    pipeline.stage_output(&r)
                } else {
                    PathBuf::from(r)
                }
            })
            .collect();
        out.push(Stage {
            section: section.to_string(),
            kind: pipeline.kind_of(section)?,
            output,
            inputs,
            manifest,
        });
    }
    Ok(out)
}

/// The stages that ran, of one of `kinds`.
pub fn of_kind<'a>(stages: &'a [Stage], kinds: &[&str]) -> Vec<&'a Stage> {
    stages
        .iter()
        .filter(|s| s.ran() && kinds.contains(&s.kind.as_str()))
        .collect()
}

/// Section 1: rows in, out, rejected by reason, time, config hash and
/// revision of each stage, and a chart of where the rows went.
pub fn section(stages: &[Stage]) -> Section {
    let mut s = Section::new("stages", "1. Stages");
    if stages.is_empty() {
        s.para("The pipeline file has no stage sections.");
        return s;
    }
    let mut rows = Vec::new();
    let mut figures = Vec::new();
    for st in stages {
        let Some(m) = &st.manifest else {
            rows.push(vec![
                Cell::text(&st.section),
                Cell::text(&st.kind),
                Cell::text("not run"),
                Cell::text(""),
                Cell::text(""),
                Cell::text(""),
                Cell::text(""),
                Cell::text(""),
                Cell::code(st.output.display().to_string()),
            ]);
            figures.push(
                json!({"section": st.section, "kind": st.kind, "ran": false, "output": st.output}),
            );
            continue;
        };
        let r = &m.rows;
        rows.push(vec![
            Cell::text(&st.section),
            Cell::text(&st.kind),
            Cell::Int(r.input),
            Cell::Int(r.output),
            Cell::text(if r.rejected == 0 {
                "0".to_string()
            } else {
                let reasons: Vec<String> = r
                    .rejected_by_reason
                    .iter()
                    .map(|(reason, n)| format!("{reason} {n}"))
                    .collect();
                format!("{} ({})", r.rejected, reasons.join(", "))
            }),
            Cell::Num(m.wall_time_s, 1),
            Cell::code(short_hash(&m.config_hash)),
            Cell::code(&m.git_revision),
            Cell::code(st.output.display().to_string()),
        ]);
        figures.push(json!({
            "section": st.section, "kind": st.kind, "ran": true, "output": st.output,
            "rows_in": r.input, "generated": r.generated, "rows_out": r.output,
            "rejected": r.rejected, "rejected_by_reason": r.rejected_by_reason,
            "wall_time_s": m.wall_time_s, "config_hash": m.config_hash,
            "git_revision": m.git_revision, "ore_version": m.ore_version,
            "started_at": m.started_at,
        }));
    }
    s.table(
        &[
            "section",
            "kind",
            "rows in",
            "out",
            "rejected (by reason)",
            "time (s)",
            "config",
            "revision",
            "output",
        ],
        rows,
    );
    let not_run: Vec<&str> = stages
        .iter()
        .filter(|s| !s.ran())
        .map(|s| s.section.as_str())
        .collect();
    if !not_run.is_empty() {
        s.para(format!("Not run yet: {}.", not_run.join(", ")));
    }
    let ran: Vec<&Stage> = stages.iter().filter(|s| s.ran()).collect();
    if !ran.is_empty() {
        s.chart(
            "Where the rows went",
            flow_chart(&ran),
            ran.iter()
                .filter_map(|st| {
                    st.manifest.as_ref().map(|m| {
                        format!(
                            "{}: {} kept{}",
                            st.section,
                            m.rows.output,
                            m.rows.by_reason_text()
                        )
                    })
                })
                .collect::<Vec<_>>()
                .join("; "),
        );
    }
    s.figures = json!(figures);
    s
}

fn short_hash(hash: &str) -> String {
    let h = hash.split_once(':').map_or(hash, |(_, h)| h);
    h.chars().take(12).collect()
}

/// Stacked bars: kept rows, then each reject reason, one bar a stage.
fn flow_chart(stages: &[&Stage]) -> String {
    let mut reasons: Vec<String> = stages
        .iter()
        .filter_map(|s| s.manifest.as_ref())
        .flat_map(|m| m.rows.rejected_by_reason.keys().cloned())
        .collect();
    reasons.sort();
    reasons.dedup();
    let labels: Vec<String> = stages.iter().map(|s| s.section.clone()).collect();
    let manifests: Vec<&Manifest> = stages.iter().filter_map(|s| s.manifest.as_ref()).collect();
    let mut series = vec![Series::new(
        "kept",
        manifests.iter().map(|m| m.rows.output as f64).collect(),
    )];
    for reason in &reasons {
        series.push(Series::new(
            reason.clone(),
            manifests
                .iter()
                .map(|m| m.rows.rejected_by_reason.get(reason).copied().unwrap_or(0) as f64)
                .collect(),
        ));
    }
    svg::stacked_hbars(
        "Where the rows went (kept, then each reject reason)",
        &labels,
        &series,
    )
}
