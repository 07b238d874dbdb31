//! A local server a stage needs while it runs (`serve` in its pipeline
//! section): started before the stage, stopped by its PID when the stage
//! ends, fails or panics.

use std::net::{TcpStream, ToSocketAddrs};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use ore_core::Serve;

/// A running server; dropping it stops it.
#[derive(Debug)]
pub(crate) struct Server {
    child: Child,
    program: String,
}

impl Server {
    /// Starts `serve.command` and waits until `serve.ready` accepts
    /// connections.
    pub(crate) fn start(serve: &Serve) -> Result<Self> {
        let Some((program, args)) = serve.command.split_first() else {
            bail!("serve.command is empty");
        };
        let addr = serve
            .ready
            .to_socket_addrs()
            .with_context(|| format!("serve.ready `{}` is not HOST:PORT", serve.ready))?
            .next()
            .with_context(|| format!("serve.ready `{}` resolves to nothing", serve.ready))?;
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            bail!(
                "{} is already taken by another process; stop it, or change the port",
                serve.ready
            );
        }
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start `{}`", serve.command.join(" ")))?;
        let mut server = Self {
            child,
            program: program.clone(),
        };
        let deadline = Instant::now() + Duration::from_secs_f64(serve.timeout_s.max(0.1));
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                eprintln!(
                    "serving on {} (`{}`, PID {})",
                    serve.ready,
                    serve.command.join(" "),
                    server.child.id()
                );
                return Ok(server);
            }
            if let Some(status) = server.child.try_wait()? {
                bail!(
                    "`{}` exited ({status}) before {} was ready",
                    serve.command.join(" "),
                    serve.ready
                );
            }
            if Instant::now() > deadline {
                server.stop();
                bail!(
                    "`{}` did not listen on {} within {} s",
                    serve.command.join(" "),
                    serve.ready,
                    serve.timeout_s
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        eprintln!("stopped {} (PID {})", self.program, self.child.id());
    }
}
