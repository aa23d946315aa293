//! Rates that depend on when a request was made: time-of-day windows price
//! each request by its UTC time, and a free allowance makes the first
//! requests of each day (or month) free; `focus.csv`'s `SkuPriceId`
//! follows a price through a change of rate.

use crate::pricing::{tiered, TIERED_PRICING};
use crate::workdir::{reseal, Workdir};

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
    // diff reprices each window at the other table's rate for it: the
    // same month priced by a table with a dearer peak is all price effect.
    let dearer = HOURS_PRICING.replacen("input = 0.27\n", "input = 0.37\n", 1);
    let prev_month = |table: &str| {
        wd.write("prev-pricing.toml", table);
        let mut args = crate::workdir::HANDMADE_REPORT;
        (args[6], args[8]) = ("prev-pricing.toml", "prev");
        wd.run(&args);
    };
    prev_month(&dearer);
    let diff = wd.run(&["diff", "prev", "out"]);
    assert!(diff.contains("  price effect  -$0.200000"), "{diff}");
    assert!(diff.contains("  volume effect +$0.000000"), "{diff}");
    // Against a flat table every hour is repriced at its one rate: 6 ×
    // (0.135 + 0.055) = 1.14, so 2.54 − 1.14 is price.
    prev_month(HOURS_PRICING.split("[[model.hours]]").next().unwrap());
    let diff = wd.run(&["diff", "prev", "out"]);
    assert!(diff.contains("  price effect  +$1.400000"), "{diff}");
    // A table saved beside a month that it did not price (swapped, the
    // manifest resealed): refused, not a price effect made from it.
    let saved = wd.read("out/pricing.toml");
    wd.write("out/pricing.toml", &wd.read("prev/pricing.toml"));
    reseal(&wd.path("out"));
    let stderr = wd.fail(&["diff", "prev", "out"], 2);
    assert!(
        stderr.contains("out/ledger.csv:3: deepseek deepseek-x input costs $0.27 by the pricing.toml saved beside it, not the $0.54 it was priced at"),
        "{stderr}"
    );
    wd.write("out/pricing.toml", &saved);
    reseal(&wd.path("out"));
    // Overlapping windows are refused when the table loads.
    let overlapping = HOURS_PRICING.replace("from = \"22:00\"", "from = \"16:00\"");
    wd.write("pricing.toml", &overlapping);
    let stderr = wd.fail(&crate::workdir::HANDMADE_REPORT, 2);
    assert!(
        stderr.contains("pricing.toml:21: a [[model.hours]] of the entry at line 4: 16:00-00:30 is empty or overlaps another window"),
        "{stderr}"
    );
}

/// `focus.csv`'s `SkuPriceId` holds a price's stable properties, never
/// its amount (FOCUS): one id follows claude-test-1's input through its
/// price change on the 15th, and each time-of-day window has its own.
#[test]
fn a_sku_price_id_follows_its_price_through_a_change_of_rate() {
    let wd = Workdir::handmade("sku-price-id");
    wd.write("usage.csv", "timestamp,request_id,provider,model,output_tokens,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,batch
2025-06-10T09:00:00Z,r-1,anthropic,claude-test-1,1000,10000,0,0,0,false
2025-06-20T09:00:00Z,r-2,anthropic,claude-test-1,1000,10000,0,0,0,false
");
    wd.run(&[&crate::workdir::HANDMADE_REPORT[..], &["--quiet"]].concat());
    let rows = |wd: &Workdir| {
        let focus = crate::workdir::csv_rows(&wd.read("out/focus.csv"));
        let at = |name: &str| focus[0].iter().position(|c| c == name).unwrap();
        let (id, price) = (at("SkuPriceId"), at("ListUnitPrice"));
        let rows = focus[1..].iter().map(|r| format!("{} {}", r[id], r[price]));
        rows.collect::<Vec<_>>()
    };
    // The ids were claude-test-1:input:3 and claude-test-1:input:2.
    let want = [
        "claude-test-1:input 3",
        "claude-test-1:output 15",
        "claude-test-1:input 2",
        "claude-test-1:output 10",
    ];
    assert_eq!(rows(&wd), want);
    wd.write("pricing.toml", HOURS_PRICING);
    wd.write("usage.csv", "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch
r1,2025-06-02T00:29:59Z,deepseek,deepseek-x,1000000,0,0,0,0,false
r2,2025-06-02T12:00:00Z,deepseek,deepseek-x,1000000,0,0,0,0,false
r3,2025-06-02T18:00:00Z,deepseek,deepseek-x,1000000,0,0,0,0,false
");
    wd.run(&[&crate::workdir::HANDMADE_REPORT[..], &["--quiet"]].concat());
    let want = [
        "deepseek-x:input:other 0.135",
        "deepseek-x:input:00:30-16:30 0.27",
        "deepseek-x:input:22:00-00:30 0.5",
    ];
    assert_eq!(rows(&wd), want);
}

#[test]
fn a_free_allowance_prices_the_first_requests_of_each_day_at_zero() {
    let wd = tiered("free-searches");
    write_two_days_of_searches_under_a_shared_allowance(&wd);
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
    the_allowance_is_a_price_effect_and_its_terms_are_checked(&wd);
}

/// The table with gpt-x's and gpt-y's shared allowance, their usage and its invoice.
fn write_two_days_of_searches_under_a_shared_allowance(wd: &Workdir) {
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
}

/// The allowance against a table without it, counted in prompts, and badly given.
fn the_allowance_is_a_price_effect_and_its_terms_are_checked(wd: &Workdir) {
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
