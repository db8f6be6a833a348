//! The web UI in a real browser: Debian's chromium driven by playwright-core (pinned in
//! `tests/peers/node/package-lock.json`) runs the scripts in `tests/browser/` against a
//! real `ferry run`.
//!
//! - `workflow.mjs`: queue depths follow live, enable, search by MSH-10, detail, trace,
//!   resend with confirmation, event log.
//! - `b44.mjs`: field case B44. Markup and script in an MLLP message, HTTP JSON and XML
//!   bodies, a file name and an AMQP `app_id` all show as text on every page, and a page
//!   on another origin cannot make the logged-in browser change anything.
//!
//! Screenshots go to `target/test-output/browser/`. Without chromium or the node peers
//! the tests are skipped with a message, and fail under `CI=true`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::admin::{ADMIN_SECTION, AdminFerry, TEST_TOKEN};
use common::binary::listening_addr;
use common::rabbit::{BrokerObjects, amqp_url};

const WAIT: Duration = Duration::from_secs(30);

/// What a browser script needs from the machine.
struct Tools {
    chromium: PathBuf,
    node_peers: PathBuf,
}

/// Chromium and the node peers with playwright-core, or `None` (after saying why) when
/// one is missing outside CI.
fn tools() -> Option<Tools> {
    let chromium = std::env::var_os("FERRY_TEST_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    let node_peers = std::env::var_os("FERRY_TEST_NODE_PEERS")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::repo().join("tests/peers/node"));
    let playwright = node_peers.join("node_modules/playwright-core/package.json");
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());

    let missing = if !chromium.is_file() {
        format!(
            "no chromium at {} (FERRY_TEST_CHROMIUM)",
            chromium.display()
        )
    } else if !node {
        "no `node` on the PATH".to_owned()
    } else if !playwright.is_file() {
        format!("no playwright-core in {}", node_peers.display())
    } else {
        return Some(Tools {
            chromium,
            node_peers,
        });
    };
    let message = format!("skipped: {missing}; .ci/run installs it");
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{message} (required under CI=true)"
    );
    eprintln!("{message}");
    None
}

/// Where the screenshots go.
fn shots() -> PathBuf {
    common::repo().join("target/test-output/browser")
}

/// Runs `tests/browser/<script>` with `env`; panics with its output when it fails.
fn run_script(tools: &Tools, admin: &AdminFerry, script: &str, env: &[(&str, String)]) {
    let path = common::repo().join("tests/browser").join(script);
    let mut command = Command::new("node");
    command
        .arg(&path)
        .env("FERRY_UI", format!("http://{}/", admin.http))
        .env("FERRY_TOKEN", TEST_TOKEN)
        .env("FERRY_TEST_NODE_PEERS", &tools.node_peers)
        .env("FERRY_TEST_CHROMIUM", &tools.chromium)
        .env("FERRY_SHOTS", shots());
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{script}:\n{stdout}{stderr}");
    assert!(
        output.status.success(),
        "{script} failed ({}):\n{stdout}\n{stderr}\nferry log:\n{}",
        output.status,
        admin.ferry.log_text()
    );
}

fn write_production(dir: &Path, yaml: &str) -> PathBuf {
    let path = dir.join("production.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

#[test]
fn workflow_in_a_browser() {
    let Some(tools) = tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        r#"
production: browser-workflow
store: {{ path: "${{DIR}}/data", search_fields: [MSH-10] }}
{ADMIN_SECTION}
items:
  - name: MLLP in
    service: mllp
    targets: [Router]
    settings: {{ listen: '127.0.0.1:0' }}
  - name: Router
    process: router
    rules:
      - name: Everything
        send: [Out]
  - name: Out
    operation: file
    enabled: false
    settings:
      path: ${{DIR}}/out
      filename: '{{MSH-10}}-{{id}}.hl7'
"#
    );
    let production = write_production(dir.path(), &yaml);
    let mut admin = AdminFerry::start(&production, &[("DIR", dir.path())]);
    let mllp = listening_addr(&mut admin.ferry, "MLLP in", WAIT);

    run_script(
        &tools,
        &admin,
        "workflow.mjs",
        &[("FERRY_MLLP", mllp.to_string())],
    );
    let status = admin.ferry.stop();
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b44_message_content_is_text_and_other_sites_cannot_act() {
    let Some(tools) = tools() else { return };
    let Some(url) = amqp_url() else { return };
    let objects = BrokerObjects::new(&url);
    let queue = objects.queue("t.admin.b44");
    let client = common::amqp::Client::connect(&url, "ferry-test b44").await;
    client.queue(&queue, &[]).await;

    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("in")).unwrap();
    let production = write_production(dir.path(), &b44_production(&url, &queue));
    let mut admin = AdminFerry::start(&production, &[("DIR", dir.path())]);
    let mllp = listening_addr(&mut admin.ferry, "MLLP in", WAIT);
    let http = listening_addr(&mut admin.ferry, "HTTP in", WAIT);
    client.wait_for_consumer(&queue, WAIT).await;

    send_b44_messages(mllp, http).await;
    common::drop_file(
        &dir.path().join("in"),
        "<svg onload=window.ferryXss=5>.hl7",
        &common::hl7::m(2002),
    );
    publish_with_app_id(&client, &queue, &common::hl7::m(2003)).await;
    client.close().await;

    let admin = tokio::task::spawn_blocking(move || {
        run_script(&tools, &admin, "b44.mjs", &[]);
        admin
    })
    .await
    .unwrap();
    let status = admin.ferry.stop();
    assert!(status.success(), "{status}");
}

/// Four services, one per way in, all feeding one operation that stays disabled, so every
/// message stays Queued: a discard that got through would show.
fn b44_production(url: &str, queue: &str) -> String {
    format!(
        r#"
production: b44
store: {{ path: "${{DIR}}/data", search_fields: [MSH-10] }}
{ADMIN_SECTION}
items:
  - name: MLLP in
    service: mllp
    targets: [Held]
    settings: {{ listen: '127.0.0.1:0' }}
  - name: HTTP in
    service: http
    targets: [Held]
    settings: {{ listen: '127.0.0.1:0' }}
  - name: File in
    service: file
    targets: [Held]
    settings:
      path: ${{DIR}}/in
      glob: '*.hl7'
      poll_interval: 20ms
      quiet_period: 0s
      archive: ${{DIR}}/archive
      error: ${{DIR}}/error
  - name: AMQP in
    service: amqp
    targets: [Held]
    settings:
      url: "{url}"
      queue: {queue}
      content_type: hl7v2
  - name: Held
    operation: file
    enabled: false
    settings:
      path: ${{DIR}}/out
      filename: '{{id}}.txt'
"#
    )
}

/// MSG2001 with markup in PID and NTE over MLLP, and the JSON and XML bodies over HTTP.
async fn send_b44_messages(mllp: std::net::SocketAddr, http: std::net::SocketAddr) {
    let message = "MSH|^~\\&|SENDAPP|SENDFAC|FERRY|HUB|20240101120000||ADT^A08^ADT_A01|MSG2001|P|\
                   2.5.1\rPID|1||TEST2001^^^TESTHOSP^MR||<script>window.ferryXss=1</script>^\
                   <b>TEST</b>\rNTE|1||<img src=x onerror=\"window.ferryXss=2\">\r";
    let mut sender = common::mllp::Sender::connect(mllp).await;
    let ack = sender.exchange(message.as_bytes()).await;
    assert!(
        String::from_utf8_lossy(&ack).contains("MSA|AA|MSG2001"),
        "{}",
        String::from_utf8_lossy(&ack)
    );

    let client = reqwest::Client::new();
    let bodies = [
        (
            "application/json",
            r#"{"note":"<svg onload=\"window.ferryXss=3\">"}"#,
        ),
        (
            "application/xml",
            "<note><![CDATA[</pre><script>window.ferryXss=4</script>]]></note>",
        ),
    ];
    for (content_type, body) in bodies {
        let response = client
            .post(format!("http://{http}/messages"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202, "{content_type}");
    }
}

/// Publishes `body` to `queue` with the B44 `app_id`, waiting for the broker's confirm.
async fn publish_with_app_id(client: &common::amqp::Client, queue: &str, body: &[u8]) {
    use lapin::BasicProperties;
    use lapin::options::BasicPublishOptions;

    let properties = BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type("x-application/hl7-v2+er7".into())
        .with_app_id("<script>window.ferryXss=6</script>".into());
    let confirm = client
        .channel
        .basic_publish(
            "".into(),
            queue.into(),
            BasicPublishOptions::default(),
            body,
            properties,
        )
        .await
        .unwrap()
        .await
        .unwrap();
    assert!(confirm.is_ack(), "the broker took the message: {confirm:?}");
}
