//! Tables and values for people: aligned columns, times in UTC, short ages. Every cell
//! is shown through [`visible::cell`], so no cell can hold a control character.

use ferry_admin_proto::v1 as pb;

use super::visible;

/// Columns padded to their widest cell, separated by two spaces; the last column is not
/// padded, so long texts do not drag trailing blanks along.
pub(crate) fn table(headings: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| visible::cell(cell)).collect())
        .collect();
    let mut widths: Vec<usize> = headings.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }

    let headings: Vec<String> = headings.iter().map(|h| (*h).to_owned()).collect();
    let mut out = String::new();
    for row in std::iter::once(&headings).chain(&rows) {
        let last = row.len().saturating_sub(1);
        let mut line = String::new();
        for (index, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if index == last {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// One row without alignment, for lines printed as they come (`events --follow`).
pub(crate) fn row(cells: &[String]) -> String {
    let cells: Vec<String> = cells.iter().map(|cell| visible::cell(cell)).collect();
    cells.join("  ")
}

/// A time as `2026-01-31 08:00:00Z`; `-` when unset or out of range.
pub(crate) fn time(time: Option<&prost_types::Timestamp>) -> String {
    timestamp(time)
        .map(|time| time.strftime("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_else(|| "-".to_owned())
}

/// A protobuf time as a jiff one.
pub(crate) fn timestamp(time: Option<&prost_types::Timestamp>) -> Option<jiff::Timestamp> {
    time.and_then(|time| jiff::Timestamp::new(time.seconds, time.nanos).ok())
}

/// A wait as `45s`, `12m05s` or `3h20m`; `-` when unset.
pub(crate) fn age(age: Option<&prost_types::Duration>) -> String {
    let Some(age) = age else {
        return "-".to_owned();
    };
    let seconds = age.seconds.max(0);
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m{:02}s", seconds / 60, seconds % 60),
        _ => format!("{}h{:02}m", seconds / 3600, seconds % 3600 / 60),
    }
}

/// An optional id, `-` when unset.
pub(crate) fn id(id: Option<u64>) -> String {
    id.map(|id| id.to_string())
        .unwrap_or_else(|| "-".to_owned())
}

/// Text, `-` when empty.
pub(crate) fn text(text: &str) -> String {
    if text.is_empty() {
        "-".to_owned()
    } else {
        text.to_owned()
    }
}

pub(crate) fn role(role: i32) -> &'static str {
    match pb::Role::try_from(role) {
        Ok(pb::Role::Service) => "service",
        Ok(pb::Role::Process) => "process",
        Ok(pb::Role::Operation) => "operation",
        _ => "?",
    }
}

pub(crate) fn status(status: i32) -> &'static str {
    match pb::Status::try_from(status) {
        Ok(pb::Status::Queued) => "Queued",
        Ok(pb::Status::Delivered) => "Delivered",
        Ok(pb::Status::Completed) => "Completed",
        Ok(pb::Status::Error) => "Error",
        Ok(pb::Status::Suspended) => "Suspended",
        Ok(pb::Status::Discarded) => "Discarded",
        _ => "?",
    }
}

pub(crate) fn level(level: i32) -> &'static str {
    match pb::EventLevel::try_from(level) {
        Ok(pb::EventLevel::Info) => "info",
        Ok(pb::EventLevel::Warn) => "warn",
        Ok(pb::EventLevel::Error) => "error",
        _ => "?",
    }
}

pub(crate) fn event_kind(kind: i32) -> &'static str {
    match pb::EventKind::try_from(kind) {
        Ok(pb::EventKind::Started) => "started",
        Ok(pb::EventKind::Stopped) => "stopped",
        Ok(pb::EventKind::Recovered) => "recovered",
        Ok(pb::EventKind::Failed) => "failed",
        Ok(pb::EventKind::Retry) => "retry",
        Ok(pb::EventKind::Suspended) => "suspended",
        Ok(pb::EventKind::Warning) => "warning",
        Ok(pb::EventKind::Admin) => "admin",
        _ => "?",
    }
}

pub(crate) fn content_kind(kind: i32) -> &'static str {
    match pb::ContentKind::try_from(kind) {
        Ok(pb::ContentKind::Hl7v2) => "hl7v2",
        Ok(pb::ContentKind::Xml) => "xml",
        Ok(pb::ContentKind::Json) => "json",
        Ok(pb::ContentKind::Text) => "text",
        Ok(pb::ContentKind::Binary) => "binary",
        _ => "?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up() {
        let rows = vec![vec!["In".to_owned(), "service".to_owned(), "x".to_owned()]];
        let shown = table(&["ITEM", "ROLE", "NOTE"], &rows);
        assert_eq!(shown, "ITEM  ROLE     NOTE\nIn    service  x\n");
        let wait = prost_types::Duration {
            seconds: 725,
            nanos: 0,
        };
        assert_eq!(age(Some(&wait)), "12m05s");
    }

    #[test]
    fn a_cell_cannot_move_the_cursor() {
        let rows = vec![vec!["a\rb".to_owned(), "\u{1b}[2J".to_owned()]];
        assert_eq!(table(&["A", "B"], &rows), "A     B\na\\rb  \\e[2J\n");
    }
}
