//! The month as the bill has it, beyond its days: a cost bucket crossing
//! into the next month is one month's line (and said to cross), usage the
//! bill files under the month but dated in another is said to be left
//! out, and a wrong rate on lines too small to fail a day is named on the
//! usage total.

use crate::workdir::Workdir;

const HEADER: &str = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n";

/// An OpenAI costs page of one-day buckets of gpt-4o-mini input, each
/// (its start, in unix seconds, and its dollars).
fn costs_page(buckets: &[(u64, &str)]) -> String {
    let bucket = |&(start, dollars): &(u64, &str)| {
        format!(
            r#"{{"object":"bucket","start_time":{start},"end_time":{},"results":[{{"object":"organization.costs.result","amount":{{"value":{dollars},"currency":"usd"}},"line_item":"gpt-4o-mini-2024-07-18, input","project_id":null}}]}}"#,
            start + 86_400
        )
    };
    let data: Vec<String> = buckets.iter().map(bucket).collect();
    format!(
        r#"{{"object":"page","data":[{}],"has_more":false,"next_page":null}}"#,
        data.join(",")
    )
}

#[test]
fn a_bucket_crossing_into_the_next_month_is_billed_in_the_month_it_starts() {
    // OpenAI cost buckets cut at Pacific midnight (08:00 UTC): the first
    // runs from January 31st into February 1st. It is January's line, not
    // both months' (it was counted whole in each, and trued up twice).
    let wd = Workdir::new("bucket-across-months");
    let buckets = [(1_832_918_400, "1.5"), (1_833_004_800, "2.25")];
    wd.write("costs.json", &costs_page(&buckets));
    wd.write("usage.csv", &format!("{HEADER}r1,2028-01-31T12:00:00Z,openai,gpt-4o-mini-2024-07-18,10000000,0,0,0,0,false\nr2,2028-02-01T12:00:00Z,openai,gpt-4o-mini-2024-07-18,15000000,0,0,0,0,false\n"));
    for (month, invoiced) in [("2028-01", "1.500000"), ("2028-02", "2.250000")] {
        let args = [
            "reconcile",
            "--usage",
            "usage.csv",
            "--invoice",
            "costs.json",
        ];
        let out = wd.output(&[&args[..], &["--period", month, "--out", month]].concat());
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let csv = wd.read(&format!("{month}/reconciliation.csv"));
        let total = format!("\n(invoice total),,,,,{invoiced},");
        assert!(csv.contains(&total), "{month}: {csv}");
        // Said, so a drift it makes is not read as a wrong rate.
        let stderr = String::from_utf8_lossy(&out.stderr);
        let warning = format!(
            "warning: costs.json: 1 usage line(s) across the edge of {month}, the first line 1 \
             (2028-01-31 to 2028-02-01): each is counted whole in the month it starts in"
        );
        assert!(stderr.contains(&warning), "{stderr}");
        let summary = wd.read(&format!("{month}/summary.json"));
        assert!(
            summary.contains("usage line(s) across the edge"),
            "{summary}"
        );
    }
}

#[test]
fn a_wrong_rate_on_lines_too_small_to_fail_a_day_is_named_on_the_total() {
    // Five days of 200,000 input tokens at $0.15 per 1M ($0.03), billed at
    // $0.1875 ($0.0375): each day is $0.0075 off, within the $0.01
    // tolerance; the month is $0.0375 off. The total drifted with no line
    // named and no rate diagnosed.
    let wd = Workdir::new("small-daily-drift");
    let days: Vec<(u64, &str)> = (0..5)
        .map(|d| (1_748_736_000 + d * 86_400, "0.0375"))
        .collect();
    wd.write("costs.json", &costs_page(&days));
    let rows: String = (1..=5)
        .map(|d| {
            format!(
                "r{d},2025-06-0{d}T12:00:00Z,openai,gpt-4o-mini-2024-07-18,200000,0,0,0,0,false\n"
            )
        })
        .collect();
    wd.write("usage.csv", &format!("{HEADER}{rows}"));
    let args = [
        "reconcile",
        "--usage",
        "usage.csv",
        "--invoice",
        "costs.json",
    ];
    let out = wd.output(&[&args[..], &["--out", "out", "--quiet"]].concat());
    assert_eq!(out.status.code(), Some(1));
    let csv = wd.read("out/reconciliation.csv");
    let total = "\n(usage total),,,,0.150000,0.187500,-0.037500,-20.00,drift,\"openai gpt-4o-mini input: every day within the tolerance, the month not (computed $0.150000, invoiced $0.187500): computed is 0.8× the invoice on every line: the input rate looks wrong; the invoice implies $0.1875 per 1M tokens, the pricing table charged $0.15\"\n";
    assert!(csv.contains(total), "{csv}");
}

#[test]
fn usage_a_bill_files_under_the_month_but_dated_in_another_is_said_to_be_left_out() {
    // Google's invoice month is Pacific time: November's holds the first
    // hours of December 1st UTC, and a late row of October 31st. Compared
    // by UTC day, both are left out of November; that was said only by a
    // count in summary.json.
    let wd = Workdir::new("filed-under-another-month");
    let row = |sku: &str, start: &str, cost: &str| {
        format!(
            "{{\"service\":{{\"description\":\"Vertex AI\"}},\"sku\":{{\"description\":\"Gemini 2.5 Flash GA Text {sku} - Predictions\"}},\"usage_start_time\":\"{start}:00:00 UTC\",\"usage_end_time\":\"{start}:59:59 UTC\",\"cost\":{cost},\"currency\":\"USD\",\"currency_conversion_rate\":1.0,\"credits\":[],\"invoice\":{{\"month\":\"202611\"}},\"cost_type\":\"regular\"}}\n"
        )
    };
    let bill = [
        row("Input", "2026-11-02 09", "0.30"),
        row("Output", "2026-11-02 09", "0.25"),
        row("Input", "2026-12-01 03", "0.30"),
        row("Input", "2026-10-31 20", "0.05"),
    ];
    wd.write("bill.jsonl", &bill.concat());
    let usage = "gc-1,2026-11-02T09:30:00Z,google,gemini-2.5-flash,1000000,0,0,0,100000,false\n";
    wd.write("usage.csv", &format!("{HEADER}{usage}"));
    let args = [
        "reconcile",
        "--usage",
        "usage.csv",
        "--invoice",
        "bill.jsonl",
    ];
    let out = wd.output(&[&args[..], &["--period", "2026-11", "--out", "out"]].concat());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let warning =
        "warning: bill.jsonl: 2 usage line(s) the bill files under 2026-11 (0.35 in all, \
                   credits given on them aside) are dated in another UTC month (the first line 3, \
                   2026-12-01): left out of 2026-11's total and allocation";
    assert!(stderr.contains(warning), "{stderr}");
    let csv = wd.read("out/reconciliation.csv");
    assert!(csv.contains("\n(invoice total),,,,,0.550000,"), "{csv}");
}
