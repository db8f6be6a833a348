//! Field case B41 at its own timings (no scaling): an HTTP operation posting to an HTTPS
//! test server whose certificate for `localhost` comes from a test CA the operation
//! trusts. The server records every request with its headers and answers per message:
//! a (MSG0901) 201 after 5 s the first time, at once for a key it has seen; b 400 every
//! time; c 429 with Retry-After 7 twice, then 201; d 503 three times, then 201; e 408
//! once, then 201; f is sent while the server shows a self-signed certificate, then the
//! good one again.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::eventually;
use common::hl7::m;
use common::http::{Answer, Seen, TestServer, exchange, make_certificates, post};
use common::inproc::Running;
use ferry_message::{Header, Status};

const WAIT: Duration = Duration::from_secs(90);
/// Timer slack when checking that a wait was "never faster".
const SLACK: Duration = Duration::from_millis(50);

fn control_id(seen: &Seen) -> String {
    let text = String::from_utf8_lossy(&seen.body);
    text.split('|').nth(9).unwrap_or("").to_owned()
}

fn script(request: &Seen, earlier: &[Seen]) -> Answer {
    let id = control_id(request);
    let before = earlier.iter().filter(|seen| control_id(seen) == id).count();
    let key = request.header("idempotency-key");
    match id.as_str() {
        "MSG0901"
            if earlier
                .iter()
                .any(|seen| seen.header("idempotency-key") == key) =>
        {
            Answer::status(201)
        }
        "MSG0901" => Answer::status(201).after(Duration::from_secs(5)),
        "MSG0902" => Answer::status(400).with_body(r#"{"error":"PID-7 missing"}"#),
        "MSG0903" if before < 2 => Answer::status(429).with_header("Retry-After", "7"),
        "MSG0904" if before < 3 => Answer::status(503),
        "MSG0905" if before < 1 => Answer::status(408),
        _ => Answer::status(201),
    }
}

fn production(port: u16) -> String {
    format!(
        r#"
production: b41
store: {{ path: "${{DIR}}/data" }}
items:
  - name: In
    service: http
    targets: [Lab]
    settings: {{ listen: "127.0.0.1:0" }}
  - name: Lab
    operation: http
    pool: 1
    retry: {{ interval: 1s, backoff: 2.0, max_interval: 30s }}
    settings:
      url: "https://${{FERRY_LAB_HOST:-localhost}}:{port}/results/{{PID-3.1}}"
      timeout: 2s
      tls: {{ ca: "${{DIR}}/ca.pem" }}
"#
    )
}

/// Lab's header for the message whose MSH-10 is `control_id`.
fn lab_header(running: &Running, control_id: &str) -> Option<Header> {
    running.headers_for("Lab").into_iter().find(|header| {
        let body = running.store.body(header.body).unwrap().unwrap();
        String::from_utf8_lossy(&body.bytes).contains(control_id)
    })
}

fn status_of(running: &Running, control_id: &str) -> Option<Status> {
    lab_header(running, control_id).map(|header| header.status)
}

fn requests_for(server: &TestServer, control_id: &str) -> Vec<Seen> {
    server
        .seen()
        .into_iter()
        .filter(|seen| self::control_id(seen) == control_id)
        .collect()
}

fn gaps(requests: &[Seen]) -> Vec<Duration> {
    requests
        .windows(2)
        .map(|pair| pair[1].at.duration_since(pair[0].at))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b41_outbound_http_retries_what_it_should_when_it_should_with_one_key() {
    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    make_certificates(dir.path());
    let (good_cert, good_key) = (dir.path().join("server.pem"), dir.path().join("server.key"));
    let server = TestServer::start(&good_cert, &good_key, Box::new(script)).await;
    let running = Running::start(dir.path(), &production(server.addr.port())).await;
    let inbound = running.listening("In").await;
    let hl7 = "x-application/hl7-v2+er7";

    for n in 901..=905 {
        let (response, _) = exchange(inbound, &post("/messages", hl7, "", &m(n))).await;
        assert_eq!(response.status, 202);
    }
    eventually("a to e finished", WAIT, || {
        status_of(&running, "MSG0905") == Some(Status::Completed)
    })
    .await;

    // a: at most two requests, one key (Ferry's header id), attempt 1 "outcome unknown".
    let a = requests_for(&server, "MSG0901");
    let header = lab_header(&running, "MSG0901").unwrap();
    assert!(!a.is_empty() && a.len() <= 2, "a: {} requests", a.len());
    let key = header.id.to_string();
    assert!(
        a.iter()
            .all(|seen| seen.header("idempotency-key") == Some(key.as_str()))
    );
    assert!(
        a[0].request_line.starts_with("POST /results/TEST0901 "),
        "{}",
        a[0].request_line
    );
    assert_eq!(header.status, Status::Completed);
    let events = running.store.events(None, 10_000).unwrap();
    assert!(
        events.iter().any(|e| e.event.message == Some(header.id)
            && e.event
                .text
                .contains("timed out after sending, outcome unknown")),
        "a: the ambiguous timeout is logged as such"
    );

    // b: one attempt, Error with the status and body; c went next.
    assert_eq!(requests_for(&server, "MSG0902").len(), 1);
    let b = lab_header(&running, "MSG0902").unwrap();
    assert_eq!(b.status, Status::Error);
    let reason = b.reason.clone().unwrap_or_default();
    assert!(
        reason.contains("400") && reason.contains("PID-7 missing"),
        "{reason}"
    );
    let response = running.store.body(b.response.unwrap()).unwrap().unwrap();
    assert_eq!(&response.bytes[..], br#"{"error":"PID-7 missing"}"#);

    // c: Retry-After 7 honoured twice, Completed on the third attempt.
    let c = requests_for(&server, "MSG0903");
    assert_eq!(c.len(), 3);
    for gap in gaps(&c) {
        assert!(
            gap >= Duration::from_secs(7) - SLACK,
            "c waited only {gap:?}"
        );
    }
    assert_eq!(status_of(&running, "MSG0903"), Some(Status::Completed));

    // d: the normal backoff, 1, 2, 4 s, never faster.
    let d = requests_for(&server, "MSG0904");
    assert_eq!(d.len(), 4);
    for (gap, least) in gaps(&d).into_iter().zip([1, 2, 4]) {
        assert!(
            gap >= Duration::from_secs(least) - SLACK,
            "d waited {gap:?} < {least}s"
        );
    }
    assert_eq!(status_of(&running, "MSG0904"), Some(Status::Completed));

    // e: 408 is retried.
    assert_eq!(requests_for(&server, "MSG0905").len(), 2);

    // f: a self-signed certificate: an error event naming the cause, no body sent,
    // retried, and completed once the good certificate is back.
    server.use_certificate(&dir.path().join("self.pem"), &dir.path().join("self.key"));
    let (response, _) = exchange(inbound, &post("/messages", hl7, "", &m(906))).await;
    assert_eq!(response.status, 202);
    eventually("two refused handshakes", WAIT, || {
        server.refused.lock().unwrap().len() >= 2
    })
    .await;
    assert!(
        requests_for(&server, "MSG0906").is_empty(),
        "no body over a bad certificate"
    );
    let events = running.store.events(None, 10_000).unwrap();
    let named = events.iter().any(|e| {
        e.event.level == ferry_store::EventLevel::Error
            && e.event.text.contains("TLS")
            && e.event.text.to_lowercase().contains("certificate")
    });
    assert!(
        named,
        "an error event names the certificate problem: {events:#?}"
    );
    server.use_certificate(&good_cert, &good_key);
    eventually("f completed", WAIT, || {
        status_of(&running, "MSG0906") == Some(Status::Completed)
    })
    .await;
    assert_eq!(requests_for(&server, "MSG0906").len(), 1);
    running.stop().await;
}
