//! What the tool prints: a progress line once a second on stderr while it runs, and a
//! summary at the end, as text on stdout and, with `--json`, as one JSON object on the
//! last line of stdout (so a script can take `tail -n 1`).
//!
//! The JSON keys are a contract for scripts and tests: send has `sent`, `msgs_per_s`,
//! `p50_ms`, `p99_ms`, `p999_ms`, `errors`, `connections`, `seconds`; sink has `received`,
//! `duplicates`, `losses`, `out_of_order`, `msgs_per_s`, `errors`. Others may be added,
//! none is renamed. A percentile without any successful exchange is `null`.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::control_id::RunId;
use crate::stats::{ArrivalCounts, Failures, Percentiles};

/// `12345678` as `12,345,678`.
pub(crate) fn grouped(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Microseconds as milliseconds with about three significant digits.
pub(crate) fn millis(micros: Option<u32>) -> String {
    let Some(micros) = micros else {
        return "-".to_owned();
    };
    let ms = f64::from(micros) / 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// A rate of `count` over `elapsed`, 0 when no time passed.
pub(crate) fn rate(count: u64, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

fn rounded(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

fn json_ms(micros: Option<u32>) -> Value {
    micros.map_or(Value::Null, |micros| json!(f64::from(micros) / 1000.0))
}

/// How many cores the machine offers, for the summary: a rate means little without it.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// The once-a-second progress line on stderr. On a terminal it rewrites one line in place;
/// elsewhere (a log file, a test) it writes one line per tick, which stays readable.
#[derive(Debug)]
pub(crate) struct Progress {
    enabled: bool,
    terminal: bool,
    shown: bool,
}

impl Progress {
    pub(crate) fn new(enabled: bool) -> Progress {
        Progress {
            enabled,
            terminal: std::io::stderr().is_terminal(),
            shown: false,
        }
    }

    pub(crate) fn show(&mut self, line: &str) {
        if !self.enabled {
            return;
        }
        let mut stderr = std::io::stderr().lock();
        let _ = if self.terminal {
            write!(stderr, "\r{line}\x1b[K")
        } else {
            writeln!(stderr, "{line}")
        };
        let _ = stderr.flush();
        self.shown = true;
    }

    /// Ends an in-place line so that the summary starts on its own line.
    pub(crate) fn finish(&mut self) {
        if self.enabled && self.terminal && self.shown {
            eprintln!();
        }
        self.shown = false;
    }
}

/// The result of `ferry load send`.
#[derive(Debug, Clone)]
pub struct SendSummary {
    /// The run id in every MSH-10 sent.
    pub run: RunId,
    /// The receiver, as given.
    pub to: String,
    /// Connections used.
    pub connections: u16,
    /// Messages acknowledged with AA or CA naming their MSH-10.
    pub sent: u64,
    /// Messages that failed, by kind.
    pub failures: Failures,
    /// From the moment every connection was up to the end of the last exchange.
    pub elapsed: Duration,
    /// Latency of the successful exchanges, from the write to the ACK read.
    pub latency: Percentiles,
}

impl SendSummary {
    /// Messages that failed.
    pub fn errors(&self) -> u64 {
        self.failures.total()
    }

    /// Successful messages per second.
    pub fn msgs_per_s(&self) -> f64 {
        rate(self.sent, self.elapsed)
    }

    /// The summary as one JSON object (see the module docs for the keys).
    pub fn to_json(&self) -> Value {
        let mut kinds = Map::new();
        for (failure, count) in self.failures.nonzero() {
            kinds.insert(failure.name().to_owned(), json!(count));
        }
        json!({
            "sent": self.sent,
            "msgs_per_s": rounded(self.msgs_per_s(), 1),
            "p50_ms": json_ms(self.latency.p50),
            "p99_ms": json_ms(self.latency.p99),
            "p999_ms": json_ms(self.latency.p999),
            "max_ms": json_ms(self.latency.max),
            "errors": self.errors(),
            "errors_by_kind": kinds,
            "connections": self.connections,
            "seconds": rounded(self.elapsed.as_secs_f64(), 3),
            "run": self.run.to_string(),
            "to": self.to,
            "cores": cores(),
        })
    }

    /// The summary as text, several lines.
    pub fn to_text(&self) -> String {
        let mut errors = grouped(self.errors());
        let kinds: Vec<String> = self
            .failures
            .nonzero()
            .map(|(failure, count)| format!("{} {}", failure.name(), grouped(count)))
            .collect();
        if !kinds.is_empty() {
            errors = format!("{errors} ({})", kinds.join(", "));
        }
        format!(
            "run {run}: {sent} messages acknowledged by {to} over {connections} connections \
             in {seconds:.2} s ({cores} cores)\n\
             throughput   {rate} msg/s\n\
             ACK latency  p50 {p50}  p99 {p99}  p99.9 {p999}  max {max}\n\
             errors       {errors}",
            run = self.run,
            sent = grouped(self.sent),
            to = self.to,
            connections = self.connections,
            seconds = self.elapsed.as_secs_f64(),
            cores = cores(),
            rate = grouped(self.msgs_per_s().round() as u64),
            p50 = millis(self.latency.p50),
            p99 = millis(self.latency.p99),
            p999 = millis(self.latency.p999),
            max = millis(self.latency.max),
        )
    }
}

/// The result of `ferry load sink`.
#[derive(Debug, Clone)]
pub struct SinkSummary {
    /// Where it listened.
    pub listen: SocketAddr,
    /// What arrived.
    pub counts: ArrivalCounts,
    /// Blocks that were not usable messages (too large, cut short, no readable MSH) and
    /// connections that failed while reading or writing.
    pub errors: u64,
    /// From the first arrival to the last: the time the sink was actually under load.
    pub active: Duration,
    /// From listening to the end.
    pub elapsed: Duration,
}

impl SinkSummary {
    /// Messages per second while under load (first to last arrival).
    pub fn msgs_per_s(&self) -> f64 {
        rate(self.counts.received, self.active)
    }

    /// The summary as one JSON object (see the module docs for the keys).
    pub fn to_json(&self) -> Value {
        json!({
            "received": self.counts.received,
            "duplicates": self.counts.duplicates,
            "losses": self.counts.losses,
            "out_of_order": self.counts.out_of_order,
            "msgs_per_s": rounded(self.msgs_per_s(), 1),
            "errors": self.errors,
            "streams": self.counts.streams,
            "other_ids": self.counts.foreign,
            "active_seconds": rounded(self.active.as_secs_f64(), 3),
            "seconds": rounded(self.elapsed.as_secs_f64(), 3),
            "listen": self.listen.to_string(),
            "cores": cores(),
        })
    }

    /// The summary as text, several lines.
    pub fn to_text(&self) -> String {
        let counts = &self.counts;
        format!(
            "sink on {listen}: {received} messages in {streams} streams over {active:.2} s \
             of load ({seconds:.2} s listening, {cores} cores)\n\
             throughput    {rate} msg/s\n\
             duplicates    {duplicates}\n\
             losses        {losses}\n\
             out of order  {out_of_order}\n\
             other ids     {foreign}\n\
             errors        {errors}",
            listen = self.listen,
            received = grouped(counts.received),
            streams = grouped(counts.streams),
            active = self.active.as_secs_f64(),
            seconds = self.elapsed.as_secs_f64(),
            cores = cores(),
            rate = grouped(self.msgs_per_s().round() as u64),
            duplicates = grouped(counts.duplicates),
            losses = grouped(counts.losses),
            out_of_order = grouped(counts.out_of_order),
            foreign = grouped(counts.foreign),
            errors = grouped(self.errors),
        )
    }
}

/// Prints a summary to stdout: the text, then with `json` the JSON object as the last line.
pub(crate) fn print_summary(text: &str, json: Option<&Value>) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}");
    if let Some(json) = json {
        let _ = writeln!(stdout, "{json}");
    }
    let _ = stdout.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(12_345_678), "12,345,678");
        assert_eq!(millis(Some(3210)), "3.21 ms");
        assert_eq!(millis(Some(45_678)), "45.7 ms");
        assert_eq!(millis(Some(1_234_567)), "1235 ms");
        assert_eq!(millis(None), "-");
        assert_eq!(rate(10, Duration::ZERO), 0.0);
    }
}
