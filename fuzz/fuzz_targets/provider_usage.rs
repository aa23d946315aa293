//! A provider usage report (OpenAI or Anthropic, pages or CSV): any text
//! must give rows or an error, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use tokenledger::error::Skips;
use tokenledger::read::provider_usage::parse_text;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_text(
        Path::new("fuzz-provider-usage"),
        text,
        &mut Skips::new(true),
    );
});
