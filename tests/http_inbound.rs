//! `service: http` end to end, in process: field case B39 (the body limit counts the
//! bytes whatever the framing) with every request written on a raw socket, and the
//! answers a sender gets for each way a request can be wrong.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::hl7::m;
use common::http::{RawResponse, chunked, closed_within, exchange, gzip_of_a, post};
use common::inproc::Running;
use ferry_message::Status;
use ferry_store::Query;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const HL7: &str = "x-application/hl7-v2+er7";
const MIB: usize = 1 << 20;
/// A request line and headers, to be completed with the framing headers.
const POST_HEAD: &str =
    "POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: x-application/hl7-v2+er7\r\n";

fn production(extra: &str) -> String {
    format!(
        r#"
production: http-in
store: {{ path: "${{DIR}}/data" }}
items:
  - name: In
    service: http
    targets: [Files]
    settings:
      listen: "127.0.0.1:0"
      path: /messages
      max_body: 1 MiB
      gzip: true
      read_timeout: 2s
{extra}
  - name: Files
    operation: file
    settings: {{ path: "${{DIR}}/out", fsync: false }}
"#
    )
}

/// Every header in the store, whatever its status.
fn all_headers(running: &Running) -> Vec<ferry_message::Header> {
    let query = Query {
        limit: 10_000,
        ..Query::default()
    };
    running.store.search(&query).unwrap()
}

async fn stored_body(running: &Running, id: &str) -> Vec<u8> {
    let header = all_headers(running)
        .into_iter()
        .find(|header| header.id.to_string() == id)
        .expect("the answered id is stored");
    running
        .store
        .body(header.body)
        .unwrap()
        .unwrap()
        .bytes
        .to_vec()
}

fn assert_names_limit(response: &RawResponse) {
    assert_eq!(response.status, 413, "{response:?}");
    let json = response.json();
    assert!(
        json["error"].as_str().unwrap().contains("1048576"),
        "the error names the limit: {json}"
    );
    assert_eq!(response.header("connection"), Some("close"));
}

/// B39 a–f, each on its own socket, with a well-behaved client served while they run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b39_the_body_limit_counts_the_bytes_whatever_the_framing() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), &production("")).await;
    let addr = running.listening("In").await;

    // f first: it holds its connection for the read timeout while the others run.
    let slow = tokio::spawn(async move {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let head = format!("{POST_HEAD}Content-Length: 500\r\n\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(&[b'A'; 100]).await.unwrap();
        let started = Instant::now();
        let response = common::http::read_response(&mut stream).await;
        (
            response,
            started.elapsed(),
            closed_within(&mut stream, Duration::from_secs(5)).await,
        )
    });

    // a: chunked in three uneven chunks, stored byte-identical.
    let message = m(701);
    let mut request = format!("{POST_HEAD}Transfer-Encoding: chunked\r\n\r\n").into_bytes();
    request.extend(chunked(&message, &[7, 100]));
    let (response, _) = exchange(addr, &request).await;
    assert_eq!(response.status, 202, "{response:?}");
    let id = response.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(stored_body(&running, &id).await, message);

    // b: chunked 3 MiB in 4 KiB chunks, no Content-Length.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!("{POST_HEAD}Transfer-Encoding: chunked\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let sending = tokio::spawn(async move {
        let chunk = [
            format!("{:x}\r\n", 4096).into_bytes(),
            vec![b'A'; 4096],
            b"\r\n".to_vec(),
        ]
        .concat();
        for _ in 0..(3 * MIB / 4096) {
            if writer.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = writer.write_all(b"0\r\n\r\n").await;
    });
    let response = common::http::read_response(&mut reader).await.expect("413");
    assert_names_limit(&response);
    sending.abort();

    // c: Content-Length 3 MiB, refused from the header before any body byte is sent.
    let head = format!(
        "POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: {HL7}\r\nContent-Length: {}\r\n\r\n",
        3 * MIB
    );
    let (response, mut stream) = exchange(addr, head.as_bytes()).await;
    assert_names_limit(&response);
    assert!(closed_within(&mut stream, Duration::from_secs(5)).await);

    // d: about 64 KiB of gzip inflating to 64 MiB of A.
    let bomb = gzip_of_a(64 * MIB);
    assert!(bomb.len() < 128 << 10, "the bomb is small: {}", bomb.len());
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = post("/messages", HL7, "Content-Encoding: gzip\r\n", &bomb);
    let (mut reader, mut writer) = stream.split();
    let (_, response) = tokio::join!(
        async {
            let _ = writer.write_all(&request).await;
        },
        common::http::read_response(&mut reader)
    );
    assert_names_limit(&response.expect("413"));

    // e: both Content-Length and Transfer-Encoding.
    let request = format!(
        "POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: {HL7}\r\nContent-Length: 10\r\n\
         Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    );
    let (response, mut stream) = exchange(addr, request.as_bytes()).await;
    assert_eq!(response.status, 400, "{response:?}");
    assert!(
        closed_within(&mut stream, Duration::from_secs(5)).await,
        "e: closed"
    );
    // The same with the headers the other way round.
    let request = format!(
        "POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: {HL7}\r\n\
         Transfer-Encoding: chunked\r\nContent-Length: 10\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    );
    let (response, mut stream) = exchange(addr, request.as_bytes()).await;
    assert_eq!(response.status, 400, "{response:?}");
    assert!(
        closed_within(&mut stream, Duration::from_secs(5)).await,
        "e: closed"
    );

    // Other clients are served while f still hangs.
    let (response, _) = exchange(addr, &post("/messages", HL7, "", &m(702))).await;
    assert_eq!(response.status, 202, "{response:?}");

    // f: the read timeout (2s) ends it with 408 or a close.
    let (response, waited, closed) = slow.await.unwrap();
    if let Some(response) = response {
        assert_eq!(response.status, 408, "{response:?}");
    }
    assert!(closed, "f: the connection is closed");
    assert!(waited >= Duration::from_millis(1500), "f waited {waited:?}");

    // Only a and the well-behaved message were stored; nothing for b to f.
    let headers = all_headers(&running);
    let inbound: Vec<_> = headers
        .iter()
        .filter(|h| h.source.as_str() == "In")
        .collect();
    assert_eq!(inbound.len(), 2, "{inbound:#?}");
    assert!(inbound.iter().all(|h| h.status != Status::Error));

    // The refusals left a warning with the sizes.
    let events = running.store.events(None, 1000).unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.event.text.contains("refused a body over max_body")),
        "{events:#?}"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_requests_get_the_right_status_and_a_json_error() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), &production("      accept: [hl7v2, json]")).await;
    let addr = running.listening("In").await;

    let (response, _) = exchange(addr, &post("/messages", "image/png", "", b"x")).await;
    assert_eq!(response.status, 415);
    assert_eq!(response.json()["where"], "Content-Type header");

    let (response, _) = exchange(addr, &post("/messages", "text/plain", "", b"x")).await;
    assert_eq!(response.status, 415, "text is not in accept");

    let request = b"GET /messages HTTP/1.1\r\nHost: x\r\n\r\n";
    let (response, _) = exchange(addr, request).await;
    assert_eq!(response.status, 405);
    assert_eq!(response.header("allow"), Some("POST"));

    let (response, _) = exchange(addr, &post("/other", HL7, "", &m(1))).await;
    assert_eq!(response.status, 404);

    let (response, _) = exchange(addr, &post("/messages", HL7, "", b"this is no HL7")).await;
    assert_eq!(response.status, 422, "{response:?}");
    let json = response.json();
    let id = json["id"].as_str().expect("the Error record's id");
    let header = all_headers(&running)
        .into_iter()
        .find(|h| h.id.to_string() == id)
        .unwrap();
    assert_eq!(header.status, Status::Error);

    let gzip = post("/messages", HL7, "Content-Encoding: br\r\n", &m(1));
    let (response, _) = exchange(addr, &gzip).await;
    assert_eq!(response.status, 415);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_503_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = r#"
production: http-busy
store: { path: "${DIR}/data" }
items:
  - name: In
    service: http
    targets: [Stuck]
    settings: { listen: "127.0.0.1:0", retry_after: 3s }
  - name: Stuck
    operation: http
    queue_limit: 2
    retry: { interval: 1m }
    settings: { url: "http://127.0.0.1:9/never" }
"#;
    let running = Running::start(dir.path(), yaml).await;
    let addr = running.listening("In").await;
    let mut statuses = Vec::new();
    for n in 1..=6 {
        let (response, _) = exchange(addr, &post("/messages", HL7, "", &m(n))).await;
        if response.status == 503 {
            assert_eq!(response.header("retry-after"), Some("3"));
        }
        statuses.push(response.status);
    }
    assert!(
        statuses.contains(&202) && statuses.contains(&503),
        "{statuses:?}"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_idempotency_key_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), &production("")).await;
    let addr = running.listening("In").await;

    let key = "Idempotency-Key: lab-7-attempt\r\n";
    let (first, _) = exchange(addr, &post("/messages", HL7, key, &m(7))).await;
    let (again, _) = exchange(addr, &post("/messages", HL7, key, &m(7))).await;
    assert_eq!(first.status, 202);
    assert_eq!(again.status, 202);
    assert_eq!(first.json()["id"], again.json()["id"]);
    assert_eq!(first.json()["already_stored"], false);
    assert_eq!(again.json()["already_stored"], true);
    let inbound = all_headers(&running)
        .into_iter()
        .filter(|h| h.source.as_str() == "In")
        .count();
    assert_eq!(inbound, 1);
    running.stop().await;
}
