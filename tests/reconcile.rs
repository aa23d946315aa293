//! Reconciliation against invoices in every format, on the hand-made fleet
//! (see tests/handmade.rs for its dollars), and the drift gate's exit codes.

use crate::workdir::{fixture, Workdir};

/// `reconcile` on the hand-made fleet's usage against `invoices` (names
/// under tests/fixtures/invoices), with `flags` added.
fn reconcile(name: &str, invoices: &[&str], flags: &[&str]) -> (Workdir, std::process::Output) {
    let wd = Workdir::handmade(name);
    for invoice in invoices {
        wd.copy(
            &fixture(&format!("invoices/{invoice}")),
            &format!("invoices/{invoice}"),
        );
    }
    let out = wd.reconcile("invoices", flags);
    (wd, out)
}

fn assert_exit(out: &std::process::Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const HEADER: &str = "provider,model,token_type,day,computed_usd,invoiced_usd,delta_usd,delta_pct,status,diagnosis\n";

#[test]
fn monthly_invoice_csv_with_credit_and_tax_reconciles() {
    // tokenledger invoice CSV without days: lines compared per month.
    let (wd, out) = reconcile("rec-csv", &["tokenledger.csv"], &[]);
    assert_exit(&out, 0);
    let expected = format!(
        "{HEADER}anthropic,claude-test-1,input,,0.911000,0.911000,0.000000,0.00,ok,
anthropic,claude-test-1,cache_read,,0.036600,0.036600,0.000000,0.00,ok,
anthropic,claude-test-1,cache_write_5m,,0.001500,0.001500,0.000000,0.00,ok,
anthropic,claude-test-1,cache_write_1h,,0.004000,0.004000,0.000000,0.00,ok,
anthropic,claude-test-1,output,,0.050000,0.050000,0.000000,0.00,ok,
openai,gpt-test,input,,0.010007,0.010007,0.000000,0.00,ok,
openai,gpt-test,cache_read,,0.001251,0.001251,0.000000,0.00,ok,
openai,gpt-test,output,,0.008000,0.008000,0.000000,0.00,ok,
anthropic,Promotional credit,,,,-0.500000,,,not_usage,credit
anthropic,VAT,,,,0.100000,,,not_usage,tax
(usage total),,,,1.022358,1.022358,0.000000,0.00,ok,
(invoice total),,,,,0.622358,,,not_usage,usage and every other line of the bill
"
    );
    assert_eq!(wd.read("out/reconciliation.csv"), expected);
    let summary = wd.read("out/summary.json");
    assert!(
        summary.contains(
            r#""reconciliation": {
    "status": "ok",
    "daily": false,
    "tolerance_pct": "0.5",
    "tolerance_usd": "0.01",
    "computed_usage_usd": "1.022358",
    "invoiced_usage_usd": "1.022358",
    "delta_usd": "0.000000",
    "credits_tax_adjustments_usd": "-0.400000",
    "invoice_total_usd": "0.622358",
    "lines": {
      "not_usage": 2,
      "ok": 8
    }
  }"#
        ),
        "{summary}"
    );
}

#[test]
fn provider_cost_reports_reconcile_per_day() {
    // Anthropic: cents as strings, dated and undated model names, a
    // long-context day, a batch day, an empty bucket, two pages. OpenAI:
    // amounts as JSON numbers, 7e-6 among them. Both carry web search
    // charges, which no usage record makes up ($0.005 and $0.0025, each
    // within the $0.01 tolerance).
    let (wd, out) = reconcile(
        "rec-json",
        &["anthropic-cost-report.jsonl", "openai-costs.json"],
        &[],
    );
    assert_exit(&out, 0);
    let csv = wd.read("out/reconciliation.csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 22, "{csv}");
    // Anthropic's web search is a per-request charge the usage does not
    // count; OpenAI's names no model: it sums every model's searches.
    assert!(lines.contains(
        &"anthropic,claude-test-1,web_search,2025-06-20,0.000000,0.005000,-0.005000,-100.00,missing_in_usage,\
          no usage record counts web_search requests: give the usage a web_search_requests column \
          (or export the usage with its server-tool counts) so they are priced and attributed"
    ), "{csv}");
    assert!(lines.contains(
        &"openai,(all models),web_search,2025-06-20,0.000000,0.002500,-0.002500,-100.00,missing_in_usage,\
          no usage record counts web_search requests: give the usage a web_search_requests column \
          (or export the usage with its server-tool counts) so they are priced and attributed"
    ), "{csv}");
    assert!(lines
        .contains(&"anthropic,claude-test-1,input,2025-06-12,0.900000,0.900000,0.000000,0.00,ok,"));
    assert!(lines.contains(&"openai,gpt-test,input,2025-06-25,0.000007,0.000007,0.000000,0.00,ok,"));
    assert!(lines
        .contains(&"openai,gpt-test,cache_read,2025-06-25,0.000001,0.000001,0.000000,0.00,ok,"));
    // 1.022358 computed; 1.022358 + 0.005 + 0.0025 invoiced.
    assert_eq!(
        lines[20],
        "(usage total),,,,1.022358,1.029858,-0.007500,-0.73,ok,"
    );
    assert!(wd.read("out/summary.json").contains("\"daily\": true"));
}

#[test]
fn console_and_dashboard_csvs_match_the_json_reports() {
    // Display names ("Claude Test 1") meet through the pricing table's match
    // list; the OpenAI CSV has float timestamps, a blank row and a day
    // without costs (its bucket times and nothing else).
    let (wd, out) = reconcile(
        "rec-consolecsv",
        &["anthropic-console.csv", "openai-costs.csv"],
        &[],
    );
    assert_exit(&out, 0);
    let csv = wd.read("out/reconciliation.csv");
    assert!(
        csv.lines().skip(1).take(17).all(|l| l.contains(",ok,")),
        "{csv}"
    );
    assert!(
        csv.contains("\n(usage total),,,,1.022358,1.022358,0.000000,0.00,ok,\n"),
        "{csv}"
    );
}

#[test]
fn a_wrong_rate_drifts_exits_1_and_is_diagnosed() {
    let wd = Workdir::handmade("rec-drift");
    // The invoice charged the 1h cache write at $6/M (we priced $4/M) and
    // gpt-test output at $0.40/M (we priced $4/M).
    let invoice = std::fs::read_to_string(fixture("invoices/tokenledger.csv"))
        .unwrap()
        .replace("cache_write_1h,0.004,", "cache_write_1h,0.006,")
        .replace("gpt-test,output,0.008,", "gpt-test,output,0.0008,");
    wd.write("invoice.csv", &invoice);
    let out = wd.reconcile("invoice.csv", &["--tolerance-usd", "0.0001"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1));
    let csv = wd.read("out/reconciliation.csv");
    assert!(
        csv.contains(
            "anthropic,claude-test-1,cache_write_1h,,0.004000,0.006000,-0.002000,-33.33,drift,\
         \"computed is 0.6667× the invoice on every line: the cache_write_1h rate looks wrong; \
         the invoice implies $6 per 1M tokens, the pricing table charged $4\"\n"
        ),
        "{csv}"
    );
    assert!(
        csv.contains(
            "openai,gpt-test,output,,0.008000,0.000800,0.007200,900.00,drift,\
         \"computed is 10× the invoice on every line: the output rate looks wrong; \
         the invoice implies $0.4 per 1M tokens, the pricing table charged $4\"\n"
        ),
        "{csv}"
    );
    assert!(
        csv.contains("\n(usage total),,,,1.022358,1.017158,0.005200,0.51,drift,\n"),
        "{csv}"
    );
    assert!(
        stdout.starts_with("tokenledger: reconciliation DRIFT"),
        "{stdout}"
    );
}

#[test]
fn within_tolerance_is_ok_and_tolerances_are_both_required() {
    // A $0.002 gap: above --tolerance-usd 0.001 but within 0.5 % of $0.911?
    // No: 0.5 % of 0.911 is 0.004555, so it passes; with --tolerance 0.1 it drifts.
    let wd = Workdir::handmade("rec-tol");
    let invoice = std::fs::read_to_string(fixture("invoices/tokenledger.csv"))
        .unwrap()
        .replace("claude-test-1,input,0.911,", "claude-test-1,input,0.913,");
    wd.write("invoice.csv", &invoice);
    let run = |flags: &[&str]| {
        wd.reconcile("invoice.csv", &[&["--quiet"], flags].concat())
            .status
            .code()
    };
    assert_eq!(run(&["--tolerance-usd", "0.001"]), Some(0));
    assert_eq!(
        run(&["--tolerance-usd", "0.001", "--tolerance", "0.1"]),
        Some(1)
    );
}

#[test]
fn a_missing_line_and_a_day_on_one_side_only() {
    // Drop the 2025-06-16 bucket (the batch day) from the Anthropic report and
    // add a day (06-21) that no usage has.
    let wd = Workdir::handmade("rec-missing");
    let report = std::fs::read_to_string(fixture("invoices/anthropic-cost-report.jsonl")).unwrap();
    let report = report
        .replace("2025-06-16T00:00:00Z", "2025-06-21T00:00:00Z")
        .replace("2025-06-17T00:00:00Z", "2025-06-22T00:00:00Z");
    wd.write("invoices/anthropic.jsonl", &report);
    let out = wd.reconcile("invoices", &["--tolerance-usd", "0.001", "--quiet"]);
    assert_eq!(out.status.code(), Some(1));
    let csv = wd.read("out/reconciliation.csv");
    for line in [
        "anthropic,claude-test-1,input,2025-06-16,0.004000,0.000000,0.004000,,missing_in_invoice,",
        "anthropic,claude-test-1,input,2025-06-21,0.000000,0.004000,-0.004000,-100.00,missing_in_usage,",
        "anthropic,claude-test-1,output,2025-06-16,0.010000,0.000000,0.010000,,missing_in_invoice,",
    ] {
        assert!(csv.contains(line), "{line} in\n{csv}");
    }
}

#[test]
fn charges_moved_to_the_next_day_point_at_time_zones() {
    // The invoice books 2025-06-10's charges on 06-11: each day drifts, the
    // month does not.
    let wd = Workdir::handmade("rec-tz");
    let report = std::fs::read_to_string(fixture("invoices/anthropic-cost-report.jsonl")).unwrap();
    let shifted = report
        .replacen(
            "\"starting_at\":\"2025-06-10T00:00:00Z\",\"ending_at\":\"2025-06-11T00:00:00Z\"",
            "SWAP",
            1,
        )
        .replacen(
            "\"starting_at\":\"2025-06-11T00:00:00Z\",\"ending_at\":\"2025-06-12T00:00:00Z\"",
            "\"starting_at\":\"2025-06-10T00:00:00Z\",\"ending_at\":\"2025-06-11T00:00:00Z\"",
            1,
        )
        .replacen(
            "SWAP",
            "\"starting_at\":\"2025-06-11T00:00:00Z\",\"ending_at\":\"2025-06-12T00:00:00Z\"",
            1,
        );
    wd.write("invoice.jsonl", &shifted);
    let out = wd.reconcile("invoice.jsonl", &["--tolerance-usd", "0.0001", "--quiet"]);
    assert_eq!(out.status.code(), Some(1));
    let csv = wd.read("out/reconciliation.csv");
    assert!(csv.contains(
        "anthropic,claude-test-1,output,2025-06-11,0.000000,0.007500,-0.007500,-100.00,missing_in_usage,"
    ), "{csv}");
    assert!(csv.contains(
        "anthropic,claude-test-1,output,2025-06-10,0.007500,0.000000,0.007500,,missing_in_invoice,"
    ), "{csv}");
    assert!(
        csv.contains("check time zones (tokenledger uses UTC days)"),
        "{csv}"
    );
}

#[test]
fn another_currency_needs_a_rate_and_is_converted_at_it() {
    let wd = Workdir::handmade("rec-eur");
    wd.write(
        "invoice.csv",
        "provider,model,token_type,amount_usd,currency\nopenai,gpt-test,input,1.00,EUR\n",
    );
    let stderr = wd.fail(
        &[
            "reconcile",
            "--usage",
            "usage.csv",
            "--pricing",
            "pricing.toml",
            "--invoice",
            "invoice.csv",
        ],
        2,
    );
    assert_eq!(
        stderr,
        "tokenledger: invoice.csv:2: billed in EUR, but the pricing table is in USD, and the bill \
         states no exchange rate into USD: give one with --fx EUR=<EUR per USD>\n"
    );
    // With a rate, converted as the cloud bills are: 0.90 EUR at 0.9 EUR
    // per USD is $1.00 invoiced.
    wd.write(
        "invoice.csv",
        "provider,model,token_type,amount_usd,currency\nopenai,gpt-test,input,0.90,EUR\n",
    );
    let out = wd.output(&[
        "reconcile",
        "--usage",
        "usage.csv",
        "--pricing",
        "pricing.toml",
        "--invoice",
        "invoice.csv",
        "--fx",
        "EUR=0.9",
        "--out",
        "out",
        "--quiet",
    ]);
    assert_exit(&out, 1);
    let csv = wd.read("out/reconciliation.csv");
    let line = csv
        .lines()
        .find(|l| l.starts_with("openai,gpt-test,input,"))
        .unwrap();
    assert_eq!(line.split(',').nth(5), Some("1.000000"), "{csv}");
}

#[test]
fn true_up_spreads_each_line_residual_over_its_rows() {
    // The invoice charges claude-test-1 output $0.055 where we computed
    // $0.05: factor 1.1 on every output cost of that model. Per tenant:
    //   conv-9 (req-4, req-7): 0.9725 + 0.1 × (0.0225 + 0.01)  = 0.97575
    //   acme   (req-1, req-2): 0.0306 + 0.1 × (0.0075 + 0.01)  = 0.03235
    //   beta   (req-3, gpt-test, no residual)                  = 0.01925
    //   (unattributed) req-6: 0.00000775 → 0.000008 (the remainder micro-dollar)
    // Sum: 1.02735775 → 1.027358 = the invoiced usage total.
    let wd = Workdir::handmade("trueup");
    let invoice = std::fs::read_to_string(fixture("invoices/tokenledger.csv"))
        .unwrap()
        .replace("claude-test-1,output,0.05,", "claude-test-1,output,0.055,");
    wd.write("invoice.csv", &invoice);
    wd.run(&[
        "report",
        "--spans",
        "spans",
        "--usage",
        "usage.csv",
        "--pricing",
        "pricing.toml",
        "--period",
        "2025-06",
        "--invoice",
        "invoice.csv",
        "--true-up",
        "--out",
        "out",
        "--quiet",
    ]);
    let tenants = wd.read("out/by_tenant.csv");
    let billed: Vec<(&str, &str)> = tenants
        .lines()
        .skip(1)
        .map(|l| (l.split(',').next().unwrap(), l.rsplit(',').next().unwrap()))
        .collect();
    assert_eq!(
        billed,
        [
            ("conv-9", "0.975750"),
            ("acme", "0.032350"),
            ("beta", "0.019250"),
            ("(unattributed)", "0.000008")
        ]
    );
    assert!(wd
        .read("out/summary.json")
        .contains("\"invoiced_usage_usd\": \"1.027358\""));
    assert!(wd
        .read("out/reconciliation.csv")
        .contains("\n(usage total),,,,1.022358,1.027358,-0.005000,-0.49,ok,\n"));
}

#[test]
fn true_up_puts_invoice_only_charges_in_their_own_row() {
    // The Anthropic web search charge ($0.005) and OpenAI's ($0.0025) have no
    // records: they land in an "(invoice only)" row of every report.
    let wd = Workdir::handmade("trueup-only");
    for name in ["anthropic-cost-report.jsonl", "openai-costs.json"] {
        wd.copy(
            &fixture(&format!("invoices/{name}")),
            &format!("invoices/{name}"),
        );
    }
    wd.run(&[
        "report",
        "--spans",
        "spans",
        "--usage",
        "usage.csv",
        "--pricing",
        "pricing.toml",
        "--period",
        "2025-06",
        "--invoice",
        "invoices",
        "--true-up",
        "--out",
        "out",
        "--quiet",
    ]);
    let runs = wd.read("out/by_run.csv");
    assert!(runs.ends_with(
        "(invoice only),(invoice only),(invoice only),(invoice only),0,0,0,0,0,0,0,0.000000,0.000000,0.000000,0.000000,0.000000,0.007500\n"
    ), "{runs}");
    // focus.csv: an Adjustment row per provider, named (FOCUS's provider
    // columns are never null), its list and contracted cost what was billed.
    let focus = wd.read("out/focus.csv");
    let adjustments: Vec<&str> = (focus.lines())
        .filter(|l| l.contains(",Adjustment,"))
        .collect();
    let row = |provider: &str, amount: &str| {
        format!(
            "{provider},,2025-06-01T00:00:00Z,2025-07-01T00:00:00Z,2025-06-01T00:00:00Z,\
             2025-07-01T00:00:00Z,Adjustment,,Usage-Based,invoiced usage that no usage record \
             makes up,{amount},{amount},{amount},{amount},USD,{provider} API,\
             AI and Machine Learning,Generative AI,{provider},{provider},{provider},{provider},\
             {provider},,,,,,,,,,(invoice only),(invoice only),(invoice only),0"
        )
    };
    assert_eq!(
        adjustments,
        [row("anthropic", "0.005000"), row("openai", "0.002500")],
        "{focus}"
    );
}

#[test]
fn a_line_of_two_rates_names_both_not_their_blend() {
    // claude-test-1's input line holds req-4 (210,000 prompt tokens: the
    // long-context rate, $6/M on 150,000) and 7,000 tokens at the standard
    // rate. An invoice 10 % above is diagnosed with both rates and shares.
    let wd = Workdir::handmade("rec-long");
    let invoice = std::fs::read_to_string(fixture("invoices/tokenledger.csv"))
        .unwrap()
        .replace("claude-test-1,input,0.911,", "claude-test-1,input,1.0021,");
    wd.write("invoice.csv", &invoice);
    let out = wd.reconcile("invoice.csv", &["--tolerance-usd", "0.0001"]);
    assert_eq!(out.status.code(), Some(1));
    let csv = wd.read("out/reconciliation.csv");
    assert!(
        csv.contains(
            "the input line mixes standard and long-context requests: 95.5 % of its tokens at the \
             long-context rate ($6 per 1M tokens), the rest at the standard rate ($1.5714 per 1M)"
        ),
        "{csv}"
    );
    assert!(!csv.contains("the input rate looks wrong"), "{csv}");
}

#[test]
fn a_drift_names_the_rate_by_the_cost_reports_tier_and_context_window() {
    // Anthropic bills req-7's batch input (4,000 tokens on 2025-06-16, $0.004
    // at half of $2) as 10 cents: the line drifts, and the cost report's
    // service_tier and context_window say which rate.
    let wd = Workdir::handmade("rate-drift");
    let report = std::fs::read_to_string(fixture("invoices/anthropic-cost-report.jsonl")).unwrap();
    let batch_input = r#""amount":"0.4","workspace_id":null,"description":"Claude Test 1 Usage - Input Tokens","cost_type":"tokens","context_window":"0-200k","model":"claude-test-1","service_tier":"batch""#;
    assert!(report.contains(batch_input));
    wd.write(
        "invoices/anthropic.jsonl",
        &report.replace(batch_input, &batch_input.replace("\"0.4\"", "\"10\"")),
    );
    let out = wd.reconcile("invoices", &[]);
    assert_exit(&out, 1);
    let csv = wd.read("out/reconciliation.csv");
    let line = csv
        .lines()
        .find(|l| l.starts_with("anthropic,claude-test-1,input,2025-06-16,"))
        .unwrap_or_else(|| panic!("{csv}"));
    assert!(
        line.contains("the rates that drift: batch 0-200k: computed $0.004000, invoiced $0.100000"),
        "{line}"
    );
}

#[test]
fn analytics_cost_pages_reconcile_as_the_cost_report_does() {
    // The same charges as `analytics/cost` pages (items with `cost` and
    // `group`, cents as strings, `list_amount` beside `amount`) give the
    // same reconciliation, line for line.
    let openai = "openai-costs.json";
    let (report, out) = reconcile(
        "rec-analytics-a",
        &["anthropic-cost-report.jsonl", openai],
        &[],
    );
    assert_exit(&out, 0);
    let pages = ["anthropic-analytics-cost.jsonl", openai];
    let (analytics, out) = reconcile("rec-analytics-b", &pages, &[]);
    assert_exit(&out, 0);
    // The pages state list prices (here 1.25 times the amount): a list_usd
    // column after invoiced_usd; without it, the same file.
    let expected = report.read("out/reconciliation.csv");
    let with_list = analytics.read("out/reconciliation.csv");
    assert!(with_list.starts_with(
        "provider,model,token_type,day,computed_usd,invoiced_usd,list_usd,delta_usd,"
    ));
    assert!(with_list.contains(
        "\nanthropic,claude-test-1,input,2025-06-12,0.900000,0.900000,1.125000,0.000000,"
    ));
    let without: Vec<String> = with_list
        .lines()
        .map(|l| {
            let cells = crate::workdir::csv_rows(l).remove(0);
            let kept: Vec<&str> = cells
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != 6)
                .map(|(_, c)| c.as_str())
                .collect();
            csv_line(&kept)
        })
        .collect();
    assert_eq!(without.join("\n") + "\n", expected);
    let summary = analytics.read("out/summary.json");
    assert!(
        summary.contains("\"anthropic-analytics-cost\""),
        "{summary}"
    );
}

/// One CSV line of `cells`, quoted as the writer quotes them.
fn csv_line(cells: &[&str]) -> String {
    let mut w = csv::Writer::from_writer(vec![]);
    w.write_record(cells).unwrap();
    String::from_utf8(w.into_inner().unwrap())
        .unwrap()
        .trim_end()
        .to_string()
}

#[test]
fn a_request_line_billed_inside_the_free_allowance_says_so() {
    // 20 grounded prompts of Gemini 2.5 Flash: inside Google's 1,500 a
    // day, so priced at $0; the invoice bills them. The line names the
    // allowance, not a missing usage column the usage has.
    let wd = Workdir::new("rec-free-allowance");
    wd.write("usage.csv", "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch,web_search_requests\ng1,2025-07-01T12:00:00Z,google,gemini-2.5-flash,1000000,0,0,0,0,false,20\n");
    wd.write("inv.csv", "provider,model,token_type,amount_usd,period_start,period_end\ngoogle,gemini-2.5-flash,input,0.30,2025-07-01,2025-07-02\ngoogle,gemini-2.5-flash,web_search_requests,0.70,2025-07-01,2025-07-02\n");
    let args = ["reconcile", "--usage", "usage.csv", "--invoice", "inv.csv"];
    let out = wd.output(&[&args[..], &["--out", "out"]].concat());
    assert_exit(&out, 1);
    let csv = wd.read("out/reconciliation.csv");
    assert!(csv.contains(
        "google,gemini-2.5-flash,web_search,2025-07-01,0.000000,0.700000,-0.700000,-100.00,missing_in_usage,\
         \"20 web_search request(s) of the usage are inside pricing.toml's free allowance and priced at $0, \
         but the invoice charges more"
    ), "{csv}");
}

#[test]
fn invoice_only_usage_is_dated_in_the_month_its_bill_files_it_under() {
    // The handmade month starts with a record of May 31st (UTC); Google's
    // $2.50 of June 15th has no record: its Adjustment row is June's, with
    // --period or without, and with no record at all.
    let wd = Workdir::handmade("trueup-dated");
    wd.write(
        "invoices/inv.csv",
        "provider,model,token_type,amount_usd,period_start,period_end,charge_category,description,currency\n\
         google,gemini-2.5-flash,input,2.500000,2025-06-15,2025-06-16,usage,,USD\n",
    );
    wd.write("empty.csv", "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n");
    let june = "google,,2025-06-01T00:00:00Z,2025-07-01T00:00:00Z,2025-06-01T00:00:00Z,\
                2025-07-01T00:00:00Z,Adjustment,";
    for (usage, period) in [
        ("usage.csv", None),
        ("usage.csv", Some("2025-06")),
        ("empty.csv", Some("2025-06")),
    ] {
        let mut args = vec![
            "report",
            "--spans",
            "spans",
            "--usage",
            usage,
            "--pricing",
            "pricing.toml",
            "--invoice",
            "invoices",
            "--true-up",
            "--min-match",
            "0",
            "--out",
            "out",
            "--quiet",
        ];
        args.extend(period.map(|p| ["--period", p]).into_iter().flatten());
        wd.fail(&args, 1);
        let focus = wd.read("out/focus.csv");
        let adjustment = focus.lines().find(|l| l.contains(",Adjustment,")).unwrap();
        assert!(
            adjustment.starts_with(june),
            "{usage} {period:?}: {adjustment}"
        );
    }
}
