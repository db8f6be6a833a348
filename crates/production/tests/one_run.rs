//! Problems that once hid others or pointed at the wrong place: a repeated item name, a
//! repeated search field, `${…}` in a flow mapping, errors inside multi-line `when:`
//! conditions, and files too large to read.

mod common;

use common::{BASE, load, problem, problems};

#[test]
fn a_repeated_item_name_hides_none_of_its_other_problems() {
    let text = format!("{BASE}  - name: Out\n    service: fil\n    targets: [Nope]\n");
    assert_eq!(
        problems(&text),
        [
            "p.yaml:8:11: item name `Out` is used at lines 6 and 8\n  \
             hint: item names must be unique",
            "p.yaml:10:15: unknown target `Nope`",
        ]
    );
    let production = load(&text).production.unwrap();
    let kinds: Vec<&str> = production
        .items
        .iter()
        .map(|item| item.kind.as_str())
        .collect();
    assert_eq!(kinds, ["file", "file"], "the second `Out` is left out");
    let rejected: Vec<(&str, &str)> = production
        .rejected
        .iter()
        .map(|item| (item.name.as_str(), item.kind.as_str()))
        .collect();
    assert_eq!(
        rejected,
        [("Out", "fil")],
        "kept aside for its adapter's checks"
    );
}

#[test]
fn an_item_with_problems_of_its_own_still_has_its_references_checked() {
    let text = "production: p
items:
  - name: R
    process: router
    pool: 0
    rules:
      - send: [Nowhere]
  - name: Loop
    process: router
    queue_limit: 0
    otherwise: { send: [Loop] }
";
    assert_eq!(
        problems(text),
        [
            "p.yaml:5:11: `pool` must be from 1 to 64, found 0\n  \
             hint: the number of workers; 1 keeps messages in strict order",
            "p.yaml:7:16: unknown target `Nowhere`",
            "p.yaml:10:18: `queue_limit` must be at least 1, found 0",
            "p.yaml:11:25: routing cycle: `Loop` → `Loop`\n  hint: a message would circle \
             between these processes forever; end the route at an operation",
        ]
    );
    let production = load(text).production.unwrap();
    assert!(production.items.is_empty());
    assert_eq!(production.rejected.len(), 2);
}

#[test]
fn a_repeated_search_field_names_both() {
    let text = BASE.replace(
        "items:",
        "store:\n  search_fields: [MSH-10, PID-3, MSH-10, 'PID[1]-3']\nitems:",
    );
    assert_eq!(
        problems(&text),
        [
            "p.yaml:3:34: duplicate search field `MSH-10` at 3:19 and 3:34\n  \
             hint: keep one of them; each field is indexed once",
            "p.yaml:3:42: duplicate search field `PID[1]-3`: the same field as `PID-3` at \
             3:27\n  hint: keep one of them; each field is indexed once",
        ]
    );
    let production = load(&text).production.unwrap();
    assert_eq!(production.store.search_fields.len(), 2);
}

#[test]
fn a_reference_in_a_flow_mapping_gets_a_quoting_hint() {
    let text = format!("{BASE}    settings: {{ path: ${{OUT}}/x, fsync: false }}\n");
    assert_eq!(
        problem(&text),
        "p.yaml:8:24: invalid YAML: while parsing a flow mapping, did not find expected ',' or \
         '}'\n  hint: in a { … } mapping, quote a value that uses ${…}: path: '${OUT}/x'"
    );
    let quoted = text.replace("${OUT}/x", "'${OUT}/x'");
    let loaded = ferry_production::parse(ferry_production::Source::new("p.yaml", quoted), &|_| {
        Some("/data".to_owned())
    });
    assert!(loaded.diagnostics.is_empty(), "{}", loaded.diagnostics);
}

/// A router whose one rule has the condition `when`, written as given.
fn router_with(when: &str) -> String {
    format!(
        "production: p\nitems:\n  - name: R\n    process: router\n    rules:\n      \
         - when: {when}\n        send: [Out]\n  - name: Out\n    operation: file\n"
    )
}

/// Where the one problem of a router with the condition `when` is.
fn when_error_at(when: &str) -> String {
    let found = problem(&router_with(when));
    let (at, _) = found.split_once(": bad `when`").expect("a `when` error");
    at.to_owned()
}

#[test]
fn errors_in_multi_line_conditions_point_at_the_token() {
    let folded = ">-\n          MSH-9.1 = \"ADT\"\n          and MSH-9.2 == \"A01\"";
    assert_eq!(when_error_at(folded), "p.yaml:8:23");
    let literal = "|\n          MSH-9.1 = \"ADT\"\n\n          or = \"A01\"";
    assert_eq!(when_error_at(literal), "p.yaml:9:14");
    let kept = "|+2\n            MSH-9.1 = \"ADT\"\n            and ==";
    assert_eq!(when_error_at(kept), "p.yaml:8:17");
    let double = "\"MSH-9.1 = \\\"ADT\\\" and\n          MSH-9.2 == \\\"A01\\\"\"";
    assert_eq!(when_error_at(double), "p.yaml:7:19");
    let single = "'MSH-9.1 = \"ADT\" and\n          MSH-9.2 == ''x'''";
    assert_eq!(when_error_at(single), "p.yaml:7:19");
    let plain = "MSH-9.1 = \"ADT\" and\n          MSH-9.2 == \"A01\"";
    assert_eq!(when_error_at(plain), "p.yaml:7:19");
}

#[test]
fn a_file_too_large_is_one_error_in_words() {
    let numbers = vec!["1"; 250_001].join(", ");
    let text = format!("{BASE}    settings: {{ path: ./out, list: [{numbers}] }}\n");
    let loaded = load(&text);
    assert!(loaded.production.is_none());
    let found = common::shown(&loaded);
    assert_eq!(found.len(), 1, "{found:?}");
    let (at, message) = found[0].split_once(": ").unwrap();
    assert!(at.starts_with("p.yaml:8:"), "{at}");
    assert!(
        message.starts_with("the production file is too large: more than 250000 values"),
        "{message}"
    );
}

#[test]
fn many_aliases_of_one_anchor_are_fine_but_an_alias_bomb_is_not() {
    let mut text = BASE.replace(
        "    operation: file\n",
        "    operation: file\n    settings: &out { path: ./out }\n",
    );
    for n in 0..150 {
        text.push_str(&format!(
            "  - name: Out {n}\n    operation: file\n    settings: *out\n"
        ));
    }
    let loaded = load(&text);
    assert!(loaded.diagnostics.is_empty(), "{}", loaded.diagnostics);
    assert_eq!(loaded.production.unwrap().items.len(), 152);

    let mut bomb = String::from("production: p\ndescription: &a0 [x, x, x, x, x, x, x, x]\n");
    for level in 1..8 {
        let row = vec![format!("*a{}", level - 1); 8].join(", ");
        bomb.push_str(&format!("a{level}: &a{level} [{row}]\n"));
    }
    bomb.push_str("items: []\n");
    let found = problems(&bomb);
    let too_large: Vec<&String> = found
        .iter()
        .filter(|shown| shown.contains("too large or too complex"))
        .collect();
    assert_eq!(too_large.len(), 1, "{found:#?}");
    assert!(too_large[0].contains("counting each use of an alias"));
    assert!(!too_large[0].contains("Nodes"), "no Debug text");
}
