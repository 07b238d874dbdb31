//! Progress reporting for long stages: a bar on stderr when it is a
//! terminal, nothing otherwise (logs and CI stay clean).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar (known total) or spinner (unknown total).
///
/// Hidden when stderr is not a terminal or `ORE_NO_PROGRESS` is set.
#[derive(Debug, Clone)]
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// Counts items (`unit` is e.g. "rows", "pages").
    pub fn new(total: Option<u64>, unit: &str) -> Self {
        let template = match total {
            Some(_) => format!(
                "{{spinner}} {{msg}} [{{elapsed_precise}}] {{wide_bar}} {{human_pos}}/{{human_len}} {unit} ({{per_sec}}, eta {{eta}})"
            ),
            None => format!(
                "{{spinner}} {{msg}} [{{elapsed_precise}}] {{human_pos}} {unit} ({{per_sec}})"
            ),
        };
        Self::with_template(total, &template)
    }

    /// Counts bytes.
    pub fn bytes(total: Option<u64>) -> Self {
        let template = match total {
            Some(_) => {
                "{spinner} {msg} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})"
            }
            None => "{spinner} {msg} [{elapsed_precise}] {bytes} ({bytes_per_sec})",
        };
        Self::with_template(total, template)
    }

    /// A bar that never draws.
    pub fn hidden() -> Self {
        Self {
            bar: ProgressBar::hidden(),
        }
    }

    fn with_template(total: Option<u64>, template: &str) -> Self {
        let target = if std::env::var_os("ORE_NO_PROGRESS").is_some() {
            ProgressDrawTarget::hidden()
        } else {
            // indicatif draws nothing when stderr is not a terminal.
            ProgressDrawTarget::stderr_with_hz(8)
        };
        let bar = ProgressBar::with_draw_target(total, target);
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("█▉▊▋▌▍▎▏ "));
        }
        bar.enable_steady_tick(Duration::from_millis(250));
        Self { bar }
    }

    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    pub fn set_length(&self, total: u64) {
        self.bar.set_length(total);
    }

    pub fn set_message(&self, message: impl Into<std::borrow::Cow<'static, str>>) {
        self.bar.set_message(message);
    }

    pub fn position(&self) -> u64 {
        self.bar.position()
    }

    /// Prints a line above the bar (or plainly when hidden).
    pub fn println(&self, line: impl AsRef<str>) {
        if self.bar.is_hidden() {
            eprintln!("{}", line.as_ref());
        } else {
            self.bar.println(line.as_ref());
        }
    }

    /// Removes the bar from the screen.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
