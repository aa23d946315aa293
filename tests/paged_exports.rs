//! A paged export is read whole and once: a LiteLLM `/spend/logs/v2`
//! listing missing a page is refused (its logs would be lost), an empty
//! page is a page; a cost report's bucket given again in another file is
//! refused (summed, it doubles its day); a provider usage report's day given
//! twice is refused rather than blamed on the gateway.

use crate::workdir::Workdir;

/// A LiteLLM v2 page `page` of a listing of `pages` pages of one log each.
fn litellm_page(page: u32, pages: u32) -> String {
    format!(
        r#"{{"data": [{{"request_id": "chatcmpl-{page}", "startTime": "2025-09-0{page}T10:00:00",
  "model": "gpt-4.1-2025-04-14", "custom_llm_provider": "openai", "prompt_tokens": 1000,
  "completion_tokens": 100, "spend": 0.0028, "status": "success"}}],
 "total": {pages}, "page": {page}, "page_size": 1, "total_pages": {pages}}}
"#
    )
}

const CHECK: [&str; 6] = [
    "pricing", "check", "--period", "2025-09", "--usage", "pages",
];

#[test]
fn a_litellm_listing_missing_a_page_is_refused_and_an_empty_page_read() {
    let wd = Workdir::new("paged-litellm");
    wd.write("pages/p1.json", &litellm_page(1, 3));
    wd.write("pages/p3.json", &litellm_page(3, 3));
    let stderr = wd.fail(&CHECK, 2);
    assert!(
        stderr.contains(
            "LiteLLM /spend/logs/v2 listing of 3 logs (3 pages of 1): page 2 of 3 was not given \
             (1 missing; read: 1 (pages/p1.json), 3 (pages/p3.json))"
        ),
        "{stderr}"
    );
    wd.write("pages/p2.json", &litellm_page(2, 3));
    // Another team's listing of no logs, and a loop's empty last page.
    wd.write(
        "pages/empty.json",
        r#"{"data": [], "total": 0, "page": 1, "page_size": 50, "total_pages": 0}"#,
    );
    wd.write(
        "pages/p4.json",
        r#"{"data": [], "total": 3, "page": 4, "page_size": 1, "total_pages": 3}"#,
    );
    let stdout = wd.run(&CHECK);
    assert!(stdout.contains("0 gap(s), 0 differing rate(s)"), "{stdout}");
}

/// An OpenAI costs page of one bucket, 2025-`month`-`day`: $2 of
/// gpt-4.1 input; `more`: whether it says a page follows.
fn openai_cost_page(month: u32, day: u32, more: bool) -> String {
    let start = match month {
        8 => 1_754_006_400,
        _ => 1_756_684_800,
    } + (u64::from(day) - 1) * 86_400;
    format!(
        r#"{{"object": "page", "data": [{{"object": "bucket", "start_time": {start}, "end_time": {},
  "results": [{{"object": "organization.costs.result", "amount": {{"value": 2.0, "currency": "usd"}},
  "line_item": "gpt-4.1-2025-04-14, input", "project_id": null}}]}}], "has_more": {more},
  "next_page": null}}
"#,
        start + 86_400
    )
}

/// A work dir with two days of gpt-4.1 usage in September 2025 ($2 a
/// day) and the costs pages of both days (the second the last).
fn two_days_of_costs(name: &str) -> Workdir {
    let wd = Workdir::new(name);
    wd.write(
        "usage.csv",
        "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,\
         cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n\
         a1,2025-09-01T12:00:00Z,openai,gpt-4.1-2025-04-14,1000000,0,0,0,0,false\n\
         a2,2025-09-02T12:00:00Z,openai,gpt-4.1-2025-04-14,1000000,0,0,0,0,false\n",
    );
    wd.write("bill/p1.json", &openai_cost_page(9, 1, true));
    wd.write("bill/p2.json", &openai_cost_page(9, 2, false));
    wd
}

const RECONCILE: [&str; 9] = [
    "reconcile",
    "--usage",
    "usage.csv",
    "--invoice",
    "bill",
    "--period",
    "2025-09",
    "--out",
    "out",
];

#[test]
fn a_cost_page_saved_in_two_files_is_refused_and_pages_of_no_results_read() {
    let wd = two_days_of_costs("paged-costs-twice");
    // Pages of no results: an idle day's bucket, an empty last page, an
    // Anthropic page of none.
    let idle = openai_cost_page(9, 3, false).replace(
        r#"{"object": "organization.costs.result", "amount": {"value": 2.0, "currency": "usd"},
  "line_item": "gpt-4.1-2025-04-14, input", "project_id": null}"#,
        "",
    );
    assert!(idle.contains(r#""results": []"#), "{idle}");
    wd.write("bill/p3.json", &idle);
    wd.write(
        "bill/p4.json",
        r#"{"object": "page", "data": [], "has_more": false}"#,
    );
    wd.write(
        "bill/anthropic.json",
        r#"{"data": [], "has_more": false, "next_page": null}"#,
    );
    let stdout = wd.run(&RECONCILE);
    assert!(stdout.contains("reconciliation ok"), "{stdout}");
    // The first page again, beside the others in a file of its own.
    wd.write("bill/again.jsonl", &openai_cost_page(9, 1, true));
    let stderr = wd.fail(&RECONCILE, 2);
    assert!(
        stderr.contains(
            "the bucket of 2025-09-01 00:00:00 UTC to 2025-09-02 00:00:00 UTC is given again, \
             line for line, as in bill/again.jsonl:1: a page fetched or saved twice?"
        ),
        "{stderr}"
    );
}

#[test]
fn a_bill_cut_short_in_the_period_fails_its_gate_whatever_another_month_ends_with() {
    let wd = two_days_of_costs("paged-costs-cut");
    wd.write("bill/p2.json", &openai_cost_page(9, 2, true));
    // August's last page says no page follows: another listing's end.
    wd.write("bill/august.json", &openai_cost_page(8, 31, false));
    let stderr = wd.fail(&RECONCILE, 1);
    assert!(
        stderr.contains(
            "pages missing: the OpenAI costs pages read end with a bucket of 2025-09-02 and say \
             has_more: true: the pages after it are missing"
        ),
        "{stderr}"
    );
    let summary = wd.read("out/summary.json");
    assert!(
        summary.contains("pages missing: the OpenAI costs"),
        "{summary}"
    );
}

/// An OpenAI usage page of one bucket from `start` (hours after
/// 2025-09-01T00:00Z) for `hours`: 1M input tokens of `model` (`null`: not
/// grouped by model), its last page, on one line.
fn openai_usage_page(start: u64, hours: u64, model: &str) -> String {
    let start = 1_756_684_800 + start * 3_600;
    let result = format!(
        r#"{{"object": "organization.usage.completions.result", "input_tokens": 1000000, "output_tokens": 0, "input_cached_tokens": 0, "model": {model}}}"#
    );
    let bucket = format!(
        r#"{{"object": "bucket", "start_time": {start}, "end_time": {}, "results": [{result}]}}"#,
        start + hours * 3_600
    );
    format!("{{\"object\": \"page\", \"data\": [{bucket}], \"has_more\": false}}\n")
}

#[test]
fn a_usage_report_day_counted_twice_is_refused_not_blamed_on_the_gateway() {
    let wd = two_days_of_costs("paged-usage-twice");
    let model = r#""gpt-4.1-2025-04-14""#;
    wd.write("reports/day1.json", &openai_usage_page(0, 24, model));
    wd.write("reports/day2.json", &openai_usage_page(24, 24, model));
    let mut args = RECONCILE.to_vec();
    args.extend(["--provider-usage", "reports", "--min-coverage", "100"]);
    wd.run(&args);
    // The same bucket again, one report at an hour's width, one not grouped.
    let again = openai_usage_page(0, 24, model) + &openai_usage_page(48, 24, model);
    let hour = openai_usage_page(30, 1, model);
    let cases = [
        (
            "again.jsonl",
            again,
            "day1.json:1: the openai usage bucket of 2025-09-01 00:00:00 UTC to 2025-09-02 00:00:00 UTC is given again, result for result, as in reports/again.jsonl:1",
        ),
        (
            "hour.json",
            hour,
            "overlaps the bucket of 2025-09-02 00:00:00 UTC to 2025-09-03",
        ),
        (
            "all.json",
            openai_usage_page(0, 24, "null"),
            "given twice: grouped otherwise, it says the same tokens as reports/all.json:1",
        ),
    ];
    for (name, report, error) in cases {
        wd.write(&format!("reports/{name}"), &report);
        let stderr = wd.fail(&args, 2);
        assert!(stderr.contains(error), "{name}: {stderr}");
        std::fs::remove_file(wd.path(&format!("reports/{name}"))).unwrap();
    }
    // Another organisation's report of the day, not grouped: summed.
    let other = openai_usage_page(0, 24, "null").replace("1000000", "500000");
    wd.write("reports/other.json", &other);
    let stdout = wd.run(&[
        "reconcile",
        "--usage",
        "usage.csv",
        "--invoice",
        "bill",
        "--provider-usage",
        "reports",
        "--out",
        "two-orgs",
    ]);
    assert!(stdout.contains("coverage"), "{stdout}");
    let coverage = wd.read("two-orgs/coverage.csv");
    assert!(
        coverage.contains("openai,(all models),2025-09-01,input,1000000,1500000,-500000,66.66"),
        "{coverage}"
    );
}

#[test]
fn a_days_costs_fetched_grouped_and_not_are_refused_when_they_agree() {
    let wd = two_days_of_costs("paged-costs-grouped");
    let line_item = r#""line_item": "gpt-4.1-2025-04-14, input""#;
    // A day of $0 both ways (two organisations' idle day) proves nothing.
    let zero = |page: String| page.replace("\"value\": 2.0", "\"value\": 0.0");
    let idle = zero(openai_cost_page(9, 3, false));
    wd.write("bill/idle-grouped.json", &idle);
    let idle_whole = idle.replace(line_item, r#""line_item": null"#);
    wd.write("bill/idle-whole.json", &idle_whole);
    wd.run(&RECONCILE);
    let whole = openai_cost_page(9, 1, false).replace(line_item, r#""line_item": null"#);
    wd.write("bill/whole.json", &whole);
    let stderr = wd.fail(&RECONCILE, 2);
    assert!(
        stderr.contains(
            "bill/whole.json:1: the openai usage of 2025-09-01 is billed not grouped (2.0) and \
             grouped (bill/p1.json:1, …) for the same amount"
        ),
        "{stderr}"
    );
}

#[test]
fn a_projects_day_fetched_twice_with_other_amounts_is_refused_two_organisations_summed() {
    let wd = two_days_of_costs("paged-costs-refetch");
    let project = |page: String, id: &str| page.replace("null}]", &format!("\"{id}\"}}]"));
    // Two organisations' days without project ids: summed, as before.
    let other_org = openai_cost_page(9, 1, false).replace("2.0", "0.5");
    wd.write("bill/other-org.json", &other_org);
    wd.fail(&RECONCILE, 1);
    let csv = wd.read("out/reconciliation.csv");
    assert!(csv.contains(",2025-09-01,2.000000,2.500000,"), "{csv}");
    // Project proj_a's September 1st fetched at noon ($0.5), then whole ($2).
    wd.write(
        "bill/p1.json",
        &project(openai_cost_page(9, 1, true), "proj_a"),
    );
    wd.write("bill/other-org.json", &project(other_org, "proj_a"));
    let stderr = wd.fail(&RECONCILE, 2);
    assert!(
        stderr.contains(
            "bill/p1.json:1: proj_a's \"gpt-4.1-2025-04-14, input\" of 2025-09-01 00:00:00 UTC \
             to 2025-09-02 00:00:00 UTC is given again, in bill/other-org.json:1: one day \
             fetched twice (a partial fetch, then the full one)? give each day once"
        ),
        "{stderr}"
    );
    // One project's day fetched whole (no line_item) and by line item:
    // the same costs twice, whatever the amounts.
    let whole = project(openai_cost_page(9, 1, false), "proj_a").replace(
        r#""line_item": "gpt-4.1-2025-04-14, input""#,
        r#""line_item": null"#,
    );
    wd.write("bill/other-org.json", &whole.replace("2.0", "0.5"));
    let stderr = wd.fail(&RECONCILE, 2);
    assert!(
        stderr.contains(
            "bill/p1.json:1: proj_a's costs of 2025-09-01 00:00:00 UTC to 2025-09-02 00:00:00 UTC \
             are given by line item here and not by line item in bill/other-org.json:1: one day \
             fetched twice?"
        ),
        "{stderr}"
    );
    // Grouped by API key too: one line a key, both read.
    let keys = openai_cost_page(9, 1, false).replace(
        r#""project_id": null}"#,
        r#""project_id": "proj_a", "api_key_id": "key_1"}, {"object": "organization.costs.result", "amount": {"value": 0.5, "currency": "usd"}, "line_item": "gpt-4.1-2025-04-14, input", "project_id": "proj_a", "api_key_id": "key_2"}"#,
    );
    wd.write("bill/p1.json", &keys);
    std::fs::remove_file(wd.path("bill/other-org.json")).unwrap();
    wd.fail(&RECONCILE, 1);
    let csv = wd.read("out/reconciliation.csv");
    assert!(csv.contains(",2025-09-01,2.000000,2.500000,"), "{csv}");
    // A page saved twice is still named as one.
    wd.write("bill/again.json", &keys);
    let stderr = wd.fail(&RECONCILE, 2);
    assert!(
        stderr.contains("line for line, as in bill/again.json:1: a page fetched or saved twice?"),
        "{stderr}"
    );
}
