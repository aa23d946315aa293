//! An invoice or cost report in any of the formats: any text must give lines
//! or an error, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use tokenledger::error::Skips;
use tokenledger::read::invoice::parse_text;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_text(
        Path::new("fuzz-invoice"),
        text,
        None,
        0,
        "USD",
        &mut Skips::new(true),
    );
});
