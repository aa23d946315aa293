//! A cloud bill's model rows read as the bill means them: Google's under
//! the Gemini API service (`Generate content … token count …` SKUs) are
//! compared with the usage as Vertex AI's are, never filed as another
//! service, which the gate passes over; Bedrock's native cache writes,
//! which say no time-to-live, are compared and trued up with the 5-minute
//! and 1-hour writes together; a bill that states its quantity tells a
//! count short of it from a wrong rate.

use crate::workdir::Workdir;

#[test]
fn gemini_api_rows_are_model_usage_not_another_service() {
    // The same rows in Google's native export and in its FOCUS export: the
    // FOCUS reader filed them under another service until it shared the
    // native reader's test of a model service.
    let wd = Workdir::new("gemini-api-bill");
    wd.write(
        "u.csv",
        "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n\
         f1,2026-11-02T09:30:00Z,google,gemini-2.5-flash,1000000,0,0,0,100000,false\n",
    );
    let skus = [
        (
            "Generate content input token count gemini 2.5 flash text",
            "0.30",
        ),
        (
            "Generate content output token count gemini 2.5 flash text",
            "0.25",
        ),
        ("Cached content storage token hours", "0.02"),
    ];
    let native = skus.map(|(sku, cost)| {
        format!(
            "{{\"service\":{{\"description\":\"Gemini API\"}},\"sku\":{{\"description\":\"{sku}\"}},\"usage_start_time\":\"2026-11-02 09:00:00 UTC\",\"usage_end_time\":\"2026-11-02 10:00:00 UTC\",\"cost\":{cost},\"currency\":\"USD\",\"credits\":[],\"invoice\":{{\"month\":\"202611\"}},\"cost_type\":\"regular\"}}\n"
        )
    });
    let focus = skus.map(|(sku, cost)| {
        format!("{cost},USD,2026-12-01T00:00:00Z,2026-11-01T00:00:00Z,Usage,{sku},2026-11-03T00:00:00Z,2026-11-02T00:00:00Z,Google Cloud,Gemini API\n")
    });
    wd.write("bill.jsonl", &native.concat());
    wd.write(
        "focus.csv",
        &("BilledCost,BillingCurrency,BillingPeriodEnd,BillingPeriodStart,ChargeCategory,ChargeDescription,ChargePeriodEnd,ChargePeriodStart,ProviderName,ServiceName\n".to_string()
            + &focus.concat()),
    );
    for bill in ["bill.jsonl", "focus.csv"] {
        let args = [
            "reconcile",
            "--usage",
            "u.csv",
            "--invoice",
            bill,
            "--period",
            "2026-11",
            "--out",
            "out",
        ];
        wd.run(&args);
        let csv = wd.read("out/reconciliation.csv");
        assert!(
            csv.contains(
                "google,gemini-2.5-flash,input,2026-11-02,0.300000,0.300000,0.000000,0.00,ok,"
            ) && csv.contains(
                "google,gemini-2.5-flash,output,2026-11-02,0.250000,0.250000,0.000000,0.00,ok,"
            ),
            "{bill}: {csv}"
        );
        assert!(!csv.contains("(other services)"), "{bill}: {csv}");
    }
}

#[test]
fn bedrock_cache_writes_of_no_ttl_are_both_ttls_together() {
    // 1M 5-minute writes ($4.125) and 1M 1-hour writes ($6.60) billed in
    // one usage type: compared apart, the 5-minute line drifted, the 1-hour
    // one was missing from the bill, and the true-up billed $22.275 of a
    // $15.675 bill.
    let wd = Workdir::new("bedrock-cache-writes");
    wd.write(
        "u.csv",
        "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n\
         br-1,2026-11-02T09:00:00Z,aws.bedrock,anthropic.claude-sonnet-4-6-v1,1000000,0,1000000,1000000,100000,false\n",
    );
    let row = |cost: &str, usage_type: &str| {
        format!("AWS,USD,Usage,AmazonBedrock,{cost},2026-11-03T00:00:00.000Z,2026-11-02T00:00:00.000Z,USE1-Claude4.6Sonnet-{usage_type}\n")
    };
    let cur = "bill_billing_entity,line_item_currency_code,line_item_line_item_type,line_item_product_code,line_item_unblended_cost,line_item_usage_end_date,line_item_usage_start_date,line_item_usage_type\n".to_string()
        + &row("3.30", "input-tokens")
        + &row("10.725", "cache-write-input-token-count")
        + &row("1.65", "output-tokens");
    wd.write("cur.csv", &cur);
    wd.write(
        "s.jsonl",
        "{\"name\":\"chat\",\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\",\"span_id\":\"00f067aa0ba902b7\",\"attributes\":{\"gen_ai.operation.name\":\"chat\",\"gen_ai.response.id\":\"br-1\",\"tenant.id\":\"acme\"}}\n",
    );
    let args = [
        "report",
        "--spans",
        "s.jsonl",
        "--usage",
        "u.csv",
        "--invoice",
        "cur.csv",
        "--true-up",
        "--period",
        "2026-11",
        "--out",
        "out",
    ];
    wd.run(&args);
    let csv = wd.read("out/reconciliation.csv");
    assert!(
        csv.contains(",cache_write,2026-11-02,10.725000,10.725000,0.000000,0.00,ok,"),
        "{csv}"
    );
    let by_tenant = wd.read("out/by_tenant.csv");
    assert!(by_tenant.contains(",15.675000,100.00,"), "{by_tenant}");
    assert!(
        by_tenant.trim_end().ends_with(",15.675000"),
        "billed: {by_tenant}"
    );
}

#[test]
fn a_bill_counting_more_tokens_at_the_tables_rate_names_missing_usage_not_a_rate() {
    // The CUR bills 1.1M and 2.2M input tokens at $3.30 per 1M, the table's
    // rate; the usage holds 1M and 2M. The diagnosis said "the input rate
    // looks wrong; the invoice implies $3.63": copied into the table, it
    // would hide the missing tenth of the requests every month after.
    let wd = Workdir::new("cur-quantities");
    wd.write(
        "u.csv",
        "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n\
         b1,2026-11-02T09:00:00Z,aws.bedrock,anthropic.claude-sonnet-4-6-v1,1000000,0,0,0,0,false\n\
         b2,2026-11-03T09:00:00Z,aws.bedrock,anthropic.claude-sonnet-4-6-v1,2000000,0,0,0,0,false\n",
    );
    let row = |cost: &str, amount: &str, day: u32| {
        format!("AWS,USD,Usage,AmazonBedrock,{cost},{amount},1K tokens,2026-11-{day:02}T00:00:00.000Z,2026-11-{:02}T00:00:00.000Z,USE1-Claude4.6Sonnet-input-tokens\n", day + 1)
    };
    let cur = "bill_billing_entity,line_item_currency_code,line_item_line_item_type,line_item_product_code,line_item_unblended_cost,line_item_usage_amount,pricing_unit,line_item_usage_start_date,line_item_usage_end_date,line_item_usage_type\n".to_string()
        + &row("3.63", "1100", 2)
        + &row("7.26", "2200", 3);
    wd.write("cur.csv", &cur);
    let args = [
        "reconcile",
        "--usage",
        "u.csv",
        "--invoice",
        "cur.csv",
        "--period",
        "2026-11",
        "--out",
        "out",
    ];
    wd.fail(&args, 1);
    let csv = wd.read("out/reconciliation.csv");
    assert!(
        csv.contains(
            ",input,2026-11-02,3.300000,3.630000,-0.330000,-9.09,drift,\"the invoice counts \
             1100000 tokens, the usage 1000000, at the rate the table charges (the invoice's \
             $3.3 per 1M tokens): usage records are missing"
        ),
        "{csv}"
    );
}
