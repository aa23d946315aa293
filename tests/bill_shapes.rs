//! Real bill shapes read as the bill means them: a model service's
//! purchase is a fixed charge, a credit given on a usage row stays with its
//! row under `--period`, a bill given twice is refused and a CUR delivery's
//! manifest passed over, and a restated CUR (or a Data Export) read in its
//! manifest's version, two versions without one refused;
//! a provider's line naming no model sums every model's usage, and a cost
//! report page given twice is refused; a provider billed partly grouped by
//! `line_item` is compared as one line a day; another service's credits
//! and tax stay its own; a legacy CUR delivered as ZIP reads as its CSV.

use crate::cloud_bills::{cloud, reconcile};
use crate::workdir::{csv_rows, fixture, micros, Workdir};

#[test]
fn a_model_service_purchase_is_a_fixed_charge_not_unread_usage() {
    // A reservation bought for Azure OpenAI: a FOCUS Purchase row with no
    // meter. Not per token, so out of the gate, named by its description.
    let wd = cloud("cloud-purchase");
    let focus = wd.read("focus.csv");
    let purchase = "2000,acct-1,USD,2026-12-01T00:00:00Z,2026-11-01T00:00:00Z,Purchase,,\
                    Azure OpenAI provisioned reservation,2026-12-01T00:00:00Z,2026-11-01T00:00:00Z,\
                    0,2000,Microsoft,Microsoft,Microsoft,AI and Machine Learning,Azure OpenAI,,,\
                    Foundry Models\n";
    wd.write("focus.csv", &format!("{focus}{purchase}"));
    wd.run(&reconcile("usage", "focus.csv", &[]));
    let csv = wd.read("out/reconciliation.csv");
    assert!(
        csv.contains("\nazure,Azure OpenAI provisioned reservation,,,,2000.000000,,,,fixed,"),
        "{csv}"
    );
}

#[test]
fn a_credit_given_on_a_usage_row_is_kept_with_its_row_under_period() {
    // A Gemini row of November's (Pacific) invoice month used on December
    // 1st UTC, with its own credit: under --period 2026-11 the row is
    // December's usage, so its credit goes with it, not on November's bill.
    let wd = cloud("cloud-bills-nested-credit");
    let bill = wd.read("gcp-billing.jsonl");
    let first = bill.lines().next().unwrap();
    let late = first
        .replace("2026-11-02 09:00:00 UTC", "2026-12-01 03:00:00 UTC")
        .replace("2026-11-02 10:00:00 UTC", "2026-12-01 04:00:00 UTC")
        .replacen(
            "\"credits\":[]",
            "\"credits\":[{\"name\":\"Promo\",\"amount\":-0.05,\"type\":\"PROMOTION\"}]",
            1,
        );
    assert_ne!(late, first);
    wd.write("gcp-billing.jsonl", &format!("{bill}{late}\n"));
    let period = ["--period", "2026-11"];
    wd.run(&reconcile("usage/gcp.csv", "gcp-billing.jsonl", &period));
    let csv = wd.read("out/reconciliation.csv");
    assert!(!csv.contains("Promo"), "{csv}");
    let summary = wd.run(
        &[
            reconcile("usage/gcp.csv", "gcp-billing.jsonl", &period),
            vec!["--json"],
        ]
        .concat(),
    );
    assert!(
        summary.contains("\"invoice_lines_out_of_period\": 2,"),
        "{summary}"
    );
}

#[test]
fn a_bill_given_twice_is_refused_and_a_cur_manifest_passed_over() {
    let wd = cloud("cloud-bills-twice");
    let cur = wd.read("aws-cur2.csv");
    wd.write("bills/cur-00001.csv", &cur);
    // AWS's manifest beside the report's files, as delivered: not a bill.
    wd.write(
        "bills/cur-Manifest.json",
        r#"{"assemblyId":"a1","reportKeys":["cur/cur-00001.csv.gz"],"billingPeriod":{"start":"20261101T000000.000Z"}}"#,
    );
    let out = wd.output(&reconcile("usage/aws.csv", "bills", &[]));
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cur-Manifest.json: an AWS bill delivery's manifest"),
        "{stderr}"
    );
    // Two bills alike but empty are two empty months, not one bill twice.
    for month in ["10", "12"] {
        let empty = "provider,model,token_type,amount_usd\n";
        wd.write(&format!("bills/openai-2026-{month}.csv"), empty);
    }
    wd.run(&reconcile("usage/aws.csv", "bills", &[]));
    // The same report under a second name (a copy, an unpacked .gz, here
    // saved with Unix line endings: AWS writes CRLF), no manifest to tell
    // which is listed.
    std::fs::remove_file(wd.path("bills/cur-Manifest.json")).unwrap();
    assert!(cur.contains("\r\n"));
    wd.write("bills/cur-00001-copy.csv", &cur.replace("\r\n", "\n"));
    let stderr = wd.fail(&reconcile("usage/aws.csv", "bills", &[]), 2);
    assert_eq!(
        stderr,
        "tokenledger: bills/cur-00001.csv: the same bill as bills/cur-00001-copy.csv (the same \
         content): give one of them\n"
    );
}

#[test]
fn a_restated_cur_is_read_in_the_version_its_manifest_lists() {
    let wd = cloud("cloud-bills-assemblies");
    let cur = wd.read("aws-legacy-cur.csv");
    // The month's first version, restated with every Bedrock amount doubled.
    let first = cur.replace(",USD,3.30,", ",USD,6.60,");
    let period = "bills/cur/20261101-20261201";
    wd.write(&format!("{period}/asm-1/cur-00001.csv"), &first);
    wd.write(&format!("{period}/asm-2/cur-00001.csv"), &cur);
    let key = "pre/cur/20261101-20261201/asm-2/cur-00001.csv.gz";
    let manifest = format!(r#"{{"assemblyId":"asm-2","reportKeys":["{key}"]}}"#);
    wd.write(&format!("{period}/cur-Manifest.json"), &manifest);
    let out = wd.output(&reconcile("usage/aws.csv", "bills", &[]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(
            "asm-1/cur-00001.csv: an AWS bill file bills/cur/20261101-20261201/cur-Manifest.json \
             does not list (version asm-2): another version of the report; skipped"
        ),
        "{stderr}"
    );
    let csv = wd.read("out/reconciliation.csv");
    assert!(
        csv.contains("input,2026-11-02,3.300000,3.300000,0.000000,0.00,ok"),
        "{csv}"
    );
    // The listed version missing: the bill would be short.
    std::fs::remove_file(wd.path(&format!("{period}/asm-2/cur-00001.csv"))).unwrap();
    let stderr = wd.fail(&reconcile("usage/aws.csv", "bills", &[]), 2);
    assert!(
        stderr.ends_with(&format!(
            "cur-Manifest.json: lists `{key}` (version asm-2), not found under {period}: give \
             every file of the report's current version\n"
        )),
        "{stderr}"
    );
}

#[test]
fn a_data_export_is_read_in_the_execution_its_manifest_lists_and_never_two() {
    let wd = cloud("cloud-bills-data-export");
    let cur = wd.read("aws-cur2.csv");
    let first = cur.replace(",3.30,", ",6.60,");
    // As a Data Export that creates new files delivers CUR 2.0: one folder
    // per execution under data/, the manifest under metadata/.
    let period = "BILLING_PERIOD=2026-11";
    let data = format!("bills/x/data/{period}");
    let (e1, e2) = (
        "0f3c1a52-3b1e-4d8e-9a41-2f8d6c1b7e01",
        "7b2e9d40-1c6a-4f3b-8e27-5a9c0d3f1b62",
    );
    wd.write(&format!("{data}/{e1}/x-00001.csv"), &first);
    wd.write(&format!("{data}/{e2}/x-00001.csv"), &cur);
    let stderr = wd.fail(&reconcile("usage/aws.csv", "bills", &[]), 2);
    assert!(
        stderr.contains("two versions of one billing period's export"),
        "{stderr}"
    );
    let key = format!("s3://b/p/x/data/{period}/{e2}/x-00001.csv.gz");
    let manifest = format!(
        r#"{{"executionId":"{e2}","exportArn":"arn:aws:bcm-data-exports:us-east-1:111122223333:export/x","columns":[],"dataFiles":["{key}"]}}"#
    );
    wd.write(
        &format!("bills/x/metadata/{period}/x-Manifest.json"),
        &manifest,
    );
    let out = wd.output(&reconcile("usage/aws.csv", "bills", &[]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("does not list (version {e2})")),
        "{stderr}"
    );
    // An Azure export's second month-to-date file, its run in its name.
    let azure = wd.read("azure-ea.csv");
    let month = "azure/x/20261101-20261130";
    let early = azure.replacen(",0.30,", ",0.15,", 1);
    assert_ne!(early, azure);
    wd.write(&format!("{month}/x_{e1}.csv"), &early);
    wd.write(&format!("{month}/x_{e2}.csv"), &azure);
    let stderr = wd.fail(&reconcile("usage/azure.csv", "azure", &[]), 2);
    assert!(
        stderr.contains(&format!("x_{e2}.csv: two versions")),
        "{stderr}"
    );
    // An improved Azure export's runs (a run time, then its id), then one
    // run in the period's folder itself beside one in a run's folder.
    let runs = "azure2/x/20261101-20261130";
    wd.write(&format!("{runs}/202611021557/{e1}/part_0_0001.csv"), &early);
    wd.write(&format!("{runs}/202611031557/{e2}/part_0_0001.csv"), &azure);
    let stderr = wd.fail(&reconcile("usage/azure.csv", "azure2", &[]), 2);
    assert!(stderr.contains("part_0_0001.csv: two versions"), "{stderr}");
    std::fs::remove_dir_all(wd.path(&format!("{runs}/202611021557"))).unwrap();
    wd.write(&format!("{runs}/part_0_0001.csv"), &early);
    let stderr = wd.fail(&reconcile("usage/azure.csv", "azure2", &[]), 2);
    assert!(stderr.contains(": two versions"), "{stderr}");
    // Two accounts' exports under one period, folders named by account: read.
    let lines: Vec<&str> = cur.split_inclusive('\n').collect();
    let period = "accounts/20261101-20261201";
    wd.write(&format!("{period}/a/cur-00001.csv"), &lines[..3].concat());
    let rest = [&lines[..1], &lines[3..]].concat().concat();
    wd.write(&format!("{period}/b/cur-00001.csv"), &rest);
    // Other files delivered beside a bill's: noted, not read as bills.
    let azure_run = r#"{"manifestVersion":"2024-04-01","runInfo":{"runId":"r"},"blobs":[]}"#;
    wd.write(&format!("{period}/a/manifest.json"), azure_run);
    let redshift = r#"{"entries":[{"url":"s3://b/cur-00001.csv.gz","mandatory":true}]}"#;
    wd.write(&format!("{period}/b/cur-RedshiftManifest.json"), redshift);
    wd.run(&reconcile("usage/aws.csv", "accounts", &[]));
}

#[test]
fn invoice_lines_naming_no_model_sum_every_model_and_true_up_to_the_bill() {
    let wd = Workdir::new("rec-rollups");
    wd.write("spans/none.json", r#"{"resourceSpans":[]}"#);
    a_costs_bucket_with_no_line_item_is_all_usage(&wd);
    web_search_lines_meet_every_model_and_bill_once(&wd);
    costs_pages_given_twice_or_cut_short_are_named(&wd);
}

/// OpenAI's real Costs API bucket with no line_item: reconciled, then trued up.
fn a_costs_bucket_with_no_line_item_is_all_usage(wd: &Workdir) {
    // OpenAI's Costs API, its documented example (real): one bucket of
    // $0.06 with no line_item, against 400,000 gpt-4o-mini input tokens.
    wd.copy(
        &crate::workdir::real("openai-costs.json"),
        "real/costs.json",
    );
    wd.write("real/usage.csv", "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\nx1,2024-11-01T12:00:00Z,openai,gpt-4o-mini,400000,0,0,0,0,false\n");
    wd.run(&[
        "reconcile",
        "--usage",
        "real/usage.csv",
        "--invoice",
        "real/costs.json",
        "--out",
        "real/out",
        "--quiet",
    ]);
    assert!(wd.read("real/out/reconciliation.csv").contains(
        "openai,\"(all usage, not grouped)\",,2024-11-01,0.060000,0.060000,0.000000,0.00,ok,"
    ));
    // Billed $0.0605 (within the tolerance): the true-up bills it all.
    let costs = wd.read("real/costs.json").replace("0.06", "0.0605");
    wd.write("real/costs.json", &costs);
    wd.run(&[
        "report",
        "--spans",
        "spans",
        "--usage",
        "real/usage.csv",
        "--invoice",
        "real/costs.json",
        "--true-up",
        "--min-match",
        "0",
        "--out",
        "real/report",
        "--quiet",
    ]);
    let rows = csv_rows(&wd.read("real/report/by_model.csv"));
    let billed = rows[0].iter().position(|c| c == "billed_usd").unwrap();
    assert_eq!(rows[1][billed], "0.060500");
}

/// Web search tool calls naming no model: matched and trued up to the bill once.
fn web_search_lines_meet_every_model_and_bill_once(wd: &Workdir) {
    // "web search tool calls" names no model: five searches of gpt-4o-mini
    // meet it (in any case), and the true-up bills the tenant the bill,
    // $0.20, once (it billed the search again as invoice-only: $0.25).
    wd.write("usage.csv", "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch,web_search_requests,label.team\nw1,2025-06-01T12:00:00Z,openai,gpt-4o-mini,1000000,0,0,0,0,false,5,acme\n");
    wd.write("costs.json", r#"{"object":"page","data":[{"object":"bucket","start_time":1748736000,"end_time":1748822400,"results":[{"object":"organization.costs.result","amount":{"value":0.15,"currency":"usd"},"line_item":"gpt-4o-mini-2024-07-18, input"},{"object":"organization.costs.result","amount":{"value":0.05,"currency":"usd"},"line_item":"Web Search Tool Calls"}]}],"has_more":false,"next_page":null}"#);
    wd.write(
        "rules.toml",
        "[[rule]]\nmatch = { \"label.team\" = \"*\" }\ntenant = \"{label.team}\"\n",
    );
    wd.run(&[
        "report",
        "--spans",
        "spans",
        "--usage",
        "usage.csv",
        "--invoice",
        "costs.json",
        "--true-up",
        "--allocation",
        "rules.toml",
        "--min-match",
        "0",
        "--out",
        "out",
        "--quiet",
    ]);
    let csv = wd.read("out/reconciliation.csv");
    assert!(
        csv.contains(
            "openai,(all models),web_search,2025-06-01,0.050000,0.050000,0.000000,0.00,ok,"
        ),
        "{csv}"
    );
    let tenants = wd.read("out/by_tenant.csv");
    let rows = csv_rows(&tenants);
    let billed = rows[0].iter().position(|c| c == "billed_usd").unwrap();
    let total: i128 = rows[1..].iter().map(|r| micros(&r[billed])).sum();
    assert_eq!(total, 200_000, "{tenants}");
}

/// The web search month's costs page given twice is refused, a first page alone noted.
fn costs_pages_given_twice_or_cut_short_are_named(wd: &Workdir) {
    // The same page twice (a retried pagination loop): refused, not summed.
    let page = wd.read("costs.json");
    wd.write("pages.jsonl", &format!("{page}\n{page}\n"));
    let stderr = wd.fail(
        &[
            "reconcile",
            "--usage",
            "usage.csv",
            "--invoice",
            "pages.jsonl",
        ],
        2,
    );
    assert_eq!(
        stderr,
        "tokenledger: pages.jsonl:2: the bucket of 2025-06-01 00:00:00 UTC to 2025-06-02 00:00:00 \
         UTC is given again, line for line, as on line 1: a page fetched or saved twice? give \
         each page once\n"
    );
    // A first page alone, saying more follow: a failed gate, not silently short.
    wd.write(
        "first.json",
        &page.replace("\"has_more\":false", "\"has_more\":true"),
    );
    let args = [
        "reconcile",
        "--usage",
        "usage.csv",
        "--invoice",
        "first.json",
    ];
    let stderr = wd.fail(&args, 1);
    assert!(
        stderr.contains(
            "pages missing: the OpenAI costs pages read end with a bucket of 2025-06-01 and say \
             has_more: true: the pages after it are missing"
        ),
        "{stderr}"
    );
}

#[test]
fn a_provider_billed_partly_grouped_by_line_item_is_compared_as_one_line_a_day() {
    // June 1st fetched grouped by line_item, June 2nd not: the grouped
    // line rolls into the provider's one line of its day, rather than both
    // sides of June 1st going unmatched and failing the gate.
    let wd = Workdir::new("rec-rollup-mixed");
    wd.write("usage.csv", "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\na1,2025-06-01T12:00:00Z,openai,gpt-4o-mini,1000000,0,0,0,0,false\na2,2025-06-02T12:00:00Z,openai,gpt-4o-mini,1000000,0,0,0,0,false\n");
    let page = |start: u64, item: &str| {
        format!(
            r#"{{"object":"page","data":[{{"object":"bucket","start_time":{start},"end_time":{},"results":[{{"object":"organization.costs.result","amount":{{"value":0.15,"currency":"usd"}}{item}}}]}}],"has_more":false,"next_page":null}}"#,
            start + 86_400
        )
    };
    let grouped = page(
        1_748_736_000,
        r#","line_item":"gpt-4o-mini-2024-07-18, input""#,
    );
    wd.write("inv/grouped.json", &grouped);
    wd.write("inv/whole.json", &page(1_748_822_400, ""));
    wd.run(&[
        "reconcile",
        "--usage",
        "usage.csv",
        "--invoice",
        "inv",
        "--out",
        "out",
        "--quiet",
    ]);
    let csv = wd.read("out/reconciliation.csv");
    for day in ["2025-06-01", "2025-06-02"] {
        let line = format!(
            "openai,\"(all usage, not grouped)\",,{day},0.150000,0.150000,0.000000,0.00,ok,"
        );
        assert!(csv.contains(&line), "{csv}");
    }
    assert!(!csv.contains("gpt-4o-mini"), "{csv}");
}

/// A Google billing export row of `service`'s `sku` in the hour `at`
/// (`2026-11-02 09`), costing `cost`, with `credits`, on `month`'s invoice.
fn gcp_row(service: &str, sku: &str, at: &str, cost: &str, credits: &str, month: &str) -> String {
    format!("{{\"billing_account_id\": \"A\", \"service\": {{\"id\": \"x\", \"description\": \"{service}\"}}, \"sku\": {{\"id\": \"x\", \"description\": \"{sku}\"}}, \"usage_start_time\": \"{at}:00:00 UTC\", \"usage_end_time\": \"{at}:59:59 UTC\", \"cost\": {cost}, \"currency\": \"USD\", \"currency_conversion_rate\": 1.0, \"credits\": [{credits}], \"invoice\": {{\"month\": \"{month}\"}}, \"cost_type\": \"regular\"}}\n")
}

/// A committed-use credit of `amount`, nested on its row.
fn cud(amount: &str) -> String {
    format!("{{\"name\": \"Committed use discount: CPU\", \"amount\": {amount}, \"type\": \"COMMITTED_USAGE_DISCOUNT\"}}")
}

const VM: &str = "N2 Instance Core running in Americas";

/// A month of Gemini on Vertex ($0.55, one record of team `search`) and
/// its rows in a Google billing export.
fn gemini_month(name: &str) -> (Workdir, String) {
    let wd = Workdir::new(name);
    let sku = |what: &str| format!("Gemini 2.5 Flash GA Text {what} - Predictions");
    let gemini = [
        gcp_row(
            "Vertex AI",
            &sku("Input"),
            "2026-11-02 09",
            "0.3",
            "",
            "202611",
        ),
        gcp_row(
            "Vertex AI",
            &sku("Output"),
            "2026-11-02 09",
            "0.25",
            "",
            "202611",
        ),
    ]
    .concat();
    wd.write("usage.csv", "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch,label.team\ngc-1,2026-11-02T09:30:00Z,google,gemini-2.5-flash,1000000,0,0,0,100000,false,search\n");
    (wd, gemini)
}

#[test]
fn another_services_credits_stay_with_it() {
    // Compute Engine's committed-use credit (nested on its row, Google's
    // shape) is Compute Engine's: the sample's `charge = "credit"` split
    // does not spread it over the Gemini tenants.
    let (wd, gemini) = gemini_month("other-service-credits");
    let vm = gcp_row(
        "Compute Engine",
        VM,
        "2026-11-02 09",
        "100.0",
        &cud("-55.0"),
        "202611",
    );
    wd.write("gcp.jsonl", &format!("{gemini}{vm}"));
    wd.write("alloc.toml", "[[rule]]\nmatch = { \"label.team\" = \"*\" }\ntenant = \"{label.team}\"\n\n[[split]]\nmatch = { charge = \"credit\" }\nby = \"cost\"\n");
    wd.write("spans/none.json", r#"{"resourceSpans":[]}"#);
    let args = [
        "report",
        "--spans",
        "spans",
        "--usage",
        "usage.csv",
        "--invoice",
        "gcp.jsonl",
    ];
    let more = [
        "--allocation",
        "alloc.toml",
        "--min-match",
        "0",
        "--out",
        "out",
        "--quiet",
    ];
    wd.run(&[&args[..], &more[..]].concat());
    let rows = csv_rows(&wd.read("out/by_tenant.csv"));
    let allocated = rows[0].iter().position(|c| c == "allocated_usd").unwrap();
    let of = |tenant: &str| rows.iter().find(|r| r[0] == tenant).unwrap()[allocated].clone();
    assert_eq!(
        (of("search"), of("(unallocated)")),
        ("0.550000".into(), "45.000000".into())
    );
}

#[test]
fn a_credit_on_another_services_row_goes_with_its_row_under_period() {
    // A row dated December 1st UTC on November's invoice, and one dated
    // November 1st on October's: each credit goes with its row, by the
    // invoice month, as another service's row is kept.
    let (wd, gemini) = gemini_month("other-service-period");
    let edge = [
        gcp_row(
            "Compute Engine",
            VM,
            "2026-12-01 03",
            "10.0",
            &cud("-5.5"),
            "202611",
        ),
        gcp_row(
            "Compute Engine",
            VM,
            "2026-11-01 03",
            "20.0",
            &cud("-1.0"),
            "202610",
        ),
    ]
    .concat();
    wd.write("edge.jsonl", &format!("{gemini}{edge}"));
    let args = [
        "reconcile",
        "--usage",
        "usage.csv",
        "--invoice",
        "edge.jsonl",
        "--period",
        "2026-11",
    ];
    wd.run(&[&args[..], &["--out", "edge", "--quiet"]].concat());
    let csv = wd.read("edge/reconciliation.csv");
    assert!(
        csv.contains("\ngcp,(other services),,,,4.500000,,,not_usage,service\n"),
        "{csv}"
    );
    assert!(csv.contains("\n(invoice total),,,,,5.050000,"), "{csv}");
}

#[test]
fn a_legacy_cur_delivered_as_zip_reads_as_its_csv() {
    // AWS delivers a legacy CUR as `<report>-<n>.csv.zip` or `.csv.gz`: the
    // archive (written by Python's zipfile) reads as the CSV it holds,
    // named or found in a directory.
    let wd = cloud("cur-zip");
    wd.copy(
        &fixture("cloud/aws-legacy-cur.csv.zip"),
        "zipped/cur-1.csv.zip",
    );
    wd.run(&reconcile("usage/aws.csv", "aws-legacy-cur.csv", &[]));
    let plain = wd.read("out/reconciliation.csv");
    for bill in ["zipped/cur-1.csv.zip", "zipped"] {
        wd.run(&reconcile("usage/aws.csv", bill, &[]));
        assert_eq!(wd.read("out/reconciliation.csv"), plain, "{bill}");
    }
}

#[test]
fn a_credit_on_a_row_naming_no_service_stays_with_its_row() {
    // A row with no service description is another service's line; its
    // nested credit goes with it, not onto the credit lines a split
    // spreads over the models' owners.
    let (wd, gemini) = gemini_month("no-service-credit");
    let bare = gcp_row("", VM, "2026-11-02 09", "10.0", &cud("-4.0"), "202611");
    wd.write("gcp.jsonl", &format!("{gemini}{bare}"));
    let args = [
        "reconcile",
        "--usage",
        "usage.csv",
        "--invoice",
        "gcp.jsonl",
    ];
    wd.run(&[&args[..], &["--out", "out", "--quiet"]].concat());
    let csv = wd.read("out/reconciliation.csv");
    assert!(
        csv.contains("\ngcp,(other services),,,,6.000000,,,not_usage,service\n"),
        "{csv}"
    );
    assert!(!csv.contains(",credit\n"), "{csv}");
}

#[test]
fn an_anthropic_cost_report_not_grouped_by_description_is_the_days_whole_usage() {
    // cost_report fetched without group_by[]=description (the API's
    // default): model, cost_type, token_type and description are null.
    // It was a charge named "" with every usage line missing from it.
    let wd = Workdir::new("anthropic-ungrouped");
    wd.write("cost.json", r#"{"data":[{"starting_at":"2025-10-01T00:00:00Z","ending_at":"2025-10-02T00:00:00Z","results":[{"currency":"USD","amount":"28.05","workspace_id":null,"description":null,"cost_type":null,"context_window":null,"model":null,"service_tier":null,"token_type":null,"inference_geo":null}]}],"has_more":false,"next_page":null}"#);
    // Sonnet 4.5: 10,000 each of input, cache read, 5m and 1h writes and
    // output at $3, $0.30, $3.75, $6 and $15 per 1M: $0.2805.
    wd.write("usage.csv", "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\nmsg_a1,2025-10-01T10:00:00Z,anthropic,claude-sonnet-4-5-20250929,10000,10000,10000,10000,10000,false\n");
    let args = [
        "reconcile",
        "--usage",
        "usage.csv",
        "--invoice",
        "cost.json",
    ];
    wd.run(&[&args[..], &["--out", "out", "--quiet"]].concat());
    let csv = wd.read("out/reconciliation.csv");
    let line = "\nanthropic,\"(all usage, not grouped)\",,2025-10-01,0.280500,0.280500,0.000000,0.00,ok,\n";
    assert!(csv.contains(line), "{csv}");
}
