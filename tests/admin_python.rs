//! grpcio (Python, pinned in `tests/peers/python/requirements.txt`) as a client that has
//! no copy of the `.proto`: it learns `ferry.admin.v1` through server reflection and calls
//! GetProduction on the real binary, which shows that the descriptor set Ferry serves is
//! complete (imports included) and that its answers decode in another gRPC stack.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::admin::{ADMIN_SECTION, AdminFerry, TEST_TOKEN};
use serde_json::Value;

/// The venv python with grpcio and grpcio-reflection, or `None` (after saying why) when
/// there is none outside CI; under `CI=true` a missing client fails the test.
fn python_with_grpc() -> Option<PathBuf> {
    let python = std::env::var_os("FERRY_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::repo().join("tests/peers/python/.venv/bin/python"));
    let installed = Command::new(&python)
        .args(["-c", "import grpc, grpc_reflection"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if installed {
        return Some(python);
    }
    let message = format!(
        "skipped: no python with grpcio and grpcio-reflection at {} (FERRY_TEST_PYTHON \
         names another); .ci/run installs it",
        python.display()
    );
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{message} (required under CI=true)"
    );
    eprintln!("{message}");
    None
}

#[test]
fn grpcio_calls_the_admin_api_through_reflection() {
    let Some(python) = python_with_grpc() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let production = dir.path().join("production.yaml");
    std::fs::write(
        &production,
        format!(
            "production: admin-python\n\
             store: {{ path: \"${{DIR}}/data\" }}\n\
             {ADMIN_SECTION}\
             items:\n  \
               - name: In\n    service: mllp\n    targets: [Out]\n    \
                 settings: {{ listen: \"127.0.0.1:0\" }}\n  \
               - name: Out\n    operation: file\n    \
                 settings: {{ path: \"${{DIR}}/out\" }}\n"
        ),
    )
    .unwrap();
    let ferry = AdminFerry::start(&production, &[("DIR", dir.path())]);

    let script = common::repo().join("tests/peers/python/admin_reflection.py");
    let output = Command::new(&python)
        .arg(&script)
        .arg(ferry.grpc.to_string())
        .arg(TEST_TOKEN)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the client failed: {stderr}");
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();

    let services = answer["services"].as_array().unwrap();
    assert!(
        services.contains(&Value::from("ferry.admin.v1.Admin")),
        "{services:?}"
    );
    let production = &answer["production"];
    assert_eq!(production["name"], "admin-python");
    assert!(
        production["started"].as_str().unwrap().ends_with('Z'),
        "{production}"
    );
    let items = production["items"].as_array().unwrap();
    assert_eq!(items[0]["name"], "In");
    assert_eq!(items[0]["role"], "ROLE_SERVICE");
    assert_eq!(items[1]["role"], "ROLE_OPERATION");
    assert_eq!(
        items[1]["targets"],
        Value::Null,
        "an operation has no targets"
    );
    assert_eq!(answer["wrong_token"], "UNAUTHENTICATED");
    ferry.ferry.stop();
}
