//! The crawl state kept beside the output (`.<name>.crawl-state/`) until a
//! crawl completes: `rows.jsonl` (every tried URL, appended as it finishes,
//! with the links it queued) and `frontier.json` (a snapshot of the queue).
//! `--resume` replays `rows.jsonl` to rebuild the seen-set and frontier, so
//! finished pages are not fetched again; an interrupted crawl commits its
//! output from the same file.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::frontier::Item;
use crate::row::Row;

pub const ROWS_FILE: &str = "rows.jsonl";
pub const FRONTIER_FILE: &str = "frontier.json";

/// The state folder of a crawl writing to `output`.
pub fn state_dir(output: &Path) -> PathBuf {
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "crawl".into());
    output
        .parent()
        .unwrap_or(Path::new("."))
        .join(format!(".{name}.crawl-state"))
}

/// An open crawl state.
#[derive(Debug)]
pub struct State {
    dir: PathBuf,
    rows: BufWriter<File>,
}

#[derive(Serialize)]
struct FrontierSnapshot<'a> {
    seen: usize,
    queued: &'a [Item],
}

impl State {
    /// Opens the state: with `resume`, keeps the rows of earlier runs (a
    /// torn last line from a crash is cut off) and returns them; otherwise
    /// starts empty.
    pub fn open(dir: &Path, resume: bool) -> Result<(Self, Vec<Row>)> {
        let rows_path = dir.join(ROWS_FILE);
        let mut rows = Vec::new();
        if resume && rows_path.is_file() {
            let file = File::open(&rows_path).map_err(|e| Error::state(&rows_path, e))?;
            let mut good_len = 0u64;
            for line in BufReader::new(file).split(b'\n') {
                let line = line.map_err(|e| Error::state(&rows_path, e))?;
                match serde_json::from_slice::<Row>(&line) {
                    Ok(row) => {
                        rows.push(row);
                        good_len += line.len() as u64 + 1;
                    }
                    Err(_) => break, // a line cut short by a kill
                }
            }
            let file = OpenOptions::new()
                .write(true)
                .open(&rows_path)
                .map_err(|e| Error::state(&rows_path, e))?;
            file.set_len(good_len)
                .map_err(|e| Error::state(&rows_path, e))?;
        } else if dir.exists() {
            fs::remove_dir_all(dir).map_err(|e| Error::state(dir, e))?;
        }
        fs::create_dir_all(dir).map_err(|e| Error::state(dir, e))?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&rows_path)
            .map_err(|e| Error::state(&rows_path, e))?;
        Ok((
            Self {
                dir: dir.to_path_buf(),
                rows: BufWriter::new(file),
            },
            rows,
        ))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn append(&mut self, row: &Row) -> Result<()> {
        let path = self.dir.join(ROWS_FILE);
        serde_json::to_writer(&mut self.rows, row).map_err(|e| Error::state(&path, e))?;
        self.rows
            .write_all(b"\n")
            .map_err(|e| Error::state(&path, e))
    }

    /// Flushes the rows to disk and snapshots the frontier.
    pub fn checkpoint(&mut self, seen: usize, queued: &[Item]) -> Result<()> {
        let path = self.dir.join(ROWS_FILE);
        self.rows.flush().map_err(|e| Error::state(&path, e))?;
        self.rows
            .get_ref()
            .sync_data()
            .map_err(|e| Error::state(&path, e))?;
        let path = self.dir.join(FRONTIER_FILE);
        let tmp = self.dir.join(format!("{FRONTIER_FILE}.tmp"));
        let json = serde_json::to_vec(&FrontierSnapshot { seen, queued })
            .map_err(|e| Error::state(&path, e))?;
        fs::write(&tmp, json).map_err(|e| Error::state(&tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| Error::state(&path, e))
    }

    /// Reads every saved row back, in the order they finished.
    pub fn read_rows(&mut self) -> Result<impl Iterator<Item = Result<Row>>> {
        let path = self.dir.join(ROWS_FILE);
        self.rows.flush().map_err(|e| Error::state(&path, e))?;
        let file = File::open(&path).map_err(|e| Error::state(&path, e))?;
        Ok(BufReader::new(file).lines().map(move |line| {
            let line = line.map_err(|e| Error::state(&path, e))?;
            serde_json::from_str::<Row>(&line).map_err(|e| Error::state(&path, e))
        }))
    }

    /// Deletes the state (the crawl completed).
    pub fn remove(self) -> Result<()> {
        let dir = self.dir.clone();
        drop(self);
        fs::remove_dir_all(&dir).map_err(|e| Error::state(&dir, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_keeps_rows_and_cuts_a_torn_line() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = state_dir(&tmp.path().join("crawl"));
        assert!(dir.ends_with(".crawl.crawl-state"));
        let (mut state, rows) = State::open(&dir, false).unwrap();
        assert!(rows.is_empty());
        for i in 0..3 {
            state
                .append(&Row {
                    url: format!("http://a/{i}"),
                    ..Row::default()
                })
                .unwrap();
        }
        state.checkpoint(3, &[]).unwrap();
        drop(state);
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.join(ROWS_FILE))
            .unwrap();
        f.write_all(b"{\"url\":\"http://a/torn").unwrap();
        drop(f);
        let (mut state, rows) = State::open(&dir, true).unwrap();
        assert_eq!(rows.len(), 3);
        state
            .append(&Row {
                url: "http://a/3".into(),
                ..Row::default()
            })
            .unwrap();
        let urls: Vec<String> = state.read_rows().unwrap().map(|r| r.unwrap().url).collect();
        assert_eq!(
            urls,
            ["http://a/0", "http://a/1", "http://a/2", "http://a/3"]
        );
        state.remove().unwrap();
        assert!(!dir.exists());
        // Without resume, old state is discarded.
        let (_s, rows) = State::open(&dir, false).unwrap();
        assert!(rows.is_empty());
    }
}
