//! `ferry load send`: connections that each send one message, wait for its ACK, and send
//! the next.
//!
//! A message counts as sent only when its ACK parses as HL7 (Ferry's own ACK reader), MSA-1
//! is AA or CA, and MSA-2 is the MSH-10 just sent. Anything else is counted as a failure of
//! that message by kind ([`Failure`]) and the connection goes on with the next message;
//! after a timeout, a connection failure or a broken block it is dropped and opened again
//! (after a pause that doubles up to [`MAX_PAUSE`]), since a late ACK on the old stream
//! would otherwise be read as the answer to the next message.
//!
//! Every message taken from the plan ends as exactly one success or one failure, so with
//! `--count M` the sent and error counts add up to M. When the time is up (or a signal
//! arrives) no new message starts, and the ones in flight finish or time out: the sender
//! never leaves a message half-counted that the sink has counted.
//!
//! The clock starts once every connection is open, so connecting is not in the rate.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferry_hl7::read_ack;
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use crate::control_id::{ControlId, MAX_SEQUENCE, RunId, StreamKey};
use crate::error::LoadError;
use crate::generate::Generator;
use crate::report::{Progress, SendSummary, grouped, millis, rate};
use crate::stats::{Failure, Failures, Percentiles, micros, percentile};
use crate::wire::{Block, MllpStream};

/// How long a run lasts when neither `--seconds` nor `--count` is given.
const DEFAULT_SECONDS: u64 = 10;
/// The first pause before reconnecting after a failure.
const FIRST_PAUSE: Duration = Duration::from_millis(100);
/// The longest pause before reconnecting: a receiver that comes back is found within it.
pub const MAX_PAUSE: Duration = Duration::from_secs(2);

/// Arguments of `ferry load send`.
#[derive(Debug, Clone, clap::Args)]
pub struct SendArgs {
    /// The MLLP receiver, as HOST:PORT.
    #[arg(long, value_name = "HOST:PORT")]
    pub to: String,

    /// Connections, each with one message in flight (1 to 999).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1,
        value_parser = clap::value_parser!(u16).range(1..=999)
    )]
    pub connections: u16,

    /// Stop after this many seconds (fractions allowed). Without --seconds and --count,
    /// the run lasts 10 seconds.
    #[arg(long, value_name = "S", value_parser = parse_seconds)]
    pub seconds: Option<Duration>,

    /// Stop after this many messages in all, acknowledged or failed.
    #[arg(long, value_name = "M", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,

    /// How long to wait for each ACK (and for each connect): 30, 30s, 500ms, 2m.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Also print the summary as one JSON object on the last line of stdout.
    #[arg(long)]
    pub json: bool,

    /// Leave out the progress line.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Reads `--seconds`: a positive number of seconds.
///
/// # Errors
///
/// A message for clap when the text is not a positive, finite number.
pub fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number of seconds"))?;
    if seconds.is_nan() || seconds <= 0.0 {
        return Err(format!("'{text}': the number of seconds must be above 0"));
    }
    Duration::try_from_secs_f64(seconds).map_err(|error| format!("'{text}': {error}"))
}

/// Reads a duration: a number with `ms`, `s` or `m`, or a bare number of seconds.
///
/// # Errors
///
/// A message for clap when the text is not such a duration, or is zero.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let (number, unit) = match trimmed.find(|c: char| c.is_ascii_alphabetic()) {
        Some(at) => trimmed.split_at(at),
        None => (trimmed, "s"),
    };
    let factor = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        _ => return Err(format!("'{text}': use ms, s or m, e.g. 500ms, 30s, 2m")),
    };
    let seconds = parse_seconds(number).map_err(|_| format!("'{text}' is not a duration"))?;
    Ok(seconds.mul_f64(factor))
}

/// What the running connections share.
#[derive(Debug)]
struct Shared {
    /// Set when no new message may start.
    stop: AtomicBool,
    /// With `--count`: messages not yet taken.
    remaining: Option<AtomicU64>,
    tally: Mutex<Tally>,
}

/// Counts since the last progress tick; the latencies move to the full list each tick.
#[derive(Debug, Default)]
struct Tally {
    latencies: Vec<u32>,
    sent: u64,
    failures: Failures,
}

impl Shared {
    /// Takes the next message from the plan; false when the run is over.
    fn take(&self) -> bool {
        if self.stop.load(Ordering::Relaxed) {
            return false;
        }
        match &self.remaining {
            None => true,
            Some(remaining) => remaining
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                    left.checked_sub(1)
                })
                .is_ok(),
        }
    }

    fn tally(&self) -> std::sync::MutexGuard<'_, Tally> {
        // A worker that panicked while counting leaves counts that are still whole numbers.
        self.tally.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Why an exchange failed, and whether the connection can still be used.
#[derive(Debug, Clone, Copy)]
struct Trouble {
    failure: Failure,
    reconnect: bool,
}

impl Trouble {
    fn keep(failure: Failure) -> Trouble {
        Trouble {
            failure,
            reconnect: false,
        }
    }

    fn closing(failure: Failure) -> Trouble {
        Trouble {
            failure,
            reconnect: true,
        }
    }
}

/// One connection's loop.
#[derive(Debug)]
struct Worker {
    stream_key: StreamKey,
    addresses: Arc<[SocketAddr]>,
    timeout: Duration,
    shared: Arc<Shared>,
    generator: Generator,
    stream: Option<MllpStream>,
    next_sequence: u64,
    pause: Duration,
}

impl Worker {
    /// Sends until the plan ends. A message whose exchange timed out or lost its
    /// connection is sent again with the same MSH-10, as a real sender resends what it
    /// holds no ACK for; so a gap the sink counts as a loss is a message that was never
    /// acknowledged and never arrived, not one the sender gave up on. A resend counts as
    /// one message of `--count`.
    async fn run(mut self) {
        let mut resend: Option<u64> = None;
        loop {
            let sequence = match resend.take() {
                Some(sequence) if self.shared.take() => sequence,
                Some(_) => break,
                None if self.next_sequence <= MAX_SEQUENCE && self.shared.take() => {
                    self.next_sequence += 1;
                    self.next_sequence - 1
                }
                None => break,
            };
            let id = ControlId {
                stream: self.stream_key,
                sequence,
            };
            let message = self.generator.message(&id);

            let outcome = self.exchange(&message, &id.to_string()).await;

            let mut tally = self.shared.tally();
            match outcome {
                Ok(latency) => {
                    tally.sent += 1;
                    tally.latencies.push(micros(latency));
                }
                Err(failure) => {
                    if matches!(failure, Failure::Timeout | Failure::Connection) {
                        resend = Some(sequence);
                    }
                    tally.failures.add(failure);
                }
            }
        }
    }

    /// Sends one message and reads its ACK, opening the connection first when needed.
    async fn exchange(&mut self, message: &[u8], control_id: &str) -> Result<Duration, Failure> {
        let mut stream = match self.stream.take() {
            Some(stream) => stream,
            None => self.reconnect().await?,
        };

        let started = Instant::now();
        let result = tokio::time::timeout(self.timeout, talk(&mut stream, message, control_id));
        let trouble = match result.await {
            Ok(Ok(())) => {
                self.stream = Some(stream);
                self.pause = Duration::ZERO;
                return Ok(started.elapsed());
            }
            Ok(Err(trouble)) => trouble,
            Err(_elapsed) => Trouble::closing(Failure::Timeout),
        };

        if trouble.reconnect {
            tracing::debug!(
                connection = self.stream_key.connection,
                failure = trouble.failure.name(),
                "dropping the connection"
            );
            self.pause = (self.pause * 2).clamp(FIRST_PAUSE, MAX_PAUSE);
        } else {
            self.stream = Some(stream);
        }
        Err(trouble.failure)
    }

    /// Opens the connection again, after the pause earned by the last failures.
    async fn reconnect(&mut self) -> Result<MllpStream, Failure> {
        tokio::time::sleep(self.pause).await;
        match connect(&self.addresses, self.timeout).await {
            Ok(stream) => Ok(stream),
            Err(reason) => {
                tracing::debug!(
                    connection = self.stream_key.connection,
                    reason,
                    "reconnect failed"
                );
                self.pause = (self.pause * 2).clamp(FIRST_PAUSE, MAX_PAUSE);
                Err(Failure::Connection)
            }
        }
    }
}

/// Writes the message, reads the reply and judges it.
async fn talk(stream: &mut MllpStream, message: &[u8], control_id: &str) -> Result<(), Trouble> {
    stream
        .send(message)
        .await
        .map_err(|_| Trouble::closing(Failure::Connection))?;
    match stream.next().await {
        Ok(Block::Message(reply)) => judge(&reply, control_id).map_err(Trouble::keep),
        Ok(Block::Broken) => Err(Trouble::closing(Failure::Unreadable)),
        Ok(Block::Closed { .. }) | Err(_) => Err(Trouble::closing(Failure::Connection)),
    }
}

/// Whether a reply acknowledges `control_id` with success.
fn judge(reply: &Bytes, control_id: &str) -> Result<(), Failure> {
    let ack = read_ack(reply).map_err(|_| Failure::Unreadable)?;
    if !ack.code.is_accept() {
        return Err(Failure::Negative);
    }
    if ack.control_id != control_id {
        return Err(Failure::WrongControlId);
    }
    Ok(())
}

/// Connects within `timeout`; the reason as text when it fails.
async fn connect(addresses: &[SocketAddr], timeout: Duration) -> Result<MllpStream, String> {
    match tokio::time::timeout(timeout, TcpStream::connect(addresses)).await {
        Ok(Ok(stream)) => Ok(MllpStream::new(stream)),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("no connection within {timeout:?}")),
    }
}

/// Resolves HOST:PORT.
///
/// # Errors
///
/// [`LoadError::Resolve`] or [`LoadError::NoAddress`].
pub(crate) async fn resolve(address: &str) -> Result<Vec<SocketAddr>, LoadError> {
    let found = tokio::net::lookup_host(address)
        .await
        .map_err(|source| LoadError::Resolve {
            address: address.to_owned(),
            source,
        })?;
    let found: Vec<SocketAddr> = found.collect();
    if found.is_empty() {
        return Err(LoadError::NoAddress {
            address: address.to_owned(),
        });
    }
    Ok(found)
}

/// Runs `ferry load send` until its time or count is reached, or `stop` resolves.
///
/// # Errors
///
/// [`LoadError::Resolve`]/[`LoadError::NoAddress`] for an address that does not resolve,
/// [`LoadError::Connect`] when a first connection cannot be opened. Failures after the start
/// are counted in the summary, not returned.
pub async fn send(
    args: &SendArgs,
    stop: impl Future<Output = ()>,
) -> Result<SendSummary, LoadError> {
    let addresses: Arc<[SocketAddr]> = resolve(&args.to).await?.into();
    let run = RunId::generate();
    let streams = open_all(args, &addresses).await?;
    let mut progress = Progress::new(!args.quiet);
    if !args.quiet {
        eprintln!(
            "run {run}: sending to {} over {} connections",
            args.to, args.connections
        );
    }

    let shared = Arc::new(Shared {
        stop: AtomicBool::new(false),
        remaining: args.count.map(AtomicU64::new),
        tally: Mutex::new(Tally::default()),
    });
    let started = Instant::now();
    let mut workers = JoinSet::new();
    for (index, stream) in (1..).zip(streams) {
        let stream_key = StreamKey {
            run,
            connection: index,
        };
        let worker = Worker {
            stream_key,
            addresses: addresses.clone(),
            timeout: args.timeout,
            shared: shared.clone(),
            generator: Generator::new(run.seed() ^ u64::from(index)),
            stream: Some(stream),
            next_sequence: 1,
            pause: Duration::ZERO,
        };
        workers.spawn(worker.run());
    }

    let latencies = watch(args, &shared, &mut workers, &mut progress, stop).await;
    let elapsed = started.elapsed();
    progress.finish();

    let (sent, failures, mut latencies) = collect(&shared, latencies);
    Ok(SendSummary {
        run,
        to: args.to.clone(),
        connections: args.connections,
        sent,
        failures,
        elapsed,
        latency: Percentiles::of(&mut latencies),
    })
}

/// Opens every connection at once; the first failure ends the run before it starts.
async fn open_all(args: &SendArgs, addresses: &[SocketAddr]) -> Result<Vec<MllpStream>, LoadError> {
    let mut connecting = JoinSet::new();
    for index in 0..args.connections {
        let addresses = addresses.to_vec();
        let timeout = args.timeout;
        connecting.spawn(async move { (index, connect(&addresses, timeout).await) });
    }
    let mut opened: Vec<(u16, MllpStream)> = Vec::with_capacity(usize::from(args.connections));
    while let Some(joined) = connecting.join_next().await {
        let (index, result) = joined.map_err(|error| LoadError::Connect {
            address: args.to.clone(),
            reason: error.to_string(),
        })?;
        let stream = result.map_err(|reason| LoadError::Connect {
            address: args.to.clone(),
            reason,
        })?;
        opened.push((index, stream));
    }
    opened.sort_by_key(|(index, _)| *index);
    Ok(opened.into_iter().map(|(_, stream)| stream).collect())
}

/// Waits for the workers while showing progress; ends the plan at the deadline or on
/// `stop`. Returns the latencies moved out of the tally at each tick.
async fn watch(
    args: &SendArgs,
    shared: &Shared,
    workers: &mut JoinSet<()>,
    progress: &mut Progress,
    stop: impl Future<Output = ()>,
) -> Vec<u32> {
    let limit = match (args.seconds, args.count) {
        (Some(seconds), _) => Some(seconds),
        (None, Some(_)) => None,
        (None, None) => Some(Duration::from_secs(DEFAULT_SECONDS)),
    };
    let deadline = tokio::time::sleep(limit.unwrap_or(Duration::MAX / 4));
    tokio::pin!(deadline, stop);
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    ticks.tick().await;

    let mut all = Vec::new();
    let mut total_sent = 0;
    let mut stopping = false;
    loop {
        tokio::select! {
            joined = workers.join_next() => {
                if joined.is_none() {
                    break;
                }
            }
            _ = ticks.tick() => {
                let line = tick(shared, &mut all, &mut total_sent);
                progress.show(&line);
            }
            () = &mut deadline, if !stopping && limit.is_some() => {
                stopping = true;
                shared.stop.store(true, Ordering::Relaxed);
            }
            () = &mut stop, if !stopping => {
                stopping = true;
                shared.stop.store(true, Ordering::Relaxed);
            }
        }
    }
    all
}

/// One progress line: moves the last second's latencies to `all` and describes them.
fn tick(shared: &Shared, all: &mut Vec<u32>, total_sent: &mut u64) -> String {
    let (mut window, sent, errors) = {
        let mut tally = shared.tally();
        let window = std::mem::take(&mut tally.latencies);
        (window, tally.sent, tally.failures.total())
    };
    window.sort_unstable();
    let p99 = percentile(&window, 990);
    all.extend_from_slice(&window);
    let line = format!(
        "sent {}  {} msg/s  p99 {}  errors {}",
        grouped(sent),
        grouped(rate(sent - *total_sent, Duration::from_secs(1)).round() as u64),
        millis(p99),
        grouped(errors)
    );
    *total_sent = sent;
    line
}

/// The final counts and every latency.
fn collect(shared: &Shared, mut all: Vec<u32>) -> (u64, Failures, Vec<u32>) {
    let mut tally = shared.tally();
    all.append(&mut tally.latencies);
    (tally.sent, tally.failures.clone(), all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_with_or_without_a_unit() {
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5h").is_err());
        assert!(parse_duration("-1").is_err());
        assert!(parse_seconds("NaN").is_err());
        assert_eq!(parse_seconds("0.5"), Ok(Duration::from_millis(500)));
    }

    #[test]
    fn only_an_accepting_ack_for_the_same_id_counts() {
        let ack = |code: &str, id: &str| {
            Bytes::from(format!(
                "MSH|^~\\&|B|B|A|A|20240101||ACK^A01^ACK|X1|P|2.5.1\rMSA|{code}|{id}\r"
            ))
        };
        assert_eq!(judge(&ack("AA", "ID1"), "ID1"), Ok(()));
        assert_eq!(judge(&ack("CA", "ID1"), "ID1"), Ok(()));
        assert_eq!(judge(&ack("AE", "ID1"), "ID1"), Err(Failure::Negative));
        assert_eq!(judge(&ack("AR", "ID1"), "ID1"), Err(Failure::Negative));
        assert_eq!(
            judge(&ack("AA", "ID2"), "ID1"),
            Err(Failure::WrongControlId)
        );
        assert_eq!(
            judge(&Bytes::from_static(b"garbage"), "ID1"),
            Err(Failure::Unreadable)
        );
    }
}
