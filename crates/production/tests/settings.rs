//! Adapter settings read through `Item::settings`, with Ferry's setting value types, and
//! an adapter's own checks reported through `Item::diagnostic`.

mod common;

use std::time::Duration;

use ferry_production::{
    AddressSetting, Diagnostics, DurationSetting, FileMode, Item, Location, NonEmptyString, Setting,
};
use serde::Deserialize;

/// Settings as an MLLP-like adapter would declare them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListenerSettings {
    listen: AddressSetting,
    ack_timeout: Option<DurationSetting>,
    folder: Option<Setting<String>>,
    facility: Option<NonEmptyString>,
    mode: Option<FileMode>,
    max_connections: Option<u16>,
    tls: Option<bool>,
}

fn item_with(settings: &str) -> Item {
    let text = format!(
        "production: p\nitems:\n  - name: Listener\n    operation: mllp\n    settings:\n{settings}"
    );
    let loaded = common::load(&text);
    assert!(loaded.diagnostics.is_empty(), "{}", loaded.diagnostics);
    let production = loaded.production.expect("the production loads");
    production.items.into_iter().next().expect("one item")
}

fn settings_problem(settings: &str) -> String {
    let item = item_with(settings);
    let error = item
        .settings::<ListenerSettings>()
        .expect_err("the settings are refused");
    assert_eq!(error.len(), 1, "{error}");
    error.to_string()
}

#[test]
fn values_keep_their_positions() {
    let item = item_with(
        "      listen: 127.0.0.1:2575\n      ack_timeout: 1m30s\n      folder: ./in\n      \
         facility: LAB\n      mode: '0600'\n      max_connections: 8\n",
    );
    let settings: ListenerSettings = item.settings().unwrap();
    assert_eq!(settings.listen.text, "127.0.0.1:2575");
    assert_eq!(
        (settings.listen.host.as_str(), settings.listen.port),
        ("127.0.0.1", 2575)
    );
    assert_eq!(settings.listen.at, Location::new(6, 15));
    let timeout = settings.ack_timeout.unwrap();
    assert_eq!(
        (timeout.duration(), timeout.at),
        (Duration::from_secs(90), Location::new(7, 20))
    );
    let folder = settings.folder.unwrap();
    assert_eq!(
        (folder.value.as_str(), folder.at),
        ("./in", Location::new(8, 15))
    );
    assert_eq!(&*settings.facility.unwrap(), "LAB");
    assert_eq!(settings.mode.unwrap().bits(), 0o600);
    assert_eq!(settings.max_connections, Some(8));
    assert_eq!(item.settings_location(), Location::new(6, 7));
}

#[test]
fn an_unknown_setting_suggests_the_right_one() {
    assert_eq!(
        settings_problem("      listen: h:1\n      ack_timout: 5s\n"),
        "p.yaml:7:7: unknown key `ack_timout`\n  hint: did you mean `ack_timeout`?"
    );
}

#[test]
fn a_missing_setting_points_at_the_item_without_settings() {
    let loaded = common::load("production: p\nitems:\n  - name: L\n    operation: mllp\n");
    let item = &loaded.production.unwrap().items[0];
    let error = item.settings::<ListenerSettings>().unwrap_err();
    assert_eq!(error.to_string(), "p.yaml:3:5: missing key `listen`");
    assert_eq!(item.settings_location(), Location::new(3, 5));
}

#[test]
fn setting_types_explain_bad_values() {
    let cases = [
        (
            "      listen: localhost\n",
            "p.yaml:6:15: bad address 'localhost': missing the port (host:port)\n  \
             hint: e.g. 127.0.0.1:2575, lab.example.org:443 or '[::1]:2575'",
        ),
        (
            "      listen: h:1\n      ack_timeout: 5 sec\n",
            "p.yaml:7:20: bad duration '5 sec': expected a number and a unit, e.g. 500ms, 5s, \
             1m, 2h, 7d",
        ),
        (
            "      listen: h:1\n      facility: ''\n",
            "p.yaml:7:17: expected text, found an empty value",
        ),
        (
            "      listen: h:1\n      mode: '0980'\n",
            "p.yaml:7:13: bad file mode '0980': expected 3 or 4 octal digits (0-7)\n  \
             hint: e.g. '0640' for rw-r-----",
        ),
        (
            "      listen: h:1\n      max_connections: 070000\n",
            "p.yaml:7:24: ambiguous number `070000`: YAML 1.1 reads a leading zero as octal \
             (28672), YAML 1.2 as decimal (70000)\n  hint: write 70000 for decimal, or 0o70000 \
             for octal",
        ),
        (
            "      listen: h:1\n      max_connections: 70000\n",
            "p.yaml:7:24: expected a whole number from 0 to 65535, found `70000`",
        ),
        (
            "      listen: h:1\n      tls: off\n",
            "p.yaml:7:12: expected true or false, found `off`\n  \
             hint: write false: YAML 1.2 booleans are only true and false",
        ),
    ];
    for (settings, expected) in cases {
        assert_eq!(settings_problem(settings), expected, "{settings}");
    }
}

/// An adapter's own check: the folder must not be empty.
fn check_folder(item: &Item) -> Result<(), Diagnostics> {
    let settings: ListenerSettings = item.settings()?;
    let mut problems = Diagnostics::new();
    if let Some(folder) = &settings.folder
        && folder.value.trim().is_empty()
    {
        let diagnostic = item.diagnostic(folder.at, "`folder` must name a folder");
        problems.push(diagnostic.with_hint("e.g. folder: ./var/in"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

#[test]
fn adapters_report_their_own_checks_in_the_same_form() {
    let item = item_with("      listen: h:1\n      folder: ' '\n");
    assert_eq!(
        check_folder(&item).unwrap_err().to_string(),
        "p.yaml:7:15: `folder` must name a folder\n  hint: e.g. folder: ./var/in"
    );
    assert_eq!(item.source().name, "p.yaml");
}

#[test]
fn an_alias_reads_the_anchored_settings() {
    let text = "production: p
items:
  - name: A
    operation: mllp
    settings: &common { listen: 'h:1', tls: true }
  - name: B
    operation: mllp
    settings: *common
";
    let production = common::load(text).production.unwrap();
    let b: ListenerSettings = production.item("B").unwrap().settings().unwrap();
    assert_eq!(b.tls, Some(true));
    assert_eq!(b.listen.port, 1);
}
