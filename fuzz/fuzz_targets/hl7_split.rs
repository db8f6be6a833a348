//! Splitting any bytes, with every option: no panic, and the invariants the module states.

#![no_main]

use ferry_hl7::{Piece, SplitOptions, scan_header, split_messages};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for normalise_terminators in [true, false] {
        for lenient_lf in [true, false] {
            let options = SplitOptions {
                normalise_terminators,
                lenient_lf,
            };
            check(data, &options);
        }
    }
});

fn check(data: &[u8], options: &SplitOptions) {
    let split = split_messages(data, options);
    let mut earliest = 0;
    for piece in &split.pieces {
        assert!(piece.offset() >= earliest, "pieces out of order");
        match piece {
            Piece::Message(message) => {
                assert!(scan_header(&message.bytes).is_ok());
                let end = message.offset + message.bytes.len();
                if !options.normalise_terminators {
                    assert_eq!(&data[message.offset..end], message.bytes.as_slice());
                } else {
                    assert_eq!(message.bytes.last(), Some(&b'\r'));
                }
                earliest = message.offset + 1;
            }
            Piece::Rejected {
                offset,
                bytes,
                reason,
            } => {
                assert!(!reason.is_empty());
                assert_eq!(&data[*offset..offset + bytes.len()], bytes.as_slice());
                earliest = offset + bytes.len();
            }
        }
    }
    for warning in &split.warnings {
        assert!(warning.offset() <= data.len());
        let _ = warning.to_string();
    }
}
