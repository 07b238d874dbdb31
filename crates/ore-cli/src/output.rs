//! How both binaries (`ore` and `ore-torch`) end: the report on stdout, an
//! error as one line on stderr, and the exit status.

use std::io::Write;
use std::process::ExitCode;

/// Writes a command's report, or its error as `error: …` on one line.
pub(crate) fn finish(result: anyhow::Result<String>) -> ExitCode {
    match result.and_then(|text| write_stdout(&text)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes joined by `: `, leaving out a cause whose text
/// the line already holds (error types that print their source themselves,
/// such as `path: io error`, would otherwise repeat it).
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// Writes the report; a closed pipe (`ore inspect … | head`) is not an error.
fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
