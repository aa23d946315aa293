//! A pricing table: any text must load or give an error, never a panic; a
//! loaded table must price any request without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenledger::model::{Modality, Tier, Tokens};
use tokenledger::price::{PriceTable, Qualifiers, Window};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(table) = PriceTable::parse(text, "fuzz.toml") else {
        return;
    };
    let most = Tokens::new([tokenledger::model::MAX_TOKENS; 5]).expect("the most a record may hold");
    for entry in &table.entries {
        // Each time-of-day window, outside them all, and an unknown time.
        let windows = entry.hours.iter().map(|h| Some(Window::In(h.from, h.to)));
        let windows: Vec<Option<Window>> = windows.chain([Some(Window::Other), None]).collect();
        for (tier, hours) in Tier::ALL
            .into_iter()
            .flat_map(|t| windows.iter().map(move |w| (t, *w)))
        {
            let qualifiers = Qualifiers {
                tier,
                geo: Some("us"),
                fast: true,
                hours,
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
