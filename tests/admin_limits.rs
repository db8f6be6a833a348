//! The admin surfaces of a real `ferry run` under connections that never speak: a silent
//! socket, or one that stalls inside the HTTP/2 preface, or one that finishes its TLS
//! handshake and then says nothing, is closed by the server once the opening deadline
//! (10 s) passes, on the web and the gRPC port alike, while a connection that did speak
//! stays usable. Connections past the cap are closed at once with one warning, not one per
//! connection, and once the silent ones are gone the UI answers and the production has
//! kept working all along.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::admin::{ADMIN_SECTION, AdminFerry};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

/// The server's opening deadline.
const DEADLINE: Duration = Duration::from_secs(10);

/// How long past the deadline a silent connection may stay open.
const MARGIN: Duration = Duration::from_secs(5);

/// Connections the server serves at once on one surface.
const CAP: usize = 256;

/// A file service feeding a file operation.
fn production(dir: &Path) -> std::path::PathBuf {
    common::admin::file_production(dir, "admin-limits", true)
}

/// The same production with its admin surfaces over TLS (certificates in `dir`).
fn tls_production(dir: &Path) -> PathBuf {
    common::http::make_certificates(dir);
    let path = production(dir);
    let with_tls = std::fs::read_to_string(&path).unwrap().replace(
        ADMIN_SECTION,
        "admin:\n  http: '127.0.0.1:0'\n  grpc: '127.0.0.1:0'\n  \
         tls: { certificate: \"${DIR}/server.pem\", key: \"${DIR}/server.key\" }\n",
    );
    std::fs::write(&path, with_tls).unwrap();
    path
}

/// How long after `since` the server closed `stream`, reading (and discarding) whatever
/// it sends first, such as HTTP/2 settings; `None` if still open after deadline + margin.
async fn closed_after<S: AsyncRead + Unpin>(mut stream: S, since: Instant) -> Option<Duration> {
    let mut buffer = [0u8; 1024];
    let until = since + DEADLINE + MARGIN;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => return Some(since.elapsed()),
            Ok(Ok(_)) => continue,
            Err(_) => return None,
        }
    }
}

/// Checks that every one of `waits` saw its connection closed by the server after the
/// deadline, not before.
async fn assert_closed_at_the_deadline(
    waits: Vec<(&str, tokio::task::JoinHandle<Option<Duration>>)>,
) {
    for (what, wait) in waits {
        let closed = wait.await.unwrap();
        let after = closed.unwrap_or_else(|| panic!("{what}: still open after {MARGIN:?}"));
        assert!(
            after >= DEADLINE - Duration::from_secs(1),
            "{what}: closed after only {after:?}"
        );
    }
}

/// Sends one `GET /healthz` on `stream` and checks the answer.
async fn healthz_on(stream: &mut TcpStream) {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let response = common::http::read_response(stream)
        .await
        .expect("a response");
    assert_eq!(response.status, 200);
}

/// The log lines whose message is `message` and whose surface is `surface`.
fn warnings(admin: &AdminFerry, message: &str, surface: &str) -> usize {
    admin
        .ferry
        .lines()
        .iter()
        .filter(|line| line["fields"]["message"] == message)
        .filter(|line| line["fields"]["surface"] == surface)
        .count()
}

/// Drops a message into the file service and waits for the operation to write it.
async fn flows(dir: &Path, number: u32) {
    let name = format!("m{number}.hl7");
    common::drop_file(&dir.join("in"), &name, &common::hl7::m(number));
    let written = dir.join("out").join(format!("MSG{number:04}.hl7"));
    common::eventually(
        "the message to be delivered",
        Duration::from_secs(30),
        || written.exists(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_are_closed_after_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let admin = AdminFerry::start(&production(dir.path()), &[("DIR", dir.path())]);

    let mut talking = TcpStream::connect(admin.http).await.unwrap();
    healthz_on(&mut talking).await;

    let mut waits = Vec::new();
    for (surface, addr) in [("web", admin.http), ("grpc", admin.grpc)] {
        let since = Instant::now();
        let silent = TcpStream::connect(addr).await.unwrap();
        waits.push((surface, tokio::spawn(closed_after(silent, since))));

        // Not silent, but not done either: a proper protocol timeout never starts.
        let since = Instant::now();
        let mut stalled = TcpStream::connect(addr).await.unwrap();
        stalled.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
        waits.push((surface, tokio::spawn(closed_after(stalled, since))));
    }
    assert_closed_at_the_deadline(waits).await;

    // The connection that spoke in time is still served.
    healthz_on(&mut talking).await;
    admin.ferry.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_tls_connections_silent_after_the_handshake_are_closed() {
    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let admin = AdminFerry::start(&tls_production(dir.path()), &[("DIR", dir.path())]);

    let mut roots = RootCertStore::empty();
    let ca = CertificateDer::from_pem_file(dir.path().join("ca.pem")).unwrap();
    roots.add(ca).unwrap();
    let connector = |alpn: &[u8]| {
        let mut config = ClientConfig::builder()
            .with_root_certificates(roots.clone())
            .with_no_client_auth();
        config.alpn_protocols = vec![alpn.to_vec()];
        TlsConnector::from(Arc::new(config))
    };

    let mut waits = Vec::new();
    for (surface, addr, alpn) in [
        ("web", admin.http, &b"http/1.1"[..]),
        ("grpc", admin.grpc, &b"h2"[..]),
    ] {
        let socket = TcpStream::connect(addr).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let tls = connector(alpn).connect(name, socket).await.unwrap();
        waits.push((surface, tokio::spawn(closed_after(tls, Instant::now()))));
    }
    assert_closed_at_the_deadline(waits).await;
    admin.ferry.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_cap_connections_are_refused_until_the_silent_ones_go() {
    let dir = tempfile::tempdir().unwrap();
    let admin = AdminFerry::start(&production(dir.path()), &[("DIR", dir.path())]);
    flows(dir.path(), 1).await;

    let since = Instant::now();
    let mut silent = Vec::new();
    for addr in [admin.http, admin.grpc] {
        for _ in 0..CAP + 20 {
            silent.push(TcpStream::connect(addr).await.unwrap());
        }
    }

    // Past the cap, a connection is closed before it is served.
    let mut refused = TcpStream::connect(admin.http).await.unwrap();
    let _ = refused
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await;
    assert!(common::http::read_response(&mut refused).await.is_none());
    let mut refused = TcpStream::connect(admin.grpc).await.unwrap();
    assert!(common::http::closed_within(&mut refused, Duration::from_secs(2)).await);
    flows(dir.path(), 2).await;

    // Once the silent ones have timed out, the UI answers again.
    let client = reqwest::Client::new();
    let base = format!("http://{}", admin.http);
    loop {
        let probe = client.get(format!("{base}/healthz")).send().await;
        if probe.is_ok_and(|answer| answer.status() == reqwest::StatusCode::OK) {
            break;
        }
        assert!(
            since.elapsed() < DEADLINE + MARGIN,
            "/healthz still unreachable"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let page = client.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    flows(dir.path(), 3).await;

    // One warning per surface for all those refusals (a second if the interval passed).
    let refusal = "admin surface refused a connection: too many open";
    for surface in ["web", "grpc"] {
        let logged = warnings(&admin, refusal, surface);
        assert!((1..=2).contains(&logged), "{surface}: {logged} warnings");
    }
    drop(silent);
    admin.ferry.stop();
}
