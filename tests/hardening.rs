//! Hardening, round 2: inputs that used to lose or double money quietly.
//! Each case failed before its fix.

use std::io::Write;
use std::process::Stdio;

use crate::workdir::{fixture, real, repo, Workdir, HANDMADE_REPORT};

/// `report` with no spans, so every record is listed in `unattributed.csv`;
/// returns the exit code and stderr.
pub fn usage_run(wd: &Workdir, usage: &[&str], flags: &[&str]) -> (i32, String) {
    wd.write("spans/none.jsonl", r#"{"resourceSpans":[]}"#);
    let pricing = repo().join("pricing.toml");
    let mut args = vec!["report", "--spans", "spans", "--usage"];
    args.extend(usage);
    args.extend([
        "--out",
        "out",
        "--quiet",
        "--min-match",
        "0",
        "--pricing",
        pricing.to_str().unwrap(),
    ]);
    args.extend(flags);
    let out = wd.output(&args);
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn litellm_with(wd: &Workdir, from: &str, to: &str) {
    let text = std::fs::read_to_string(fixture("usage/litellm-spend-logs.json")).unwrap();
    assert!(text.contains(from), "{from}");
    wd.write("spend.json", &text.replacen(from, to, 1));
}

/// The first LiteLLM record's row: 600 uncached, 2000 cache reads.
const CACHED_ROW: &str = "\nmsg_01XFDUDYJgAACzvnptvVoYEL,2025-06-10T09:00:00.123Z,anthropic,claude-sonnet-4-20250514,600,2000,300,100,500,0,false,0.011625,";

#[test]
fn litellm_cache_counts_as_strings_or_floats_keep_the_cache_split() {
    for written in ["\"2000\"", "2000.0", "\" 2000 \""] {
        let wd = Workdir::new("litellm-count");
        litellm_with(
            &wd,
            "\"cache_read_input_tokens\": 2000",
            &format!("\"cache_read_input_tokens\": {written}"),
        );
        let (code, stderr) = usage_run(&wd, &["spend.json"], &[]);
        assert_eq!(code, 0, "{written}: {stderr}");
        assert!(
            wd.read("out/unattributed.csv").contains(CACHED_ROW),
            "{written}: cache reads lost"
        );
    }
}

#[test]
fn litellm_metadata_held_as_json_text_keeps_the_cache_split() {
    let text = std::fs::read_to_string(fixture("usage/litellm-spend-logs.json")).unwrap();
    let mut logs: serde_json::Value = serde_json::from_str(&text).unwrap();
    for log in logs.as_array_mut().unwrap() {
        for key in ["metadata", "request_tags"] {
            let value = log[key].take();
            log[key] = serde_json::Value::String(value.to_string());
        }
    }
    let wd = Workdir::new("litellm-meta-text");
    wd.write("spend.json", &logs.to_string());
    let (code, stderr) = usage_run(&wd, &["spend.json"], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        wd.read("out/unattributed.csv").contains(CACHED_ROW),
        "cache reads lost"
    );
    logs[0]["metadata"] = serde_json::Value::String("{additional_usage_values: {".into());
    wd.write("spend.json", &logs.to_string());
    let (code, stderr) = usage_run(&wd, &["spend.json"], &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("spend.json:1: metadata: not JSON"),
        "{stderr}"
    );
}

#[test]
fn litellm_bad_cache_counts_and_metadata_are_errors_not_full_price() {
    for (written, message) in [
        (
            "-2000",
            "cache_read_input_tokens: expected a whole non-negative number of tokens, got -2000",
        ),
        (
            "2000.5",
            "cache_read_input_tokens: expected a whole non-negative number of tokens, got 2000.5",
        ),
        (
            "\"lots\"",
            "cache_read_input_tokens: expected a whole non-negative number of tokens, got \"lots\"",
        ),
    ] {
        let wd = Workdir::new("litellm-bad-count");
        litellm_with(
            &wd,
            "\"cache_read_input_tokens\": 2000",
            &format!("\"cache_read_input_tokens\": {written}"),
        );
        let (code, stderr) = usage_run(&wd, &["spend.json"], &[]);
        assert_eq!(code, 2, "{written}");
        assert!(
            stderr.contains(&format!("spend.json:2: {message}")),
            "{stderr}"
        );
    }
    // A CSV dump whose metadata cell is not JSON.
    let wd = Workdir::new("litellm-bad-meta");
    let text = std::fs::read_to_string(fixture("usage/litellm-spend-logs.csv")).unwrap();
    wd.write(
        "spend.csv",
        &text.replacen(
            "\"{\"\"additional_usage_values\"\": {",
            "\"{additional_usage_values: {",
            1,
        ),
    );
    let (code, stderr) = usage_run(&wd, &["spend.csv"], &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("spend.csv:2: metadata: not JSON"),
        "{stderr}"
    );
}

/// The Bedrock fixture as plain JSON lines.
fn bedrock_lines() -> String {
    let bytes = std::fs::read(fixture("usage/bedrock-invocations.jsonl.gz")).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2_free_gunzip(&bytes), &mut text).unwrap();
    text
}

/// gunzip through the system's `gzip`, which every CI machine has.
fn flate2_free_gunzip(bytes: &[u8]) -> std::io::Cursor<Vec<u8>> {
    let mut child = std::process::Command::new("gzip")
        .arg("-dc")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    std::io::Cursor::new(child.wait_with_output().unwrap().stdout)
}

#[test]
fn a_torn_first_line_loses_that_record_only() {
    let lines = bedrock_lines();
    let n = lines.lines().count();
    assert!(n >= 2);
    let first = lines.lines().next().unwrap();
    let torn = format!(
        "{}\n{}",
        &first[..first.len() / 2],
        &lines[first.len() + 1..]
    );
    let wd = Workdir::new("torn-first");
    wd.write("bedrock.jsonl", &torn);
    let (code, stderr) = usage_run(&wd, &["bedrock.jsonl"], &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains(
            "bedrock.jsonl:1: not a Bedrock model invocation log record: EOF while parsing"
        ),
        "{stderr}"
    );
    let (code, stderr) = usage_run(&wd, &["bedrock.jsonl"], &["--lenient"]);
    assert_eq!(code, 0, "{stderr}");
    let summary = wd.read("out/summary.json");
    assert!(
        summary.contains(&format!("\"usage_records_read\": {},", n - 1)),
        "{summary}"
    );
    assert!(summary.contains("\"skipped\": 1\n"), "{summary}");
    // ... and the file that lost it says so.
    assert!(
        summary.contains("\"path\": \"bedrock.jsonl\",\n      \"kind\": \"usage\",\n      \"format\": \"bedrock-invocation-logs\",\n      \"records\": 1,\n      \"skipped\": 1\n"),
        "{summary}"
    );
}

#[test]
fn a_stray_quote_spoils_its_own_row_only() {
    let wd = Workdir::handmade("stray-quote");
    let text = wd.read("usage.csv");
    let rows = text.lines().count() - 1;
    wd.write("usage.csv", &text.replacen(",req-2,", ",\"req-2,", 1));
    let mut args = HANDMADE_REPORT.to_vec();
    args.push("--lenient");
    wd.run(&args);
    let summary = wd.read("out/summary.json");
    assert!(
        summary.contains(&format!("\"usage_records_read\": {},", rows - 1)),
        "{summary}"
    );
    assert!(summary.contains("\"bad-csv\": 1"), "{summary}");
    assert!(
        summary.contains("usage.csv:3: a quoted field is not closed on its line: a line break"),
        "{summary}"
    );
}

/// A lone `\r` ends a CSV record as `\n` does: a row after one on the same
/// line (a file with old Mac line ends, or one joined row) is refused,
/// never dropped.
#[test]
fn a_row_after_a_lone_carriage_return_is_refused() {
    let wd = Workdir::handmade("lone-cr");
    let text = wd.read("usage.csv");
    let second = text.match_indices('\n').nth(1).unwrap().0;
    let mut joined = text.clone();
    joined.replace_range(second..second + 1, "\r");
    wd.write("usage.csv", &joined);
    let out = wd.output(&HANDMADE_REPORT);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("usage.csv:2: a carriage return (`\\r`) ends a row in the middle"),
        "{stderr}"
    );
    // Carriage returns before each line end are line ends.
    wd.write("usage.csv", &text.replace('\n', "\r\n"));
    wd.run(&HANDMADE_REPORT);
}

/// LiteLLM's spend log of a response served from its own cache
/// (`cache_hit` True) was never billed by the provider; an unreadable
/// `spend` or `request_tags` is an error, not a value quietly dropped.
#[test]
fn litellm_cache_hits_are_not_billed_and_bad_values_are_refused() {
    let wd = Workdir::new("litellm-cache-hit");
    let text = std::fs::read_to_string(fixture("usage/litellm-spend-logs.csv")).unwrap();
    let copy = text.lines().nth(2).unwrap();
    let hit = copy
        .replacen(
            "chatcmpl-9ZKMURhVYSi9D6r6PJ9vLcayIK0Vm",
            "chatcmpl-cached",
            1,
        )
        .replacen(",False,success", ",True,success", 1);
    // LiteLLM writes `str(None)` when caching is off: not a hit.
    let none = copy
        .replacen(
            "chatcmpl-9ZKMURhVYSi9D6r6PJ9vLcayIK0Vm",
            "chatcmpl-uncached",
            1,
        )
        .replacen(",False,success", ",None,success", 1);
    wd.write("spend.csv", &format!("{text}{hit}\n{none}\n"));
    let (code, stderr) = usage_run(&wd, &["spend.csv"], &[]);
    assert_eq!(code, 0, "{stderr}");
    let summary = wd.read("out/summary.json");
    assert!(
        summary.contains("\"usage_rows_not_billed\": 2,"),
        "{summary}"
    );
    let listed = wd.read("out/unattributed.csv");
    assert!(!listed.contains("chatcmpl-cached") && listed.contains("chatcmpl-uncached"));
    for (from, to, error) in [
        (
            ",0.0069,",
            ",\"1,5\",",
            "spend.csv:3: spend: expected a decimal number of USD, got \"1,5\"",
        ),
        (",[],", ",[not json,", "spend.csv:3: request_tags: not JSON"),
        (
            ",False,success",
            ",maybe,success",
            "spend.csv:2: cache_hit: expected True, False or None",
        ),
    ] {
        wd.write("spend.csv", &text.replacen(from, to, 1));
        let (code, stderr) = usage_run(&wd, &["spend.csv"], &[]);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains(error), "{stderr}");
    }
}

#[test]
fn usage_can_come_through_a_pipe_with_a_byte_order_mark() {
    let lines = bedrock_lines();
    for name in ["-", "/dev/stdin"] {
        let wd = Workdir::new("pipe");
        wd.write("spans/none.jsonl", r#"{"resourceSpans":[]}"#);
        let pricing = repo().join("pricing.toml");
        let mut child = wd
            .command(&[
                "report",
                "--spans",
                "spans",
                "--usage",
                name,
                "--out",
                "out",
                "--quiet",
                "--min-match",
                "0",
            ])
            .args(["--pricing", pricing.to_str().unwrap()])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"\xef\xbb\xbf").unwrap();
        stdin.write_all(lines.as_bytes()).unwrap();
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let summary = wd.read("out/summary.json");
        assert!(
            summary.contains(&format!(
                "\"usage_records_read\": {},",
                lines.lines().count()
            )),
            "{name}: {summary}"
        );
    }
    // A canonical CSV saved from Excel (with a BOM) is detected.
    let wd = Workdir::handmade("bom");
    let text = wd.read("usage.csv");
    wd.write("usage.csv", &format!("\u{feff}{text}"));
    wd.run(&HANDMADE_REPORT);
}

#[test]
fn a_billed_record_without_token_counts_is_refused() {
    let wd = Workdir::new("openrouter-null");
    let text = std::fs::read_to_string(real("openrouter-generation.json")).unwrap();
    let nulled = text
        .lines()
        .map(|l| match l.trim_start() {
            t if t.starts_with("\"native_tokens_prompt\"") => "    \"native_tokens_prompt\": null,",
            t if t.starts_with("\"native_tokens_completion\"") => {
                "    \"native_tokens_completion\": null,"
            }
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(nulled, text);
    wd.write("gen.json", &nulled);
    let (code, stderr) = usage_run(&wd, &["gen.json"], &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("native_tokens_prompt and native_tokens_completion missing or null"),
        "{stderr}"
    );
    let wd = Workdir::new("bedrock-no-counts");
    let first = bedrock_lines()
        .lines()
        .next()
        .unwrap()
        .replace("\"inputTokenCount\": 1200, ", "");
    wd.write("bedrock.jsonl", &format!("{first}\n"));
    let (code, stderr) = usage_run(&wd, &["bedrock.jsonl"], &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("bedrock.jsonl:1: input.inputTokenCount missing or null"),
        "{stderr}"
    );
}

#[test]
fn one_request_in_two_sources_is_billed_once() {
    // OpenRouter's record names its upstream id; the gateway's canonical
    // CSV logged the same request under that id.
    let text = std::fs::read_to_string(real("openrouter-generation.json")).unwrap();
    let upstream = "chatcmpl-791bcf62-080e-4568-87d0-94c72e3b4946";
    assert!(text.contains(upstream));
    let header = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,service_tier\n";
    let pricing = "version = \"t\"\ncurrency = \"USD\"\n[[model]]\nprovider = \"infermatic\"\nmatch = [\"l3-stheno-8b\"]\neffective_from = 2024-01-01\ninput = 1\noutput = 2\ncache_read = 0.5\ncache_write_5m = 1\ncache_write_1h = 1\n[model.tiers.priority]\nmultiplier = 2\n";
    for (output, code) in [(25, 0), (26, 2)] {
        let wd = Workdir::new("two-sources");
        wd.write("usage/openrouter.json", &text);
        wd.write(
            "usage/gateway.csv",
            &format!("{header}{upstream},2025-05-01T00:00:00Z,infermatic,l3-stheno-8b,7,3,0,0,{output},priority\n"),
        );
        wd.write("pricing.toml", pricing);
        wd.write("spans/none.jsonl", r#"{"resourceSpans":[]}"#);
        let out = wd.output(&[
            "report",
            "--spans",
            "spans",
            "--usage",
            "usage",
            "--pricing",
            "pricing.toml",
            "--out",
            "out",
            "--quiet",
            "--min-match",
            "0",
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{stderr}");
        if code == 0 {
            let summary = wd.read("out/summary.json");
            assert!(
                summary.contains("\"duplicate_usage_records\": 1,"),
                "{summary}"
            );
            assert!(summary.contains("\"usage_records\": 1,"), "{summary}");
        } else {
            assert!(
                stderr.contains(&format!("request_id {upstream} already appeared at")),
                "{stderr}"
            );
        }
    }
}

#[test]
fn a_column_named_twice_is_refused() {
    let wd = Workdir::handmade("dup-header");
    let text = wd.read("usage.csv");
    let (header, rows) = text.split_once('\n').unwrap();
    let rows: String = rows.lines().map(|r| format!("{r},7\n")).collect();
    wd.write("usage.csv", &format!("{header},output_tokens\n{rows}"));
    let stderr = wd.fail(&HANDMADE_REPORT, 2);
    assert!(
        stderr.contains(
            "usage.csv:1: the header names column output_tokens twice (columns 5 and 12)"
        ),
        "{stderr}"
    );
    // Invoices too.
    let wd = Workdir::handmade("dup-invoice-header");
    wd.write(
        "invoice.csv",
        "provider,token_type,amount_usd,amount_usd\nanthropic,input,1,2\n",
    );
    let mut args = HANDMADE_REPORT.to_vec();
    args.extend(["--invoice", "invoice.csv"]);
    let stderr = wd.fail(&args, 2);
    assert!(
        stderr.contains("invoice.csv:1: the header names column amount_usd twice"),
        "{stderr}"
    );
}

/// `reconcile` on the hand-made usage against `invoices`; summary.json.
fn reconciled(wd: &Workdir, invoices: &[&str]) -> String {
    let mut args = crate::workdir::HANDMADE_RECONCILE.to_vec();
    for invoice in invoices {
        args.extend(["--invoice", invoice]);
    }
    wd.output(&args);
    wd.read("out/summary.json")
}

/// The billed total a summary.json states.
fn billed(summary: &str) -> &str {
    let at = summary
        .find("\"invoice_total_usd\": \"")
        .expect("invoice_total_usd")
        + 22;
    &summary[at..at + summary[at..].find('"').unwrap()]
}

#[test]
fn an_invoice_is_read_once_however_it_is_reached() {
    let wd = Workdir::handmade("invoice-once");
    wd.copy(&fixture("invoices/tokenledger.csv"), "inv/x.csv");
    let once = billed(&reconciled(&wd, &["inv"])).to_string();
    // A link back to its own directory, and the file named twice.
    std::os::unix::fs::symlink(".", wd.path("inv/archive")).unwrap();
    assert_eq!(billed(&reconciled(&wd, &["inv"])), once);
    assert_eq!(billed(&reconciled(&wd, &["inv", "./inv/x.csv"])), once);
}

#[test]
fn an_invoice_line_outside_the_period_is_left_out_and_a_backwards_one_refused() {
    let wd = Workdir::handmade("invoice-period");
    let text = std::fs::read_to_string(fixture("invoices/tokenledger.csv")).unwrap();
    wd.write("inv.csv", &text);
    let june = billed(&reconciled(&wd, &["inv.csv"])).to_string();
    let (header, rows) = text.split_once('\n').unwrap();
    wd.write(
        "inv.csv",
        &format!("{header},period_start,period_end\n{}anthropic,claude-test-1,input,500,,May,2025-05-01,2025-06-01\n",
            rows.lines().map(|r| format!("{r},,\n")).collect::<String>()),
    );
    let summary = reconciled(&wd, &["inv.csv"]);
    assert_eq!(billed(&summary), june, "{summary}");
    assert!(
        summary.contains("\"invoice_lines_out_of_period\": 1,"),
        "{summary}"
    );
    wd.write(
        "inv.csv",
        &format!("{header},period_start,period_end\nanthropic,claude-test-1,input,5,,,2025-06-10,2025-06-01\n"),
    );
    let out = wd.output(
        &[
            &crate::workdir::HANDMADE_RECONCILE[..],
            &["--invoice", "inv.csv"],
        ]
        .concat(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("inv.csv:2: period_end 2025-06-01 precedes period_start 2025-06-10"),
        "{stderr}"
    );
}
