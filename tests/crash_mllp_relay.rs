//! The example production `productions/mllp-relay.yaml`, run as shipped by the real
//! binary, is killed with SIGKILL at random moments while several MLLP senders stream
//! messages into it, and restarted on the same store each time.
//!
//! Each sender writes one message at a time and records every control id (MSH-10) it got
//! an AA for; when its connection drops it does not resend, it reconnects to the new
//! address (port 0: a restarted Ferry listens elsewhere) and goes on with new messages. A
//! sink behind the relay answers AA and records every message that reaches it.
//!
//! What must hold (architecture.md, "durable before acknowledged" and "at least once";
//! field case B30): every message a sender holds an AA for is in the store and reaches
//! the sink at least once; copies caused by the crashes are counted, not refused; a
//! message without an AA may or may not arrive; nothing arrives that no sender wrote, and
//! what arrives is byte for byte what was sent. The relay's single outbound worker also
//! keeps each sender's messages in order, restarts included.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::BytesMut;
use common::binary::{Ferry, listening_addr};
use common::hl7::typed;
use common::mllp::{Receiver, control_id};
use ferry_message::{ItemName, Status};
use ferry_mllp::{Framed, MllpCodec, frame};
use ferry_store::{Query, SearchValue, SledStore, Store, StoreConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_util::codec::Decoder;
use tokio_util::sync::CancellationToken;

/// Connections streaming into the relay at once.
const SENDERS: usize = 4;
/// How many times Ferry is killed.
const KILLS: u32 = 5;
/// The pause between two kills: 200 ms plus up to this much more, at random.
const KILL_SPREAD_MS: u64 = 1300;
/// The pause between two messages of one sender (pacing the load, not synchronising).
const PACE: Duration = Duration::from_millis(2);
/// How long a sender waits for the ACK of a message. Ferry answers within milliseconds;
/// a reply this late means it hangs, which the test reports.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// The service's name in the production file.
const INBOUND: &str = "MLLP in";

/// A small deterministic random source (xorshift64*); the seed is printed and can be set
/// with `FERRY_CRASH_SEED` to rerun a failure.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        XorShift(seed.max(1))
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % bound
    }
}

fn seed() -> u64 {
    if let Ok(text) = std::env::var("FERRY_CRASH_SEED") {
        return text.parse().expect("FERRY_CRASH_SEED is a number");
    }
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// Where senders connect: `generation` rises with every publication; `addr` is `None`
/// while Ferry is being killed and restarted.
#[derive(Debug, Clone, Copy)]
struct Inbound {
    generation: u64,
    addr: Option<SocketAddr>,
}

/// What the senders did, shared with the test's main thread.
#[derive(Debug, Default)]
struct Tally {
    /// Every control id whose message was written (or was being written) to Ferry.
    sent: BTreeSet<String>,
    /// Control id → the generation of the Ferry whose AA the sender holds.
    acked: BTreeMap<String, u64>,
    /// Replies that were not an AA for the message in flight.
    refused: Vec<String>,
    /// Messages Ferry neither answered nor dropped the connection for, in time.
    unanswered: Vec<String>,
    /// Connections that ended under a sender (Ferry killed), and failed connects.
    dropped: u32,
}

/// The message with control id `id` (an ADT^A01; the id names its sender and number).
fn message(id: &str) -> Vec<u8> {
    typed("ADT^A01", id)
}

/// The control id of message `n` of sender `sender`.
fn control(sender: usize, n: u32) -> String {
    format!("S{sender}N{n:07}")
}

/// Sender index and sequence number of a control id made by [`control`].
fn parse_control(id: &str) -> Option<(usize, u32)> {
    let (sender, n) = id.strip_prefix('S')?.split_once('N')?;
    Some((sender.parse().ok()?, n.parse().ok()?))
}

/// One sender's MLLP connection.
struct Link {
    stream: TcpStream,
    codec: MllpCodec,
    buffer: BytesMut,
}

/// How one exchange ended.
enum Exchange {
    Reply(Vec<u8>),
    Dropped,
    TimedOut,
}

impl Link {
    async fn open(addr: SocketAddr) -> Option<Link> {
        let connect = tokio::time::timeout(REPLY_TIMEOUT, TcpStream::connect(addr));
        let stream = connect.await.ok()?.ok()?;
        stream.set_nodelay(true).unwrap();
        Some(Link {
            stream,
            codec: MllpCodec::new(1 << 20),
            buffer: BytesMut::new(),
        })
    }

    /// Writes one framed message and reads the reply.
    async fn exchange(&mut self, message: &[u8]) -> Exchange {
        if self.stream.write_all(&frame(message)).await.is_err() {
            return Exchange::Dropped;
        }
        let deadline = tokio::time::Instant::now() + REPLY_TIMEOUT;
        loop {
            match self
                .codec
                .decode(&mut self.buffer)
                .expect("Ferry's framing")
            {
                Some(Framed::Message(reply)) => return Exchange::Reply(reply.to_vec()),
                Some(other) => panic!("Ferry wrote something that is no MLLP block: {other:?}"),
                None => {}
            }
            let read = tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.buffer));
            match read.await {
                Err(_) => return Exchange::TimedOut,
                Ok(Ok(0)) | Ok(Err(_)) => return Exchange::Dropped,
                Ok(Ok(_)) => {}
            }
        }
    }
}

/// Streams new messages into whichever Ferry is running until `stop`, one at a time,
/// recording each AA. A dropped connection is not retried with the same message: the
/// message in flight simply has no AA.
async fn send_stream(
    sender: usize,
    mut inbound: watch::Receiver<Inbound>,
    tally: Arc<Mutex<Tally>>,
    stop: CancellationToken,
) {
    let mut failed_generation = 0;
    let mut n = 0;
    while !stop.is_cancelled() {
        let wanted = |now: &Inbound| now.addr.is_some() && now.generation > failed_generation;
        let current = tokio::select! {
            () = stop.cancelled() => return,
            current = inbound.wait_for(wanted) => *current.expect("the test publishes"),
        };
        let Some(mut link) = Link::open(current.addr.unwrap()).await else {
            tally.lock().unwrap().dropped += 1;
            failed_generation = current.generation;
            continue;
        };

        while !stop.is_cancelled() {
            let id = control(sender, n);
            n += 1;
            tally.lock().unwrap().sent.insert(id.clone());
            let outcome = link.exchange(&message(&id)).await;
            if !record(&tally, id, outcome, current.generation) {
                failed_generation = current.generation;
                break;
            }
            tokio::time::sleep(PACE).await;
        }
    }
}

/// Records how the exchange of message `id` ended; false when the connection is gone.
fn record(tally: &Mutex<Tally>, id: String, outcome: Exchange, generation: u64) -> bool {
    let mut tally = tally.lock().unwrap();
    match outcome {
        Exchange::Reply(reply) => match ferry_hl7::read_ack(&reply) {
            Ok(ack) if ack.code.as_str() == "AA" && ack.control_id == id => {
                tally.acked.insert(id, generation);
            }
            _ => {
                let text = String::from_utf8_lossy(&reply).replace('\r', "\\r");
                tally.refused.push(format!("{id}: {text}"));
            }
        },
        Exchange::Dropped => {
            tally.dropped += 1;
            return false;
        }
        Exchange::TimedOut => {
            tally.unanswered.push(id);
            return false;
        }
    }
    true
}

/// Starts Ferry on the relay production and returns it with its inbound address.
fn start_ferry(production: &Path, env: &[(&str, &Path)]) -> (Ferry, SocketAddr) {
    let mut ferry = Ferry::start(production, env);
    let addr = listening_addr(&mut ferry, INBOUND, Duration::from_secs(60));
    (ferry, addr)
}

/// The last lines of each run's log, for failure messages.
fn log_tails(runs: &[String]) -> String {
    runs.iter()
        .enumerate()
        .map(|(run, log)| {
            let lines: Vec<&str> = log.lines().collect();
            let tail = lines[lines.len().saturating_sub(30)..].join("\n");
            format!(
                "--- run {run} (last {} lines) ---\n{tail}",
                lines.len().min(30)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn sigkill_never_loses_an_acked_mllp_message() {
    let started = Instant::now();
    let seed = seed();
    eprintln!("random seed {seed} (set FERRY_CRASH_SEED to repeat)");
    let mut random = XorShift::new(seed);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let sink = runtime.block_on(Receiver::acking());

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let production: PathBuf = common::repo().join("productions/mllp-relay.yaml");
    let sink_addr = PathBuf::from(sink.addr.to_string());
    let env = [
        ("FERRY_DATA", data.as_path()),
        ("FERRY_MLLP_IN", Path::new("127.0.0.1:0")),
        ("FERRY_MLLP_OUT", sink_addr.as_path()),
    ];

    let (mut ferry, addr) = start_ferry(&production, &env);
    let (publish, inbound) = watch::channel(Inbound {
        generation: 1,
        addr: Some(addr),
    });
    let tally = Arc::new(Mutex::new(Tally::default()));
    let stop = CancellationToken::new();
    let senders: Vec<_> = (0..SENDERS)
        .map(|sender| {
            let task = send_stream(sender, inbound.clone(), tally.clone(), stop.clone());
            runtime.spawn(task)
        })
        .collect();

    let mut logs = Vec::new();
    for _ in 0..KILLS {
        std::thread::sleep(Duration::from_millis(200 + random.below(KILL_SPREAD_MS)));
        publish.send_modify(|now| {
            now.generation += 1;
            now.addr = None;
        });
        logs.push(ferry.log_text());
        ferry.kill();

        let (restarted, addr) = start_ferry(&production, &env);
        ferry = restarted;
        publish.send_modify(|now| {
            now.generation += 1;
            now.addr = Some(addr);
        });
    }

    // Let the last Ferry answer some messages too before the senders stop.
    let last = publish.borrow().generation;
    let answered = poll(Duration::from_secs(60), || {
        let tally = tally.lock().unwrap();
        tally.acked.values().filter(|g| **g == last).count() >= 50
    });
    if !answered {
        let tally = tally.lock().unwrap();
        panic!(
            "the Ferry started last gave fewer than 50 AAs in 60 s ({} sent, {} AA'd in all, \
             refused {:?}, unanswered {:?})\nits log:\n{}",
            tally.sent.len(),
            tally.acked.len(),
            tally.refused,
            tally.unanswered,
            ferry.log_text()
        );
    }
    stop.cancel();
    for sender in senders {
        runtime.block_on(sender).expect("a sender task");
    }
    let tally = std::mem::take(&mut *tally.lock().unwrap());

    // On a timeout the checks below still run, so the failure names what is missing.
    let delivered = poll(Duration::from_secs(120), || {
        let arrived: BTreeSet<String> = sink.control_ids().into_iter().collect();
        tally.acked.keys().all(|id| arrived.contains(id))
    });
    logs.push(ferry.log_text());
    let status = ferry.stop();

    let arrivals = sink.messages();
    report_and_check(&tally, &arrivals, &logs, seed, started);
    assert!(
        delivered,
        "the sink got every AA'd message only after the wait for them ended"
    );
    assert!(
        status.success(),
        "ferry exited with {status}\n{}",
        log_tails(&logs)
    );
    check_store(&tally, &data);
}

/// Checks `condition` every 50 ms until it holds (true) or `timeout` passes (false), so
/// the caller can report what it saw when the wait fails.
fn poll(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while !condition() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// The assertions on what the senders hold and what reached the sink.
fn report_and_check(
    tally: &Tally,
    arrivals: &[Vec<u8>],
    logs: &[String],
    seed: u64,
    started: Instant,
) {
    let mut copies: BTreeMap<String, usize> = BTreeMap::new();
    let mut foreign = Vec::new();
    let mut altered = Vec::new();
    for bytes in arrivals {
        let id = control_id(bytes);
        if !tally.sent.contains(&id) {
            foreign.push(id);
            continue;
        }
        if *bytes != message(&id) {
            altered.push(id.clone());
        }
        *copies.entry(id).or_default() += 1;
    }
    let duplicates: usize = copies.values().map(|count| count - 1).sum();
    let missing: Vec<&String> = tally
        .acked
        .keys()
        .filter(|id| !copies.contains_key(*id))
        .collect();
    let unacked_arrived = copies
        .keys()
        .filter(|id| !tally.acked.contains_key(*id))
        .count();
    let mut per_generation: BTreeMap<u64, usize> = BTreeMap::new();
    for generation in tally.acked.values() {
        *per_generation.entry(*generation).or_default() += 1;
    }

    let summary = format!(
        "seed {seed}, {KILLS} kills, {SENDERS} senders, {:.1}s: {} sent, {} AA'd \
         (per Ferry run: {:?}), {} without AA of which {unacked_arrived} arrived anyway, \
         {} distinct arrived, {} arrivals, {duplicates} duplicates, {} connections \
         dropped or refused",
        started.elapsed().as_secs_f64(),
        tally.sent.len(),
        tally.acked.len(),
        per_generation.values().collect::<Vec<_>>(),
        tally.sent.len() - tally.acked.len(),
        copies.len(),
        arrivals.len(),
        tally.dropped,
    );
    eprintln!("{summary}");

    assert!(
        tally.refused.is_empty(),
        "{summary}\nreplies other than an AA for the message sent: {:?}\n{}",
        &tally.refused[..tally.refused.len().min(10)],
        log_tails(logs)
    );
    assert!(
        tally.unanswered.is_empty(),
        "{summary}\nFerry kept the connection but sent no reply within {REPLY_TIMEOUT:?} \
         for {:?}\n{}",
        tally.unanswered,
        log_tails(logs)
    );
    assert!(
        missing.is_empty(),
        "{summary}\n{} AA'd messages never reached the sink, e.g. {:?}\n{}",
        missing.len(),
        &missing[..missing.len().min(20)],
        log_tails(logs)
    );
    assert!(
        foreign.is_empty(),
        "{summary}\nthe sink got control ids no sender wrote: {:?}",
        &foreign[..foreign.len().min(20)]
    );
    assert!(
        altered.is_empty(),
        "{summary}\nmessages arrived changed: {:?}",
        &altered[..altered.len().min(20)]
    );
    assert!(
        per_generation.len() as u32 == KILLS + 1,
        "{summary}\nsome Ferry run answered no message, so not every kill hit a \
         running load"
    );

    let order = first_arrivals_out_of_order(arrivals);
    assert!(
        order.is_empty(),
        "{summary}\nthe outbound has pool 1, yet a sender's messages first arrived out of \
         order: {:?}",
        &order[..order.len().min(20)]
    );
}

/// Pairs (earlier, later) where a sender's message first reached the sink after one it
/// sent later.
fn first_arrivals_out_of_order(arrivals: &[Vec<u8>]) -> Vec<(String, String)> {
    let mut seen = BTreeSet::new();
    let mut last: BTreeMap<usize, u32> = BTreeMap::new();
    let mut out_of_order = Vec::new();
    for bytes in arrivals {
        let id = control_id(bytes);
        if !seen.insert(id.clone()) {
            continue;
        }
        let Some((sender, n)) = parse_control(&id) else {
            continue;
        };
        if let Some(previous) = last.get(&sender)
            && *previous > n
        {
            out_of_order.push((control(sender, *previous), id));
        }
        last.insert(sender, n.max(last.get(&sender).copied().unwrap_or(0)));
    }
    out_of_order
}

/// B30, part 1: no sender holds an AA for a message the store lacks. Every AA'd control
/// id has an inbound header from the MLLP service, not in Error.
fn check_store(tally: &Tally, data: &Path) {
    let (store, _) = SledStore::open(StoreConfig::new(data)).unwrap();
    let source = ItemName::new(INBOUND);
    let mut lacking = Vec::new();
    for id in tally.acked.keys() {
        let query = Query {
            source: Some(source.clone()),
            field: Some(SearchValue {
                field: "MSH-10".to_owned(),
                value: id.clone(),
            }),
            ..Query::default()
        };
        let headers = store.search(&query).unwrap();
        if !headers.iter().any(|header| header.status != Status::Error) {
            lacking.push((id.clone(), headers.len()));
        }
    }
    assert!(
        lacking.is_empty(),
        "{} AA'd messages have no usable inbound header in the store (id, headers found): \
         {:?}",
        lacking.len(),
        &lacking[..lacking.len().min(20)]
    );
}
