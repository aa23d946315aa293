//! A pricing table: any text must load or give an error, never a panic; a
//! loaded table must price any request without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenledger::model::{Modality, Tier, Tokens};
use tokenledger::price::{PriceTable, Qualifiers};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(table) = PriceTable::parse(text, "fuzz.toml") else {
        return;
    };
    let most = Tokens([tokenledger::model::MAX_TOKENS; 5]);
    for entry in &table.entries {
        for tier in Tier::ALL {
            let qualifiers = Qualifiers {
                tier,
                geo: Some("us"),
                fast: true,
            };
            let _ = entry.cost(&most, &[], &qualifiers);
            let max = tokenledger::model::MAX_TOKENS;
            let audio = [(Modality::AudioInput, max), (Modality::ImageOutput, 1)];
            let _ = entry.cost(&most, &audio, &qualifiers);
        }
        let _ = entry.cost(&Tokens::default(), &[], &Qualifiers::default());
        for (charge, _) in &entry.requests {
            let _ = entry.fee(charge, u64::MAX);
        }
    }
});
