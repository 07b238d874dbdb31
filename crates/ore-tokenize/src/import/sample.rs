//! `sample = N`: which of an import's well-formed rows it keeps.
//!
//! Each row gets a rank, [`ore_core::ids::row_seed`] of the seed and
//! `FILE_NAME:LINE` (its file's name and its first line), and the N lowest
//! ranks are kept: every row is as likely to be kept as any other, a seed
//! gives the same sample whatever order the files are named in, and rows
//! added to a file do not change which of the others rank first.

use std::path::Path;

use ore_core::ids::row_seed;
use rustc_hash::FxHashSet;

/// The rows kept: the first lines kept in each file, by the file's index.
#[derive(Debug, Default)]
pub(crate) struct Sample {
    kept: Vec<FxHashSet<u64>>,
}

impl Sample {
    /// Keeps `n` of `rows` (file index, first line), named by `files`.
    pub(crate) fn choose<P: AsRef<Path>>(
        n: usize,
        seed: u64,
        files: &[P],
        rows: &[(usize, u64)],
    ) -> Self {
        let names: Vec<String> = files
            .iter()
            .map(|f| {
                f.as_ref()
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
            })
            .collect();
        // Ties (one file named twice) fall to the earlier file.
        let mut ranked: Vec<(u64, usize, u64)> = rows
            .iter()
            .map(|&(file, line)| {
                (
                    row_seed(seed, &format!("{}:{line}", names[file])),
                    file,
                    line,
                )
            })
            .collect();
        ranked.sort_unstable();
        let mut kept = vec![FxHashSet::default(); files.len()];
        for &(_, file, line) in ranked.iter().take(n) {
            kept[file].insert(line);
        }
        Self { kept }
    }

    /// Whether the row of file `file` starting at `line` is kept.
    pub(crate) fn keeps(&self, file: usize, line: u64) -> bool {
        self.kept
            .get(file)
            .is_some_and(|lines| lines.contains(&line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(s: &Sample, rows: &[(usize, u64)]) -> Vec<(usize, u64)> {
        rows.iter()
            .copied()
            .filter(|&(f, l)| s.keeps(f, l))
            .collect()
    }

    #[test]
    fn keeps_n_rows_the_same_for_a_seed() {
        let rows: Vec<(usize, u64)> = (0..100).map(|i| (i % 2, i as u64 * 3 + 1)).collect();
        let files = ["a.txt", "dir/b.txt"];
        let one = Sample::choose(10, 7, &files, &rows);
        assert_eq!(kept(&one, &rows).len(), 10);
        assert_eq!(
            kept(&one, &rows),
            kept(&Sample::choose(10, 7, &files, &rows), &rows)
        );
        assert_ne!(
            kept(&one, &rows),
            kept(&Sample::choose(10, 8, &files, &rows), &rows)
        );
        // More than there are keeps them all.
        assert_eq!(kept(&Sample::choose(500, 7, &files, &rows), &rows), rows);
    }

    #[test]
    fn a_sample_does_not_depend_on_the_order_of_files_or_their_folder() {
        let rows: Vec<(usize, u64)> = (0..60).map(|i| (i % 3, i as u64)).collect();
        let swapped: Vec<(usize, u64)> = rows.iter().map(|&(f, l)| (2 - f, l)).collect();
        let a = Sample::choose(9, 1, &["x", "y", "z"], &rows);
        let b = Sample::choose(9, 1, &["/data/z", "/data/y", "/data/x"], &swapped);
        let mut from_a: Vec<(usize, u64)> = kept(&a, &rows);
        let mut from_b: Vec<(usize, u64)> = kept(&b, &swapped)
            .iter()
            .map(|&(f, l)| (2 - f, l))
            .collect();
        from_a.sort_unstable();
        from_b.sort_unstable();
        assert_eq!(from_a, from_b);
    }

    #[test]
    fn each_row_is_about_as_likely_to_be_kept() {
        // 40 rows, keep 10, 2000 seeds: each row is kept a quarter of the time.
        let rows: Vec<(usize, u64)> = (0..40).map(|i| (0, i)).collect();
        let mut counts = [0u32; 40];
        for seed in 0..2000 {
            let s = Sample::choose(10, seed, &["f"], &rows);
            for (i, &(f, l)) in rows.iter().enumerate() {
                counts[i] += u32::from(s.keeps(f, l));
            }
        }
        // Binomial(2000, 0.25): mean 500, sd about 19.
        assert!(
            counts.iter().all(|&c| (400..600).contains(&c)),
            "{counts:?}"
        );
    }
}
