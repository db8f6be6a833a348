//! Rule conditions from any text: no panic, errors inside the text, and the printed form
//! of a compiled condition compiles back to an equal one.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match ferry_rules::compile(text) {
        Ok(condition) => {
            let printed = condition.to_string();
            let again = ferry_rules::compile(&printed).expect("the printed form compiles");
            assert_eq!(again, condition, "{printed}");
        }
        Err(error) => {
            assert!(error.offset <= text.len());
            assert!(error.offset + error.len <= text.len());
        }
    }
});
