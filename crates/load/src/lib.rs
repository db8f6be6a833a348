//! Ferry's load tool: `ferry load send` and `ferry load sink`.
//!
//! A throughput figure means little unless every message it counts was really taken, so
//! the sender checks each ACK (HL7, MSA-1 AA or CA, MSA-2 = the MSH-10 sent) and the sink
//! checks what arrived (duplicates, gaps, order) from MSH-10s that encode the run, the
//! connection and the sequence ([`control_id`]). Both print a progress line once a second
//! on stderr and a summary at the end ([`report`]).
//!
//! - [`generate`]: HL7 v2.5.1 ADT and ORU messages of 0.5 to 2 KiB;
//! - [`send`](mod@send): N connections, one message in flight on each;
//! - [`sink`]: a listener that answers every message and counts;
//! - [`stats`]: latency percentiles, failure kinds, per-stream arrival tracking;
//! - framing is Ferry's MLLP codec ([`ferry_mllp::codec`]).
//!
//! In-process use, as the tests do it:
//!
//! ```no_run
//! # async fn example() -> Result<(), ferry_load::LoadError> {
//! use ferry_load::{SendArgs, Sink, SinkArgs};
//!
//! let sink_args = SinkArgs {
//!     listen: "127.0.0.1:0".into(), delay: 0, reply: ferry_load::Reply::Aa,
//!     seconds: None, json: false, quiet: true,
//! };
//! let sink = Sink::bind(&sink_args).await?;
//! let send_args = SendArgs {
//!     to: sink.local_addr().to_string(), connections: 4, seconds: None, count: Some(800),
//!     timeout: std::time::Duration::from_secs(5), json: false, quiet: true,
//! };
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let sink = tokio::spawn(sink.run(async { let _ = stopped.await; }));
//! let sent = ferry_load::send(&send_args, std::future::pending()).await?;
//! let _ = stop.send(());
//! let received = sink.await.expect("the sink ran");
//! assert_eq!(sent.sent, received.counts.received);
//! # Ok(()) }
//! ```

pub mod control_id;
mod error;
pub mod generate;
pub mod report;
pub mod send;
pub mod sink;
pub mod stats;
mod wire;

use std::process::ExitCode;

pub use error::LoadError;
pub use report::{SendSummary, SinkSummary};
pub use send::{SendArgs, send};
pub use sink::{Reply, Sink, SinkArgs};

/// `ferry load ...`: what to run.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum LoadCommand {
    /// Send generated ADT and ORU messages over MLLP and check every ACK.
    ///
    /// Each connection sends one message, waits for its ACK and sends the next. A message
    /// counts as sent only when its ACK is AA or CA and MSA-2 names it. Exits 0 when every
    /// message was acknowledged that way, 1 when any failed (the summary says how).
    Send(SendArgs),
    /// Listen for MLLP messages, answer each and count losses, duplicates and order.
    ///
    /// Prints `listening HOST:PORT` on stderr once bound, and its summary on SIGTERM,
    /// SIGINT or after --seconds, then exits 0.
    Sink(SinkArgs),
}

/// Runs a load command on its own runtime; returns the process exit code (0 success, 1 a
/// failed run, 2 a wrong command line).
pub fn run(command: LoadCommand) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build();
    let result = match runtime {
        Ok(runtime) => runtime.block_on(run_command(command)),
        Err(error) => Err(LoadError::Runtime(error)),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("ferry load: {error}");
            error.exit_code()
        }
    }
}

async fn run_command(command: LoadCommand) -> Result<ExitCode, LoadError> {
    // Handlers first: a signal that comes before them would kill the process unreported.
    let signals = Signals::install()?;
    match command {
        LoadCommand::Send(args) => {
            let summary = send(&args, signals.wait()).await?;
            let json = args.json.then(|| summary.to_json());
            report::print_summary(&summary.to_text(), json.as_ref());
            if summary.errors() == 0 {
                Ok(ExitCode::SUCCESS)
            } else {
                Ok(ExitCode::from(1))
            }
        }
        LoadCommand::Sink(args) => {
            let sink = Sink::bind(&args).await?;
            // Printed even with --quiet: scripts and tests read the port from it.
            eprintln!("listening {}", sink.local_addr());
            let summary = sink.run(signals.wait()).await;
            let json = args.json.then(|| summary.to_json());
            report::print_summary(&summary.to_text(), json.as_ref());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// SIGINT and SIGTERM, both of which end a run with its summary.
struct Signals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> Result<Signals, LoadError> {
        use tokio::signal::unix::{SignalKind, signal};

        Ok(Signals {
            terminate: signal(SignalKind::terminate()).map_err(LoadError::Runtime)?,
            interrupt: signal(SignalKind::interrupt()).map_err(LoadError::Runtime)?,
        })
    }

    /// Resolves at the first of them.
    async fn wait(mut self) {
        tokio::select! {
            _ = self.terminate.recv() => {}
            _ = self.interrupt.recv() => {}
        }
    }
}
