//! A complete production loads with every value and default in place.

use std::path::PathBuf;
use std::time::Duration;

use ferry_production::{
    DurabilitySetting, FailureAction, Location, Otherwise, Role, RuleAction, Source, parse,
};

const FILE_ROUTER: &str = r#"production: file-router
description: HL7 files routed by type
store:
  path: ${FERRY_DATA:-./var/file-router}
  durability: os
  retention: 30d
  purge_every: 1h
  duplicate_window: 24h
  search_fields: [MSH-10, PID-3.1]
  cache_mb: 64
items:
  - name: HL7 files in
    service: file
    enabled: true
    targets: [Router]
    settings: { path: ./var/in }
  - name: Router
    process: router
    pool: 1
    queue_limit: 10000
    rules:
      - name: ADT
        when: 'MSH-9.1 = "ADT"'
        send: [ADT out]
        continue: true
      - when: 'MSH-9.1 = "ZZZ"'
        discard: true
      - send: Other out
    otherwise: { send: [Other out] }
  - name: ADT out
    operation: file
    pool: 4
    retry:
      interval: 500ms
      backoff: 1.5
      max_interval: 1m30s
      failure_timeout: 10m
      on_failure: suspend
    settings: { path: ./var/out/adt, filename: '{MSH-10}.hl7' }
  - name: Other out
    operation: file
    enabled: false
"#;

#[test]
fn the_documented_production_loads_with_its_values() {
    let loaded = parse(Source::new("file-router.yaml", FILE_ROUTER), &|_| None);
    assert!(loaded.diagnostics.is_empty(), "{}", loaded.diagnostics);
    let production = loaded.production.unwrap();

    assert_eq!(production.name, "file-router");
    assert_eq!(
        production.description.as_deref(),
        Some("HL7 files routed by type")
    );
    let store = &production.store;
    assert_eq!(store.path, PathBuf::from("./var/file-router"));
    assert_eq!(store.durability, DurabilitySetting::Os);
    assert_eq!(store.retention, Some(Duration::from_secs(30 * 86_400)));
    assert_eq!(store.purge_every, Duration::from_secs(3_600));
    assert_eq!(store.duplicate_window, Duration::from_secs(86_400));
    assert_eq!(store.search_fields.len(), 2);
    assert_eq!(store.cache_mb, 64);

    let names: Vec<&str> = production
        .items
        .iter()
        .map(|item| item.name.as_str())
        .collect();
    assert_eq!(names, ["HL7 files in", "Router", "ADT out", "Other out"]);
}

#[test]
fn items_carry_roles_targets_and_defaults() {
    let production = parse(Source::new("f.yaml", FILE_ROUTER), &|_| None)
        .production
        .unwrap();
    let input = production.item("HL7 files in").unwrap();
    assert_eq!((input.role, input.kind.as_str()), (Role::Service, "file"));
    assert_eq!(input.targets, ["Router".into()]);
    assert_eq!(input.at, Location::new(12, 5));
    assert_eq!(input.settings_location(), Location::new(16, 15));

    let out = production.item("ADT out").unwrap();
    assert_eq!(
        (out.role, out.pool, out.queue_limit),
        (Role::Operation, 4, 10_000)
    );
    assert_eq!(out.retry.interval, Duration::from_millis(500));
    assert_eq!(out.retry.backoff, 1.5);
    assert_eq!(out.retry.max_interval, Duration::from_secs(90));
    assert_eq!(out.retry.failure_timeout, Some(Duration::from_secs(600)));
    assert_eq!(out.retry.on_failure, FailureAction::Suspend);

    let other = production.item("Other out").unwrap();
    assert!(!other.enabled);
    assert_eq!(other.retry.on_failure, FailureAction::Error);
    assert_eq!(other.retry.failure_timeout, None);
}

#[test]
fn a_router_keeps_its_rules_in_order() {
    let production = parse(Source::new("f.yaml", FILE_ROUTER), &|_| None)
        .production
        .unwrap();
    let router = production.item("Router").unwrap().router.as_ref().unwrap();
    assert_eq!(router.rules.len(), 3);
    assert_eq!(router.rules[0].name.as_deref(), Some("ADT"));
    assert_eq!(
        router.rules[0].action,
        RuleAction::Send(vec!["ADT out".into()])
    );
    assert!(router.rules[0].continue_after);
    assert_eq!(router.rules[1].action, RuleAction::Discard);
    assert!(!router.rules[1].continue_after);
    assert_eq!(
        router.rules[2].action,
        RuleAction::Send(vec!["Other out".into()])
    );
    assert_eq!(router.otherwise, Otherwise::Send(vec!["Other out".into()]));
}

#[test]
fn a_minimal_production_gets_every_default() {
    let text = "production: tiny\nitems:\n  - name: Out\n    operation: file\n";
    let loaded = parse(Source::new("tiny.yaml", text), &|_| None);
    assert!(loaded.diagnostics.is_empty(), "{}", loaded.diagnostics);
    let production = loaded.production.unwrap();
    assert_eq!(production.store.path, PathBuf::from("./var/tiny"));
    assert_eq!(production.store.durability, DurabilitySetting::Fsync);
    assert_eq!(production.store.retention, None);
    assert_eq!(production.store.cache_mb, 128);
    assert_eq!(production.store.search_fields.len(), 2);
    let out = &production.items[0];
    assert_eq!((out.pool, out.queue_limit, out.enabled), (1, 10_000, true));
    assert_eq!(out.retry, ferry_production::RetryPolicy::default());
    assert!(out.router.is_none());
}

#[test]
fn a_production_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<ferry_production::Production>();
    shareable::<ferry_production::Item>();
    shareable::<ferry_production::Diagnostics>();
}
