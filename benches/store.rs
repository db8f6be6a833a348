//! Store throughput: durable accepts (accept of one ~1 KiB HL7 v2 record + barrier) with
//! 1, 16 and 64 concurrent writers, for `durability: fsync` and `os`, beside a bare
//! baseline (append 1 KiB to a plain file + `fdatasync`, one per write) on the same disk;
//! and one processing step (take, route to one target, complete with one output).
//!
//! Every benchmark id names its durability mode and writer count; throughput is printed in
//! messages (elements) per second. Stores live in a temporary folder on the default temp
//! filesystem: run with `TMPDIR` on the disk you want measured.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ferry_message::{ContentKind, ItemName, NewBody};
use ferry_store::{
    Disposition, Durability, InboundRecord, Outcome, Output, OutputBody, SearchValue, SledStore,
    Step, Store, StoreConfig,
};
use tokio::runtime::Runtime;

const WRITERS: [u64; 3] = [1, 16, 64];

/// An ADT^A01 of about 1 KiB.
fn message() -> Bytes {
    let mut text = String::from(
        "MSH|^~\\&|EPIC|HOSP|FERRY|HOSP|20240101120000||ADT^A01|MSG00001|P|2.5\r\
         EVN|A01|20240101120000\r\
         PID|1||123456^^^HOSP^MR||DOE^JOHN^Q||19700101|M|||1 MAIN ST^^TOWN^ST^12345\r\
         PV1|1|I|WARD^101^A|||1234^SMITH^ANNA|||MED||||||||V0001\r",
    );
    while text.len() < 1024 {
        text.push_str("NTE|1||free text comment to bring the message to a realistic size\r");
    }
    text.truncate(1024);
    Bytes::from(text)
}

fn record(body: &Bytes) -> InboundRecord {
    InboundRecord {
        source: ItemName::from("mllp-in"),
        body: NewBody {
            kind: ContentKind::Hl7v2,
            charset: None,
            bytes: body.clone(),
        },
        doc_type: Some("ADT^A01".to_owned()),
        search: vec![SearchValue {
            field: "MSH-10".to_owned(),
            value: "MSG00001".to_owned(),
        }],
        duplicate_key: None,
        discard_duplicate: false,
        skip_redelivery: false,
        disposition: Disposition::Enqueue {
            targets: vec![ItemName::from("router")],
        },
    }
}

fn open(dir: &tempfile::TempDir, durability: Durability) -> Arc<SledStore> {
    let mut config = StoreConfig::new(dir.path().join("store"));
    config.durability = durability;
    let (store, _) = SledStore::open(config).expect("open the store");
    Arc::new(store)
}

fn mode(durability: Durability) -> &'static str {
    match durability {
        Durability::Fsync => "fsync",
        Durability::Os => "os",
    }
}

/// `writers` tasks share `total` durable accepts; returns the wall time.
async fn durable_accepts(store: &Arc<SledStore>, writers: u64, total: u64) -> Duration {
    let body = message();
    let start = Instant::now();

    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let (store, body) = (store.clone(), body.clone());
            let mine = total / writers + u64::from(w < total % writers);
            tokio::spawn(async move {
                for _ in 0..mine {
                    store
                        .accept(vec![record(&body)], Vec::new())
                        .expect("accept");
                    store.barrier().await.expect("barrier");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("writer task");
    }
    start.elapsed()
}

fn persist(c: &mut Criterion, rt: &Runtime) {
    let mut group = c.benchmark_group("persist_1KiB");
    group.throughput(Throughput::Elements(1));

    for durability in [Durability::Fsync, Durability::Os] {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open(&dir, durability);
        for writers in WRITERS {
            let id = BenchmarkId::new(
                format!("accept+barrier/{}", mode(durability)),
                format!("{writers}_writers"),
            );
            let hooks = store.test_hooks();
            let (rounds, requests) = (hooks.barrier_rounds(), hooks.barrier_requests());
            group.bench_function(id, |b| {
                b.iter_custom(|iters| rt.block_on(durable_accepts(&store, writers, iters)));
            });

            let rounds = hooks.barrier_rounds() - rounds;
            let requests = hooks.barrier_requests() - requests;
            eprintln!(
                "  {} with {writers} writers: {:.1} barrier requests per sync round",
                mode(durability),
                requests as f64 / rounds.max(1) as f64
            );
        }
        store.close();
    }

    group.bench_function(
        BenchmarkId::new("baseline_write+fdatasync", "1_writer"),
        |b| {
            let dir = tempfile::tempdir().expect("temp dir");
            let mut file = std::fs::File::create(dir.path().join("log")).expect("create the log");
            let body = message();
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    file.write_all(&body).expect("write");
                    file.sync_data().expect("fdatasync");
                }
                start.elapsed()
            });
        },
    );
    group.finish();
}

/// Fills `router`'s queue with `n` messages (not timed).
fn prefill(store: &SledStore, n: u64) {
    let body = message();
    let mut left = n;
    while left > 0 {
        let batch = left.min(256);
        let records = (0..batch).map(|_| record(&body)).collect();
        store.accept(records, Vec::new()).expect("prefill");
        left -= batch;
    }
}

/// One worker routing `n` messages from `router` to `op`, with a barrier after each step
/// when `durable`.
async fn steps(store: &SledStore, n: u64, durable: bool) -> Duration {
    let router = ItemName::from("router");
    let start = Instant::now();
    for _ in 0..n {
        let lease = store
            .take(&router)
            .expect("take")
            .expect("a prefilled message");
        store
            .complete(&Step {
                lease,
                outcome: Outcome::Completed,
                response: None,
                outputs: vec![Output {
                    target: ItemName::from("op"),
                    body: OutputBody::Same,
                    doc_type: Some("ADT^A01".to_owned()),
                    search: Vec::new(),
                }],
                events: Vec::new(),
            })
            .expect("complete");
        if durable {
            store.barrier().await.expect("barrier");
        }
    }
    start.elapsed()
}

fn process(c: &mut Criterion, rt: &Runtime) {
    let mut group = c.benchmark_group("step_take+complete");
    group.throughput(Throughput::Elements(1));

    let cases = [
        ("no_barrier", Durability::Fsync, false),
        ("barrier/fsync", Durability::Fsync, true),
    ];
    for (name, durability, durable) in cases {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open(&dir, durability);
        group.bench_function(BenchmarkId::new(name, "1_writer"), |b| {
            b.iter_custom(|iters| {
                prefill(&store, iters);
                rt.block_on(steps(&store, iters, durable))
            });
        });
        store.close();
    }
    group.finish();
}

fn store_benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    eprintln!(
        "store bench: {} CPUs, temp dir {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::env::temp_dir().display()
    );
    persist(c, &rt);
    process(c, &rt);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = store_benches
}
criterion_main!(benches);
