//! The file adapter's settings as `ferry validate` checks them: every problem of an item's
//! settings in one run, through the factories' `build`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ferry_adapter::{OperationFactory, ServiceFactory};
use ferry_file::{FileOperationFactory, FileServiceFactory};
use ferry_production::{Diagnostics, Item, Production, Role, Source, parse};

/// Loads a production that must pass the loader's own checks.
fn production(text: &str) -> Production {
    let loaded = parse(Source::new("p.yaml", text), &|_| None);
    assert!(loaded.diagnostics.is_empty(), "{}", loaded.diagnostics);
    loaded.production.expect("the production loads")
}

/// What building the item reports; empty when it builds.
fn build(item: &Item) -> Diagnostics {
    let built = match item.role {
        Role::Service => FileServiceFactory.build(item).err(),
        _ => FileOperationFactory.build(item).err(),
    };
    built.unwrap_or_default()
}

/// Every problem of every item, as `ferry validate` prints them.
fn validate(text: &str) -> String {
    let production = production(text);
    let mut all = Diagnostics::new();
    for item in &production.items {
        all.extend(build(item));
    }
    all.to_string()
}

/// A file service with these settings, sending to a file operation.
fn service_with(settings: &str) -> String {
    format!(
        "production: p\nitems:\n  - name: In\n    service: file\n    targets: [Out]\n    \
         settings: {settings}\n  - name: Out\n    operation: file\n    \
         settings: {{ path: /tmp/p/out }}\n"
    )
}

#[test]
fn the_testers_example_gives_every_error_in_one_run() {
    let text = "production: p
items:
  - name: In
    service: file
    targets: [Out]
    settings: {path: /tmp/p/in, eror: /tmp/p/err, glob: '[', poll_interval: -1s}
  - name: Out
    operation: file
    settings: {path: /tmp/p/out, mode: 0777, filename: '{MSH-0}'}
";
    assert_eq!(
        validate(text),
        "p.yaml:6:15: `error` is required
p.yaml:6:15: a file service needs `archive: FOLDER` or `delete: true`
  hint: taken files must go somewhere so they are not read twice
p.yaml:6:33: unknown key `eror` in `settings`
  hint: did you mean `error`?
p.yaml:6:57: bad glob '[': Pattern syntax error near position 0: invalid range pattern
  hint: e.g. '*.hl7'
p.yaml:6:77: bad duration '-1s': expected a number and a unit, e.g. 500ms, 5s, 1m, 2h, 7d
p.yaml:9:40: a file mode must be a quoted octal string, e.g. '0640'
  hint: write mode: '0640'; unquoted, YAML 1.1 reads 0640 as octal 416 and YAML 1.2 as \
decimal 640
p.yaml:9:56: bad file name template: unknown placeholder '{MSH-0}': a field number starts \
at 1, not 0
  hint: placeholders are {id}, {session}, {source}, {doctype}, {date}, {time}, {seq} and \
HL7 paths such as {MSH-10}; write {{ and }} for braces"
    );
}

#[test]
fn good_settings_build() {
    let text = "production: p
items:
  - name: In
    service: file
    targets: [Out]
    settings:
      path: ./in
      glob: '*.hl7'
      poll_interval: 10ms
      quiet_period: 0s
      archive: ./archive
      error: ./error
      content: hl7v2
      split: false
      charset: 8859/1
      force_charset: true
      normalise_terminators: false
      lenient_terminators: false
  - name: Out
    operation: file
    settings: { path: ./out, filename: '{MSH-10}.hl7', overwrite: true, mode: '0640',
                create_folder: false, fsync: false }
";
    assert_eq!(validate(text), "");
}

#[test]
fn a_poll_interval_below_10ms_is_refused() {
    for (interval, column) in [("0s", 72), ("9ms", 72)] {
        let settings =
            format!("{{ path: ./in, error: ./err, delete: true, poll_interval: {interval} }}");
        assert_eq!(
            validate(&service_with(&settings)),
            format!(
                "p.yaml:6:{column}: `poll_interval` must be at least 10ms\n  \
                 hint: each poll lists the folder; polling faster only burns CPU"
            )
        );
    }
}

#[test]
fn a_glob_with_a_slash_is_refused() {
    let settings = "{ path: ./in, error: ./err, delete: true, glob: 'lab/**/*.hl7' }";
    assert_eq!(
        validate(&service_with(settings)),
        "p.yaml:6:63: glob 'lab/**/*.hl7' contains `/`: it matches file names in the polled \
         folder only\n  hint: put the folder in `path` and the name pattern in `glob`, e.g. \
         glob: '*.hl7'; sub-folders are never searched (no `**`)"
    );
}

#[test]
fn a_setting_written_wrong_does_not_also_count_as_missing() {
    let settings = "{ path: ./in, error: ./err, delete: yes }";
    assert_eq!(
        validate(&service_with(settings)),
        "p.yaml:6:51: expected true or false, found `yes`\n  \
         hint: write true: YAML 1.2 booleans are only true and false"
    );
    let settings = "{ path: ./in, error: [./err], archive: ./in }";
    assert_eq!(
        validate(&service_with(settings)),
        "p.yaml:6:23: the archive folder must not be the polled folder\n\
         p.yaml:6:36: expected a single value, not a list or mapping"
    );
}

#[test]
fn archive_and_delete_are_exclusive() {
    let settings = "{ path: ./in, error: ./err, archive: ./done, delete: true }";
    assert_eq!(
        validate(&service_with(settings)),
        "p.yaml:6:52: set either archive or delete: true, not both"
    );
}

#[test]
fn an_item_left_out_by_the_loader_can_still_be_checked() {
    let text = "production: p
items:
  - name: Out
    operation: file
    settings: { path: ./out }
  - name: Out
    operation: file
    settings: { path: '', fsync: maybe }
";
    let loaded = parse(Source::new("p.yaml", text), &|_| None);
    assert_eq!(loaded.diagnostics.len(), 1, "{}", loaded.diagnostics);
    let production = loaded.production.unwrap();
    assert_eq!(production.items.len(), 1);
    let rejected = &production.rejected[0];
    assert_eq!(
        build(rejected).to_string(),
        "p.yaml:8:23: `path` must name a folder\n\
         p.yaml:8:34: expected true or false, found `maybe`\n  \
         hint: a boolean is written true or false"
    );
}
