//! One OTLP JSON line (or document): any bytes must give spans or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenledger::intern::Interner;
use tokenledger::read::otlp::{parse_line, AttrKeys};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let keys = AttrKeys {
        tenant: vec!["tenant.id".into(), "gen_ai.conversation.id".into()],
        feature: "app.feature".into(),
        join: "gen_ai.response.id".into(),
    };
    let _ = parse_line(text, &keys, &mut Interner::default());
});
