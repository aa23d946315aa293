//! The answers (#6) on a small fleet whose every figure is worked out by
//! hand. gpt-test costs $1 per million input tokens ($0.50 in batch), so a
//! call of N×100,000 input tokens costs $N/10.
//!
//! Feature `chat` (tenant t-a, agent chat_agent): runs 1–9 make one call of
//! run×100k tokens ($0.10 … $0.90); run 10 makes three calls of 600k, 100k
//! and 300k tokens written in that order but started 3rd, 1st and 2nd
//! ($1.00). Runs 1–8 succeed, 9 and 10 fail.
//! Feature `batch` (tenant t-b, agent batch_agent): run 11 one call of 200k
//! ($0.20), run 12 one batch call of 200k ($0.10), run 13 two calls that
//! number their own steps, 1.2M at step 2 and 0.8M at step 1 ($2.00). All
//! three succeed. One more record, 50k tokens, joins no span ($0.05).
//! Month: $5.50 + $2.30 + $0.05 = $7.85.

use crate::workdir::{csv_rows, fixture, repo, Workdir, HANDMADE_REPORT};

/// A flat JSONL span.
fn span(run: u32, span: u32, parent: Option<u32>, start: u32, attrs: &str) -> String {
    let parent = parent.map_or("null".to_string(), |p| format!("\"0x{p:016x}\""));
    format!(
        "{{\"name\":\"s\",\"context\":{{\"trace_id\":\"0x{run:032x}\",\"span_id\":\"0x{:016x}\"}},\
         \"parent_id\":{parent},\"start_time\":\"2025-06-10T09:00:{start:02}Z\",\"attributes\":{{{attrs}}}}}\n",
        run * 100 + span
    )
}

/// A call under run `run`'s agent span (span 1), with usage record `req`.
fn call(run: u32, n: u32, start: u32, step: Option<u32>) -> String {
    let step = step.map_or(String::new(), |s| format!(",\"gen_ai.agent.step\":{s}"));
    let attrs = format!(
        "\"gen_ai.operation.name\":\"chat\",\"gen_ai.response.id\":\"req-{run}-{n}\"{step}"
    );
    span(run, 10 + n, Some(run * 100 + 1), start, &attrs)
}

fn fleet() -> Workdir {
    let wd = Workdir::new("answers");
    wd.copy(&fixture("handmade/pricing.toml"), "pricing.toml");
    let mut spans = String::new();
    let mut usage = String::from(
        "timestamp,request_id,provider,model,output_tokens,uncached_input_tokens,\
         cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,batch\n",
    );
    let mut record = |run: u32, n: u32, tokens: u64, batch: bool| {
        usage += &format!(
            "2025-06-10T09:00:00Z,req-{run}-{n},openai,gpt-test,0,{tokens},0,0,0,{batch}\n"
        );
    };
    for run in 1..=13 {
        let (tenant, feature, agent) = if run <= 10 {
            ("t-a", "chat", "chat_agent")
        } else {
            ("t-b", "batch", "batch_agent")
        };
        let outcome = if run == 9 || run == 10 {
            "failure"
        } else {
            "success"
        };
        spans += &span(
            run,
            1,
            None,
            0,
            &format!(
                "\"gen_ai.operation.name\":\"invoke_agent\",\"gen_ai.agent.name\":\"{agent}\",\
                 \"tenant.id\":\"{tenant}\",\"app.feature\":\"{feature}\",\"app.outcome\":\"{outcome}\""
            ),
        );
        match run {
            10 => {
                for (n, (tokens, start)) in [(600_000, 3), (100_000, 1), (300_000, 2)]
                    .into_iter()
                    .enumerate()
                {
                    spans += &call(run, n as u32, start, None);
                    record(run, n as u32, tokens, false);
                }
            }
            13 => {
                spans += &call(run, 0, 1, Some(2));
                record(run, 0, 1_200_000, false);
                spans += &call(run, 1, 2, Some(1));
                record(run, 1, 800_000, false);
            }
            _ => {
                spans += &call(run, 0, 1, None);
                let tokens = if run <= 9 {
                    u64::from(run) * 100_000
                } else {
                    200_000
                };
                record(run, 0, tokens, run == 12);
            }
        }
    }
    record(99, 0, 50_000, false);
    wd.write("spans/fleet.jsonl", &spans);
    wd.write("usage.csv", &usage);
    wd
}

/// The hand-made fleet's report command for June, with `flags`.
fn args<'a>(flags: &[&'a str]) -> Vec<&'a str> {
    let mut args = HANDMADE_REPORT.to_vec();
    args.extend(["--period", "2025-06"]);
    args.extend(flags);
    args
}

fn report(wd: &Workdir, flags: &[&str]) {
    wd.run(&args(&[&["--quiet"], flags].concat()));
}

#[test]
fn cost_distribution_uses_nearest_rank_percentiles() {
    let wd = fleet();
    report(&wd, &[]);
    assert_eq!(
        wd.read("out/distribution.csv"),
        "dimension,key,runs,mean_usd,p50_usd,p95_usd,p99_usd,max_usd,total_usd\n\
         feature,chat,10,0.550000,0.500000,1.000000,1.000000,1.000000,5.500000\n\
         feature,batch,3,0.766667,0.200000,2.000000,2.000000,2.000000,2.300000\n\
         agent,chat_agent,10,0.550000,0.500000,1.000000,1.000000,1.000000,5.500000\n\
         agent,batch_agent,3,0.766667,0.200000,2.000000,2.000000,2.000000,2.300000\n"
    );
    // Nothing is above a p99 that is its group's maximum.
    assert_eq!(
        wd.read("out/outliers.csv"),
        "run_id,feature,tenant,agent,steps,calls,cost_usd,threshold_usd\n"
    );
}

#[test]
fn outliers_above_a_factor_of_the_median() {
    let wd = fleet();
    report(&wd, &["--outlier-factor", "3"]);
    // batch: median $0.20 × 3 = $0.60, run 13 costs $2.00; chat: $1.50, none.
    assert_eq!(
        wd.read("out/outliers.csv"),
        "run_id,feature,tenant,agent,steps,calls,cost_usd,threshold_usd\n\
         0000000000000000000000000000000d,batch,t-b,batch_agent,2,2,2.000000,0.600000\n"
    );
}

#[test]
fn per_step_curve_orders_calls_by_start_time_or_their_own_step() {
    let wd = fleet();
    report(&wd, &[]);
    // Step 1: runs 1–9 (4.5M), run 10's 100k, runs 11 and 12 (400k), run
    // 13's 800k: 13 calls, 5.8M tokens, $5.70. Step 2: 300k + 1.2M. Step 3: 600k.
    assert_eq!(
        wd.read("out/by_step.csv"),
        "step,calls,mean_input_tokens,mean_cache_read_tokens,mean_output_tokens,cost_usd\n\
         1,13,446153.8,0.0,0.0,5.700000\n\
         2,2,750000.0,0.0,0.0,1.500000\n\
         3,1,600000.0,0.0,0.0,0.600000\n\
         (unattributed),1,50000.0,0.0,0.0,0.050000\n"
    );
}

#[test]
fn cost_per_outcome_counts_failures_in_the_price_of_success() {
    let wd = fleet();
    report(&wd, &[]);
    // chat: $5.50 over 10 runs, 8 successes: $0.6875 per success.
    let expected =
        "feature,runs,successful_runs,cost_usd,cost_per_run_usd,cost_per_successful_run_usd\n\
                    chat,10,8,5.500000,0.550000,0.687500\n\
                    batch,3,3,2.300000,0.766667,0.766667\n\
                    (unattributed),0,0,0.050000,,\n";
    assert_eq!(wd.read("out/by_outcome.csv"), expected);

    // An outcomes CSV overrides the spans: run 13 failed after all.
    wd.write(
        "outcomes.csv",
        "run_id,outcome\n0000000000000000000000000000000D,Failure\n",
    );
    report(&wd, &["--outcomes", "outcomes.csv"]);
    let rows = csv_rows(&wd.read("out/by_outcome.csv"));
    assert_eq!(
        rows[2],
        ["batch", "3", "2", "2.300000", "0.766667", "1.150000"]
    );
    assert!(!wd.read("out/summary.json").contains("name no run"));
    // An id that names no run (another month's, a wrong id) is said so.
    let more = "000000000000000000000000000000ff,ok\n";
    wd.write("outcomes.csv", &(wd.read("outcomes.csv") + more));
    report(&wd, &["--outcomes", "outcomes.csv"]);
    assert!(wd.read("out/summary.json").contains(
        "outcomes.csv: 1 of its 2 run ids name no run that called a model this month (the first: 000000000000000000000000000000ff)"
    ));

    // Other words for success.
    report(&wd, &["--success-outcome", "failure"]);
    let rows = csv_rows(&wd.read("out/by_outcome.csv"));
    assert_eq!(
        rows[1],
        ["chat", "10", "2", "5.500000", "0.550000", "2.750000"]
    );
}

#[test]
fn a_bad_outcomes_file_names_its_line() {
    let wd = fleet();
    wd.write(
        "outcomes.csv",
        "run_id,outcome\n0000000000000000000000000000000d,ok\nrun-7,ok\n",
    );
    let stderr = wd.fail(&args(&["--outcomes", "outcomes.csv"]), 2);
    assert_eq!(
        stderr,
        "tokenledger: outcomes.csv:3: run_id \"run-7\" is not a 32-hex-digit trace id\n"
    );
}

#[test]
fn an_outcomes_error_after_blank_lines_names_the_right_line() {
    // The CSV reader skips blank lines: the line is the record's own, not a count of records.
    let wd = fleet();
    wd.write(
        "outcomes.csv",
        "run_id,outcome\n\n0000000000000000000000000000000d,ok\n\n\nrun-7,ok\n",
    );
    let stderr = wd.fail(&args(&["--outcomes", "outcomes.csv"]), 2);
    assert_eq!(
        stderr,
        "tokenledger: outcomes.csv:6: run_id \"run-7\" is not a 32-hex-digit trace id\n"
    );
    // A row of the wrong width is named by its line too.
    wd.write(
        "outcomes.csv",
        "run_id,outcome\n\n\n0000000000000000000000000000000d,ok,late\n",
    );
    let stderr = wd.fail(&args(&["--outcomes", "outcomes.csv"]), 2);
    assert!(
        stderr.starts_with("tokenledger: outcomes.csv:4: "),
        "{stderr}"
    );
}

#[test]
fn budgets_warn_at_80_percent_and_are_over_at_100() {
    let wd = fleet();
    // t-a spends $5.50: exactly 80 % of $6.875. t-b spends $2.30: exactly 100 %.
    wd.write(
        "budgets.toml",
        "[[budget]]\ndimension = \"tenant\"\nkey = \"t-b\"\nusd = 2.30\n\n\
         [[budget]]\ndimension = \"tenant\"\nkey = \"t-a\"\nusd = 6.875\n\n\
         [[budget]]\ndimension = \"feature\"\nkey = \"chat\"\nusd = 100\n\n\
         [[budget]]\ndimension = \"tenant\"\nkey = \"t-z\"\nusd = 1\n",
    );
    report(&wd, &["--budgets", "budgets.toml"]);
    assert_eq!(
        wd.read("out/budget.csv"),
        "dimension,key,spend_usd,budget_usd,pct_used,status\n\
         tenant,t-a,5.500000,6.875000,80.00,warn\n\
         tenant,t-b,2.300000,2.300000,100.00,over\n\
         tenant,t-z,0.000000,1.000000,0.00,ok\n\
         feature,chat,5.500000,100.000000,5.50,ok\n"
    );
    // t-z spends nothing, or is a typo: judged on $0, and said so.
    assert!(wd.read("out/summary.json").contains(
        "budget for tenant \\\"t-z\\\" matches no tenant of the month: it is judged on $0"
    ));
    // The gate: exit 1 with the reports written, and the summary says why.
    let out = wd.output(&args(&["--budgets", "budgets.toml", "--fail-on-budget"]));
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains(
            "budgets (on computed cost): 1 over, 1 at warning, 2 ok\n  warn tenant t-a: $5.500000 computed of $6.875000 (80.00 %)\n  over tenant t-b: $2.300000 computed of $2.300000 (100.00 %)\n"
        ),
        "{stdout}"
    );
    // A warning share of its own: 81 % leaves t-a ok.
    let text = wd.read("budgets.toml");
    wd.write("budgets.toml", &format!("warn_pct = 81\n{text}"));
    report(&wd, &["--budgets", "budgets.toml"]);
    assert!(wd
        .read("out/budget.csv")
        .contains("tenant,t-a,5.500000,6.875000,80.00,ok\n"));
}

#[test]
fn a_bad_budget_names_its_line() {
    let wd = fleet();
    wd.write(
        "budgets.toml",
        "[[budget]]\ndimension = \"team\"\nkey = \"x\"\nusd = 5\n",
    );
    let args = args(&["--budgets", "budgets.toml"]);
    assert_eq!(
        wd.fail(&args, 2),
        "tokenledger: budgets.toml:1: the [[budget]] at line 1: dimension \"team\" is not one of tenant, feature, agent, tool, model\n"
    );
    wd.write(
        "budgets.toml",
        "[[budget]]\ndimension = \"tenant\"\nkey = \"x\"\nusd = \"5\"\n",
    );
    assert_eq!(
        wd.fail(&args, 2),
        "tokenledger: budgets.toml:4: \"usd\" must be a number (USD)\n"
    );
}

#[test]
fn focus_rows_column_by_column() {
    let wd = fleet();
    report(&wd, &[]);
    let rows = csv_rows(&wd.read("out/focus.csv"));
    let header = &rows[0];
    // Day, provider, model, token type, rate, then tenant/feature/agent:
    // t-b's batch call (rate $0.50) comes before the t-a rows at $1.00.
    let batch = &rows[1];
    let expected = [
        ("BillingAccountId", "openai"),
        ("BillingAccountName", ""),
        ("BillingPeriodStart", "2025-06-01T00:00:00Z"),
        ("BillingPeriodEnd", "2025-07-01T00:00:00Z"),
        ("ChargePeriodStart", "2025-06-10T00:00:00Z"),
        ("ChargePeriodEnd", "2025-06-11T00:00:00Z"),
        ("ChargeCategory", "Usage"),
        ("ChargeClass", ""),
        ("ChargeFrequency", "Usage-Based"),
        ("ChargeDescription", "gpt-test input tokens"),
        ("BilledCost", "0.100000"),
        ("EffectiveCost", "0.100000"),
        ("ListCost", "0.100000"),
        ("ContractedCost", "0.100000"),
        ("BillingCurrency", "USD"),
        ("ServiceName", "openai API"),
        ("ServiceCategory", "AI and Machine Learning"),
        ("ServiceSubcategory", "Generative AI"),
        ("ProviderName", "openai"),
        ("PublisherName", "openai"),
        ("InvoiceIssuerName", "openai"),
        ("ServiceProviderName", "openai"),
        ("HostProviderName", "openai"),
        ("SkuId", "gpt-test"),
        ("SkuPriceId", "gpt-test:input:batch"),
        ("SkuMeter", "input"),
        ("ConsumedQuantity", "200000"),
        ("ConsumedUnit", "Tokens"),
        ("PricingQuantity", "0.2"),
        ("PricingUnit", "1000000 Tokens"),
        ("ListUnitPrice", "0.5"),
        ("ContractedUnitPrice", "0.5"),
        ("x_Tenant", "t-b"),
        ("x_Feature", "batch"),
        ("x_Agent", "batch_agent"),
        ("x_Requests", "1"),
    ];
    assert_eq!(header.len(), expected.len());
    for (i, (column, value)) in expected.iter().enumerate() {
        assert_eq!((header[i].as_str(), batch[i].as_str()), (*column, *value));
    }
    // The other rows: unattributed $0.05, t-a $5.50 (5.5M tokens over 12
    // calls), t-b at $1.00 $2.20.
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let columns = [
        "BilledCost",
        "ConsumedQuantity",
        "x_Tenant",
        "ListUnitPrice",
        "x_Requests",
    ];
    let short: Vec<[&str; 5]> = rows[2..]
        .iter()
        .map(|r| columns.map(|c| r[at(c)].as_str()))
        .collect();
    assert_eq!(
        short,
        [
            ["0.050000", "50000", "(unattributed)", "1", "1"],
            ["5.500000", "5500000", "t-a", "1", "12"],
            ["2.200000", "2200000", "t-b", "1", "3"],
        ]
    );
}

#[test]
fn focus_rows_bill_in_the_pricing_tables_currency() {
    let wd = fleet();
    let pricing = wd
        .read("pricing.toml")
        .replace("currency = \"USD\"", "currency = \"EUR\"");
    wd.write("pricing.toml", &pricing);
    report(&wd, &[]);
    let rows = csv_rows(&wd.read("out/focus.csv"));
    let at = rows[0].iter().position(|h| h == "BillingCurrency").unwrap();
    assert!(rows[1..].iter().all(|r| r[at] == "EUR"), "{rows:?}");
}

#[test]
fn the_page_is_self_contained() {
    let wd = fleet();
    report(&wd, &[]);
    let html = wd.read("out/report.html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<div class=\"big\">$7.85</div>computed cost"));
    assert!(html.contains("p99 $2.00"), "the p99 line is drawn");
    // Cost per day, tenants, features, models, the run histogram, the step
    // curve.
    assert_eq!(html.matches("<svg").count(), 6);
    for fetch in ["src=", "href=", "<script", "url(", "@import"] {
        assert!(!html.contains(fetch), "report.html fetches with {fetch}");
    }
}

#[test]
fn the_page_draws_every_day_of_the_month() {
    // The hand-made fleet's June, with tenant beta renamed to a script.
    let wd = Workdir::handmade("html-days");
    let spans = wd.read("spans/children.jsonl").replace(
        "\"stringValue\":\"beta\"",
        "\"stringValue\":\"<script>beta</script>\"",
    );
    wd.write("spans/children.jsonl", &spans);
    report(&wd, &[]);
    let html = wd.read("out/report.html");
    let start = html
        .find("<h2>Cost per day</h2>")
        .expect("the daily section");
    let section = &html[start..start + html[start..].find("</div>").unwrap()];
    check_day_bars(section);
    check_day_lines(section);
    assert!(!html.contains("<script"));
    check_anomaly_dots(section);
    // Computed cost, as the headline: no word of a true-up. The sample
    // month is trued up, and its caption says the curve is not.
    assert!(!section.contains("true-up"));
    let sample =
        std::fs::read_to_string(repo().join("tests/expected/samples/report.html")).unwrap();
    assert!(sample.contains("computed cost, before the invoice true-up"));
}

/// The daily section's bars: one per day of June, titled and scaled.
fn check_day_bars(section: &str) {
    // One bar per day of June, titled with the day's total: the tenant rows
    // of by_day.csv on 06-10 ($0.0126), 06-12 ($0.9585), 06-16 ($0.014) and
    // 06-20 ($0.018 + $0.01925).
    let titles: Vec<&str> = section
        .split("class=\"day\"><title>")
        .skip(1)
        .map(|t| &t[..t.find("</title>").unwrap()])
        .collect();
    let expected: Vec<String> = (1..=30)
        .map(|day| {
            let usd = match day {
                10 | 16 => "$0.01",
                12 => "$0.96",
                20 => "$0.04",
                _ => "$0.00",
            };
            format!("2025-06-{day:02}: {usd}")
        })
        .collect();
    assert_eq!(titles, expected);
    assert_eq!(section.matches("class=\"day\"").count(), 30);
    // Gridlines every $0.50 up to $1: 06-12's bar is 0.9585 of the height.
    assert!(section.contains(">$0.50</text>") && section.contains(">$1</text>"));
    assert!(
        section.contains("height=\"172.5\" class=\"day\"><title>2025-06-12: $0.96</title>"),
        "{section}"
    );
}

/// The daily section's lines, one per tenant and feature, and their legend.
fn check_day_lines(section: &str) {
    // Three tenants and three features, each a line through all 30 days.
    let lines: Vec<&str> = section
        .split("<polyline points=\"")
        .skip(1)
        .map(|p| &p[..p.find('"').unwrap()])
        .collect();
    assert_eq!(lines.len(), 6);
    for line in &lines {
        assert_eq!(line.split(' ').count(), 30, "{line}");
    }
    // conv-9's line: $0 but on 06-12 ($0.9585) and 06-16 ($0.014).
    let conv9: Vec<&str> = lines[0]
        .split(' ')
        .map(|p| p.split(',').nth(1).unwrap())
        .collect();
    assert_eq!(conv9[11], "27.5");
    assert_eq!(conv9[15], "197.5");
    assert_eq!(conv9.iter().filter(|y| **y == "200.0").count(), 28);
    // The legend names them, escaped.
    for label in [
        "tenant conv-9",
        "tenant acme",
        "tenant &lt;script&gt;beta&lt;/script&gt;",
        "feature (none)",
        "feature research",
        "feature (unattributed)",
    ] {
        assert!(
            section.contains(&format!("</span>{label}</span>")),
            "{label}"
        );
    }
}

/// The daily section's anomaly marks, one per day of anomalies.csv.
fn check_anomaly_dots(section: &str) {
    // anomalies.csv's days are marked over their bars, each once, titled
    // with what moved (its first four, then a count).
    let dots: Vec<&str> = section
        .split("class=\"anomaly\"><title>")
        .skip(1)
        .map(|t| &t[..t.find("</title>").unwrap()])
        .collect();
    assert_eq!(dots.len(), 2, "{dots:?}");
    assert!(
        dots[0].starts_with(
            "2025-06-20: tenant &lt;script&gt;beta&lt;/script&gt;: $0.02, expected $0.00;"
        ) && dots[0].ends_with("; and 10 more"),
        "{}",
        dots[0]
    );
    assert!(
        dots[1].starts_with("2025-06-25: tenant (unattributed): 1 requests, expected 0 requests")
    );
}

#[test]
fn calls_started_at_one_instant_take_their_steps_by_span_id_not_line_order() {
    // Run 1's two calls start at the same second: 100k tokens (span 110)
    // and 300k (span 111). Written in either order, 110 is step 1.
    let agent = "\"gen_ai.operation.name\":\"invoke_agent\",\"gen_ai.agent.name\":\"a\"";
    let usage = "timestamp,request_id,provider,model,output_tokens,uncached_input_tokens,\
                 cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,batch\n\
                 2025-06-10T09:00:00Z,req-1-0,openai,gpt-test,0,100000,0,0,0,false\n\
                 2025-06-10T09:00:00Z,req-1-1,openai,gpt-test,0,300000,0,0,0,false\n";
    let steps = |name: &str, calls: [u32; 2]| {
        let wd = Workdir::new(name);
        wd.copy(&fixture("handmade/pricing.toml"), "pricing.toml");
        let spans: String = calls.iter().map(|&n| call(1, n, 1, None)).collect();
        wd.write("spans/fleet.jsonl", &(span(1, 1, None, 0, agent) + &spans));
        wd.write("usage.csv", usage);
        report(&wd, &[]);
        wd.read("out/by_step.csv")
    };
    let in_order = steps("steps-tie-a", [0, 1]);
    assert_eq!(in_order, steps("steps-tie-b", [1, 0]));
    let rows = csv_rows(&in_order);
    assert_eq!(
        [rows[1][0].as_str(), &rows[1][2]],
        ["1", "100000.0"],
        "{in_order}"
    );
}
