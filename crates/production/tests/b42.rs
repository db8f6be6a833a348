//! Field case B42: YAML scalars, duplicate keys and tabs, end to end with adapter-style
//! settings types.

use std::collections::BTreeMap;

use ferry_production::{Diagnostics, FileMode, Item, Loaded, Source, parse};
use serde::Deserialize;

/// The first file, as the field case writes it (indented with spaces).
const FIRST: &str = "production: yaml-check
store: { path: ./var/yaml-check }
items:
  - name: Lab out
    operation: http
    settings:
      url: https://127.0.0.1:9443/results
      headers: { X-Country: NO, X-Batch: 0012, X-Version: 2.10, X-Flag: on }
      verify_tls: yes
  - name: Archive
    operation: file
    pool: 1
    settings: { path: ./var/out, mode: 0640 }
    pool: 4
";

/// What an HTTP operation's settings could look like.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpSettings {
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default = "verify_by_default")]
    verify_tls: bool,
}

fn verify_by_default() -> bool {
    true
}

/// What a file operation's settings could look like.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    path: String,
    mode: FileMode,
}

fn load(name: &str, text: &str) -> Loaded {
    parse(Source::new(name, text), &|_| None)
}

/// Every problem of a file: the loader's, then each adapter's settings problems.
fn every_problem(loaded: &Loaded) -> Diagnostics {
    let mut all = loaded.diagnostics.clone();
    let production = loaded.production.as_ref().expect("the production loads");
    for item in &production.items {
        if let Err(problems) = settings_of(item) {
            all.extend(problems);
        }
    }
    all
}

fn settings_of(item: &Item) -> Result<(), Diagnostics> {
    match item.kind.as_str() {
        "http" => item.settings::<HttpSettings>().map(drop),
        _ => item.settings::<FileSettings>().map(drop),
    }
}

#[test]
fn the_first_file_reports_all_three_problems_and_nothing_starts() {
    let loaded = load("yaml-check.yaml", FIRST);
    let shown: Vec<String> = every_problem(&loaded)
        .sorted()
        .iter()
        .map(|d| d.to_string())
        .collect();
    assert_eq!(
        shown,
        [
            "yaml-check.yaml:9:19: expected true or false, found `yes`\n  \
             hint: write true: YAML 1.2 booleans are only true and false",
            "yaml-check.yaml:13:40: a file mode must be a quoted octal string, e.g. '0640'\n  \
             hint: write mode: '0640'; unquoted, YAML 1.1 reads 0640 as octal 416 and YAML 1.2 \
             as decimal 640",
            "yaml-check.yaml:14:5: duplicate key `pool` at lines 12 and 14\n  \
             hint: keep one of them: YAML keys must be unique within a mapping",
        ]
    );
}

#[test]
fn the_second_file_names_the_tab() {
    let text = FIRST.replace("      url:", "\turl:");
    let loaded = load("yaml-check.yaml", &text);
    assert!(loaded.production.is_none());
    assert_eq!(
        loaded.diagnostics.to_string(),
        "yaml-check.yaml:7:1: tab character in indentation\n  \
         hint: YAML indents with spaces only; replace the tab with spaces"
    );
}

#[test]
fn a_tab_after_spaces_is_named_at_its_own_column() {
    let text = FIRST.replace("      url:", "    \turl:");
    let loaded = load("yaml-check.yaml", &text);
    let diagnostic = loaded.diagnostics.iter().next().unwrap();
    assert_eq!((diagnostic.at.line, diagnostic.at.column), (7, 5));
    assert_eq!(diagnostic.message, "tab character in indentation");
}

#[test]
fn the_third_file_loads_and_keeps_every_string_as_written() {
    let text = FIRST
        .replace("      verify_tls: yes\n", "")
        .replace("    pool: 4\n", "")
        .replace("mode: 0640", "mode: '0640'")
        .replace("    pool: 1\n", "    pool: 1\t# one at a time\n");
    let loaded = load("yaml-check.yaml", &text);
    assert!(
        every_problem(&loaded).is_empty(),
        "{}",
        every_problem(&loaded)
    );

    let production = loaded.production.unwrap();
    let http: HttpSettings = production.item("Lab out").unwrap().settings().unwrap();
    assert_eq!(http.url, "https://127.0.0.1:9443/results");
    assert!(http.verify_tls);
    let headers: Vec<(&str, &str)> = http
        .headers
        .iter()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    assert_eq!(
        headers,
        [
            ("X-Batch", "0012"),
            ("X-Country", "NO"),
            ("X-Flag", "on"),
            ("X-Version", "2.10")
        ]
    );

    let archive = production.item("Archive").unwrap();
    assert_eq!(archive.pool, 1);
    let file: FileSettings = archive.settings().unwrap();
    assert_eq!(file.path, "./var/out");
    assert_eq!(file.mode.bits(), 0o640);
    assert_eq!((file.mode.at.line, file.mode.at.column), (12, 40));
}
