//! A choice between two candidates is a documented rule or an error, never
//! an accident of order: the same request in two usage exports keeps the
//! finer record whichever file sorts first, and the fingerprint join pairs
//! calls and records nearest first and never guesses a tie, whichever
//! order the traces come in; a rounding tie among unattributed records
//! goes to the earliest, whatever line it is on; and a call the
//! fingerprint join pairs across the period's edge is billed in one month,
//! whichever `--period` is run, and a call left without one says why;
//! one request in three exports keeps its stated tier, and copies of a
//! call a part of a microsecond apart keep the earliest, in any order; a
//! record whose two ids lead to two requests makes them one; a model's
//! charges not per token are a line each, never named by the first read.

use crate::workdir::{real, Workdir};

const HEADER: &str = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,service_tier\n";

/// Cache writes dearer than input, so which record is kept shows; the
/// priority tier (the real record's) at twice every rate.
const PRICING: &str = "version = \"t\"\ncurrency = \"USD\"\n[[model]]\nprovider = \"infermatic\"\nmatch = [\"l3-stheno-8b\"]\neffective_from = 2024-01-01\ninput = 1\noutput = 2\ncache_read = 0.5\ncache_write_5m = 100\ncache_write_1h = 1\n[model.tiers.priority]\nmultiplier = 2\n";

/// The OpenRouter record (7 prompt tokens, 3 of them cached, 25 out) and
/// a canonical row of its upstream id, read in either order; the outcome.
fn two_sources(name: &str, canonical: &str, openrouter_first: bool) -> (i32, String, String) {
    let upstream = "chatcmpl-791bcf62-080e-4568-87d0-94c72e3b4946";
    let wd = Workdir::new(name);
    let (or_name, csv_name) = match openrouter_first {
        true => ("usage/a.json", "usage/b.csv"),
        false => ("usage/b.json", "usage/a.csv"),
    };
    wd.write(
        or_name,
        &std::fs::read_to_string(real("openrouter-generation.json")).unwrap(),
    );
    let row = format!("{upstream},2025-05-01T00:00:00Z,infermatic,l3-stheno-8b,{canonical}\n");
    wd.write(csv_name, &format!("{HEADER}{row}"));
    wd.write("pricing.toml", PRICING);
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
    let total = match out.status.code() {
        Some(0) => wd
            .read("out/by_model.csv")
            .lines()
            .nth(1)
            .unwrap()
            .to_string(),
        _ => String::new(),
    };
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap(), total, stderr)
}

#[test]
fn one_request_in_two_exports_keeps_the_finer_record_whatever_the_order() {
    // The gateway's row tells a cache write OpenRouter cannot: 4 uncached
    // + 3 written = OpenRouter's 7 uncached. The finer row is billed.
    let rows: Vec<(i32, String, String)> = [true, false]
        .into_iter()
        .map(|first| two_sources("finer", "4,3,3,0,25,priority", first))
        .collect();
    assert_eq!(rows[0], rows[1]);
    assert_eq!(rows[0].0, 0, "{}", rows[0].2);
    // (4 × 1 + 3 × 0.5 + 3 × 100 + 25 × 2) × 2 (priority) per million.
    assert!(rows[0].1.contains(",0.000711,"), "{}", rows[0].1);
    // The same counts in every class: one record, whichever order.
    let same: Vec<_> = [true, false]
        .into_iter()
        .map(|first| two_sources("same", "7,3,0,0,25,priority", first))
        .collect();
    assert_eq!(same[0], same[1]);
    assert_eq!(same[0].0, 0, "{}", same[0].2);
}

#[test]
fn one_request_in_two_service_tiers_keeps_the_stated_one_and_refuses_two() {
    // OpenRouter says priority; the gateway's finer row says standard, as
    // a source that states no tier reads: the finer row is billed, in the
    // priority tier.
    for first in [true, false] {
        let (code, total, stderr) = two_sources("stated", "4,3,3,0,25,standard", first);
        assert_eq!(code, 0, "{stderr}");
        assert!(total.contains(",0.000711,"), "{total}");
    }
    // Two tiers stated: one of the rows is wrong.
    for first in [true, false] {
        let (code, _, stderr) = two_sources("tiers", "7,3,0,0,25,flex", first);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains("in service tier "), "{stderr}");
    }
}

#[test]
fn one_request_split_two_ways_both_can_tell_is_an_error_naming_both() {
    // Cache reads differ: both sources tell them apart, so one is wrong.
    for first in [true, false] {
        let (code, _, stderr) = two_sources("split", "8,2,0,0,25,priority", first);
        assert_eq!(code, 2, "{stderr}");
        assert!(
            stderr.contains(
                "request_id chatcmpl-791bcf62-080e-4568-87d0-94c72e3b4946 already appeared at"
            ) && stderr.contains("splitting the same tokens otherwise"),
            "{stderr}"
        );
    }
}

/// A Phoenix span line of an id-less LLM call (70 + 20 tokens).
fn call(trace: u32, tenant: &str, start: &str) -> String {
    format!(
        "{{\"name\":\"ChatCompletion\",\"context\":{{\"trace_id\":\"0x{trace:032x}\",\"span_id\":\"0x{trace:016x}\"}},\"parent_id\":null,\"start_time\":\"{start}\",\"attributes\":{{\"llm\":{{\"token_count\":{{\"prompt\":70,\"completion\":20}},\"model_name\":\"gpt-4o-mini\"}},\"openinference\":{{\"span\":{{\"kind\":\"LLM\"}}}},\"tenant\":{{\"id\":\"{tenant}\"}}}}}}\n"
    )
}

/// `report` over `calls` (in this order) and one record at `at`; the
/// tenant rows and the unbilled listing.
fn fingerprint_run(name: &str, calls: &[String], at: &str) -> (String, String) {
    let wd = Workdir::new(name);
    wd.write("spans/calls.jsonl", &calls.concat());
    wd.write(
        "usage.csv",
        &format!("{HEADER}req-9,{at},openai,gpt-4o-mini,70,0,0,0,20,standard\n"),
    );
    wd.run(&[
        "report",
        "--spans",
        "spans",
        "--usage",
        "usage.csv",
        "--out",
        "out",
        "--quiet",
        "--min-match",
        "0",
    ]);
    (
        wd.read("out/by_tenant.csv"),
        wd.read("out/unbilled_spans.csv"),
    )
}

#[test]
fn the_fingerprint_join_takes_the_nearest_call_and_never_guesses_a_tie() {
    let early = call(1, "early", "2025-06-10T09:00:00+00:00");
    let late = call(2, "late", "2025-06-10T09:01:30+00:00");
    // The record is 95 s after the early call and 5 s after the late one.
    for calls in [[early.clone(), late.clone()], [late.clone(), early.clone()]] {
        let (tenants, _) = fingerprint_run("fp-nearest", &calls, "2025-06-10T09:01:35Z");
        assert!(tenants.contains("\nlate,1,"), "{tenants}");
        assert!(!tenants.contains("\nearly,1,"), "{tenants}");
    }
    // Two identical calls, one record: neither is billed, both ambiguous.
    let twin_a = call(3, "a", "2025-06-10T09:00:00+00:00");
    let twin_b = call(4, "b", "2025-06-10T09:00:00+00:00");
    for calls in [
        [twin_a.clone(), twin_b.clone()],
        [twin_b.clone(), twin_a.clone()],
    ] {
        let (tenants, unbilled) = fingerprint_run("fp-tie", &calls, "2025-06-10T09:00:01Z");
        assert!(tenants.contains("\n(unattributed),1,"), "{tenants}");
        assert_eq!(
            unbilled
                .matches("ambiguous: another call or billed record fits")
                .count(),
            2,
            "{unbilled}"
        );
    }
}

/// Three unattributed records of $0.0000015 each: their cells split
/// $0.000004 (half to even), so one of them rounds up; which one is the
/// earliest, whatever line of the export it is on.
#[test]
fn unattributed_records_round_by_time_not_by_line_order() {
    let pricing = PRICING.replace("input = 1\n", "input = 1.5\n");
    let rows = [
        "r1,2025-05-01T00:00:01Z",
        "r2,2025-05-01T00:00:02Z",
        "r3,2025-05-01T00:00:03Z",
    ];
    let listed = |name: &str, order: [usize; 3]| {
        let wd = Workdir::new(name);
        let lines: String = (order.iter())
            .map(|&i| format!("{},infermatic,l3-stheno-8b,1,0,0,0,0,\n", rows[i]))
            .collect();
        wd.write("usage.csv", &format!("{HEADER}{lines}"));
        wd.write("pricing.toml", &pricing);
        wd.write("spans/none.jsonl", r#"{"resourceSpans":[]}"#);
        wd.run(
            &["report", "--spans", "spans", "--usage", "usage.csv"]
                .into_iter()
                .chain([
                    "--pricing",
                    "pricing.toml",
                    "--out",
                    "out",
                    "--min-match",
                    "0",
                ])
                .collect::<Vec<_>>(),
        );
        let csv = wd.read("out/unattributed.csv");
        // Each row's id and cost_usd (the source, file:line, differs).
        let cells: Vec<String> = (csv.lines().skip(1))
            .map(|l| {
                let cells: Vec<&str> = l.split(',').collect();
                format!("{} {}", cells[0], cells[11])
            })
            .collect();
        cells.join(" | ")
    };
    let expected = "r1 0.000002 | r2 0.000001 | r3 0.000001";
    assert_eq!(listed("unattributed-order-a", [0, 1, 2]), expected);
    assert_eq!(listed("unattributed-order-b", [2, 0, 1]), expected);
}

/// A tenant that is the text `(none)` beside calls with no tenant: no
/// tenant, as an empty name is (two rows that print alike were kept apart
/// in by_tenant.csv and merged in forecast.csv and diff), whatever order
/// the traces come in.
#[test]
fn a_tenant_named_like_no_tenant_is_no_tenant_whatever_the_order() {
    let named = call(1, "(none)", "2025-06-10T09:00:00+00:00");
    // 80 prompt tokens, not 70: the two tenants' rows differ in amount.
    let unnamed = call(2, "x", "2025-06-10T10:00:00+00:00")
        .replace(",\"tenant\":{\"id\":\"x\"}", "")
        .replace("\"prompt\":70", "\"prompt\":80");
    let run = |name: &str, calls: [&String; 2]| {
        let wd = Workdir::new(name);
        wd.write("spans/calls.jsonl", &(calls[0].clone() + calls[1]));
        let usage = format!(
            "{HEADER}req-1,2025-06-10T09:00:01Z,openai,gpt-4o-mini,70,0,0,0,20,standard\n\
             req-2,2025-06-10T10:00:01Z,openai,gpt-4o-mini,80,0,0,0,20,standard\n"
        );
        wd.write("usage.csv", &usage);
        let mut args = vec!["report", "--spans", "spans", "--usage", "usage.csv"];
        args.extend(["--out", "out", "--quiet", "--min-match", "0"]);
        wd.run(&args);
        [wd.read("out/ledger.csv"), wd.read("out/focus.csv")]
    };
    let first = run("none-named-a", [&named, &unnamed]);
    // One FOCUS row per charge (input, output): one tenant, none.
    assert_eq!(first[1].lines().count(), 1 + 2, "{}", first[1]);
    assert_eq!(first, run("none-named-b", [&unnamed, &named]));
}

#[test]
fn a_call_paired_across_the_period_edge_is_billed_in_one_month_only() {
    // One id-less gpt-4o call of tenant A at 06-30 23:59:00, and two
    // records fitting it: 200 s before (June) and 90 s after (July). The
    // whole run pairs it with July's; June's own run must not pair it with
    // its next nearest record, or A pays for the call in both months.
    // A second call at 07-01 00:03 finds nothing left to pair with.
    let wd = Workdir::new("period-edge");
    wd.write("spans/a.jsonl", r#"{"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]}, "scopeSpans": [{"scope": {"name": "x"}, "spans": [{"traceId": "abc00000000000000000000000000001", "spanId": "1000000000000001", "name": "root", "kind": 1, "startTimeUnixNano": "1749000000000000000", "endTimeUnixNano": "1749000001000000000", "attributes": [{"key": "tenant.id", "value": {"stringValue": "A"}}]}, {"traceId": "abc00000000000000000000000000001", "spanId": "1000000000000002", "name": "chat gpt-4o", "kind": 1, "startTimeUnixNano": "1751327940000000000", "endTimeUnixNano": "1749000001000000000", "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}}, {"key": "gen_ai.provider.name", "value": {"stringValue": "openai"}}, {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}}, {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "1000"}}, {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "50"}}], "parentSpanId": "1000000000000001"}]}]}]}
{"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]}, "scopeSpans": [{"scope": {"name": "x"}, "spans": [{"traceId": "abc00000000000000000000000000002", "spanId": "2000000000000001", "name": "root", "kind": 1, "startTimeUnixNano": "1749000000000000000", "endTimeUnixNano": "1749000001000000000", "attributes": [{"key": "tenant.id", "value": {"stringValue": "A"}}]}, {"traceId": "abc00000000000000000000000000002", "spanId": "2000000000000002", "name": "chat gpt-4o", "kind": 1, "startTimeUnixNano": "1751328180000000000", "endTimeUnixNano": "1749000001000000000", "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}}, {"key": "gen_ai.provider.name", "value": {"stringValue": "openai"}}, {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}}, {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "1000"}}, {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "50"}}], "parentSpanId": "2000000000000001"}]}]}]}"#);
    wd.write(
        "usage.csv",
        "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n\
         early,2025-06-30T23:55:40Z,openai,gpt-4o-2024-08-06,1000,0,0,0,50,false\n\
         late,2025-07-01T00:00:30Z,openai,gpt-4o-2024-08-06,1000,0,0,0,50,false\n",
    );
    let run = |period: &str| {
        let out = format!("out-{period}");
        wd.run(&[
            "report",
            "--spans",
            "spans",
            "--usage",
            "usage.csv",
            "--min-match",
            "0",
            "--period",
            period,
            "--out",
            &out,
            "--quiet",
        ]);
        (
            wd.read(&format!("{out}/by_tenant.csv")),
            wd.read(&format!("{out}/unbilled_spans.csv")),
        )
    };
    let (june, unbilled) = run("2025-06");
    assert!(!june.contains("\nA,"), "{june}");
    assert!(unbilled.contains(",outside --period,"), "{unbilled}");
    let (july, unbilled) = run("2025-07");
    assert!(july.contains("\nA,1,1000,"), "{july}");
    // A second call (07-01 00:03) whose fitting record went to the nearer
    // call says so, not merely that it has no id.
    assert!(
        unbilled.contains(
            ",no join attribute on span; the billed records fitting its model and \
                           tokens went to nearer calls or lie outside the fingerprint window,"
        ),
        "{unbilled}"
    );
}

#[test]
fn one_request_in_three_exports_keeps_its_stated_tier_and_conflicts_whatever_the_order() {
    // A canonical row and a LiteLLM row state no tier; OpenRouter's
    // record of the same request (its upstream_id) says priority. Read in
    // any order, the request is billed once, at priority: $0.63, not 0.36.
    let canon = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\nreq-1,2025-06-04T00:00:00Z,openai,gpt-4.1-2025-04-14,100000,0,0,0,20000,false\n";
    let litellm = r#"{"request_id": "req-1", "call_type": "acompletion", "spend": 0.36, "total_tokens": 120000, "prompt_tokens": 100000, "completion_tokens": 20000, "startTime": "2025-06-04T00:00:00.000000", "endTime": "2025-06-04T00:00:01.000000", "model": "gpt-4.1-2025-04-14", "custom_llm_provider": "openai", "status": "success"}"#;
    let generation = |id: &str, tier: &str| {
        format!("{{\"data\": {{\"id\": \"{id}\", \"upstream_id\": \"req-1\", \"model\": \"openai/gpt-4.1\", \"provider_name\": \"OpenAI\", \"created_at\": \"2025-06-04T00:00:01Z\", \"native_tokens_prompt\": 100000, \"native_tokens_cached\": 0, \"native_tokens_completion\": 20000, \"native_tokens_reasoning\": 0, \"total_cost\": 0.5{tier}}}}}\n")
    };
    let priority = generation("gen-1", ", \"service_tier\": \"priority\"");
    let run = |name: &str, files: [(&str, &str); 3]| {
        let wd = Workdir::new(name);
        for (file, text) in files {
            wd.write(&format!("usage/{file}"), text);
        }
        wd.write("spans/none.jsonl", r#"{"resourceSpans":[]}"#);
        let args = [
            "report",
            "--spans",
            "spans",
            "--usage",
            "usage",
            "--min-match",
            "0",
        ];
        let out = wd.output(&[&args[..], &["--out", "out", "--quiet"]].concat());
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        match out.status.code() {
            Some(0) => (0, wd.read("out/summary.json"), stderr),
            code => (code.unwrap(), String::new(), stderr),
        }
    };
    let orders = [
        ["1.csv", "2.jsonl", "3.jsonl"],
        ["3.csv", "2.jsonl", "1.jsonl"],
        ["2.csv", "3.jsonl", "1.jsonl"],
    ];
    for [c, l, o] in orders {
        let (code, summary, stderr) =
            run("three-sources", [(c, canon), (l, litellm), (o, &priority)]);
        assert_eq!(code, 0, "{stderr}");
        assert!(
            summary.contains("\"cost_usd\": \"0.630000\""),
            "{c} {l} {o}: {summary}"
        );
    }
    // Two OpenRouter generations naming one upstream request: an error,
    // whether the canonical row (which meets each) is read first or last.
    let second = generation("gen-2", "");
    for [c, l, o] in orders {
        let both = format!("{priority}{second}");
        let (code, _, stderr) = run("two-generations", [(c, canon), (l, litellm), (o, &both)]);
        assert_eq!(code, 2, "{c} {l} {o}: {stderr}");
        assert!(stderr.contains("with different values"), "{stderr}");
    }
}

/// An OTLP span line: `id` under the root `a1` (none for the root),
/// starting at `start` ns, with `attrs` (string and int values).
fn otlp_span(id: &str, parent: Option<&str>, start: u64, attrs: &[(&str, &str)]) -> String {
    let attrs: Vec<String> = attrs
        .iter()
        .map(|(k, v)| match v.parse::<u64>() {
            Ok(n) => format!(r#"{{"key":"{k}","value":{{"intValue":"{n}"}}}}"#),
            Err(_) => format!(r#"{{"key":"{k}","value":{{"stringValue":"{v}"}}}}"#),
        })
        .collect();
    let parent = parent.map_or(String::new(), |p| format!(r#""parentSpanId":"{p}","#));
    format!(
        r#"{{"resourceSpans":[{{"resource":{{}},"scopeSpans":[{{"scope":{{"name":"x"}},"spans":[{{"traceId":"{}","spanId":"{id:0>16}",{parent}"name":"chat","startTimeUnixNano":"{start}","endTimeUnixNano":"{}","attributes":[{}]}}]}}]}}]}}"#,
        "c".repeat(32),
        start + 1_000_000,
        attrs.join(",")
    ) + "\n"
}

#[test]
fn copies_of_a_call_a_part_of_a_microsecond_apart_keep_the_earliest_whatever_the_order() {
    // Call X exported at T (a.jsonl) and at T + 700 ns (b.jsonl), call Y
    // at T + 300 ns: X is step 1 whichever file is read first.
    let t: u64 = 1_749_000_000_000_000_000;
    let call = |id: &str, start: u64, resp: &str, tokens: &str| {
        let attrs = [
            ("gen_ai.operation.name", "chat"),
            ("gen_ai.request.model", "gpt-4o"),
            ("gen_ai.response.id", resp),
            ("gen_ai.usage.input_tokens", tokens),
            ("gen_ai.usage.output_tokens", "0"),
        ];
        otlp_span(id, Some(&format!("{:0>16}", "a1")), start, &attrs)
    };
    let root = otlp_span("a1", None, t - 1_000_000_000, &[("tenant.id", "acme")]);
    let first = format!(
        "{root}{}{}",
        call("b2", t + 300, "req-y", "10"),
        call("b1", t, "req-x", "100000")
    );
    let usage = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\nreq-x,2025-06-04T01:20:00Z,openai,gpt-4o-2024-08-06,100000,0,0,0,0,false\nreq-y,2025-06-04T01:20:00Z,openai,gpt-4o-2024-08-06,10,0,0,0,0,false\n";
    let steps: Vec<String> = [("a.jsonl", "b.jsonl"), ("b.jsonl", "a.jsonl")]
        .into_iter()
        .map(|(one, other)| {
            let wd = Workdir::new("span-copies");
            wd.write(&format!("spans/{one}"), &first);
            wd.write(
                &format!("spans/{other}"),
                &call("b1", t + 700, "req-x", "100000"),
            );
            wd.write("usage.csv", usage);
            wd.run(&[
                "report",
                "--spans",
                "spans",
                "--usage",
                "usage.csv",
                "--out",
                "out",
                "--quiet",
            ]);
            wd.read("out/by_step.csv")
        })
        .collect();
    assert_eq!(steps[0], steps[1]);
    assert!(
        steps[0].lines().nth(1).unwrap().starts_with("1,1,100000"),
        "{}",
        steps[0]
    );
}

#[test]
fn a_record_whose_two_ids_lead_to_two_kept_records_makes_them_one_request() {
    // A canonical row logs the message id, a LiteLLM row the AWS request
    // id; the Bedrock log carries both. Read in any order, one request.
    let canon = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\nmsg_1,2025-11-15T10:00:00Z,aws.bedrock,us.anthropic.claude-sonnet-4-5-20250929-v1,100,0,0,0,300,false\n";
    let litellm = r#"{"request_id": "aws-1", "call_type": "acompletion", "spend": 0.01, "total_tokens": 400, "prompt_tokens": 100, "completion_tokens": 300, "startTime": "2025-11-15T10:00:00.000000", "endTime": "2025-11-15T10:00:01.000000", "model": "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "custom_llm_provider": "bedrock", "status": "success"}"#;
    let bedrock = r#"{"schemaType":"ModelInvocationLog","schemaVersion":"1.0","timestamp":"2025-11-15T10:00:00Z","requestId":"aws-1","operation":"InvokeModel","modelId":"us.anthropic.claude-sonnet-4-5-20250929-v1:0","input":{"inputTokenCount":100},"output":{"outputBodyJson":{"id":"msg_1","usage":{"input_tokens":100,"output_tokens":300}},"outputTokenCount":300}}"#;
    for [c, l, b] in [
        ["a.csv", "b.jsonl", "c.json"],
        ["c.csv", "b.jsonl", "a.json"],
        ["b.csv", "c.jsonl", "a.json"],
    ] {
        let wd = Workdir::new("two-kept");
        wd.write(&format!("usage/{c}"), canon);
        wd.write(&format!("usage/{l}"), litellm);
        wd.write(&format!("usage/{b}"), bedrock);
        wd.write("spans/none.jsonl", r#"{"resourceSpans":[]}"#);
        let args = [
            "report",
            "--spans",
            "spans",
            "--usage",
            "usage",
            "--min-match",
            "0",
        ];
        wd.run(&[&args[..], &["--out", "out", "--quiet"]].concat());
        let summary = wd.read("out/summary.json");
        assert!(
            summary.contains("\"duplicate_usage_records\": 2,"),
            "{c} {l} {b}: {summary}"
        );
    }
}

#[test]
fn a_parent_cycle_is_cut_in_one_place_whatever_the_span_order() {
    // Agents x and y are each other's parent; the call is under y. Under
    // --lenient the cycle is cut, and the run's root agent and tenant do
    // not depend on which span was read first.
    let t: u64 = 1_749_000_000_000_000_000;
    let agent = |name, tenant| {
        [
            ("gen_ai.operation.name", "invoke_agent"),
            ("gen_ai.agent.name", name),
            ("tenant.id", tenant),
        ]
    };
    let a = otlp_span("a", Some(&format!("{:0>16}", "b")), t, &agent("x", "t-x"));
    let b = otlp_span("b", Some(&format!("{:0>16}", "a")), t, &agent("y", "t-y"));
    let call = [
        ("gen_ai.operation.name", "chat"),
        ("gen_ai.request.model", "gpt-4o"),
        ("gen_ai.response.id", "req-c"),
        ("gen_ai.usage.input_tokens", "10"),
        ("gen_ai.usage.output_tokens", "0"),
    ];
    let c = otlp_span("c", Some(&format!("{:0>16}", "b")), t + 5, &call);
    let usage = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\nreq-c,2025-06-04T01:20:00Z,openai,gpt-4o-2024-08-06,10,0,0,0,0,false\n";
    let runs: Vec<String> = [[&a, &b, &c], [&c, &b, &a], [&b, &a, &c]]
        .into_iter()
        .map(|order| {
            let wd = Workdir::new("cycle-order");
            wd.write("spans/s.jsonl", &order.map(String::as_str).concat());
            wd.write("usage.csv", usage);
            let args = [
                "report",
                "--spans",
                "spans",
                "--usage",
                "usage.csv",
                "--lenient",
            ];
            wd.run(&[&args[..], &["--out", "out", "--quiet"]].concat());
            wd.read("out/by_run.csv") + &wd.read("out/by_agent.csv")
        })
        .collect();
    assert_eq!(runs[0], runs[1]);
    assert_eq!(runs[0], runs[2]);
}

#[test]
fn a_models_charges_not_per_token_are_lines_of_their_own_whatever_the_order() {
    // Two OpenAI charges of one model and day, neither per token: they
    // were one $8 line named after whichever row came first, so a split
    // matching `code interpreter*` spread $8 in one order and $0 in the
    // other.
    let wd = Workdir::new("charges-not-per-token");
    wd.write(
        "u.csv",
        &format!("{HEADER}r1,2025-06-20T09:00:00Z,openai,gpt-4o,1000,0,0,0,100,\n"),
    );
    let row = |dollars: &str, item: &str| {
        format!("1750377600,1750464000,2025-06-20T00:00:00+00:00,2025-06-21T00:00:00+00:00,{dollars},usd,\"{item}\",proj_abc,org-abc,Acme\n")
    };
    let rows = [
        row("3", "file search storage | gpt-4o"),
        row("5", "code interpreter sessions | gpt-4o"),
    ];
    let header = "start_time,end_time,start_time_iso,end_time_iso,amount_value,amount_currency,line_item,project_id,organization_id,organization_name\n";
    let mut seen = Vec::new();
    for order in [[0, 1], [1, 0]] {
        wd.write(
            "costs.csv",
            &(header.to_string() + &rows[order[0]] + &rows[order[1]]),
        );
        let args = [
            "reconcile",
            "--usage",
            "u.csv",
            "--invoice",
            "costs.csv",
            "--out",
            "out",
        ];
        wd.fail(&args, 1);
        seen.push(wd.read("out/reconciliation.csv"));
    }
    assert_eq!(seen[0], seen[1]);
    for (dollars, item) in [
        ("3", "file search storage"),
        ("5", "code interpreter sessions"),
    ] {
        assert!(
            seen[0].contains(&format!(",{dollars}.000000,")) && seen[0].contains(item),
            "{}",
            seen[0]
        );
    }
}
