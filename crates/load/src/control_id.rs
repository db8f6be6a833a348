//! The MSH-10 the sender writes, so that the sink can tell losses, duplicates and order.
//!
//! Layout, always exactly 20 characters (the maximum length of MSH-10, an ST, in HL7 v2.5):
//!
//! ```text
//! K3F9ZQ-007-000000123
//! ^^^^^^ run: 6 base-36 characters (0-9, A-Z), from the clock and the process id
//!        ^^^ connection: 001 to 999
//!            ^^^^^^^^^ sequence on that connection: 000000001 to 999999999
//! ```
//!
//! One sender run writes one run id; each of its connections numbers its messages 1, 2, 3,
//! ... without gaps, so a (run, connection) pair is one ordered stream. Fixed widths keep
//! the ids the same length and make a sorted list of them a list in sending order.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// How many distinct run ids there are: 36^6.
const RUN_IDS: u32 = 2_176_782_336;
/// Characters of a run id.
const RUN_WIDTH: usize = 6;
/// The highest connection number that fits in three digits.
pub const MAX_CONNECTION: u16 = 999;
/// The highest sequence number that fits in nine digits.
pub const MAX_SEQUENCE: u64 = 999_999_999;
/// The length of every control id written here.
pub const CONTROL_ID_LEN: usize = 20;

const DIGITS: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// One sender run, written as 6 base-36 characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunId(u32);

impl RunId {
    /// A run id mixed from the clock and the process id: two senders started in the same
    /// second on different hosts or as different processes get different ids, which a
    /// counter or the time alone would not give.
    pub fn generate() -> RunId {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        let seed = (nanos as u64) ^ (u64::from(std::process::id()) << 32);
        RunId::from_seed(seed)
    }

    /// A run id from any 64 bits (well mixed first, so close seeds give unrelated ids).
    pub fn from_seed(seed: u64) -> RunId {
        let mixed = crate::generate::splitmix64(seed);
        RunId((mixed % u64::from(RUN_IDS)) as u32)
    }

    /// 64 bits that differ from run to run, to seed the message generator with.
    pub(crate) fn seed(self) -> u64 {
        crate::generate::splitmix64(u64::from(self.0))
    }

    /// Reads the 6 base-36 characters of a run id (upper case only, as written).
    pub fn parse(text: &str) -> Option<RunId> {
        if text.len() != RUN_WIDTH {
            return None;
        }
        let mut value: u32 = 0;
        for byte in text.bytes() {
            let digit = DIGITS.iter().position(|&known| known == byte)?;
            value = value * 36 + digit as u32;
        }
        Some(RunId(value))
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = [b'0'; RUN_WIDTH];
        let mut rest = self.0;
        for slot in text.iter_mut().rev() {
            *slot = DIGITS[(rest % 36) as usize];
            rest /= 36;
        }
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

/// One ordered stream the sink tracks: a connection of a sender run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamKey {
    /// The sender run.
    pub run: RunId,
    /// The connection within the run, 1 to 999.
    pub connection: u16,
}

/// A parsed MSH-10 of this layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ControlId {
    /// The run and connection.
    pub stream: StreamKey,
    /// The position on the connection, from 1.
    pub sequence: u64,
}

impl ControlId {
    /// Reads a control id written by [`ControlId`]'s `Display`; `None` for anything else
    /// (another sender's ids are counted by the sink, but not as a stream).
    pub fn parse(text: &str) -> Option<ControlId> {
        if text.len() != CONTROL_ID_LEN || !text.is_ascii() {
            return None;
        }
        let (run, rest) = text.split_at(RUN_WIDTH);
        let rest = rest.strip_prefix('-')?;
        let (connection, rest) = rest.split_at(3);
        let sequence = rest.strip_prefix('-')?;

        let all_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
        if !all_digits(connection) || !all_digits(sequence) {
            return None;
        }
        Some(ControlId {
            stream: StreamKey {
                run: RunId::parse(run)?,
                connection: connection.parse().ok()?,
            },
            sequence: sequence.parse().ok()?,
        })
    }
}

impl fmt::Display for ControlId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{:03}-{:09}",
            self.stream.run, self.stream.connection, self.sequence
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_control_id_is_twenty_characters_and_reads_back() {
        for (seed, connection, sequence) in [(0, 1, 1), (7, 999, MAX_SEQUENCE), (u64::MAX, 42, 7)] {
            let id = ControlId {
                stream: StreamKey {
                    run: RunId::from_seed(seed),
                    connection,
                },
                sequence,
            };
            let text = id.to_string();
            assert_eq!(text.len(), CONTROL_ID_LEN, "{text}");
            assert_eq!(ControlId::parse(&text), Some(id));
        }
    }

    #[test]
    fn the_largest_run_id_is_six_z() {
        let run = RunId(RUN_IDS - 1);
        assert_eq!(run.to_string(), "ZZZZZZ");
        assert_eq!(RunId::parse("ZZZZZZ"), Some(run));
    }

    #[test]
    fn other_ids_are_not_read_as_streams() {
        for text in [
            "",
            "MSG00001",
            "K3F9ZQ-007-00000012",
            "K3F9ZQ_007-000000123",
            "k3f9zq-007-000000123",
            "K3F9ZQ-0x7-000000123",
            "K3F9ZQ-007-+00000123",
            "K3F9ZÜ-07-000000123",
        ] {
            assert_eq!(ControlId::parse(text), None, "{text}");
        }
    }
}
