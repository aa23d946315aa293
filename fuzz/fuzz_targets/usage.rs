//! Billed usage in every format (canonical CSV, LiteLLM, OpenRouter,
//! Bedrock), read leniently and then priced: any bytes must give records
//! (each priced or reported unpriced) or an error, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use tokenledger::error::Skips;
use tokenledger::intern::Interner;
use tokenledger::model::{Origin, RequestIds};
use tokenledger::price::{price_all, PriceTable, BUILTIN};
use tokenledger::read::usage::{read_from, UsageFormat};

const FORMATS: [UsageFormat; 4] = [
    UsageFormat::Canonical,
    UsageFormat::Litellm,
    UsageFormat::Openrouter,
    UsageFormat::Bedrock,
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, data)) = data.split_first() else {
        return;
    };
    let format = FORMATS[usize::from(selector) % FORMATS.len()];
    let mut interner = Interner::default();
    let mut records = Vec::new();
    let mut ids = RequestIds::default();
    let mut skips = Skips::new(true);
    let path = Path::new("fuzz-usage");
    let read = read_from(
        data,
        path,
        format,
        (0, 2),
        &mut interner,
        &mut skips,
        &mut |r| {
            if ids.push(&r.request_id) {
                records.push(r.record);
            }
        },
    );
    if read.is_ok() {
        let table = PriceTable::parse(BUILTIN, "built-in").expect("the built-in table loads");
        let at = |o: Origin| format!("input:{}", { o.line });
        let _ = price_all(&table, (&records, &ids), &interner, &at);
    }
});
