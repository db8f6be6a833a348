//! The admin commands of the `ferry` CLI against a real `ferry run`, as an operator types
//! them: tables by default, JSON for scripts, one clear line when something is wrong.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::admin::{ADMIN_SECTION, AdminFerry, TEST_TOKEN, admin_addr};
use common::binary::{Ferry, ferry_binary, listening_addr};
use common::hl7::{m, typed};
use common::mllp::{Sender, msa};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);

/// MLLP `In` → file operation `Out`, which starts disabled so messages wait.
fn write_production(dir: &Path) -> std::path::PathBuf {
    let file = dir.join("production.yaml");
    let yaml = format!(
        "production: admin-cli\n\
         store: {{ path: \"${{DIR}}/data\" }}\n\
         {ADMIN_SECTION}\
         items:\n  \
           - name: In\n    service: mllp\n    targets: [Out]\n    \
             settings: {{ listen: \"127.0.0.1:0\" }}\n  \
           - name: Out\n    operation: file\n    enabled: false\n    \
             settings: {{ path: \"${{DIR}}/out\" }}\n"
    );
    std::fs::write(&file, yaml).unwrap();
    file
}

/// `ferry ARGS` with only the admin variables in `env` (none inherited).
fn cli(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(ferry_binary());
    command
        .args(args)
        .env_remove("FERRY_ADMIN_TOKEN")
        .env_remove("FERRY_ADMIN_GRPC")
        .env_remove("FERRY_ADMIN_PASSWORD");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs an admin command that must succeed; returns its stdout.
fn ok(args: &[&str], env: &[(&str, &str)]) -> String {
    let output = cli(args, env);
    assert!(
        output.status.success(),
        "ferry {args:?}: {}",
        stderr(&output)
    );
    stdout(&output)
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|error| panic!("not JSON ({error}): {text}"))
}

fn send(addr: std::net::SocketAddr, count: u32) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut sender = Sender::connect(addr).await;
        for n in 1..=count {
            assert_eq!(msa(&sender.exchange(&m(n)).await).0, "AA");
        }
    });
}

#[test]
fn operators_inspect_and_act_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let production = write_production(dir.path());
    let mut ferry = AdminFerry::start(&production, &[("DIR", dir.path())]);
    let mllp = listening_addr(&mut ferry.ferry, "In", WAIT);
    send(mllp, 2);
    let grpc = ferry.grpc.to_string();
    let env = [
        ("FERRY_ADMIN_GRPC", grpc.as_str()),
        ("FERRY_ADMIN_TOKEN", TEST_TOKEN),
    ];

    let table = ok(&["status", "--grpc", &grpc, "--token", TEST_TOKEN], &[]);
    assert!(table.starts_with("production admin-cli ("), "{table}");
    let out_row = table.lines().find(|line| line.starts_with("Out ")).unwrap();
    let cells: Vec<&str> = out_row.split_whitespace().collect();
    assert_eq!(
        cells[..5],
        ["Out", "operation", "file", "no", "2"],
        "{table}"
    );

    let status = json(&ok(&["status", "--json"], &env));
    assert_eq!(status["items"][1]["queue_depth"], 2);
    assert_eq!(status["items"][0]["targets"][0], "Out");
    let queues = ok(&["queues"], &env);
    assert!(
        queues.lines().any(|line| line.starts_with("Out ")),
        "{queues}"
    );

    let found = json(&ok(
        &[
            "messages",
            "search",
            "--field",
            "MSH-10=MSG0002",
            "--status",
            "queued",
            "--json",
        ],
        &env,
    ));
    let messages = found["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{found}");
    assert_eq!(messages[0]["status"], "Queued");
    let id = messages[0]["id"].as_u64().unwrap().to_string();
    let session = messages[0]["session"].as_u64().unwrap().to_string();

    let shown = ok(&["messages", "show", &id], &env);
    assert!(shown.contains("MSH-10 = MSG0002"), "{shown}");
    assert!(shown.contains("\nPID|1||TEST0002^^^TESTHOSP^MR"), "{shown}");
    let raw = cli(&["messages", "show", &id, "--raw"], &env);
    assert_eq!(raw.stdout, m(2));

    assert_eq!(
        ok(&["messages", "suspend", &id], &env),
        format!("{id}: suspended\n")
    );
    let resent = cli(&["messages", "resend", &id, "987654321"], &env);
    assert!(!resent.status.success(), "one of the ids is unknown");
    let lines = stdout(&resent);
    assert!(lines.starts_with(&format!("{id}: resent as ")), "{lines}");
    assert!(lines.contains("987654321: no message 987654321"), "{lines}");

    assert_eq!(ok(&["items", "enable", "Out"], &env), "Out enabled\n");
    let trace = ok(&["trace", &session], &env);
    assert_eq!(
        trace.lines().count(),
        3,
        "heading, original, resent copy: {trace}"
    );

    let events = json(&ok(&["events", "--json", "--limit", "20"], &env));
    let actors: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["kind"] == "admin")
        .map(|event| event["actor"].as_str().unwrap())
        .collect();
    assert_eq!(actors, ["token"; 3], "suspend, resend, enable: {events}");

    escapes_are_shown_not_obeyed(mllp, &env);
    a_closed_stdout_ends_quietly(&env);
    follow_sees_an_action(&env);
    wrong_answers(&grpc);
    ferry.ferry.stop();
}

/// MSH-10 and PID-3 carrying terminal control sequences (set title, clear screen).
const HOSTILE_ID: &str = "X\u{1b}]0;PWNED\u{7}\u{1b}[2J\u{9b}1mY";

/// Control characters in message content reach the terminal escaped, never raw;
/// `--json` keeps them exactly.
fn escapes_are_shown_not_obeyed(mllp: std::net::SocketAddr, env: &[(&str, &str)]) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut sender = Sender::connect(mllp).await;
        let reply = sender.exchange(&typed("ADT^A01", HOSTILE_ID)).await;
        assert_eq!(msa(&reply).0, "AA");
    });

    let field = format!("MSH-10={HOSTILE_ID}");
    let found = json(&ok(
        &["messages", "search", "--field", &field, "--json"],
        env,
    ));
    let id = found["messages"][0]["id"].as_u64().unwrap().to_string();
    let exact = json(&ok(&["messages", "show", &id, "--json"], env));
    assert!(
        exact["body"]["text"].as_str().unwrap().contains(HOSTILE_ID),
        "{exact}"
    );

    let shown = cli(&["messages", "show", &id], env);
    let table = cli(&["messages", "search"], env);
    let events = cli(&["events", "--limit", "100"], env);
    for output in [&shown, &table, &events] {
        assert!(output.status.success(), "{}", stderr(output));
        assert!(!output.stdout.contains(&0x1b), "{}", stdout(output));
        assert!(!stdout(output).contains('\u{9b}'), "{}", stdout(output));
    }
    let shown = stdout(&shown);
    assert!(
        shown.contains("MSH-10 = X\\e]0;PWNED\\x07\\e[2J\\x9b1mY"),
        "{shown}"
    );
    assert!(shown.contains("\nPID|1||X\\e]0;PWNED"), "{shown}");
}

/// A reader that closes stdout early (`ferry ... | head`) ends the command with exit 0,
/// not a panic.
fn a_closed_stdout_ends_quietly(env: &[(&str, &str)]) {
    for args in [
        &["status"][..],
        &["events", "--follow"],
        &["events", "--follow", "--json"],
    ] {
        let mut command = Command::new(ferry_binary());
        command.args(args).env_remove("FERRY_ADMIN_PASSWORD");
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());

        let deadline = Instant::now() + WAIT;
        while child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "ferry {args:?} kept running");
            std::thread::sleep(Duration::from_millis(20));
        }
        let output = child.wait_with_output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            stderr(&output)
        );
        assert_eq!(stderr(&output), "", "{args:?}");
    }
}

/// `ferry events --follow --json` prints the action another command takes.
fn follow_sees_an_action(env: &[(&str, &str)]) {
    let mut command = Command::new(ferry_binary());
    command.args(["events", "--follow", "--json", "--limit", "1"]);
    for (name, value) in env {
        command.env(name, value);
    }
    let mut follower = command.stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(follower.stdout.take().unwrap()).lines();
    let newest = json(&lines.next().unwrap().unwrap());
    assert!(newest["id"].is_u64(), "{newest}");

    ok(&["items", "disable", "In"], env);
    let seen = lines
        .map_while(Result::ok)
        .map(|line| json(&line))
        .find(|change| {
            change["event"]["text"] == "item disabled" && change["event"]["actor"] == "token"
        });
    follower.kill().unwrap();
    follower.wait().unwrap();
    assert!(seen.is_some(), "no 'item disabled' event followed");
}

fn wrong_answers(grpc: &str) {
    let env = [
        ("FERRY_ADMIN_GRPC", grpc),
        ("FERRY_ADMIN_TOKEN", TEST_TOKEN),
    ];
    let unknown = cli(&["messages", "show", "987654321"], &env);
    assert!(!unknown.status.success());
    assert_eq!(stderr(&unknown), "ferry: no message 987654321\n");

    let wrong = cli(
        &["status"],
        &[("FERRY_ADMIN_GRPC", grpc), ("FERRY_ADMIN_TOKEN", "nope")],
    );
    assert!(!wrong.status.success());
    assert!(
        stderr(&wrong).contains("refused the credentials"),
        "{}",
        stderr(&wrong)
    );

    let unknown_item = cli(&["items", "restart", "Nope"], &env);
    assert_eq!(stderr(&unknown_item), "ferry: no item named 'Nope'\n");

    let dir = tempfile::tempdir().unwrap();
    make_certificates(dir.path());
    let ca = dir.path().join("ca.pem");
    let tls = cli(&["status", "--tls-ca", ca.to_str().unwrap()], &env);
    assert_eq!(
        stderr(&tls),
        format!(
            "ferry: {grpc} does not answer with TLS: omit --tls-ca unless its admin section \
             has tls\n"
        )
    );
}

#[test]
fn a_stopped_engine_is_explained() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = free.local_addr().unwrap().to_string();
    drop(free);

    let output = cli(&["status", "--grpc", &address, "--token", "t"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        format!(
            "ferry: no Ferry admin API at {address}: is the production running with an admin \
             section?\n"
        )
    );

    let no_token = cli(&["status", "--grpc", &address], &[]);
    assert!(
        stderr(&no_token).contains("no admin token"),
        "{}",
        stderr(&no_token)
    );
}

/// Without FERRY_ADMIN_TOKEN Ferry generates a token into its store folder (owner-only,
/// never logged), and the CLI finds it there through the production file or the folder.
#[test]
fn the_generated_token_is_read_from_the_store_folder() {
    let dir = tempfile::tempdir().unwrap();
    let production = write_production(dir.path());
    let mut ferry = Ferry::start(&production, &[("DIR", dir.path())]);
    let grpc = admin_addr(&mut ferry, "admin grpc listening").to_string();

    let file = dir.path().join("data").join(ferry_admin::TOKEN_FILE);
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let token = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    assert!(token.len() >= 32);

    let dir_text = dir.path().to_str().unwrap();
    let production = production.to_str().unwrap();
    let by_production = ok(
        &[
            "status",
            "--production",
            production,
            "--grpc",
            &grpc,
            "--json",
        ],
        &[("DIR", dir_text)],
    );
    assert_eq!(json(&by_production)["name"], "admin-cli");
    let store = dir.path().join("data");
    let by_folder = ok(
        &[
            "queues",
            "--store",
            store.to_str().unwrap(),
            "--grpc",
            &grpc,
        ],
        &[],
    );
    assert!(by_folder.starts_with("ITEM"), "{by_folder}");

    assert!(
        !ferry.log_text().contains(&token),
        "the token is in the log"
    );
    ferry.stop();
}

#[test]
fn hash_password_prints_a_credentials_line() {
    let mut child = Command::new(ferry_binary())
        .args(["admin", "hash-password", "alice"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"correct horse\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let line = stdout(&output);
    assert!(line.starts_with("alice:$argon2id$"), "{line}");

    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users");
    std::fs::write(&users, &line).unwrap();
    let credentials = ferry_admin::Credentials::new("t".to_owned(), Some(&users)).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let checked = runtime.block_on(credentials.check_password("alice", "correct horse"));
    assert!(checked.is_ok());
}

/// Names the credentials file cannot hold are refused before any password is read.
#[test]
fn hash_password_refuses_unusable_names() {
    for name in ["", "a:b", "token", "#alice", "al ice", "x\u{1b}[2J"] {
        let output = Command::new(ferry_binary())
            .args(["admin", "hash-password", name])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{name:?}");
        assert!(output.stdout.is_empty(), "{name:?}");
        let said = stderr(&output);
        assert!(
            said.starts_with("ferry: the credentials file cannot hold the user name '"),
            "{said}"
        );
        assert_eq!(said.lines().count(), 1, "{said}");
        assert!(!said.contains('\u{1b}'), "{said}");
    }
}

/// Writes `ca.pem` and `server.pem`/`server.key` (for 127.0.0.1) signed by it into `dir`.
fn make_certificates(dir: &Path) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();

    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let certificate = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    std::fs::write(dir.join("server.pem"), certificate.pem()).unwrap();
    std::fs::write(dir.join("server.key"), key.serialize_pem()).unwrap();
}

/// With `admin.tls` the API speaks gRPC over TLS, and `--tls-ca` makes the CLI trust it.
#[test]
fn the_cli_speaks_tls_when_the_admin_section_does() {
    let dir = tempfile::tempdir().unwrap();
    make_certificates(dir.path());
    let production = write_production(dir.path());
    let yaml = std::fs::read_to_string(&production).unwrap().replace(
        ADMIN_SECTION,
        "admin: {http: '127.0.0.1:0', grpc: '127.0.0.1:0', \
         tls: {certificate: '${DIR}/server.pem', key: '${DIR}/server.key'}}\n",
    );
    std::fs::write(&production, yaml).unwrap();
    let ferry = AdminFerry::start(&production, &[("DIR", dir.path())]);

    let grpc = ferry.grpc.to_string();
    let ca = dir.path().join("ca.pem");
    let env = [
        ("FERRY_ADMIN_GRPC", grpc.as_str()),
        ("FERRY_ADMIN_TOKEN", TEST_TOKEN),
    ];
    let status = json(&ok(
        &["status", "--json", "--tls-ca", ca.to_str().unwrap()],
        &env,
    ));
    assert_eq!(status["name"], "admin-cli");

    let plain = cli(&["status"], &env);
    assert!(!plain.status.success(), "plain text reached a TLS listener");
    assert_eq!(
        stderr(&plain),
        format!(
            "ferry: {grpc} closed the connection without answering: if its admin API uses TLS, \
             give --tls-ca FILE\n"
        )
    );

    let other = tempfile::tempdir().unwrap();
    make_certificates(other.path());
    let stranger = other.path().join("ca.pem");
    let untrusted = cli(&["status", "--tls-ca", stranger.to_str().unwrap()], &env);
    let said = stderr(&untrusted);
    assert_eq!(untrusted.status.code(), Some(1));
    assert!(
        said.starts_with(&format!("ferry: TLS with {grpc} failed: ")),
        "{said}"
    );
    assert!(said.ends_with("; check --tls-ca\n"), "{said}");
    assert_eq!(said.lines().count(), 1, "{said}");

    a_killed_engine_ends_the_follow(ferry, &ca, &env);
}

/// `events --follow` whose engine is killed says so in one line.
fn a_killed_engine_ends_the_follow(ferry: AdminFerry, ca: &Path, env: &[(&str, &str)]) {
    let mut command = Command::new(ferry_binary());
    command.args(["events", "--follow", "--tls-ca", ca.to_str().unwrap()]);
    for (name, value) in env {
        command.env(name, value);
    }
    let mut follower = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(follower.stdout.take().unwrap()).lines();
    let heading = lines.next().unwrap().unwrap();
    assert!(heading.starts_with("ID "), "{heading}");

    let grpc = ferry.grpc;
    ferry.ferry.kill();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let output = follower.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{rest:?}");
    assert_eq!(
        stderr(&output),
        format!("ferry: the connection to {grpc} ended: Ferry stopped?\n")
    );
}
