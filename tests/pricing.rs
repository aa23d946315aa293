//! The pricing table at work: `pricing show`, `list` and `check`; tiers,
//! regions and speed; per-request charges; a table extending the built-in one.

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
         \x20 openai gpt-4o-mini: no price for 1 record(s) on 2025-06-03; first request_id r3 (usage.csv:4)\n\
         possible staleness: rates (USD per 1M tokens) that differ from genai-prices:\n\
         \x20 openai gpt-4o-2024-08-06 input: 2 here (pricing.toml:4), 2.5 in genai-prices, from 2025-06-02 to 2025-06-05\n\
         \x20 openai gpt-4o-2024-08-06 cache_write_5m: 2 here (pricing.toml:4), 2.5 in genai-prices, from 2025-06-02 to 2025-06-05\n\
         1 gap(s), 2 differing rate(s)\n"
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
pub const TIERED_PRICING: &str = r#"version = "tiers"
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

pub fn tiered(name: &str) -> Workdir {
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
    o3_is_priced_by_the_override_and_gpt_4_1_by_the_built_in_table(&wd);
    the_saved_table_reloads_and_one_without_extends_is_whole(&wd);
}

/// The extended table's month: by_model.csv, focus.csv and `pricing show`, rate by rate.
fn o3_is_priced_by_the_override_and_gpt_4_1_by_the_built_in_table(wd: &Workdir) {
    // o3 at the negotiated $1, gpt-4.1 at the built-in $2.
    let models = crate::workdir::csv_rows(&wd.read("out/by_model.csv"));
    let cost = models[0].iter().position(|c| c == "cost_usd").unwrap();
    let row = |m: &str| models.iter().find(|r| r[0] == m).unwrap()[cost].clone();
    assert_eq!(row("o3-2025-04-16"), "1.000000");
    assert_eq!(row("gpt-4.1-2025-04-14"), "2.000000");
    // focus.csv lists o3 at the price published on 2025-06-02 ($10, before
    // the cut of June 10th) and contracts it at $1.
    let focus = crate::workdir::csv_rows(&wd.read("out/focus.csv"));
    let at = |name: &str| focus[0].iter().position(|c| c == name).unwrap();
    let columns = [
        "ListCost",
        "ContractedCost",
        "ListUnitPrice",
        "ContractedUnitPrice",
    ];
    let prices = |sku: &str| {
        let r = focus.iter().find(|r| r[at("SkuId")] == sku).unwrap();
        columns.map(|c| r[at(c)].clone())
    };
    assert_eq!(
        prices("o3-2025-04-16"),
        ["10.000000", "1.000000", "10", "1"]
    );
    let o3 = focus
        .iter()
        .find(|r| r[at("SkuId")] == "o3-2025-04-16")
        .unwrap();
    // The price's stable properties (FOCUS): no amount, no negotiated
    // discount (it was `o3-2025-04-16:input:1:list:10`).
    assert_eq!(o3[at("SkuPriceId")], "o3-2025-04-16:input");
    assert_eq!(
        prices("gpt-4.1-2025-04-14"),
        ["2.000000", "2.000000", "2", "2"]
    );
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
}

/// The month's saved copy of the table and its base; then the table without `extends`.
fn the_saved_table_reloads_and_one_without_extends_is_whole(wd: &Workdir) {
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
fn the_shipped_table_prices_every_text_model_of_the_catalog() {
    let wd = Workdir::new("pricing-coverage");
    let out = wd.output(&["pricing", "check", "--period", "2026-11"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains(
            "every text model genai-prices lists for anthropic, openai, google, aws.bedrock, \
             mistral, xai, deepseek is priced on 2026-11-01, except 2 retired here: deepseek \
             deepseek-chat (its entries end 2026-07-25), deepseek deepseek-reasoner (its \
             entries end 2026-07-25)\n"
        ),
        "{stdout}"
    );
    // DeepSeek's aliases: peak hours with their own rates until 16:00 UTC
    // on 2025-09-05, then one price, cut on 2025-09-29 and at V4.
    let show = wd.run(&["pricing", "show", "deepseek-chat", "--at", "2025-06-01"]);
    assert!(
        show.contains("  hours 00:30-16:30: input 0.27, cache_read 0.07, cache_write_5m 0.27, cache_write_1h 0.27, output 1.1\n"),
        "{show}"
    );
    let show = wd.run(&["pricing", "show", "deepseek-reasoner", "--at", "2025-09-05"]);
    assert!(
        show.contains("  USD per 1M:   input 0.56, cache_read 0.07, cache_write_5m 0.56, cache_write_1h 0.56, output 1.68\n")
            && show.contains("  hours 00:30-16:00: input 0.55, cache_read 0.14, cache_write_5m 0.55, cache_write_1h 0.55, output 2.19\n"),
        "{show}"
    );
    for (day, rates) in [
        (
            "2025-09-28",
            "input 0.56, cache_read 0.07, cache_write_5m 0.56, cache_write_1h 0.56, output 1.68",
        ),
        (
            "2025-09-29",
            "input 0.28, cache_read 0.028, cache_write_5m 0.28, cache_write_1h 0.28, output 0.42",
        ),
        (
            "2026-04-24",
            "input 0.14, cache_read 0.0028, cache_write_5m 0.14, cache_write_1h 0.14, output 0.28",
        ),
    ] {
        let show = wd.run(&["pricing", "show", "deepseek-chat", "--at", day]);
        assert!(
            show.contains(&format!("  USD per 1M:   {rates}\n")),
            "{day}: {show}"
        );
    }
    // The first realtime snapshot kept its audio rates; Claude Sonnet 4 on
    // Vertex has Anthropic's long-context tier.
    let show = wd.run(&[
        "pricing",
        "show",
        "gpt-4o-realtime-preview-2024-10-01",
        "--at",
        "2025-03-01",
    ]);
    assert!(
        show.contains("  input_audio:  100 per 1M\n  output_audio: 200 per 1M\n"),
        "{show}"
    );
    let show = wd.run(&[
        "pricing",
        "show",
        "claude-sonnet-4@20250514",
        "--at",
        "2025-09-01",
    ]);
    assert!(
        show.contains("  long context: above 200000 prompt tokens, the whole request at input 6,"),
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
