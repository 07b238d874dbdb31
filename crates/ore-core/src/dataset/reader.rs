//! Reading a dataset: one Parquet file, or a folder of them (ours or written
//! by pyarrow, polars, DuckDB, Spark …), streamed as record batches.

use std::cmp::Ordering;
use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder, RowSelection, RowSelector,
};

use super::MANIFEST_FILE;
use super::encode::{CopySource, RowGroupSource};
use crate::error::{Error, IoContext, Result};

/// One Parquet file of a dataset with its footer already parsed.
#[derive(Debug, Clone)]
pub struct PartFile {
    pub path: PathBuf,
    pub bytes: u64,
    pub rows: u64,
    pub row_groups: usize,
    /// The writer named in the footer (`parquet-cpp-arrow version 18.0.0`, `ore 0.1.0`, …).
    pub created_by: Option<String>,
    meta: ArrowReaderMetadata,
    /// The rows of a shard ([`Dataset::shard`]): `(row group, first row,
    /// end row)` within the file, for the groups the shard reads; `None`
    /// for every row of every group.
    selection: Option<Vec<(usize, u64, u64)>>,
}

impl PartFile {
    /// The row groups read, as `(row group, first row, end row)` within
    /// each group.
    fn groups(&self) -> Vec<(usize, u64, u64)> {
        match &self.selection {
            Some(selection) => selection.clone(),
            None => self
                .meta
                .metadata()
                .row_groups()
                .iter()
                .enumerate()
                .map(|(g, meta)| (g, 0, meta.num_rows().max(0) as u64))
                .collect(),
        }
    }

    /// Whether row group `group` is read only in part.
    fn partial(&self, group: usize) -> bool {
        let Some(selection) = &self.selection else {
            return false;
        };
        let total = self
            .meta
            .metadata()
            .row_groups()
            .get(group)
            .map_or(0, |g| g.num_rows().max(0) as u64);
        selection
            .iter()
            .any(|&(g, start, end)| g == group && (start > 0 || end < total))
    }
}

/// A dataset opened for reading.
#[derive(Debug, Clone)]
pub struct Dataset {
    root: PathBuf,
    files: Vec<PartFile>,
    schema: SchemaRef,
    /// [`Dataset::content_hash`], once computed: it reads every byte.
    hash: std::sync::OnceLock<String>,
    /// Rows of the whole dataset before the first row of this one (a
    /// shard's place in its input).
    first_row: u64,
    /// Rows of the whole dataset this one is a shard of.
    whole_rows: u64,
}

impl Dataset {
    /// Opens a `.parquet` file or a folder. In a folder, every `*.parquet`
    /// (also `.parq`, `.pq`) file below it is part of the dataset, in natural
    /// path order, except under names starting with `_` or `.` (`_rejects/`,
    /// staging folders, `_SUCCESS`).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let root = path.as_ref().to_path_buf();
        let meta = fs::metadata(&root).at(&root)?;
        let paths = if meta.is_dir() {
            let mut found = Vec::new();
            collect_parquet(&root, &mut found)?;
            found.sort_by(|a, b| natural_cmp(&a.to_string_lossy(), &b.to_string_lossy()));
            found
        } else {
            vec![root.clone()]
        };
        if paths.is_empty() {
            return Err(Error::EmptyDataset { path: root });
        }
        let files = paths
            .iter()
            .map(|p| open_part(p))
            .collect::<Result<Vec<_>>>()?;
        let schema = files[0].meta.schema().clone();
        for f in &files[1..] {
            if f.meta.schema().fields() != schema.fields() {
                return Err(Error::SchemaMismatch {
                    path: f.path.clone(),
                    first: files[0].path.clone(),
                    detail: schema_diff(&schema, f.meta.schema()),
                });
            }
        }
        Ok(Self {
            root,
            files,
            schema,
            hash: std::sync::OnceLock::new(),
            first_row: 0,
            whole_rows: 0,
        }
        .whole())
    }

    fn whole(mut self) -> Self {
        self.whole_rows = self.num_rows();
        self
    }

    /// The rows of the whole dataset: [`Dataset::num_rows`] but for a
    /// shard, whose input records the rows of what it is a slice of.
    pub fn whole_rows(&self) -> u64 {
        self.whole_rows
    }

    /// The `shard.index`-th of `shard.count` contiguous slices of the rows,
    /// as equal in rows as they can be: whole part files and row groups
    /// outside the slice are never read, and a row group on its edge is
    /// read only for its rows inside. The slices in order hold every row
    /// once, in the dataset's order.
    pub fn shard(&self, shard: crate::shard::Shard) -> Dataset {
        let total = self.num_rows();
        let (mut start, mut end) = shard.rows(total);
        // With row groups enough to balance the shards within one group,
        // slices start and end on group boundaries: a shard then reads whole
        // groups, and a stage can copy their encoded columns as they are.
        let groups: Vec<u64> = self.row_groups().iter().map(|g| g.2).collect();
        if groups.len() >= 4 * shard.count as usize {
            let mut starts = Vec::with_capacity(groups.len() + 1);
            let mut at = 0;
            for rows in &groups {
                starts.push(at);
                at += rows;
            }
            starts.push(total);
            let snap = |x: u64| starts[starts.partition_point(|&s| s < x)];
            (start, end) = (snap(start), snap(end));
        }
        let mut files = Vec::new();
        let mut offset = 0u64;
        for part in &self.files {
            let mut selection = Vec::new();
            for (group, first, last) in part.groups() {
                let (g_start, g_end) = (offset, offset + (last - first));
                offset = g_end;
                let (lo, hi) = (g_start.max(start), g_end.min(end));
                if lo < hi {
                    selection.push((group, first + (lo - g_start), first + (hi - g_start)));
                }
            }
            if selection.is_empty() {
                continue;
            }
            let mut part = part.clone();
            part.rows = selection.iter().map(|&(_, a, b)| b - a).sum();
            part.row_groups = selection.len();
            part.selection = Some(selection);
            files.push(part);
        }
        Dataset {
            root: self.root.clone(),
            files,
            schema: self.schema.clone(),
            hash: std::sync::OnceLock::new(),
            first_row: self.first_row + start,
            whole_rows: self.whole_rows,
        }
    }

    /// The index, in the whole dataset, of this one's first row: 0 but for
    /// a shard ([`Dataset::shard`]).
    pub fn first_row(&self) -> u64 {
        self.first_row
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    pub fn files(&self) -> &[PartFile] {
        &self.files
    }

    /// Total rows, from the footers (no data is read).
    pub fn num_rows(&self) -> u64 {
        self.files.iter().map(|f| f.rows).sum()
    }

    /// Every row group in reading order, as `(file, row group, rows)`:
    /// the order [`Batches::aligned_to_row_groups`] reads them in.
    pub fn row_groups(&self) -> Vec<(usize, usize, u64)> {
        self.files
            .iter()
            .enumerate()
            .flat_map(|(file, part)| {
                part.groups()
                    .into_iter()
                    .map(move |(group, start, end)| (file, group, end - start))
            })
            .collect()
    }

    /// The uncompressed size of a row group's columns, from the footer.
    pub fn row_group_bytes(&self, file: usize, row_group: usize) -> Option<u64> {
        let part = self.files.get(file)?;
        let group = part.meta.metadata().row_groups().get(row_group)?;
        Some(group.total_byte_size().max(0) as u64)
    }

    /// The null count of a top-level field with a single leaf column in one
    /// row group, from the file's statistics; `None` where they do not say.
    pub fn null_count(&self, file: usize, row_group: usize, field: &str) -> Option<u64> {
        let part = self.files.get(file)?;
        if part.partial(row_group) {
            return None;
        }
        let group = part.meta.metadata().row_groups().get(row_group)?;
        let mut leaves = self.field_leaves(part, field);
        let leaf = leaves.next()?;
        if leaves.next().is_some() {
            return None;
        }
        group.column(leaf).statistics()?.null_count_opt()
    }

    /// Row group `row_group` of part `file` as the source of an output row
    /// group made from its rows (see [`crate::StageOutput::write_from`]),
    /// which takes the encoded chunks of the fields named in `copy`
    /// unchanged; a name the file does not have is encoded like the rest.
    /// With `copy` empty, the output group only keeps the input's bounds.
    pub fn row_group_source(
        &self,
        file: usize,
        row_group: usize,
        copy: &[&str],
    ) -> Result<RowGroupSource> {
        let no_group = || {
            Error::arrow(
                &self.root,
                format!("no row group {row_group} in part {file}"),
            )
        };
        let part = self.files.get(file).ok_or_else(no_group)?;
        let group = part
            .meta
            .metadata()
            .row_groups()
            .get(row_group)
            .ok_or_else(no_group)?;
        let rows = group.num_rows().max(0) as usize;
        if part.partial(row_group) {
            // Encoded chunks hold the whole group: a shard's part of it is
            // encoded again.
            let (_, start, end) = part
                .groups()
                .into_iter()
                .find(|&(g, _, _)| g == row_group)
                .ok_or_else(no_group)?;
            return Ok(RowGroupSource::new(end - start, Vec::new()));
        }
        let mut copies = Vec::with_capacity(copy.len());
        if !copy.is_empty() {
            let handle = Arc::new(File::open(&part.path).at(&part.path)?);
            for name in copy {
                let leaves: Vec<_> = self
                    .field_leaves(part, name)
                    .map(|leaf| group.column(leaf).clone())
                    .collect();
                if leaves.is_empty() {
                    continue;
                }
                let source = CopySource {
                    file: handle.clone(),
                    path: part.path.clone(),
                    leaves,
                    rows,
                };
                copies.push((name.to_string(), source));
            }
        }
        Ok(RowGroupSource::new(rows as u64, copies))
    }

    /// The Parquet leaf columns of a top-level field of a part file.
    fn field_leaves<'a>(
        &self,
        part: &'a PartFile,
        field: &'a str,
    ) -> impl Iterator<Item = usize> + 'a {
        let parquet = part.meta.parquet_schema();
        (0..parquet.num_columns())
            .filter(move |&leaf| parquet.get_column_root(leaf).name() == field)
    }

    /// Total size of the Parquet files in bytes.
    pub fn num_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }

    /// The `_manifest.json` of a dataset folder, if there is one.
    pub fn manifest_json(&self) -> Result<Option<serde_json::Value>> {
        let path = self.root.join(MANIFEST_FILE);
        if !path.is_file() {
            return Ok(None);
        }
        let text = fs::read_to_string(&path).at(&path)?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Error::Manifest {
                path,
                message: format!("invalid JSON: {e}"),
            })
    }

    /// Streams every row as record batches of at most `batch_size` rows.
    pub fn batches(&self, batch_size: usize) -> Batches<'_> {
        Batches {
            dataset: self,
            columns: None,
            batch_size,
            read_ahead: 1,
            by_row_group: false,
            next_file: 0,
            next_group: 0,
            current: None,
        }
    }

    /// Calls `each` with every batch in order while a second thread reads
    /// and decodes the next one ([`Batches::for_each_prefetched`]).
    pub fn for_each_batch<E: From<Error>>(
        &self,
        batch_size: usize,
        each: impl FnMut(RecordBatch) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        self.batches(batch_size).for_each_prefetched(each)
    }

    /// Streams only the named top-level columns. Unknown names are an error.
    pub fn batches_of(&self, columns: &[&str], batch_size: usize) -> Result<Batches<'_>> {
        let indices = columns
            .iter()
            .map(|name| {
                self.schema
                    .index_of(name)
                    .map_err(|_| Error::arrow(&self.root, format!("no column named `{name}`")))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Batches {
            dataset: self,
            columns: Some(indices),
            batch_size,
            read_ahead: 1,
            by_row_group: false,
            next_file: 0,
            next_group: 0,
            current: None,
        })
    }

    /// A 128-bit XXH3 over every part file's relative path, size and bytes:
    /// equal hashes mean equal datasets. Used in manifests to tell whether an
    /// input changed (not as a defence against tampering), so it is the fast
    /// non-cryptographic hash: a stage hashes its whole input.
    /// Computed once per opened dataset; later calls return it again.
    pub fn content_hash(&self) -> Result<String> {
        if let Some(hash) = self.hash.get() {
            return Ok(hash.clone());
        }
        let hash =
            crate::manifest::hash_files(&self.root, self.files.iter().map(|f| f.path.as_path()))?;
        Ok(self.hash.get_or_init(|| hash).clone())
    }
}

/// Iterator over the record batches of a [`Dataset`], file after file.
pub struct Batches<'a> {
    dataset: &'a Dataset,
    columns: Option<Vec<usize>>,
    batch_size: usize,
    /// See [`Batches::read_ahead`].
    read_ahead: usize,
    /// See [`Batches::aligned_to_row_groups`].
    by_row_group: bool,
    next_file: usize,
    /// With `by_row_group`, the next of the selected row groups of the file
    /// before `next_file` (an index into [`PartFile::groups`]).
    next_group: usize,
    current: Option<(usize, ParquetRecordBatchReader)>,
}

impl std::fmt::Debug for Batches<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batches")
            .field("root", &self.dataset.root)
            .field("next_file", &self.next_file)
            .finish_non_exhaustive()
    }
}

impl Batches<'_> {
    /// How many decoded batches [`Batches::for_each_prefetched`] may hold
    /// ready beyond the one being read (1 unless set).
    pub fn read_ahead(mut self, batches: usize) -> Self {
        self.read_ahead = batches.max(1);
        self
    }

    /// Never lets a batch hold rows of two row groups: each group's rows
    /// end a batch, so that a stage can tell where the input's groups start
    /// and end ([`Dataset::row_groups`]).
    pub fn aligned_to_row_groups(mut self) -> Self {
        self.by_row_group = true;
        self
    }

    /// Calls `each` with every batch in order while a second thread reads
    /// and decodes the next ones, so reading overlaps the caller's work.
    /// Stops at the first error, of reading or of `each`.
    pub fn for_each_prefetched<E: From<Error>>(
        self,
        mut each: impl FnMut(RecordBatch) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        std::thread::scope(|scope| {
            let (next, batches) = std::sync::mpsc::sync_channel(self.read_ahead);
            scope.spawn(move || {
                for batch in self {
                    let failed = batch.is_err();
                    // A closed channel means the caller stopped early.
                    if next.send(batch).is_err() || failed {
                        break;
                    }
                }
            });
            for batch in batches {
                each(batch?)?;
            }
            Ok(())
        })
    }
}

impl Iterator for Batches<'_> {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((index, reader)) = &mut self.current {
                match reader.next() {
                    Some(Ok(batch)) => return Some(Ok(batch)),
                    Some(Err(e)) => {
                        let path = self.dataset.files[*index].path.clone();
                        self.current = None;
                        self.next_file = self.dataset.files.len();
                        return Some(Err(Error::arrow(path, format!("cannot decode: {e}"))));
                    }
                    None => self.current = None,
                }
            }
            if self.by_row_group && self.next_file > 0 {
                let index = self.next_file - 1;
                let part = &self.dataset.files[index];
                let groups = part.groups();
                if self.next_group < groups.len() {
                    let group = groups[self.next_group].0;
                    self.next_group += 1;
                    match self.reader_for(part, Some(group)) {
                        Ok(reader) => self.current = Some((index, reader)),
                        Err(e) => {
                            self.next_file = self.dataset.files.len();
                            self.next_group = usize::MAX;
                            return Some(Err(e));
                        }
                    }
                    continue;
                }
            }
            let index = self.next_file;
            let part = self.dataset.files.get(index)?;
            self.next_file += 1;
            if self.by_row_group {
                self.next_group = 0;
                continue;
            }
            match self.reader_for(part, None) {
                Ok(reader) => self.current = Some((index, reader)),
                Err(e) => {
                    self.next_file = self.dataset.files.len();
                    return Some(Err(e));
                }
            }
        }
    }
}

impl Batches<'_> {
    fn reader_for(
        &self,
        part: &PartFile,
        group: Option<usize>,
    ) -> Result<ParquetRecordBatchReader> {
        let file = File::open(&part.path).at(&part.path)?;
        let mut builder =
            ParquetRecordBatchReaderBuilder::new_with_metadata(file, part.meta.clone())
                .with_batch_size(self.batch_size.max(1));
        let groups: Vec<(usize, u64, u64)> = match group {
            Some(group) => part
                .groups()
                .into_iter()
                .filter(|&(g, _, _)| g == group)
                .collect(),
            None => part.groups(),
        };
        if group.is_some() || part.selection.is_some() {
            builder = builder.with_row_groups(groups.iter().map(|g| g.0).collect());
        }
        if part.selection.is_some() {
            // The rows of each group the shard reads, the groups one after
            // another as the reader decodes them.
            let metadata = part.meta.metadata();
            let mut selectors = Vec::new();
            for &(g, start, end) in &groups {
                let total = metadata.row_group(g).num_rows().max(0) as usize;
                let (start, end) = (start as usize, end as usize);
                if start > 0 {
                    selectors.push(RowSelector::skip(start));
                }
                selectors.push(RowSelector::select(end - start));
                if end < total {
                    selectors.push(RowSelector::skip(total - end));
                }
            }
            builder = builder.with_row_selection(RowSelection::from(selectors));
        }
        if let Some(columns) = &self.columns {
            let mask = ProjectionMask::roots(part.meta.parquet_schema(), columns.iter().copied());
            builder = builder.with_projection(mask);
        }
        builder
            .build()
            .map_err(|e| Error::parquet(&part.path, None, e))
    }
}

fn open_part(path: &Path) -> Result<PartFile> {
    let mut file = File::open(path).at(path)?;
    let bytes = file.metadata().at(path)?.len();
    check_magic(path, &mut file, bytes)?;
    let meta = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).map_err(|e| {
        Error::NotParquet {
            path: path.to_path_buf(),
            reason: format!("corrupt footer: {e}"),
        }
    })?;
    let file_meta = meta.metadata().file_metadata();
    Ok(PartFile {
        path: path.to_path_buf(),
        bytes,
        rows: file_meta.num_rows().max(0) as u64,
        row_groups: meta.metadata().num_row_groups(),
        created_by: file_meta.created_by().map(str::to_string),
        meta,
        selection: None,
    })
}

/// Parquet files start and end with `PAR1`; checking both gives a clear
/// message for a text file, a truncated download or an encrypted footer.
fn check_magic(path: &Path, file: &mut File, bytes: u64) -> Result<()> {
    let not_parquet = |reason: String| Error::NotParquet {
        path: path.to_path_buf(),
        reason,
    };
    if bytes < 12 {
        return Err(not_parquet(format!(
            "{bytes} bytes, too small to be Parquet"
        )));
    }
    let mut head = [0u8; 4];
    let mut tail = [0u8; 4];
    file.read_exact(&mut head).at(path)?;
    file.seek(SeekFrom::End(-4)).at(path)?;
    file.read_exact(&mut tail).at(path)?;
    file.seek(SeekFrom::Start(0)).at(path)?;
    if &head != b"PAR1" {
        return Err(not_parquet("does not start with the PAR1 magic".into()));
    }
    match &tail {
        b"PAR1" => Ok(()),
        b"PARE" => Err(not_parquet(
            "encrypted footer (PARE) is not supported".into(),
        )),
        _ => Err(not_parquet(
            "no PAR1 footer: the file is truncated or corrupt".into(),
        )),
    }
}

fn collect_parquet(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dir).at(dir)? {
        let entry = entry.at(dir)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('_') || name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let kind = entry.file_type().at(&path)?;
        if kind.is_dir() {
            collect_parquet(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("parquet" | "parq" | "pq")
        ) {
            out.push(path);
        }
    }
    Ok(())
}

/// Orders `part-2` before `part-10` (pyarrow and Spark do not zero-pad).
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let na = trim_zeros(&a[..da]);
                let nb = trim_zeros(&b[..db]);
                let ord = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
                if ord != Ordering::Equal {
                    return ord;
                }
                a = &a[da..];
                b = &b[db..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let zeros = digits.iter().take_while(|&&c| c == b'0').count();
    &digits[zeros.min(digits.len().saturating_sub(1))..]
}

fn schema_diff(a: &SchemaRef, b: &SchemaRef) -> String {
    for field in a.fields() {
        match b.field_with_name(field.name()) {
            Err(_) => return format!("column `{}` is missing", field.name()),
            Ok(other) if other.data_type() != field.data_type() => {
                return format!(
                    "column `{}` is {} here but {} in the first file",
                    field.name(),
                    other.data_type(),
                    field.data_type()
                );
            }
            Ok(other) if other.is_nullable() != field.is_nullable() => {
                return format!("column `{}` differs in nullability", field.name());
            }
            Ok(_) => {}
        }
    }
    for field in b.fields() {
        if a.field_with_name(field.name()).is_err() {
            return format!("extra column `{}`", field.name());
        }
    }
    "columns are in a different order".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_of_part_names() {
        let mut names = vec![
            "part-10.parquet",
            "part-2.parquet",
            "part-1.parquet",
            "part-02a.parquet",
        ];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            names,
            [
                "part-1.parquet",
                "part-2.parquet",
                "part-02a.parquet",
                "part-10.parquet"
            ]
        );
    }
}
