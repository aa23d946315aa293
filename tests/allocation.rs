//! Every dollar an owner: allocation rules on usage records' labels own
//! the spend no span saw, splits spread the bill's unexplained lines, and
//! every dimension's `allocated_usd` sums to the bill (or the usage).
//! The month: the hand-made fleet (spans and canonical usage) and, with no
//! span, LiteLLM spend logs and Bedrock invocation logs carrying team,
//! key, end-user, request-metadata and IAM-identity labels.

use crate::workdir::{csv_rows, fixture, micros, Workdir};

pub fn month(name: &str) -> Workdir {
    let wd = Workdir::handmade(name);
    std::fs::rename(wd.path("pricing.toml"), wd.path("handmade.toml")).unwrap();
    for file in [
        "litellm.jsonl",
        "bedrock.jsonl",
        "pricing.toml",
        "invoice.csv",
        "rules.toml",
        "splits.toml",
    ] {
        wd.copy(&fixture(&format!("allocation/{file}")), file);
    }
    wd
}

pub const REPORT: [&str; 14] = [
    "report",
    "--spans",
    "spans",
    "--usage",
    "usage.csv",
    "litellm.jsonl",
    "bedrock.jsonl",
    "--pricing",
    "pricing.toml",
    "--period",
    "2025-06",
    "--min-match",
    "0",
    "--quiet",
];

fn report(wd: &Workdir, flags: &[&str]) -> std::process::Output {
    wd.output(&[&REPORT[..], &["--out", "out"], flags].concat())
}

/// A report's `allocated_usd` per row label, in micro-dollars.
fn allocated(wd: &Workdir, report: &str) -> Vec<(String, i128)> {
    let rows = csv_rows(&wd.read(&format!("out/by_{report}.csv")));
    let at = rows[0]
        .iter()
        .position(|h| h == "allocated_usd")
        .expect("allocated_usd");
    rows[1..]
        .iter()
        .map(|r| (r[0].clone(), micros(&r[at])))
        .collect()
}

fn get(rows: &[(String, i128)], label: &str) -> i128 {
    rows.iter().find(|(l, _)| l == label).map_or(0, |(_, m)| *m)
}

// Each record's cost, tokens × $/1M = micro-dollars: claude-test-1 on
// 2025-06-11/12 at $3 in / $15 out, Bedrock's at $1 / $5.
/// A LiteLLM record's cost in micro-dollars.
fn litellm(input: i128, output: i128) -> i128 {
    input * 3 + output * 15
}

/// A Bedrock record's cost in micro-dollars.
fn bedrock(input: i128, output: i128) -> i128 {
    input + output * 5
}

#[test]
fn rules_own_the_spend_no_span_saw_record_by_record() {
    let wd = month("alloc-rules");
    let out = report(
        &wd,
        &["--allocation", "rules.toml", "--min-allocated", "99"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    rule_owned_records_are_allocated_to_their_labels(&wd);
    // The ledger says how each line got its owners.
    let ledger = wd.read("out/ledger.csv");
    assert!(ledger.lines().next().unwrap().ends_with(",cost_usd,source"));
    assert!(
        ledger.contains(
            ",globex,search,(unattributed),(unattributed),1,200000,1000000 tokens,3,0.6,rule:1\n"
        ),
        "{ledger}"
    );
    focus_rows_carry_the_rules_allocation(&wd);
    // Unattributed records list their labels.
    let unattributed = wd.read("out/unattributed.csv");
    assert!(unattributed.contains("api_key=hash-2;api_key_alias=batch-nightly;requester_metadata.customer=initech;requester_metadata.job=reindex;team_alias=data-platform;team_id=team-data;user=svc-batch"), "{unattributed}");
    assert!(unattributed.contains("identity.arn=arn:aws:sts::111122223333:assumed-role/etl-runner/i-0abc;requestMetadata.pipeline=nightly-etl;requestMetadata.tenant=umbrella"), "{unattributed}");
}

/// Each dimension's `allocated_usd`: spans' cost plus the records the rules own.
fn rule_owned_records_are_allocated_to_their_labels(wd: &Workdir) {
    let tenants = allocated(wd, "tenant");
    let spans_acme = 30_600; // acme's cost by its spans (by_tenant cost_usd)
    assert_eq!(
        get(&tenants, "acme"),
        spans_acme + litellm(100_000, 10_000) + bedrock(20_000, 2_000)
    );
    assert_eq!(get(&tenants, "globex"), litellm(200_000, 20_000));
    assert_eq!(get(&tenants, "initech"), litellm(50_000, 16_000));
    assert_eq!(get(&tenants, "umbrella"), bedrock(40_000, 4_000));
    assert_eq!(get(&tenants, "conv-9"), 972_500);
    // No rule matches the scratch key; gpt-test's untraced record has no labels.
    assert_eq!(get(&tenants, "(unallocated)"), litellm(100, 0) + 8);
    assert_eq!(get(&tenants, "(unattributed)"), 0);
    let features = allocated(wd, "feature");
    assert_eq!(get(&features, "search"), litellm(300_000, 30_000));
    assert_eq!(get(&features, "nightly-etl"), bedrock(60_000, 6_000));
    for dimension in ["tenant", "feature", "agent", "tool", "model"] {
        let sum: i128 = allocated(wd, dimension).iter().map(|(_, m)| m).sum();
        assert_eq!(
            sum, 2_852_658,
            "{dimension}: every dimension sums to the usage's cost"
        );
    }
    let summary = wd.read("out/summary.json");
    assert!(
        summary.contains("\"basis\": \"usage\"") && summary.contains("\"tenant\": \"99.99\""),
        "{summary}"
    );
}

/// FOCUS allocation columns: filled on rule-owned rows, empty on measured ones.
fn focus_rows_carry_the_rules_allocation(wd: &Workdir) {
    // FOCUS rows of rule-owned records carry FOCUS 1.3's allocation
    // columns; measured rows leave them empty.
    let focus = csv_rows(&wd.read("out/focus.csv"));
    let column = |name: &str| focus[0].iter().position(|h| h == name).unwrap();
    let (method, details, tags) = (
        column("AllocatedMethodId"),
        column("AllocatedMethodDetails"),
        column("AllocatedTags"),
    );
    let billed = column("BilledCost");
    let by_rules: i128 = focus[1..]
        .iter()
        .filter(|r| r[method].starts_with("rule:"))
        .map(|r| micros(&r[billed]))
        .sum();
    assert_eq!(
        by_rules,
        litellm(100_000, 10_000)
            + bedrock(20_000, 2_000)
            + litellm(200_000, 20_000)
            + litellm(50_000, 16_000)
            + bedrock(40_000, 4_000)
    );
    let globex = focus[1..]
        .iter()
        .find(|r| r[tags].contains("globex"))
        .expect("globex's row");
    assert_eq!(
        [&globex[method], &globex[details], &globex[tags]],
        [
            "rule:1",
            "{\"Method\":\"usage record labels\",\"Rule\":1}",
            "{\"feature\":\"search\",\"tenant\":\"globex\"}"
        ]
    );
    assert!(focus[1..]
        .iter()
        .filter(|r| r[method].is_empty())
        .all(|r| r[details].is_empty() && r[tags].is_empty()));
}

#[test]
fn splits_spread_the_unexplained_lines_so_every_dimension_sums_to_the_bill() {
    let wd = month("alloc-splits");
    let out = report(
        &wd,
        &["--invoice", "invoice.csv", "--allocation", "splits.toml"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The bill: usage $2.852658 (trued up), provisioned throughput $5, a
    // platform fee $1, a credit -$0.50 and tax $0.10.
    for dimension in ["tenant", "feature", "agent", "tool", "model"] {
        let sum: i128 = allocated(&wd, dimension).iter().map(|(_, m)| m).sum();
        assert_eq!(sum, 8_452_658, "{dimension}");
    }
    let audit = wd.read("out/allocation.csv");
    assert!(
        audit.contains("\ntenant,acme,split:2,0.6\n")
            && audit.contains("\ntenant,globex,split:2,0.4\n"),
        "{audit}"
    );
    // A provider's lines spread over the owners of its usage only: the
    // Bedrock throughput over the Bedrock model, Anthropic's VAT (by cost)
    // and credit (by requests) over Anthropic's, never OpenAI's gpt-test.
    let models = |split: &str| -> Vec<String> {
        let lines = audit
            .lines()
            .filter(|l| l.starts_with("model,") && l.contains(split));
        lines
            .map(|l| l.split(',').nth(1).unwrap().to_string())
            .collect()
    };
    assert_eq!(models("split:1"), ["anthropic.claude-test-1-v1"]);
    assert_eq!(
        models("split:4"),
        ["claude-test-1", "claude-test-1-20250101"]
    );
    assert_eq!(
        models("split:3"),
        ["claude-test-1", "claude-test-1-20250101"]
    );
    // Fixed shares over tenants only: the fee is unallocated elsewhere,
    // as is the spend whose spans named no feature, (none), with its share
    // of the credit and tax: 1.00030775 + 0.9725 - 0.142857142857142857
    // + 0.035452590135248441.
    assert!(
        audit.contains("\nfeature,(unallocated),unallocated,1.865403197278105584\n"),
        "{audit}"
    );
    assert!(!audit.contains(",(none),"), "{audit}");
    let rec = wd.read("out/reconciliation.csv");
    for line in [
        "aws.bedrock,Provisioned throughput - 1 model unit,,,0.000000,5.000000,-5.000000,-100.00,split,split:1",
        "anthropic,Promotional credit,,,,-0.500000,,,split,split:3 (credit)",
        "anthropic,VAT,,,,0.100000,,,split,split:4 (tax)",
    ] {
        assert!(rec.contains(line), "{line}\n{rec}");
    }
    assert!(
        rec.contains("\n(usage total),,,,2.852658,2.852658,0.000000,0.00,ok,\n"),
        "{rec}"
    );
    // Without the splits the unexplained lines fail the gate, as before.
    let out = report(
        &wd,
        &["--invoice", "invoice.csv", "--allocation", "rules.toml"],
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn rules_that_match_nothing_or_overlap_are_warned_and_unknown_labels_refused() {
    let wd = month("alloc-warnings");
    wd.write(
        "warn.toml",
        "[[rule]]\nmatch = { \"label.team_alias\" = \"search-*\" }\ntenant = \"{label.end_user}\"\n\n\
         [[rule]]\nmatch = { \"label.end_user\" = \"acme\" }\ntenant = \"acme\"\n\n\
         [[rule]]\nmatch = { \"label.team_alias\" = \"nobody\" }\ntenant = \"x\"\n\n\
         [[split]]\nmatch = { description = \"Support plan*\" }\nby = \"cost\"\n",
    );
    let out = report(
        &wd,
        &["--invoice", "invoice.csv", "--allocation", "warn.toml"],
    );
    assert_eq!(out.status.code(), Some(1), "the unsplit lines still fail");
    let summary = wd.read("out/summary.json");
    for warning in [
        "warn.toml:5: rule:2 overlaps rule:1 (line 1): 1 record(s) it matches went to the earlier rule",
        "warn.toml:9: rule:3 matches no usage record of the month",
        "warn.toml:13: split:1 matches no line of the bill",
    ] {
        assert!(summary.contains(warning), "{warning}\n{summary}");
    }
    wd.write(
        "bad.toml",
        "[[rule]]\nmatch = { \"label.team\" = \"x\" }\ntenant = \"y\"\n",
    );
    let stderr = wd.fail(
        &[&REPORT[..], &["--out", "out2", "--allocation", "bad.toml"]].concat(),
        2,
    );
    assert!(stderr.contains("bad.toml:1: the [[rule]] names label \"team\", which no usage record of the month carries"), "{stderr}");
}

#[test]
fn too_little_allocated_fails_naming_the_largest_unallocated_labels() {
    let wd = month("alloc-gate");
    wd.write("one.toml", "[[rule]]\nmatch = { \"label.team_alias\" = \"search-*\" }\ntenant = \"{label.end_user}\"\n");
    let out = report(&wd, &["--allocation", "one.toml", "--min-allocated", "95"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("allocation: 83.16 % of the cost has a tenant, below --min-allocated 95; the largest unallocated labels: api_key=hash-2 $0.390000"),
        "{stderr}"
    );
}

#[test]
fn the_gate_measures_the_usage_where_credits_cover_the_bill() {
    let wd = Workdir::new("alloc-credits");
    wd.write("spans/none.json", r#"{"resourceSpans":[]}"#);
    wd.write("usage.csv", "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch,label.team\nr1,2026-11-02T09:00:00Z,aws.bedrock,anthropic.claude-sonnet-4-6-v1,1000000,0,0,0,100000,false,search\n");
    let bill = |credit: &str| {
        format!("bill_billing_entity,line_item_currency_code,line_item_line_item_type,line_item_line_item_description,line_item_product_code,line_item_unblended_cost,line_item_usage_start_date,line_item_usage_end_date,line_item_usage_type\nAWS,USD,Usage,,AmazonBedrock,3.30,2026-11-02T00:00:00Z,2026-11-03T00:00:00Z,USE1-Claude4.6Sonnet-input-tokens\nAWS,USD,Usage,,AmazonBedrock,1.65,2026-11-02T00:00:00Z,2026-11-03T00:00:00Z,USE1-Claude4.6Sonnet-output-tokens\nAWS,USD,Credit,AWS Activate credit,AmazonBedrock,{credit},2026-11-01T00:00:00Z,2026-12-01T00:00:00Z,USE1-Claude4.6Sonnet-input-tokens\n")
    };
    let rule = |team: &str| {
        format!("[[rule]]\nmatch = {{ \"label.team\" = \"{team}\" }}\ntenant = \"t\"\n")
    };
    // A bill of $0 (the credit covers it) with no tenant for its usage, and
    // a bill of -$5.05 whose usage a rule owns whole.
    for (credit, team, code, pct) in [
        ("-4.95", "nobody", 1, "0.00"),
        ("-10.00", "search", 0, "100.00"),
    ] {
        wd.write("cur.csv", &bill(credit));
        wd.write("rules.toml", &rule(team));
        let out = wd.output(&[
            "report",
            "--spans",
            "spans",
            "--usage",
            "usage.csv",
            "--invoice",
            "cur.csv",
            "--allocation",
            "rules.toml",
            "--min-allocated",
            "50",
            "--min-match",
            "0",
            "--out",
            "out",
            "--quiet",
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{credit}: {stderr}");
        let summary = wd.read("out/summary.json");
        assert!(
            summary.contains(&format!("\"tenant\": \"{pct}\"")),
            "{credit}: {summary}"
        );
    }
}

#[test]
fn focus_rows_of_one_rule_are_ordered_by_owner_not_by_input() {
    let wd = Workdir::new("alloc-focus-order");
    wd.write("spans/none.json", r#"{"resourceSpans":[]}"#);
    wd.write(
        "rules.toml",
        "[[rule]]\nmatch = { \"label.team\" = \"*\" }\ntenant = \"{label.team}\"\n",
    );
    let header = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch,label.team\n";
    let row = |id: &str, hour: &str, team: &str| {
        format!("{id},2026-11-02T{hour}:00:00Z,aws.bedrock,anthropic.claude-sonnet-4-6-v1,0,0,0,0,1,false,{team}\n")
    };
    // Two rows of 0.0000165 each: one rounds up, one down.
    let (alpha, beta) = (row("ra", "09", "alpha"), row("rb", "10", "beta"));
    let mut written = Vec::new();
    for (name, rows) in [("ab", [&alpha, &beta]), ("ba", [&beta, &alpha])] {
        wd.write("usage.csv", &format!("{header}{}{}", rows[0], rows[1]));
        wd.run(&[
            "report",
            "--spans",
            "spans",
            "--usage",
            "usage.csv",
            "--allocation",
            "rules.toml",
            "--min-match",
            "0",
            "--out",
            name,
            "--quiet",
        ]);
        written.push(wd.read(&format!("{name}/focus.csv")));
    }
    assert_eq!(written[0], written[1]);
    let billed: Vec<&str> = written[0]
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(10).unwrap())
        .collect();
    assert_eq!(billed, ["0.000017", "0.000016"], "{}", written[0]);
}

#[test]
fn the_gate_is_judged_on_the_exact_share_and_overlaps_name_the_rule_that_took_them() {
    let wd = Workdir::new("alloc-exact");
    wd.write("spans/none.json", r#"{"resourceSpans":[]}"#);
    // $29.70 a rule owns, $3.30 + $0.00165 it does not: 89.9955 %, which
    // rounds to 90.00 but is below 90.
    let row = |id: &str, tokens: u64, team: &str, cust: &str| {
        format!("{id},2026-11-02T09:00:00Z,aws.bedrock,anthropic.claude-sonnet-4-6-v1,{tokens},0,0,0,0,false,{team},{cust}\n")
    };
    wd.write(
        "usage.csv",
        &[
            "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch,label.team,label.cust\n".to_string(),
            row("r1", 9_000_000, "search", "acme"),
            row("r2", 1_000_000, "x", "globex"),
            row("r3", 500, "x", "globex"),
        ]
        .concat(),
    );
    let run = |rules: &str| {
        wd.write("rules.toml", rules);
        wd.output(&[
            "report",
            "--spans",
            "spans",
            "--usage",
            "usage.csv",
            "--min-match",
            "0",
            "--allocation",
            "rules.toml",
            "--min-allocated",
            "90",
            "--out",
            "out",
            "--quiet",
        ])
    };
    let out = run("[[rule]]\nmatch = { \"label.team\" = \"search\" }\ntenant = \"{label.cust}\"\n");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "allocation: 89.995500 % of the cost has a tenant, below --min-allocated 90;"
        ),
        "{stderr}"
    );
    // The third rule's records went to two earlier rules: each named with
    // its own count.
    let out = run(
        "[[rule]]\nmatch = { \"label.team\" = \"search\" }\ntenant = \"s\"\n\n\
         [[rule]]\nmatch = { \"label.team\" = \"x\" }\ntenant = \"b\"\n\n\
         [[rule]]\nmatch = { \"label.cust\" = \"*\" }\ntenant = \"c\"\n",
    );
    assert_eq!(out.status.code(), Some(0));
    let summary = wd.read("out/summary.json");
    for warning in [
        "rules.toml:9: rule:3 overlaps rule:1 (line 1): 1 record(s) it matches went to the earlier rule",
        "rules.toml:9: rule:3 overlaps rule:2 (line 5): 2 record(s) it matches went to the earlier rule",
    ] {
        assert!(summary.contains(warning), "{warning}\n{summary}");
    }
}

#[test]
fn diff_warns_when_one_month_was_allocated_and_the_other_not() {
    // The same month with and without --allocation: what the rules own
    // would read as a new tenant's volume, so `diff` says why.
    let wd = month("alloc-diff");
    wd.run(&[&REPORT[..], &["--out", "plain"]].concat());
    wd.run(
        &[
            &REPORT[..],
            &["--allocation", "rules.toml", "--out", "ruled"],
        ]
        .concat(),
    );
    let out = wd.output(&["diff", "plain", "ruled", "--out", "diff"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warning = "ruled was run with --allocation and plain without: what its rules own \
                   shows as volume (and as new or gone values), not as a change in spend";
    assert!(stderr.contains(warning), "{stderr}");
    let out = wd.output(&["diff", "ruled", "ruled", "--out", "same"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("--allocation"));
}

#[test]
fn budgets_are_judged_on_what_allocation_bills_the_owner() {
    // globex spends only through a rule ($0.90 of LiteLLM batch records):
    // judged on billed cost it spent $0 and passed --fail-on-budget.
    let wd = month("alloc-budgets");
    let budget = |key: &str, usd: &str| {
        format!("[[budget]]\ndimension = \"tenant\"\nkey = \"{key}\"\nusd = {usd}\n")
    };
    wd.write(
        "budgets.toml",
        &(budget("globex", "0.5") + &budget("acme", "1")),
    );
    let flags = ["--allocation", "rules.toml", "--budgets", "budgets.toml"];
    let out = report(&wd, &[&flags[..], &["--fail-on-budget"]].concat());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        wd.read("out/budget.csv"),
        "dimension,key,spend_usd,budget_usd,pct_used,status\n\
         tenant,acme,0.510600,1.000000,51.06,ok\n\
         tenant,globex,0.900000,0.500000,180.00,over\n"
    );
    let html = wd.read("out/report.html");
    assert!(html.contains("<h2>Budgets (allocated cost)</h2>"));
    // The page's bars show what each owner owns, as allocated_usd says
    // (they showed the spans' cost: globex, owned by a rule, at $0.00).
    let bars = &html[html.find("<h2>Allocated cost by tenant</h2>").unwrap()..];
    let globex = &bars[bars.find(">globex<").unwrap()..];
    assert!(globex[..400].contains("$0.90"), "{}", &globex[..400]);
}

#[test]
fn a_line_whose_usage_has_no_owner_in_a_dimension_stays_unallocated_there() {
    // The splits without the rules: no Bedrock record has a tenant, so the
    // Bedrock throughput ($5, by cost) goes to the Bedrock model and to no
    // tenant (it was spread over the tenants of Anthropic's and OpenAI's
    // spans, who never used Bedrock).
    let wd = month("alloc-split-unowned");
    let splits = wd.read("splits.toml");
    let only_splits = &splits[splits.find("[[split]]").unwrap()..];
    wd.write("only-splits.toml", only_splits);
    let flags = [
        "--invoice",
        "invoice.csv",
        "--allocation",
        "only-splits.toml",
    ];
    let out = report(&wd, &flags);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let audit = wd.read("out/allocation.csv");
    let spread: Vec<&str> = audit.lines().filter(|l| l.contains(",split:1,")).collect();
    assert_eq!(
        spread,
        ["model,anthropic.claude-test-1-v1,split:1,5"],
        "{audit}"
    );
}

#[test]
fn splits_match_a_models_fixed_line_by_description_and_a_cloud_by_either_name() {
    // Provisioned throughput billed under its model (matched by
    // description, it was not: the key held the model); Google's caching
    // storage matched by a split naming the cloud, gcp (only the cloud's
    // own lines were); and splits with no bill to split are warned.
    let wd = month("alloc-split-names");
    let invoice = wd.read("invoice.csv").replace(
        "aws.bedrock,,,5.00,",
        "aws.bedrock,anthropic.claude-test-1-v1,,5.00,",
    );
    wd.write(
        "invoice.csv",
        &format!("{invoice}google,,,2.00,,Caching Storage\n"),
    );
    let splits = wd.read("splits.toml");
    wd.write(
        "splits.toml",
        &format!("{splits}\n[[split]]\nmatch = {{ provider = \"gcp\" }}\nby = \"cost\"\n"),
    );
    let out = report(
        &wd,
        &["--invoice", "invoice.csv", "--allocation", "splits.toml"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rec = wd.read("out/reconciliation.csv");
    for line in [
        ",5.000000,-5.000000,-100.00,split,split:1\n",
        "google,Caching Storage,,,0.000000,2.000000,-2.000000,-100.00,split,split:5\n",
    ] {
        assert!(rec.contains(line), "{line}\n{rec}");
    }
    report(&wd, &["--allocation", "splits.toml"]);
    let summary = wd.read("out/summary.json");
    assert!(summary.contains("splits.toml: 5 [[split]](s) spread the bill's lines, and without --invoice there are none: they spread nothing"), "{summary}");
}
