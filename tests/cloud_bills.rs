//! Cloud bills (AWS CUR, Google Cloud billing export, Azure cost export,
//! FOCUS, a FOCUS 1.3 Marketplace row of its host cloud) reconcile to the
//! usage they charge, line by line; a changed amount or a meter nothing
//! reads fails.
//! The bills in `tests/fixtures/cloud/` are written by its `generate.py`.

use std::path::Path;

use rust_decimal::Decimal;
use tokenledger::price::{PriceTable, BUILTIN};
use tokenledger::read::invoice::meters::{self, Cloud, ModelNames, Read};
use tokenledger::read::invoice::{parse_text, Charge, Context};

use crate::workdir::{fixture, real, Workdir};

/// A workdir holding the cloud usage (`usage/`) and bills.
pub fn cloud(name: &str) -> Workdir {
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

pub fn reconcile<'a>(usage: &'a str, bill: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
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
provider,model,token_type,day,computed_usd,invoiced_usd,list_usd,delta_usd,delta_pct,status,diagnosis
aws.bedrock,anthropic.claude-sonnet-4-6-v1,input,2026-11-02,3.300000,3.300000,3.300000,0.000000,0.00,ok,
aws.bedrock,anthropic.claude-sonnet-4-6-v1,input,2026-11-03,1.320000,1.320000,1.320000,0.000000,0.00,ok,
aws.bedrock,anthropic.claude-sonnet-4-6-v1,cache_read,2026-11-02,0.660000,0.660000,0.660000,0.000000,0.00,ok,
aws.bedrock,anthropic.claude-sonnet-4-6-v1,output,2026-11-02,1.650000,1.650000,1.650000,0.000000,0.00,ok,
aws.bedrock,anthropic.claude-sonnet-4-6-v1,output,2026-11-03,0.660000,0.660000,0.660000,0.000000,0.00,ok,
aws.bedrock,global.anthropic.claude-haiku-4-5-20251001-v1,input,2026-11-02,0.500000,0.500000,0.500000,0.000000,0.00,ok,
aws.bedrock,global.anthropic.claude-haiku-4-5-20251001-v1,output,2026-11-02,0.250000,0.250000,0.250000,0.000000,0.00,ok,
aws.bedrock,qwen.qwen3-32b-v1,input,2026-11-03,0.150000,0.150000,0.150000,0.000000,0.00,ok,
aws.bedrock,qwen.qwen3-32b-v1,output,2026-11-03,0.120000,0.120000,0.120000,0.000000,0.00,ok,
azure,gpt-4o-mini,input,2026-11-02,0.300000,0.300000,0.300000,0.000000,0.00,ok,
azure,gpt-4o-mini,cache_read,2026-11-02,0.075000,0.075000,0.075000,0.000000,0.00,ok,
azure,gpt-4o-mini,output,2026-11-02,0.120000,0.120000,0.120000,0.000000,0.00,ok,
azure,gpt-5.4-mini,input,2026-11-03,0.750000,0.750000,0.750000,0.000000,0.00,ok,
azure,gpt-5.4-mini,output,2026-11-03,0.450000,0.450000,0.450000,0.000000,0.00,ok,
google,claude-sonnet-4-6,input,2026-11-03,3.000000,3.000000,3.000000,0.000000,0.00,ok,
google,claude-sonnet-4-6,cache_read,2026-11-03,0.150000,0.150000,0.150000,0.000000,0.00,ok,
google,claude-sonnet-4-6,output,2026-11-03,1.500000,1.500000,1.500000,0.000000,0.00,ok,
google,gemini-2.5-flash,input,2026-11-02,0.300000,0.300000,0.300000,0.000000,0.00,ok,
google,gemini-2.5-flash,output,2026-11-02,0.250000,0.250000,0.250000,0.000000,0.00,ok,
aws,(other services),,,,0.250000,,,,not_usage,service
aws.bedrock,USE1-anthropic.claude-opus-5-5-reserved-1-month-input-tokens-per-minute,,2026-11-03,,10.000000,,,,fixed,\"not per token (provisioned throughput, capacity, storage, custom models) of anthropic.claude-opus-5-5: billed, not compared with usage\"
gcp,(other services),,,,0.420000,,,,not_usage,service
(usage total),,,,15.505000,15.505000,,0.000000,0.00,ok,
(invoice total),,,,,26.175000,,,,not_usage,usage and every other line of the bill
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

/// Real anonymised exports without model rows: every line, tax too, is
/// another service's, and a bill in CAD needs its rate.
#[test]
fn real_cur_and_azure_export_shapes_read_as_other_services() {
    let table = PriceTable::parse(BUILTIN, "built-in").unwrap();
    let read = |name: &str, fx: &[(String, Decimal)]| {
        let path = real(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let context = Context::new("USD", fx, &table);
        let mut skips = tokenledger::error::Skips::new(false);
        parse_text(Path::new(name), &text, None, 0, &context, &mut skips)
    };
    let (format, lines) = read("aws-legacy-cur-shape.csv", &[]).unwrap();
    assert_eq!(format.name(), "aws-cur");
    let kinds: Vec<(Charge, &str)> = lines
        .iter()
        .map(|l| (l.charge, l.provider.as_str()))
        .collect();
    // The tax row names its product (`Tax for product code AWSCloudTrail`):
    // it is CloudTrail's, on the other services' line, not the models'.
    assert_eq!(
        kinds,
        vec![(Charge::Service, "aws"), (Charge::Service, "aws")]
    );
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
    // Held to 18 places, so sums do not depend on the order of the lines.
    let converted = Decimal::new(305367, 9) / Decimal::new(135, 2);
    assert_eq!(lines[0].amount, converted.round_dp(18));
}

/// A bad or empty amount is named by the column the bill has (a legacy
/// CUR's `lineItem/UnblendedCost`), not by another format's spelling.
#[test]
fn a_bad_amount_names_the_column_the_bill_has() {
    let table = PriceTable::parse(BUILTIN, "built-in").unwrap();
    let text = std::fs::read_to_string(real("aws-legacy-cur-shape.csv")).unwrap();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let header = rows.headers().unwrap().clone();
    let cost = header
        .iter()
        .position(|h| h == "lineItem/UnblendedCost")
        .unwrap();
    let first: Vec<String> = rows
        .records()
        .next()
        .unwrap()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let error = |amount: &str| {
        let mut out = csv::Writer::from_writer(Vec::new());
        out.write_record(&header).unwrap();
        let mut row = first.clone();
        row[cost] = amount.to_string();
        out.write_record(&row).unwrap();
        let text = String::from_utf8(out.into_inner().unwrap()).unwrap();
        let context = Context::new("USD", &[], &table);
        let mut skips = tokenledger::error::Skips::new(false);
        let path = Path::new("cur.csv");
        parse_text(path, &text, None, 0, &context, &mut skips)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        error("3,30"),
        "cur.csv:2: lineItem/UnblendedCost: expected a decimal amount, got \"3,30\""
    );
    assert_eq!(error(""), "cur.csv:2: lineItem/UnblendedCost is empty");
}

#[test]
fn report_trues_each_record_up_to_its_cloud_line() {
    let wd = cloud("cloud-bills-true-up");
    let changed = wd.read("aws-cur2.csv").replace(
        "USE1-Claude4.6Sonnet-output-tokens,Usage,AmazonBedrock,1.65,",
        "USE1-Claude4.6Sonnet-output-tokens,Usage,AmazonBedrock,1.683,",
    );
    wd.write("aws-cur2.csv", &changed);
    wd.write("spans/none.json", "{\"resourceSpans\":[]}");
    wd.run(&[
        "report",
        "--spans",
        "spans",
        "--usage",
        "usage/aws.csv",
        "--invoice",
        "aws-cur2.csv",
        "--true-up",
        "--tolerance",
        "5",
        "--min-match",
        "0",
        "--out",
        "out",
        "--quiet",
    ]);
    // Sonnet's output on 2026-11-02 was billed 2 % over its computed $1.65.
    let by_model = wd.read("out/by_model.csv");
    let sonnet = by_model
        .lines()
        .find(|l| l.starts_with("anthropic.claude-sonnet-4-6-v1,"))
        .unwrap();
    assert!(
        sonnet.ends_with(",7.590000,88.15,0.5882,7.623000"),
        "{sonnet}"
    );
}

/// Every meter spelling seen on a real bill, price list or catalog for a
/// model the built-in table prices (docs/cloud-bills.md; the evidence for
/// each is in the research notes it cites) reads to that model.
#[test]
fn every_seen_meter_spelling_reads_to_its_priced_model() {
    let table = PriceTable::parse(BUILTIN, "built-in").unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
    let bedrock = |meter: &str, product: Option<&str>| meters::aws(meter, product);
    let mut cases: Vec<(Cloud, Read, &str)> = vec![
        (Cloud::Aws, bedrock("USE2-NovaMicro-input-tokens", None), "amazon.nova-micro-v1"),
        (Cloud::Aws, bedrock("EUW2-NovaLite-output-tokens", None), "amazon.nova-lite-v1"),
        (Cloud::Aws, bedrock("USE1-NovaPro-input-tokens-latency-optimized", None), "amazon.nova-pro-v1"),
        (Cloud::Aws, bedrock("USE1-NovaPremier-cache-read-input-token-count", None), "amazon.nova-premier-v1"),
        (Cloud::Aws, bedrock("USE1-NovaSonic-speech-input-tokens", None), "amazon.nova-sonic-v1"),
        (Cloud::Aws, bedrock("USE1-Claude3Haiku-input-tokens", None), "anthropic.claude-3-haiku-20240307-v1"),
        (Cloud::Aws, bedrock("USW2-Claude3Sonnet-input-tokens", None), "anthropic.claude-3-sonnet-20240229-v1"),
        (Cloud::Aws, bedrock("USE1-Claude3-5Haiku-input-tokens-latency-optimized", None), "anthropic.claude-3-5-haiku-20241022-v1"),
        (Cloud::Aws, bedrock("USE1-Claude4Sonnet-input-tokens-cross-region-global", None), "global.anthropic.claude-sonnet-4-20250514-v1"),
        (Cloud::Aws, bedrock("USE1-Claude4.5Sonnet-input-tokens-cross-region-global", None), "global.anthropic.claude-sonnet-4-5-20250929-v1"),
        (Cloud::Aws, bedrock("USE1-Claude4.5Haiku-input-tokens", None), "anthropic.claude-haiku-4-5-20251001-v1"),
        (Cloud::Aws, bedrock("USE1-anthropic.claude-haiku-4-5-mantle-cache-write-tokens-1h-standard", None), "anthropic.claude-haiku-4-5-20251001-v1"),
        (Cloud::Aws, bedrock("USE1-MP:USE1_InputTokenCount-Units", Some("Claude Haiku 4.5 (Amazon Bedrock Edition)")), "anthropic.claude-haiku-4-5-20251001-v1"),
        (Cloud::Aws, bedrock("USE1-Claude4.6Opus-output-tokens", None), "anthropic.claude-opus-4-6-v1"),
        (Cloud::Aws, bedrock("USE1-Claude4.6Sonnet-cache-read-input-token-count", None), "anthropic.claude-sonnet-4-6-v1"),
        (Cloud::Aws, bedrock("USE1-MP:USE1_CacheReadInputTokenCount-Units", Some("Claude Sonnet 4.6 (Amazon Bedrock Edition)")), "anthropic.claude-sonnet-4-6-v1"),
        (Cloud::Aws, bedrock("USE1-anthropic.claude-opus-5-mantle-cache-read-tokens-global-standard", None), "global.anthropic.claude-opus-5"),
        (Cloud::Aws, bedrock("USE1-anthropic.claude-opus-5-5-mantle-output-tokens-global-standard", None), "global.anthropic.claude-opus-5-5"),
        (Cloud::Aws, bedrock("USE1-DeepSeek-R1-input-tokens", None), "deepseek.r1-v1"),
        (Cloud::Aws, bedrock("USE1-Gemma-3-4B-IT-input-tokens-flex", None), "google.gemma-3-4b-it"),
        (Cloud::Aws, bedrock("USE1-Llama3-1-70B-input-tokens", None), "meta.llama3-1-70b-instruct-v1"),
        (Cloud::Aws, bedrock("USE1-Llama3-2-1B-output-tokens", None), "meta.llama3-2-1b-instruct-v1"),
        (Cloud::Aws, bedrock("USE1-Llama4-Maverick-17B-input-tokens-batch", None), "meta.llama4-maverick-17b-instruct-v1"),
        (Cloud::Aws, bedrock("USE1-Llama4-Scout-17B-output-tokens", None), "meta.llama4-scout-17b-instruct-v1"),
        (Cloud::Aws, bedrock("EUW2-Mistral7B-output-tokens", None), "mistral.mistral-7b-instruct-v0"),
        (Cloud::Aws, bedrock("USE1-MistralSmall-input-tokens-batch", None), "mistral.mistral-small-2402-v1"),
        (Cloud::Aws, bedrock("USW2-Mistral-Large-3-675b-Instruct-input-tokens-flex", None), "mistral.mistral-large-3-675b-instruct"),
        (Cloud::Aws, bedrock("USW2-mistral.mistral-large-3-675b-instruct-mantle-output-tokens-priority", None), "mistral.mistral-large-3-675b-instruct"),
        (Cloud::Aws, bedrock("USE1-gpt-oss-120b-output-tokens-priority", None), "openai.gpt-oss-120b-1"),
        (Cloud::Aws, bedrock("USW2-openai.gpt-oss-20b-mantle-input-tokens-standard", None), "openai.gpt-oss-20b-1"),
        (Cloud::Aws, bedrock("EU-Qwen3-32B-output-tokens-batch", None), "qwen.qwen3-32b-v1"),
        (Cloud::Aws, bedrock("USE1-qwen.qwen3-32b-mantle-input-tokens-standard", None), "qwen.qwen3-32b"),
        (Cloud::Aws, bedrock("EUW2-Qwen3Coder-30B-A3B-output-tokens", None), "qwen.qwen3-coder-30b-a3b-v1"),
        (Cloud::Aws, bedrock("EUW2-Qwen3-VL-235B-A22B-input-tokens", None), "qwen.qwen3-vl-235b-a22b-v1"),
        (Cloud::Gcp, meters::gcp("Gemini 2.5 Pro Text Input - Predictions", None), "gemini-2.5-pro"),
        (Cloud::Gcp, meters::gcp("Gemini 2.5 Pro Input Text Caching (Long)", None), "gemini-2.5-pro"),
        (Cloud::Gcp, meters::gcp("Gemini 2.5 Flash GA Thinking Text Output - Predictions", None), "gemini-2.5-flash"),
        (Cloud::Gcp, meters::gcp("Gemini 2.5 Flash Lite Input Text Caching", None), "gemini-2.5-flash-lite"),
        (Cloud::Gcp, meters::gcp("Gemini 2.0 Flash Text Input (Long) - Predictions", None), "gemini-2.0-flash"),
        (Cloud::Gcp, meters::gcp("Gemini 3.0 Pro Text Output", None), "gemini-3-pro-preview"),
        (Cloud::Gcp, meters::gcp("Gemini 3 Flash Text Input Caching", None), "gemini-3-flash-preview"),
        (Cloud::Gcp, meters::gcp("Gemini 3.7 Flash Global Text Input - Predictions", None), "gemini-3.7-flash"),
        (Cloud::Gcp, meters::gcp("Gemini 3.8 Flash Global Text Output", None), "gemini-3.8-flash"),
        (Cloud::Gcp, meters::gcp("Claude Sonnet 4.6 — Input Cache Read Tokens — global — Context Window Size from 0 to 200000 Tokens", None), "claude-sonnet-4-6"),
    ];
    cases.extend(rest_of_the_seen_meter_spellings());
    let mut wrong = Vec::new();
    for (cloud, read, want) in &cases {
        let got = match read {
            Read::Usage {
                model, qualifiers, ..
            } => table.resolve(*cloud, model, qualifiers, day),
            _ => None,
        };
        // Both named as reconciliation names them (`claude-sonnet-4.6` and
        // `claude-sonnet-4-6` are one entry's).
        let same = got.as_ref().is_some_and(|(provider, model)| {
            table.canonical_model(provider, model) == table.canonical_model(provider, want)
        });
        if !same {
            wrong.push(format!("{read:?}: {got:?}, want {want}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The table's rest: Google Cloud's other Claude SKUs and Azure's meters, with their models.
fn rest_of_the_seen_meter_spellings() -> Vec<(Cloud, Read, &'static str)> {
    vec![
        (Cloud::Gcp, meters::gcp("Claude Opus 4 8 — Input Cache Write Tokens (TTL 3600 seconds) — us-east5 — Context Window Size from 200001 to 1000000 Tokens", None), "claude-opus-4-8"),
        (Cloud::Gcp, meters::gcp("AI Dev Tools: Claude Opus 4.8 Output Tokens (Long)", None), "claude-opus-4-8"),
        (Cloud::Gcp, meters::gcp("Claude 3 Haiku Input Tokens", None), "claude-3-haiku"),
        (Cloud::Azure, meters::azure("gpt 4o 1120 cached Inp glbl Tokens"), "gpt-4o-2024-11-20"),
        (Cloud::Azure, meters::azure("gpt-4o-0806-Outp-regnl Tokens"), "gpt-4o-2024-08-06"),
        (Cloud::Azure, meters::azure("gpt 4.1 Inp glbl Tokens"), "gpt-4.1"),
        (Cloud::Azure, meters::azure("gpt 4.1 nano cached Inp glbl Tokens"), "gpt-4.1-nano"),
        (Cloud::Azure, meters::azure("o3 0416 Outp glbl Tokens"), "o3-2025-04-16"),
        (Cloud::Azure, meters::azure("o3-pro Inp glbl Tokens"), "o3-pro"),
        (Cloud::Azure, meters::azure("o4-mini 0416 Inp glbl Tokens"), "o4-mini-2025-04-16"),
        (Cloud::Azure, meters::azure("codex mini inp cchd glbl Tokens"), "codex-mini"),
        (Cloud::Azure, meters::azure("GPT 5 outpt Glbl 1M Tokens"), "gpt-5"),
        (Cloud::Azure, meters::azure("GPT 5 Mini Batch Inpt Glbl 1M Tokens"), "gpt-5-mini"),
        (Cloud::Azure, meters::azure("GPT 5.1 cd inp Gl 1M Tokens"), "gpt-5.1"),
        (Cloud::Azure, meters::azure("GPT 5.2 chat inp Gl 1M Tokens"), "gpt-5.2-chat"),
        (Cloud::Azure, meters::azure("5.4 opt Dz 1M Tokens"), "gpt-5.4"),
        (Cloud::Azure, meters::azure("5.4 pro inp Gl 1M Tokens"), "gpt-5.4-pro"),
        (Cloud::Azure, meters::azure("5.4 nano Inp Gl 1M Tokens"), "gpt-5.4-nano"),
        (Cloud::Azure, meters::azure("5.5 ShortCo inp Dz 1M Tokens"), "gpt-5.5"),
        (Cloud::Azure, meters::azure("5.6 luna ShortCo Cd Inp Std DZ 1M Tokens"), "gpt-5.6-luna"),
        (Cloud::Azure, meters::azure("5.6 sol ShortCo Cd Wr Std Gl 1M Tokens"), "gpt-5.6-sol"),
        (Cloud::Azure, meters::azure("gpt-oss-120B Inp glbl Tokens"), "gpt-oss-120b"),
        (Cloud::Azure, meters::azure("V4 Pro Inp DZ Tokens"), "deepseek-v4-pro"),
    ]
}

#[test]
fn period_keeps_a_bill_line_by_the_billing_period_the_bill_files_it_under() {
    let wd = cloud("cloud-bills-period");
    // On November's bill: a correction of October's usage. On December's:
    // a correction of November's. Only the first is November's bill.
    let focus = wd.read("focus.csv");
    let row = |amount: &str, period: (&str, &str), charged: (&str, &str)| {
        format!(
            "{amount},acct-1,USD,{}T00:00:00Z,{}T00:00:00Z,Usage,Correction,correction,{}T00:00:00Z,{}T00:00:00Z,{amount},{amount},AWS,AWS,AWS,AI and Machine Learning,Amazon Bedrock,USE1-Claude4.6Sonnet-input-tokens,AmazonBedrock,\n",
            period.1, period.0, charged.1, charged.0
        )
    };
    let october = row(
        "-2.00",
        ("2026-11-01", "2026-12-01"),
        ("2026-10-15", "2026-10-16"),
    );
    let december = row(
        "-5.00",
        ("2026-12-01", "2027-01-01"),
        ("2026-11-30", "2026-12-01"),
    );
    wd.write("focus.csv", &format!("{focus}{october}{december}"));
    let summary = wd.run(
        &[
            reconcile("usage", "focus.csv", &["--period", "2026-11"]),
            vec!["--json"],
        ]
        .concat(),
    );
    assert!(
        summary.contains("\"invoice_lines_out_of_period\": 1,"),
        "{summary}"
    );
    let csv = wd.read("out/reconciliation.csv");
    assert!(csv.contains("\n(invoice total),,,,,24.175000,"), "{csv}");
    // A usage line of another billing period's bill, dated in November,
    // is compared with November's usage as before: kept by its days.
    let usage_row = row(
        "3.30",
        ("2026-10-01", "2026-11-01"),
        ("2026-11-02", "2026-11-03"),
    )
    .replace(
        ",Correction,correction,",
        ",,USE1-Claude4.6Sonnet-input-tokens,",
    );
    assert!(usage_row.contains(",Usage,,"), "{usage_row}");
    wd.write(
        "focus.csv",
        &format!("{focus}{october}{december}{usage_row}"),
    );
    let args = reconcile("usage", "focus.csv", &["--period", "2026-11", "--json"]);
    let summary = String::from_utf8(wd.output(&args).stdout).unwrap();
    assert!(
        summary.contains("\"invoice_lines_out_of_period\": 1,"),
        "{summary}"
    );
    let csv = wd.read("out/reconciliation.csv");
    assert!(csv.contains("\n(invoice total),,,,,27.475000,"), "{csv}");
}

#[test]
fn reconciliation_lines_sum_exactly_to_its_totals() {
    let wd = Workdir::new("cloud-bills-rounding");
    let mut usage = String::from("request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n");
    let mut cur = String::from("bill_billing_entity,line_item_currency_code,line_item_line_item_type,line_item_product_code,line_item_unblended_cost,line_item_usage_start_date,line_item_usage_end_date,line_item_usage_type\n");
    // Three days of one output token each: $0.0000165 a day, $0.0000495.
    for day in 2..5 {
        usage += &format!("r{day},2026-11-0{day}T09:00:00Z,aws.bedrock,anthropic.claude-sonnet-4-6-v1,0,0,0,0,1,false\n");
        cur += &format!("AWS,USD,Usage,AmazonBedrock,0.0000165,2026-11-0{day}T00:00:00Z,2026-11-0{}T00:00:00Z,USE1-Claude4.6Sonnet-output-tokens\n", day + 1);
    }
    wd.write("u.csv", &usage);
    wd.write("cur.csv", &cur);
    wd.run(&reconcile("u.csv", "cur.csv", &["--quiet"]));
    let csv = wd.read("out/reconciliation.csv");
    let cells: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let sum = |col: usize| -> i128 {
        cells[..3]
            .iter()
            .map(|r| crate::workdir::micros(r[col]))
            .sum()
    };
    assert_eq!((sum(4), sum(5)), (50, 50), "{csv}");
    assert_eq!(
        (cells[3][4], cells[3][5], cells[4][5]),
        ("0.000050", "0.000050", "0.000050"),
        "{csv}"
    );
}

#[test]
fn a_focus_1_3_marketplace_row_is_of_its_host_cloud_not_its_seller() {
    // FOCUS 1.3: ServiceProviderName is the Marketplace seller (Anthropic),
    // HostProviderName and InvoiceIssuerName the cloud. Refused before.
    let wd = cloud("cloud-focus-1-3");
    wd.run(&reconcile("usage", "focus.csv", &[]));
    let before = wd.read("out/reconciliation.csv");
    let focus = wd.read("focus.csv").replacen(
        "ProviderName,PublisherName,InvoiceIssuerName",
        "ServiceProviderName,HostProviderName,InvoiceIssuerName",
        1,
    );
    assert!(focus.contains(",AWS,AWS,AWS,"));
    wd.write(
        "focus.csv",
        &focus.replace(",AWS,AWS,AWS,", ",Anthropic,AWS,AWS,"),
    );
    wd.run(&reconcile("usage", "focus.csv", &[]));
    assert_eq!(wd.read("out/reconciliation.csv"), before);
    // FOCUS 1.0: a reseller issues the invoice, its name "aws" as letters,
    // not a word (the Microsoft rows were read as AWS's).
    let original = std::fs::read_to_string(fixture("cloud/focus.csv")).unwrap();
    let resold = original.replace(
        ",Microsoft,Microsoft,Microsoft,",
        ",Microsoft,Microsoft,Dawson Ltd,",
    );
    assert_ne!(resold, original);
    wd.write("focus.csv", &resold);
    wd.run(&reconcile("usage", "focus.csv", &[]));
    assert_eq!(wd.read("out/reconciliation.csv"), before);
}
