//! Bad input: exit 2 with one message that names the file, the line and
//! what was expected; `--lenient` turns record errors into counted skips.

use crate::workdir::{Workdir, HANDMADE_REPORT as REPORT};

const HEADER: &str = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n";

/// A work dir holding the hand-made fleet, with `usage.csv` replaced when
/// `usage` is given.
fn fleet(name: &str, usage: Option<&str>) -> Workdir {
    let wd = Workdir::handmade(name);
    if let Some(rows) = usage {
        wd.write("usage.csv", &format!("{HEADER}{rows}"));
    }
    wd
}

#[test]
fn unpriced_models_are_listed_never_zero() {
    let wd = fleet(
        "unpriced",
        Some(
            "r-1,2025-06-03T10:00:00Z,openai,mystery-model,10,0,0,0,1,false\n\
             r-2,2025-06-04T10:00:00Z,openai,mystery-model,10,0,0,0,1,false\n\
             r-3,2024-12-31T10:00:00Z,anthropic,claude-test-1,10,0,0,0,1,false\n\
             r-4,2025-06-04T10:00:00Z,openai,gpt-test,10,0,0,0,1,false\n",
        ),
    );
    let stderr = wd.fail(&REPORT, 2);
    assert_eq!(
        stderr,
        "tokenledger: usage records with no price in pricing.toml (add or extend a [[model]] entry):\n  \
         anthropic claude-test-1: no price for 1 record(s) on 2024-12-31; first request_id r-3 (usage.csv:4)\n  \
         openai mystery-model: no price for 2 record(s) from 2025-06-03 to 2025-06-04; first request_id r-1 (usage.csv:2)\n"
    );
    assert!(!wd.path("out").exists(), "nothing is written on error");
}

#[test]
fn a_record_costing_more_than_a_bill_line_can_is_refused_not_overflowed() {
    // Each count and rate is within its bound; their product ($1e12 and a
    // bit) is more than one record can cost: the month's sums overflowed
    // into a "conservation bug" or a forecast silently cut.
    let row = "r-1,2025-06-03T10:00:00Z,anthropic,claude-test-1,1,0,0,0,1000000000000,false\n";
    let wd = fleet("too-costly", Some(row));
    let table = wd.read("pricing.toml");
    wd.write(
        "pricing.toml",
        &table.replacen("output = 15.00\n", "output = 1000000\n", 1),
    );
    let stderr = wd.fail(&REPORT, 2);
    assert!(
        stderr.contains(
            "anthropic claude-test-1: a cost over 1000000000000 for one record (a count or a rate \
             in another unit?) for 1 record(s) on 2025-06-03; first request_id r-1 (usage.csv:2)"
        ),
        "{stderr}"
    );
}

#[test]
fn batch_request_without_a_batch_rate_is_unpriced() {
    let wd = fleet(
        "nobatch",
        Some("r-1,2025-06-03T10:00:00Z,openai,gpt-test,10,0,0,0,1,true\n"),
    );
    wd.write(
        "pricing.toml",
        &wd.read("pricing.toml")
            .replace("batch_discount = 0.5\n", ""),
    );
    let stderr = wd.fail(&REPORT, 2);
    assert!(stderr.contains("openai gpt-test: no batch_discount or [model.tiers.batch] for 1 record(s) on 2025-06-03; first request_id r-1"), "{stderr}");
}

#[test]
fn bad_usage_rows_name_file_line_and_column() {
    let cases = [
        ("r-1,2025-06-03T10:00:00Z,openai,gpt-test,-5,0,0,0,1,false\n",
         "usage.csv:2: uncached_input_tokens: expected a whole non-negative number of tokens, got \"-5\""),
        ("r-1,2025-06-03T10:00:00Z,openai,gpt-test,1.5,0,0,0,1,false\n",
         "usage.csv:2: uncached_input_tokens: expected a whole non-negative number of tokens, got \"1.5\""),
        ("r-1,2025-06-03 10:00:00,openai,gpt-test,1,0,0,0,1,false\n",
         "usage.csv:2: timestamp: expected RFC 3339 with a time zone (2025-06-01T12:00:00Z), got \"2025-06-03 10:00:00\""),
        ("r-1,2025-06-03T10:00:00Z,openai,gpt-test,1,0,0,0,1,yes\n",
         "usage.csv:2: batch: expected true, false or empty, got \"yes\""),
        (",2025-06-03T10:00:00Z,openai,gpt-test,1,0,0,0,1,false\n", "usage.csv:2: request_id is empty"),
        ("r-1,2025-06-03T10:00:00Z,openai,gpt-test,1,0,0,0\n",
         "usage.csv:2: row has 8 fields, the header has 10"),
    ];
    for (row, message) in cases {
        let wd = fleet("badusage", Some(row));
        assert_eq!(
            wd.fail(&REPORT, 2),
            format!("tokenledger: {message}\n"),
            "row {row}"
        );
    }
}

#[test]
fn a_request_id_too_long_to_hold_is_named() {
    // Ids are held in blocks with 32-bit ends: one beyond 4 MiB is refused,
    // not cut.
    let long = "r".repeat(4 * 1024 * 1024 + 1);
    let wd = fleet(
        "longid",
        Some(&format!(
            "r-1,2025-06-03T10:00:00Z,openai,gpt-test,1,0,0,0,1,false\n\
             {long},2025-06-03T10:00:00Z,openai,gpt-test,1,0,0,0,1,false\n"
        )),
    );
    assert_eq!(
        wd.fail(&REPORT, 2),
        "tokenledger: usage.csv:3: request_id of 4194305 bytes, beyond the 4194303 a request id may take\n"
    );
}

#[test]
fn missing_usage_columns_are_named() {
    let wd = fleet("missingcol", None);
    wd.write("usage.csv", "request_id,timestamp,provider,model,uncached_input_tokens,batch\nr,2025-06-01T00:00:00Z,openai,gpt-test,1,false\n");
    let stderr = wd.fail(&REPORT, 2);
    assert!(
        stderr.starts_with("tokenledger: usage.csv:1: usage CSV header lacks column(s) cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens;"),
        "{stderr}"
    );
}

#[test]
fn duplicate_request_ids_dedupe_when_identical_and_fail_when_not() {
    let row = "r-1,2025-06-03T10:00:00Z,openai,gpt-test,10,0,0,0,1,false\n";
    let wd = fleet("dupsame", Some(&format!("{row}{row}")));
    wd.run(&REPORT);
    let summary = wd.read("out/summary.json");
    assert!(
        summary.contains("\"duplicate_usage_records\": 1,")
            && summary.contains("\"usage_records\": 1,"),
        "{summary}"
    );

    let other = "r-1,2025-06-03T10:00:00Z,openai,gpt-test,11,0,0,0,1,false\n";
    let wd = fleet("dupdiff", Some(&format!("{row}{other}")));
    assert_eq!(
        wd.fail(&REPORT, 2),
        "tokenledger: usage.csv:3: request_id r-1 already appeared at usage.csv:2 with different values; \
         a request is billed once, so one of the two rows is wrong\n"
    );
}

#[test]
fn malformed_span_lines_fail_strict_and_are_counted_lenient() {
    let wd = fleet("badspans", None);
    let good = wd.read("spans/children.jsonl");
    let first = good.lines().next().unwrap();
    // A truncated last line, and a line that is JSON but not trace data.
    wd.write(
        "spans/children.jsonl",
        &format!("{first}\n{{\"hello\":1}}\n{}\n", &first[..first.len() / 2]),
    );
    let stderr = wd.fail(&REPORT, 2);
    assert_eq!(
        stderr,
        "tokenledger: spans/children.jsonl:2: no \"resourceSpans\" (or Tempo \"batches\") key: not OTLP trace data\n"
    );

    let mut lenient = REPORT.to_vec();
    lenient.push("--lenient");
    wd.run(&lenient);
    let summary = wd.read("out/summary.json");
    assert!(summary.contains("\"skipped\": 2\n"), "{summary}");
    assert!(
        summary.contains("\"bad-json\": 1,\n      \"bad-span\": 1"),
        "{summary}"
    );
    assert!(
        summary.contains(
            "spans/children.jsonl:3: not an OTLP TracesData JSON line: EOF while parsing"
        ),
        "{summary}"
    );
    // And said as a warning: a count on the terminal is easy to miss.
    assert!(
        summary.contains(
            "\"--lenient skipped 2 bad line(s) or record(s) (1 bad-json, 1 bad-span; the first: "
        ),
        "{summary}"
    );
}

#[test]
fn bad_ids_name_the_span_and_field() {
    let wd = fleet("badids", None);
    let text = wd
        .read("spans/children.jsonl")
        .replacen("a600000000000006", "a6000000000006", 1);
    wd.write("spans/children.jsonl", &text);
    assert_eq!(
        wd.fail(&REPORT, 2),
        "tokenledger: spans/children.jsonl:1: span \"chat claude-test-1\": spanId \"a6000000000006\" is not 16 hex digits or 8 bytes in base64 (non-zero)\n"
    );
}

#[test]
fn a_parent_cycle_is_an_error_not_a_hang() {
    let wd = fleet("cycle", None);
    // Make the root of trace B the child of one of its own children.
    let text = wd.read("spans/parents.json").replace(
        "\"spanId\": \"b100000000000001\",",
        "\"spanId\": \"b100000000000001\",\n              \"parentSpanId\": \"b200000000000002\",",
    );
    wd.write("spans/parents.json", &text);
    let stderr = wd.fail(&REPORT, 2);
    // Every span of the cycle, with where it was read.
    assert!(
        stderr.contains("trace 4bf92f3577b34da6a3ce929d0e0e4736: span")
            && stderr.contains("parent cycle): ")
            && stderr.contains("b100000000000001 at spans/parents.json:")
            && stderr.contains("b200000000000002 at spans/"),
        "{stderr}"
    );
}

#[test]
fn pricing_errors_name_the_line() {
    let wd = fleet("badpricing", None);
    let pricing = wd.read("pricing.toml");
    wd.write(
        "pricing.toml",
        &pricing.replacen("output = 10.00", "output = -10.00", 1),
    );
    assert_eq!(
        wd.fail(&REPORT, 2),
        "tokenledger: pricing.toml:29: \"output\" is -10.00: rates must not be negative\n"
    );
    // An overlapping second period for the same names.
    wd.write(
        "pricing.toml",
        &pricing.replacen("effective_to = 2025-06-15\n", "", 1),
    );
    let stderr = wd.fail(&REPORT, 2);
    assert!(stderr.contains("pricing.toml:23: entry matches \"claude-test-1\" and the entry at line 5 matches \"claude-test-1\""), "{stderr}");
}

#[test]
fn bad_flags_exit_2() {
    let wd = Workdir::new("flags");
    let stderr = wd.fail(
        &[
            "report", "--spans", "x", "--usage", "y", "--period", "2025-13",
        ],
        2,
    );
    assert!(stderr.contains("expected a month as YYYY-MM"), "{stderr}");
    let stderr = wd.fail(
        &["report", "--spans", "x", "--usage", "y", "--print", "nope"],
        2,
    );
    assert!(stderr.contains("invalid value 'nope'"), "{stderr}");
    let stderr = wd.fail(
        &["report", "--spans", "missing", "--usage", "missing.csv"],
        2,
    );
    assert!(
        stderr.starts_with("tokenledger: missing.csv: No such file"),
        "{stderr}"
    );
}

#[test]
fn a_closed_standard_error_keeps_the_exit_code() {
    // Standard error a pipe whose reader is gone: the message is lost, the
    // exit code stays (a bad input's 2, a failed gate's 1), no abort (134).
    let wd = fleet("errors-closed-stderr", None);
    for (args, code) in [
        (
            vec!["report", "--spans", "missing", "--usage", "usage.csv"],
            2,
        ),
        (
            vec![
                "report",
                "--spans",
                "spans",
                "--usage",
                "usage.csv",
                "--period",
                "2024-01",
            ],
            1,
        ),
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let mut command = wd.command(&args);
        let status = command.stderr(writer).status().unwrap();
        assert_eq!(status.code(), Some(code), "{args:?}");
    }
}

#[test]
fn a_quote_never_closed_in_a_bill_or_usage_report_is_named_not_eaten() {
    // The quoted field ran to the next quote (or the end), taking the rows
    // after it in: their lines were "missing from the invoice", exit 1.
    let wd = fleet("unclosed-quote-bill", None);
    wd.write(
        "bill.csv",
        "provider,model,token_type,amount_usd,charge_category,description\n\
         anthropic,claude-test-1,input,0.911,,\"say hi\n\
         anthropic,claude-test-1,output,0.05,,x\n\
         anthropic,claude-test-1,cache_read,0.0366,,\"end\"\n",
    );
    let bill = [&REPORT[..], &["--invoice", "bill.csv"]].concat();
    let stderr = wd.fail(&bill, 2);
    assert!(
        stderr.contains(
            "bill.csv:2: a quoted field is not closed (a stray `\"`?): the row runs over 3 lines"
        ),
        "{stderr}"
    );
    wd.write(
        "anthropic.csv",
        "usage_date_utc,model_version,api_key,workspace,usage_type,context_window,usage_input_tokens_no_cache,usage_input_tokens_cache_write_5m,usage_input_tokens_cache_write_1h,usage_input_tokens_cache_read,usage_output_tokens,web_search_count\n\
         2025-06-10,claude-test-1-20250101,\"fleet-key,Default,message,0-200k,1000,400,0,2000,500,0\n\
         2025-06-12,claude-test-1-20250101,fleet-key,Default,message,200k-1M,150000,0,0,60000,1000,0\n",
    );
    let coverage = [&REPORT[..], &["--provider-usage", "anthropic.csv"]].concat();
    let stderr = wd.fail(&coverage, 2);
    assert!(
        stderr.contains("anthropic.csv:2: a quoted field is not closed"),
        "{stderr}"
    );
    // A stray quote in the header took the first row into it: a drift.
    wd.write(
        "bill.csv",
        "provider,model,token_type,amount_usd,\"description\n\
         anthropic,claude-test-1,input,0.911,x\"\n",
    );
    let stderr = wd.fail(&bill, 2);
    assert!(
        stderr.contains("bill.csv: the header's column 5 runs over several lines"),
        "{stderr}"
    );
    // Line ends of `\r` alone (old Mac Excel): every row was named line 1.
    wd.write(
        "bill.csv",
        "provider,model,token_type,amount_usd\ranthropic,claude-test-1,input,0.911\r\
         anthropic,claude-test-1,output,0.05\r",
    );
    let stderr = wd.fail(&bill, 2);
    assert!(
        stderr.contains("the file's line ends are `\\r` alone (convert them"),
        "{stderr}"
    );
}
