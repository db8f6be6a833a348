//! Adapter settings read key by key through `Item::settings_reader`: every problem of an
//! item's settings in one run, each at its position, with the same YAML rules as the rest
//! of the file.

mod common;

use std::time::Duration;

use ferry_production::{
    Diagnostics, DurationSetting, FileMode, Item, Location, Production, Setting, Source, parse,
};

const KEYS: &[&str] = &[
    "folder", "timeout", "mode", "tls", "retries", "label", "headers",
];

/// What an adapter would build from its settings.
#[derive(Debug, PartialEq)]
struct Built {
    folder: String,
    timeout: Duration,
    tls: bool,
}

/// An adapter's reading: `folder` is required, the rest optional; its own check refuses a
/// timeout of zero.
fn build(item: &Item) -> Result<Built, Diagnostics> {
    let mut reader = item.settings_reader(KEYS);
    let folder = reader.required::<Setting<String>>("folder");
    let timeout = reader.optional::<DurationSetting>("timeout");
    let _mode = reader.optional::<FileMode>("mode");
    let tls = reader.optional::<bool>("tls");
    let _retries = reader.optional::<u8>("retries");
    let _label = reader.optional::<Setting<String>>("label");

    if let Some(timeout) = &timeout
        && timeout.duration().is_zero()
    {
        let diagnostic = item.diagnostic(timeout.at, "`timeout` must be longer than 0");
        reader.push(diagnostic.with_hint("e.g. timeout: 5s"));
    }
    let built = folder.map(|folder| Built {
        folder: folder.value,
        timeout: timeout.map_or(Duration::from_secs(30), |timeout| timeout.duration()),
        tls: tls.unwrap_or(false),
    });
    reader.finish(built)
}

fn production(text: &str) -> Production {
    let loaded = common::load(text);
    assert!(loaded.diagnostics.is_empty(), "{}", loaded.diagnostics);
    loaded.production.expect("the production loads")
}

/// One operation named `Out` with these settings lines.
fn item_with(settings: &str) -> Item {
    let text = format!("production: p\nitems:\n  - name: Out\n    operation: x\n{settings}");
    production(&text).items.remove(0)
}

fn problems(item: &Item) -> Vec<String> {
    let problems = build(item).expect_err("the settings are refused");
    problems.sorted().iter().map(|d| d.to_string()).collect()
}

#[test]
fn every_problem_of_the_settings_is_reported_at_once() {
    let item = item_with(
        "    settings:\n      foldr: ./in\n      timeout: 0s\n      mode: 0640\n      \
         tls: yes\n      retries: 300\n      colour: red\n",
    );
    assert_eq!(
        problems(&item),
        [
            "p.yaml:6:7: unknown key `foldr` in `settings`\n  hint: did you mean `folder`?",
            "p.yaml:6:7: `folder` is required",
            "p.yaml:7:16: `timeout` must be longer than 0\n  hint: e.g. timeout: 5s",
            "p.yaml:8:13: a file mode must be a quoted octal string, e.g. '0640'\n  \
             hint: write mode: '0640'; unquoted, YAML 1.1 reads 0640 as octal 416 and YAML \
             1.2 as decimal 640",
            "p.yaml:9:12: expected true or false, found `yes`\n  \
             hint: write true: YAML 1.2 booleans are only true and false",
            "p.yaml:10:16: expected a whole number from 0 to 255, found `300`",
            "p.yaml:11:7: unknown key `colour` in `settings`\n  \
             hint: expected one of: folder, timeout, mode, tls, retries, label, headers",
        ]
    );
}

#[test]
fn good_settings_are_built_with_positions_in_block_and_flow_style() {
    let block = item_with("    settings:\n      folder: ./in\n      timeout: 1m30s\n");
    let flow = item_with("    settings: { folder: ./in, timeout: 1m30s, tls: true }\n");
    assert_eq!(
        build(&block).unwrap(),
        Built {
            folder: "./in".to_owned(),
            timeout: Duration::from_secs(90),
            tls: false,
        }
    );
    assert!(build(&flow).unwrap().tls);

    let mut reader = block.settings_reader(KEYS);
    let folder: Setting<String> = reader.required("folder").unwrap();
    let timeout: DurationSetting = reader.optional("timeout").unwrap();
    assert_eq!(
        (folder.at, timeout.at),
        (Location::new(6, 15), Location::new(7, 16))
    );
    let mut reader = flow.settings_reader(KEYS);
    let folder: Setting<String> = reader.required("folder").unwrap();
    assert_eq!(folder.at, Location::new(5, 25));
    assert!(reader.finish(Some(())).is_ok());
}

#[test]
fn text_stays_as_written_and_references_are_interpolated() {
    let text = "production: p\nitems:\n  - name: Out\n    operation: x\n    settings:\n      \
                folder: ${DIR}/out\n      label: NO\n      headers: { X-Batch: 0012, \
                X-Version: 2.10, X-Flag: on }\n";
    let loaded = parse(Source::new("p.yaml", text), &|name| {
        (name == "DIR").then(|| "/data: #1".to_owned())
    });
    let item = &loaded.production.unwrap().items[0];
    let mut reader = item.settings_reader(KEYS);
    let folder: Setting<String> = reader.required("folder").unwrap();
    let label: String = reader.optional("label").unwrap();
    let headers: std::collections::BTreeMap<String, String> = reader.optional("headers").unwrap();
    assert_eq!(folder.value, "/data: #1/out");
    assert_eq!(label, "NO");
    assert_eq!(
        headers.values().collect::<Vec<_>>(),
        ["0012", "on", "2.10"],
        "sorted by key: X-Batch, X-Flag, X-Version"
    );
    assert!(reader.finish(Some(())).is_ok());
}

#[test]
fn null_is_absent_for_an_optional_setting_and_wrong_for_a_required_one() {
    let item = item_with("    settings:\n      folder:\n      timeout: ~\n");
    let mut reader = item.settings_reader(KEYS);
    assert!(reader.optional::<DurationSetting>("timeout").is_none());
    assert!(reader.required::<Setting<String>>("folder").is_none());
    let shown = reader.finish(Some(())).unwrap_err().to_string();
    assert!(
        shown.starts_with("p.yaml:6:13: expected text, found nothing"),
        "{shown}"
    );
}

#[test]
fn a_missing_required_setting_points_at_the_item_without_settings() {
    let item = item_with("    pool: 2\n");
    assert_eq!(problems(&item), ["p.yaml:3:5: `folder` is required"]);
}

#[test]
fn settings_that_are_not_a_mapping_are_one_problem() {
    let item = item_with("    settings: [folder, ./in]\n");
    assert_eq!(
        problems(&item),
        [
            "p.yaml:5:15: `settings` must be a mapping of setting names to values\n  \
          hint: e.g. settings: { path: ./in }"
        ]
    );
}

#[test]
fn shared_settings_are_read_where_the_anchor_defines_them() {
    let text = "production: p
items:
  - name: A
    operation: x
    settings: &shared { folder: ./out, timeout: soon, tls: true }
  - name: B
    operation: x
    settings: *shared
";
    let production = production(text);
    let mut all = Diagnostics::new();
    for item in &production.items {
        all.extend(build(item).expect_err("a bad timeout"));
    }
    assert_eq!(
        all.to_string(),
        "p.yaml:5:49: bad duration 'soon': expected a number and a unit, e.g. 500ms, 5s, 1m, \
         2h, 7d",
        "reported once, where it can be fixed"
    );
}

#[test]
fn settings_with_an_alias_inside_are_read_through_the_whole_file() {
    let text = "production: p
items:
  - name: A
    operation: x
    settings: { folder: &dir ./out, timeout: 0s }
  - name: B
    operation: x
    settings:
      folder: *dir
      tls: nope
";
    let production = production(text);
    assert_eq!(
        problems(&production.items[0]),
        ["p.yaml:5:46: `timeout` must be longer than 0\n  hint: e.g. timeout: 5s"]
    );
    assert_eq!(
        problems(&production.items[1]),
        ["p.yaml:10:12: expected true or false, found `nope`\n  \
          hint: a boolean is written true or false"]
    );
}

#[test]
fn a_repeated_setting_reads_as_its_last_value() {
    let text = "production: p\nitems:\n  - name: Out\n    operation: x\n    settings:\n      \
                folder: a\n      folder: b\n";
    let loaded = common::load(text);
    assert_eq!(loaded.diagnostics.len(), 1, "the loader names both lines");
    let item = &loaded.production.unwrap().items[0];
    assert_eq!(build(item).unwrap().folder, "b");
}
