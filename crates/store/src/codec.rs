//! Value encoding: one format version byte, then postcard.
//!
//! The version byte lets a later Ferry change a record's layout and still read the old one;
//! this build reads only [`FORMAT_VERSION`] and reports anything else as
//! [`StoreError::Corrupt`], never a panic.

use jiff::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::StoreError;
use crate::keys;

/// The version byte at the start of every value this build writes.
pub(crate) const FORMAT_VERSION: u8 = 1;

/// A record as stored: the version byte, then its postcard encoding.
pub(crate) fn encode<T: Serialize>(record: &T) -> Result<Vec<u8>, StoreError> {
    postcard::to_extend(record, vec![FORMAT_VERSION]).map_err(|err| StoreError::Corrupt {
        key: "(record being written)".to_owned(),
        reason: format!("cannot encode: {err}"),
    })
}

/// The record stored under `key`.
///
/// # Errors
///
/// [`StoreError::Corrupt`] for an unknown version byte, bytes postcard cannot read, or
/// bytes left over after the record.
pub(crate) fn decode<T: DeserializeOwned>(key: &[u8], value: &[u8]) -> Result<T, StoreError> {
    let payload = payload(key, value)?;

    let (record, rest) = postcard::take_from_bytes(payload).map_err(|err| corrupt(key, err))?;
    if !rest.is_empty() {
        return Err(corrupt(
            key,
            format!("{} bytes after the record", rest.len()),
        ));
    }
    Ok(record)
}

/// Raw bytes behind the version byte (body chunks).
pub(crate) fn encode_raw(bytes: &[u8]) -> Vec<u8> {
    let mut value = Vec::with_capacity(1 + bytes.len());
    value.push(FORMAT_VERSION);
    value.extend_from_slice(bytes);
    value
}

/// The bytes behind the version byte, after checking it.
pub(crate) fn payload<'v>(key: &[u8], value: &'v [u8]) -> Result<&'v [u8], StoreError> {
    match value.split_first() {
        Some((&FORMAT_VERSION, payload)) => Ok(payload),
        Some((version, _)) => Err(corrupt(
            key,
            format!("format version {version}, this build reads {FORMAT_VERSION}"),
        )),
        None => Err(corrupt(key, "empty value")),
    }
}

/// A timestamp as stored: microseconds since the Unix epoch.
pub(crate) fn micros(time: Timestamp) -> i64 {
    time.as_microsecond()
}

/// The timestamp a stored microsecond count stands for.
pub(crate) fn timestamp(key: &[u8], micros: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(micros).map_err(|err| corrupt(key, err))
}

/// A corruption error naming `key`.
pub(crate) fn corrupt(key: &[u8], reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        key: keys::describe(key),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let value = encode(&(7u64, "x".to_owned())).unwrap();
        assert_eq!(value[0], FORMAT_VERSION);
        let back: (u64, String) = decode(b"H1", &value).unwrap();
        assert_eq!(back, (7, "x".to_owned()));
    }

    #[test]
    fn an_unknown_version_is_corrupt() {
        let mut value = encode(&7u64).unwrap();
        value[0] = FORMAT_VERSION + 1;
        let err = decode::<u64>(b"H1", &value).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("format version 2"));
    }

    #[test]
    fn truncated_and_trailing_bytes_are_corrupt() {
        let value = encode(&(7u64, "seven".to_owned())).unwrap();
        assert!(decode::<(u64, String)>(b"H1", &value[..value.len() - 1]).is_err());
        let mut longer = value.clone();
        longer.push(0);
        assert!(decode::<(u64, String)>(b"H1", &longer).is_err());
        assert!(decode::<u64>(b"H1", &[]).is_err());
    }
}
