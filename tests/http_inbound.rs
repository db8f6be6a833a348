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

/// Bug fix: `path` settings that axum's route table read as patterns or refused
/// (duplicates, `:name`, `*rest`, braces) panicked the service at run time. They are now
/// refused by `ferry validate` with their place, and paths are compared literally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_are_literal_and_bad_ones_are_refused_before_running() {
    let dir = tempfile::tempdir().unwrap();
    for (path, problem) in [
        ("[/a, /a]", "`path` lists '/a' twice"),
        ("\"/a/:b\"", "'/a/:b' has a segment starting with ':'"),
        ("\"/a/*b\"", "'/a/*b' holds a character"),
        ("\"/a/{b}\"", "'/a/{b}' holds a character"),
        ("a", "'a' does not start with '/'"),
    ] {
        let yaml = production(&format!("      methods: [POST]\n      extra_path: {path}"))
            .replace("      path: /messages\n", "")
            .replace("extra_path", "path");
        let loaded = common::inproc::production_with(dir.path(), &yaml, &["skip the check"]);
        let problems = ferry_runtime::check_production(&loaded, &common::inproc::registry());
        let text = problems.to_string();
        assert!(text.contains(problem), "{path}: {text}");
        assert!(
            text.contains("production.yaml:"),
            "{path} names its place: {text}"
        );
    }

    // Literal matching: a colon inside a segment is an ordinary character.
    let yaml = production("").replace(
        "      path: /messages\n",
        "      path: [/messages, \"/v1/messages:send\"]\n",
    );
    let running = Running::start(dir.path(), &yaml).await;
    let addr = running.listening("In").await;
    for (path, status) in [
        ("/messages", 202),
        ("/v1/messages:send", 202),
        ("/v1/messages:other", 404),
        ("/messages/", 404),
        ("/v1/messages", 404),
    ] {
        let (response, _) = exchange(addr, &post(path, HL7, "", &m(801))).await;
        assert_eq!(response.status, status, "{path}: {response:?}");
        assert!(response.json()["id"].is_string() || status != 202);
    }
    running.stop().await;
}

/// Every message of service `In` in the store.
fn inbound_count(running: &Running) -> usize {
    all_headers(running)
        .iter()
        .filter(|h| h.source.as_str() == "In")
        .count()
}

/// Bug fix: a transfer coding other than plain `chunked` (`gzip, chunked`) was taken and
/// its still-encoded body stored. It now gets 501 with a JSON error, and a close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_codings_other_than_chunked_get_501() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), &production("")).await;
    let addr = running.listening("In").await;
    let body = chunked(&m(901), &[10]);
    for coding in [
        "Transfer-Encoding: gzip, chunked\r\n",
        "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding: chunked, chunked\r\n",
    ] {
        let mut request = format!("{POST_HEAD}{coding}\r\n").into_bytes();
        request.extend_from_slice(&body);
        let (response, mut stream) = exchange(addr, &request).await;
        if response.status == 400 {
            // hyper's own refusal of a coding list it cannot frame (see the docs).
            assert!(
                coding.contains("chunked, chunked"),
                "{coding}: {response:?}"
            );
        } else {
            assert_eq!(response.status, 501, "{coding}: {response:?}");
            assert_eq!(response.json()["where"], "Transfer-Encoding header");
            assert_eq!(response.header("connection"), Some("close"));
        }
        assert!(
            closed_within(&mut stream, Duration::from_secs(5)).await,
            "{coding}"
        );
    }
    // Plain chunked still works.
    let mut request = format!("{POST_HEAD}Transfer-Encoding: chunked\r\n\r\n").into_bytes();
    request.extend_from_slice(&body);
    let (response, _) = exchange(addr, &request).await;
    assert_eq!(response.status, 202, "{response:?}");
    assert_eq!(inbound_count(&running), 1);
    running.stop().await;
}

/// Bug fix (the tester's case): a 70 000-byte header sent in two writes turned the
/// smuggling guard off, and a pipelined request with both Content-Length and
/// Transfer-Encoding after it was stored. hyper now refuses heads over the guard's window,
/// and the guard refuses whatever follows a head it could not follow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_head_does_not_switch_the_smuggling_guard_off() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), &production("")).await;
    let addr = running.listening("In").await;

    let message = m(1001);
    let mut first = format!("{POST_HEAD}X-Big: ").into_bytes();
    first.extend(std::iter::repeat_n(b'a', 70_000));
    first.extend_from_slice(format!("\r\nContent-Length: {}\r\n\r\n", message.len()).as_bytes());
    first.extend_from_slice(&message);
    let smuggled = format!(
        "{POST_HEAD}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n{}",
        String::from_utf8_lossy(&chunked(&m(1002), &[]))
    );
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let half = first.len() / 2;
    stream.write_all(&first[..half]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = stream.write_all(&first[half..]).await;
    let _ = stream.write_all(smuggled.as_bytes()).await;
    let mut statuses = Vec::new();
    while let Ok(Some(response)) = tokio::time::timeout(
        Duration::from_secs(5),
        common::http::read_response(&mut stream),
    )
    .await
    {
        statuses.push(response.status);
    }
    assert!(
        statuses.iter().all(|status| matches!(status, 400 | 431)),
        "{statuses:?}"
    );
    assert_eq!(inbound_count(&running), 0, "nothing stored");
    running.stop().await;
}

/// Writes `head`, then `body` one byte every `every`, until the peer stops reading or
/// the body ends; then reads the answer, if any. Gives the answer, the time from the
/// first body byte to the end, and whether the connection was closed.
async fn trickle(
    addr: std::net::SocketAddr,
    head: String,
    body: Vec<u8>,
    every: Duration,
) -> (Option<RawResponse>, Duration, bool) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let sending = tokio::spawn(async move {
        for byte in body {
            if writer.write_all(&[byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(every).await;
        }
    });
    let response = common::http::read_response(&mut reader).await;
    let mut byte = [0u8; 1];
    let closed = matches!(
        tokio::time::timeout(
            Duration::from_secs(5),
            tokio::io::AsyncReadExt::read(&mut reader, &mut byte)
        )
        .await,
        Ok(Ok(0) | Err(_))
    ) || response.is_none();
    sending.abort();
    (response, started.elapsed(), closed)
}

/// Bug fix: a body trickling a byte at a time was never cut, since `read_timeout` counts
/// only silence. `body_timeout` bounds the whole body: 408, a close, nothing stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickling_body_is_cut_at_body_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), &production("      body_timeout: 1s")).await;
    let addr = running.listening("In").await;
    let message = m(1101);
    let head = format!("{POST_HEAD}Content-Length: {}\r\n\r\n", message.len());
    let (response, waited, closed) = trickle(addr, head, message, Duration::from_millis(100)).await;
    if let Some(response) = response {
        assert_eq!(response.status, 408, "{response:?}");
        assert!(
            response.json()["error"]
                .as_str()
                .unwrap()
                .contains("body_timeout")
        );
    }
    assert!(closed, "closed");
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(4),
        "{waited:?}"
    );
    assert_eq!(inbound_count(&running), 0, "nothing stored");
    running.stop().await;
}

/// Bug fix: a trickling client held the production's stop for the engine's whole grace
/// (30 s). Open connections now get at most 5 s: the body still being read is abandoned
/// (nothing stored), while a client that sent its whole message still gets its answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_does_not_wait_for_a_trickling_client() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = production("").replace("read_timeout: 2s", "read_timeout: 20s");
    let running = Running::start(dir.path(), &yaml).await;
    let addr = running.listening("In").await;
    let message = m(1201);
    let head = format!("{POST_HEAD}Content-Length: {}\r\n\r\n", message.len());
    let slow = tokio::spawn(trickle(addr, head, message, Duration::from_millis(500)));
    // A client that sends the rest of its body a second after the stop began.
    let late = m(1203);
    let mut late_stream = TcpStream::connect(addr).await.unwrap();
    let late_head = format!("{POST_HEAD}Content-Length: {}\r\n\r\n", late.len());
    late_stream.write_all(late_head.as_bytes()).await.unwrap();
    late_stream.write_all(&late[..10]).await.unwrap();
    let late_answer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1300)).await;
        late_stream.write_all(&late[10..]).await.unwrap();
        common::http::read_response(&mut late_stream).await
    });
    // An idle keep-alive connection after a stored message.
    let (response, mut idle) = exchange(addr, &post("/messages", HL7, "", &m(1202))).await;
    assert_eq!(response.status, 202, "{response:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;

    let store = std::sync::Arc::clone(&running.store);
    let started = Instant::now();
    running.engine.shutdown().await.expect("clean shutdown");
    let stopping = started.elapsed();
    assert!(
        stopping < Duration::from_secs(8),
        "stopping took {stopping:?}"
    );
    assert!(
        closed_within(&mut idle, Duration::from_secs(1)).await,
        "idle closed"
    );
    let (response, _, closed) = slow.await.unwrap();
    if let Some(response) = response {
        assert_eq!(response.status, 503, "{response:?}");
    }
    assert!(closed, "the trickling connection is closed");
    let late_answer = late_answer
        .await
        .unwrap()
        .expect("an answer for the whole body");
    assert_eq!(late_answer.status, 202, "{late_answer:?}");

    let query = Query {
        limit: 100,
        ..Query::default()
    };
    let inbound = store
        .search(&query)
        .unwrap()
        .into_iter()
        .filter(|h| h.source.as_str() == "In")
        .count();
    assert_eq!(inbound, 2, "only the whole messages are stored");
}

/// hyper's own refusals, made before Ferry sees the request, have no JSON body (hyper has
/// no hook for them); the docs list them. They do close the connection and store nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_hyper_refuses_itself_are_closed_and_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), &production("")).await;
    let addr = running.listening("In").await;
    let many: String = (0..120).map(|n| format!("X-{n}: v\r\n")).collect();
    for (request, status) in [
        (
            format!("{POST_HEAD}Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"),
            400,
        ),
        (format!("{POST_HEAD}Content-Length: -1\r\n\r\n"), 400),
        (format!("{POST_HEAD}Content-Length : 3\r\n\r\nabc"), 400),
        (
            format!("{POST_HEAD}Transfer-Encoding: gzip\r\n\r\nabc"),
            400,
        ),
        (
            format!("{POST_HEAD}{many}Content-Length: 3\r\n\r\nabc"),
            431,
        ),
    ] {
        let (response, mut stream) = exchange(addr, request.as_bytes()).await;
        eprintln!("{status}: {response:?}");
        assert_eq!(response.status, status, "{request}");
        assert!(response.body.is_empty(), "{response:?}");
        assert!(closed_within(&mut stream, Duration::from_secs(5)).await);
    }
    assert_eq!(inbound_count(&running), 0);
    running.stop().await;
}
