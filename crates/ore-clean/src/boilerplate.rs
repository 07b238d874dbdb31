//! Lines that repeat across many documents of one site (menus, footers,
//! "上一页 / 下一页"): counted in a first pass over the input, removed in
//! the next.

use std::sync::Arc;

use arrow_array::{Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use rustc_hash::{FxHashMap, FxHashSet};
use xxhash_rust::xxh3::xxh3_64;

use crate::config::BoilerplateConfig;

/// Per host, how many documents contain each short line (by hash).
#[derive(Debug, Default)]
pub struct LineCounts {
    hosts: FxHashMap<String, HostCounts>,
}

#[derive(Debug, Default)]
struct HostCounts {
    docs: u64,
    lines: FxHashMap<u64, u64>,
}

/// `host`, `line` (a line's hash; null for the host's document count),
/// `count`: line counts or boilerplate lines as a sharded run keeps them.
pub fn lines_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("host", DataType::Utf8, false),
        Field::new("line", DataType::UInt64, true),
        Field::new("count", DataType::UInt64, false),
    ]))
}

/// The `host`, `line` and `count` columns of a [`lines_schema`] batch.
fn lines_columns<'a>(
    batch: &'a RecordBatch,
    what: &str,
) -> Result<(&'a StringArray, &'a UInt64Array, &'a UInt64Array), ArrowError> {
    let bad = || ArrowError::SchemaError(format!("not a {what} batch"));
    let u64s = |i: usize| {
        batch
            .column(i)
            .as_any()
            .downcast_ref::<UInt64Array>()
            .ok_or_else(bad)
    };
    let hosts = batch
        .column(0)
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(bad)?;
    Ok((hosts, u64s(1)?, u64s(2)?))
}

/// The host of a URL, or "" when there is none.
pub fn host_of(url: Option<&str>) -> String {
    url.and_then(|u| url::Url::parse(u).ok())
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default()
}

fn short_lines(text: &str, max_chars: usize) -> FxHashSet<u64> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && l.chars().count() <= max_chars)
        .map(|l| xxh3_64(l.as_bytes()))
        .collect()
}

impl LineCounts {
    /// Counts one document's distinct short lines.
    pub fn add(&mut self, host: &str, text: &str, config: &BoilerplateConfig) {
        let entry = self.hosts.entry(host.to_string()).or_default();
        entry.docs += 1;
        for h in short_lines(text, config.max_line_chars) {
            *entry.lines.entry(h).or_default() += 1;
        }
    }

    /// The counts as rows of [`lines_schema`]: per host, one row with a
    /// null `line` holding its number of documents, then one per line.
    pub fn to_batch(&self) -> Result<RecordBatch, ArrowError> {
        let (mut hosts, mut lines, mut counts) = (Vec::new(), Vec::new(), Vec::new());
        let mut sorted: Vec<(&String, &HostCounts)> = self.hosts.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        for (host, c) in sorted {
            hosts.push(host.as_str());
            lines.push(None);
            counts.push(c.docs);
            let mut each: Vec<(&u64, &u64)> = c.lines.iter().collect();
            each.sort_unstable();
            for (line, n) in each {
                hosts.push(host.as_str());
                lines.push(Some(*line));
                counts.push(*n);
            }
        }
        RecordBatch::try_new(
            lines_schema(),
            vec![
                Arc::new(StringArray::from(hosts)),
                Arc::new(UInt64Array::from(lines)),
                Arc::new(UInt64Array::from(counts)),
            ],
        )
    }

    /// Adds counts written by [`LineCounts::to_batch`] (another shard's).
    pub fn add_batch(&mut self, batch: &RecordBatch) -> Result<(), ArrowError> {
        let (hosts, lines, counts) = lines_columns(batch, "line counts")?;
        for i in 0..batch.num_rows() {
            let entry = self.hosts.entry(hosts.value(i).to_string()).or_default();
            if lines.is_null(i) {
                entry.docs += counts.value(i);
            } else {
                *entry.lines.entry(lines.value(i)).or_default() += counts.value(i);
            }
        }
        Ok(())
    }

    /// The boilerplate lines of each host.
    pub fn finish(self, config: &BoilerplateConfig) -> Boilerplate {
        let hosts = self
            .hosts
            .into_iter()
            .map(|(host, counts)| {
                let need = config
                    .min_docs
                    .max((config.min_fraction * counts.docs as f64).ceil() as u64);
                let lines: FxHashSet<u64> = counts
                    .lines
                    .into_iter()
                    .filter(|(_, n)| *n >= need)
                    .map(|(h, _)| h)
                    .collect();
                (host, lines)
            })
            .collect();
        Boilerplate {
            hosts,
            max_line_chars: config.max_line_chars,
        }
    }
}

/// Boilerplate lines by host.
#[derive(Debug, Default)]
pub struct Boilerplate {
    hosts: FxHashMap<String, FxHashSet<u64>>,
    max_line_chars: usize,
}

impl Boilerplate {
    /// Removes the host's boilerplate lines; returns the text and how many
    /// lines went.
    pub fn strip(&self, host: &str, text: String) -> (String, u64) {
        let Some(lines) = self.hosts.get(host).filter(|l| !l.is_empty()) else {
            return (text, 0);
        };
        let mut removed = 0;
        let mut out = String::with_capacity(text.len());
        for line in text.split('\n') {
            let t = line.trim();
            if !t.is_empty()
                && t.chars().count() <= self.max_line_chars
                && lines.contains(&xxh3_64(t.as_bytes()))
            {
                removed += 1;
                continue;
            }
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(line);
        }
        (crate::normalize::collapse_whitespace(&out), removed)
    }

    /// The lines as rows of [`lines_schema`] (`count` 0).
    pub fn to_batch(&self) -> Result<RecordBatch, ArrowError> {
        let (mut hosts, mut lines) = (Vec::new(), Vec::new());
        for (host, set) in &self.hosts {
            for line in set {
                hosts.push(host.as_str());
                lines.push(Some(*line));
            }
        }
        let n = hosts.len();
        RecordBatch::try_new(
            lines_schema(),
            vec![
                Arc::new(StringArray::from(hosts)),
                Arc::new(UInt64Array::from(lines)),
                Arc::new(UInt64Array::from(vec![0u64; n])),
            ],
        )
    }

    /// Adds lines written by [`Boilerplate::to_batch`].
    pub fn add_batch(
        &mut self,
        batch: &RecordBatch,
        max_line_chars: usize,
    ) -> Result<(), ArrowError> {
        let (hosts, lines, _) = lines_columns(batch, "boilerplate lines")?;
        self.max_line_chars = max_line_chars;
        for i in 0..batch.num_rows() {
            self.hosts
                .entry(hosts.value(i).to_string())
                .or_default()
                .insert(lines.value(i));
        }
        Ok(())
    }

    /// Number of boilerplate lines found over all hosts.
    pub fn len(&self) -> usize {
        self.hosts.values().map(FxHashSet::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_navigation_is_removed_per_host() {
        let config = BoilerplateConfig {
            min_docs: 3,
            min_fraction: 0.5,
            ..BoilerplateConfig::default()
        };
        let mut counts = LineCounts::default();
        for i in 0..4 {
            counts.add(
                "a.org",
                &format!("上一页\n正文第{i}段的内容。\n下一页"),
                &config,
            );
        }
        counts.add("b.org", "上一页\n别的网站", &config);
        let bp = counts.finish(&config);
        assert_eq!(
            bp.strip("a.org", "上一页\n新的正文。\n下一页".into()),
            ("新的正文。".to_string(), 2)
        );
        assert_eq!(
            bp.strip("b.org", "上一页\n别的网站".into()).1,
            0,
            "counted per host"
        );
    }
}
