//! `tokenledger pricing show` and `pricing check`.

use crate::workdir::Workdir;

#[test]
fn show_prints_the_matched_entry_and_every_rate() {
    let wd = Workdir::handmade("pricing-show");
    let args = [
        "pricing",
        "show",
        "claude-test-1-20250101",
        "--at",
        "2025-06-10",
        "--pricing",
        "pricing.toml",
    ];
    assert_eq!(
        wd.run(&args),
        "claude-test-1-20250101 (anthropic) on 2025-06-10: pricing.toml:5\n\
         \x20 match:        claude-test-1, claude-test-1-*, Claude Test 1\n\
         \x20 effective:    from 2025-01-01 to 2025-06-15 (exclusive)\n\
         \x20 USD per 1M:   input 3, cache_read 0.3, cache_write_5m 3.75, cache_write_1h 6, output 15\n\
         \x20 batch:        0.5 of the standard cost\n\
         \x20 long context: above 200000 prompt tokens, the whole request at input 6, cache_read 0.6, cache_write_5m 7.5, cache_write_1h 12, output 22.5\n\
         \x20 genai-prices: model not in the catalog\n"
    );
    // After the price change on the 15th, the second entry.
    let mut later = args;
    later[4] = "2025-06-15";
    assert!(wd
        .run(&later)
        .starts_with("claude-test-1-20250101 (anthropic) on 2025-06-15: pricing.toml:24\n"));
    // No price: a negative answer, exit 1.
    let stderr = wd.fail(
        &[
            "pricing",
            "show",
            "gpt-5",
            "--at",
            "2025-06-10",
            "--pricing",
            "pricing.toml",
        ],
        1,
    );
    assert_eq!(
        stderr,
        "tokenledger: no entry of pricing.toml prices \"gpt-5\" on 2025-06-10; `tokenledger pricing check` lists every gap\n"
    );
}

#[test]
fn check_fails_on_a_gap_and_lists_rates_that_differ_from_the_catalog() {
    let wd = Workdir::new("pricing-check");
    // gpt-4o at $2.00 input where the catalog says $2.50; gpt-4o-mini has
    // no entry at all.
    wd.write(
        "pricing.toml",
        "version = \"t\"\ncurrency = \"USD\"\n\n[[model]]\nprovider = \"openai\"\n\
         match = [\"gpt-4o\", \"gpt-4o-2024-*\"]\neffective_from = 2024-08-06\n\
         input = 2.00\noutput = 10.00\ncache_read = 1.25\ncache_write_5m = 2.00\ncache_write_1h = 2.00\n",
    );
    wd.write(
        "usage.csv",
        "timestamp,request_id,provider,model,output_tokens,uncached_input_tokens,\
         cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,batch\n\
         2025-06-02T10:00:00Z,r1,openai,gpt-4o-2024-08-06,10,100,0,0,0,false\n\
         2025-06-05T10:00:00Z,r2,openai,gpt-4o-2024-08-06,10,100,0,0,0,false\n\
         2025-06-03T10:00:00Z,r3,openai,gpt-4o-mini,10,100,0,0,0,false\n",
    );
    let out = wd.output(&[
        "pricing",
        "check",
        "--pricing",
        "pricing.toml",
        "--usage",
        "usage.csv",
    ]);
    assert_eq!(out.status.code(), Some(1), "a gap fails the check");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "tokenledger: pricing check of pricing.toml (version t) against genai-prices 0.2.1: 2 (provider, model) pairs\n\
         gaps: usage with no price (add or extend a [[model]] entry):\n\
         \x20 openai gpt-4o-mini: no price for 1 record(s) on 2025-06-03; first request_id r3\n\
         possible staleness: rates (USD per 1M tokens) that differ from genai-prices:\n\
         \x20 openai gpt-4o-2024-08-06 input: 2 here (pricing.toml:4), 2.5 in genai-prices, from 2025-06-02 to 2025-06-05\n\
         \x20 openai gpt-4o-2024-08-06 cache_write_5m: 2 here (pricing.toml:4), 2.5 in genai-prices, from 2025-06-02 to 2025-06-05\n\
         \x20 openai gpt-4o-2024-08-06 cache_write_1h: 2 here (pricing.toml:4), 2.5 in genai-prices, from 2025-06-02 to 2025-06-05\n\
         1 gap(s), 3 differing rate(s)\n"
    );
}

#[test]
fn the_shipped_table_prices_the_sample_month() {
    let wd = Workdir::new("pricing-samples");
    let usage = crate::workdir::repo().join("samples/usage.csv");
    let out = wd.output(&[
        "pricing",
        "check",
        "--usage",
        usage.to_str().unwrap(),
        "--period",
        "2025-06",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.ends_with("0 gap(s), 2 differing rate(s)\n"),
        "{stdout}"
    );
}
