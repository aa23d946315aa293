//! When it started and where the month is heading: robust step changes on
//! heavy-tailed months, anomalous days, and the month-to-date forecast
//! against budgets.

use crate::workdir::{row, Workdir};

const HEADER: &str = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n";

fn simulate(wd: &Workdir, dir: &str, extra: &[&str]) {
    let mut args = vec![
        "simulate",
        "--runs",
        "1500",
        "--seed",
        "11",
        "--heavy-tails",
        "--out",
        dir,
    ];
    args.extend(extra);
    wd.run(&args);
    let spans = format!("{dir}/spans");
    let usage = format!("{dir}/usage.csv");
    let out = format!("{dir}/out");
    wd.run(&[
        "report", "--spans", &spans, "--usage", &usage, "--period", "2025-06", "--out", &out,
        "--quiet",
    ]);
}

#[test]
fn a_retry_loop_steps_and_a_runaway_day_is_an_anomaly_on_heavy_tailed_months() {
    let wd = Workdir::new("heavy-tails");
    // Per-run costs heavy-tailed (a Pareto context); from the 12th
    // review_agent's runs loop (3× the calls); one runaway run on the 20th.
    simulate(&wd, "loop", &["--changes", "--spike-day", "20"]);
    let changes = wd.read("loop/out/changes.csv");
    for line in [
        "\nagent,review_agent,loop,requests,2025-06-12,11,19,",
        "\nfeature,code-review,up,requests,2025-06-12,11,19,",
        "\nagent,contract_analyst,appeared,requests,2025-06-09,8,22,",
    ] {
        assert!(changes.contains(line), "{line}\n{changes}");
    }
    assert!(
        !changes.contains("summarizer"),
        "the runaway day is no step:\n{changes}"
    );
    let anomalies = wd.read("loop/out/anomalies.csv");
    let runaway = anomalies
        .lines()
        .find(|l| l.starts_with("agent,summarizer,2025-06-20,cost,"));
    assert!(
        runaway.is_some_and(|l| l.ends_with(",summarizer,gemini-2.5-pro,(none)")),
        "{anomalies}"
    );
    assert!(anomalies.contains("\nfeature,doc-summarize,2025-06-20,cost,166.691404,1.033871,0.000000,5.458643,summarizer,gemini-2.5-pro,(none)\n"), "{anomalies}");
    // The same month without the changes: a steady heavy-tailed month has
    // no step up (o3's price cut on the 10th is the only step, down).
    simulate(&wd, "steady", &[]);
    let steady = wd.read("steady/out/changes.csv");
    assert!(
        steady
            .lines()
            .skip(1)
            .all(|l| l.contains(",down,cost,2025-06-10,")),
        "{steady}"
    );
}

#[test]
fn the_month_to_date_forecast_brackets_the_month_end_and_gates_the_budget() {
    let wd = Workdir::new("forecast");
    twenty_days_of_gpt_4o_mini_and_gpt_4_1(&wd);
    let args = [
        "report",
        "--spans",
        "spans",
        "--usage",
        "usage.csv",
        "--min-match",
        "0",
        "--as-of",
        "2025-06-20",
        "--budgets",
        "budgets.toml",
        "--fail-on-forecast",
        "--out",
        "out",
        "--quiet",
    ];
    let stderr = wd.fail(&args, 1);
    assert!(
        stderr.contains("forecast: 1 forecast over budget (--fail-on-forecast): model gpt-4.1"),
        "{stderr}"
    );
    let forecast = wd.read("out/forecast.csv");
    // gpt-4.1: $50 to date; at $4 a day for 10 days, $90 (the real month end).
    assert!(
        forecast.contains("\nmodel,gpt-4.1,50.000000,90.000000,"),
        "{forecast}"
    );
    assert!(
        row(&forecast, "model,gpt-4.1").ends_with(",80.000000,112.50,2025-06-28"),
        "{forecast}"
    );
    // gpt-4o-mini: the real month end, 15 days of each, inside the interval.
    let mini = row(&forecast, "model,gpt-4o-mini");
    let cells: Vec<f64> = mini
        .split(',')
        .skip(2)
        .take(4)
        .map(|c| c.parse().unwrap())
        .collect();
    let month_end = 15.0 * 0.165 + 15.0 * 0.135;
    assert!(cells[2] <= month_end && month_end <= cells[3], "{mini}");
    the_forecast_sentence_is_told_and_drawn(&wd);
}

/// The usage, no spans and a $80 gpt-4.1 budget, written into `wd`.
fn twenty_days_of_gpt_4o_mini_and_gpt_4_1(wd: &Workdir) {
    // 20 days of a month: gpt-4o-mini steady at 0.9M or 1.1M input tokens
    // a day ($0.135 or $0.165), gpt-4.1 at 1M a day ($2) doubling from the
    // 16th.
    let mut usage = String::from(HEADER);
    for day in 1..=20 {
        let n = if day % 2 == 0 { 11 } else { 9 };
        for i in 0..n {
            usage += &format!("mini-{day}-{i},2025-06-{day:02}T10:{i:02}:00Z,openai,gpt-4o-mini,100000,0,0,0,0,false\n");
        }
        let doubled = if day >= 16 { 2 } else { 1 };
        for i in 0..doubled {
            usage += &format!("big-{day}-{i},2025-06-{day:02}T11:{i:02}:00Z,openai,gpt-4.1,1000000,0,0,0,0,false\n");
        }
    }
    wd.write("usage.csv", &usage);
    wd.write("spans/none.json", "{\"resourceSpans\":[]}");
    wd.write(
        "budgets.toml",
        "[[budget]]\ndimension = \"model\"\nkey = \"gpt-4.1\"\nusd = 80\n",
    );
}

/// The over-budget forecast's sentence in summary.json and report.html's panel.
fn the_forecast_sentence_is_told_and_drawn(wd: &Workdir) {
    // The terminal's sentence, and report.html's panel: the budgeted value
    // alone, spent so far, forecast and budget on one row.
    let sentence = "model gpt-4.1: $50.00 so far, forecast $90.00 (budget $80.00): on track to \
                    exceed on the 28th";
    let summary = wd.read("out/summary.json");
    assert!(summary.contains(sentence), "{summary}");
    let html = wd.read("out/report.html");
    let panel = &html[html
        .find("<h2>This month so far (as of 2025-06-20)</h2>")
        .unwrap()..];
    let panel = &panel[..panel.find("</svg>").unwrap()];
    assert!(panel.contains(&format!("<li>{sentence}</li>")), "{panel}");
    assert_eq!(panel.matches("class=\"budget\"").count(), 1, "{panel}");
    assert!(
        panel.contains(">$50.00 → $90.00 of $80.00</text>"),
        "{panel}"
    );
}

#[test]
fn month_to_date_columns_sum_to_one_total_in_every_dimension() {
    let wd = Workdir::new("mtd-sums");
    wd.run(&[
        "simulate", "--runs", "400", "--month", "2025-06", "--out", "sim",
    ]);
    let args = ["report", "--spans", "sim/spans", "--usage", "sim/usage.csv"];
    let to_date = ["--period", "2025-06", "--as-of", "2025-06-10", "--quiet"];
    // A backtest over the whole month: its reports are the month's.
    wd.run(&[&args[..], &to_date, &["--out", "backtest"]].concat());
    assert!(!wd.read("backtest/summary.json").contains("month_to_date"));
    // The month as it stood on the 10th: its usage up to that day.
    let usage = wd.read("sim/usage.csv");
    let header = usage.lines().next().unwrap();
    let at = header.split(',').position(|c| c == "timestamp").unwrap();
    let kept: String = (usage.lines().skip(1))
        .filter(|l| l.split(',').nth(at).unwrap() < "2025-06-11")
        .map(|l| format!("{l}\n"))
        .collect();
    wd.write("sim/usage.csv", &format!("{header}\n{kept}"));
    wd.run(&[&args[..], &to_date, &["--min-match", "0", "--out", "out"]].concat());
    let forecast = wd.read("out/forecast.csv");
    let mut sums: std::collections::BTreeMap<String, i128> = Default::default();
    for line in forecast.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        *sums.entry(cells[0].to_string()).or_default() += crate::workdir::micros(cells[2]);
    }
    assert_eq!(sums.len(), 5, "{forecast}");
    let first = *sums.values().next().unwrap();
    assert!(sums.values().all(|&s| s == first), "{sums:?}");
    // A month to date says so, and `diff` warns comparing it.
    let summary = wd.read("out/summary.json");
    assert!(
        summary.contains("\"month_to_date\": \"2025-06-10\","),
        "{summary}"
    );
    let out = wd.output(&["diff", "out", "out", "--out", "diff"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warning = "out holds 2025-06 to 2025-06-10 only (a month to date, summary.json \
                   month_to_date): its volume is part of a month's";
    assert!(
        stderr.contains(&format!("warning: {warning}\n")),
        "{stderr}"
    );
    assert!(wd.read("diff/diff.html").contains(warning));
    // The whole month before its own month to date is the wrong way round
    // (it was compared, as a fall in spend); the other way is how it grew.
    let stderr = wd.fail(&["diff", "backtest", "out", "--quiet"], 2);
    let swapped = "backtest holds 2025-06, later than out's 2025-06 to 2025-06-10: give the \
                   previous month first";
    assert!(stderr.contains(swapped), "{stderr}");
    wd.run(&["diff", "out", "backtest", "--out", "grew", "--quiet"]);
}

#[test]
fn under_allocation_a_rules_records_are_forecast_under_its_owner() {
    // Ten days of gpt-4.1 ($2 per 1M input): $3 a day labelled
    // team=acme-batch, which a rule gives tenant acme, and $1 a day no one
    // owns. acme's budget is $60: $30 to date, $30 + 20 × $3 = $90 at the
    // month's end (150 %), reaching $60 on the 20th. Its records have
    // days, so it is forecast (it was not: the gate passed); what no one
    // owns is (unallocated), as allocation.csv names it.
    let wd = Workdir::new("mtd-allocated");
    let mut usage = HEADER.replace("batch\n", "batch,label.team\n");
    for day in 1..=10 {
        let at = format!("2025-06-{day:02}T10:00:00Z,openai,gpt-4.1");
        usage += &format!("a-{day},{at},1500000,0,0,0,0,false,acme-batch\n");
        usage += &format!("b-{day},{at},500000,0,0,0,0,false,\n");
    }
    wd.write("usage.csv", &usage);
    wd.write("spans/none.json", "{\"resourceSpans\":[]}");
    wd.write(
        "rules.toml",
        "[[rule]]\nmatch = { \"label.team\" = \"acme-batch\" }\ntenant = \"acme\"\n",
    );
    wd.write(
        "budgets.toml",
        "[[budget]]\ndimension = \"tenant\"\nkey = \"acme\"\nusd = 60\n",
    );
    let out = wd.output(&[
        "report",
        "--spans",
        "spans",
        "--usage",
        "usage.csv",
        "--period",
        "2025-06",
        "--as-of",
        "2025-06-10",
        "--allocation",
        "rules.toml",
        "--budgets",
        "budgets.toml",
        "--fail-on-forecast",
        "--min-match",
        "0",
        "--quiet",
        "--out",
        "out",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let forecast = wd.read("out/forecast.csv");
    assert!(
        forecast.contains(
            "\ntenant,acme,30.000000,90.000000,90.000000,90.000000,60.000000,150.00,2025-06-20\n"
        ),
        "{forecast}"
    );
    assert!(
        forecast.contains("\ntenant,(unallocated),10.000000,30.000000,"),
        "{forecast}"
    );
}

#[test]
fn a_forecast_is_never_below_the_month_to_date() {
    // The month-to-date column is rounded by largest remainders, a µ$ above
    // a value's own rounding at times (globex: 6.518912 against a forecast
    // rounded to 6.518911 on the month's last day, in this month).
    let wd = Workdir::new("mtd-order");
    wd.run(&[
        "simulate", "--runs", "300", "--seed", "8", "--month", "2027-02", "--out", "sim",
    ]);
    wd.run(&[
        "report",
        "--spans",
        "sim/spans",
        "--usage",
        "sim/usage.csv",
        "--period",
        "2027-02",
        "--as-of",
        "2027-02-28",
        "--quiet",
        "--out",
        "out",
    ]);
    let forecast = wd.read("out/forecast.csv");
    for line in forecast.lines().skip(1) {
        let cells: Vec<i128> = (2..6)
            .map(|i| crate::workdir::micros(line.split(',').nth(i).unwrap()))
            .collect();
        // On the month's last day the forecast is what was spent.
        assert!(cells.iter().all(|&c| c == cells[0]), "{line}");
    }
    assert!(
        forecast.contains("\ntenant,globex,6.518912,6.518912,"),
        "{forecast}"
    );
}
