//! The example production `productions/mllp-relay.yaml`, run as shipped by the real
//! binary without crashes: it validates; 200 messages sent over MLLP are all answered AA
//! and reach the receiver once each, in the order they were sent; and a reply that is no
//! usable ACK (text, an HL7 message without MSA, a one-byte block, a bad MSA-1) makes the
//! relay send the message again (`invalid: retry`) without letting the next one overtake
//! it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use common::binary::{Ferry, ferry, listening_addr};
use common::hl7::m;
use common::mllp::{Answer, Receiver, Sender, ack, control_id, msa};
use common::wait_until;
use ferry_message::{ItemName, Status};
use ferry_store::{Query, SearchValue, SledStore, Store, StoreConfig};
use tokio::runtime::Runtime;

const WAIT: Duration = Duration::from_secs(60);

fn production() -> PathBuf {
    common::repo().join("productions/mllp-relay.yaml")
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Ferry on the relay production with its store in `data`, relaying to `receiver`; and
/// the address its MLLP service listens on.
fn start(data: &Path, receiver: &Receiver) -> (Ferry, std::net::SocketAddr) {
    let out = PathBuf::from(receiver.addr.to_string());
    let env = [
        ("FERRY_DATA", data),
        ("FERRY_MLLP_IN", Path::new("127.0.0.1:0")),
        ("FERRY_MLLP_OUT", out.as_path()),
    ];
    let mut ferry = Ferry::start(&production(), &env);
    let addr = listening_addr(&mut ferry, "MLLP in", WAIT);
    (ferry, addr)
}

/// Sends `count` messages `M(1)` … on one connection; each must get an AA naming it.
fn send_all(runtime: &Runtime, addr: std::net::SocketAddr, count: u32) {
    runtime.block_on(async {
        let mut sender = Sender::connect(addr).await;
        for n in 1..=count {
            let reply = sender.exchange(&m(n)).await;
            assert_eq!(msa(&reply), ("AA".to_owned(), format!("MSG{n:04}")));
        }
    });
}

/// The `MLLP out` header of each control id, from the store in `data`.
fn outbound_headers(data: &Path, count: u32) -> BTreeMap<String, ferry_message::Header> {
    let (store, _) = SledStore::open(StoreConfig::new(data)).unwrap();
    (1..=count)
        .map(|n| {
            let id = format!("MSG{n:04}");
            let query = Query {
                target: Some(ItemName::new("MLLP out")),
                field: Some(SearchValue {
                    field: "MSH-10".to_owned(),
                    value: id.clone(),
                }),
                ..Query::default()
            };
            let mut found = store.search(&query).unwrap();
            assert_eq!(found.len(), 1, "{id}: one outbound header, got {found:?}");
            (id, found.remove(0))
        })
        .collect()
}

#[test]
fn the_production_file_validates() {
    let file = production();
    let (status, stdout, stderr) = ferry(&["validate", file.to_str().unwrap()], &[]);
    assert!(status.success(), "validate failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("is valid"), "{stdout}");
}

#[test]
fn two_hundred_messages_arrive_once_each_in_order() {
    const COUNT: u32 = 200;
    let runtime = runtime();
    let receiver = runtime.block_on(Receiver::acking());
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ferry, addr) = start(&data, &receiver);

    send_all(&runtime, addr, COUNT);
    wait_until("200 deliveries", WAIT, || {
        receiver.messages().len() >= COUNT as usize
    });
    let status = ferry.stop();
    assert!(status.success(), "ferry exited with {status}");

    let expected: Vec<String> = (1..=COUNT).map(|n| format!("MSG{n:04}")).collect();
    assert_eq!(
        receiver.control_ids(),
        expected,
        "arrival order at the receiver"
    );
    let arrived = receiver.messages();
    for n in 1..=COUNT {
        assert_eq!(arrived[n as usize - 1], m(n), "MSG{n:04} arrived changed");
    }
    for (id, header) in outbound_headers(&data, COUNT) {
        assert_eq!(header.status, Status::Completed, "{id}");
        assert_eq!(header.attempts, 0, "{id} needed a retry");
    }
}

/// The first answer the receiver gives to each message it is to refuse: none of them is
/// a usable ACK.
fn bad_replies() -> BTreeMap<String, Vec<u8>> {
    let not_hl7 = b"thank you, message received".to_vec();
    let no_msa =
        b"MSH|^~\\&|RECVAPP|RECVFAC|FERRY|HUB|20240101120001||ACK^A01^ACK|R6|P|2.5.1\r".to_vec();
    let one_byte = b"X".to_vec();
    let bad_code = b"MSH|^~\\&|RECVAPP|RECVFAC|FERRY|HUB|20240101120001||ACK^A01^ACK|R12|P|2.5.1\r\
        MSA|OK|MSG0012\r"
        .to_vec();
    BTreeMap::from([
        ("MSG0003".to_owned(), not_hl7),
        ("MSG0006".to_owned(), no_msa),
        ("MSG0009".to_owned(), one_byte),
        ("MSG0012".to_owned(), bad_code),
    ])
}

#[test]
fn a_reply_that_is_no_ack_is_retried_in_order() {
    const COUNT: u32 = 15;
    let runtime = runtime();
    let bad = bad_replies();
    let seen: Mutex<BTreeMap<String, u32>> = Mutex::new(BTreeMap::new());
    let refusals = bad.clone();
    let receiver = runtime.block_on(Receiver::start(move |message| -> Answer {
        let id = control_id(message);
        let mut seen = seen.lock().unwrap();
        let attempt = seen.entry(id.clone()).or_default();
        *attempt += 1;
        match refusals.get(&id) {
            Some(reply) if *attempt == 1 => Some((Duration::ZERO, reply.clone())),
            _ => Some((Duration::ZERO, ack(message, "AA"))),
        }
    }));
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ferry, addr) = start(&data, &receiver);

    send_all(&runtime, addr, COUNT);
    let expected: Vec<String> = (1..=COUNT)
        .flat_map(|n| {
            let id = format!("MSG{n:04}");
            let copies = if bad.contains_key(&id) { 2 } else { 1 };
            vec![id; copies]
        })
        .collect();
    wait_until("every message delivered, refused ones twice", WAIT, || {
        receiver.messages().len() >= expected.len()
    });
    let status = ferry.stop();
    assert!(status.success(), "ferry exited with {status}");

    assert_eq!(
        receiver.control_ids(),
        expected,
        "each refused message is sent again before the next one"
    );
    for (id, header) in outbound_headers(&data, COUNT) {
        assert_eq!(
            header.status,
            Status::Completed,
            "{id}: {:?}",
            header.reason
        );
        let retries = if bad.contains_key(&id) { 1 } else { 0 };
        assert_eq!(header.attempts, retries, "{id}: failed attempts recorded");
    }
}
