//! Test productions: the part most of them share.

/// The start of a test production named `name`: a store in `${DIR}/data` and a file
/// service `In` that polls `${DIR}/in` every 20 ms (no quiet period: tests drop files by
/// rename) and feeds `targets`. The test appends its own items.
pub fn head(name: &str, targets: &str) -> String {
    format!(
        r#"
production: {name}
store: {{ path: "${{DIR}}/data" }}
items:
  - name: In
    service: file
    targets: [{targets}]
    settings:
      path: ${{DIR}}/in
      glob: '*.hl7'
      poll_interval: 20ms
      quiet_period: 0s
      archive: ${{DIR}}/archive
      error: ${{DIR}}/error
"#
    )
}
