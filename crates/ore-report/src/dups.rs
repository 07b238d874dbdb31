//! Section 3, duplicate clusters: clean's kept rows and its duplicate
//! rejects grouped by `dup_cluster` (or, for a reject without it, the doc
//! its `reject_detail` names as kept).

use std::collections::{BTreeMap, HashMap};

use ore_core::{REJECT_DETAIL, REJECT_REASON, REJECTS_DIR};
use serde_json::json;

use crate::data;
use crate::doc::{Cell, Section};
use crate::error::Result;
use crate::quality::clip;
use crate::stages::{Stage, of_kind};
use crate::svg::{self, Series};

/// Members kept per cluster as samples.
const SAMPLES: usize = 3;
/// Clusters listed.
const LARGEST: usize = 5;

#[derive(Debug, Default)]
struct Cluster {
    size: u64,
    /// (title, url) of the first members read.
    samples: Vec<(String, String)>,
}

/// Whether a reject reason says the row duplicated a kept one.
fn is_duplicate(reason: &str) -> bool {
    matches!(reason, "near_duplicate" | "exact_duplicate" | "duplicate")
}

/// The kept doc a reject detail names: `duplicate of ID` (or the last word).
fn named_doc(detail: &str) -> Option<&str> {
    let id = detail.strip_prefix("duplicate of ").unwrap_or(detail);
    id.split_whitespace().last()
}

/// Section 3.
pub fn section(stages: &[Stage]) -> Result<Section> {
    let mut s = Section::new("duplicates", "3. Duplicate clusters");
    let cleans = of_kind(stages, &["clean"]);
    if cleans.is_empty() {
        s.para(
            "No clean stage in this pipeline (or it has not run): no duplicate clusters to show.",
        );
        s.figures = json!([]);
        return Ok(s);
    }
    let mut figures = Vec::new();
    for st in cleans {
        let mut clusters: HashMap<String, Cluster> = HashMap::new();
        let mut read = |path: &std::path::Path, rejects: bool| -> Result<bool> {
            let Some(ds) = data::open(path)? else {
                return Ok(false);
            };
            let has_cluster = data::has(&ds, "dup_cluster");
            if !has_cluster && !rejects {
                return Ok(false);
            }
            let root = ds.root().to_path_buf();
            data::scan(
                &ds,
                &[
                    "dup_cluster",
                    "doc_id",
                    "title",
                    "url",
                    REJECT_REASON,
                    REJECT_DETAIL,
                ],
                |batch| {
                    let cluster = data::strs(batch, "dup_cluster", &root)?;
                    let doc = data::strs(batch, "doc_id", &root)?;
                    let title = data::strs(batch, "title", &root)?;
                    let url = data::strs(batch, "url", &root)?;
                    let reason = data::strs(batch, REJECT_REASON, &root)?;
                    let detail = data::strs(batch, REJECT_DETAIL, &root)?;
                    for i in 0..batch.num_rows() {
                        if rejects && !reason.and_then(|r| r.get(i)).is_some_and(is_duplicate) {
                            continue;
                        }
                        let key = cluster
                            .and_then(|c| c.get(i))
                            .or_else(|| detail.and_then(|d| d.get(i)).and_then(named_doc))
                            .or_else(|| doc.and_then(|d| d.get(i)));
                        let Some(key) = key else { continue };
                        let c = clusters.entry(key.to_string()).or_default();
                        c.size += 1;
                        if c.samples.len() < SAMPLES {
                            c.samples.push((
                                title.and_then(|t| t.get(i)).unwrap_or_default().to_string(),
                                url.and_then(|u| u.get(i)).unwrap_or_default().to_string(),
                            ));
                        }
                    }
                    Ok(())
                },
            )?;
            Ok(true)
        };
        let had_kept = read(&st.output, false)?;
        read(&st.output.join(REJECTS_DIR), true)?;
        if !had_kept {
            s.para(format!("`{}` has no `dup_cluster` column.", st.section));
            continue;
        }
        let mut multi: Vec<(&String, &Cluster)> =
            clusters.iter().filter(|(_, c)| c.size > 1).collect();
        multi.sort_by(|a, b| b.1.size.cmp(&a.1.size).then_with(|| a.0.cmp(b.0)));
        let mut sizes: BTreeMap<u64, u64> = BTreeMap::new();
        for (_, c) in &multi {
            *sizes.entry(c.size).or_default() += 1;
        }
        let members: u64 = multi.iter().map(|(_, c)| c.size).sum();
        s.para(format!(
            "`{}`: {} clusters of two or more documents, {} documents in them ({} removed as duplicates).",
            st.section,
            multi.len(),
            members,
            members - multi.len() as u64
        ));
        if !sizes.is_empty() {
            let labels: Vec<String> = sizes.keys().map(|k| format!("{k} documents")).collect();
            let title = format!("{}: clusters by size", st.section);
            s.chart(
                &title,
                svg::stacked_hbars(
                    &title,
                    &labels,
                    &[Series::new(
                        "clusters",
                        sizes.values().map(|n| *n as f64).collect(),
                    )],
                ),
                sizes
                    .iter()
                    .map(|(k, n)| format!("size {k}: {n}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            let rows = multi
                .iter()
                .take(LARGEST)
                .map(|(id, c)| {
                    let sample = c
                        .samples
                        .iter()
                        .map(|(t, u)| format!("{} <{}>", clip(t, 60), u))
                        .collect::<Vec<_>>()
                        .join("; ");
                    vec![
                        Cell::code(id.as_str()),
                        Cell::Int(c.size),
                        Cell::text(sample),
                    ]
                })
                .collect();
            s.table(&["cluster", "documents", "sample (title <url>)"], rows);
        }
        figures.push(json!({
            "section": st.section,
            "clusters": multi.len(),
            "documents": members,
            "sizes": sizes,
            "largest": multi.iter().take(LARGEST).map(|(id, c)| json!({"cluster": id, "size": c.size, "samples": c.samples})).collect::<Vec<_>>(),
        }));
    }
    s.figures = json!(figures);
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reject_detail_names_the_kept_doc() {
        assert_eq!(
            named_doc("duplicate of fcca65d98f2ad6645e0f885b15c951e4"),
            Some("fcca65d98f2ad6645e0f885b15c951e4")
        );
        assert_eq!(named_doc(""), None);
        assert!(is_duplicate("near_duplicate") && !is_duplicate("duplicate_lines"));
    }
}
