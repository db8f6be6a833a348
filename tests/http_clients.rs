//! `service: http` as real clients and operators meet it: the `ferry` binary, curl as the
//! sender, credentials from the environment, and the synchronous mode where the answer is
//! the response of a downstream HTTP operation (which here posts to a second HTTP service
//! of the same production, so both directions run over real sockets).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::binary::{Ferry, ferry, listening_addr};
use common::hl7::m;
use common::http::curl;

const HL7: &str = "Content-Type: x-application/hl7-v2+er7";

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// `Front` answers with the response of `Relay`, which posts to `Back`.
fn production(dir: &Path, back_port: u16, auth: &str) -> std::path::PathBuf {
    let data = dir.join("data");
    let out = dir.join("out");
    let yaml = format!(
        r#"
production: http-clients
store: {{ path: "{data}" }}
items:
  - name: Front
    service: http
    targets: [Relay]
    settings:
      listen: "127.0.0.1:0"
      response_from: Relay
      response_timeout: 10s
{auth}
  - name: Relay
    operation: http
    retry: {{ interval: 100ms }}
    settings:
      url: "http://127.0.0.1:{back_port}/in/{{MSH-10}}"
      timeout: 5s
  - name: Back
    service: http
    targets: [Files]
    settings: {{ listen: "127.0.0.1:{back_port}", path: "/in/MSG0007" }}
  - name: Files
    operation: file
    settings: {{ path: "{out}", fsync: false }}
"#,
        data = data.display(),
        out = out.display(),
    );
    let path = dir.join("production.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

#[test]
fn curl_gets_the_downstream_response_through_the_synchronous_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = production(dir.path(), free_port(), "");
    let mut ferry = Ferry::start(&path, &[]);
    let front = listening_addr(&mut ferry, "Front", Duration::from_secs(30));
    let message = dir.path().join("m.hl7");
    std::fs::write(&message, m(7)).unwrap();
    let url = format!("http://{front}/messages");
    let file = format!("@{}", message.display());

    // MSG0007 reaches Back at /in/MSG0007; Back's 202 comes back through Relay and Front.
    let Some((status, body)) = curl(&["-H", HL7, "--data-binary", &file, &url]) else {
        return;
    };
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(json["id"].as_str().is_some(), "Back's answer: {json}");

    // MSG0008 goes to /in/MSG0008, where Back has no path: 404, an Error for Relay, a 502.
    std::fs::write(&message, m(8)).unwrap();
    let (status, body) = curl(&["-H", HL7, "--data-binary", &file, &url]).unwrap();
    assert_eq!(status, 502, "{body}");
    ferry.stop();
}

#[test]
fn curl_needs_the_bearer_token_named_in_the_production() {
    let dir = tempfile::tempdir().unwrap();
    let auth = "      auth: { bearer_token_env: FERRY_TEST_HTTP_TOKEN }";
    let path = production(dir.path(), free_port(), auth);

    let (status, _, stderr) = ferry(&["run", path.to_str().unwrap()], &[]);
    assert_eq!(status.code(), Some(2), "refused at load: {stderr}");
    assert!(
        stderr.contains("FERRY_TEST_HTTP_TOKEN"),
        "names the variable: {stderr}"
    );

    let token = Path::new("s3cret-token");
    let mut ferry = Ferry::start(&path, &[("FERRY_TEST_HTTP_TOKEN", token)]);
    let front = listening_addr(&mut ferry, "Front", Duration::from_secs(30));
    let url = format!("http://{front}/messages");
    let body = String::from_utf8(m(7)).unwrap();

    let Some((status, _)) = curl(&["-H", HL7, "--data-binary", &body, &url]) else {
        return;
    };
    assert_eq!(status, 401);
    let wrong = "Authorization: Bearer s3cret-tokem";
    let (status, _) = curl(&["-H", HL7, "-H", wrong, "--data-binary", &body, &url]).unwrap();
    assert_eq!(status, 401);
    let right = "Authorization: Bearer s3cret-token";
    let (status, text) = curl(&["-H", HL7, "-H", right, "--data-binary", &body, &url]).unwrap();
    assert_eq!(status, 200, "{text}");
    ferry.stop();
}

#[test]
fn curl_over_tls_with_basic_auth() {
    let dir = tempfile::tempdir().unwrap();
    common::http::make_certificates(dir.path());
    let auth = format!(
        "      auth: {{ basic_user: lab, basic_password_env: FERRY_TEST_HTTP_PASSWORD }}\n      \
         tls: {{ certificate: \"{}\", key: \"{}\" }}",
        dir.path().join("server.pem").display(),
        dir.path().join("server.key").display()
    );
    let path = production(dir.path(), free_port(), &auth);
    let password = Path::new("pa55-word");
    let mut ferry = Ferry::start(&path, &[("FERRY_TEST_HTTP_PASSWORD", password)]);
    let front = listening_addr(&mut ferry, "Front", Duration::from_secs(30));
    let url = format!("https://localhost:{}/messages", front.port());
    let ca = dir.path().join("ca.pem");
    let ca = ca.to_str().unwrap();
    let body = String::from_utf8(m(7)).unwrap();
    let resolve = format!("localhost:{}:127.0.0.1", front.port());
    let common = [
        "--resolve",
        &resolve,
        "--cacert",
        ca,
        "-H",
        HL7,
        "--data-binary",
        &body,
    ];

    let Some((status, text)) = curl(&[&common[..], &["-u", "lab:wrong", &url]].concat()) else {
        return;
    };
    assert_eq!(status, 401, "{text}");
    let (status, text) = curl(&[&common[..], &["-u", "lab:pa55-word", &url]].concat()).unwrap();
    assert_eq!(status, 200, "{text}");

    // A client that does not trust the test CA gets no answer at all.
    let (status, _) = curl(&["--resolve", &resolve, "--data-binary", "x", &url]).unwrap();
    assert_eq!(status, 0);
    ferry.stop();
}

#[test]
fn a_store_that_cannot_write_answers_503_and_acknowledges_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = production(dir.path(), free_port(), "");
    let trigger = dir.path().join("fail-now");
    let mut ferry = Ferry::start(
        &path,
        &[
            ("FERRY_TEST_FAIL_WRITES_WHEN", trigger.as_path()),
            ("FERRY_TEST_FAIL_WRITES_FOR", Path::new("3000")),
        ],
    );
    let back = listening_addr(&mut ferry, "Back", Duration::from_secs(30));
    let url = format!("http://{back}/in/MSG0007");
    let body = String::from_utf8(m(7)).unwrap();
    let post = ["-D", "-", "-H", HL7, "--data-binary", &body, &url];

    std::fs::write(&trigger, b"").unwrap();
    let Some((status, text)) = curl(&post) else {
        return;
    };
    assert_eq!(status, 503, "{text}");
    assert!(text.to_lowercase().contains("retry-after: 5"), "{text}");
    assert!(text.contains("\"where\":\"store\""), "{text}");

    // Once the store writes again, the same request is taken.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, text) = curl(&post).unwrap();
        if status == 202 {
            break;
        }
        assert_eq!(status, 503, "{text}");
        assert!(
            std::time::Instant::now() < deadline,
            "the store never came back"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    ferry.stop();
}
