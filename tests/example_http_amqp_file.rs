//! The two AMQP example productions as they ship, chained on the real RabbitMQ as the
//! README shows: curl POSTs to `productions/http-to-amqp.yaml`, which publishes to a topic
//! exchange; `productions/amqp-to-file.yaml` binds its queue to that exchange, consumes it
//! and writes files. What arrives
//! in the files is exactly what was posted, and the routing keys are the ones the example
//! documents.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::amqp::Client;
use common::binary::{Ferry, ferry, listening_addr};
use common::hl7::typed;
use common::http::curl;
use common::rabbit::{BrokerObjects, amqp_url};

const TOKEN: &str = "example-token-7f3a";

const CDA: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3"><id root="2.16.840.1.113883.19" extension="c-1"/>
<title>Discharge summary</title></ClinicalDocument>"#;

const PATIENT: &str = r#"{"resourceType": "Patient", "id": "p-1", "name": [{"family": "Keller"}]}"#;

fn example(name: &str) -> PathBuf {
    common::repo().join("productions").join(name)
}

/// Files written under `folder` (any depth), waiting until there are `count`.
fn wait_for_files(folder: &Path, count: usize) -> Vec<PathBuf> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut files = Vec::new();
        for sub in ["adt", "hl7", "documents"] {
            files.extend(common::visible_files(&folder.join(sub)));
        }
        if files.len() >= count || Instant::now() > deadline {
            files.sort();
            return files;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_to_amqp_to_files_keeps_every_byte() {
    let Some(url) = amqp_url() else { return };
    let objects = BrokerObjects::new(&url);
    let exchange = objects.exchange("t.example.x");
    let queue = objects.queue("t.example.q");

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let url_path = PathBuf::from(&url);
    let files_side = Ferry::start(
        &example("amqp-to-file.yaml"),
        &[
            ("FERRY_AMQP_URL", &url_path),
            ("FERRY_AMQP_QUEUE", Path::new(&queue)),
            ("FERRY_AMQP_EXCHANGE", Path::new(&exchange)),
            ("FERRY_OUT", &out),
            ("FERRY_DATA", &dir.path().join("data-files")),
        ],
    );
    // `ready` comes before the AMQP service has declared and bound its queue; publishing
    // (mandatory) before the binding exists would be returned, as it should be.
    let client = Client::connect(&url, "ferry-test example").await;
    client
        .wait_for_consumer(&queue, Duration::from_secs(60))
        .await;
    client.close().await;

    let mut http_side = Ferry::start(
        &example("http-to-amqp.yaml"),
        &[
            ("FERRY_AMQP_URL", &url_path),
            ("FERRY_AMQP_EXCHANGE", Path::new(&exchange)),
            ("FERRY_HTTP_IN", Path::new("127.0.0.1:0")),
            ("FERRY_HTTP_TOKEN", Path::new(TOKEN)),
            ("FERRY_DATA", &dir.path().join("data-http")),
        ],
    );
    let addr = listening_addr(&mut http_side, "HTTP in", Duration::from_secs(30));
    let endpoint = format!("http://{addr}/messages");
    let bearer = format!("Authorization: Bearer {TOKEN}");

    let admission = typed("ADT^A01", "EX0001");
    let result = typed("ORU^R01", "EX0002");
    let sent: [(&str, Vec<u8>); 5] = [
        ("x-application/hl7-v2+er7", admission.clone()),
        ("x-application/hl7-v2+er7", result.clone()),
        ("application/xml", CDA.as_bytes().to_vec()),
        ("application/json", PATIENT.as_bytes().to_vec()),
        ("text/plain", b"a note, not HL7".to_vec()),
    ];
    for (content_type, body) in &sent {
        let body_file = dir.path().join("body");
        std::fs::write(&body_file, body).unwrap();
        let content_type = format!("Content-Type: {content_type}");
        let data = format!("@{}", body_file.display());
        let args = [
            "-H",
            &bearer,
            "-H",
            &content_type,
            "--data-binary",
            &data,
            &endpoint,
        ];
        let Some((status, answer)) = curl(&args) else {
            return;
        };
        assert_eq!(status, 202, "{answer}");
    }

    let files = wait_for_files(&out, sent.len());
    assert_eq!(files.len(), sent.len(), "{files:?}");
    let adt = std::fs::read(out.join("adt/EX0001.hl7")).unwrap();
    assert_eq!(
        adt, admission,
        "byte for byte through HTTP, AMQP and the file"
    );
    let oru = std::fs::read(out.join("hl7/ORU-EX0002.hl7")).unwrap();
    assert_eq!(oru, result);
    let documents: Vec<Vec<u8>> = common::visible_files(&out.join("documents"))
        .iter()
        .map(|file| std::fs::read(file).unwrap())
        .collect();
    for body in [CDA.as_bytes(), PATIENT.as_bytes(), b"a note, not HL7"] {
        assert!(documents.iter().any(|d| d == body), "{documents:?}");
    }

    http_side.stop();
    files_side.stop();
}

#[test]
fn the_http_example_refuses_to_start_without_its_token() {
    let dir = tempfile::tempdir().unwrap();
    let production = example("http-to-amqp.yaml");
    let production = production.to_str().unwrap();
    let (status, _stdout, stderr) = ferry(
        &["run", production],
        &[
            ("FERRY_DATA", dir.path()),
            ("FERRY_HTTP_IN", Path::new("127.0.0.1:0")),
            (
                "FERRY_AMQP_URL",
                Path::new("amqp://guest:guest@127.0.0.1:9/%2f"),
            ),
        ],
    );
    assert_eq!(status.code(), Some(2), "refused at load: {stderr}");
    assert!(stderr.contains("FERRY_HTTP_TOKEN"), "{stderr}");
}
