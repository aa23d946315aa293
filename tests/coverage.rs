//! Coverage: the per-request usage against providers' own usage reports,
//! per (provider, model, UTC day, token type).

use crate::workdir::{fixture, real, Workdir};

fn reconcile(wd: &Workdir, reports: &[&str], flags: &[&str]) -> std::process::Output {
    let mut args = vec!["--quiet", "--provider-usage"];
    args.extend(reports);
    args.extend(flags);
    wd.reconcile("invoice.csv", &args)
}

#[test]
fn usage_reports_show_the_traffic_a_gateway_missed() {
    // OpenAI reports 20,000 input tokens for gpt-test on 06-20, 5,000 of them
    // cached: 15,000 uncached, of which the per-request usage has 10,000
    // (66.66 %). Everything else, Anthropic's Console CSV included (dated
    // and display names), is covered exactly.
    let wd = Workdir::handmade("coverage");
    wd.copy(&fixture("invoices/tokenledger.csv"), "invoice.csv");
    wd.copy(
        &fixture("provider-usage/openai-usage.json"),
        "reports/openai.json",
    );
    wd.copy(
        &fixture("provider-usage/anthropic-usage.csv"),
        "reports/anthropic.csv",
    );
    let out = reconcile(&wd, &["reports"], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        wd.read("out/coverage.csv"),
        "provider,model,day,token_type,per_request_tokens,provider_tokens,delta,coverage_pct
anthropic,claude-test-1,2025-06-10,input,1000,1000,0,100.00
anthropic,claude-test-1,2025-06-10,cache_read,2000,2000,0,100.00
anthropic,claude-test-1,2025-06-10,cache_write_5m,400,400,0,100.00
anthropic,claude-test-1,2025-06-10,output,500,500,0,100.00
anthropic,claude-test-1,2025-06-12,input,150000,150000,0,100.00
anthropic,claude-test-1,2025-06-12,cache_read,60000,60000,0,100.00
anthropic,claude-test-1,2025-06-12,output,1000,1000,0,100.00
anthropic,claude-test-1,2025-06-16,input,4000,4000,0,100.00
anthropic,claude-test-1,2025-06-16,output,2000,2000,0,100.00
anthropic,claude-test-1,2025-06-20,input,2000,2000,0,100.00
anthropic,claude-test-1,2025-06-20,cache_write_1h,1000,1000,0,100.00
anthropic,claude-test-1,2025-06-20,output,1000,1000,0,100.00
openai,gpt-test,2025-06-20,input,10000,15000,-5000,66.66
openai,gpt-test,2025-06-20,cache_read,5000,5000,0,100.00
openai,gpt-test,2025-06-20,output,2000,2000,0,100.00
openai,gpt-test,2025-06-25,input,7,7,0,100.00
openai,gpt-test,2025-06-25,cache_read,3,3,0,100.00
"
    );
    let summary = wd.read("out/summary.json");
    assert!(summary.contains("\"coverage\": {\n    \"rows\": 17,\n    \"lowest_pct\": \"66.66\",\n    \"min_coverage_pct\": null,\n    \"below_min\": 0\n  }"), "{summary}");

    // The gate: one row below 90 % fails the run; 60 % passes.
    let out = reconcile(&wd, &["reports"], &["--min-coverage", "90"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(wd.read("out/summary.json").contains("\"below_min\": 1"));
    assert_eq!(
        reconcile(&wd, &["reports"], &["--min-coverage", "60"])
            .status
            .code(),
        Some(0)
    );
    // A gate finer than the 2 decimals coverage_pct is written with is
    // refused: a row at 66.66 % could fail a 66.665 gate or pass it.
    let finer = reconcile(&wd, &["reports"], &["--min-coverage", "66.665"]);
    assert_eq!(finer.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&finer.stderr);
    assert!(stderr.contains("at most 2 decimals"), "{stderr}");
    // A report saved under a name no reader takes is said on the terminal,
    // as `report` says it, not only in summary.json.
    wd.write("reports/anthropic.ndjson", "{}\n");
    let out = wd.reconcile("invoice.csv", &["--provider-usage", "reports"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("not read: 1 file(s) of the input directories: reports/anthropic.ndjson"),
        "{stdout}"
    );
}

#[test]
fn a_report_not_grouped_by_model_compares_all_models() {
    // OpenAI's documented example: one bucket (2024-11-01), no model split,
    // input 1,000 = 500 uncached + 400 cached + 100 cache writes. One
    // request of that day logged by a gateway, which cannot tell cache
    // writes apart (prompt_tokens 1,000, cached_tokens 400): its 600
    // uncached cover the writes too, compared as input.
    let wd = Workdir::handmade("coverage-all");
    let usage = wd.read("usage.csv");
    let request = "2024-11-01T10:00:00Z,r-cw,openai,gpt-old,500,600,400,0,0,false,sk-a\n";
    wd.write("usage.csv", &format!("{usage}{request}"));
    let pricing = wd.read("pricing.toml");
    let old = "[[model]]\nprovider = \"openai\"\nmatch = [\"gpt-old\"]\neffective_from = 2024-01-01\ninput = 1\noutput = 4\ncache_read = 0.25\ncache_write_5m = 1\ncache_write_1h = 1\n";
    wd.write("pricing.toml", &format!("{pricing}\n{old}"));
    wd.copy(&fixture("invoices/tokenledger.csv"), "invoice.csv");
    // The documented page says more follow (a failed gate here): its last.
    let page = std::fs::read_to_string(real("openai-usage-completions.json")).unwrap();
    let last = page.replace("\"has_more\": true", "\"has_more\": false");
    wd.write("openai.json", &last);
    let mut args = vec![
        "reconcile",
        "--usage",
        "usage.csv",
        "--pricing",
        "pricing.toml",
        "--invoice",
        "invoice.csv",
    ];
    // No --period (the report's day is in 2024); the reconciliation is not
    // what this test checks.
    args.extend([
        "--out",
        "out",
        "--quiet",
        "--provider-usage",
        "openai.json",
        "--tolerance-usd",
        "100",
    ]);
    assert_eq!(wd.output(&args).status.code(), Some(0));
    let csv = wd.read("out/coverage.csv");
    for line in [
        "openai,(all models),2024-11-01,input,600,600,0,100.00",
        "openai,(all models),2024-11-01,cache_read,400,400,0,100.00",
        "openai,(all models),2024-11-01,output,500,500,0,100.00",
    ] {
        assert!(csv.contains(line), "{line} in\n{csv}");
    }
    assert!(!csv.contains("2024-11-01,cache_write"), "{csv}");
}

#[test]
fn the_dashboard_csv_reads_like_the_api_pages() {
    // The same OpenAI usage as the JSON pages, exported from the dashboard:
    // counts as floats ("20000.0"), batch as FALSE, an empty bucket as a blank row.
    let coverage = |report: &str| {
        let wd = Workdir::handmade("coverage-csv");
        wd.copy(&fixture("invoices/tokenledger.csv"), "invoice.csv");
        wd.copy(
            &fixture(&format!("provider-usage/{report}")),
            &format!("reports/{report}"),
        );
        assert_eq!(reconcile(&wd, &["reports"], &[]).status.code(), Some(0));
        wd.read("out/coverage.csv")
    };
    let from_csv = coverage("openai-usage.csv");
    assert!(
        from_csv.contains("\nopenai,gpt-test,2025-06-20,input,10000,15000,-5000,66.66\n"),
        "{from_csv}"
    );
    assert_eq!(from_csv, coverage("openai-usage.json"));
}

#[test]
fn a_cost_report_given_as_usage_is_refused() {
    // Anthropic's cost report names token types as values, not keys: it is
    // not a usage report, and reading it as one would report zero tokens.
    let wd = Workdir::handmade("coverage-wrong");
    wd.copy(&fixture("invoices/tokenledger.csv"), "invoice.csv");
    wd.copy(
        &fixture("invoices/anthropic-cost-report.jsonl"),
        "cost.jsonl",
    );
    let out = reconcile(&wd, &["cost.jsonl"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("cost.jsonl: not a provider usage report tokenledger knows"));
}

#[test]
fn a_provider_usage_csv_error_after_blank_lines_names_the_right_line() {
    // Anthropic's Console CSV with blank lines before a row whose count is not a number.
    let wd = Workdir::handmade("coverage-line");
    wd.copy(&fixture("invoices/tokenledger.csv"), "invoice.csv");
    let text = std::fs::read_to_string(fixture("provider-usage/anthropic-usage.csv")).unwrap();
    let header = text.lines().next().unwrap();
    let row = "2025-06-10,claude-test-1,k,Default,message,0-200k,ten,0,0,0,0,0";
    wd.write("anthropic.csv", &format!("{header}\n\n\n{row}\n"));
    let out = reconcile(&wd, &["anthropic.csv"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "tokenledger: anthropic.csv:4: usage_input_tokens_no_cache: expected a whole number of tokens, got \"ten\"\n"
    );
}

#[test]
fn a_bucket_time_in_another_unit_is_refused_not_filed_decades_away() {
    // Milliseconds where seconds belong: year 57,466, which --period
    // dropped as out of period (the day showed no provider tokens), and an
    // OpenAI costs page's buckets, which became lines of no day.
    let wd = Workdir::handmade("bucket-units");
    wd.copy(&fixture("invoices/tokenledger.csv"), "invoice.csv");
    let ms = |path: &str| {
        std::fs::read_to_string(fixture(path)).unwrap().replace(
            "\"start_time\": 1750377600",
            "\"start_time\": 1750377600000",
        )
    };
    wd.write(
        "reports/openai.json",
        &ms("provider-usage/openai-usage.json"),
    );
    let out = reconcile(&wd, &["reports"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("reports/openai.json:1: bucket time 1750377600000 is not a time (unix seconds from 2000 to 2099, or RFC 3339)"),
        "{stderr}"
    );
    wd.write("costs.json", &ms("invoices/openai-costs.json"));
    let out = wd.reconcile("costs.json", &["--quiet"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("costs.json:1: bucket start_time 1750377600000, end_time 1750464000: expected unix seconds, times from 2000 to 2099"),
        "{stderr}"
    );
}
