//! An invoice reconciled against fixed usage and then trued up: any invoice
//! must reconcile (or fail to read) without a panic, and the true-up must
//! never overflow.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use tokenledger::error::Skips;
use tokenledger::intern::Interner;
use tokenledger::model::RequestIds;
use tokenledger::price::{price_all, PriceTable, BUILTIN};
use tokenledger::read::invoice::{parse_text, Context};
use tokenledger::read::usage::{read_from, UsageFormat};
use tokenledger::reconcile::{reconcile, Names, Tolerance};

const USAGE: &str = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch
a,2025-06-10T09:00:00Z,anthropic,claude-sonnet-4-20250514,1000,2000,400,10,500,false
b,2025-06-11T09:00:00Z,openai,gpt-4.1-2025-04-14,7,3,0,0,1,true
";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut skips = Skips::new(true);
    let table = PriceTable::parse(BUILTIN, "built-in").expect("the built-in table loads");
    let context = Context::new("USD", &[], &table);
    let path = Path::new("fuzz-invoice");
    let Ok((_, lines)) = parse_text(path, text, None, 0, &context, &mut skips) else {
        return;
    };
    let mut interner = Interner::default();
    let mut records = Vec::new();
    let mut ids = RequestIds::default();
    read_from(
        USAGE.as_bytes(),
        Path::new("u.csv"),
        UsageFormat::Canonical,
        (0, 1),
        &mut interner,
        &mut skips,
        &mut |r| {
            assert!(ids.push(&r.request_id));
            records.push(r.record);
        },
    )
    .expect("fixed usage reads");
    let at = |o: tokenledger::model::Origin| format!("usage:{}", { o.line });
    let costs = price_all(&table, (&records, &ids), &interner, &at).expect("fixed usage is priced");
    let names = Names::new(&records, &table, &interner);
    let tolerance = Tolerance {
        pct: rust_decimal::Decimal::ONE,
        usd: rust_decimal::Decimal::ONE,
    };
    let rec = reconcile(&records, &costs, &lines, &table, &names, tolerance);
    let _ = rec.failed();
    let _ = rec.billed(&records, &costs, &names, &table);
});
