//! A split of one model's line (its provisioned throughput, a credit on
//! its row) lands on that model's owners, not on the owners of its
//! provider's other models; a line of a model no usage is of falls back to
//! its provider's usage, with a warning. A model's usage under a
//! cross-region profile (`global.`) is that model's. A split by cost over
//! usage that costs nothing is spread by its requests, with a warning.

use crate::workdir::Workdir;

const USAGE: &str = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch,label.team
r1,2026-11-02T09:00:00Z,aws.bedrock,global.anthropic.claude-sonnet-4-6-v1,1100000,0,0,0,110000,false,search
r2,2026-11-02T10:00:00Z,aws.bedrock,anthropic.claude-haiku-4-5-20251001-v1,1000000,0,0,0,100000,false,batch
";

/// A CUR of the two models' usage, Sonnet's reserved capacity ($10), a
/// reservation of a Sonnet no usage is of ($2), a credit on Haiku's row
/// (-$0.60) and Bedrock's tax ($0.90).
const CUR: &str = "bill_billing_entity,line_item_currency_code,line_item_line_item_type,line_item_line_item_description,line_item_product_code,line_item_unblended_cost,line_item_usage_start_date,line_item_usage_end_date,line_item_usage_type
AWS,USD,Usage,,AmazonBedrock,3.30,2026-11-02T00:00:00Z,2026-11-03T00:00:00Z,USE1-Claude4.6Sonnet-input-tokens-cross-region-global
AWS,USD,Usage,,AmazonBedrock,1.65,2026-11-02T00:00:00Z,2026-11-03T00:00:00Z,USE1-Claude4.6Sonnet-output-tokens-cross-region-global
AWS,USD,Usage,,AmazonBedrock,1.10,2026-11-02T00:00:00Z,2026-11-03T00:00:00Z,USE1-Claude4.5Haiku-input-tokens
AWS,USD,Usage,,AmazonBedrock,0.55,2026-11-02T00:00:00Z,2026-11-03T00:00:00Z,USE1-Claude4.5Haiku-output-tokens
AWS,USD,Usage,,AmazonBedrock,10.00,2026-11-02T00:00:00Z,2026-11-03T00:00:00Z,USE1-Claude4.6Sonnet-reserved-1-month-input-tokens-per-minute
AWS,USD,Usage,,AmazonBedrock,2.00,2026-11-02T00:00:00Z,2026-11-03T00:00:00Z,USE1-Claude4.5Sonnet-reserved-1-month-input-tokens-per-minute
AWS,USD,Credit,AWS Activate credit,AmazonBedrock,-0.60,2026-11-01T00:00:00Z,2026-12-01T00:00:00Z,USE1-Claude4.5Haiku-input-tokens
AWS,USD,Credit,AWS Activate credit,AmazonBedrock,-0.40,2026-11-01T00:00:00Z,2026-12-01T00:00:00Z,USE1-Claude4.6Sonnet-input-tokens-cross-region-global
AWS,USD,Tax,Tax for product code AmazonBedrock,AmazonBedrock,0.90,2026-11-01T00:00:00Z,2026-12-01T00:00:00Z,
";

const ALLOCATION: &str = "[[rule]]
match = { \"label.team\" = \"search\" }
tenant = \"acme\"

[[rule]]
match = { \"label.team\" = \"batch\" }
tenant = \"hooli\"

[[split]]
match = { charge = \"fixed\" }
by = \"cost\"

[[split]]
match = { charge = \"credit\", model = \"anthropic.claude-haiku-4-5*\" }
by = \"requests\"

[[split]]
match = { charge = \"tax\" }
by = \"cost\"

[[split]]
match = { charge = \"credit\" }
by = \"cost\"
";

#[test]
fn a_models_fixed_line_and_credit_land_on_that_models_owners() {
    let wd = Workdir::new("model-splits");
    wd.write("spans/none.json", r#"{"resourceSpans":[]}"#);
    wd.write("usage.csv", USAGE);
    wd.write("cur.csv", CUR);
    wd.write("allocation.toml", ALLOCATION);
    wd.run(&[
        "report",
        "--spans",
        "spans",
        "--usage",
        "usage.csv",
        "--invoice",
        "cur.csv",
        "--allocation",
        "allocation.toml",
        "--min-match",
        "0",
        "--out",
        "out",
        "--quiet",
    ]);
    // Sonnet's $10 to acme, its only user (it went $7.50 / $2.50 by the
    // provider's cost); the $2 of a Sonnet nobody used by Bedrock's cost
    // ($1.50 / $0.50); Haiku's credit to hooli (it went -$0.30 / -$0.30 by
    // requests); the tax by Bedrock's cost ($0.675 / $0.225).
    let tenants: Vec<&str> = wd
        .read("out/allocation.csv")
        .leak()
        .lines()
        .filter(|l| l.starts_with("tenant,"))
        .collect();
    assert_eq!(
        tenants,
        [
            "tenant,acme,rule:1,4.95",
            "tenant,acme,split:1,11.5",
            "tenant,acme,split:3,0.675",
            "tenant,acme,split:4,-0.4",
            "tenant,hooli,rule:2,1.65",
            "tenant,hooli,split:1,0.5",
            "tenant,hooli,split:2,-0.6",
            "tenant,hooli,split:3,0.225",
        ]
    );
    // The lines keep their usage types and names as labels; the diagnosis
    // names each one's model (Sonnet's credit is of the global profile's
    // row, and its global usage owns it).
    let rec = wd.read("out/reconciliation.csv");
    for line in [
        "aws,AWS Activate credit,,,,-0.600000,,,split,split:2 (credit of anthropic.claude-haiku-4-5-20251001-v1)",
        "aws,AWS Activate credit,,,,-0.400000,,,split,split:4 (credit of global.anthropic.claude-sonnet-4-6-v1)",
        "aws.bedrock,USE1-Claude4.6Sonnet-reserved-1-month-input-tokens-per-minute,,2026-11-02,,10.000000,,,split,split:1 (fixed of anthropic.claude-sonnet-4-6-v1)",
    ] {
        assert!(rec.contains(&format!("\n{line}\n")), "{line}\n{rec}");
    }
    let summary = wd.read("out/summary.json");
    assert!(summary.contains("allocation.toml:9: split:1 spreads 1 line(s) of aws.bedrock model anthropic.claude-sonnet-4-5-20250929-v1 (2.00), which no usage of the month is of: they are spread over the owners of aws.bedrock's usage instead"), "{summary}");
}

/// A month's credit on the row of a model priced from the 10th is of that
/// model: its name resolves on the row's last day where not on its first
/// (it went to every Bedrock model's users, half to hooli's other model).
#[test]
fn a_months_credit_is_of_a_model_priced_from_later_in_the_month() {
    let wd = Workdir::new("model-splits-later");
    wd.write("spans/none.json", r#"{"resourceSpans":[]}"#);
    let entry = |model: &str, from: &str| {
        format!("[[model]]\nprovider = \"aws.bedrock\"\nmatch = [\"{model}\"]\neffective_from = {from}\ninput = 1\noutput = 2\ncache_read = 0.1\ncache_write_5m = 1.25\ncache_write_1h = 2\n")
    };
    let pricing = format!(
        "version = \"t\"\ncurrency = \"USD\"\n\n{}\n{}",
        entry("acme.newmodel", "2026-11-10"),
        entry("acme.oldmodel", "2023-01-01")
    );
    wd.write("pricing.toml", &pricing);
    wd.write("usage.csv", "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch,label.team
r1,2026-11-12T09:00:00Z,aws.bedrock,acme.newmodel,1000000,0,0,0,0,false,search
r2,2026-11-12T10:00:00Z,aws.bedrock,acme.oldmodel,3000000,0,0,0,0,false,batch
");
    wd.write("cur.csv", "bill_billing_entity,line_item_currency_code,line_item_line_item_type,line_item_line_item_description,line_item_product_code,line_item_unblended_cost,line_item_usage_start_date,line_item_usage_end_date,line_item_usage_type
AWS,USD,Usage,,AmazonBedrock,1.00,2026-11-12T00:00:00Z,2026-11-13T00:00:00Z,USE1-acme.newmodel-mantle-input-tokens-standard
AWS,USD,Usage,,AmazonBedrock,3.00,2026-11-12T00:00:00Z,2026-11-13T00:00:00Z,USE1-acme.oldmodel-mantle-input-tokens-standard
AWS,USD,Credit,AWS Activate credit,AmazonBedrock,-0.80,2026-11-01T00:00:00Z,2026-12-01T00:00:00Z,USE1-acme.newmodel-mantle-input-tokens-standard
");
    let split = "[[split]]\nmatch = { charge = \"credit\" }\nby = \"cost\"\n";
    wd.write(
        "allocation.toml",
        &ALLOCATION.replace(&ALLOCATION[ALLOCATION.find("[[split]]").unwrap()..], split),
    );
    let args = [
        "report",
        "--spans",
        "spans",
        "--usage",
        "usage.csv",
        "--invoice",
        "cur.csv",
    ];
    let flags = [
        "--pricing",
        "pricing.toml",
        "--allocation",
        "allocation.toml",
        "--min-match",
        "0",
    ];
    wd.run(&[&args[..], &flags, &["--out", "out", "--quiet"]].concat());
    let audit = wd.read("out/allocation.csv");
    let credit: Vec<&str> = audit
        .lines()
        .filter(|l| l.starts_with("tenant,") && l.contains("split"))
        .collect();
    assert_eq!(credit, ["tenant,acme,split:1,-0.8"], "{audit}");
}

#[test]
fn a_split_by_cost_over_usage_that_costs_nothing_is_spread_by_requests() {
    // A provider's $2 platform fee split by cost over two teams' usage of
    // a model priced at 0: spread over no one, it stayed `(unallocated)`
    // while the summary counted it spread, exit 0, nothing said.
    let wd = Workdir::handmade("free-split");
    let free = "extends = \"pricing.toml\"\nversion = \"free\"\ncurrency = \"USD\"\n[[model]]\n\
                provider = \"mistral\"\nmatch = [\"free-model\"]\neffective_from = 2025-01-01\n\
                input = 0\noutput = 0\ncache_read = 0\ncache_write_5m = 0\ncache_write_1h = 0\n";
    wd.write("free.toml", free);
    let usage = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch,label.team\n\
                 m-1,2025-06-11T00:00:00Z,mistral,free-model,100,0,0,0,10,false,alpha\n\
                 m-2,2025-06-11T00:00:00Z,mistral,free-model,100,0,0,0,10,false,beta\n";
    wd.write("free.csv", usage);
    let invoice = "provider,model,token_type,amount_usd,charge_category,description\nmistral,,,2.00,,Platform fee\n";
    wd.write("fee.csv", invoice);
    let rules = "[[rule]]\nmatch = { \"label.team\" = \"*\" }\ntenant = \"{label.team}\"\n\n\
                 [[split]]\nmatch = { provider = \"mistral\" }\nby = \"cost\"\n";
    wd.write("rules.toml", rules);
    let report = |usage: &str| {
        let args = [
            "report",
            "--spans",
            "spans",
            "--usage",
            usage,
            "--pricing",
            "free.toml",
        ];
        let more = ["--invoice", "fee.csv", "--allocation", "rules.toml"];
        let out = wd.output(&[&args[..], &more, &["--min-match", "0", "--out", "out"]].concat());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let stderr = report("free.csv");
    assert!(
        stderr.contains("rules.toml:5: split:1 is by cost, and the usage it would spread 1 line(s) over (2.00) costs nothing: spread by its requests instead"),
        "{stderr}"
    );
    let allocation = wd.read("out/allocation.csv");
    for tenant in ["alpha", "beta"] {
        let row = format!("\ntenant,{tenant},split:1,1\n");
        assert!(allocation.contains(&row), "{allocation}");
    }
    // Usage that costs something but has no owner yet is not said to cost
    // nothing (the line stays `(unallocated)`, as that usage does).
    wd.write("paid.csv", &usage.replace("free-model", "paid-model"));
    let paid = free
        .replace("free-model", "paid-model")
        .replace("input = 0\n", "input = 1\n");
    wd.write("free.toml", &paid);
    wd.write(
        "rules.toml",
        "[[split]]\nmatch = { provider = \"mistral\" }\nby = \"cost\"\n",
    );
    let stderr = report("paid.csv");
    assert!(!stderr.contains("costs nothing"), "{stderr}");
}
