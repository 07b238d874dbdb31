//! The training log as a TensorBoard event file, so `tensorboard --logdir
//! MODEL_DIR` draws the curves.
//!
//! An event file is a sequence of TFRecords (length, masked CRC32C of the
//! length, payload, masked CRC32C of the payload), each payload one `Event`
//! protobuf. Only the few fields TensorBoard's scalar view reads are written,
//! encoded here by hand (field numbers from TensorBoard's
//! `compat/proto/event.proto` and `summary.proto`):
//!
//! - `Event`: `wall_time` (double, 1), `step` (int64, 2), `file_version`
//!   (string, 3; the first record only), `summary` (Summary, 5);
//! - `Summary`: repeated `value` (Value, 1);
//! - `Value`: `tag` (string, 1), `simple_value` (float, 2).
//!
//! A resumed run rewrites the whole log, so the folder holds one event file
//! with every row, replaced atomically like `log.csv`.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Result, TrainError};
use crate::log::LogRow;

/// Event files are named `events.out.tfevents.<unix secs>.ore` (TensorBoard
/// finds them by the prefix; the last part is where a writer puts its host).
pub const FILE_PREFIX: &str = "events.out.tfevents.";
const FILE_SUFFIX: &str = ".ore";

/// What TensorBoard expects in the first record of a file.
const FILE_VERSION: &str = "brain.Event:2";

/// Scalar tags of one log row.
pub const TRAIN_LOSS: &str = "train/loss";
pub const TRAIN_LR: &str = "train/lr";
pub const TRAIN_TOKENS_PER_S: &str = "train/tokens_per_s";
pub const VALID_LOSS: &str = "valid/loss";

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Writes `rows` as one event file in `dir` (through a temporary file and a
/// rename) and removes the event files of earlier writes. A row's wall time
/// is `start_unix_s` plus its `elapsed_s`. Returns the file's path.
pub fn write(dir: &Path, rows: &[LogRow], start_unix_s: f64) -> Result<PathBuf> {
    let name = format!("{FILE_PREFIX}{}{FILE_SUFFIX}", unix_now() as u64);
    let path = dir.join(&name);
    crate::io::write_atomic(&path, &encode(rows, start_unix_s))?;
    remove_event_files(dir, Some(&name))?;
    Ok(path)
}

/// Removes this module's event files from `dir`, except `keep`.
pub fn remove_event_files(dir: &Path, keep: Option<&str>) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(TrainError::io(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| TrainError::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with(FILE_PREFIX) && name.ends_with(FILE_SUFFIX) && Some(name) != keep {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(|e| TrainError::io(&path, e))?;
        }
    }
    Ok(())
}

/// The bytes of an event file: a `file_version` record, then one record a
/// log row with its scalars.
pub fn encode(rows: &[LogRow], start_unix_s: f64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut event = Vec::new();
    put_double(&mut event, 1, start_unix_s);
    put_bytes(&mut event, 3, FILE_VERSION.as_bytes());
    put_record(&mut out, &event);
    for row in rows {
        let mut summary = Vec::new();
        let mut scalar = |tag: &str, value: f64| {
            let mut v = Vec::new();
            put_bytes(&mut v, 1, tag.as_bytes());
            put_float(&mut v, 2, value as f32);
            put_bytes(&mut summary, 1, &v);
        };
        scalar(TRAIN_LOSS, row.loss);
        scalar(TRAIN_LR, row.lr);
        scalar(TRAIN_TOKENS_PER_S, row.tokens_per_s);
        if let Some(valid) = row.valid_loss {
            scalar(VALID_LOSS, valid);
        }
        event.clear();
        put_double(&mut event, 1, start_unix_s + row.elapsed_s);
        put_varint(&mut event, 2, row.step);
        put_bytes(&mut event, 5, &summary);
        put_record(&mut out, &event);
    }
    out
}

/// One TFRecord: length, its masked CRC, payload, the payload's masked CRC.
fn put_record(out: &mut Vec<u8>, payload: &[u8]) {
    let len = (payload.len() as u64).to_le_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc(&len).to_le_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&masked_crc(payload).to_le_bytes());
}

// Protobuf wire types.
const VARINT: u64 = 0;
const FIXED64: u64 = 1;
const LEN: u64 = 2;
const FIXED32: u64 = 5;

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn key(out: &mut Vec<u8>, field: u64, wire: u64) {
    varint(out, (field << 3) | wire);
}

/// An int64 field (a step fits in 63 bits, so its two's complement bits are
/// the value's).
fn put_varint(out: &mut Vec<u8>, field: u64, v: u64) {
    key(out, field, VARINT);
    varint(out, v);
}

fn put_double(out: &mut Vec<u8>, field: u64, v: f64) {
    key(out, field, FIXED64);
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_float(out: &mut Vec<u8>, field: u64, v: f32) {
    key(out, field, FIXED32);
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    key(out, field, LEN);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), one table lookup a
/// byte.
pub fn crc32c(bytes: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut crc = i as u32;
            let mut bit = 0;
            while bit < 8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0x82F6_3B78
                } else {
                    crc >> 1
                };
                bit += 1;
            }
            table[i] = crc;
            i += 1;
        }
        table
    };
    !bytes.iter().fold(!0u32, |crc, &b| {
        TABLE[((crc ^ u32::from(b)) & 0xFF) as usize] ^ (crc >> 8)
    })
}

/// TFRecord's masked CRC: a CRC of data that holds CRCs is then still a
/// good checksum.
pub fn masked_crc(bytes: &[u8]) -> u32 {
    crc32c(bytes).rotate_right(15).wrapping_add(0xA282_EAD8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An event as read back: wall time, step, file version, (tag, value).
    #[derive(Debug, Default, PartialEq)]
    struct Event {
        wall_time: f64,
        step: u64,
        file_version: Option<String>,
        values: Vec<(String, f32)>,
    }

    /// The records of an event file, each checked against its CRCs.
    fn records(mut bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let len_bytes = &bytes[..8];
            let len = u64::from_le_bytes(len_bytes.try_into().unwrap()) as usize;
            let len_crc = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
            assert_eq!(len_crc, masked_crc(len_bytes), "length CRC");
            let payload = &bytes[12..12 + len];
            let crc = u32::from_le_bytes(bytes[12 + len..16 + len].try_into().unwrap());
            assert_eq!(crc, masked_crc(payload), "payload CRC");
            out.push(payload.to_vec());
            bytes = &bytes[16 + len..];
        }
        out
    }

    fn read_varint(bytes: &mut &[u8]) -> u64 {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = bytes[0];
            *bytes = &bytes[1..];
            v |= u64::from(b & 0x7F) << shift;
            if b < 0x80 {
                return v;
            }
        }
        panic!("varint too long")
    }

    /// (field number, raw bytes) of a message's fields; a varint as 8
    /// little-endian bytes.
    fn fields(mut bytes: &[u8]) -> Vec<(u64, Vec<u8>)> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let k = read_varint(&mut bytes);
            let (raw, rest) = match k & 7 {
                VARINT => {
                    let v = read_varint(&mut bytes);
                    (v.to_le_bytes().to_vec(), bytes)
                }
                FIXED64 => (bytes[..8].to_vec(), &bytes[8..]),
                FIXED32 => (bytes[..4].to_vec(), &bytes[4..]),
                LEN => {
                    let n = read_varint(&mut bytes) as usize;
                    (bytes[..n].to_vec(), &bytes[n..])
                }
                other => panic!("wire type {other}"),
            };
            bytes = rest;
            out.push((k >> 3, raw));
        }
        out
    }

    fn decode(payload: &[u8]) -> Event {
        let mut event = Event::default();
        for (field, raw) in fields(payload) {
            match field {
                1 => event.wall_time = f64::from_le_bytes(raw.try_into().unwrap()),
                2 => event.step = u64::from_le_bytes(raw.try_into().unwrap()),
                3 => event.file_version = Some(String::from_utf8(raw).unwrap()),
                5 => {
                    for (f, value) in fields(&raw) {
                        assert_eq!(f, 1, "Summary.value");
                        let mut tag = None;
                        let mut v = None;
                        for (f, raw) in fields(&value) {
                            match f {
                                1 => tag = Some(String::from_utf8(raw).unwrap()),
                                2 => v = Some(f32::from_le_bytes(raw.try_into().unwrap())),
                                other => panic!("Value field {other}"),
                            }
                        }
                        event.values.push((tag.unwrap(), v.unwrap()));
                    }
                }
                other => panic!("Event field {other}"),
            }
        }
        event
    }

    fn rows() -> Vec<LogRow> {
        (1..=6)
            .map(|i| LogRow {
                step: i * 50,
                epoch: i / 3,
                loss: 4.0 / i as f64,
                valid_loss: (i % 2 == 0).then(|| 5.0 / i as f64),
                tokens_per_s: 1234.5 * i as f64,
                lr: 3e-3 / i as f64,
                elapsed_s: 1.5 * i as f64,
            })
            .collect()
    }

    #[test]
    fn crc32c_of_the_check_string() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
    }

    #[test]
    fn records_decode_back_to_the_log_rows() {
        let rows = rows();
        let start = 1_700_000_000.25;
        let events: Vec<Event> = records(&encode(&rows, start))
            .iter()
            .map(|p| decode(p))
            .collect();
        assert_eq!(events.len(), rows.len() + 1);
        assert_eq!(events[0].file_version.as_deref(), Some("brain.Event:2"));
        assert_eq!(events[0].wall_time, start);
        assert!(events[0].values.is_empty());
        for (row, event) in rows.iter().zip(&events[1..]) {
            assert_eq!(event.step, row.step);
            assert_eq!(event.wall_time, start + row.elapsed_s);
            assert_eq!(event.file_version, None);
            let mut want = vec![
                (TRAIN_LOSS.to_string(), row.loss as f32),
                (TRAIN_LR.to_string(), row.lr as f32),
                (TRAIN_TOKENS_PER_S.to_string(), row.tokens_per_s as f32),
            ];
            if let Some(v) = row.valid_loss {
                want.push((VALID_LOSS.to_string(), v as f32));
            }
            assert_eq!(event.values, want);
        }
    }

    #[test]
    fn large_steps_use_multibyte_varints() {
        let mut rows = rows();
        rows[0].step = u64::from(u32::MAX) + 7;
        let events: Vec<Event> = records(&encode(&rows, 0.0))
            .iter()
            .map(|p| decode(p))
            .collect();
        assert_eq!(events[1].step, u64::from(u32::MAX) + 7);
    }

    #[test]
    fn rewrite_leaves_one_event_file() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("events.out.tfevents.1.ore");
        std::fs::write(&old, b"stale").unwrap();
        std::fs::write(dir.path().join("log.csv"), b"kept").unwrap();
        let path = write(dir.path(), &rows(), 10.0).unwrap();
        assert!(!old.exists());
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names.contains(&"log.csv".to_string()));
        let events = records(&std::fs::read(&path).unwrap());
        assert_eq!(events.len(), rows().len() + 1);
        let again = write(dir.path(), &rows()[..2], 10.0).unwrap();
        assert_eq!(records(&std::fs::read(&again).unwrap()).len(), 3);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
