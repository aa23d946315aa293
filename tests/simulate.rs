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

    // 2. The retry loop: code-review runs from the 12th make several times
    //    the calls of those before; without --changes they do not.
    assert!(changed
        .iter()
        .filter(|r| r.feature == "code-review")
        .all(|r| r.agent == "review_agent"));
    let (before, after) = review_calls(&changed, 12);
    assert!(
        after > 2.2 * before && after < 3.8 * before,
        "code-review calls per run: {before:.2} before the 12th, {after:.2} from it"
    );
    assert!(changed
        .iter()
        .filter(|r| r.feature == "code-review" && r.start_ns < june(12))
        .all(|r| r.calls <= 5));
    let (before, after) = review_calls(&plain, 12);
    assert!(
        after < 1.5 * before && before < 1.5 * after,
        "without --changes: {before:.2} before the 12th, {after:.2} from it"
    );

    // 1. The tenant load: acme-corp has twice the runs, the other tenants as
    //    many as without the changes. Its tenant weight is 30 of 100, so it
    //    has 3 runs for every 7 others, and 6 for 7 with --changes.
    let acme = |runs: &[Run]| runs.iter().filter(|r| r.tenant == "acme-corp").count();
    let (acme_plain, acme_changed) = (acme(&plain), acme(&changed));
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
