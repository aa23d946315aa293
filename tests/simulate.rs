//! `simulate --changes`: the three usage changes a month-over-month
//! comparison should find, read back from the spans the simulator wrote.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{NaiveDate, TimeZone, Utc};

use crate::workdir::Workdir;

/// One run (trace) as its spans tell it.
#[derive(Default)]
struct Run {
    /// The earliest span start: the run's start, Unix nanoseconds.
    start_ns: i64,
    feature: String,
    agent: String,
    tenant: String,
    /// Inference spans exported.
    calls: u64,
}

/// Every run in a simulated month's `spans/`.
fn runs(spans: &Path) -> Vec<Run> {
    let mut runs: BTreeMap<String, Run> = BTreeMap::new();
    for entry in std::fs::read_dir(spans).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines() {
            let doc: serde_json::Value = serde_json::from_str(line).unwrap();
            for resource in doc["resourceSpans"].as_array().unwrap() {
                for scope in resource["scopeSpans"].as_array().unwrap() {
                    for span in scope["spans"].as_array().unwrap() {
                        let trace = span["traceId"].as_str().unwrap().to_string();
                        let run = runs.entry(trace).or_insert(Run {
                            start_ns: i64::MAX,
                            ..Run::default()
                        });
                        let start: i64 =
                            span["startTimeUnixNano"].as_str().unwrap().parse().unwrap();
                        run.start_ns = run.start_ns.min(start);
                        if span["name"].as_str().unwrap().starts_with("chat ") {
                            run.calls += 1;
                        }
                        let attr = |key: &str| {
                            span["attributes"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .find(|a| a["key"] == key)
                                .map(|a| a["value"]["stringValue"].as_str().unwrap().to_string())
                        };
                        // The root agent's span names the feature.
                        if let Some(feature) = attr("app.feature") {
                            run.feature = feature;
                            run.agent = attr("gen_ai.agent.name").unwrap();
                        }
                        if let Some(tenant) = attr("tenant.id") {
                            run.tenant = tenant;
                        }
                    }
                }
            }
        }
    }
    runs.into_values().collect()
}

/// UTC midnight starting `day` of June 2025, in Unix nanoseconds.
fn june(day: u32) -> i64 {
    let date = NaiveDate::from_ymd_opt(2025, 6, day).unwrap();
    Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).unwrap())
        .timestamp_nanos_opt()
        .unwrap()
}

/// Mean calls per `code-review` run that starts before and from `day`.
fn review_calls(runs: &[Run], day: u32) -> (f64, f64) {
    let mean = |after: bool| {
        let picked: Vec<&Run> = runs
            .iter()
            .filter(|r| r.feature == "code-review" && (r.start_ns >= june(day)) == after)
            .collect();
        assert!(picked.len() > 20, "too few code-review runs to compare");
        picked.iter().map(|r| r.calls).sum::<u64>() as f64 / picked.len() as f64
    };
    (mean(false), mean(true))
}

#[test]
fn changes_launch_a_feature_start_a_retry_loop_and_double_a_tenant() {
    let wd = Workdir::new("changes");
    let simulate = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "simulate", "--runs", "2000", "--seed", "7", "--month", "2025-06", "--out", out,
        ];
        args.extend(extra);
        wd.run(&args);
    };
    simulate("plain", &[]);
    simulate("changed", &["--changes"]);
    simulate("again", &["--changes"]);
    let plain = runs(&wd.path("plain/spans"));
    let changed = runs(&wd.path("changed/spans"));
    assert_eq!(plain.len(), 2000);
    assert!(plain.iter().chain(&changed).all(|r| !r.feature.is_empty()));

    // The same seed gives the same bytes with the changes too.
    for name in ["usage.csv", "spans/part-0.jsonl", "spans/part-1.jsonl"] {
        assert!(
            wd.read(&format!("changed/{name}")) == wd.read(&format!("again/{name}")),
            "{name} differs between two runs with --changes"
        );
    }
    the_launch_starts_on_the_9th(&plain, &changed);
    the_retry_loop_starts_on_the_12th(&plain, &changed);
    acme_corp_has_twice_the_runs(&plain, &changed);
}

/// The launch: contract-analysis runs from the 9th on, under its own root agent.
fn the_launch_starts_on_the_9th(plain: &[Run], changed: &[Run]) {
    // 3. The launch: contract-analysis runs only from the 9th, under its own
    //    root agent, and never without --changes.
    let contract: Vec<&Run> = changed
        .iter()
        .filter(|r| r.feature == "contract-analysis")
        .collect();
    assert!(plain.iter().all(|r| r.feature != "contract-analysis"));
    assert!(contract.iter().all(|r| r.start_ns >= june(9)));
    assert!(contract.iter().all(|r| r.agent == "contract_analyst"));
    // About a fifth of the runs from the 9th (weight 25 of 125).
    let from_9th = changed.iter().filter(|r| r.start_ns >= june(9)).count();
    assert!(
        contract.len() * 100 > from_9th * 12 && contract.len() * 100 < from_9th * 28,
        "{} contract-analysis runs of {from_9th} from the 9th",
        contract.len()
    );
    assert!(
        contract.iter().any(|r| r.start_ns < june(10)),
        "from the 9th itself"
    );
}

/// The retry loop: code-review runs from the 12th make several times the calls.
fn the_retry_loop_starts_on_the_12th(plain: &[Run], changed: &[Run]) {
    // 2. The retry loop: code-review runs from the 12th make several times
    //    the calls of those before; without --changes they do not.
    assert!(changed
        .iter()
        .filter(|r| r.feature == "code-review")
        .all(|r| r.agent == "review_agent"));
    let (before, after) = review_calls(changed, 12);
    assert!(
        after > 2.2 * before && after < 3.8 * before,
        "code-review calls per run: {before:.2} before the 12th, {after:.2} from it"
    );
    assert!(changed
        .iter()
        .filter(|r| r.feature == "code-review" && r.start_ns < june(12))
        .all(|r| r.calls <= 5));
    let (before, after) = review_calls(plain, 12);
    assert!(
        after < 1.5 * before && before < 1.5 * after,
        "without --changes: {before:.2} before the 12th, {after:.2} from it"
    );
}

/// The tenant load: acme-corp has twice the runs, the other tenants as many.
fn acme_corp_has_twice_the_runs(plain: &[Run], changed: &[Run]) {
    // 1. The tenant load: acme-corp has twice the runs, the other tenants as
    //    many as without the changes. Its tenant weight is 30 of 100, so it
    //    has 3 runs for every 7 others, and 6 for 7 with --changes.
    let acme = |runs: &[Run]| runs.iter().filter(|r| r.tenant == "acme-corp").count();
    let (acme_plain, acme_changed) = (acme(plain), acme(changed));
    let (others_plain, others_changed) = (plain.len() - acme_plain, changed.len() - acme_changed);
    let per_other = |acme: usize, others: usize| acme as f64 / others as f64;
    let (plain_share, changed_share) = (
        per_other(acme_plain, others_plain),
        per_other(acme_changed, others_changed),
    );
    assert!(
        (0.38..0.48).contains(&plain_share) && (0.76..0.96).contains(&changed_share),
        "acme-corp runs per other run: {plain_share:.3} without --changes, {changed_share:.3} with"
    );
    assert!(
        (1.7..2.4).contains(&(changed_share / plain_share)),
        "acme-corp's runs per other run grew {:.2}×",
        changed_share / plain_share
    );
    assert!(
        others_changed * 100 > others_plain * 92 && others_changed * 100 < others_plain * 108,
        "other runs: {others_plain} without --changes, {others_changed} with"
    );
    // Every acme-corp run has its second.
    assert_eq!(acme_changed % 2, 0);
}

#[test]
fn a_month_with_web_searches_and_reasoning_reconciles_to_the_cent() {
    // simulate --charges: o3 reports reasoning tokens, Claude's research
    // calls make web searches that Anthropic's cost report bills as
    // web_search lines. The report prices each search at $10 per 1,000,
    // attributes it, and reconciles every line with the invoice.
    let wd = Workdir::new("sim-charges");
    wd.run(&[
        "simulate",
        "--runs",
        "300",
        "--seed",
        "7",
        "--charges",
        "--out",
        "month",
    ]);
    let pricing = crate::workdir::repo().join("pricing.toml");
    wd.run(&[
        "report",
        "--spans",
        "month/spans",
        "--usage",
        "month/usage.csv",
        "--invoice",
        "month/invoices",
        "--true-up",
        "--period",
        "2025-06",
        "--pricing",
        pricing.to_str().unwrap(),
        "--quiet",
        "--out",
        "out",
    ]);
    // The truth, from the usage file itself: searches × $0.01, and the
    // reasoning tokens, in period.
    let usage = crate::workdir::csv_rows(&wd.read("month/usage.csv"));
    let column = |name: &str| usage[0].iter().position(|c| c == name).unwrap();
    let june: Vec<&Vec<String>> = usage[1..]
        .iter()
        .filter(|r| r[1].starts_with("2025-06"))
        .collect();
    let count = |name: &str| -> u64 {
        june.iter()
            .map(|r| r[column(name)].parse::<u64>().unwrap_or(0))
            .sum()
    };
    let (searches, reasoning) = (count("web_search_requests"), count("reasoning_tokens"));
    assert!(
        searches > 50 && reasoning > 10_000,
        "{searches} searches, {reasoning} reasoning"
    );
    let summary = wd.read("out/summary.json");
    let fees = format!(
        "\"cost_requests_usd\": \"{}.{:06}\"",
        searches / 100,
        searches % 100 * 10_000
    );
    assert!(summary.contains(&fees), "{fees} in {summary}");
    assert!(
        summary.contains(&format!("\"reasoning_tokens\": {reasoning}")),
        "{summary}"
    );
    let rec = wd.read("out/reconciliation.csv");
    let search_lines: Vec<&str> = rec.lines().filter(|l| l.contains(",web_search,")).collect();
    assert!(!search_lines.is_empty());
    assert!(search_lines.iter().all(|l| l.contains(",ok,")), "{rec}");
    // The research feature carries the searches.
    let features = crate::workdir::csv_rows(&wd.read("out/by_feature.csv"));
    let searches_column = features[0]
        .iter()
        .position(|c| c == "web_search_requests")
        .unwrap();
    let research = features.iter().find(|r| r[0] == "research-report").unwrap();
    assert!(research[searches_column].parse::<u64>().unwrap() > 0);
}

/// USD per million tokens, ×1,000 (so every rate is a whole number):
/// input, cache read, 5-minute write, 1-hour write, output, audio input,
/// audio output.
type Rates = [i128; 7];

/// The rates of every (provider, model, service tier) the simulated April
/// 2026 month uses, copied by hand from the providers' price pages (not
/// read from pricing.toml).
fn april_2026_rates(provider: &str, model: &str, tier: &str) -> Rates {
    match (provider, model, tier) {
        ("anthropic", "claude-sonnet-4-6", "standard") => [3000, 300, 3750, 6000, 15000, 0, 0],
        ("anthropic", "claude-3-5-haiku-20241022", "standard") => [800, 80, 1000, 1600, 4000, 0, 0],
        ("anthropic", "claude-3-5-haiku-20241022", "batch") => [400, 40, 500, 800, 2000, 0, 0],
        ("openai", "gpt-4.1-2025-04-14", "standard") => [2000, 500, 2000, 2000, 8000, 0, 0],
        ("openai", "gpt-4.1-2025-04-14", "priority") => [3500, 875, 3500, 3500, 14000, 0, 0],
        ("openai", "o3-2025-04-16", "standard") => [2000, 500, 2000, 2000, 8000, 0, 0],
        ("openai", "o3-2025-04-16", "flex") => [1000, 250, 1000, 1000, 4000, 0, 0],
        ("openai", "o3-2025-04-16", "priority") => [3500, 875, 3500, 3500, 14000, 0, 0],
        ("openai", "gpt-realtime-2025-08-28", "standard") => {
            [4000, 400, 4000, 4000, 16000, 32000, 64000]
        }
        ("google", "gemini-2.5-pro", "standard") => [1250, 310, 1250, 1250, 10000, 0, 0],
        ("aws.bedrock", "us.anthropic.claude-sonnet-4-6", "standard") => {
            [3300, 330, 4125, 6600, 16500, 0, 0]
        }
        ("aws.bedrock", "global.anthropic.claude-sonnet-4-6", "standard") => {
            [3000, 300, 3750, 6000, 15000, 0, 0]
        }
        ("aws.bedrock", "us.anthropic.claude-3-5-haiku-20241022-v1", "standard") => {
            [800, 80, 1000, 1000, 4000, 0, 0]
        }
        other => panic!("no hand-copied rate for {other:?}"),
    }
}

#[test]
fn a_month_with_every_kind_of_charge_equals_a_hand_computed_truth() {
    // simulate --charges in April 2026: web searches, reasoning tokens,
    // flex and priority tiers, a US-only share on Claude Sonnet 4.6 (1.1×),
    // Bedrock's regional (us.) and global profiles, and audio tokens.
    let wd = Workdir::new("sim-every-charge");
    wd.run(&[
        "simulate",
        "--runs",
        "300",
        "--seed",
        "11",
        "--month",
        "2026-04",
        "--charges",
        "--out",
        "month",
    ]);
    let pricing = crate::workdir::repo().join("pricing.toml");
    let report = [
        "report",
        "--spans",
        "month/spans",
        "--usage",
        "month/usage.csv",
        "--invoice",
        "month/invoices",
        "--period",
        "2026-04",
        "--pricing",
        "pricing.toml",
        "--quiet",
        "--out",
        "out",
    ];
    let table = std::fs::read_to_string(&pricing).unwrap();
    wd.write("pricing.toml", &table);
    // The invoices (Anthropic's cost report with web_search lines, OpenAI's
    // costs, Bedrock's and Google's) reconcile: exit 0.
    wd.run(&report);
    let by_model = hand_computed_truth_by_model(&wd);
    each_model_and_the_total_equal_the_truth(&wd, &by_model);
    // Dropping one rate stops the run, naming what is missing.
    let without_geo = table.replacen(
        "[model.geo.us]            # US-only inference (inference_geo): 1.1x every rate\nmultiplier = 1.1\n",
        "",
        2,
    );
    assert_ne!(without_geo, table);
    wd.write("pricing.toml", &without_geo);
    let stderr = wd.fail(&report, 2);
    assert!(
        stderr
            .contains("anthropic claude-sonnet-4-6: no [model.geo.<region>] for its inference_geo"),
        "{stderr}"
    );
}

/// The month's cost by model, priced record by record at hand-copied rates, in 10⁻⁹ USD.
fn hand_computed_truth_by_model(wd: &Workdir) -> BTreeMap<String, i128> {
    // The truth, record by record, in units of 10⁻⁹ USD.
    let usage = crate::workdir::csv_rows(&wd.read("month/usage.csv"));
    let column = |name: &str| usage[0].iter().position(|c| c == name).unwrap();
    let count = |row: &[String], name: &str| -> i128 { row[column(name)].parse().unwrap_or(0) };
    let mut by_model: BTreeMap<String, i128> = BTreeMap::new();
    let mut seen = BTreeMap::new();
    for row in usage[1..].iter().filter(|r| r[1].starts_with("2026-04")) {
        let (provider, model) = (&row[column("provider")], &row[column("model")]);
        let tier = &row[column("service_tier")];
        let prompt: i128 = [
            "uncached_input_tokens",
            "cache_read_tokens",
            "cache_write_5m_tokens",
            "cache_write_1h_tokens",
        ]
        .iter()
        .map(|c| count(row, c))
        .sum();
        // Gemini 2.5 Pro prices a prompt over 200k tokens at its long-context rates.
        let r = match (model.as_str(), prompt > 200_000) {
            ("gemini-2.5-pro", true) => [2500, 625, 2500, 2500, 15000, 0, 0],
            _ => april_2026_rates(provider, model, tier),
        };
        let (audio_in, audio_out) = (
            count(row, "audio_input_tokens"),
            count(row, "audio_output_tokens"),
        );
        let mut cost = (count(row, "uncached_input_tokens") - audio_in) * r[0]
            + count(row, "cache_read_tokens") * r[1]
            + count(row, "cache_write_5m_tokens") * r[2]
            + count(row, "cache_write_1h_tokens") * r[3]
            + (count(row, "output_tokens") - audio_out) * r[4]
            + audio_in * r[5]
            + audio_out * r[6];
        if row[column("inference_geo")] == "us" {
            cost = cost * 11 / 10;
        }
        cost += count(row, "web_search_requests") * 10_000_000; // $10 per 1,000
        *by_model.entry(model.clone()).or_default() += cost;
        *seen
            .entry((tier.clone(), row[column("inference_geo")].clone()))
            .or_insert(0) += 1;
    }
    // Every kind of line is in the month.
    for kind in [
        ("flex", ""),
        ("priority", ""),
        ("batch", ""),
        ("standard", "us"),
    ] {
        assert!(
            seen.contains_key(&(kind.0.into(), kind.1.into())),
            "{kind:?} in {seen:?}"
        );
    }
    for model in [
        "us.anthropic.claude-sonnet-4-6",
        "global.anthropic.claude-sonnet-4-6",
        "gpt-realtime-2025-08-28",
        "o3-2025-04-16",
    ] {
        assert!(by_model.contains_key(model), "{model} in {by_model:?}");
    }
    by_model
}

/// by_model.csv's costs and summary.json's total against the hand-computed truth.
fn each_model_and_the_total_equal_the_truth(wd: &Workdir, by_model: &BTreeMap<String, i128>) {
    let nano = |usd: &str| -> i128 {
        let (whole, frac) = usd.split_once('.').unwrap();
        whole.parse::<i128>().unwrap() * 1_000_000_000
            + format!("{frac:0<9}").parse::<i128>().unwrap()
    };
    let models = crate::workdir::csv_rows(&wd.read("out/by_model.csv"));
    let cost = models[0].iter().position(|c| c == "cost_usd").unwrap();
    let model = models[0].iter().position(|c| c == "model").unwrap();
    for (name, truth) in by_model {
        let row = models.iter().find(|r| &r[model] == name).unwrap();
        assert!(
            (nano(&row[cost]) - truth).abs() <= 1_000,
            "{name}: {} reported, {truth}e-9 computed by hand",
            row[cost]
        );
    }
    let total: i128 = by_model.values().sum();
    let summary = wd.read("out/summary.json");
    let reported = summary
        .split("\"cost_usd\": \"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap();
    assert!(
        (nano(reported) - total).abs() <= 500,
        "total {reported} reported, {total}e-9 computed by hand"
    );
}

#[test]
fn a_fleet_shaped_month_spreads_over_numbered_tenants_and_tool_variants() {
    let wd = Workdir::new("sim-fleet");
    wd.run(&[
        "simulate",
        "--runs",
        "400",
        "--seed",
        "3",
        "--tenants",
        "50",
        "--tools",
        "5",
        "--out",
        "month",
    ]);
    wd.run(&[
        "report",
        "--spans",
        "month/spans",
        "--usage",
        "month/usage.csv",
        "--period",
        "2025-06",
        "--quiet",
        "--out",
        "out",
    ]);
    let tenants = crate::workdir::csv_rows(&wd.read("out/by_tenant.csv"));
    let numbered = tenants[1..]
        .iter()
        .filter(|r| r[0].starts_with("tenant-00"))
        .count();
    assert!(numbered > 25, "{numbered} numbered tenants");
    // The busiest is the first by rank.
    assert_eq!(tenants[1][0], "tenant-0001", "{:?}", &tenants[..4]);
    let tools = crate::workdir::csv_rows(&wd.read("out/by_tool.csv"));
    // Only deep_research runs calls under it (its sub-agent's).
    let variants = tools
        .iter()
        .filter(|r| r[0].starts_with("deep_research-00"))
        .count();
    assert_eq!(variants, 5, "{tools:?}");
    assert!(!tools.iter().any(|r| r[0] == "deep_research"), "{tools:?}");
    let stderr = wd.fail(
        &[
            "simulate",
            "--runs",
            "10",
            "--tenants",
            "5",
            "--charges",
            "--out",
            "other",
        ],
        2,
    );
    assert!(
        stderr.contains("--tenants replaces the named tenants"),
        "{stderr}"
    );
}

#[test]
fn a_month_too_small_for_every_provider_writes_only_the_bills_it_has() {
    // One run bills no Anthropic or OpenAI token: their bills are not
    // written (an empty file, which the readers refuse, stopped the run).
    let wd = Workdir::new("sim-tiny");
    wd.run(&[
        "simulate",
        "--runs",
        "1",
        "--seed",
        "11",
        "--month",
        "2028-02",
        "--charges",
        "--out",
        "m",
    ]);
    assert!(!wd.path("m/invoices/anthropic-cost-report.jsonl").exists());
    wd.run(&[
        "report",
        "--spans",
        "m/spans",
        "--usage",
        "m/usage.csv",
        "--invoice",
        "m/invoices",
        "--true-up",
        "--out",
        "out",
        "--quiet",
    ]);
}
