//! The MSH pre-scan on any bytes: no panic, and an accepted header reads consistently.

#![no_main]

use ferry_hl7::scan_header;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(header) = scan_header(data) else {
        return;
    };
    assert!(data.starts_with(b"MSH"));

    let delimiters = header.delimiters;
    assert_eq!(header.field(1), Some(&[delimiters.field][..]));
    let encoding_characters = header.field(2).unwrap_or_default();
    assert_eq!(
        encoding_characters,
        delimiters.encoding_characters().as_bytes()
    );

    let _ = header.doc_type();
    let _ = header.structure();
    let _ = header.control_id();
    let _ = header.character_set();
    for number in 0..30 {
        let _ = header.field(number);
    }
});
