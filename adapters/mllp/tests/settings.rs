//! The MLLP adapter's settings as `ferry validate` checks them: every problem of an
//! item's settings in one run, each at its place, through the factories' `build`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ferry_adapter::{OperationFactory, ServiceFactory};
use ferry_mllp::{MllpOperationFactory, MllpServiceFactory};
use ferry_production::{Diagnostics, Role, Source, parse};

/// Every problem of every item, as `ferry validate` prints them.
fn validate(text: &str) -> String {
    let loaded = parse(Source::new("p.yaml", text), &|_| None);
    assert!(loaded.diagnostics.is_empty(), "{}", loaded.diagnostics);
    let production = loaded.production.expect("the production loads");
    let mut all = Diagnostics::new();
    for item in &production.items {
        let problems = match item.role {
            Role::Service => MllpServiceFactory.build(item).err(),
            _ => MllpOperationFactory.build(item).err(),
        };
        all.extend(problems.unwrap_or_default());
    }
    all.to_string()
}

/// An MLLP service with `service` settings sending to an MLLP operation with `operation`
/// settings.
fn relay(service: &str, operation: &str) -> String {
    format!(
        "production: p\nitems:\n  - name: In\n    service: mllp\n    targets: [Out]\n    \
         settings: {service}\n  - name: Out\n    operation: mllp\n    settings: {operation}\n"
    )
}

#[test]
fn good_settings_build() {
    let text = relay(
        "{ listen: '127.0.0.1:0', ack_mode: msh, response_from: Out, application_ack_to: Out, \
         max_message: 8MiB, charset: 8859/1, duplicates: discard, \
         tls: { certificate: c.pem, key: k.pem, client_ca: ca.pem } }",
        "{ address: 'lab.example.org:2576', reply_actions: { AE: retry, timeout: error }, \
         tls: { ca: ca.pem, certificate: c.pem, key: k.pem } }",
    );
    assert_eq!(validate(&text), "");
}

#[test]
fn every_problem_of_both_sides_is_reported_in_one_run() {
    let text = relay(
        "{ listen: 'nowhere', ack_mode: sometimes, max_message: 0, nak_code: AA, \
         invalid_charset: guess, duplicates: maybe, idle_timeout: 10, tls: { key: k.pem } }",
        "{ addres: 'x:1', reply_actions: { AB: retry, AE: later }, max_message: 64 parsecs, \
         tls: { certificate: c.pem } }",
    );
    let report = validate(&text);
    for expected in [
        "bad address 'nowhere'",
        "unknown ack_mode 'sometimes'",
        "max_message must be above 0",
        "nak_code must be AE or AR, not 'AA'",
        "unknown invalid_charset 'guess'",
        "unknown duplicates 'maybe'",
        "bad duration '10'",
        "a listening `tls` needs `certificate` and `key`",
        "`address` is required",
        "unknown key `addres` in `settings`",
        "unknown reply kind `AB` in `reply_actions`",
        "unknown action 'later' for AE",
        "bad size '64 parsecs'",
        "`tls.certificate` and `tls.key` go together",
        "`tls` needs `ca`",
    ] {
        assert!(
            report.contains(expected),
            "missing {expected:?} in:\n{report}"
        );
    }
    for line in report.lines().filter(|line| !line.starts_with(' ')) {
        assert!(line.starts_with("p.yaml:"), "located: {line}");
    }
}

#[test]
fn modes_that_need_an_operation_say_so() {
    let application = validate(&relay(
        "{ listen: '127.0.0.1:0', ack_mode: application }",
        "{ address: 'h:1' }",
    ));
    assert!(
        application.contains("ack_mode application needs `response_from`"),
        "{application}"
    );

    let stray = relay(
        "{ listen: '127.0.0.1:0', application_ack_to: Out }",
        "{ address: 'h:1' }",
    );
    let report = validate(&stray);
    assert!(
        report.contains("only used with `ack_mode: msh`"),
        "{report}"
    );
}
