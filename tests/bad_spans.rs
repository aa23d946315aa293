//! Bad spans, named and never a quiet loss: span files reached twice or
//! through a fifo, a span exported twice with other content, a count that
//! is no count, a repeated attribute (in OTLP, flat spans and Jaeger's
//! tags alike), a bad span or event under `--lenient`
//! skipped alone, a pretty-printed document's bad span named by its line
//! (and skipped alone under `--lenient` too), a start that is no time.

use crate::hardening::usage_run;
use crate::workdir::{fixture, Workdir, HANDMADE_REPORT};

#[test]
fn span_files_behind_loops_and_fifos_are_read_once_or_skipped() {
    let wd = Workdir::handmade("span-loops");
    let first = wd.run(&HANDMADE_REPORT);
    std::os::unix::fs::symlink(".", wd.path("spans/a")).unwrap();
    std::os::unix::fs::symlink(".", wd.path("spans/b")).unwrap();
    let fifo = wd.path("spans/x.jsonl");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let out = wd.output(&HANDMADE_REPORT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("spans/x.jsonl: not a regular file (a pipe, socket or device); skipped"),
        "{stderr}"
    );
    // The same month, and the pipe named among the files not read.
    let stdout = String::from_utf8(out.stdout).unwrap();
    let note = "not read: 1 file(s) of the input directories: spans/x.jsonl (not a regular file (a pipe, socket or device)) (summary.json: skipped_files)\n";
    assert!(stdout.contains(note), "{stdout}");
    assert_eq!(stdout.replace(note, ""), first);
}

/// A span exported twice is kept once; a second copy saying something
/// else (here another response id) is not a copy: which is right cannot be
/// known, so the run stops, or under `--lenient` counts it and keeps the
/// first.
#[test]
fn a_span_exported_twice_with_other_content_is_refused() {
    let wd = Workdir::handmade("conflicting-duplicate");
    let first = wd
        .read("spans/children.jsonl")
        .lines()
        .next()
        .unwrap()
        .to_string();
    let other = first.replacen("\"req-2\"", "\"req-9\"", 1);
    assert_ne!(first, other);
    wd.write("spans/copy.jsonl", &format!("{first}\n"));
    let same = wd.run(&HANDMADE_REPORT);
    assert!(
        wd.read("out/summary.json")
            .contains("\"duplicate_spans\": 3,"),
        "{same}"
    );
    wd.write("spans/copy.jsonl", &format!("{other}\n"));
    let stderr = wd.fail(&HANDMADE_REPORT, 2);
    assert!(
        stderr.contains(
            "is exported twice with different content (the first at spans/children.jsonl:1)"
        ),
        "{stderr}"
    );
    let mut args = HANDMADE_REPORT.to_vec();
    args.push("--lenient");
    wd.run(&args);
    assert!(wd
        .read("out/summary.json")
        .contains("\"conflicting-duplicate-span\": 1"));
}

#[test]
fn a_call_span_whose_token_count_is_no_count_is_refused_naming_it() {
    for (value, shown) in [
        (r#"{"intValue":"-5"}"#, "-5"),
        (r#"{"doubleValue":1000.5}"#, "1000.5"),
        (r#"{"stringValue":"abc"}"#, "\"abc\""),
        (r#"{"intValue":"10000000000000"}"#, "10000000000000"),
    ] {
        let wd = Workdir::new("span-bad-count");
        let span = format!(
            r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"chat gpt-4o","attributes":[{{"key":"gen_ai.operation.name","value":{{"stringValue":"chat"}}}},{{"key":"gen_ai.usage.input_tokens","value":{value}}}]}}]}}]}}]}}"#
        );
        wd.write("spans/a.jsonl", &format!("{span}\n"));
        wd.write("usage.csv", "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n");
        let (code, stderr) = {
            let out = wd.output(&[
                "report",
                "--spans",
                "spans",
                "--usage",
                "usage.csv",
                "--out",
                "out",
            ]);
            (
                out.status.code().unwrap(),
                String::from_utf8(out.stderr).unwrap(),
            )
        };
        assert_eq!(code, 2, "{value}: {stderr}");
        let message = format!("a.jsonl:1: span \"chat gpt-4o\": gen_ai.usage.input_tokens: expected a whole non-negative number of tokens, got {shown}");
        assert!(stderr.contains(&message), "{stderr}");
    }
}

#[test]
fn a_bad_claude_code_event_is_skipped_alone_under_lenient() {
    // Two api_request events on one LogsData line; the first lacks its model.
    let logs = std::fs::read_to_string(fixture("claude-code/logs.jsonl")).unwrap();
    let broken = logs.replacen(
        r#"{"key":"model","value":{"stringValue":"claude-sonnet-4-6"}},"#,
        "",
        1,
    );
    assert_ne!(broken, logs);
    let wd = Workdir::new("claude-code-lenient");
    wd.write("logs.jsonl", &broken);
    let (code, stderr) = usage_run(&wd, &["logs.jsonl"], &["--lenient"]);
    assert_eq!(code, 0, "{stderr}");
    let summary = wd.read("out/summary.json");
    let full = {
        wd.write("whole.jsonl", &logs);
        usage_run(&wd, &["whole.jsonl"], &[]);
        wd.read("out/summary.json")
    };
    let read = |s: &str| {
        let at = s.find("\"usage_records_read\": ").unwrap() + 22;
        s[at..].split(',').next().unwrap().parse::<u64>().unwrap()
    };
    assert_eq!(read(&summary) + 1, read(&full), "{summary}");
    assert!(summary.contains("\"skipped\": 1"), "{summary}");
}

#[test]
fn a_bad_span_in_a_pretty_printed_document_is_named_by_its_line() {
    let wd = Workdir::new("pretty-bad-id");
    let span = |id: &str| {
        format!("        {{\n          \"traceId\": \"5b8efff798038103d269b633813fc60c\",\n          \"spanId\": \"{id}\",\n          \"name\": \"chat gpt-4o\"\n        }}")
    };
    let doc = format!(
        "{{\n  \"resourceSpans\": [{{\n    \"scopeSpans\": [{{\n      \"spans\": [\n{},\n{}\n      ]\n    }}]\n  }}]\n}}\n",
        span("eee19b7ec3c1b174"),
        span("not-an-id")
    );
    let line = doc.lines().position(|l| l.contains("not-an-id")).unwrap() + 1;
    wd.write("spans/a.json", &doc);
    wd.write("usage.csv", "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n");
    let out = wd.output(&[
        "report",
        "--spans",
        "spans",
        "--usage",
        "usage.csv",
        "--out",
        "out",
    ]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "a.json:{line}: span \"chat gpt-4o\": spanId \"not-an-id\""
        )),
        "{stderr}"
    );
    // Under --lenient it is skipped alone, counted, as in a file of lines.
    let lenient = [
        "report",
        "--spans",
        "spans",
        "--usage",
        "usage.csv",
        "--out",
        "out",
        "--lenient",
        "--min-match",
        "0",
        "--quiet",
    ];
    let out = wd.output(&lenient);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let summary = wd.read("out/summary.json");
    assert!(summary.contains("\"bad-span\": 1"), "{summary}");
    assert!(
        summary.contains(&format!("a.json:{line}: span")),
        "{summary}"
    );
}

#[test]
fn a_bad_span_skips_only_itself_under_lenient() {
    let wd = Workdir::new("lenient-span");
    let span = |id: &str, name: &str| {
        format!(
            r#"{{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"{id}","name":"{name}"}}"#
        )
    };
    let spans = [
        span("eee19b7ec3c1b171", "a"),
        span("bad", "b"),
        span("eee19b7ec3c1b173", "c"),
    ];
    let line = format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{}]}}]}}]}}"#,
        spans.join(",")
    );
    wd.write("spans/a.jsonl", &format!("{line}\n"));
    wd.write("usage.csv", "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n");
    let (code, stderr) = usage_run(&wd, &["usage.csv"], &["--lenient"]);
    assert_eq!(code, 0, "{stderr}");
    let summary = wd.read("out/summary.json");
    assert!(
        summary.contains("\"spans\": 2,") && summary.contains("\"skipped\": 1"),
        "{summary}"
    );
}

#[test]
fn a_span_giving_an_attribute_twice_with_two_values_is_refused() {
    // The call's response id twice: which record it joins would follow
    // the attributes' order. The same value twice is one value.
    let wd = Workdir::new("repeated-attribute");
    let attr = |value: &str| {
        format!(r#"{{"key":"gen_ai.response.id","value":{{"stringValue":"{value}"}}}}"#)
    };
    let line = |second: &str| {
        format!(
            r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b171","name":"chat","attributes":[{{"key":"gen_ai.operation.name","value":{{"stringValue":"chat"}}}},{},{}]}}]}}]}}]}}"#,
            attr("req-1"),
            attr(second)
        )
    };
    let usage = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n";
    wd.write("usage.csv", usage);
    wd.write("spans/a.jsonl", &format!("{}\n", line("req-2")));
    let (code, stderr) = usage_run(&wd, &["usage.csv"], &[]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "tokenledger: spans/a.jsonl:1: span \"chat\": attribute \"gen_ai.response.id\" is given \
         twice, with different values: which one holds is not known\n"
    );
    wd.write("spans/a.jsonl", &format!("{}\n", line("req-1")));
    let (code, stderr) = usage_run(&wd, &["usage.csv"], &[]);
    assert_eq!(code, 0, "{stderr}");
    // 7 as an integer and as text is one value too.
    let text = line("req-1").replacen("req-1", "7", 1);
    let int = text.replacen(r#"{"stringValue":"req-1"}"#, r#"{"intValue":"7"}"#, 1);
    wd.write("spans/a.jsonl", &format!("{int}\n"));
    let (code, stderr) = usage_run(&wd, &["usage.csv"], &[]);
    assert_eq!(code, 0, "{stderr}");
    // A resource giving a key twice, with two values: refused too.
    let resource = r#"{"resource":{"attributes":[{"key":"tenant.id","value":{"stringValue":"a"}},{"key":"tenant.id","value":{"stringValue":"b"}}]},"scopeSpans""#;
    let line = line("req-1").replacen(r#"{"scopeSpans""#, resource, 1);
    wd.write("spans/a.jsonl", &format!("{line}\n"));
    let (code, stderr) = usage_run(&wd, &["usage.csv"], &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("attribute \"tenant.id\" is given twice"),
        "{stderr}"
    );
    // The same in a flat span (a key written twice, or nested and dotted)
    // and in Jaeger's tags: the first or the last won, by place.
    let flat = |attributes: &str| {
        format!(
            r#"{{"name":"chat","trace_id":"5b8efff798038103d269b633813fc60c","span_id":"eee19b7ec3c1b171","attributes":{{"gen_ai.operation.name":"chat",{attributes}}}}}"#
        )
    };
    let tag = |value: &str| format!(r#"{{"key":"tenant.id","type":"string","value":"{value}"}}"#);
    let jaeger = |second: &str| {
        format!(
            r#"{{"data":[{{"traceID":"5b8efff798038103d269b633813fc60c","spans":[{{"traceID":"5b8efff798038103d269b633813fc60c","spanID":"eee19b7ec3c1b171","operationName":"chat","tags":[{{"key":"gen_ai.operation.name","type":"string","value":"chat"}},{},{}]}}],"processes":{{}}}}]}}"#,
            tag("acme"),
            tag(second)
        )
    };
    let cases = [
        (
            "a.jsonl",
            flat(r#""tenant.id":"acme","tenant.id":"globex""#),
            flat(r#""tenant.id":"acme","tenant.id":"acme""#),
        ),
        (
            "a.jsonl",
            flat(r#""tenant":{"id":"acme"},"tenant.id":"globex""#),
            flat(r#""tenant":{"id":"acme"},"tenant.id":"acme""#),
        ),
        ("a.json", jaeger("globex"), jaeger("acme")),
    ];
    for (name, twice, same) in cases {
        std::fs::remove_dir_all(wd.path("spans")).unwrap();
        wd.write(&format!("spans/{name}"), &format!("{twice}\n"));
        let (code, stderr) = usage_run(&wd, &["usage.csv"], &[]);
        assert_eq!(code, 2, "{twice}: {stderr}");
        assert!(
            stderr.contains("attribute \"tenant.id\" is given twice"),
            "{stderr}"
        );
        wd.write(&format!("spans/{name}"), &format!("{same}\n"));
        let (code, stderr) = usage_run(&wd, &["usage.csv"], &[]);
        assert_eq!(code, 0, "{same}: {stderr}");
    }
}

#[test]
fn a_span_start_that_is_no_time_is_refused_naming_it() {
    // A date where nanoseconds go: the call would lose its fingerprint
    // join (which needs its time) and its dollars go unattributed.
    let wd = Workdir::new("bad-start");
    let line = |start: &str| {
        format!(
            r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b171","name":"chat","startTimeUnixNano":{start},"attributes":[{{"key":"gen_ai.operation.name","value":{{"stringValue":"chat"}}}}]}}]}}]}}]}}"#
        )
    };
    let usage = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n";
    wd.write("usage.csv", usage);
    wd.write(
        "spans/a.jsonl",
        &format!("{}\n", line(r#""2025-06-04T01:20:00Z""#)),
    );
    let (code, stderr) = usage_run(&wd, &["usage.csv"], &[]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "tokenledger: spans/a.jsonl:1: span \"chat\": startTimeUnixNano \"2025-06-04T01:20:00Z\" \
         is not whole nanoseconds since the epoch\n"
    );
    for fine in [r#""1749000000000000000""#, "1749000000000000000", r#""""#] {
        wd.write("spans/a.jsonl", &format!("{}\n", line(fine)));
        let (code, stderr) = usage_run(&wd, &["usage.csv"], &[]);
        assert_eq!(code, 0, "{fine}: {stderr}");
    }
}
