//! The `ferry` command line: validate, exit codes, purge.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::binary::{Ferry, ferry};
use common::hl7::m;
use common::{visible_files, wait_until};
use ferry_message::{MessageId, Status};
use ferry_store::{Query, SledStore, Store, StoreConfig};

#[test]
fn every_example_production_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let folder = common::repo().join("productions");
    let mut checked = 0;
    for entry in std::fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        // The HTTP example refuses to load without its token, as it should.
        let token = std::path::Path::new("a-token-for-validate");
        let (status, stdout, stderr) = ferry(
            &["validate", path.to_str().unwrap()],
            &[("FERRY_DATA", dir.path()), ("FERRY_HTTP_TOKEN", token)],
        );
        assert!(status.success(), "{}: {stderr}", path.display());
        assert!(stdout.contains("is valid"), "{stdout}");
        checked += 1;
    }
    assert!(checked >= 1);
}

#[test]
fn an_invalid_production_reports_every_error_and_starts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.yaml");
    std::fs::write(
        &path,
        "production: broken\n\
         items:\n  \
           - name: In\n    \
             service: mllp\n    \
             targets: [Routr]\n  \
           - name: Router\n    \
             process: router\n    \
             rules:\n      \
               - when: 'MSH-9.1 == \"ADT\"'\n        \
                 send: [Out]\n  \
           - name: Out\n    \
             operation: file\n    \
             retry: { interval: 5 sec }\n    \
             settings: { path: ./out, filename: '{PID.3}' }\n",
    )
    .unwrap();

    for command in ["validate", "run"] {
        let (status, _, stderr) = ferry(&[command, path.to_str().unwrap()], &[]);
        assert_eq!(status.code(), Some(2), "{command}: {stderr}");
        let located: Vec<&str> = stderr
            .lines()
            .filter(|line| line.starts_with(path.to_str().unwrap()))
            .collect();
        assert!(
            located.len() >= 3,
            "{command}: expected several located errors:\n{stderr}"
        );
        for line in &located {
            let rest = &line[path.to_str().unwrap().len()..];
            let mut parts = rest.splitn(4, ':');
            assert_eq!(parts.next(), Some(""));
            assert!(
                parts.next().unwrap().parse::<u32>().is_ok(),
                "line number in {line}"
            );
            assert!(
                parts.next().unwrap().parse::<u32>().is_ok(),
                "column in {line}"
            );
        }
        assert!(stderr.contains("nothing started"), "{stderr}");
    }
    assert!(
        !dir.path().join("var").exists(),
        "an invalid production creates nothing"
    );
}

fn purge_production() -> String {
    common::yaml::head("purge-test", "Out, Held")
        + r#"  - name: Out
    operation: file
    settings: { path: "${DIR}/out", fsync: false }
  - name: Held
    operation: file
    retry: { interval: 20ms, failure_timeout: 100ms, on_failure: suspend }
    settings: { path: "${DIR}/held", fsync: false }
"#
}

#[test]
fn purge_removes_finished_sessions_and_keeps_held_ones() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let production = root.join("production.yaml");
    std::fs::write(&production, purge_production()).unwrap();
    let env = [("DIR", root)];

    let running = Ferry::start(&production, &env);
    for n in 1..=3 {
        common::drop_file(&root.join("in"), &format!("{n}.hl7"), &m(n));
    }
    wait_until("three delivered", Duration::from_secs(30), || {
        visible_files(&root.join("out")).len() == 3
    });
    let (status, _, stderr) = ferry(
        &["purge", production.to_str().unwrap(), "--older-than", "0s"],
        &env,
    );
    assert_eq!(
        status.code(),
        Some(3),
        "purge refuses a store in use: {stderr}"
    );
    assert!(stderr.contains("stop"), "{stderr}");
    wait_until(
        "Held delivered the first three",
        Duration::from_secs(30),
        || visible_files(&root.join("held")).len() == 3,
    );
    // Block Held: its next message is suspended, and its session must survive.
    std::fs::remove_dir_all(root.join("held")).unwrap();
    std::fs::write(root.join("held"), b"not a folder").unwrap();
    common::drop_file(&root.join("in"), "4.hl7", &m(4));
    wait_until(
        "the fourth delivered to Out",
        Duration::from_secs(30),
        || visible_files(&root.join("out")).len() == 4,
    );
    wait_until(
        "the fourth suspended on Held",
        Duration::from_secs(30),
        || {
            running
                .lines()
                .iter()
                .any(|line| line["fields"]["kind"] == "Suspended")
        },
    );
    assert!(running.stop().success());
    purge_and_check(root, &production);
}

fn purge_and_check(root: &Path, production: &Path) {
    let before = count_by_status(root);
    assert_eq!(before.suspended, 1, "the fourth message is held");

    let (status, stdout, stderr) = ferry(
        &["purge", production.to_str().unwrap(), "--older-than", "0s"],
        &[("DIR", root)],
    );
    assert!(status.success(), "{stderr}");
    assert!(stdout.contains("purged 3 sessions"), "{stdout}");

    let after = count_by_status(root);
    assert_eq!(
        after.completed, 1,
        "the held session keeps its completed half"
    );
    assert_eq!(after.suspended, 1);
    let (store, _) = SledStore::open(StoreConfig::new(root.join("data"))).unwrap();
    let held = store
        .search(&Query {
            status: Some(Status::Suspended),
            ..Query::default()
        })
        .unwrap();
    let body = store
        .body(held[0].body)
        .unwrap()
        .expect("the held body survives");
    assert_eq!(body.bytes.as_ref(), m(4).as_slice());
    assert!(
        store
            .header(MessageId(held[0].session.0))
            .unwrap()
            .is_some()
    );
}

#[derive(Debug, Default)]
struct Counts {
    completed: usize,
    suspended: usize,
}

fn count_by_status(root: &Path) -> Counts {
    let (store, _) = SledStore::open(StoreConfig::new(root.join("data"))).unwrap();
    let all = store
        .search(&Query {
            limit: 10_000,
            ..Query::default()
        })
        .unwrap();
    Counts {
        completed: all.iter().filter(|h| h.status == Status::Completed).count(),
        suspended: all.iter().filter(|h| h.status == Status::Suspended).count(),
    }
}

#[test]
fn the_productions_shown_in_the_docs_are_valid() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for doc in ["README.md", "docs/productions.md"] {
        let text = std::fs::read_to_string(common::repo().join(doc)).unwrap();
        for (n, block) in text.split("```yaml\n").skip(1).enumerate() {
            let yaml = block.split("```").next().unwrap();
            if !yaml.starts_with("production:") {
                continue;
            }
            let path = dir.path().join(format!("doc{n}.yaml"));
            std::fs::write(&path, yaml).unwrap();
            let (status, _, stderr) = ferry(&["validate", path.to_str().unwrap()], &[]);
            assert!(status.success(), "{doc}, yaml block {}: {stderr}", n + 1);
            checked += 1;
        }
    }
    assert!(
        checked >= 2,
        "expected productions in README.md and docs/productions.md"
    );
}

#[test]
fn productions_that_feed_their_own_input_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "an operation writes into the polled folder",
            "${DIR}/in",
            "${DIR}/archive",
            "data",
        ),
        (
            "the archive is the polled folder spelled another way",
            "${DIR}/out",
            "${DIR}/in/../in/",
            "data",
        ),
        (
            "the store is the polled folder",
            "${DIR}/out",
            "${DIR}/archive",
            "in",
        ),
    ];
    for (what, out, archive, store) in cases {
        let yaml = format!(
            "production: loop\n\
             store: {{ path: \"${{DIR}}/{store}\" }}\n\
             items:\n  \
               - name: In\n    \
                 service: file\n    \
                 targets: [Out]\n    \
                 settings:\n      \
                   path: \"${{DIR}}/in\"\n      \
                   archive: \"{archive}\"\n      \
                   error: \"${{DIR}}/e\"\n  \
               - name: Out\n    \
                 operation: file\n    \
                 settings: {{ path: \"{out}\" }}\n"
        );
        let path = dir.path().join("loop.yaml");
        std::fs::write(&path, yaml).unwrap();
        let (status, _, stderr) = ferry(
            &["validate", path.to_str().unwrap()],
            &[("DIR", dir.path())],
        );
        assert_eq!(status.code(), Some(2), "{what}: {stderr}");
        assert!(stderr.contains("loop.yaml:"), "{what}: {stderr}");
        assert!(stderr.contains("polls"), "{what}: {stderr}");
    }
}

#[test]
fn a_duplicate_item_still_has_its_settings_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dup.yaml");
    let yaml = "production: dup\n\
                items:\n  \
                  - name: In\n    \
                    service: file\n    \
                    targets: [Out]\n    \
                    settings: { path: ./in, archive: ./a, error: ./e }\n  \
                  - name: Out\n    \
                    operation: file\n    \
                    settings: { path: ./out }\n  \
                  - name: Out\n    \
                    operation: fil\n";
    std::fs::write(&path, yaml).unwrap();
    let (status, _, stderr) = ferry(&["validate", path.to_str().unwrap()], &[]);
    assert_eq!(status.code(), Some(2));
    assert!(stderr.contains("Out"), "{stderr}");
    assert!(stderr.contains("unknown operation kind 'fil'"), "{stderr}");
}

#[test]
fn the_store_folder_is_not_for_items() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("owned.yaml");
    let yaml = "production: owned\n\
                store: { path: ./store }\n\
                items:\n  \
                  - name: In\n    \
                    service: file\n    \
                    targets: [Out]\n    \
                    settings: { path: ./in, archive: ./store, error: ./e }\n  \
                  - name: Out\n    \
                    operation: file\n    \
                    settings: { path: ./store/out }\n";
    std::fs::write(&path, yaml).unwrap();
    let (status, _, stderr) = ferry(&["validate", path.to_str().unwrap()], &[]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.matches("inside the store folder").count(),
        2,
        "{stderr}"
    );
}

#[test]
fn every_hop_runs_in_a_span_naming_item_message_and_session() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let production = root.join("production.yaml");
    let out = "  - name: Out\n    operation: file\n    settings: { path: \"${DIR}/out\" }\n";
    std::fs::write(&production, common::yaml::head("spans", "Out") + out).unwrap();
    let trace = Path::new("info,ferry_runtime=debug,ferry_file=debug");
    let running = Ferry::start(&production, &[("DIR", root), ("RUST_LOG", trace)]);

    common::drop_file(&root.join("in"), "1.hl7", &m(1));
    wait_until(
        "a log line inside a hop span",
        Duration::from_secs(30),
        || {
            running.lines().iter().any(|line| {
                line["spans"].as_array().is_some_and(|spans| {
                    spans.iter().any(|span| {
                        span["name"] == "hop"
                            && span["item"] == "Out"
                            && span["message"].is_u64()
                            && span["session"].is_u64()
                    })
                })
            })
        },
    );
    assert!(running.stop().success());
}

#[test]
fn validate_reads_the_admin_users_file_and_refuses_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let production = dir.path().join("p.yaml");
    let users = dir.path().join("users");
    std::fs::write(
        &production,
        format!(
            "production: p\nstore: {{ path: '{}' }}\nadmin: {{http: '127.0.0.1:0', users: '{}'}}\n\
             items:\n  - name: In\n    service: file\n    targets: [Out]\n    settings: \
             {{ path: '{dir}/in', archive: '{dir}/archive', error: '{dir}/error' }}\n  \
             - name: Out\n    operation: file\n    settings: {{ path: '{dir}/out' }}\n",
            dir.path().join("data").display(),
            users.display(),
            dir = dir.path().display(),
        ),
    )
    .unwrap();
    let path = production.to_str().unwrap();

    let (status, _, stderr) = ferry(&["validate", path], &[]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot read the credentials file"),
        "{stderr}"
    );
    assert!(!stderr.contains("users:0"), "{stderr}");

    std::fs::write(&users, "alice:not-a-hash\n").unwrap();
    let (status, _, stderr) = ferry(&["run", path], &[]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("users:1: the hash is not in PHC form"),
        "{stderr}"
    );
    assert!(!dir.path().join("data").exists(), "nothing started");

    let hash = ferry_admin::hash_password("correct horse battery").unwrap();
    std::fs::write(&users, format!("alice:{hash}\n")).unwrap();
    let (status, _, stderr) = ferry(&["validate", path], &[]);
    assert!(status.success(), "{stderr}");

    // A token too short to resist guessing is refused before anything starts, too.
    let short = [("FERRY_ADMIN_TOKEN", Path::new("short123"))];
    let (status, _, stderr) = ferry(&["validate", path], &short);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("FERRY_ADMIN_TOKEN is shorter than 16"),
        "{stderr}"
    );
}
