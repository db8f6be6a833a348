//! MLLP in and out, in process: ACKs after durability, the reply actions of the outbound
//! side, and the MLLP field cases of both directions (B01, B03, B05, B06, B07, B21, B23,
//! B26, B27, B28, B31).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::eventually;
use common::hl7::m;
use common::inproc::Running;
use common::mllp::{Receiver, Sender, ack, control_id, msa};
use ferry_message::Status;

const WAIT: Duration = Duration::from_secs(30);

/// MLLP service `In` (extra settings `in_settings`) → MLLP operation `Out` to `receiver`.
fn relay(receiver: SocketAddr, in_settings: &str, out_settings: &str, retry: &str) -> String {
    format!(
        r#"
production: mllp-test
store: {{ path: "${{DIR}}/data" }}
items:
  - name: In
    service: mllp
    targets: [Out]
    settings: {{ listen: "127.0.0.1:0"{in_settings} }}
  - name: Out
    operation: mllp
    retry: {retry}
    settings: {{ address: "{receiver}"{out_settings} }}
"#
    )
}

const FAST_RETRY: &str = "{ interval: 50ms, backoff: 1.0 }";

async fn start(yaml: &str) -> (tempfile::TempDir, Running, SocketAddr) {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), yaml).await;
    let addr = running.listening("In").await;
    (dir, running, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_are_acked_and_relayed_in_order() {
    let receiver = Receiver::acking().await;
    let (_dir, running, addr) = start(&relay(receiver.addr, "", "", FAST_RETRY)).await;

    let mut sender = Sender::connect(addr).await;
    for n in 1..=50 {
        let reply = sender.exchange(&m(n)).await;
        assert_eq!(msa(&reply), ("AA".into(), format!("MSG{n:04}")));
    }

    eventually("50 deliveries", WAIT, || receiver.messages().len() == 50).await;
    let expected: Vec<String> = (1..=50).map(|n| format!("MSG{n:04}")).collect();
    assert_eq!(receiver.control_ids(), expected);
    assert_eq!(receiver.messages()[0], m(1));
    eventually("completed", WAIT, || {
        running.count("Out", Status::Completed) == 50
    })
    .await;
    running.stop().await;
}

/// What In stored, one entry per body, oldest first: status, bytes, duplicate flag.
fn stored_from_in(running: &Running) -> Vec<(Status, Vec<u8>, bool)> {
    let query = ferry_store::Query {
        source: Some(ferry_message::ItemName::new("In")),
        limit: 100_000,
        ..ferry_store::Query::default()
    };
    let mut headers = running.store.search(&query).unwrap();
    headers.sort_by_key(|header| header.id);
    headers.dedup_by_key(|header| header.body);
    headers
        .into_iter()
        .map(|header| {
            let body = running.store.body(header.body).unwrap().unwrap();
            (
                header.status,
                body.bytes.to_vec(),
                header.possible_duplicate,
            )
        })
        .collect()
}

/// Every event text so far.
fn event_texts(running: &Running) -> Vec<String> {
    let events = running.store.events(None, 10_000).unwrap();
    events.into_iter().map(|event| event.event.text).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b01_a_block_in_pieces_is_one_message_with_one_ack() {
    let receiver = Receiver::acking().await;
    let (_dir, running, addr) = start(&relay(receiver.addr, "", "", FAST_RETRY)).await;
    let pause = Duration::from_millis(30);

    let mut sender = Sender::connect(addr).await;
    sender.write(b"\x0b").await;
    tokio::time::sleep(pause).await;
    sender.write(&m(1)).await;
    tokio::time::sleep(pause).await;
    assert_eq!(
        sender.reply(pause).await,
        None,
        "no ACK before the end of the block"
    );
    sender.write(b"\x1c\r").await;
    assert_eq!(msa(&sender.reply(WAIT).await.unwrap()).1, "MSG0001");

    let framed = ferry_mllp::frame(&m(2));
    for byte in &framed {
        sender.write(std::slice::from_ref(byte)).await;
    }
    assert_eq!(msa(&sender.reply(WAIT).await.unwrap()).1, "MSG0002");
    assert_eq!(
        sender.reply(Duration::from_millis(100)).await,
        None,
        "exactly one ACK each"
    );

    eventually("two deliveries", WAIT, || receiver.messages().len() == 2).await;
    assert_eq!(receiver.messages(), vec![m(1), m(2)]);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b01_an_ack_arriving_in_pieces_is_a_normal_aa() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver_addr = listener.local_addr().unwrap();
    let slow_ack = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut seen = Vec::new();
        while !seen.ends_with(b"\x1c\r") {
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.unwrap();
            seen.extend_from_slice(&chunk[..n]);
        }
        let ack = "\x0bMSH|^~\\&|RECVAPP|RECVFAC|FERRY|HUB|20240101120001||ACK^A01^ACK|R0001|P|\
                   2.5.1\rMSA|AA|MSG0001\r";
        stream.write_all(ack.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        stream.write_all(b"\x1c\r").await.unwrap();
        stream
    });
    let (_dir, running, addr) = start(&relay(receiver_addr, "", "", FAST_RETRY)).await;

    Sender::connect(addr).await.exchange(&m(1)).await;
    eventually("completed", WAIT, || {
        running.count("Out", Status::Completed) == 1
    })
    .await;
    let header = &running.headers_for("Out")[0];
    assert_eq!(header.attempts, 0, "no failed attempt before the split ACK");
    assert!(
        header.response.is_some(),
        "the ACK is stored as the response"
    );
    drop(slow_ack.await.unwrap());
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b03_bytes_outside_blocks_are_discarded_and_every_block_is_acked() {
    let receiver = Receiver::acking().await;
    let (_dir, running, addr) = start(&relay(receiver.addr, "", "", FAST_RETRY)).await;

    let mut sender = Sender::connect(addr).await;
    let mut write = b"[LOG 12:00:00] sender up\r\n".to_vec();
    write.extend(ferry_mllp::frame(&m(5)));
    write.extend(b"\n\0\0");
    write.extend(ferry_mllp::frame(&m(6)));
    write.extend(b"\n");
    sender.write(&write).await;
    assert_eq!(msa(&sender.reply(WAIT).await.unwrap()).1, "MSG0005");
    assert_eq!(msa(&sender.reply(WAIT).await.unwrap()).1, "MSG0006");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(msa(&sender.exchange(&m(7)).await).1, "MSG0007");

    eventually("three deliveries", WAIT, || receiver.messages().len() == 3).await;
    let events = event_texts(&running);
    assert!(
        events
            .iter()
            .any(|text| text.contains("outside MLLP blocks")),
        "a warning about the junk: {events:?}"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b05_the_stored_body_is_exactly_the_block_content() {
    let receiver = Receiver::acking().await;
    let (_dir, running, addr) = start(&relay(receiver.addr, "", "", FAST_RETRY)).await;
    let without_last_cr = b"MSH|^~\\&|SENDAPP|SENDFAC|FERRY|HUB|20240101120000||ADT^A01^ADT_A01|\
        MSG0012|P|2.5.1\rPID|1||TEST0012^^^TESTHOSP^MR||TEST^PATIENT"
        .to_vec();
    let mut extra_cr = m(13);
    extra_cr.push(b'\r');

    let mut sender = Sender::connect(addr).await;
    for message in [&without_last_cr, &extra_cr] {
        let (code, _) = msa(&sender.exchange(message).await);
        assert_eq!(code, "AA");
    }

    eventually("two deliveries", WAIT, || receiver.messages().len() == 2).await;
    assert_eq!(
        receiver.messages(),
        vec![without_last_cr.clone(), extra_cr.clone()]
    );
    let stored: Vec<Vec<u8>> = stored_from_in(&running).into_iter().map(|s| s.1).collect();
    assert_eq!(stored, vec![without_last_cr, extra_cr]);
    running.stop().await;
}

/// An ORU whose OBX-5 holds `payload` bytes of base64-like text.
fn big_oru(id: &str, payload: usize) -> Vec<u8> {
    let mut message = format!(
        "MSH|^~\\&|LABAPP|LABFAC|FERRY|HUB|20240101120000||ORU^R01^ORU_R01|{id}|P|2.5.1\r\
         PID|1||TEST0014^^^TESTHOSP^MR||TEST^PATIENT\rOBR|1||ORD0014|PDF^Report\r\
         OBX|1|ED|PDF^Report||^AP^PDF^Base64^"
    )
    .into_bytes();
    message.resize(message.len() + payload, b'A');
    message.extend_from_slice(b"||||||F\r");
    message
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b06_a_large_message_passes_whole_and_a_too_large_one_gets_an_ar() {
    let receiver = Receiver::acking().await;
    let limit = ", max_message: 64MiB";
    let (_dir, running, addr) = start(&relay(receiver.addr, limit, "", FAST_RETRY)).await;

    let large = big_oru("MSG0014", 8 << 20);
    let mut sender = Sender::connect(addr).await;
    for chunk in ferry_mllp::frame(&large).chunks(64 * 1024) {
        sender.write(chunk).await;
    }
    assert_eq!(
        msa(&sender.reply(WAIT).await.unwrap()),
        ("AA".into(), "MSG0014".into())
    );
    eventually("the large delivery", WAIT, || {
        receiver.messages().len() == 1
    })
    .await;
    assert!(receiver.messages()[0] == large, "delivered byte for byte");

    let too_large = big_oru("MSG0015", 80 << 20);
    let mut other = Sender::connect(addr).await;
    let writer = tokio::spawn(async move {
        other.write(&ferry_mllp::frame(&too_large)).await;
        other
    });
    assert_eq!(
        msa(&Sender::connect(addr).await.exchange(&m(16)).await).1,
        "MSG0016"
    );
    let mut other = writer.await.unwrap();
    let reply = other.reply(WAIT).await.unwrap();
    let nak = ferry_hl7::read_ack(&reply).unwrap();
    assert_eq!(nak.code.as_str(), "AR");
    assert_eq!(nak.control_id, "MSG0015");
    assert!(
        nak.text.unwrap().contains("too large"),
        "{}",
        String::from_utf8_lossy(&reply)
    );

    let stored = stored_from_in(&running);
    let error = stored
        .iter()
        .find(|(status, ..)| *status == Status::Error)
        .unwrap();
    assert_eq!(
        error.1.len(),
        ferry_mllp::codec::HEAD_KEPT,
        "the head is kept"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b07_closed_connections_end_and_a_partial_block_is_a_protocol_error() {
    let receiver = Receiver::acking().await;
    let (_dir, running, addr) = start(&relay(receiver.addr, "", "", FAST_RETRY)).await;

    for n in 0..200 {
        let mut sender = Sender::connect(addr).await;
        let reply = sender.exchange(&m(n)).await;
        assert_eq!(msa(&reply).0, "AA");
        if n % 2 == 0 {
            sender.stream.shutdown().await.unwrap();
            // The end of the stream comes at once: a service that kept the connection
            // would leave this read waiting for the whole timeout.
            let closing = std::time::Instant::now();
            assert_eq!(
                sender.reply(WAIT).await,
                None,
                "the service closes its side too"
            );
            assert!(
                closing.elapsed() < Duration::from_secs(5),
                "closed at once, not after {:?}",
                closing.elapsed()
            );
        }
    }
    let mut partial = Sender::connect(addr).await;
    partial.write(b"\x0bMSH|^~\\&|SEND").await;
    drop(partial);

    eventually("the partial block stored as an error", WAIT, || {
        stored_from_in(&running)
            .iter()
            .any(|(status, bytes, _)| *status == Status::Error && bytes == b"MSH|^~\\&|SEND")
    })
    .await;
    eventually("200 deliveries", WAIT, || receiver.messages().len() == 200).await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b07_a_silent_connection_is_closed_after_the_idle_timeout() {
    let receiver = Receiver::acking().await;
    let idle = ", idle_timeout: 200ms";
    let (_dir, running, addr) = start(&relay(receiver.addr, idle, "", FAST_RETRY)).await;

    let mut silent = Sender::connect(addr).await;
    let started = std::time::Instant::now();
    assert_eq!(silent.reply(WAIT).await, None);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "closed by the idle timeout"
    );
    running.stop().await;
}

use tokio::io::AsyncWriteExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b26_an_ar_ends_in_error_at_once_and_the_queue_moves_on() {
    let receiver = Receiver::start(|message| {
        let id = control_id(message);
        let answer = if id == "MSG0045" {
            "MSH|^~\\&|RECVAPP|RECVFAC|FERRY|HUB|20240101120001||ACK^A01^ACK|R0045|P|2.5.1\r\
             MSA|AR|MSG0045|Duplicate control id\rERR|||205^Duplicate key identifier^HL70357|E\r"
                .as_bytes()
                .to_vec()
        } else {
            ack(message, "AA")
        };
        Some((Duration::ZERO, answer))
    })
    .await;
    let (_dir, running, addr) = start(&relay(receiver.addr, "", "", FAST_RETRY)).await;

    let mut sender = Sender::connect(addr).await;
    for n in 45..=47 {
        assert_eq!(msa(&sender.exchange(&m(n)).await).0, "AA");
    }

    eventually("46 and 47 delivered", WAIT, || {
        running.count("Out", Status::Completed) == 2
    })
    .await;
    assert_eq!(
        receiver.control_ids(),
        ["MSG0045", "MSG0046", "MSG0047"],
        "one attempt each"
    );
    let failed = running.headers_for("Out");
    let failed = failed.iter().find(|h| h.status == Status::Error).unwrap();
    let reason = failed.reason.clone().unwrap();
    assert!(
        reason.contains("Duplicate control id"),
        "MSA-3 in the reason: {reason}"
    );
    assert!(reason.contains("205"), "ERR-3 in the reason: {reason}");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b27_slow_acks_cause_bounded_resends_in_order() {
    // The case's timings divided by 10: ACK after 700 ms, ACK timeout 500 ms, retry
    // interval 200 ms with backoff; a failure timeout ends each message's retries.
    let receiver =
        Receiver::start(|message| Some((Duration::from_millis(700), ack(message, "AA")))).await;
    let out = ", response_timeout: 500ms";
    let retry = "{ interval: 200ms, backoff: 2.0, max_interval: 1s, failure_timeout: 600ms }";
    let (_dir, running, addr) = start(&relay(receiver.addr, "", out, retry)).await;

    let mut sender = Sender::connect(addr).await;
    for n in 101..=108 {
        assert_eq!(msa(&sender.exchange(&m(n)).await).0, "AA");
    }

    eventually("every message ends", WAIT, || {
        running.count("Out", Status::Error) == 8
    })
    .await;
    let ids = receiver.control_ids();
    let mut first_seen: Vec<String> = Vec::new();
    for id in &ids {
        if !first_seen.contains(id) {
            first_seen.push(id.clone());
        }
        let sent = ids.iter().filter(|other| *other == id).count();
        assert!(sent <= 2, "{id} sent {sent} times: {ids:?}");
    }
    let expected: Vec<String> = (101..=108).map(|n| format!("MSG{n:04}")).collect();
    assert_eq!(first_seen, expected, "order kept");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_for_another_message_is_never_success() {
    let receiver = Receiver::start(|message| {
        let mut wrong = ack(message, "AA");
        let id = control_id(message);
        let text = String::from_utf8(wrong.clone()).unwrap();
        wrong = text
            .replace(&format!("MSA|AA|{id}"), "MSA|AA|SOMETHING-ELSE")
            .into_bytes();
        Some((Duration::ZERO, wrong))
    })
    .await;
    let out = ", response_timeout: 200ms";
    let retry = "{ interval: 50ms, failure_timeout: 300ms, on_failure: suspend }";
    let (_dir, running, addr) = start(&relay(receiver.addr, "", out, retry)).await;

    Sender::connect(addr).await.exchange(&m(1)).await;
    eventually("suspended", WAIT, || {
        running.count("Out", Status::Suspended) == 1
    })
    .await;
    assert_eq!(running.count("Out", Status::Completed), 0);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_that_are_not_acks_are_retried_until_a_real_ack() {
    let attempts = std::sync::Arc::new(std::sync::Mutex::new(0usize));
    let counter = attempts.clone();
    let receiver = Receiver::start(move |message| {
        let mut count = counter.lock().unwrap();
        *count += 1;
        let answer = match *count {
            1 => b"OK thanks".to_vec(),
            2 => b"MSH|^~\\&|R|R|S|S|20240101||ACK|X1|P|2.5.1\r".to_vec(),
            3 => b"A".to_vec(),
            _ => ack(message, "AA"),
        };
        Some((Duration::ZERO, answer))
    })
    .await;
    let (_dir, running, addr) = start(&relay(receiver.addr, "", "", FAST_RETRY)).await;

    Sender::connect(addr).await.exchange(&m(1)).await;
    eventually("completed", WAIT, || {
        running.count("Out", Status::Completed) == 1
    })
    .await;
    assert_eq!(*attempts.lock().unwrap(), 4);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b31_one_bad_message_suspends_on_its_target_only() {
    let a = Receiver::answering("MSG0052", "AE").await;
    let b = Receiver::acking().await;
    let yaml = format!(
        r#"
production: b31
store: {{ path: "${{DIR}}/data" }}
items:
  - name: In
    service: mllp
    targets: [A, B]
    settings: {{ listen: "127.0.0.1:0" }}
  - name: A
    operation: mllp
    retry: {FAST_RETRY}
    settings: {{ address: "{}" }}
  - name: B
    operation: mllp
    settings: {{ address: "{}" }}
"#,
        a.addr, b.addr
    );
    let (_dir, running, addr) = start(&yaml).await;

    let mut sender = Sender::connect(addr).await;
    for n in 51..=55 {
        sender.exchange(&m(n)).await;
    }

    let all: Vec<String> = (51..=55).map(|n| format!("MSG{n:04}")).collect();
    eventually("B has all", WAIT, || b.control_ids() == all).await;
    eventually("A has all", WAIT, || a.control_ids() == all).await;
    eventually("A settled", WAIT, || {
        running.count("A", Status::Completed) == 4
    })
    .await;
    let suspended = running.headers_for("A");
    let suspended = suspended
        .iter()
        .find(|h| h.status == Status::Suspended)
        .unwrap();
    assert!(suspended.reason.clone().unwrap().starts_with("AE from"));
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b31_a_dead_receiver_holds_its_queue_and_catches_up_in_order() {
    let parked = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_addr = parked.local_addr().unwrap();
    drop(parked);
    let b = Receiver::acking().await;
    let yaml = relay(dead_addr, "", ", connect_timeout: 200ms", FAST_RETRY)
        .replace("targets: [Out]", "targets: [Out, B]")
        + &format!(
            "  - name: B\n    operation: mllp\n    settings: {{ address: \"{}\" }}\n",
            b.addr
        );
    let (_dir, running, addr) = start(&yaml).await;

    let mut sender = Sender::connect(addr).await;
    for n in 0..300 {
        sender.exchange(&m(n)).await;
    }
    eventually("B has all", WAIT, || b.messages().len() == 300).await;
    assert!(running.count("Out", Status::Completed) == 0);

    let revived = Receiver::start_at(dead_addr, |m| Some((Duration::ZERO, ack(m, "AA")))).await;
    eventually("Out catches up", WAIT, || revived.messages().len() >= 300).await;
    let expected: Vec<String> = (0..300).map(|n| format!("MSG{n:04}")).collect();
    let mut ids = revived.control_ids();
    ids.dedup();
    assert_eq!(ids, expected, "in order");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_receiver_does_not_hold_the_shutdown_and_the_message_stays_queued() {
    let receiver = Receiver::start(|_| None).await;
    let out = ", response_timeout: 60s";
    let (dir, running, addr) = start(&relay(receiver.addr, "", out, FAST_RETRY)).await;
    Sender::connect(addr).await.exchange(&m(1)).await;
    eventually("sent once", WAIT, || receiver.messages().len() == 1).await;

    let started = std::time::Instant::now();
    running.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        receiver.messages().len(),
        1,
        "not taken again while stopping"
    );

    let again = Running::start(dir.path(), &relay(receiver.addr, "", out, FAST_RETRY)).await;
    // One look at the store: counting Queued, then Delivered, could see the message in
    // both while the restarted worker takes it.
    let waiting = again
        .headers_for("Out")
        .iter()
        .filter(|header| matches!(header.status, Status::Queued | Status::Delivered))
        .count();
    assert_eq!(waiting, 1);
    eventually("sent again after the restart", WAIT, || {
        receiver.messages().len() == 2
    })
    .await;
    again.engine.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_connection_the_receiver_closed_is_replaced_without_a_retry() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver_addr = listener.local_addr().unwrap();
    // A receiver that answers one message per connection, then closes it.
    let closer = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let mut seen = Vec::new();
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut block = Vec::new();
            while !block.ends_with(b"\x1c\r") {
                let mut chunk = [0u8; 4096];
                let n = stream.read(&mut chunk).await.unwrap();
                block.extend_from_slice(&chunk[..n]);
            }
            let message = &block[1..block.len() - 2];
            seen.push(control_id(message));
            stream
                .write_all(&ferry_mllp::frame(&ack(message, "AA")))
                .await
                .unwrap();
            if seen.len() == 3 {
                return seen;
            }
        }
    });
    let (_dir, running, addr) = start(&relay(receiver_addr, "", "", FAST_RETRY)).await;

    let mut sender = Sender::connect(addr).await;
    for n in 1..=3 {
        sender.exchange(&m(n)).await;
    }
    assert_eq!(closer.await.unwrap(), ["MSG0001", "MSG0002", "MSG0003"]);
    eventually("completed", WAIT, || {
        running.count("Out", Status::Completed) == 3
    })
    .await;
    let retried: Vec<u32> = running
        .headers_for("Out")
        .iter()
        .map(|h| h.attempts)
        .collect();
    assert_eq!(retried, [0, 0, 0], "no failed attempt recorded");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_max_connections_wait_their_turn() {
    let receiver = Receiver::acking().await;
    let limit = ", max_connections: 1";
    let (_dir, running, addr) = start(&relay(receiver.addr, limit, "", FAST_RETRY)).await;

    let mut first = Sender::connect(addr).await;
    assert_eq!(msa(&first.exchange(&m(1)).await).0, "AA");
    let mut second = Sender::connect(addr).await;
    second.send(&m(2)).await;
    assert_eq!(
        second.reply(Duration::from_millis(500)).await,
        None,
        "waits in the backlog"
    );

    drop(first);
    let reply = second
        .reply(WAIT)
        .await
        .expect("served once the first has gone");
    assert_eq!(msa(&reply), ("AA".into(), "MSG0002".into()));
    running.stop().await;
}
