//! Under `--true-up`, each of a record's charges is billed at its own
//! invoice line's factor in `focus.csv`: two per-request charges of one
//! record (web search, file search) trued up by different factors keep
//! their own billed amounts (they were blended, pro rata to list fees).

use crate::workdir::{csv_rows, micros, Workdir};

#[test]
fn each_per_request_charge_is_billed_at_its_own_lines_factor() {
    let wd = Workdir::new("true-up-charges");
    wd.write(
        "usage.csv",
        "timestamp,request_id,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch,web_search_requests,file_search_requests
2025-06-10T09:00:00Z,resp-1,openai,o3-deep-research,100000,0,0,0,10000,false,1000,1000
2025-06-11T09:00:00Z,resp-2,openai,o3-deep-research,100000,0,0,0,10000,false,1000,1000
",
    );
    // Web search computed $20, billed $20.09; file search $5, billed $4.98.
    wd.write(
        "invoice.csv",
        "provider,model,token_type,amount_usd,charge_category,description
openai,o3-deep-research,input,2.00,,
openai,o3-deep-research,output,0.80,,
openai,o3-deep-research,web_search_requests,20.09,,
openai,o3-deep-research,file_search_requests,4.98,,
",
    );
    wd.write("spans/none.json", r#"{"resourceSpans":[]}"#);
    let args = ["report", "--spans", "spans", "--usage", "usage.csv"];
    let flags = [
        "--invoice",
        "invoice.csv",
        "--true-up",
        "--period",
        "2025-06",
    ];
    wd.run(
        &[
            &args[..],
            &flags,
            &["--min-match", "0", "--out", "out", "--quiet"],
        ]
        .concat(),
    );
    let rows = csv_rows(&wd.read("out/focus.csv"));
    let column = |name: &str| rows[0].iter().position(|c| c == name).unwrap();
    let (meter, billed) = (column("SkuMeter"), column("BilledCost"));
    let mut sums = std::collections::BTreeMap::new();
    for row in &rows[1..] {
        *sums.entry(row[meter].clone()).or_insert(0) += micros(&row[billed]);
    }
    // It was web_search 20.056, file_search 5.014.
    let want = [
        ("file_search", 4_980_000),
        ("input", 2_000_000),
        ("output", 800_000),
        ("web_search", 20_090_000),
    ];
    let want = want.map(|(m, v)| (m.to_string(), v)).into_iter().collect();
    assert_eq!(sums, want);
}
