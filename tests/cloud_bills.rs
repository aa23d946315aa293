//! Cloud bills (AWS CUR, Google Cloud billing export, Azure cost export,
//! FOCUS) reconcile to the usage they charge, line by line; a changed
//! amount, a meter nothing reads, or a currency without a rate fails.
//! The bills in `tests/fixtures/cloud/` are written by its `generate.py`.

use std::path::Path;

use rust_decimal::Decimal;
use tokenledger::price::{PriceTable, BUILTIN};
use tokenledger::read::invoice::meters::{self, Cloud, ModelNames, Read};
use tokenledger::read::invoice::{parse_text, Charge, Context};

use crate::workdir::{fixture, real, Workdir};

/// A workdir holding the cloud usage (`usage/`) and bills.
fn cloud(name: &str) -> Workdir {
    let wd = Workdir::new(name);
    for file in ["aws.csv", "gcp.csv", "azure.csv"] {
        wd.copy(
            &fixture(&format!("cloud/usage/{file}")),
            &format!("usage/{file}"),
        );
    }
    for bill in [
        "aws-cur2.csv",
        "aws-legacy-cur.csv",
        "gcp-billing.jsonl",
        "azure-ea.csv",
    ] {
        wd.copy(&fixture(&format!("cloud/{bill}")), bill);
    }
    wd.copy(&fixture("cloud/azure-ea-eur.csv"), "azure-ea-eur.csv");
    wd.copy(&fixture("cloud/focus.csv"), "focus.csv");
    wd
}

fn reconcile<'a>(usage: &'a str, bill: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "reconcile",
        "--usage",
        usage,
        "--invoice",
        bill,
        "--out",
        "out",
    ];
    args.extend(extra);
    args
}

const FOCUS_RECONCILIATION: &str = "\
provider,model,token_type,day,computed_usd,invoiced_usd,delta_usd,delta_pct,status,diagnosis
aws.bedrock,anthropic.claude-sonnet-4-6-v1,input,2026-11-02,3.300000,3.300000,0.000000,0.00,ok,
aws.bedrock,anthropic.claude-sonnet-4-6-v1,input,2026-11-03,1.320000,1.320000,0.000000,0.00,ok,
aws.bedrock,anthropic.claude-sonnet-4-6-v1,cache_read,2026-11-02,0.660000,0.660000,0.000000,0.00,ok,
aws.bedrock,anthropic.claude-sonnet-4-6-v1,output,2026-11-02,1.650000,1.650000,0.000000,0.00,ok,
aws.bedrock,anthropic.claude-sonnet-4-6-v1,output,2026-11-03,0.660000,0.660000,0.000000,0.00,ok,
aws.bedrock,global.anthropic.claude-haiku-4-5-20251001-v1,input,2026-11-02,0.500000,0.500000,0.000000,0.00,ok,
aws.bedrock,global.anthropic.claude-haiku-4-5-20251001-v1,output,2026-11-02,0.250000,0.250000,0.000000,0.00,ok,
aws.bedrock,qwen.qwen3-32b-v1,input,2026-11-03,0.150000,0.150000,0.000000,0.00,ok,
aws.bedrock,qwen.qwen3-32b-v1,output,2026-11-03,0.120000,0.120000,0.000000,0.00,ok,
azure,gpt-4o-mini,input,2026-11-02,0.300000,0.300000,0.000000,0.00,ok,
azure,gpt-4o-mini,cache_read,2026-11-02,0.075000,0.075000,0.000000,0.00,ok,
azure,gpt-4o-mini,output,2026-11-02,0.120000,0.120000,0.000000,0.00,ok,
azure,gpt-5.4-mini,input,2026-11-03,0.750000,0.750000,0.000000,0.00,ok,
azure,gpt-5.4-mini,output,2026-11-03,0.450000,0.450000,0.000000,0.00,ok,
google,claude-sonnet-4-6,input,2026-11-03,3.000000,3.000000,0.000000,0.00,ok,
google,claude-sonnet-4-6,cache_read,2026-11-03,0.150000,0.150000,0.000000,0.00,ok,
google,claude-sonnet-4-6,output,2026-11-03,1.500000,1.500000,0.000000,0.00,ok,
google,gemini-2.5-flash,input,2026-11-02,0.300000,0.300000,0.000000,0.00,ok,
google,gemini-2.5-flash,output,2026-11-02,0.250000,0.250000,0.000000,0.00,ok,
aws,(other services),,,,0.250000,,,not_usage,service
aws.bedrock,USE1-anthropic.claude-opus-5-5-reserved-1-month-input-tokens-per-minute,,2026-11-03,,10.000000,,,fixed,\"not per token (provisioned throughput, capacity, storage, custom models): billed, not compared with usage\"
gcp,(other services),,,,0.420000,,,not_usage,service
(usage total),,,,15.505000,15.505000,0.000000,0.00,ok,
(invoice total),,,,,26.175000,,,not_usage,usage and every other line of the bill
";

#[test]
fn every_cloud_bill_reconciles_to_the_usage_it_charges() {
    let wd = cloud("cloud-bills-ok");
    for (usage, bill) in [
        ("usage/aws.csv", "aws-cur2.csv"),
        ("usage/aws.csv", "aws-legacy-cur.csv"),
        ("usage/gcp.csv", "gcp-billing.jsonl"),
        ("usage/azure.csv", "azure-ea.csv"),
    ] {
        wd.run(&reconcile(usage, bill, &[]));
        let csv = wd.read("out/reconciliation.csv");
        assert!(
            !csv.contains(",drift,") && !csv.contains("missing_in"),
            "{bill}:\n{csv}"
        );
    }
    wd.run(&reconcile("usage", "focus.csv", &[]));
    assert_eq!(wd.read("out/reconciliation.csv"), FOCUS_RECONCILIATION);
    // Every native bill at once: the same lines as the FOCUS export, with
    // each bill's own credits and tax beside them.
    let all = ["aws-cur2.csv", "gcp-billing.jsonl", "azure-ea.csv"];
    let mut args = vec!["reconcile", "--usage", "usage", "--out", "out", "--invoice"];
    args.extend(all);
    let summary = wd.run(&[args.as_slice(), &["--json"]].concat());
    assert!(
        summary.contains("\"invoiced_usage_usd\": \"15.505000\""),
        "{summary}"
    );
    assert!(
        summary.contains("\"fixed_usd\": \"10.000000\""),
        "{summary}"
    );
}

#[test]
fn a_two_percent_change_fails_naming_meter_model_token_type_and_day() {
    let wd = cloud("cloud-bills-drift");
    let bill = wd.read("aws-cur2.csv");
    let changed = bill.replace(
        "USE1-Claude4.6Sonnet-output-tokens,Usage,AmazonBedrock,1.65,",
        "USE1-Claude4.6Sonnet-output-tokens,Usage,AmazonBedrock,1.683,",
    );
    assert_ne!(bill, changed, "the premise: the row is there");
    wd.write("aws-cur2.csv", &changed);
    let out = wd.output(&reconcile("usage/aws.csv", "aws-cur2.csv", &[]));
    assert_eq!(out.status.code(), Some(1));
    let csv = wd.read("out/reconciliation.csv");
    let line = csv
        .lines()
        .find(|l| l.contains(",drift,"))
        .expect("a drift line");
    assert!(
        line.starts_with(
            "aws.bedrock,anthropic.claude-sonnet-4-6-v1,output,2026-11-02,1.650000,1.683000,-0.033000,-1.96,drift"
        ),
        "{line}"
    );
}

#[test]
fn a_model_name_nothing_reads_fails_until_a_meter_entry_names_it() {
    let wd = cloud("cloud-bills-unmapped");
    let renamed = wd
        .read("aws-cur2.csv")
        .replace("Claude4.6Sonnet-", "Claude4.6SonnetNext-");
    wd.write("aws-cur2.csv", &renamed);
    let out = wd.output(&reconcile("usage/aws.csv", "aws-cur2.csv", &[]));
    assert_eq!(out.status.code(), Some(1));
    let csv = wd.read("out/reconciliation.csv");
    let unmapped: Vec<&str> = csv
        .lines()
        .filter(|l| l.contains(",unmapped_meter,"))
        .collect();
    assert_eq!(unmapped.len(), 3, "{csv}");
    assert!(
        unmapped[0].starts_with("aws.bedrock,USE1-Claude4.6SonnetNext-cache-read-input-token-count,,2026-11-02,,0.660000,,,unmapped_meter,")
            && unmapped[0].contains("the bill names model \"\"Claude4.6SonnetNext\"\""),
        "{}",
        unmapped[0]
    );
    wd.write(
        "pricing.toml",
        "extends = \"built-in\"\nversion = \"t\"\ncurrency = \"USD\"\n\n[[model]]\n\
         provider = \"aws.bedrock\"\nmatch = [\"unused-model\"]\neffective_from = 2020-01-01\n\
         input = 1\noutput = 1\ncache_read = 1\ncache_write_5m = 1\ncache_write_1h = 1\n\n\
         [[meter]]\ncloud = \"aws\"\nnames = [\"Claude4.6SonnetNext\"]\n\
         model = \"anthropic.claude-sonnet-4-6-v1\"\n",
    );
    wd.run(&reconcile(
        "usage/aws.csv",
        "aws-cur2.csv",
        &["--pricing", "pricing.toml"],
    ));
}

#[test]
fn a_bill_in_another_currency_needs_the_rate_it_was_billed_at() {
    let wd = cloud("cloud-bills-currency");
    let stderr = wd.fail(&reconcile("usage/azure.csv", "azure-ea-eur.csv", &[]), 2);
    assert!(
        stderr.contains("azure-ea-eur.csv:2") && stderr.contains("--fx EUR="),
        "{stderr}"
    );
    wd.run(&reconcile(
        "usage/azure.csv",
        "azure-ea-eur.csv",
        &["--fx", "EUR=0.92"],
    ));
    let stderr = wd.fail(
        &reconcile("usage/azure.csv", "azure-ea-eur.csv", &["--fx", "EUR"]),
        2,
    );
    assert!(stderr.contains("expected CUR=RATE"), "{stderr}");
}

#[test]
fn a_meter_entry_must_name_a_model_the_table_prices() {
    let wd = cloud("cloud-bills-meter-entry");
    wd.write(
        "pricing.toml",
        "extends = \"built-in\"\nversion = \"t\"\ncurrency = \"USD\"\n\n[[model]]\n\
         provider = \"google\"\nmatch = [\"unused-model\"]\neffective_from = 2020-01-01\n\
         input = 1\noutput = 1\ncache_read = 1\ncache_write_5m = 1\ncache_write_1h = 1\n\n\
         [[meter]]\ncloud = \"gcp\"\nnames = [\"Gemini 9\"]\nmodel = \"gemini-9\"\n",
    );
    let args = reconcile(
        "usage/gcp.csv",
        "gcp-billing.jsonl",
        &["--pricing", "pricing.toml"],
    );
    let stderr = wd.fail(&args, 2);
    assert!(
        stderr.contains(
            "pricing.toml:15: [[meter]] names model \"gemini-9\", which no google entry prices"
        ),
        "{stderr}"
    );
}

/// The model each real Azure AI meter of a FOCUS dataset names, as the
/// built-in table resolves it; the other meter is another service's.
#[test]
fn real_azure_ai_meters_name_priced_models() {
    let table = PriceTable::parse(BUILTIN, "built-in").unwrap();
    let text = std::fs::read_to_string(real("azure-focus-ai-meter-daily-costs.csv")).unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2025, 3, 28).unwrap();
    let mut seen: Vec<(String, Option<(String, String)>)> = Vec::new();
    for line in text.lines().skip(1) {
        let meter = line.rsplit(',').next().unwrap();
        let resolved = match meters::azure(meter) {
            Read::Usage {
                model, qualifiers, ..
            } => table.resolve(Cloud::Azure, &model, &qualifiers, day),
            other => {
                assert_eq!((meter, other), ("Standard Text Records", Read::Unknown));
                continue;
            }
        };
        if !seen.iter().any(|(m, _)| m == meter) {
            seen.push((meter.to_string(), resolved));
        }
    }
    seen.sort();
    let named = |model: &str| Some(("azure".to_string(), model.to_string()));
    assert_eq!(
        seen,
        vec![
            ("R1 Inp glbl Tokens".into(), named("deepseek-r1")),
            ("R1 Outp glbl Tokens".into(), named("deepseek-r1")),
            (
                "gpt 4o 0513 Input global Tokens".into(),
                named("gpt-4o-2024-05-13")
            ),
            (
                "gpt 4o 0513 Output global Tokens".into(),
                named("gpt-4o-2024-05-13")
            ),
            (
                "gpt-4o-mini-0718-Inp-glbl Tokens".into(),
                named("gpt-4o-mini-2024-07-18")
            ),
            (
                "gpt-4o-mini-0718-Outp-glbl Tokens".into(),
                named("gpt-4o-mini-2024-07-18")
            ),
        ]
    );
}

/// Real anonymised exports without model rows: every line is another
/// service's, or tax, and a bill in CAD needs its rate.
#[test]
fn real_cur_and_azure_export_shapes_read_as_other_services() {
    let table = PriceTable::parse(BUILTIN, "built-in").unwrap();
    let read = |name: &str, fx: &[(String, Decimal)]| {
        let path = real(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let context = Context {
            currency: "USD",
            fx,
            names: &table,
        };
        let mut skips = tokenledger::error::Skips::new(false);
        parse_text(Path::new(name), &text, None, 0, &context, &mut skips)
    };
    let (format, lines) = read("aws-legacy-cur-shape.csv", &[]).unwrap();
    assert_eq!(format.name(), "aws-cur");
    let kinds: Vec<(Charge, &str)> = lines
        .iter()
        .map(|l| (l.charge, l.provider.as_str()))
        .collect();
    assert_eq!(kinds, vec![(Charge::Service, "aws"), (Charge::Tax, "aws")]);
    let error = read("azure-ea-2023-12-export-shape.csv", &[])
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(":2: ") && error.contains("--fx CAD="),
        "{error}"
    );
    let cad = [("CAD".to_string(), Decimal::new(135, 2))];
    let (format, lines) = read("azure-ea-2023-12-export-shape.csv", &cad).unwrap();
    assert_eq!(format.name(), "azure-cost-export");
    assert!(lines
        .iter()
        .all(|l| l.charge == Charge::Service && l.provider == "azure"));
    assert_eq!(
        lines[0].amount,
        Decimal::new(305367, 9) / Decimal::new(135, 2)
    );
}
