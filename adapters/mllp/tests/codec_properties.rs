//! The MLLP codec on generated streams: however the bytes are cut into reads, the same
//! blocks come out, each exactly as framed, and nothing panics on any input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::BytesMut;
use ferry_mllp::{Framed, MllpCodec, frame};
use proptest::prelude::*;
use tokio_util::codec::Decoder;

fn decode(data: &[u8], cuts: &[usize], limit: usize) -> Vec<Framed> {
    let mut codec = MllpCodec::new(limit);
    let mut buffer = BytesMut::new();
    let mut items = Vec::new();
    let mut start = 0;
    let mut points: Vec<usize> = cuts.iter().map(|cut| cut % (data.len() + 1)).collect();
    points.sort_unstable();
    points.push(data.len());
    for end in points {
        buffer.extend_from_slice(&data[start..end.max(start)]);
        start = end.max(start);
        while let Some(item) = codec.decode(&mut buffer).unwrap() {
            items.push(item);
        }
    }
    while let Some(item) = codec.decode_eof(&mut buffer).unwrap() {
        items.push(item);
    }
    items
}

/// Messages: any bytes but the frame bytes, which cannot occur inside a block.
fn message() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        any::<u8>().prop_filter("no frame bytes", |b| *b != 0x0b && *b != 0x1c),
        0..300,
    )
}

proptest! {
    #[test]
    fn framed_messages_come_out_whole_whatever_the_reads(
        messages in proptest::collection::vec(message(), 0..8),
        cuts in proptest::collection::vec(any::<usize>(), 0..20),
    ) {
        let stream: Vec<u8> = messages.iter().flat_map(|m| frame(m)).collect();
        let items = decode(&stream, &cuts, 1 << 20);
        let expected: Vec<Framed> = messages
            .iter()
            .map(|m| Framed::Message(bytes::Bytes::copy_from_slice(m)))
            .collect();
        prop_assert_eq!(items, expected);
    }

    #[test]
    fn any_bytes_decode_the_same_whatever_the_reads(
        data in proptest::collection::vec(
            prop_oneof![Just(0x0b_u8), Just(0x1c), Just(0x0d), any::<u8>()],
            0..2000,
        ),
        cuts in proptest::collection::vec(any::<usize>(), 0..20),
    ) {
        let whole = merged_junk(decode(&data, &[], 64));
        let cut = merged_junk(decode(&data, &cuts, 64));
        prop_assert_eq!(&whole, &cut);
        for item in whole {
            if let Framed::Message(message) = item {
                prop_assert!(message.len() <= 64);
            }
        }
    }
}

/// Joins neighbouring junk: where junk is cut depends on the reads, not on its bytes.
fn merged_junk(items: Vec<Framed>) -> Vec<Framed> {
    let mut out: Vec<Framed> = Vec::new();
    for item in items {
        if let (Some(Framed::Junk(previous)), Framed::Junk(next)) = (out.last_mut(), &item) {
            let mut joined = previous.to_vec();
            joined.extend_from_slice(next);
            *previous = joined.into();
            continue;
        }
        out.push(item);
    }
    out
}
