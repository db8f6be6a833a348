//! Scan, decode, parse and read a few paths from any bytes: no panic; escaping round-trips.

#![no_main]

use ferry_hl7::encoding_rs::WINDOWS_1252;
use ferry_hl7::{FieldPath, Hl7Message, decode, escape, scan_header, unescape};
use libfuzzer_sys::fuzz_target;

const PATHS: &[&str] = &[
    "MSH-1",
    "MSH-2",
    "MSH-3",
    "MSH-9.1",
    "MSH-9.2",
    "MSH-10",
    "MSH-18",
    "PID-3[2].1",
    "PID-5.1.2",
    "OBX[2]-5",
    "OBX-5[3]",
    "ZPI-2[1].1",
    "EVN-1.1.1",
];

fuzz_target!(|data: &[u8]| {
    let charset = scan_header(data)
        .ok()
        .map(|header| header.character_set().into_owned());
    let decoded = decode(data, charset.as_deref(), WINDOWS_1252);
    let text = decoded.text;

    if let Ok(message) = Hl7Message::parse(&text) {
        assert!(message.segment_count() >= 1);
        let delimiters = message.delimiters();
        for path in PATHS {
            let path = FieldPath::parse(path).expect("the paths above are valid");
            let _ = message.get(&path);
            if let Some(raw) = message.get_raw(&path) {
                let _ = unescape(raw, &delimiters);
            }
        }
        let escaped = escape(&text, &delimiters);
        assert_eq!(unescape(&escaped, &delimiters).text, text);
    }
});
