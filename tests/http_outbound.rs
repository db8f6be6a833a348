//! `operation: http` settings beyond field case B41: status actions per status and class,
//! suspending after an ambiguous timeout, and `tls.verify: false` warning at every start.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::eventually;
use common::hl7::m;
use common::http::{Answer, Seen, TestServer, exchange, make_certificates, post};
use common::inproc::Running;
use ferry_message::Status;

const WAIT: Duration = Duration::from_secs(60);
const WARNING: &str = "TLS certificate verification is OFF";

fn control_id(seen: &Seen) -> String {
    let text = String::from_utf8_lossy(&seen.body);
    text.split('|').nth(9).unwrap_or("").to_owned()
}

fn script(request: &Seen, _earlier: &[Seen]) -> Answer {
    match control_id(request).as_str() {
        "MSG0001" => Answer::status(409).with_body("already there"),
        "MSG0002" => Answer::status(404),
        "MSG0003" => Answer::status(201).after(Duration::from_secs(3)),
        _ => Answer::status(204),
    }
}

fn production(port: u16) -> String {
    format!(
        r#"
production: http-out
store: {{ path: "${{DIR}}/data" }}
items:
  - name: In
    service: http
    targets: [Lab]
    settings: {{ listen: "127.0.0.1:0" }}
  - name: Lab
    operation: http
    retry: {{ interval: 100ms }}
    settings:
      url: "https://localhost:{port}/r/{{MSH-10}}"
      timeout: 1s
      tls: {{ verify: false }}
      status_actions: {{ "4xx": suspend, "409": complete }}
      on_ambiguous_timeout: suspend
"#
    )
}

fn status_of(running: &Running, control_id: &str) -> Option<Status> {
    running.headers_for("Lab").into_iter().find_map(|header| {
        let body = running.store.body(header.body).unwrap().unwrap();
        String::from_utf8_lossy(&body.bytes)
            .contains(control_id)
            .then_some(header.status)
    })
}

fn warnings(running: &Running) -> usize {
    let events = running.store.events(None, 10_000).unwrap();
    events
        .iter()
        .filter(|e| e.event.text.contains(WARNING))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_actions_and_ambiguous_timeouts_follow_the_settings() {
    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    make_certificates(dir.path());
    // A self-signed certificate: only `verify: false` lets the operation talk to it.
    let server = TestServer::start(
        &dir.path().join("self.pem"),
        &dir.path().join("self.key"),
        Box::new(script),
    )
    .await;
    let running = Running::start(dir.path(), &production(server.addr.port())).await;
    let inbound = running.listening("In").await;
    eventually("a warning at start", WAIT, || warnings(&running) == 1).await;

    for n in 1..=4 {
        let (response, _) = exchange(inbound, &post("/messages", "text/plain", "", &m(n))).await;
        assert_eq!(response.status, 202);
    }
    eventually("all four finished", WAIT, || {
        status_of(&running, "MSG0004") == Some(Status::Completed)
    })
    .await;
    assert_eq!(
        status_of(&running, "MSG0001"),
        Some(Status::Completed),
        "409: complete"
    );
    assert_eq!(
        status_of(&running, "MSG0002"),
        Some(Status::Suspended),
        "4xx: suspend"
    );
    assert_eq!(
        status_of(&running, "MSG0003"),
        Some(Status::Suspended),
        "ambiguous"
    );
    let sent_3 = server
        .seen()
        .iter()
        .filter(|s| control_id(s) == "MSG0003")
        .count();
    assert_eq!(
        sent_3, 1,
        "an ambiguous timeout is not resent when set to suspend"
    );
    let text = server
        .seen()
        .iter()
        .find(|s| control_id(s) == "MSG0001")
        .and_then(|s| s.header("content-type").map(str::to_owned));
    // A text body is stored with the charset it was checked against, and says so.
    assert_eq!(text.as_deref(), Some("text/plain; charset=UTF-8"));
    running.stop().await;

    // Every start warns again.
    let running = Running::start(dir.path(), &production(server.addr.port())).await;
    eventually("a second warning", WAIT, || warnings(&running) == 2).await;
    running.stop().await;
}
