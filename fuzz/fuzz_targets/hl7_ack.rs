//! ACK building and reading on any bytes: building never panics and always gives an ACK
//! that reads back; reading never panics.

#![no_main]

use ferry_hl7::{AckCode, AckError, AckOptions, ErrorLocation, build_ack, read_ack, scan_header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = read_ack(data);

    let header = scan_header(data).ok();
    let reason = String::from_utf8_lossy(data);
    let error = AckError::standard(100).at(ErrorLocation::new("MSH", 1, 10));
    let options = AckOptions {
        control_id: "F1",
        timestamp: "20240101000000",
        local_application: None,
        local_facility: None,
    };
    let ack = build_ack(header.as_ref(), AckCode::AE, Some(&reason), Some(&error), &options);
    assert!(ack.ends_with(b"\r") && !ack.contains(&b'\n'));
    assert_eq!(ack.iter().filter(|&&byte| byte == b'\r').count(), 3);
    let reply = read_ack(&ack).expect("every built ACK reads back");
    assert_eq!(reply.code, AckCode::AE);
    assert_eq!(reply.ack_control_id, "F1");
});
