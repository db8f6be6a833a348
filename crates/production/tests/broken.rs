//! Broken productions: each problem is reported at its exact `file:line:col` with a
//! readable reason, and the loader never gives up earlier than it must.

mod common;

use common::{BASE, load, problem, problems};
use ferry_production::{Location, Source, load as load_file, parse};

#[test]
fn an_unknown_top_level_key_suggests_the_right_one() {
    let text = BASE.replace("items:", "stroe: { path: ./x }\nitems:");
    assert_eq!(
        problem(&text),
        "p.yaml:2:1: unknown key `stroe` at the top level\n  hint: did you mean `store`?"
    );
}

#[test]
fn an_unknown_item_key_suggests_the_right_one() {
    let text = format!("{BASE}    polo: 2\n");
    assert_eq!(
        problem(&text),
        "p.yaml:8:5: unknown key `polo` in item `Out`\n  hint: did you mean `pool`?"
    );
}

#[test]
fn an_unknown_target_suggests_the_closest_name() {
    let text = BASE.replace("targets: [Out]", "targets: [Archive, Ot]");
    let found = problems(&text);
    assert_eq!(
        found,
        [
            "p.yaml:5:15: unknown target `Archive`",
            "p.yaml:5:24: unknown target `Ot`\n  hint: did you mean `Out`?",
        ]
    );
    let production = load(&text).production.unwrap();
    assert!(
        production.item("In").is_none(),
        "an item with a bad target is left out"
    );
    assert!(production.item("Out").is_some());
}

#[test]
fn a_service_cannot_be_a_target() {
    let text = format!("{BASE}  - name: Relay\n    service: mllp\n    targets: [In]\n");
    assert_eq!(
        problem(&text),
        "p.yaml:10:15: `In` is a service and cannot receive messages\n  \
         hint: send to a process or an operation"
    );
}

#[test]
fn a_duplicate_item_name_names_both_lines() {
    let text = format!("{BASE}  - name: Out\n    operation: http\n");
    assert_eq!(
        problem(&text),
        "p.yaml:8:11: item name `Out` is used at lines 6 and 8\n  hint: item names must be unique"
    );
    let production = load(&text).production.unwrap();
    let kinds: Vec<&str> = production
        .items
        .iter()
        .map(|item| item.kind.as_str())
        .collect();
    assert_eq!(kinds, ["file", "file"], "the second `Out` is left out");
}

#[test]
fn an_item_needs_a_role() {
    let text = BASE.replace("    operation: file\n", "    pool: 2\n");
    assert_eq!(
        problems(&text),
        [
            "p.yaml:6:5: an item needs one of `service:`, `process:` or `operation:`\n  \
             hint: e.g. service: file, process: router or operation: file"
        ]
    );
}

#[test]
fn an_item_has_only_one_role() {
    let text = format!("{BASE}    process: router\n");
    assert_eq!(
        problem(&text),
        "p.yaml:8:5: an item cannot have both `operation:` and `process:`\n  \
         hint: an item is exactly one of service, process and operation"
    );
}

#[test]
fn a_bad_duration_says_what_was_expected() {
    let text = format!("{BASE}    retry:\n      interval: 5 sec\n");
    assert_eq!(
        problem(&text),
        "p.yaml:9:17: bad duration '5 sec': expected a number and a unit, e.g. 500ms, 5s, 1m, \
         2h, 7d"
    );
}

#[test]
fn a_bare_number_is_not_a_duration() {
    let text = format!("{BASE}store:\n  retention: 30\n");
    assert_eq!(
        problem(&text),
        "p.yaml:9:14: bad duration '30': expected a number and a unit, e.g. 500ms, 5s, 1m, 2h, \
         7d\n  hint: add a unit: 30s for seconds, 30ms for milliseconds"
    );
}

#[test]
fn a_bad_when_points_inside_the_expression() {
    let text = "production: p
items:
  - name: Router
    process: router
    rules:
      - when: 'MSH-9.1 = = \"ADT\"'
        send: [Out]
      - when: MSH-9.1 ==
        discard: true
  - name: Out
    operation: file
";
    let found = problems(text);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].starts_with("p.yaml:6:26: bad `when`: "),
        "{}",
        found[0]
    );
    assert!(
        found[1].starts_with("p.yaml:8:23: bad `when`: "),
        "{}",
        found[1]
    );
}

#[test]
fn an_unset_variable_is_named_at_its_position() {
    let text = BASE.replace("items:", "store:\n  path: /data/${FERRY_DATA}/p\nitems:");
    assert_eq!(
        problem(&text),
        "p.yaml:3:15: environment variable `FERRY_DATA` is not set\n  \
         hint: set it, or give a default: ${FERRY_DATA:-value}"
    );
}

#[test]
fn a_tab_in_indentation_is_named() {
    let text = BASE.replace("    operation: file", "\toperation: file");
    let loaded = load(&text);
    assert!(loaded.production.is_none());
    assert_eq!(
        common::shown(&loaded),
        ["p.yaml:7:1: tab character in indentation\n  \
          hint: YAML indents with spaces only; replace the tab with spaces"]
    );
}

#[test]
fn a_duplicate_key_names_both_lines() {
    let text = format!("{BASE}    pool: 1\n    pool: 4\n");
    assert_eq!(
        problem(&text),
        "p.yaml:9:5: duplicate key `pool` at lines 8 and 9\n  \
         hint: keep one of them: YAML keys must be unique within a mapping"
    );
}

#[test]
fn yes_is_not_a_boolean() {
    let text = format!("{BASE}    enabled: yes\n");
    assert_eq!(
        problem(&text),
        "p.yaml:8:14: expected true or false, found `yes`\n  \
         hint: write true: YAML 1.2 booleans are only true and false"
    );
}

#[test]
fn a_leading_zero_is_ambiguous() {
    let text = format!("{BASE}    queue_limit: 010\n");
    assert_eq!(
        problem(&text),
        "p.yaml:8:18: ambiguous number `010`: YAML 1.1 reads a leading zero as octal (8), \
         YAML 1.2 as decimal (10)\n  hint: write 10 for decimal, or 0o10 for octal"
    );
}

#[test]
fn routers_must_not_form_a_cycle() {
    let text = "production: p
items:
  - name: In
    service: file
    targets: [A]
  - name: A
    process: router
    rules:
      - send: [B]
  - name: B
    process: router
    otherwise: { send: [A] }
";
    assert_eq!(
        problem(text),
        "p.yaml:12:25: routing cycle: `A` → `B` → `A`\n  hint: a message would circle \
         between these processes forever; end the route at an operation"
    );
}

#[test]
fn a_router_sending_to_itself_is_a_cycle() {
    let text =
        "production: p\nitems:\n  - name: A\n    process: router\n    otherwise: { send: A }\n";
    assert!(problem(text).starts_with("p.yaml:5:24: routing cycle: `A` → `A`"));
}

#[test]
fn an_empty_send_is_refused() {
    let text = "production: p
items:
  - name: Router
    process: router
    rules:
      - send: []
";
    assert_eq!(
        problem(text),
        "p.yaml:6:15: `send` is empty\n  hint: name at least one item, or write `discard: true`"
    );
}

#[test]
fn a_bad_search_field_points_into_the_path() {
    let text = BASE.replace(
        "items:",
        "store:\n  search_fields: [MSH-10, 'PID3.1']\nitems:",
    );
    let found = problem(&text);
    assert!(
        found.starts_with("p.yaml:3:31: bad search field `PID3.1`: "),
        "{found}"
    );
    assert!(found.ends_with("hint: an HL7 field path such as MSH-10, PID-3.1 or OBX[2]-5"));
}

#[test]
fn a_production_name_must_work_as_a_folder_name() {
    let text = BASE.replace("production: p", "production: adt/hub");
    assert!(problem(&text).starts_with(
        "p.yaml:1:13: production name `adt/hub` cannot be used as a folder name: it contains a \
         path separator"
    ));
}

#[test]
fn role_specific_keys_are_refused_elsewhere() {
    let text = "production: p
items:
  - name: In
    service: file
    targets: [Out]
    pool: 2
    retry: { interval: 1s }
  - name: Out
    operation: file
    targets: [In]
    rules: []
  - name: R
    process: routr
";
    assert_eq!(
        problems(text),
        [
            "p.yaml:6:11: `pool` applies to processes and operations only",
            "p.yaml:7:12: `retry` applies to operations only",
            "p.yaml:10:14: an operation has no `targets:`; it delivers outside Ferry",
            "p.yaml:11:12: only a router has `rules`",
            "p.yaml:13:14: unknown process kind `routr`\n  hint: the only process kind is `router`",
        ]
    );
}

#[test]
fn ranges_and_rule_actions_are_checked() {
    let text = "production: p
items:
  - name: R
    process: router
    pool: 65
    queue_limit: 0
    rules:
      - send: [Out]
        discard: true
      - name: nothing
    otherwise: drop
  - name: Out
    operation: file
    retry: { backoff: 0.5, interval: 10s, max_interval: 1s, on_failure: suspnd }
";
    assert_eq!(
        problems(text),
        [
            "p.yaml:5:11: `pool` must be from 1 to 64, found 65\n  \
             hint: the number of workers; 1 keeps messages in strict order",
            "p.yaml:6:18: `queue_limit` must be at least 1, found 0",
            "p.yaml:9:18: a rule has either `send` or `discard: true`, not both",
            "p.yaml:10:9: a rule needs `send: [...]` or `discard: true`",
            "p.yaml:11:16: unknown `otherwise: drop`\n  \
             hint: write `otherwise: discard` or `otherwise: { send: [ITEM] }`",
            "p.yaml:14:23: `backoff` must be a number of at least 1.0, found 0.5\n  \
             hint: each wait is the previous one times this; 1.0 keeps the interval fixed",
            "p.yaml:14:57: `max_interval` is shorter than `interval`\n  \
             hint: the longest wait cannot be shorter than the first",
            "p.yaml:14:73: unknown `on_failure: suspnd`\n  hint: did you mean `suspend`?",
        ]
    );
}

#[test]
fn every_problem_of_a_file_is_reported_in_one_run() {
    let text = "production: p
stroe: {}
items:
  - name: In
    service: file
    targets: [Routr]
  - name: Router
    process: router
    rules:
      - when: 'MSH-9.1 = '
        send: [Out]
  - name: Out
    operation: file
    pool: 0
    retry: { interval: soon }
    enabled: yes
  - name: Archive
    operation: file
    queue_limit: 0
";
    let loaded = load(text);
    let found = common::shown(&loaded);
    let positions: Vec<&str> = found
        .iter()
        .map(|shown| shown.split(": ").next().unwrap_or_default())
        .collect();
    assert_eq!(
        positions,
        [
            "p.yaml:2:1",
            "p.yaml:6:15",
            "p.yaml:10:26",
            "p.yaml:16:14",
            "p.yaml:19:18"
        ],
        "{found:#?}"
    );
    let production = loaded.production.unwrap();
    assert!(production.items.is_empty(), "every item has a problem");
}

#[test]
fn a_wrong_type_stops_only_its_own_item() {
    let text = format!("{BASE}    pool: [1]\n  - name: Other\n    operation: file\n    pool: 99\n");
    assert_eq!(
        problems(&text),
        [
            "p.yaml:8:11: expected a single value, not a list or mapping",
            "p.yaml:11:11: `pool` must be from 1 to 64, found 99\n  \
             hint: the number of workers; 1 keeps messages in strict order",
        ]
    );
}

#[test]
fn files_that_are_not_productions_are_refused() {
    let cases = [
        ("", "p.yaml:1:1: the file is empty"),
        ("- a\n- b\n", "p.yaml:1:1: a production file is a mapping"),
        ("production: p\nitems: [\n", "p.yaml:2:8: invalid YAML: "),
        (
            "production: p\n---\nitems: []\n",
            "p.yaml:2:1: a second YAML document",
        ),
        ("production: p\n", "p.yaml:1:1: missing `items:`"),
        ("items: []\n", "p.yaml:1:1: missing `production:`"),
        (
            "production: p\nitems:\n  - In\n",
            "p.yaml:3:5: an item is a mapping",
        ),
        (
            "production: p\nitems: 3\n",
            "p.yaml:2:8: `items` must be a list of items",
        ),
    ];
    for (text, expected) in cases {
        let found = problem(text);
        assert!(found.starts_with(expected), "{text:?}: {found}");
    }
}

#[test]
fn an_unreadable_file_names_the_path_and_the_reason() {
    let folder = tempfile::tempdir().unwrap();
    let missing = folder.path().join("missing.yaml");
    let loaded = load_file(&missing, &|_| None);
    assert!(loaded.production.is_none());
    let shown = loaded.diagnostics.to_string();
    let expected = format!("{}: cannot read the production file: ", missing.display());
    assert!(shown.starts_with(&expected), "{shown}");
    assert!(shown.contains("os error"), "{shown}");
}

#[test]
fn a_file_that_is_not_utf8_is_refused_at_the_bad_byte() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("latin1.yaml");
    std::fs::write(&path, b"production: p\nitems:\n  - name: M\xfcller\n").unwrap();
    let loaded = load_file(&path, &|_| None);
    let diagnostic = loaded.diagnostics.iter().next().unwrap();
    assert_eq!(diagnostic.at, Location::new(3, 12));
    assert_eq!(diagnostic.message, "the production file is not UTF-8 text");
}

#[test]
fn a_file_on_disk_loads_under_its_path() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("p.yaml");
    std::fs::write(&path, BASE).unwrap();
    let loaded = load_file(&path, &|_| None);
    assert!(loaded.diagnostics.is_empty(), "{}", loaded.diagnostics);
    let production = loaded.production.unwrap();
    assert_eq!(production.source.name, path.display().to_string());
    assert_eq!(production.items.len(), 2);
}

#[test]
fn positions_count_characters_not_bytes() {
    let text = "production: p\nitems:\n  - name: Zürich\n    service: file\n    targets: [Zürih]\n";
    let loaded = parse(Source::new("ü.yaml", text), &|_| None);
    let diagnostic = loaded.diagnostics.iter().next().unwrap();
    assert_eq!(diagnostic.at, Location::new(5, 15));
}
