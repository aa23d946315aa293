//! One span line, OTLP or flat: any bytes must give spans or an error, never a
//! panic; and the OTLP fast path must read a line as serde does, or leave it
//! to serde.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenledger::intern::Interner;
use tokenledger::model::Origin;
use tokenledger::read::otlp::scan;
use tokenledger::read::span::AttrKeys;
use tokenledger::read::{flat, otlp};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let keys = AttrKeys {
        tenant: vec!["tenant.id".into(), "gen_ai.conversation.id".into()],
        feature: "app.feature".into(),
        join: vec!["gen_ai.response.id".into(), "aws.request_id".into()],
        outcome: "app.outcome".into(),
        shard: None,
    };
    assert!(
        scan::agrees(text),
        "the fast path reads {text:?} otherwise than serde"
    );
    let origin = Origin { file: 0, line: 1 };
    let mut interner = Interner::default();
    let _ = otlp::parse_line(
        text,
        origin,
        &keys,
        &mut interner,
        (&mut |_| {}, &mut |_| {}),
    );
    let _ = flat::parse_line(text, origin, &keys, &mut interner, &mut |_| {});
});
