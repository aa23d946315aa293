//! Budgets and the month-to-date forecast are judged on the spend the
//! budgets measure: the exact amount (not its rounded cell), trued up
//! under `--true-up`; usage after `--as-of` is named, not silently kept
//! out of the month to date; a value over already by what splits spread
//! (which is not forecast) fails the forecast gate.

use crate::workdir::Workdir;

/// A month of one record per day, $0.0000015 each at $1.50 a million input
/// tokens, and, with `bill`, an invoice charging half of it.
fn tiny_month(name: &str, bill: bool) -> Workdir {
    let wd = Workdir::new(name);
    wd.write(
        "pricing.toml",
        "version = \"t\"\ncurrency = \"USD\"\n[[model]]\nprovider = \"openai\"\nmatch = [\"m\"]\n\
         effective_from = 2025-01-01\ninput = 1.5\noutput = 1\ncache_read = 1\ncache_write_5m = 1\ncache_write_1h = 1\n",
    );
    let mut usage = String::from(
        "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,\
         cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n",
    );
    for day in 1..=3 {
        usage.push_str(&format!(
            "r{day},2025-06-0{day}T12:00:00Z,openai,m,1,0,0,0,0,false\n"
        ));
    }
    wd.write("usage.csv", &usage);
    wd.write("spans/none.jsonl", r#"{"resourceSpans":[]}"#);
    if bill {
        wd.write(
            "invoice.csv",
            "provider,model,token_type,amount_usd\nopenai,m,input,0.00000225\n",
        );
    }
    wd
}

fn tiny_report(wd: &Workdir, budget: &str, extra: &[&str]) -> std::process::Output {
    wd.write(
        "budgets.toml",
        &format!("[[budget]]\ndimension = \"model\"\nkey = \"m\"\nusd = {budget}\n"),
    );
    let mut args = vec!["report", "--spans", "spans", "--usage", "usage.csv"];
    args.extend([
        "--pricing",
        "pricing.toml",
        "--period",
        "2025-06",
        "--out",
        "out",
    ]);
    args.extend(["--min-match", "0", "--budgets", "budgets.toml", "--quiet"]);
    args.extend(extra);
    wd.output(&args)
}

#[test]
fn a_budget_is_judged_on_the_exact_spend_not_its_rounded_cell() {
    // $0.0000045 spent, shown as 0.000004; a budget of 0.0000044 is over,
    // though the cell is below it.
    let wd = tiny_month("budget-exact", false);
    let out = tiny_report(&wd, "0.0000044", &["--fail-on-budget"]);
    assert_eq!(out.status.code(), Some(1));
    let csv = wd.read("out/budget.csv");
    assert!(
        csv.contains("\nmodel,m,0.000004,0.000004,102.27,over\n"),
        "{csv}"
    );
    // $0.0000045 of 0.0000046 is not, whatever its cells round to.
    let out = tiny_report(&wd, "0.0000046", &["--fail-on-budget"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(wd.read("out/budget.csv").contains(",97.83,warn\n"));
}

#[test]
fn under_a_true_up_the_forecast_measures_the_billed_spend_as_budgets_do() {
    // The bill charges half the computed $0.0000045: $0.00000225, under a
    // budget of $0.000003 that the computed cost is over.
    let wd = tiny_month("forecast-billed", true);
    let args = [
        "--invoice",
        "invoice.csv",
        "--true-up",
        "--as-of",
        "2025-06-30",
    ];
    let out = tiny_report(
        &wd,
        "0.000003",
        &[&args[..], &["--fail-on-forecast"]].concat(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let forecast = wd.read("out/forecast.csv");
    let model = forecast
        .lines()
        .find(|l| l.starts_with("model,m,"))
        .unwrap();
    assert_eq!(
        model,
        "model,m,0.000002,0.000002,0.000002,0.000002,0.000003,75.00,"
    );
    assert!(wd.read("out/budget.csv").ends_with(",75.00,ok\n"));
    // Without the true-up, the computed $0.0000045 is over: 150 %, exit 1.
    let out = tiny_report(
        &wd,
        "0.000003",
        &[&args[3..], &["--fail-on-forecast"]].concat(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(wd
        .read("out/forecast.csv")
        .contains(",0.000003,150.00,2025-06-02\n"));
}

#[test]
fn usage_after_the_as_of_day_is_named_not_silently_left_in_the_reports() {
    let wd = tiny_month("after-as-of", false);
    let out = tiny_report(&wd, "1", &["--as-of", "2025-06-02"]);
    assert_eq!(out.status.code(), Some(0));
    let summary = wd.read("out/summary.json");
    assert!(
        summary.contains(
            "\"1 usage record(s) dated after --as-of 2025-06-02: in the reports and budgets, \
             not in the month to date (forecast.csv)\""
        ),
        "{summary}"
    );
    // The month to date holds the two days up to it.
    assert!(wd.read("out/forecast.csv").contains("\nmodel,m,0.000003,"));
}

#[test]
fn the_forecast_gate_on_a_complete_month_judges_its_spend() {
    // --period 2025-06 run after the month: no as-of day, no forecast.csv;
    // the month's forecast is its spend, over its budget: exit 1, not a
    // silent pass of a cron job that ran late.
    let wd = tiny_month("forecast-complete", false);
    let out = tiny_report(&wd, "0.000003", &["--fail-on-forecast"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!wd.path("out/forecast.csv").exists());
    let summary = wd.read("out/summary.json");
    assert!(
        summary.contains(
            "budgets: 1 over (--fail-on-forecast, the month complete: its forecast is its spend; \
             see budget.csv)"
        ),
        "{summary}"
    );
    let out = tiny_report(&wd, "1", &["--fail-on-forecast"]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn the_forecast_gate_fails_a_value_over_already_by_what_splits_spread() {
    // A $1 platform fee split to model m: budget.csv finds m over its $0.50,
    // but the fee has no days and is not forecast, so forecast.csv did not
    // name m (its usage runs at $0.0000015 a day) and the gate passed.
    let wd = tiny_month("forecast-split", false);
    wd.write(
        "invoice.csv",
        "provider,model,token_type,amount_usd,charge_category,description\n\
         openai,m,input,0.0000045,,\nopenai,,,1,adjustment,Platform fee\n",
    );
    wd.write(
        "split.toml",
        "[[split]]\nmatch = { description = \"Platform fee*\" }\ndimension = \"model\"\nshares = { \"m\" = 100 }\n",
    );
    let flags = ["--invoice", "invoice.csv", "--allocation", "split.toml"];
    let as_of = ["--as-of", "2025-06-03", "--fail-on-forecast"];
    let out = tiny_report(&wd, "0.5", &[&flags[..], &as_of[..]].concat());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(wd
        .read("out/budget.csv")
        .contains("\nmodel,m,1.000004,0.500000,200.00,over\n"));
    assert!(
        stderr.contains("(--fail-on-forecast): model m (over already in budget.csv)"),
        "{stderr}"
    );
}
