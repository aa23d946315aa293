//! `tokenledger diff` and the files it reads: `ledger.csv`, `by_day.csv`,
//! `changes.csv` and the saved `pricing.toml`.

use crate::workdir::{csv_rows, micros, reseal, Workdir, HANDMADE_REPORT};

/// The hand-made fleet's May (one long-context request, $6.00) and June,
/// reported into `may/` and `june/`.
fn handmade_months(name: &str) -> Workdir {
    let wd = Workdir::handmade(name);
    for (period, out) in [("2025-05", "may"), ("2025-06", "june")] {
        let mut args = HANDMADE_REPORT.to_vec();
        args[8] = out;
        args.extend(["--period", period, "--quiet"]);
        wd.run(&args);
    }
    wd
}

#[test]
fn diff_splits_a_price_cut_from_volume_exactly() {
    let wd = handmade_months("diff-handmade");
    let stdout = wd.run(&["diff", "may", "june", "--out", "diff"]);
    // June repriced at May 31's rates: req-2 (claude-test-1, 06-20) costs
    // 0.018 at June's rates and 0.027 at May's; req-7 (batch, 06-16) 0.014
    // and 0.021. Price effect -0.016; June's total is 1.02235775.
    assert!(
        stdout.starts_with(
            "2025-05 → 2025-06: $6.000000 → $1.022358 (-$4.977642, -83.0 %)\n\
             \x20 price effect  -$0.016000 (2025-06 usage at the rates of 2025-05-31)\n\
             \x20 volume effect -$4.961642\n"
        ),
        "{stdout}"
    );
    assert_eq!(
        wd.read("diff/diff_by_model.csv"),
        "model,prev_usd,cur_usd,delta_usd,delta_pct,price_effect_usd,volume_effect_usd,status\n\
         claude-test-1-20250101,6.000000,0.985100,-5.014900,-83.6,-0.007000,-5.007900,changed\n\
         gpt-test,0.000000,0.019258,0.019258,,0.000000,0.019258,new\n\
         claude-test-1,0.000000,0.018000,0.018000,,-0.009000,0.027000,new\n"
    );
    // Every dimension's columns add up to the same totals, and price +
    // volume = delta on every row.
    for dimension in ["tenant", "feature", "agent", "tool", "model"] {
        let rows = csv_rows(&wd.read(&format!("diff/diff_by_{dimension}.csv")));
        let mut sums = [0i128; 5];
        for row in &rows[1..] {
            let cells = [1, 2, 3, 5, 6].map(|i| micros(&row[i]));
            assert_eq!(cells[2], cells[1] - cells[0], "{dimension}: {row:?}");
            assert_eq!(cells[3] + cells[4], cells[2], "{dimension}: {row:?}");
            for (sum, cell) in sums.iter_mut().zip(cells) {
                *sum += cell;
            }
        }
        assert_eq!(
            sums,
            [6_000_000, 1_022_358, -4_977_642, -16_000, -4_961_642]
        );
    }
}

#[test]
fn identical_months_differ_by_nothing() {
    let wd = handmade_months("diff-same");
    let stdout = wd.run(&["diff", "june", "june", "--out", "diff"]);
    // June against itself: no change. (Its price and volume effects are
    // not zero: June is repriced at June 30's rates, and claude-test-1's
    // price fell on June 15.)
    assert!(
        stdout.starts_with("2025-06 → 2025-06: $1.022358 → $1.022358 (+$0.000000, +0.0 %)\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("top drivers"), "{stdout}");
    for dimension in ["tenant", "feature", "agent", "tool", "model"] {
        let rows = csv_rows(&wd.read(&format!("diff/diff_by_{dimension}.csv")));
        for row in &rows[1..] {
            assert_eq!(row[1], row[2]);
            assert_eq!((&row[3][..], &row[7][..]), ("0.000000", "changed"));
            assert_eq!(micros(&row[5]), -micros(&row[6]));
        }
    }
    // May (one day, one price) against itself: every effect is zero.
    let stdout = wd.run(&["diff", "may", "may", "--out", "diff-may"]);
    assert!(stdout.contains("price effect  +$0.000000"), "{stdout}");
    let rows = csv_rows(&wd.read("diff-may/diff_by_tenant.csv"));
    for row in &rows[1..] {
        assert_eq!(
            &row[3..],
            ["0.000000", "0.0", "0.000000", "0.000000", "changed"]
        );
    }
}

#[test]
fn growth_above_the_limit_exits_one() {
    let wd = handmade_months("diff-growth");
    // June's usage six times over, as one month may grow (a month moved to
    // other days would be priced otherwise by its table): growth of 500 %.
    wd.copy(&wd.path("june"), "sixfold");
    let six = |cell: &str| {
        let cell: rust_decimal::Decimal = cell.parse().unwrap();
        (cell * rust_decimal::Decimal::from(6)).to_string()
    };
    let rows = csv_rows(&wd.read("sixfold/ledger.csv"));
    let mut ledger = rows[0].join(",") + "\n";
    for row in &rows[1..] {
        let mut row = row.clone();
        for i in [14, 15, 18] {
            row[i] = six(&row[i]);
        }
        ledger += &(row.join(",") + "\n");
    }
    wd.write("sixfold/ledger.csv", &ledger);
    reseal(&wd.path("sixfold"));
    let stderr = wd.fail(
        &[
            "diff",
            "june",
            "sixfold",
            "--fail-on-growth",
            "25",
            "--quiet",
        ],
        1,
    );
    assert_eq!(
        stderr,
        "tokenledger: growth: the total went from $1.022358 to $6.134146 (+$5.111788, +500.0 %), \
         more than --fail-on-growth 25 %\n"
    );
    wd.run(&[
        "diff",
        "june",
        "sixfold",
        "--fail-on-growth",
        "500",
        "--quiet",
    ]);
    // A limit too large to multiply by the total is beyond any growth (it
    // overflowed: a panic).
    let huge = "20000000000000000000000000000";
    wd.run(&[
        "diff",
        "june",
        "sixfold",
        "--fail-on-growth",
        huge,
        "--quiet",
    ]);
    // Shrinking never fails the gate.
    wd.run(&["diff", "may", "june", "--fail-on-growth", "0", "--quiet"]);
    // The months the wrong way round are an error, not a negative change.
    let stderr = wd.fail(&["diff", "june", "may"], 2);
    assert!(
        stderr.contains("june holds 2025-06, later than may's 2025-05"),
        "{stderr}"
    );
}

#[test]
fn a_directory_without_a_ledger_is_named() {
    let wd = handmade_months("diff-missing");
    std::fs::remove_file(wd.path("may/pricing.toml")).unwrap();
    let stderr = wd.fail(&["diff", "may", "june"], 2);
    assert!(
        stderr.starts_with("tokenledger: may: no pricing.toml;"),
        "{stderr}"
    );
    wd.write("may/pricing.toml", &wd.read("pricing.toml"));
    let ledger = wd
        .read("june/ledger.csv")
        .replace(",standard,global,", ",turbo,global,");
    wd.write("june/ledger.csv", &ledger);
    reseal(&wd.path("june"));
    let stderr = wd.fail(&["diff", "may", "june"], 2);
    assert!(
        stderr.starts_with(
            "tokenledger: june/ledger.csv:2: service_tier: unexpected value \"turbo\""
        ),
        "{stderr}"
    );
    // A summary resealed to name another month than its ledger's days.
    wd.write(
        "june/ledger.csv",
        &ledger.replace(",turbo,global,", ",standard,global,"),
    );
    let summary = wd.read("june/summary.json");
    wd.write(
        "june/summary.json",
        &summary.replace("\"2025-06\"", "\"2025-07\""),
    );
    reseal(&wd.path("june"));
    let stderr = wd.fail(&["diff", "may", "june"], 2);
    assert!(
        stderr.contains("june/ledger.csv:2: day 2025-06-")
            && stderr.contains(" is outside 2025-07, the period summary.json names"),
        "{stderr}"
    );
}

#[test]
fn the_ledger_is_exact_and_every_report_rolls_up_from_it() {
    let wd = handmade_months("diff-ledger");
    let ledger = csv_rows(&wd.read("june/ledger.csv"));
    assert_eq!(
        ledger[0].join(","),
        "day,provider,model,charge,service_tier,inference_geo,speed,hours,long_context,prompt_over_tokens,\
         tenant,feature,agent,tool,requests,quantity,pricing_unit,unit_price_usd,cost_usd"
    );
    // req-4 (2025-06-12) is above the 200k-token threshold: long-context
    // rates; req-7 is a batch request at half price.
    let line = |day: &str, charge: &str| {
        ledger
            .iter()
            .find(|r| r[0] == day && r[3] == charge)
            .unwrap_or_else(|| panic!("no {day} {charge} line"))
            .clone()
    };
    // Its 210,000-token prompt is over the 200,000 bound.
    let long = line("2025-06-12", "input");
    assert_eq!(
        (&long[4][..], &long[8][..], &long[9][..]),
        ("standard", "true", "200000")
    );
    assert_eq!(&long[14..], ["1", "150000", "1000000 tokens", "6", "0.9"]);
    let batch = line("2025-06-16", "output");
    assert_eq!(
        &batch[4..10],
        ["batch", "global", "standard", "", "false", "0"]
    );
    assert_eq!(&batch[15..], ["2000", "1000000 tokens", "5", "0.01"]);
    // Each report's exact cost per row is the sum of its ledger lines.
    for (dimension, column) in [
        ("tenant", 10),
        ("feature", 11),
        ("agent", 12),
        ("tool", 13),
        ("model", 2),
    ] {
        let report = csv_rows(&wd.read(&format!("june/by_{dimension}.csv")));
        let cost = report[0].iter().position(|c| c == "cost_usd").unwrap();
        for row in &report[1..] {
            let exact: rust_decimal::Decimal = ledger[1..]
                .iter()
                .filter(|l| l[column] == row[0])
                .map(|l| l[18].parse::<rust_decimal::Decimal>().unwrap())
                .sum();
            let rounded = micros(&row[cost]);
            let exact_micros = exact * rust_decimal::Decimal::from(1_000_000);
            assert!(
                (exact_micros - rust_decimal::Decimal::from(rounded)).abs()
                    < rust_decimal::Decimal::ONE,
                "{dimension} {}: {exact} vs {}",
                row[0],
                row[cost]
            );
        }
    }
    // The month's table is saved beside it, byte for byte.
    assert_eq!(wd.read("june/pricing.toml"), wd.read("pricing.toml"));
    // by_day.csv: each dimension's days add up to the total.
    let days = csv_rows(&wd.read("june/by_day.csv"));
    assert_eq!(
        days[0],
        ["day", "dimension", "value", "requests", "cost_usd"]
    );
    for dimension in ["tenant", "feature", "agent", "tool", "model"] {
        let sum: i128 = days[1..]
            .iter()
            .filter(|d| d[1] == dimension)
            .map(|d| micros(&d[4]))
            .sum();
        assert_eq!(sum, 1_022_358, "{dimension}");
    }
}

/// The text of every SVG `<text>` of CSS class `class` in `svg`, in order.
fn texts<'a>(svg: &'a str, class: &str) -> Vec<&'a str> {
    svg.split(&format!("class=\"{class}\""))
        .skip(1)
        .map(|rest| &rest[rest.find('>').unwrap() + 1..rest.find("</text>").unwrap()])
        .collect()
}

/// `diff.html`'s waterfall: its row labels, amounts and bar classes.
fn waterfall(html: &str) -> (Vec<&str>, Vec<&str>, Vec<&str>) {
    assert_eq!(html.matches("<svg").count(), 1, "one chart: the waterfall");
    let svg = &html[html.find("<svg").unwrap()..html.find("</svg>").unwrap()];
    let classes = svg
        .split("<rect ")
        .skip(1)
        .map(|r| {
            let class = &r[r.find("class=\"").unwrap() + 7..];
            &class[..class.find('"').unwrap()]
        })
        .collect();
    (texts(svg, "label"), texts(svg, "value"), classes)
}

#[test]
fn diff_html_walks_from_one_total_to_the_other() {
    let wd = handmade_months("diff-html");
    wd.run(&["diff", "may", "june", "--out", "diff", "--quiet"]);
    let html = wd.read("diff/diff.html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    for fetch in ["src=", "href=", "<script", "url(", "@import"] {
        assert!(!html.contains(fetch), "diff.html fetches with {fetch}");
    }
    assert!(html.contains("<div class=\"big\">$6.000000 → $1.022358</div>total, 2025-05 → 2025-06"));
    assert!(html.contains("<div class=\"big\">-$4.977642</div>change (-83.0 %)"));
    assert!(html.contains(
        "<div class=\"big\">-$0.016000</div>price effect (2025-06 usage at the rates of 2025-05-31)"
    ));
    assert!(html.contains("<div class=\"big\">-$4.961642</div>volume effect"));
    // May's total, the price effect, each tenant's volume effect as
    // diff_by_tenant.csv has it (largest first), June's total.
    let (labels, values, classes) = waterfall(&html);
    assert_eq!(
        labels,
        [
            "2025-05 total",
            "price effect",
            "(unattributed)",
            "conv-9",
            "acme",
            "beta",
            "2025-06 total"
        ]
    );
    assert_eq!(
        values,
        [
            "$6.000000",
            "-$0.016000",
            "-$5.999992",
            "+$0.979500",
            "+$0.039600",
            "+$0.019250",
            "$1.022358"
        ]
    );
    assert_eq!(classes, ["bar", "down", "down", "up", "up", "up", "bar"]);
    let tenants = csv_rows(&wd.read("diff/diff_by_tenant.csv"));
    for (label, value) in labels[2..6].iter().zip(&values[2..6]) {
        let row = tenants.iter().find(|r| r[0] == *label).unwrap();
        assert_eq!(micros(&value.replace(['$', '+'], "")), micros(&row[6]));
    }
    // A table per dimension, every row of this small fleet in it.
    assert_eq!(html.matches("<table>").count(), 5);
    assert!(html.contains("<h2>By tenant: all 4, largest change first</h2>"));
    assert!(html.contains(
        "<tr><td>claude-test-1-20250101</td><td class=\"num\">$6.000000</td>\
         <td class=\"num\">$0.985100</td><td class=\"num\">-$5.014900</td>\
         <td class=\"num\">-83.6</td><td class=\"num\">-$0.007000</td>\
         <td class=\"num\">-$5.007900</td><td>changed</td></tr>"
    ));
    // It is one of the files diff lists as its own.
    let manifest = wd.read("diff/.tokenledger-manifest");
    assert!(
        manifest.lines().any(|l| l.ends_with("  diff.html")),
        "{manifest}"
    );
}

#[test]
fn diff_html_folds_the_smaller_tenants_and_escapes_labels() {
    let wd = handmade_months("diff-html-many");
    // June's lines again under eight more tenants, one of them a script.
    let ledger = csv_rows(&wd.read("june/ledger.csv"));
    let mut text = wd.read("june/ledger.csv");
    let names = [
        "<script>alert(1)</script>",
        "t-1",
        "t-2",
        "t-3",
        "t-4",
        "t-5",
        "t-6",
        "t-7",
    ];
    for name in names {
        for line in &ledger[1..] {
            let mut line = line.clone();
            line[10] = name.to_string();
            text += &(line.join(",") + "\n");
        }
    }
    wd.write("june/ledger.csv", &text);
    reseal(&wd.path("june"));
    wd.run(&["diff", "may", "june", "--out", "diff", "--quiet"]);
    let html = wd.read("diff/diff.html");
    let (labels, values, classes) = waterfall(&html);
    // 12 tenants move: six on their own, the other six as one bar (t-5,
    // t-6, t-7, conv-9, acme, beta); the steps add up to June's total.
    assert_eq!(
        labels,
        [
            "2025-05 total",
            "price effect",
            "(unattributed)",
            "<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>&lt;script&gt;alert(1)&lt;/scrip…",
            "t-1",
            "t-2",
            "t-3",
            "t-4",
            "6 other tenants",
            "2025-06 total"
        ]
    );
    assert_eq!(values[0], "$6.000000");
    assert_eq!(values[8], "+$4.153422");
    assert_eq!(values[9], "$9.201220");
    let steps: i128 = values[1..9]
        .iter()
        .map(|v| micros(&v.replace(['$', '+'], "")))
        .sum();
    assert_eq!(6_000_000 + steps, 9_201_220);
    assert_eq!(
        classes[1..9],
        ["down", "down", "up", "up", "up", "up", "up", "up"]
    );
    // Tables: the ten largest of twelve, labels escaped in full.
    assert!(html.contains("<h2>By tenant: the 10 largest changes of 12</h2>"));
    assert!(html.contains("<tr><td>&lt;script&gt;alert(1)&lt;/script&gt;</td>"));
    assert!(!html.contains("<script"));
    let tenant_table = &html[html.find("<h2>By tenant").unwrap()..];
    let tenant_table = &tenant_table[..tenant_table.find("</table>").unwrap()];
    assert_eq!(tenant_table.matches("<tr><td>").count(), 10);
}

#[test]
fn a_month_read_before_its_end_has_no_step_where_its_data_ends() {
    // Steady usage from the 1st to the 20th, reported with --period: the
    // days after the 20th are not $0 days, so nothing "stopped" on the 21st.
    let wd = Workdir::handmade("partial-month");
    let mut usage = String::from("request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n");
    for day in 1..=20 {
        usage +=
            &format!("d{day},2025-06-{day:02}T12:00:00Z,openai,gpt-test,1000,0,0,0,100,false\n");
    }
    wd.write("usage.csv", &usage);
    let mut args = HANDMADE_REPORT.to_vec();
    args.extend(["--period", "2025-06", "--quiet"]);
    wd.run(&args);
    assert_eq!(
        wd.read("out/changes.csv"),
        "dimension,value,kind,series,first_day,days_before,days_after,before_daily,after_daily,before_daily_usd,after_daily_usd,factor\n"
    );
}

#[test]
fn a_dropped_long_context_tier_is_a_price_effect() {
    // May's table prices prompts over 200k at $6 (the whole request); June's
    // has no long-context tier ($3 for any prompt), as Claude 4.6 went on
    // 2026-03-13. The same 300k-token request each month: June's $0.90 at
    // May's rates is $1.80, so the whole change is price.
    let wd = Workdir::handmade("dropped-tier");
    let table = |long: &str| {
        format!(
            "version = \"t\"\ncurrency = \"USD\"\n\n[[model]]\nprovider = \"anthropic\"\nmatch = [\"claude-x\"]\n\
             effective_from = 2025-01-01\ninput = 3\noutput = 15\ncache_read = 0.3\ncache_write_5m = 3.75\ncache_write_1h = 6\n{long}"
        )
    };
    wd.write(
        "may.toml",
        &table("[model.long_context]\nthreshold = 200000\ninput = 6\noutput = 22.5\ncache_read = 0.6\ncache_write_5m = 7.5\ncache_write_1h = 12\n"),
    );
    wd.write("june.toml", &table(""));
    let header = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n";
    for (month, day) in [("may", "2025-05-10"), ("june", "2025-06-10")] {
        wd.write(
            &format!("{month}.csv"),
            &format!("{header}{month}-1,{day}T00:00:00Z,anthropic,claude-x,300000,0,0,0,0,false\n"),
        );
        let (usage, pricing) = (format!("{month}.csv"), format!("{month}.toml"));
        wd.run(&[
            "report",
            "--spans",
            "spans",
            "--usage",
            &usage,
            "--pricing",
            &pricing,
            "--min-match",
            "0",
            "--quiet",
            "--out",
            month,
        ]);
    }
    let stdout = wd.run(&["diff", "may", "june"]);
    assert!(
        stdout.starts_with(
            "2025-05 → 2025-06: $1.800000 → $0.900000 (-$0.900000, -50.0 %)\n\
             \x20 price effect  -$0.900000 (2025-06 usage at the rates of 2025-05-31)\n\
             \x20 volume effect +$0.000000\n"
        ),
        "{stdout}"
    );
}

#[test]
fn a_step_factor_is_written_with_two_places() {
    // One request a day for ten days, then three a day: a threefold step.
    let wd = Workdir::handmade("factor-places");
    let mut usage = String::from("request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n");
    for day in 1..=30 {
        for n in 0..(if day <= 10 { 1 } else { 3 }) {
            usage += &format!(
                "d{day}-{n},2025-06-{day:02}T12:00:00Z,openai,gpt-test,1000,0,0,0,100,false\n"
            );
        }
    }
    wd.write("usage.csv", &usage);
    let mut args = HANDMADE_REPORT.to_vec();
    args.extend(["--period", "2025-06", "--quiet"]);
    wd.run(&args);
    let changes = wd.read("out/changes.csv");
    assert!(
        changes.contains("\nmodel,gpt-test,up,requests,2025-06-11,10,20,1,3,")
            && changes.contains(",3.00\n"),
        "{changes}"
    );
}

#[test]
fn a_rate_corrected_between_the_runs_is_warned_of_and_time_of_day_named() {
    // May run with a table whose input rate was wrong ($3), June with the
    // corrected one ($4, the same since January): the correction is all
    // price effect, and is said. A table that prices by time of day where
    // the other does not cannot reprice: said, not "no entry".
    let wd = Workdir::handmade("corrected-rate");
    let table = |input: &str, hours: &str| {
        format!(
            "version = \"t\"\ncurrency = \"USD\"\n\n[[model]]\nprovider = \"deepseek\"\nmatch = [\"deepseek-x\"]\n\
             effective_from = 2025-01-01\ninput = {input}\noutput = 15\ncache_read = 0.3\ncache_write_5m = 3\ncache_write_1h = 3\n{hours}"
        )
    };
    let peak = "[[model.hours]]\nfrom = \"00:30\"\nto = \"16:30\"\ninput = 3\noutput = 15\ncache_read = 0.3\ncache_write_5m = 3\ncache_write_1h = 3\n";
    wd.write("may.toml", &table("3", ""));
    wd.write("june.toml", &table("4", ""));
    wd.write("hours.toml", &table("2", peak));
    let header = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n";
    for (out, table, day) in [
        ("may", "may", "2025-05-10"),
        ("june", "june", "2025-06-10"),
        ("may-by-hours", "hours", "2025-05-10"),
    ] {
        let usage =
            format!("{header}{out}-1,{day}T08:00:00Z,deepseek,deepseek-x,1000000,0,0,0,0,false\n");
        wd.write(&format!("{out}.csv"), &usage);
        let (usage, pricing) = (format!("{out}.csv"), format!("{table}.toml"));
        let args = [
            "report",
            "--spans",
            "spans",
            "--usage",
            &usage,
            "--pricing",
            &pricing,
        ];
        wd.run(&[&args[..], &["--min-match", "0", "--quiet", "--out", out]].concat());
    }
    let out = wd.output(&["diff", "may", "june"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 of 2025-05's ledger lines cost $4.000000 by june's pricing.toml, not the $3.000000 they were priced at: a rate was corrected"),
        "{stderr}"
    );
    let stdout = wd.run(&["diff", "may-by-hours", "june"]);
    assert!(
        stdout.contains("that table prices it by time of day, in windows these lines fell in none"),
        "{stdout}"
    );
}
