//! `tokenledger pricing show` and `pricing check`.

use crate::workdir::{reseal, Workdir};

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

/// A table with flex and priority tiers, a US region and fast mode.
const TIERED_PRICING: &str = r#"version = "tiers"
currency = "USD"

[[model]]
provider = "openai"
match = ["gpt-x"]
effective_from = 2025-01-01
input = 2.00
output = 8.00
cache_read = 0.50
cache_write_5m = 0
cache_write_1h = 0
[model.tiers.flex]
multiplier = 0.5
[model.tiers.priority]
input = 3.50
output = 14.00
cache_read = 0.875
cache_write_5m = 0
cache_write_1h = 0
[model.geo.us]
multiplier = 1.1
[model.speed.fast]
multiplier = 6
"#;

/// One million input and 100,000 output tokens per request: $2.80 at the
/// standard rates.
const TIERED_USAGE: &str = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,service_tier,inference_geo,speed
r1,2025-06-02T00:00:00Z,openai,gpt-x,1000000,0,0,0,100000,standard,,
r2,2025-06-02T01:00:00Z,openai,gpt-x,1000000,0,0,0,100000,flex,,
r3,2025-06-02T02:00:00Z,openai,gpt-x,1000000,0,0,0,100000,priority,global,standard
r4,2025-06-02T03:00:00Z,openai,gpt-x,1000000,0,0,0,100000,,us,
r5,2025-06-02T04:00:00Z,openai,gpt-x,1000000,0,0,0,100000,priority,US,fast
";

fn tiered(name: &str) -> Workdir {
    let wd = Workdir::handmade(name);
    wd.write("pricing.toml", TIERED_PRICING);
    wd.write("usage.csv", TIERED_USAGE);
    wd
}

#[test]
fn tiers_regions_and_speed_are_priced_and_kept_in_the_ledger() {
    let wd = tiered("tiers");
    wd.run(&crate::workdir::HANDMADE_REPORT);
    // standard 2.80; flex half of it, 1.40; priority at its own rates, 4.90;
    // US 1.1 × 2.80 = 3.08; priority in the US in fast mode 4.90 × 1.1 × 6
    // = 32.34. Total 44.52.
    let summary = wd.read("out/summary.json");
    assert!(summary.contains("\"cost_usd\": \"44.520000\""), "{summary}");
    let ledger = crate::workdir::csv_rows(&wd.read("out/ledger.csv"));
    let inputs: Vec<String> = ledger[1..]
        .iter()
        .filter(|l| l[3] == "input")
        .map(|l| format!("{} {} {} {} {}", l[4], l[5], l[6], l[17], l[18]))
        .collect();
    assert_eq!(
        inputs,
        [
            "standard global standard 2 2",
            "standard us standard 2.2 2.2",
            "flex global standard 1 1",
            "priority global standard 3.5 3.5",
            "priority us fast 23.1 23.1",
        ]
    );
    let show = wd.run(&[
        "pricing",
        "show",
        "gpt-x",
        "--pricing",
        "pricing.toml",
        "--at",
        "2025-06-02",
    ]);
    assert!(
        show.contains("  tier flex:    0.5 × every rate\n"),
        "{show}"
    );
    assert!(show.contains("  region us: 1.1 × every rate\n"), "{show}");
    assert!(show.contains("  speed fast:   6 × every rate\n"), "{show}");
}

#[test]
fn a_tier_region_or_speed_without_a_rate_stops_the_run() {
    for (drop, why, records) in [
        (
            "[model.geo.us]\nmultiplier = 1.1\n",
            "no [model.geo.<region>] for its inference_geo (global for a Bedrock global. profile)",
            2,
        ),
        (
            "[model.speed.fast]\nmultiplier = 6\n",
            "no [model.speed.fast] for its speed",
            1,
        ),
        (
            "[model.tiers.flex]\nmultiplier = 0.5\n",
            "no [model.tiers.flex]",
            1,
        ),
    ] {
        let wd = tiered("tier-gap");
        wd.write("pricing.toml", &TIERED_PRICING.replace(drop, ""));
        let stderr = wd.fail(&crate::workdir::HANDMADE_REPORT, 2);
        assert!(
            stderr.contains(&format!(
                "openai gpt-x: {why} for {records} record(s) on 2025-06-02"
            )),
            "{stderr}"
        );
    }
    let wd = tiered("tier-bad");
    wd.write("usage.csv", &TIERED_USAGE.replace(",flex,", ",turbo,"));
    let stderr = wd.fail(&crate::workdir::HANDMADE_REPORT, 2);
    assert!(
        stderr.contains("usage.csv:3: service_tier: expected standard, default, batch, flex or priority, got \"turbo\""),
        "{stderr}"
    );
}

#[test]
fn per_request_charges_are_priced_attributed_reconciled_and_never_free() {
    let wd = tiered("web-search");
    wd.write(
        "pricing.toml",
        &format!("{TIERED_PRICING}[model.requests]\nweb_search = 10.00\n"),
    );
    // r1 made 3 web searches: $2.80 of tokens and 3 × $10 / 1,000 = $0.03.
    wd.write(
        "usage.csv",
        "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch,web_search_requests
r1,2025-06-02T00:00:00Z,openai,gpt-x,1000000,0,0,0,100000,false,3
r2,2025-06-02T01:00:00Z,openai,gpt-x,1000000,0,0,0,100000,false,
",
    );
    wd.write(
        "invoice.csv",
        "provider,model,token_type,amount_usd\nopenai,gpt-x,input,4\nopenai,gpt-x,output,1.6\nopenai,gpt-x,web_search_requests,0.03\n",
    );
    let mut args = crate::workdir::HANDMADE_REPORT.to_vec();
    args.extend(["--invoice", "invoice.csv", "--true-up", "--quiet"]);
    wd.run(&args);
    let summary = wd.read("out/summary.json");
    assert!(
        summary.contains("\"cost_requests_usd\": \"0.030000\""),
        "{summary}"
    );
    assert!(summary.contains("\"cost_usd\": \"5.630000\""), "{summary}");
    let models = crate::workdir::csv_rows(&wd.read("out/by_model.csv"));
    let column = |name: &str| models[0].iter().position(|c| c == name).unwrap();
    assert_eq!(models[1][column("web_search_requests")], "3");
    assert_eq!(models[1][column("cost_requests_usd")], "0.030000");
    assert_eq!(models[1][column("cost_usd")], "5.630000");
    assert_eq!(models[1][column("billed_usd")], "5.630000");
    let ledger = wd.read("out/ledger.csv");
    assert!(
        ledger.contains(",web_search,standard,global,standard,,false,")
            && ledger.contains(",1,3,1000 requests,10,0.03\n"),
        "{ledger}"
    );
    assert!(wd
        .read("out/reconciliation.csv")
        .contains("\nopenai,gpt-x,web_search,,0.030000,0.030000,0.000000,0.00,ok,\n"));
    let focus = wd.read("out/focus.csv");
    assert!(
        focus.contains(",gpt-x web_search requests,0.030000,0.030000,0.030000,"),
        "{focus}"
    );
    assert!(
        focus.contains(",3,Requests,0.003,1000 Requests,10,"),
        "{focus}"
    );
    // An invoice that bills the searches $0.005 less: the true-up puts the
    // difference on the searches, and every file still adds up.
    wd.write(
        "invoice.csv",
        "provider,model,token_type,amount_usd\nopenai,gpt-x,input,4\nopenai,gpt-x,output,1.6\nopenai,gpt-x,web_search_requests,0.025\n",
    );
    let mut trued = crate::workdir::HANDMADE_REPORT.to_vec();
    trued[8] = "out-trued";
    trued.extend(["--invoice", "invoice.csv", "--true-up", "--quiet"]);
    wd.run(&trued);
    let models = crate::workdir::csv_rows(&wd.read("out-trued/by_model.csv"));
    assert_eq!(models[1][column("billed_usd")], "5.625000");
    let focus = wd.read("out-trued/focus.csv");
    assert!(
        focus.contains(",gpt-x web_search requests,0.025000,0.025000,0.030000,"),
        "{focus}"
    );
    // diff reprices the request line at the same table: no price effect.
    let diff = wd.run(&["diff", "out", "out"]);
    assert!(diff.contains("  price effect  +$0.000000"), "{diff}");
    // Without a price for the charge, the run stops: never a silent $0.
    wd.write("pricing.toml", TIERED_PRICING);
    let stderr = wd.fail(&crate::workdir::HANDMADE_REPORT, 2);
    assert!(
        stderr.contains("openai gpt-x: no [model.requests] price for its web_search requests for 1 record(s) on 2025-06-02"),
        "{stderr}"
    );
}

#[test]
fn a_table_that_extends_the_built_in_one_overrides_only_what_it_names() {
    // Negotiated o3 rates over the built-in table: o3 is priced by the
    // override, every other model by the built-in table; the month saves
    // both files so diff reprices it without the original.
    let wd = Workdir::handmade("extends");
    wd.write(
        "negotiated.toml",
        r#"version = "acme-2025"
currency = "USD"
extends = "built-in"

[[model]]
provider = "openai"
match = ["o3*"]
effective_from = 2025-01-01
source = "https://example.com/contracts/openai-2025.pdf"
input = 1.00
output = 4.00
cache_read = 0.25
cache_write_5m = 1.00
cache_write_1h = 1.00
"#,
    );
    wd.write(
        "usage.csv",
        "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch
r1,2025-06-02T00:00:00Z,openai,o3-2025-04-16,1000000,0,0,0,0,false
r2,2025-06-02T00:00:00Z,openai,gpt-4.1-2025-04-14,1000000,0,0,0,0,false
",
    );
    wd.run(&[
        "report",
        "--spans",
        "spans",
        "--usage",
        "usage.csv",
        "--pricing",
        "negotiated.toml",
        "--min-match",
        "0",
        "--quiet",
        "--out",
        "out",
    ]);
    // o3 at the negotiated $1, gpt-4.1 at the built-in $2.
    let models = crate::workdir::csv_rows(&wd.read("out/by_model.csv"));
    let cost = models[0].iter().position(|c| c == "cost_usd").unwrap();
    let row = |m: &str| models.iter().find(|r| r[0] == m).unwrap()[cost].clone();
    assert_eq!(row("o3-2025-04-16"), "1.000000");
    assert_eq!(row("gpt-4.1-2025-04-14"), "2.000000");
    // pricing show names the file each rate came from, and its source.
    let show = wd.run(&[
        "pricing",
        "show",
        "o3",
        "--pricing",
        "negotiated.toml",
        "--at",
        "2025-06-02",
    ]);
    assert!(
        show.starts_with("o3 (openai) on 2025-06-02: negotiated.toml:5\n"),
        "{show}"
    );
    assert!(
        show.contains("  source:       https://example.com/contracts/openai-2025.pdf\n"),
        "{show}"
    );
    let show = wd.run(&[
        "pricing",
        "show",
        "gpt-4.1",
        "--pricing",
        "negotiated.toml",
        "--at",
        "2025-06-02",
    ]);
    assert!(
        show.starts_with("gpt-4.1 (openai) on 2025-06-02: built-in:"),
        "{show}"
    );
    // The saved copy points at the saved base, and reloads as the same table.
    let saved = wd.read("out/pricing.toml");
    assert!(
        saved.contains("\nextends = \"pricing-base.toml\"\n"),
        "{saved}"
    );
    assert_eq!(
        wd.read("out/pricing-base.toml"),
        std::fs::read_to_string(crate::workdir::repo().join("pricing.toml")).unwrap()
    );
    let diff = wd.run(&["diff", "out", "out"]);
    assert!(diff.contains("  price effect  +$0.000000"), "{diff}");
    // A table without extends stays the whole table: no fallback to list
    // prices for a model it forgot.
    wd.write(
        "negotiated.toml",
        &wd.read("negotiated.toml")
            .replace("extends = \"built-in\"\n", ""),
    );
    let stderr = wd.fail(
        &[
            "report",
            "--spans",
            "spans",
            "--usage",
            "usage.csv",
            "--pricing",
            "negotiated.toml",
            "--min-match",
            "0",
            "--quiet",
            "--out",
            "out2",
        ],
        2,
    );
    assert!(
        stderr.contains("openai gpt-4.1-2025-04-14: no price for 1 record(s)"),
        "{stderr}"
    );
}

#[test]
fn list_shows_what_a_table_prices_with_where_each_entry_comes_from() {
    let wd = Workdir::new("pricing-list");
    let list = wd.run(&["pricing", "list", "o3-2025", "--provider", "openai"]);
    // Both o3 entries of the built-in table: before and after the cut.
    let rows: Vec<&str> = list
        .lines()
        .filter(|l| l.contains("o3-2025-04-16"))
        .collect();
    assert_eq!(rows.len(), 2, "{list}");
    assert!(
        rows[0].contains("2025-04-16 to 2025-06-10") && rows[0].contains(" 10 "),
        "{list}"
    );
    assert!(
        rows[1].contains("2025-06-10 on") && rows[1].contains(" 2 "),
        "{list}"
    );
    assert!(rows.iter().all(|r| r.contains("built-in:")), "{list}");
    let at = wd.run(&["pricing", "list", "o3-2025", "--at", "2025-07-01"]);
    assert_eq!(
        at.lines().filter(|l| l.contains("o3-2025-04-16")).count(),
        1,
        "{at}"
    );
    let stderr = wd.fail(&["pricing", "list", "no-such-model"], 1);
    assert!(stderr.contains("no entry of built-in matches"), "{stderr}");
}

#[test]
fn audio_and_image_tokens_are_priced_at_their_own_rates_else_as_text() {
    let wd = tiered("audio");
    let audio_pricing = TIERED_PRICING.replace(
        "output = 8.00\n",
        "output = 8.00\ninput_audio = 40.00\noutput_audio = 80.00\n",
    );
    wd.write("pricing.toml", &audio_pricing);
    // 1,000,000 input tokens of which 100,000 audio; 100,000 output of
    // which 10,000 audio. Text: 900,000 × $2 + 90,000 × $8 = 1.80 + 0.72;
    // audio: 100,000 × $40 + 10,000 × $80 = 4.00 + 0.80. Total $7.32.
    let usage = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch,audio_input_tokens,audio_output_tokens
r1,2025-06-02T00:00:00Z,openai,gpt-x,1000000,0,0,0,100000,false,100000,10000
";
    wd.write("usage.csv", usage);
    wd.run(&crate::workdir::HANDMADE_REPORT);
    let models = crate::workdir::csv_rows(&wd.read("out/by_model.csv"));
    let column = |name: &str| models[0].iter().position(|c| c == name).unwrap();
    assert_eq!(models[1][column("audio_input_tokens")], "100000");
    assert_eq!(models[1][column("audio_output_tokens")], "10000");
    assert_eq!(models[1][column("cost_input_usd")], "5.800000");
    assert_eq!(models[1][column("cost_output_usd")], "1.520000");
    assert_eq!(models[1][column("cost_usd")], "7.320000");
    let ledger = crate::workdir::csv_rows(&wd.read("out/ledger.csv"));
    let lines: Vec<String> = ledger[1..]
        .iter()
        .map(|l| format!("{} {} {} {}", l[3], l[15], l[17], l[18]))
        .collect();
    assert_eq!(
        lines,
        [
            "input 900000 2 1.8",
            "output 90000 8 0.72",
            "input_audio 100000 40 4",
            "output_audio 10000 80 0.8",
        ]
    );
    let diff = wd.run(&["diff", "out", "out"]);
    assert!(diff.contains("  price effect  +$0.000000"), "{diff}");
    // An entry without audio rates prices audio as the text it is a part
    // of: 1,000,000 × $2 + 100,000 × $8 = $2.80.
    wd.write("pricing.toml", TIERED_PRICING);
    wd.run(&crate::workdir::HANDMADE_REPORT);
    assert!(wd
        .read("out/summary.json")
        .contains("\"cost_usd\": \"2.800000\""));
    // Priority's explicit rates have no audio rate, for an entry that
    // prices audio apart: the run stops, never guessing.
    wd.write("pricing.toml", &audio_pricing);
    let priority = usage
        .replace(
            ",batch,audio_input_tokens",
            ",service_tier,audio_input_tokens",
        )
        .replace(",false,100000,10000", ",priority,100000,10000");
    wd.write("usage.csv", &priority);
    let stderr = wd.fail(&crate::workdir::HANDMADE_REPORT, 2);
    assert!(
        stderr.contains("openai gpt-x: no input_audio rate in its tier's explicit rates for its audio_input_tokens for 1 record(s)"),
        "{stderr}"
    );
    // More audio than input is a bad record.
    wd.write(
        "usage.csv",
        &usage.replace(",100000,10000\n", ",2000000,0\n"),
    );
    let stderr = wd.fail(&crate::workdir::HANDMADE_REPORT, 2);
    assert!(
        stderr.contains("usage.csv:2: 2000000 audio and image tokens, more than the 1000000 uncached_input_tokens they are a part of"),
        "{stderr}"
    );
}

/// gpt-5.4's shape: a long-context tier over 272k tokens, flex at its own
/// rates with its own long-context and audio rates, priority flat.
const LONG_TIERED_PRICING: &str = r#"version = "long tiers"
currency = "USD"

[[model]]
provider = "openai"
match = ["gpt-y"]
effective_from = 2025-01-01
input = 2.50
output = 15.00
cache_read = 0.25
cache_write_5m = 2.50
cache_write_1h = 2.50
input_audio = 10.00
[model.long_context]
threshold = 272000
input = 5.00
output = 22.50
cache_read = 0.50
cache_write_5m = 5.00
cache_write_1h = 5.00
[model.tiers.flex]
input = 1.25
output = 7.50
cache_read = 0.13
cache_write_5m = 1.25
cache_write_1h = 1.25
input_audio = 5.00
[model.tiers.flex.long_context]
input = 2.50
output = 11.25
cache_read = 0.25
cache_write_5m = 2.50
cache_write_1h = 2.50
[model.tiers.priority]
input = 5.00
output = 30.00
cache_read = 0.50
cache_write_5m = 5.00
cache_write_1h = 5.00
"#;

#[test]
fn a_tier_prices_long_prompts_and_audio_at_its_own_rates() {
    let wd = Workdir::handmade("long-tiers");
    wd.write("pricing.toml", LONG_TIERED_PRICING);
    // r1 flex over 272k: 300,000 × $2.50 + 10,000 × $11.25 = 0.8625.
    // r2 flex under it, 10,000 of its 100,000 input tokens audio:
    //    90,000 × $1.25 + 10,000 × $5 + 10,000 × $7.50 = 0.2375.
    // r3 priority over 272k, flat: 300,000 × $5 + 10,000 × $30 = 1.80.
    // r4 standard over 272k: 300,000 × $5 + 10,000 × $22.50 = 1.725.
    let usage = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,service_tier,audio_input_tokens
r1,2025-06-02T00:00:00Z,openai,gpt-y,300000,0,0,0,10000,flex,0
r2,2025-06-02T01:00:00Z,openai,gpt-y,100000,0,0,0,10000,flex,10000
r3,2025-06-02T02:00:00Z,openai,gpt-y,300000,0,0,0,10000,priority,0
r4,2025-06-02T03:00:00Z,openai,gpt-y,300000,0,0,0,10000,standard,0
";
    wd.write("usage.csv", usage);
    wd.run(&crate::workdir::HANDMADE_REPORT);
    let summary = wd.read("out/summary.json");
    assert!(summary.contains("\"cost_usd\": \"4.625000\""), "{summary}");
    let ledger = crate::workdir::csv_rows(&wd.read("out/ledger.csv"));
    let lines: Vec<String> = ledger[1..]
        .iter()
        .map(|l| format!("{} {} {} {} {}", l[3], l[4], l[8], l[17], l[18]))
        .collect();
    assert_eq!(
        lines,
        [
            "input standard true 5 1.5",
            "input flex false 1.25 0.1125",
            "input flex true 2.5 0.75",
            "input priority true 5 1.5",
            "output standard true 22.5 0.225",
            "output flex false 7.5 0.075",
            "output flex true 11.25 0.1125",
            "output priority true 30 0.3",
            "input_audio flex false 5 0.05",
        ]
    );
    let show = wd.run(&["pricing", "show", "gpt-y", "--pricing", "pricing.toml"]);
    assert!(
        show.contains("  tier flex:    input 1.25, cache_read 0.13, cache_write_5m 1.25, cache_write_1h 1.25, output 7.5; long context input 2.5, cache_read 0.25, cache_write_5m 2.5, cache_write_1h 2.5, output 11.25, input_audio 5\n"),
        "{show}"
    );
    // Priority lists no audio rate: its audio stops the run.
    wd.write("usage.csv", &usage.replace("priority,0", "priority,1000"));
    let stderr = wd.fail(&crate::workdir::HANDMADE_REPORT, 2);
    assert!(
        stderr.contains("openai gpt-y: no input_audio rate in its tier's explicit rates"),
        "{stderr}"
    );
    // A tier's long-context rates need the entry's threshold.
    let no_threshold = LONG_TIERED_PRICING.replace(
        "[model.long_context]\nthreshold = 272000\ninput = 5.00\noutput = 22.50\ncache_read = 0.50\ncache_write_5m = 5.00\ncache_write_1h = 5.00\n",
        "",
    );
    wd.write("pricing.toml", &no_threshold);
    let stderr = wd.fail(&crate::workdir::HANDMADE_REPORT, 2);
    assert!(
        stderr.contains("pricing.toml:4: the [[model]] entry at line 4: a tier's long_context rates need the entry's [model.long_context] (its threshold)"),
        "{stderr}"
    );
}

#[test]
fn the_shipped_table_prices_every_text_model_of_the_catalog() {
    let wd = Workdir::new("pricing-coverage");
    let out = wd.output(&["pricing", "check", "--period", "2026-11"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains(
            "every text model genai-prices lists for anthropic, openai, google, aws.bedrock, \
             mistral, xai, deepseek is priced on 2026-11-01\n"
        ),
        "{stdout}"
    );
    // DeepSeek's peak hours have their own rates.
    let show = wd.run(&["pricing", "show", "deepseek-chat", "--at", "2026-04-01"]);
    assert!(
        show.contains("  hours 00:30-16:30: input 0.27, cache_read 0.07, cache_write_5m 0.27, cache_write_1h 0.27, output 1.1\n"),
        "{show}"
    );
    // The models a new user tried first, each on a day of its own era.
    for (model, day) in [
        ("gpt-4o-2024-08-06", "2025-06-02"),
        ("gpt-3.5-turbo", "2025-06-02"),
        ("o4-mini", "2025-06-02"),
        ("claude-3-7-sonnet-20250219", "2025-06-02"),
        ("claude-sonnet-4-6", "2026-04-01"),
        ("gemini-2.0-flash", "2025-06-02"),
        ("gpt-5.4", "2026-04-01"),
        ("mistral-large-latest", "2026-04-01"),
        ("grok-4", "2026-04-01"),
    ] {
        wd.run(&["pricing", "show", model, "--at", day]);
    }
    // gpt-5.4: prompts over 272k tokens at 2× input and 1.5× output.
    let show = wd.run(&["pricing", "show", "gpt-5.4", "--at", "2026-04-01"]);
    assert!(
        show.contains("  long context: above 272000 prompt tokens, the whole request at input 5, cache_read 0.5, cache_write_5m 5, cache_write_1h 5, output 22.5\n"),
        "{show}"
    );
}

/// DeepSeek's shape: off-peak rates, and peak windows at their own rates,
/// one of them running past midnight.
const HOURS_PRICING: &str = r#"version = "hours"
currency = "USD"

[[model]]
provider = "deepseek"
match = ["deepseek-x"]
effective_from = 2025-01-01
input = 0.135
output = 0.55
cache_read = 0.035
cache_write_5m = 0.135
cache_write_1h = 0.135
[[model.hours]]
from = "00:30"
to = "16:30"
input = 0.27
output = 1.10
cache_read = 0.07
cache_write_5m = 0.27
cache_write_1h = 0.27
[[model.hours]]
from = "22:00"
to = "00:30"
input = 0.50
output = 2.00
cache_read = 0.10
cache_write_5m = 0.50
cache_write_1h = 0.50
"#;

#[test]
fn time_of_day_windows_price_each_request_by_its_utc_time() {
    let wd = Workdir::handmade("hours");
    wd.write("pricing.toml", HOURS_PRICING);
    // 1,000,000 input and 100,000 output tokens each:
    // 00:29 in the late window (past midnight): 0.50 + 0.20 = 0.70;
    // 00:30 and 16:29 peak: 0.27 + 0.11 = 0.38 each;
    // 16:30 and 21:59 off-peak: 0.135 + 0.055 = 0.19 each;
    // 23:00 late: 0.70. Total 2.54.
    let usage = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch
r1,2025-06-02T00:29:59Z,deepseek,deepseek-x,1000000,0,0,0,100000,false
r2,2025-06-02T00:30:00Z,deepseek,deepseek-x,1000000,0,0,0,100000,false
r3,2025-06-02T16:29:59Z,deepseek,deepseek-x,1000000,0,0,0,100000,false
r4,2025-06-02T16:30:00Z,deepseek,deepseek-x,1000000,0,0,0,100000,false
r5,2025-06-02T21:59:00Z,deepseek,deepseek-x,1000000,0,0,0,100000,false
r6,2025-06-02T23:00:00Z,deepseek,deepseek-x,1000000,0,0,0,100000,false
";
    wd.write("usage.csv", usage);
    wd.run(&crate::workdir::HANDMADE_REPORT);
    let summary = wd.read("out/summary.json");
    assert!(summary.contains("\"cost_usd\": \"2.540000\""), "{summary}");
    let ledger = crate::workdir::csv_rows(&wd.read("out/ledger.csv"));
    assert_eq!(ledger[0][7], "hours");
    let lines: Vec<String> = ledger[1..]
        .iter()
        .map(|l| format!("{} [{}] {} {} {}", l[3], l[7], l[14], l[17], l[18]))
        .collect();
    assert_eq!(
        lines,
        [
            "input [other] 2 0.135 0.27",
            "input [00:30-16:30] 2 0.27 0.54",
            "input [22:00-00:30] 2 0.5 1",
            "output [other] 2 0.55 0.11",
            "output [00:30-16:30] 2 1.1 0.22",
            "output [22:00-00:30] 2 2 0.4",
        ]
    );
    // diff reprices each window at the other table's rate for it: a table
    // with a dearer peak is all price effect.
    let dearer = HOURS_PRICING.replacen("input = 0.27\n", "input = 0.37\n", 1);
    wd.write("prev/pricing.toml", &dearer);
    let mut prev = wd.read("out/ledger.csv");
    prev = prev.replace(",0.27,0.54\n", ",0.37,0.74\n");
    wd.write("prev/ledger.csv", &prev);
    wd.write("prev/summary.json", &wd.read("out/summary.json"));
    reseal(&wd.path("prev"));
    let diff = wd.run(&["diff", "prev", "out"]);
    assert!(diff.contains("  price effect  -$0.200000"), "{diff}");
    assert!(diff.contains("  volume effect +$0.000000"), "{diff}");
    // Against a flat table every hour is repriced at its one rate: 6 ×
    // (0.135 + 0.055) = 1.14, so 2.54 − 1.14 is price.
    wd.write(
        "prev/pricing.toml",
        HOURS_PRICING.split("[[model.hours]]").next().unwrap(),
    );
    reseal(&wd.path("prev"));
    let diff = wd.run(&["diff", "prev", "out"]);
    assert!(diff.contains("  price effect  +$1.400000"), "{diff}");
    // Overlapping windows are refused when the table loads.
    let overlapping = HOURS_PRICING.replace("from = \"22:00\"", "from = \"16:00\"");
    wd.write("pricing.toml", &overlapping);
    let stderr = wd.fail(&crate::workdir::HANDMADE_REPORT, 2);
    assert!(
        stderr.contains("pricing.toml:21: a [[model.hours]] of the entry at line 4: 16:00-00:30 is empty or overlaps another window"),
        "{stderr}"
    );
}

#[test]
fn a_free_allowance_prices_the_first_requests_of_each_day_at_zero() {
    let wd = tiered("free-searches");
    // 3 free searches a day, shared by gpt-x and gpt-y (one pool).
    let entry_y = TIERED_PRICING
        .split("[[model]]")
        .nth(1)
        .unwrap()
        .replace("match = [\"gpt-x\"]", "match = [\"gpt-y\"]");
    let allowance = "[model.requests]\nweb_search = 35.00\n[model.free_requests.web_search]\nper = \"day\"\ncount = 3\npool = \"gpt\"\n";
    wd.write(
        "pricing.toml",
        &format!("{TIERED_PRICING}{allowance}\n[[model]]{entry_y}{allowance}"),
    );
    // Day 1: 2 (x) + 2 (y) + 1 (x): the first 3 are free, 2 cost $0.035
    // each. Day 2: 2, all free. Tokens: 4 × $2.80.
    wd.write(
        "usage.csv",
        "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch,web_search_requests
r1,2025-06-02T00:00:00Z,openai,gpt-x,1000000,0,0,0,100000,false,2
r2,2025-06-02T01:00:00Z,openai,gpt-y,1000000,0,0,0,100000,false,2
r3,2025-06-02T02:00:00Z,openai,gpt-x,1000000,0,0,0,100000,false,1
r4,2025-06-03T00:00:00Z,openai,gpt-x,1000000,0,0,0,100000,false,2
",
    );
    wd.write(
        "invoice.csv",
        "provider,model,token_type,amount_usd\nopenai,gpt-x,input,6\nopenai,gpt-x,output,2.4\nopenai,gpt-y,input,2\nopenai,gpt-y,output,0.8\nopenai,gpt-y,web_search_requests,0.035\nopenai,gpt-x,web_search_requests,0.035\n",
    );
    let mut args = crate::workdir::HANDMADE_REPORT.to_vec();
    args.extend(["--invoice", "invoice.csv", "--quiet"]);
    wd.run(&args);
    let summary = wd.read("out/summary.json");
    assert!(
        summary.contains("\"cost_requests_usd\": \"0.070000\""),
        "{summary}"
    );
    assert!(summary.contains("\"cost_usd\": \"11.270000\""), "{summary}");
    let ledger = crate::workdir::csv_rows(&wd.read("out/ledger.csv"));
    let searches: Vec<String> = ledger[1..]
        .iter()
        .filter(|l| l[3].starts_with("web_search"))
        .map(|l| format!("{} {} {} {} {}", l[0], l[2], l[3], l[15], l[18]))
        .collect();
    assert_eq!(
        searches,
        [
            "2025-06-02 gpt-x web_search 1 0.035",
            "2025-06-02 gpt-x web_search_free 2 0",
            "2025-06-02 gpt-y web_search 1 0.035",
            "2025-06-02 gpt-y web_search_free 1 0",
            "2025-06-03 gpt-x web_search_free 2 0",
        ]
    );
    // The invoice bills only the searches beyond the allowance: it
    // reconciles.
    let rec = wd.read("out/reconciliation.csv");
    assert!(!rec.contains("web_search_free"), "{rec}");
    assert!(
        rec.lines()
            .filter(|l| l.contains(",web_search,"))
            .all(|l| l.contains(",ok,")),
        "{rec}"
    );
    let show = wd.run(&[
        "pricing",
        "show",
        "gpt-y",
        "--pricing",
        "pricing.toml",
        "--at",
        "2025-06-02",
    ]);
    assert!(
        show.contains("  free:         web_search 3 per UTC day (pool gpt)\n"),
        "{show}"
    );
    // Under a table without the allowance, its 5 free searches cost $0.035
    // each: the allowance is a price effect of -$0.175.
    let table = wd.read("pricing.toml");
    for file in ["summary.json", "ledger.csv"] {
        wd.write(&format!("prev/{file}"), &wd.read(&format!("out/{file}")));
    }
    let no_allowance =
        "[model.free_requests.web_search]\nper = \"day\"\ncount = 3\npool = \"gpt\"\n";
    wd.write("prev/pricing.toml", &table.replace(no_allowance, ""));
    reseal(&wd.path("prev"));
    let diff = wd.run(&["diff", "prev", "out"]);
    assert!(diff.contains("  price effect  -$0.175000"), "{diff}");
    // Counted in prompts: the first 2 records a day with searches are
    // free whatever their count; only r3's one search is billed.
    let prompts = table
        .replace("pool = \"gpt\"\n", "pool = \"gpt\"\nunit = \"prompt\"\n")
        .replace("count = 3", "count = 2");
    wd.write("pricing.toml", &prompts);
    wd.run(&crate::workdir::HANDMADE_REPORT);
    assert!(wd
        .read("out/summary.json")
        .contains("\"cost_requests_usd\": \"0.035000\""));
    // Entries sharing a pool must agree on its terms.
    wd.write("pricing.toml", &table.replacen("count = 3", "count = 4", 1));
    let stderr = wd.fail(&crate::workdir::HANDMADE_REPORT, 2);
    assert!(
        stderr.contains("of pool \"gpt\" differs from the same pool's"),
        "{stderr}"
    );
    // An allowance for a charge the entry does not price is refused.
    wd.write(
        "pricing.toml",
        &format!("{TIERED_PRICING}[model.free_requests.web_search]\nper = \"day\"\ncount = 3\n"),
    );
    let stderr = wd.fail(&crate::workdir::HANDMADE_REPORT, 2);
    assert!(stderr.contains("[model.free_requests.web_search] of the entry at line 4: [model.requests] has no web_search price"), "{stderr}");
}

#[test]
fn check_compares_tier_rates_where_the_catalog_has_its_own() {
    let wd = Workdir::new("pricing-check-tiers");
    // gpt-5.4's flex tier at 0.6 of every rate, where the catalog's (from
    // 2026-10-12) is half; priority as the catalog has it.
    wd.write(
        "pricing.toml",
        "version = \"t\"\ncurrency = \"USD\"\n\n[[model]]\nprovider = \"openai\"\n\
         match = [\"gpt-5.4\"]\neffective_from = 2026-01-01\n\
         input = 2.50\noutput = 15.00\ncache_read = 0.25\ncache_write_5m = 2.50\ncache_write_1h = 2.50\n\
         [model.tiers.flex]\nmultiplier = 0.6\n\
         [model.tiers.priority]\ninput = 5\noutput = 30\ncache_read = 0.5\ncache_write_5m = 5\ncache_write_1h = 5\n",
    );
    let out = wd.output(&[
        "pricing",
        "check",
        "--pricing",
        "pricing.toml",
        "--period",
        "2026-11",
    ]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("  openai gpt-5.4 flex input: 1.5 here (pricing.toml:4), 1.25 in genai-prices, on 2026-11-01\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("priority"), "{stdout}");
    // Before the catalog has flex rates, its standard ones say nothing.
    let out = wd.output(&[
        "pricing",
        "check",
        "--pricing",
        "pricing.toml",
        "--period",
        "2026-06",
    ]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(!stdout.contains("flex"), "{stdout}");
}
