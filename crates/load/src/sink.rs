//! `ferry load sink`: an MLLP listener that answers every message and counts what arrives.
//!
//! Each connection is served by its own task, in order: read a block, count it, wait the
//! `--delay`, answer, read the next. A message is counted when it arrives, before the
//! answer, so when a sender has its ACK the sink has already counted the message.
//!
//! Counting is by MSH-10 (see [`crate::stats::Arrivals`]): the sender's ids name a run, a
//! connection and a sequence, so the sink can tell duplicates, gaps and late arrivals per
//! stream; any other MSH-10 is only checked for duplicates. The answer is an ACK built by
//! Ferry's own ACK writer (sender and receiver swapped, MSA-2 = the message's MSH-10), or
//! what `--reply` asks for, to see how a sender handles refusals and nonsense.
//!
//! Errors are blocks that are not usable messages (over 1 MiB, cut short, no readable
//! MSH, which get an AR with ERR code 100) and connections that fail while reading or
//! writing. A sender closing between messages is no error.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use ferry_hl7::{AckCode, AckError, AckOptions, MshHeader, build_ack, hl7_timestamp, scan_header};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::error::LoadError;
use crate::report::{Progress, SinkSummary, grouped, rate};
use crate::send::{parse_seconds, resolve};
use crate::stats::{ArrivalCounts, Arrivals};
use crate::wire::{Block, MllpStream};

/// What the sink answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Reply {
    /// An ACK with MSA-1 AA: accepted.
    Aa,
    /// An ACK with MSA-1 AE and an ERR segment (207, application internal error).
    Ae,
    /// An ACK with MSA-1 AR and an ERR segment (207, application internal error).
    Ar,
    /// A block that is not HL7 at all.
    Garbage,
    /// Nothing: the sender waits until its timeout.
    None,
}

/// Arguments of `ferry load sink`.
#[derive(Debug, Clone, clap::Args)]
pub struct SinkArgs {
    /// Where to listen, as HOST:PORT. With port 0 the system picks a free port; the address
    /// is printed on stderr as `listening HOST:PORT` either way.
    #[arg(long, value_name = "HOST:PORT")]
    pub listen: String,

    /// Answer each message this many milliseconds after it arrived, like a slow receiver.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub delay: u64,

    /// What to answer.
    #[arg(long, value_enum, default_value_t = Reply::Aa)]
    pub reply: Reply,

    /// Stop after this many seconds, as on SIGTERM (fractions allowed).
    #[arg(long, value_name = "S", value_parser = parse_seconds)]
    pub seconds: Option<Duration>,

    /// Also print the summary as one JSON object on the last line of stdout.
    #[arg(long)]
    pub json: bool,

    /// Leave out the progress line.
    #[arg(long, short)]
    pub quiet: bool,
}

/// What the connection tasks share.
#[derive(Debug, Default)]
struct Book {
    arrivals: Arrivals,
    errors: u64,
    first: Option<Instant>,
    last: Option<Instant>,
}

#[derive(Debug)]
struct Shared {
    book: Mutex<Book>,
    reply: Reply,
    delay: Duration,
    /// Numbers the sink's own ACKs, whose MSH-10 must be unique too.
    acks: AtomicU64,
}

impl Shared {
    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        // A task that panicked while counting leaves counts that are still whole numbers.
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn error(&self) {
        self.book().errors += 1;
    }

    /// Counts one block's content and builds its answer (`None`: answer nothing).
    fn receive(&self, message: &[u8]) -> Option<Vec<u8>> {
        let header = scan_header(message);

        let now = Instant::now();
        {
            let mut book = self.book();
            match &header {
                Ok(header) => {
                    book.arrivals.observe(&header.control_id());
                    book.first.get_or_insert(now);
                    book.last = Some(now);
                }
                Err(_) => book.errors += 1,
            }
        }

        match header {
            Ok(header) => self.answer(Some(&header)),
            Err(error) => {
                tracing::debug!(%error, "a message without a readable MSH");
                self.answer(None)
            }
        }
    }

    fn answer(&self, header: Option<&MshHeader>) -> Option<Vec<u8>> {
        let refusal = AckError::standard(AckError::APPLICATION_INTERNAL_ERROR);
        let unreadable = AckError::standard(AckError::SEGMENT_SEQUENCE_ERROR);
        let (code, error) = match (self.reply, header) {
            (Reply::None, _) => return None,
            (Reply::Garbage, _) => return Some(b"this is not an HL7 acknowledgement".to_vec()),
            (_, None) => (AckCode::AR, Some(&unreadable)),
            (Reply::Aa, Some(_)) => (AckCode::AA, None),
            (Reply::Ae, Some(_)) => (AckCode::AE, Some(&refusal)),
            (Reply::Ar, Some(_)) => (AckCode::AR, Some(&refusal)),
        };
        let number = self.acks.fetch_add(1, Ordering::Relaxed) + 1;
        let control_id = format!("SINK{number}");
        let timestamp = hl7_timestamp(SystemTime::now());
        let options = AckOptions {
            control_id: &control_id,
            timestamp: &timestamp,
            local_application: None,
            local_facility: None,
        };
        Some(build_ack(header, code, None, error, &options))
    }
}

/// A bound sink, not yet accepting: bind first, so a caller can read the port it got.
#[derive(Debug)]
pub struct Sink {
    listener: TcpListener,
    local: SocketAddr,
    args: SinkArgs,
}

impl Sink {
    /// Listens on `args.listen`.
    ///
    /// # Errors
    ///
    /// [`LoadError::Resolve`]/[`LoadError::NoAddress`] for an address that does not
    /// resolve, [`LoadError::Bind`] when no resolved address can be bound.
    pub async fn bind(args: &SinkArgs) -> Result<Sink, LoadError> {
        let addresses = resolve(&args.listen).await?;
        let bind_error = |source| LoadError::Bind {
            address: args.listen.clone(),
            source,
        };
        let listener = TcpListener::bind(&addresses[..])
            .await
            .map_err(bind_error)?;
        let local = listener.local_addr().map_err(bind_error)?;
        Ok(Sink {
            listener,
            local,
            args: args.clone(),
        })
    }

    /// The address it listens on (with the port the system chose for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Serves connections until `stop` resolves or `--seconds` pass, then closes them all
    /// and returns what it counted.
    pub async fn run(self, stop: impl Future<Output = ()>) -> SinkSummary {
        let started = Instant::now();
        let shared = Arc::new(Shared {
            book: Mutex::new(Book::default()),
            reply: self.args.reply,
            delay: Duration::from_millis(self.args.delay),
            acks: AtomicU64::new(0),
        });
        let mut progress = Progress::new(!self.args.quiet);
        let mut connections = JoinSet::new();

        let limit = self.args.seconds;
        let deadline = tokio::time::sleep(limit.unwrap_or(Duration::MAX / 4));
        tokio::pin!(deadline, stop);
        let mut ticks = tokio::time::interval(Duration::from_secs(1));
        ticks.tick().await;
        let mut last_shown = ArrivalCounts::default();
        let mut last_errors = 0;

        loop {
            tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        tracing::debug!(%peer, "connection accepted");
                        connections.spawn(serve(stream, shared.clone()));
                    }
                    Err(error) => {
                        // Out of file descriptors, say: wait a little instead of spinning.
                        tracing::debug!(%error, "accept failed");
                        shared.error();
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                _ = ticks.tick() => {
                    let (counts, errors) = snapshot(&shared);
                    if counts != last_shown || errors != last_errors {
                        progress.show(&progress_line(&counts, &last_shown, errors));
                    }
                    last_shown = counts;
                    last_errors = errors;
                }
                () = &mut deadline, if limit.is_some() => break,
                () = &mut stop => break,
            }
        }

        connections.shutdown().await;
        progress.finish();
        let book = shared.book();
        let active = match (book.first, book.last) {
            (Some(first), Some(last)) if last > first => last - first,
            _ => started.elapsed(),
        };
        SinkSummary {
            listen: self.local,
            counts: book.arrivals.counts(),
            errors: book.errors,
            active,
            elapsed: started.elapsed(),
        }
    }
}

fn snapshot(shared: &Shared) -> (ArrivalCounts, u64) {
    let book = shared.book();
    (book.arrivals.counts(), book.errors)
}

fn progress_line(counts: &ArrivalCounts, before: &ArrivalCounts, errors: u64) -> String {
    let new = counts.received.saturating_sub(before.received);
    format!(
        "received {}  {} msg/s  duplicates {}  losses {}  out of order {}  errors {}",
        grouped(counts.received),
        grouped(rate(new, Duration::from_secs(1)).round() as u64),
        grouped(counts.duplicates),
        grouped(counts.losses),
        grouped(counts.out_of_order),
        grouped(errors)
    )
}

/// Serves one connection until the peer closes it or it fails.
async fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let mut stream = MllpStream::new(stream);
    loop {
        let message = match stream.next().await {
            Ok(Block::Message(message)) => message,
            Ok(Block::Broken) => {
                shared.error();
                continue;
            }
            Ok(Block::Closed { mid_block }) => {
                if mid_block {
                    shared.error();
                }
                return;
            }
            Err(error) => {
                tracing::debug!(%error, "read failed");
                shared.error();
                return;
            }
        };

        let answer = shared.receive(&message);

        if !shared.delay.is_zero() {
            tokio::time::sleep(shared.delay).await;
        }
        if let Some(answer) = answer
            && let Err(error) = stream.send(&answer).await
        {
            tracing::debug!(%error, "write failed");
            shared.error();
            return;
        }
    }
}
