//! A CSV a spreadsheet saved again is read exactly or refused, never
//! misread: a bill's dates written `11/2/2026 0:00` or `02/11/2026` (which
//! may be day first), a usage report's Excel serial date or missing count
//! column, a LiteLLM dump without its `metadata`, headers padded or in
//! other case.

use crate::workdir::Workdir;

const CUR_HEADER: &str =
    "line_item_usage_start_date,line_item_usage_end_date,line_item_product_code,\
line_item_line_item_type,line_item_usage_type,line_item_unblended_cost,line_item_currency_code\n";

const USAGE: &str = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,\
cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n\
br-1,2026-11-02T09:00:00Z,aws.bedrock,anthropic.claude-sonnet-4-6-v1,1000000,0,0,0,0,false\n";

#[test]
fn a_bills_spreadsheet_dates_are_refused_not_read_month_first() {
    let wd = Workdir::new("excel-cur");
    wd.write("usage.csv", USAGE);
    let args = ["reconcile", "--usage", "usage.csv", "--invoice", "cur.csv"];
    for (start, end) in [
        ("11/2/2026 0:00", "11/3/2026 0:00"),
        ("02/11/2026", "03/11/2026"),
    ] {
        let row = format!(
            "{start},{end},AmazonBedrock,Usage,USE1-Claude4.6Sonnet-input-tokens,3.30,USD\n"
        );
        wd.write("cur.csv", &format!("{CUR_HEADER}{row}"));
        let stderr = wd.fail(&args, 2);
        assert!(
            stderr.contains(&format!(
                "cur.csv:2: line_item_usage_start_date: expected a date, got \"{start}\" (a bill \
                 writes YYYY-MM-DD: was it saved again by a spreadsheet?"
            )),
            "{stderr}"
        );
    }
    let iso = "2026-11-02T00:00:00Z,2026-11-03T00:00:00Z,AmazonBedrock,Usage,\
               USE1-Claude4.6Sonnet-input-tokens,3.30,USD\n";
    wd.write("cur.csv", &format!("{CUR_HEADER}{iso}"));
    assert!(wd.run(&args).contains("reconciliation ok"));
}

#[test]
fn a_usage_reports_serial_date_or_lost_column_is_refused_and_padded_headers_read() {
    let wd = Workdir::new("excel-provider-usage");
    wd.write("usage.csv", USAGE);
    wd.write("cur.csv", &format!("{CUR_HEADER}2026-11-02T00:00:00Z,2026-11-03T00:00:00Z,AmazonBedrock,Usage,USE1-Claude4.6Sonnet-input-tokens,3.30,USD\n"));
    let header = "usage_date_utc,model_version,usage_input_tokens_no_cache,\
                  usage_input_tokens_cache_write_5m,usage_input_tokens_cache_write_1h,\
                  usage_input_tokens_cache_read,usage_output_tokens";
    let args = [
        "reconcile",
        "--usage",
        "usage.csv",
        "--invoice",
        "cur.csv",
        "--provider-usage",
        "report.csv",
        "--out",
        "out",
    ];
    wd.write(
        "report.csv",
        &format!("{header}\n45962,claude-sonnet-4-6,10,0,0,0,5\n"),
    );
    let stderr = wd.fail(&args, 2);
    assert!(stderr.contains("usage_date_utc: expected a date or unix seconds from 2000 to 2099, got \"45962\" (a spreadsheet's serial date?"), "{stderr}");
    let without_output = header.replace(",usage_output_tokens", "");
    wd.write(
        "report.csv",
        &format!("{without_output}\n2026-11-02,claude-sonnet-4-6,10,0,0,0\n"),
    );
    let stderr = wd.fail(&args, 2);
    assert!(
        stderr.contains("report.csv:1: the usage CSV's header lacks usage_output_tokens"),
        "{stderr}"
    );
    // An export of before 1-hour caching: one cache write column.
    let single = header.replace(
        "usage_input_tokens_cache_write_5m,usage_input_tokens_cache_write_1h",
        "usage_input_tokens_cache_write",
    );
    wd.write(
        "report.csv",
        &format!("{single}\n2026-11-02,claude-sonnet-4-6,10,0,0,5\n"),
    );
    wd.run(&args);
    // A padded last column is the column.
    let padded = format!("{header} \n2026-11-02,claude-sonnet-4-6,10,0,0,0,5\n");
    wd.write("report.csv", &padded);
    wd.run(&args);
    let coverage = wd.read("out/coverage.csv");
    assert!(coverage.contains(",output,0,5,-5,0.00"), "{coverage}");
}

#[test]
fn a_litellm_dump_without_metadata_is_refused_and_invoice_headers_read_in_any_case() {
    let wd = Workdir::new("excel-litellm");
    wd.write(
        "logs.csv",
        "request_id,spend,prompt_tokens,completion_tokens,startTime,model,custom_llm_provider,status\n\
         r1,0.01,3000,500,2025-06-10 09:00:00,claude-sonnet-4-20250514,anthropic,success\n",
    );
    let stderr = wd.fail(&["pricing", "check", "--usage", "logs.csv"], 2);
    assert!(
        stderr.contains("logs.csv: the spend logs CSV's header lacks metadata"),
        "{stderr}"
    );
    // An invoice CSV's header capitalised: its days are still its days.
    wd.write("usage.csv", USAGE);
    wd.write(
        "invoice.csv",
        "Provider,Model,Token_Type,Amount_USD,Period_Start,Period_End
         aws.bedrock,anthropic.claude-sonnet-4-6-v1,input,3.30,2026-11-02,2026-11-02
",
    );
    let stdout = wd.run(&[
        "reconcile",
        "--usage",
        "usage.csv",
        "--invoice",
        "invoice.csv",
    ]);
    assert!(stdout.contains("(1 lines compared per UTC day"), "{stdout}");
}
