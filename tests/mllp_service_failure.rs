//! A production whose MLLP service cannot listen stops with exit code 1 and says why,
//! instead of running on with a dead inbound.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn a_service_that_cannot_listen_stops_the_production() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let production = dir.path().join("p.yaml");
    let yaml = format!(
        "production: p\nstore: {{ path: \"{}/data\" }}\nitems:\n  - name: In\n    \
         service: mllp\n    targets: [Out]\n    settings: {{ listen: \"127.0.0.1:{port}\" }}\n  \
         - name: Out\n    operation: file\n    settings: {{ path: \"{}/out\" }}\n",
        dir.path().display(),
        dir.path().display()
    );
    std::fs::write(&production, yaml).unwrap();

    let mut child = Command::new(common::binary::ferry_binary())
        .arg("run")
        .arg(&production)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "ferry kept running with a dead inbound"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot listen on 127.0.0.1"), "{stderr}");
    drop(taken);
}
