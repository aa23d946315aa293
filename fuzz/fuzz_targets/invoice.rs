//! An invoice or cost report in any of the formats: any text must give lines
//! or an error, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use tokenledger::error::Skips;
use tokenledger::price::{PriceTable, BUILTIN};
use tokenledger::read::invoice::{parse_text, Context};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let table = PriceTable::parse(BUILTIN, "built-in").expect("the built-in table loads");
    let fx = [("EUR".to_string(), rust_decimal::Decimal::new(92, 2))];
    let context = Context::new("USD", &fx, &table);
    let path = Path::new("fuzz-invoice");
    let _ = parse_text(path, text, None, 0, &context, &mut Skips::new(true));
});
