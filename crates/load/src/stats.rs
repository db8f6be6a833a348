//! Counting: ACK latencies and their percentiles, the sender's failures by kind, and the
//! sink's view of each stream (losses, duplicates, order).
//!
//! Percentiles are exact: every latency is kept (4 bytes each, in microseconds) and sorted
//! once at the end, and the p-th percentile is the nearest-rank value, the smallest sample
//! with at least p % of the samples at or below it. A histogram would save memory but
//! round the tail, which is the part a load test is run for.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::control_id::{ControlId, StreamKey};

/// Latency in whole microseconds, saturating (an ACK after 71 minutes is still "slow").
pub(crate) fn micros(elapsed: Duration) -> u32 {
    u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX)
}

/// The nearest-rank percentile of sorted samples, `None` without any. The percentile is
/// given in tenths of a percent (`999` is p99.9), so the rank is computed in integers and
/// no floating-point rounding moves it to the next sample.
pub fn percentile(sorted: &[u32], per_mille: u64) -> Option<u32> {
    let count = sorted.len() as u64;
    let rank = (per_mille.min(1000) * count).div_ceil(1000).max(1);
    sorted.get(usize::try_from(rank - 1).ok()?).copied()
}

/// Latency percentiles of one run, in microseconds; `None` when no exchange succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Percentiles {
    /// Median.
    pub p50: Option<u32>,
    /// 99th percentile.
    pub p99: Option<u32>,
    /// 99.9th percentile.
    pub p999: Option<u32>,
    /// The slowest.
    pub max: Option<u32>,
}

impl Percentiles {
    /// Sorts `samples` and reads the percentiles.
    pub fn of(samples: &mut [u32]) -> Percentiles {
        samples.sort_unstable();
        Percentiles {
            p50: percentile(samples, 500),
            p99: percentile(samples, 990),
            p999: percentile(samples, 999),
            max: samples.last().copied(),
        }
    }
}

/// Why one message did not count as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Failure {
    /// The ACK said AE, AR, CE or CR.
    Negative,
    /// The ACK's MSA-2 is not the MSH-10 just sent: an answer to another message.
    WrongControlId,
    /// The reply is not a readable ACK (no MSH, no MSA, an unknown code, a broken block).
    Unreadable,
    /// No reply within the timeout.
    Timeout,
    /// Connecting, writing or reading failed, or the receiver closed the connection.
    Connection,
}

impl Failure {
    /// Every kind, in report order.
    pub const ALL: [Failure; 5] = [
        Failure::Negative,
        Failure::WrongControlId,
        Failure::Unreadable,
        Failure::Timeout,
        Failure::Connection,
    ];

    /// A fixed snake_case name, used as JSON key and in the summary.
    pub fn name(self) -> &'static str {
        match self {
            Failure::Negative => "negative_ack",
            Failure::WrongControlId => "wrong_msa_2",
            Failure::Unreadable => "unreadable_ack",
            Failure::Timeout => "timeout",
            Failure::Connection => "connection",
        }
    }
}

/// Failures counted by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Failures {
    counts: [u64; 5],
}

impl Failures {
    /// Counts one.
    pub fn add(&mut self, failure: Failure) {
        if let Some(count) = self.counts.get_mut(failure as usize) {
            *count += 1;
        }
    }

    /// How many of one kind.
    pub fn count(&self, failure: Failure) -> u64 {
        self.counts.get(failure as usize).copied().unwrap_or(0)
    }

    /// How many in all.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The kinds that occurred, with their counts, in report order.
    pub fn nonzero(&self) -> impl Iterator<Item = (Failure, u64)> + '_ {
        Failure::ALL
            .into_iter()
            .map(|failure| (failure, self.count(failure)))
            .filter(|&(_, count)| count > 0)
    }
}

/// What the sink saw of one (run, connection) stream.
///
/// `seen` has one bit per sequence number up to the highest seen, so duplicates are exact
/// and memory is one bit per message sent (about 12 MB for 100 million).
#[derive(Debug, Default)]
struct Stream {
    seen: Vec<u64>,
    highest: u64,
    distinct: u64,
}

impl Stream {
    /// Marks `sequence` seen; false when it already was.
    fn mark(&mut self, sequence: u64) -> bool {
        let word = (sequence / 64) as usize;
        let bit = 1u64 << (sequence % 64);
        if self.seen.len() <= word {
            self.seen.resize(word + 1, 0);
        }
        let Some(slot) = self.seen.get_mut(word) else {
            return false;
        };
        let fresh = *slot & bit == 0;
        *slot |= bit;
        fresh
    }
}

/// How one arrival was classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// The next in its stream, or a later one (leaving a gap).
    InOrder,
    /// Below the highest sequence already seen in its stream, and new.
    OutOfOrder,
    /// A control id seen before.
    Duplicate,
}

/// The sink's count of everything that arrived.
///
/// - received: every message, duplicates included;
/// - duplicates: arrivals whose MSH-10 was seen before (in any stream, or among ids not
///   written by the sender, which are compared as text);
/// - out of order: new arrivals with a sequence below the highest already seen in their
///   stream;
/// - losses: per stream, the sequence numbers from 1 to the highest seen that never
///   arrived. A message after the last one that arrived is invisible to the sink, so a
///   loss at the very end of a stream is not counted; the sender's error count covers it.
#[derive(Debug, Default)]
pub struct Arrivals {
    streams: HashMap<StreamKey, Stream>,
    foreign: HashSet<Box<str>>,
    received: u64,
    duplicates: u64,
    out_of_order: u64,
}

impl Arrivals {
    /// Counts one message by its MSH-10.
    pub fn observe(&mut self, control_id: &str) -> Arrival {
        self.received += 1;
        let arrival = match ControlId::parse(control_id) {
            Some(id) => {
                let stream = self.streams.entry(id.stream).or_default();
                if !stream.mark(id.sequence) {
                    Arrival::Duplicate
                } else {
                    stream.distinct += 1;
                    let late = id.sequence < stream.highest;
                    stream.highest = stream.highest.max(id.sequence);
                    if late {
                        Arrival::OutOfOrder
                    } else {
                        Arrival::InOrder
                    }
                }
            }
            None if self.foreign.insert(control_id.into()) => Arrival::InOrder,
            None => Arrival::Duplicate,
        };
        match arrival {
            Arrival::Duplicate => self.duplicates += 1,
            Arrival::OutOfOrder => self.out_of_order += 1,
            Arrival::InOrder => {}
        }
        arrival
    }

    /// The counts so far.
    pub fn counts(&self) -> ArrivalCounts {
        let losses = self
            .streams
            .values()
            .map(|stream| stream.highest.saturating_sub(stream.distinct))
            .sum();
        ArrivalCounts {
            received: self.received,
            duplicates: self.duplicates,
            losses,
            out_of_order: self.out_of_order,
            streams: self.streams.len() as u64,
            foreign: self.foreign.len() as u64,
        }
    }
}

/// A snapshot of [`Arrivals`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ArrivalCounts {
    /// Every message, duplicates included.
    pub received: u64,
    /// Arrivals of an MSH-10 seen before.
    pub duplicates: u64,
    /// Gaps below the highest sequence seen, summed over streams.
    pub losses: u64,
    /// New arrivals below the highest sequence of their stream.
    pub out_of_order: u64,
    /// (run, connection) streams seen.
    pub streams: u64,
    /// Distinct MSH-10s that are not of the sender's layout.
    pub foreign: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control_id::RunId;

    fn id(connection: u16, sequence: u64) -> String {
        let stream = StreamKey {
            run: RunId::from_seed(4),
            connection,
        };
        ControlId { stream, sequence }.to_string()
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut samples: Vec<u32> = (1..=1000).rev().collect();
        let p = Percentiles::of(&mut samples);
        assert_eq!(
            (p.p50, p.p99, p.p999, p.max),
            (Some(500), Some(990), Some(999), Some(1000))
        );
        assert_eq!(percentile(&[7], 999), Some(7));
        assert_eq!(percentile(&[], 500), None);
        assert_eq!(percentile(&[1, 2], 500), Some(1));
    }

    #[test]
    fn gaps_duplicates_and_late_arrivals_are_told_apart() {
        let mut arrivals = Arrivals::default();
        for sequence in [1, 2, 4, 5, 5, 3, 8] {
            arrivals.observe(&id(1, sequence));
        }
        for sequence in [1, 2, 3] {
            arrivals.observe(&id(2, sequence));
        }
        arrivals.observe("OTHER-1");
        arrivals.observe("OTHER-1");

        let counts = arrivals.counts();
        assert_eq!(counts.received, 12);
        assert_eq!(counts.duplicates, 2);
        assert_eq!(counts.out_of_order, 1);
        // Stream 1 misses 6 and 7; stream 2 misses nothing it can see.
        assert_eq!(counts.losses, 2);
        assert_eq!((counts.streams, counts.foreign), (2, 1));
    }

    #[test]
    fn a_gap_filled_late_is_no_loss() {
        let mut arrivals = Arrivals::default();
        assert_eq!(arrivals.observe(&id(1, 2)), Arrival::InOrder);
        assert_eq!(arrivals.counts().losses, 1);
        assert_eq!(arrivals.observe(&id(1, 1)), Arrival::OutOfOrder);
        assert_eq!(arrivals.observe(&id(1, 1)), Arrival::Duplicate);
        assert_eq!(arrivals.counts().losses, 0);
    }

    #[test]
    fn failures_count_by_kind() {
        let mut failures = Failures::default();
        failures.add(Failure::Timeout);
        failures.add(Failure::Timeout);
        failures.add(Failure::Negative);
        assert_eq!(failures.total(), 3);
        let listed: Vec<_> = failures.nonzero().collect();
        assert_eq!(listed, vec![(Failure::Negative, 1), (Failure::Timeout, 2)]);
    }
}
