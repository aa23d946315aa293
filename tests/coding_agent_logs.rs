//! Coding agents' log events read as their real shapes: a Claude Code
//! `api_request` event records no request id (one is made), its time is
//! `event.timestamp` for the call as for the record, and a value or time
//! OTLP would not write (or a count left out) is a bad event, never a
//! silent 0 or 1970 (a whole count retyped as a double is read). Gemini
//! CLI's `api_response` events are requests too, whatever else shares
//! their file.

use crate::hardening::usage_run;
use crate::workdir::Workdir;

/// One LogsData line of Claude Code `api_request` events, each given as
/// (time fields, attributes as OTLP key-values).
fn claude_code(events: &[(&str, &str)]) -> String {
    let records: Vec<String> = events
        .iter()
        .map(|(time, attributes)| {
            format!(r#"{{{time}"body":{{"stringValue":"claude_code.api_request"}},"attributes":[{{"key":"event.name","value":{{"stringValue":"api_request"}}}},{{"key":"session.id","value":{{"stringValue":"s-1"}}}},{{"key":"model","value":{{"stringValue":"claude-sonnet-4-6"}}}},{attributes}]}}"#)
        })
        .collect();
    format!(
        "{{\"resourceLogs\":[{{\"resource\":{{}},\"scopeLogs\":[{{\"logRecords\":[{}]}}]}}]}}\n",
        records.join(",")
    )
}

fn value(key: &str, value: &str) -> String {
    format!(r#"{{"key":"{key}","value":{value}}}"#)
}

fn at(when: &str) -> String {
    value("event.timestamp", &format!(r#"{{"stringValue":"{when}"}}"#))
}

fn tokens(input: &str, output: &str) -> String {
    let count = |n: &str| format!(r#"{{"stringValue":"{n}"}}"#);
    [
        value("input_tokens", &count(input)),
        value("output_tokens", &count(output)),
    ]
    .join(",")
}

#[test]
fn claude_code_events_without_a_request_id_are_requests_of_their_own() {
    // The documented event: no request_id. Two requests of one session in
    // the same millisecond, told apart by their counts, and an exact
    // repeat of the first (a re-sent export), dropped as one; two alike but
    // for their event.sequence (the session's counter) are two.
    let when = at("2026-11-03T09:00:02.100Z");
    let first = format!("{when},{}", tokens("1000", "100"));
    let second = format!("{when},{}", tokens("2000", "100"));
    let numbered = |n: &str| {
        let sequence = value("event.sequence", &format!(r#"{{"intValue":"{n}"}}"#));
        format!("{first},{sequence}")
    };
    let (seventh, eighth) = (numbered("7"), numbered("8"));
    let wd = Workdir::new("cc-no-id");
    let events = [first.as_str(), &second, &first, &seventh, &eighth];
    wd.write("logs.jsonl", &claude_code(&events.map(|e| ("", e))));
    let args = ["report", "--spans", "logs.jsonl", "--usage", "logs.jsonl"];
    let stdout = wd.run(&[&args[..], &["--out", "out"]].concat());
    let dropped = stdout.lines().find(|l| l.contains("duplicates dropped"));
    assert!(dropped.is_some_and(|l| l.contains(" 1 ")), "{stdout}");
    let summary = wd.read("out/summary.json");
    // (1000 + 2000 + 2 × 1000) × $3 + 400 × $15 per 1M.
    for field in [
        "\"matched\": 4,",
        "\"cost_usd\": \"0.021000\"",
        "\"duplicate_usage_records\": 1,",
    ] {
        assert!(summary.contains(field), "{field}: {summary}");
    }
}

#[test]
fn a_claude_code_calls_time_is_its_event_timestamp() {
    // timeUnixNano "0" (as Claude Code writes it): the call is at its
    // event.timestamp, so it meets a gateway's record of the same request
    // (another id) in the fingerprint join.
    let wd = Workdir::new("cc-time");
    let event = format!(
        r#"{},{},{}"#,
        at("2026-11-03T09:00:02.100Z"),
        tokens("1000", "100"),
        value("request_id", r#"{"stringValue":"req_1"}"#)
    );
    wd.write(
        "logs.jsonl",
        &claude_code(&[(r#""timeUnixNano":"0","#, &event)]),
    );
    wd.write("usage.csv", "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\ngw-1,2026-11-03T09:00:03Z,anthropic,claude-sonnet-4-6,1000,0,0,0,100,false\n");
    let args = ["report", "--spans", "logs.jsonl", "--usage", "usage.csv"];
    wd.run(&[&args[..], &["--out", "out", "--quiet"]].concat());
    let summary = wd.read("out/summary.json");
    assert!(
        summary.contains("\"matched_by_fingerprint\": 1,"),
        "{summary}"
    );
}

#[test]
fn a_value_or_time_otlp_would_not_write_is_a_bad_event() {
    let cases = [
        (
            String::new(),
            format!(
                "{},{}",
                at("2026-11-03T09:00:00Z"),
                value("input_tokens", r#"{"stringValue":100}"#)
            ),
            "attribute \"input_tokens\" has a stringValue that is not a string",
        ),
        (
            String::new(),
            format!(
                "{},{}",
                at("2026-11-03T09:00:00Z"),
                value("input_tokens", r#"{"stringValue":"100","intValue":"5"}"#)
            ),
            "attribute \"input_tokens\" has a value of two types",
        ),
        (
            String::new(),
            format!(
                "{},{}",
                at("2026-11-03T09:00:00Z"),
                value("input_tokens", "{}")
            ),
            "input_tokens: not a whole number of tokens",
        ),
        (
            // A count left out is no 0: every usage reader refuses it.
            String::new(),
            format!(
                "{},{}",
                at("2026-11-03T09:00:00Z"),
                value("input_tokens", r#"{"intValue":"100"}"#)
            ),
            "output_tokens: missing",
        ),
        (
            r#""timeUnixNano":"2026-11-03T09:00:00Z","#.to_string(),
            tokens("1", "1"),
            "timeUnixNano: expected nanoseconds since 1970",
        ),
        (
            // Milliseconds: the first hour of 1970 as nanoseconds, filed out of period.
            r#""timeUnixNano":"1762160400000","#.to_string(),
            tokens("1", "1"),
            "timeUnixNano: expected nanoseconds since 1970, a time from 2000 to 2099",
        ),
        (
            String::new(),
            tokens("1", "1"),
            "a request event without event.timestamp or timeUnixNano",
        ),
        (
            // A cost that is no amount left reported_cost_usd short.
            String::new(),
            format!(
                "{},{},{}",
                at("2026-11-03T09:00:00Z"),
                tokens("1", "1"),
                value("cost_usd", r#"{"stringValue":"$0.03645"}"#)
            ),
            "cost_usd: expected an amount, got \"$0.03645\"",
        ),
    ];
    let wd = Workdir::new("cc-bad-values");
    for (time, attributes, expected) in &cases {
        wd.write("logs.jsonl", &claude_code(&[(time, attributes)]));
        let (code, stderr) = usage_run(&wd, &["logs.jsonl"], &[]);
        assert_eq!(code, 2, "{expected}: {stderr}");
        assert!(
            stderr.contains(&format!("logs.jsonl:1: {expected}")),
            "{stderr}"
        );
    }
}

#[test]
fn a_count_retyped_as_a_whole_double_is_read_and_a_fraction_refused() {
    // `doubleValue: 1000.0` (a pipeline that retyped it) is 1000 tokens, as
    // the JSON usage readers read it; it was refused as "not whole".
    let when = at("2026-11-03T09:00:02.100Z");
    let count = |n: &str| {
        let input = value("input_tokens", &format!(r#"{{"doubleValue":{n}}}"#));
        format!(
            "{when},{input},{}",
            value("output_tokens", r#"{"intValue":"100"}"#)
        )
    };
    let wd = Workdir::new("cc-double");
    wd.write("logs.jsonl", &claude_code(&[("", &count("1000.0"))]));
    let args = ["report", "--spans", "logs.jsonl", "--usage", "logs.jsonl"];
    wd.run(&[&args[..], &["--out", "out"]].concat());
    // 1000 × $3 + 100 × $15 per 1M.
    let summary = wd.read("out/summary.json");
    assert!(summary.contains("\"cost_usd\": \"0.004500\""), "{summary}");
    wd.write("logs.jsonl", &claude_code(&[("", &count("100.5"))]));
    let (code, stderr) = usage_run(&wd, &["logs.jsonl"], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("input_tokens: not a whole number of tokens"),
        "{stderr}"
    );
    // Read as spans, a count that is no count is refused too (it was read
    // as no count given: the call's span facts lost, exit 0).
    wd.write("usage.csv", "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n");
    for bad in ["-5", "100.5"] {
        wd.write("spans/logs.jsonl", &claude_code(&[("", &count(bad))]));
        let (code, stderr) = usage_run(&wd, &["usage.csv"], &[]);
        assert_eq!(code, 2, "{bad}: {stderr}");
        assert!(stderr.contains("spans/logs.jsonl:1:"), "{stderr}");
    }
}

#[test]
fn gemini_cli_responses_are_requests_beside_their_twins() {
    // Gemini CLI's events (the attributes its `ApiResponseEvent` writes):
    // only `gemini_cli.api_response` is a request; its semantic twin
    // `gen_ai.client.inference.operation.details`, `user_prompt` and
    // `api_request` are passed over. Gemini's counts: the cached content
    // within the input, the thoughts beside the output (billed as
    // output), the tool-use prompt beside the input. Such an event was
    // read as nothing, silently, where Claude Code's shared its file. A
    // turn's router call answers in the same millisecond under the same
    // prompt_id: a request of its own.
    let wd = Workdir::new("gemini-cli");
    wd.copy(
        &crate::workdir::fixture("gemini-cli/logs.jsonl"),
        "logs.jsonl",
    );
    let args = ["report", "--spans", "logs.jsonl", "--usage", "logs.jsonl"];
    wd.run(
        &[
            &args[..],
            &["--tenant-attr", "user.email", "--out", "out", "--quiet"],
        ]
        .concat(),
    );
    let tenants = wd.read("out/by_tenant.csv");
    // alice: gemini-2.5-pro at $1.25 in / $0.31 cached / $10 out per 1M,
    // (20,000 − 8,000) × 1.25 + 8,000 × 0.31 + (300 + 700) × 10 µ$;
    // gemini-2.5-flash at $0.30 / $2.50: (5,000 + 1,000 + 300) × 0.30 +
    // (200 + 20) × 2.5.
    assert!(
        tenants.contains("\nalice@acme.example,3,18300,8000,0,0,1220,700,0.016890,0.002480,0.000000,0.010550,0.029920,"),
        "{tenants}"
    );
    assert!(
        tenants.contains("\nbob@globex.example,1,1000,0,0,0,100,0,0.001250,"),
        "{tenants}"
    );
    let summary = wd.read("out/summary.json");
    for field in ["\"matched\": 4,", "\"usage_records\": 4,", "\"calls\": 4,"] {
        assert!(summary.contains(field), "{field}\n{summary}");
    }
    // Cached content beyond the prompt is a bad event, whatever the
    // tool-use prompt beside it.
    let logs = wd.read("logs.jsonl");
    let line = logs.lines().nth(2).unwrap();
    let bad = line.replacen(
        "\"cached_content_token_count\",\"value\":{\"intValue\":\"0\"}",
        "\"cached_content_token_count\",\"value\":{\"intValue\":\"1500\"}",
        1,
    );
    assert_ne!(bad, line);
    wd.write("bad.jsonl", &format!("{bad}\n"));
    let stderr = wd.fail(
        &[
            "report",
            "--spans",
            "bad.jsonl",
            "--usage",
            "bad.jsonl",
            "--out",
            "bad",
        ],
        2,
    );
    assert!(
        stderr.contains("cached_content_token_count: 1500 exceeds input_token_count 1000"),
        "{stderr}"
    );
}
