//! A Google Cloud bill's model rows under each service that sells them:
//! the Gemini API's (`Generate content … token count …` SKUs) are compared
//! with the usage as Vertex AI's are, never filed as another service, which
//! the gate passes over.

use crate::workdir::Workdir;

#[test]
fn gemini_api_rows_are_model_usage_not_another_service() {
    let wd = Workdir::new("gemini-api-bill");
    wd.write(
        "u.csv",
        "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n\
         f1,2026-11-02T09:30:00Z,google,gemini-2.5-flash,1000000,0,0,0,100000,false\n",
    );
    let row = |sku: &str, cost: &str| {
        format!(
            "{{\"service\":{{\"description\":\"Gemini API\"}},\"sku\":{{\"description\":\"{sku}\"}},\"usage_start_time\":\"2026-11-02 09:00:00 UTC\",\"usage_end_time\":\"2026-11-02 10:00:00 UTC\",\"cost\":{cost},\"currency\":\"USD\",\"credits\":[],\"invoice\":{{\"month\":\"202611\"}},\"cost_type\":\"regular\"}}\n"
        )
    };
    let bill = row(
        "Generate content input token count gemini 2.5 flash text",
        "0.30",
    ) + &row(
        "Generate content output token count gemini 2.5 flash text",
        "0.25",
    ) + &row("Cached content storage token hours", "0.02");
    wd.write("bill.jsonl", &bill);
    wd.run(&[
        "reconcile",
        "--usage",
        "u.csv",
        "--invoice",
        "bill.jsonl",
        "--period",
        "2026-11",
        "--out",
        "out",
    ]);
    let csv = wd.read("out/reconciliation.csv");
    assert!(
        csv.contains(
            "google,gemini-2.5-flash,input,2026-11-02,0.300000,0.300000,0.000000,0.00,ok,"
        ) && csv.contains(
            "google,gemini-2.5-flash,output,2026-11-02,0.250000,0.250000,0.000000,0.00,ok,"
        ),
        "{csv}"
    );
    assert!(!csv.contains("(other services)"), "{csv}");
}
