//! The file adapter as users meet it: half-written and unreadable files (B33), unusable
//! input kept with a reason, LF files (B09), charsets, and output names that never
//! overwrite and never escape their folder.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::time::Duration;

use common::hl7::{m, typed};
use common::inproc::Running;
use common::{eventually, files_in, visible_files};
use ferry_message::Status;
use ferry_store::{Query, SearchValue};

const WAIT: Duration = Duration::from_secs(30);

fn production(inbound_extra: &str, rules: &str) -> String {
    format!(
        r#"
production: file-adapter
store: {{ path: "${{DIR}}/data" }}
items:
  - name: In
    service: file
    targets: [Router]
    settings:
      path: ${{DIR}}/in
      glob: '*.hl7'
      poll_interval: 100ms
      quiet_period: 600ms
      archive: ${{DIR}}/archive
      error: ${{DIR}}/error
{inbound_extra}
  - name: Router
    process: router
    rules:
{rules}
    otherwise: {{ send: [Out] }}
  - name: Out
    operation: file
    settings: {{ path: "${{DIR}}/out", filename: '{{MSH-10}}.hl7', fsync: false }}
  - name: Special
    operation: file
    settings: {{ path: "${{DIR}}/special", filename: '{{PID-3.1}}.hl7', fsync: false }}
"#
    )
}

const NO_RULES: &str = "      - when: 'MSH-9.1 = \"ZZZ\"'\n        send: [Special]";

fn find(running: &Running, control_id: &str) -> Vec<ferry_message::Header> {
    let query = Query {
        field: Some(SearchValue {
            field: "MSH-10".to_owned(),
            value: control_id.to_owned(),
        }),
        source: Some("In".into()),
        ..Query::default()
    };
    running.store.search(&query).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b33_half_written_and_unreadable_files() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), &production("", NO_RULES)).await;
    let inbound = running.path("in");
    std::fs::create_dir_all(&inbound).unwrap();

    let slow = inbound.join("adt_0056.hl7");
    let writer = std::thread::spawn(move || {
        let mut file = std::fs::File::create(&slow).unwrap();
        let first = b"MSH|^~\\&|SENDAPP|SENDFAC|FERRY|HUB|20240101120000||ADT^A01^ADT_A01|\
                      MSG0056|P|2.5.1\rPID|1||TEST0056^^^TESTHOSP^MR||TEST^PATIENT\r";
        file.write_all(first).unwrap();
        file.flush().unwrap();
        std::thread::sleep(Duration::from_millis(300));
        file.write_all(b"PV1|1|I|WARD1^101^A\r").unwrap();
    });
    std::fs::write(inbound.join("adt_0057.hl7"), m(57)).unwrap();
    let unreadable = inbound.join("adt_0058.hl7");
    if common::running_as_root() {
        // Root reads any file whatever its mode: a link to nowhere cannot be read.
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &unreadable).unwrap();
    } else {
        std::fs::write(&unreadable, m(58)).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&unreadable, std::fs::Permissions::from_mode(0o000)).unwrap();
    }
    writer.join().unwrap();

    eventually("0056 and 0057 delivered", WAIT, || {
        visible_files(&running.path("out")).len() == 2
    })
    .await;
    let taken = find(&running, "MSG0056");
    assert_eq!(
        taken.len(),
        1,
        "exactly one message for the half-written file"
    );
    let body = running.store.body(taken[0].body).unwrap().unwrap();
    assert_eq!(
        body.bytes.iter().filter(|b| **b == b'\r').count(),
        3,
        "all three segments"
    );

    eventually("0058 moved to the error folder", WAIT, || {
        running.path("error/adt_0058.hl7.reason.txt").is_file()
    })
    .await;
    let events = running.store.events(None, 100).unwrap();
    assert!(
        events.iter().any(|e| e.event.text.contains("adt_0058.hl7")),
        "an error event"
    );

    std::fs::write(inbound.join("adt_0059.hl7"), m(59)).unwrap();
    eventually("polling goes on", WAIT, || {
        visible_files(&running.path("out")).len() == 3
    })
    .await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_input_is_kept_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), &production("", NO_RULES)).await;
    let inbound = running.path("in");

    common::drop_file(&inbound, "garbage.hl7", b"\x00\xff\xfeHELLO WORLD\r\n");
    common::drop_file(&inbound, "empty.hl7", b"");
    let mut mixed = b"FOO|lines before the first MSH\r".to_vec();
    mixed.extend_from_slice(&m(91));
    mixed.extend_from_slice(&m(92));
    common::drop_file(&inbound, "mixed.hl7", &mixed);

    eventually("the two usable messages delivered", WAIT, || {
        visible_files(&running.path("out")).len() == 2
    })
    .await;
    eventually("unusable files in error/", WAIT, || {
        running.path("error/garbage.hl7.reason.txt").is_file()
            && running.path("error/empty.hl7.reason.txt").is_file()
            && running.path("archive/mixed.hl7").is_file()
    })
    .await;
    assert!(
        running.path("archive/mixed.hl7").is_file(),
        "a file with usable messages is archived"
    );

    let errors: Vec<_> = running
        .store
        .search(&Query {
            status: Some(Status::Error),
            ..Query::default()
        })
        .unwrap();
    assert!(
        errors.len() >= 3,
        "garbage, empty and the bad piece are stored: {errors:?}"
    );
    for header in &errors {
        let reason = header.reason.clone().unwrap_or_default();
        assert!(!reason.is_empty(), "message {} has no reason", header.id);
        assert_eq!(
            header.target.as_str(),
            "In",
            "rejected input stays with its service"
        );
    }
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b09_lf_files_and_a_charset_setting() {
    let dir = tempfile::tempdir().unwrap();
    let inbound_extra = "      charset: ISO-8859-1";
    let rules = "      - when: 'PID-5.1 = \"M\u{dc}LLER\"'\n        send: [Special]";
    let running = Running::start(dir.path(), &production(inbound_extra, rules)).await;

    // B09 c: every CR of message a replaced by LF, the LF inside OBX-5 included.
    let lf = "MSH|^~\\&|SENDAPP|SENDFAC|FERRY|HUB|20240101120000||ORU^R01^ORU_R01|MSG0018|P|2.5.1\n\
              OBX|1|TX|NOTE^Note||line one\nline two||||||F\n";
    common::drop_file(&running.path("in"), "lf.hl7", lf.as_bytes());
    let latin1 = b"MSH|^~\\&|SENDAPP|SENDFAC|FERRY|HUB|20240101120000||ADT^A01^ADT_A01|\
                   MSG0036|P|2.5.1|||||DEU|\rPID|1||TEST0036^^^TESTHOSP^MR||M\xdcLLER^J\xd6RG\r";
    common::drop_file(&running.path("in"), "latin1.hl7", latin1);

    eventually("both delivered", WAIT, || {
        visible_files(&running.path("out")).len() == 1
            && visible_files(&running.path("special")).len() == 1
    })
    .await;
    let written = std::fs::read(running.path("out/MSG0018.hl7")).unwrap();
    let b09_a = "MSH|^~\\&|SENDAPP|SENDFAC|FERRY|HUB|20240101120000||ORU^R01^ORU_R01|MSG0018|P|\
                 2.5.1\rOBX|1|TX|NOTE^Note||line one\nline two||||||F\r";
    assert_eq!(
        written,
        b09_a.as_bytes(),
        "LF terminators became CR; the LF in OBX-5 stayed"
    );
    let written = std::fs::read(running.path("special/TEST0036.hl7")).unwrap();
    assert_eq!(written, latin1, "the body keeps its original bytes");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_names_never_overwrite_and_never_escape() {
    let dir = tempfile::tempdir().unwrap();
    let rules = "      - when: 'MSH-9.2 = \"A31\"'\n        send: [Special]";
    let running = Running::start(dir.path(), &production("", rules)).await;
    let inbound = running.path("in");

    common::drop_file(&inbound, "a.hl7", &typed("ADT^A01", "MSG00001"));
    common::drop_file(&inbound, "b.hl7", &typed("ADT^A08", "MSG00001"));
    common::drop_file(&inbound, "c.hl7", &typed("ADT^A08", "../../escape"));
    let no_pid_3 =
        b"MSH|^~\\&|SENDAPP|SENDFAC|FERRY|HUB|20240101120000||ADT^A31|X31|P|2.5.1\rPID|1\r";
    common::drop_file(&inbound, "d.hl7", no_pid_3);

    eventually("four files written", WAIT, || {
        visible_files(&running.path("out")).len() == 3
            && visible_files(&running.path("special")).len() == 1
    })
    .await;
    let names: Vec<String> = visible_files(&running.path("out"))
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(names.contains(&"MSG00001.hl7".to_owned()), "{names:?}");
    assert!(names.contains(&"MSG00001-1.hl7".to_owned()), "{names:?}");
    assert!(
        names
            .iter()
            .any(|n| n.contains("escape") && !n.contains('/')),
        "{names:?}"
    );
    assert!(files_in(&dir.path().join("escape")).is_empty());
    assert!(!dir.path().parent().unwrap().join("escape.hl7").exists());

    let special = running.headers_for("Special");
    let fallback = running.path(&format!("special/{}.hl7", special[0].id));
    assert!(
        fallback.is_file(),
        "an empty PID-3.1 falls back to the message id"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_cannot_be_archived_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = "  - name: Out\n    operation: file\n    settings: { path: \"${DIR}/out\" }\n";
    let yaml = common::yaml::head("no-archive", "Out") + out;
    let blocker = b"a file where the archive folder should be";
    std::fs::write(dir.path().join("archive"), blocker).unwrap();
    let running = Running::start(dir.path(), &yaml).await;

    common::drop_file(&running.path("in"), "0111.hl7", &m(111));
    eventually("delivered", WAIT, || {
        visible_files(&running.path("out")).len() == 1
    })
    .await;
    // A negative check: many polls later, the file was not stored or delivered again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        visible_files(&running.path("out")).len(),
        1,
        "delivered again"
    );
    assert_eq!(find(&running, "MSG0111").len(), 1, "stored again");
    assert!(
        running.path("in/0111.hl7").is_file(),
        "the file waits in the polled folder"
    );

    std::fs::remove_file(running.path("archive")).unwrap();
    eventually("archived once the folder works", WAIT, || {
        running.path("archive/0111.hl7").is_file()
    })
    .await;
    assert_eq!(find(&running, "MSG0111").len(), 1);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_appended_while_a_file_is_read_are_not_lost() {
    let dir = tempfile::tempdir().unwrap();
    let rest = "  - name: Router\n    process: router\n    rules:\n      \
                - when: 'MSH-10 = \"LATE\"'\n        send: [Out]\n    otherwise: discard\n  \
                - name: Out\n    operation: file\n    settings: { path: \"${DIR}/out\" }\n";
    let yaml = common::yaml::head("appended", "Router") + rest;
    let running = Running::start(dir.path(), &yaml).await;

    let big: Vec<u8> = (1..=5_000).flat_map(m).collect();
    common::drop_file(&running.path("in"), "big.hl7", &big);
    eventually("the first batch of big.hl7 stored", WAIT, || {
        !find(&running, "MSG0001").is_empty()
    })
    .await;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(running.path("in/big.hl7"))
        .unwrap();
    file.write_all(&typed("ADT^A01", "LATE")).unwrap();
    drop(file);

    eventually(
        "the appended message delivered",
        Duration::from_secs(60),
        || {
            running
                .path("out")
                .read_dir()
                .is_ok_and(|mut d| d.next().is_some())
        },
    )
    .await;
    running.stop().await;
}
