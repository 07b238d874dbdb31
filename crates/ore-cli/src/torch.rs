//! `ore-torch`, the binary beside `ore` that links libtorch, and handing
//! a command line over to it.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::{Context, bail};

/// `ore-torch` beside this binary, or an error saying how to build it.
pub(crate) fn torch_binary(subcommand: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot locate the ore binary")?;
    let torch: PathBuf = exe.with_file_name(format!("ore-torch{}", std::env::consts::EXE_SUFFIX));
    if !torch.is_file() {
        bail!(
            "`ore {subcommand}` needs {}, which is missing: build it with `make build` \
             (cargo feature `train` of ore-cli, which links libtorch)",
            torch.display()
        );
    }
    Ok(torch)
}

/// Hands `ore SUBCOMMAND` (train, eval, translate, augment with a model
/// backend) to `ore-torch` beside this binary: only it
/// links libtorch. On Unix the process is replaced, so signals, exit status
/// and the terminal go straight to it.
pub(crate) fn run_torch(subcommand: &str, args: &[OsString]) -> anyhow::Result<String> {
    let torch = torch_binary(subcommand)?;
    let mut command = std::process::Command::new(&torch);
    command.arg(subcommand).args(args);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let err = command.exec();
        Err(err).with_context(|| format!("cannot run {}", torch.display()))
    }
    #[cfg(not(unix))]
    {
        let status = command
            .status()
            .with_context(|| format!("cannot run {}", torch.display()))?;
        std::process::exit(status.code().unwrap_or(1));
    }
}
