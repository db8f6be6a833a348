//! MLLP over TLS, both directions, with mutual TLS: certificates made by rcgen at test
//! time. A relay `In` (plain) → `Out` (TLS client with its own certificate) → `Secure`
//! (TLS listener that requires a client certificate from the test CA) → a file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::hl7::m;
use common::inproc::Running;
use common::mllp::{Sender, msa};
use common::{eventually, visible_files};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

const WAIT: Duration = Duration::from_secs(30);

/// Writes `ca.pem`, `server.pem`/`server.key` (for 127.0.0.1 and localhost) and
/// `client.pem`/`client.key`, all signed by the CA, into `dir`.
fn make_certificates(dir: &Path) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();

    for (name, names) in [
        (
            "server",
            vec!["127.0.0.1".to_owned(), "localhost".to_owned()],
        ),
        ("client", vec!["ferry-client".to_owned()]),
    ] {
        let key = KeyPair::generate().unwrap();
        let certificate = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        std::fs::write(dir.join(format!("{name}.pem")), certificate.pem()).unwrap();
        std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
    }
}

/// A port nothing listens on right now, for the TLS listener the operation must name
/// before the production starts.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn production(port: u16, client_identity: bool) -> String {
    let identity = if client_identity {
        ", certificate: \"${DIR}/client.pem\", key: \"${DIR}/client.key\""
    } else {
        ""
    };
    format!(
        r#"
production: mllp-tls
store: {{ path: "${{DIR}}/data" }}
items:
  - name: In
    service: mllp
    targets: [Out]
    settings: {{ listen: "127.0.0.1:0" }}
  - name: Out
    operation: mllp
    retry: {{ interval: 100ms, backoff: 1.0 }}
    settings:
      address: "127.0.0.1:{port}"
      tls: {{ ca: "${{DIR}}/ca.pem"{identity} }}
  - name: Secure
    service: mllp
    targets: [Files]
    settings:
      listen: "127.0.0.1:{port}"
      tls:
        certificate: "${{DIR}}/server.pem"
        key: "${{DIR}}/server.key"
        client_ca: "${{DIR}}/ca.pem"
  - name: Files
    operation: file
    settings: {{ path: "${{DIR}}/out", fsync: false }}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_cross_a_mutual_tls_hop() {
    let dir = tempfile::tempdir().unwrap();
    make_certificates(dir.path());
    let running = Running::start(dir.path(), &production(free_port(), true)).await;
    let addr = running.listening("In").await;

    let mut sender = Sender::connect(addr).await;
    for n in 1..=5 {
        assert_eq!(msa(&sender.exchange(&m(n)).await).0, "AA");
    }
    let out = dir.path().join("out");
    eventually("five files", WAIT, || visible_files(&out).len() == 5).await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_a_certificate_is_refused_and_retried() {
    let dir = tempfile::tempdir().unwrap();
    make_certificates(dir.path());
    let running = Running::start(dir.path(), &production(free_port(), false)).await;
    let addr = running.listening("In").await;

    assert_eq!(
        msa(&Sender::connect(addr).await.exchange(&m(1)).await).0,
        "AA"
    );
    eventually("a retry recorded", WAIT, || {
        running
            .headers_for("Out")
            .iter()
            .any(|header| header.attempts >= 1)
    })
    .await;
    assert!(visible_files(&dir.path().join("out")).is_empty());
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_sender_gets_nothing_from_a_tls_listener() {
    let dir = tempfile::tempdir().unwrap();
    make_certificates(dir.path());
    let port = free_port();
    let running = Running::start(dir.path(), &production(port, true)).await;
    let secure = running.listening("Secure").await;

    let mut plain = Sender::connect(secure).await;
    plain.send(&m(1)).await;
    assert_eq!(plain.reply(Duration::from_secs(5)).await, None);
    running.stop().await;
}
