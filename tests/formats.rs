//! Every usage and span format on realistic records: each source's token
//! arithmetic worked out by hand, compressed inputs, and one fleet exported
//! three ways giving the same reports.

use crate::workdir::{csv_rows, fixture, real, repo, row, Workdir};

const USAGE_HEADER: &str = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n";

/// Report on `spans` and `usage` (paths in the work dir) with the shipped
/// pricing table; returns the work dir.
fn report(wd: &Workdir, spans: &str, usage: &[&str], flags: &[&str]) {
    let pricing = repo().join("pricing.toml");
    let mut args = vec!["report", "--spans", spans, "--usage"];
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
    wd.run(&args);
}

#[test]
fn gateway_and_bedrock_logs_join_flat_spans_of_every_library() {
    // LiteLLM (JSON array): Claude Sonnet 4 on 2025-06-10, prompt_tokens 3000
    // includes 2000 cache reads and 300 + 100 cache writes: 600 uncached.
    //   600×3 + 2000×0.30 + 300×3.75 + 100×6 + 500×15 (per 1M)
    //   = 0.0018 + 0.0006 + 0.001125 + 0.0006 + 0.0075 = 0.011625
    // LiteLLM: GPT-4.1, prompt 3000 includes 2048 cached: 952 uncached.
    //   952×2 + 2048×0.50 + 100×8 = 0.001904 + 0.001024 + 0.0008 = 0.003728
    // The failed row was not billed.
    // Bedrock (gzipped JSON lines): Claude 3 Haiku, counts already split.
    //   1200×0.25 + 4000×0.03 + 800×0.30 + 300×1.25
    //   = 0.0003 + 0.00012 + 0.00024 + 0.000375 = 0.001035
    // Bedrock: Nova Lite through an inference-profile ARN: 50×0.06 + 10×0.24 = 0.0000054
    // Spans (flat JSONL): a Logfire-style chat span under an agent whose
    // resource names the tenant (acme); a Vercel AI SDK span (ai.response.id,
    // session.id → tenant sess-9); an AWS SDK span joined on aws.request_id
    // and an OpenLLMetry span on the Bedrock msg_ id (tenant globex).
    let wd = Workdir::new("gateways");
    wd.copy(&fixture("spans/flat.jsonl"), "spans/flat.jsonl");
    wd.copy(
        &fixture("usage/litellm-spend-logs.json"),
        "usage/litellm.json",
    );
    wd.copy(
        &fixture("usage/bedrock-invocations.jsonl.gz"),
        "usage/bedrock.jsonl.gz",
    );
    report(
        &wd,
        "spans",
        &["usage"],
        &["--join-attr", "gen_ai.response.id,aws.request_id"],
    );
    let tenants = wd.read("out/by_tenant.csv");
    assert_eq!(
        row(&tenants, "acme"),
        "acme,1,600,2000,300,100,500,0,0.001800,0.000600,0.001725,0.007500,0.011625,70.91,0.6667"
    );
    assert_eq!(
        row(&tenants, "sess-9"),
        "sess-9,1,952,2048,0,0,100,0,0.001904,0.001024,0.000000,0.000800,0.003728,22.74,0.6827"
    );
    // 0.001035 + 0.0000054: Haiku and Nova; cache hits 4000 / (1250 + 4000 + 800).
    assert_eq!(
        row(&tenants, "globex"),
        "globex,2,1250,4000,800,0,310,0,0.000303,0.000120,0.000240,0.000377,0.001040,6.35,0.6612"
    );
    let summary = wd.read("out/summary.json");
    for fact in [
        "\"cost_usd\": \"0.016393\"",
        "\"usage_rows_not_billed\": 1,",
        "\"matched\": 4,",
        "\"unbilled_calls\": 0,",
    ] {
        assert!(summary.contains(fact), "{fact} in {summary}");
    }
    for format in [
        "litellm-spend-logs",
        "bedrock-invocation-logs",
        "flat-jsonl",
    ] {
        assert!(
            summary.contains(&format!("\"format\": \"{format}\"")),
            "{format}"
        );
    }
    // LiteLLM's own estimates are kept beside the computed cost:
    // 0.0109125 + 0.0069 = 0.0178125, half to even 0.017812.
    assert!(
        summary.contains("\"reported_cost_usd\": \"0.017812\""),
        "{summary}"
    );
}

#[test]
fn litellm_csv_dump_reads_like_the_json() {
    // The same two billed rows as a LiteLLM_SpendLogs CSV dump: counts as
    // floats ("3000.0"), metadata and tags as JSON text. Without spans the
    // records are unattributed, with LiteLLM's team or end user as the hint
    // and their labels (the key, tags, team, end user) listed.
    let wd = Workdir::new("litellm-csv");
    wd.copy(&fixture("usage/litellm-spend-logs.csv"), "spend.csv");
    wd.write("spans/none.jsonl", r#"{"resourceSpans":[]}"#);
    report(&wd, "spans", &["spend.csv"], &[]);
    let listing = wd.read("out/unattributed.csv");
    assert!(listing.contains("\nmsg_01XFDUDYJgAACzvnptvVoYEL,2025-06-10T09:00:00.123Z,anthropic,claude-sonnet-4-20250514,600,2000,300,100,500,0,false,0.011625,0.0109125,team-acme,spend.csv:2,api_key=88dc28d0;tags=feature:support;team_id=team-acme\n"), "{listing}");
    assert!(listing.contains("\nchatcmpl-9ZKMURhVYSi9D6r6PJ9vLcayIK0Vm,2025-06-11T10:00:00Z,openai,gpt-4.1-2025-04-14,952,2048,0,0,100,0,false,0.003728,0.0069,customer-77,spend.csv:3,api_key=88dc28d0;end_user=customer-77\n"), "{listing}");
    assert!(wd
        .read("out/summary.json")
        .contains("\"usage_rows_not_billed\": 1,"));
}

#[test]
fn real_openrouter_and_bedrock_records() {
    // OpenRouter's documented generation record ({"data": …}): native prompt
    // 10 includes 3 cached: 7 uncached, 3 cache read, 25 output (reasoning
    // included). It joins the span that carries its upstream_id.
    // Bedrock's real ConverseStream log: Nova Lite, 4 in, 38 out.
    let wd = Workdir::new("real-usage");
    wd.copy(&real("openrouter-generation.json"), "usage/openrouter.json");
    wd.copy(
        &real("bedrock-invocation-log-conversestream.json"),
        "usage/bedrock.json",
    );
    wd.write(
        "pricing.toml",
        "version = \"t\"\ncurrency = \"USD\"\n[[model]]\nprovider = \"infermatic\"\nmatch = [\"l3-stheno-8b\"]\neffective_from = 2024-01-01\ninput = 1\noutput = 2\ncache_read = 0.5\ncache_write_5m = 1\ncache_write_1h = 1\n[model.tiers.priority]\nmultiplier = 2\n\
         [model.requests]\nweb_search_results = 4\n\
         [[model]]\nprovider = \"aws.bedrock\"\nmatch = [\"amazon.nova-lite-v1\"]\neffective_from = 2024-12-03\ninput = 0.06\noutput = 0.24\ncache_read = 0.015\ncache_write_5m = 0.06\ncache_write_1h = 0.06\n",
    );
    let span = r#"{"name":"chat l3-stheno-8b","trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"00f067aa0ba902b7","attributes":{"gen_ai.operation.name":"chat","gen_ai.response.id":"chatcmpl-791bcf62-080e-4568-87d0-94c72e3b4946","tenant.id":"acme"}}"#;
    wd.write("spans/a.jsonl", &format!("{span}\n"));
    wd.run(&[
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
    ]);
    // In the priority tier it was served in, at twice every rate:
    // (7×1 + 3×0.5 + 25×2) × 2 = 0.000117; its 5 web-search results at $4
    // per 1,000 are 0.02 more (a fee, no tier's): 0.020117, 99.95 % beside
    // Nova's 0.00000936.
    assert_eq!(
        row(&wd.read("out/by_tenant.csv"), "acme"),
        "acme,1,7,3,0,0,25,5,5,0.000014,0.000003,0.000000,0.000100,0.020000,0.020117,99.95,0.3000"
    );
    assert!(wd.read("out/unattributed.csv").contains("\nff4b6c63-5561-4431-93b8-06a817275900,2025-03-11T00:38:02Z,aws.bedrock,amazon.nova-lite-v1,4,0,0,0,38,0,false,0.000009,,,usage/bedrock.json:1,identity.arn=arn:aws:iam::XXXXXXXXXXXX:user/dheeraj\n"));
}

#[test]
fn one_fleet_exported_three_ways_gives_the_same_reports() {
    // Canonical CSV, LiteLLM spend logs and OpenRouter generations of the
    // same simulated month (plain: no batch, no cache writes, which
    // OpenRouter records cannot carry) give byte-identical per-tenant,
    // per-feature and per-agent reports.
    let wd = Workdir::new("three-ways");
    let mut outputs = Vec::new();
    for (format, file) in [
        ("canonical", "usage.csv"),
        ("litellm", "spend-logs.jsonl"),
        ("openrouter", "generations.jsonl"),
    ] {
        wd.run(&[
            "simulate",
            "--runs",
            "150",
            "--seed",
            "11",
            "--plain",
            "--usage-format",
            format,
            "--out",
            format,
        ]);
        let pricing = repo().join("pricing.toml");
        wd.run(&[
            "report",
            "--spans",
            &format!("{format}/spans"),
            "--usage",
            &format!("{format}/{file}"),
            "--period",
            "2025-06",
            "--out",
            &format!("out-{format}"),
            "--quiet",
            "--pricing",
            pricing.to_str().unwrap(),
        ]);
        let reports: Vec<String> = ["by_tenant.csv", "by_feature.csv", "by_agent.csv"]
            .iter()
            .map(|r| wd.read(&format!("out-{format}/{r}")))
            .collect();
        outputs.push((format, reports));
    }
    assert!(outputs[0].1[0].lines().count() > 5, "a fleet with tenants");
    for (format, reports) in &outputs[1..] {
        assert!(
            reports == &outputs[0].1,
            "{format} reports differ from the canonical CSV's"
        );
    }
}

#[test]
fn compressed_inputs_are_read_whatever_their_name() {
    // The hand-made fleet with its spans gzipped and its usage zstd-compressed
    // in two frames after a skippable one, as `pzstd` and `zstd >>` write.
    let wd = Workdir::handmade("compressed");
    let spans = std::fs::read(wd.path("spans/children.jsonl")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &spans).unwrap();
    std::fs::write(wd.path("spans/children.jsonl.gz"), gz.finish().unwrap()).unwrap();
    std::fs::remove_file(wd.path("spans/children.jsonl")).unwrap();
    let usage = std::fs::read(wd.path("usage.csv")).unwrap();
    let frame = |text: &[u8]| {
        ruzstd::encoding::compress_to_vec(text, ruzstd::encoding::CompressionLevel::Fastest)
    };
    let half = usage.len() / 2;
    let cut = half + usage[half..].iter().position(|&b| b == b'\n').unwrap() + 1;
    let mut zst = vec![0x50, 0x2a, 0x4d, 0x18, 2, 0, 0, 0, 7, 7];
    zst.extend(frame(&usage[..cut]));
    zst.extend(frame(&usage[cut..]));
    std::fs::write(wd.path("usage.csv.zst"), zst).unwrap();
    wd.run(&[
        "report",
        "--spans",
        "spans",
        "--usage",
        "usage.csv.zst",
        "--pricing",
        "pricing.toml",
        "--period",
        "2025-06",
        "--out",
        "out",
        "--quiet",
    ]);
    let summary = wd.read("out/summary.json");
    assert!(summary.contains("\"cost_usd\": \"1.022358\""), "{summary}");
    assert!(summary.contains("\"spans\": 12,"), "{summary}");
}

#[test]
fn usage_format_can_be_forced() {
    let wd = Workdir::new("forced");
    wd.write(
        "usage.txt",
        &format!("{USAGE_HEADER}r,2025-06-01T00:00:00Z,openai,gpt-4.1,1,0,0,0,1,false\n"),
    );
    wd.write("spans/s.jsonl", r#"{"resourceSpans":[]}"#);
    let stderr = wd.fail(
        &[
            "report",
            "--spans",
            "spans",
            "--usage",
            "usage.txt",
            "--usage-format",
            "bedrock",
        ],
        2,
    );
    assert!(
        stderr.contains("usage.txt:1: not a Bedrock model invocation log record"),
        "{stderr}"
    );
    wd.run(&[
        "report",
        "--spans",
        "spans",
        "--usage",
        "usage.txt",
        "--usage-format",
        "canonical",
        "--quiet",
        "--min-match",
        "0",
    ]);
}

#[test]
fn a_month_without_ids_joins_by_fingerprint_to_the_micro_dollar() {
    // 40 % of the chat spans carry no id, and the usage is LiteLLM's spend
    // logs under LiteLLM's own request ids: no call joins by id. The
    // fingerprint join (model, tokens, time) must give the reports of the
    // same month whose every span carries the provider's id.
    let wd = Workdir::new("fingerprint-month");
    let simulate = |extra: &[&str], out: &str| {
        let mut args = vec![
            "simulate", "--runs", "300", "--seed", "11", "--plain", "--out", out,
        ];
        args.extend(extra);
        wd.run(&args);
    };
    simulate(&[], "ids");
    simulate(
        &[
            "--drop-ids",
            "40",
            "--usage-format",
            "litellm",
            "--gateway-ids",
        ],
        "gateway",
    );
    let run = |spans: &str, usage: &str, out: &str| {
        let pricing = repo().join("pricing.toml");
        wd.run(&[
            "report",
            "--spans",
            spans,
            "--usage",
            usage,
            "--out",
            out,
            "--quiet",
            "--pricing",
            pricing.to_str().unwrap(),
        ]);
    };
    run("ids/spans", "ids/usage.csv", "a");
    run("gateway/spans", "gateway/spend-logs.jsonl", "b");
    for report in [
        "by_tenant.csv",
        "by_feature.csv",
        "by_agent.csv",
        "by_tool.csv",
        "by_run.csv",
    ] {
        assert_eq!(
            wd.read(&format!("b/{report}")),
            wd.read(&format!("a/{report}")),
            "{report}"
        );
    }
    let summary = wd.read("b/summary.json");
    let matched = summary
        .split("\"matched\": ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap();
    assert!(
        summary.contains(&format!("\"matched_by_fingerprint\": {matched},")),
        "{summary}"
    );
    assert!(matched.parse::<u64>().unwrap() > 500, "{summary}");
}

#[test]
fn phoenix_nested_attributes_are_read_as_dotted_keys() {
    // A Phoenix span JSONL line: OpenInference attributes nested as JSON
    // objects. No response id, so the call joins its record by fingerprint
    // (model, 70 + 20 tokens, one second apart).
    let wd = Workdir::new("phoenix");
    wd.write(
        "spans/phoenix.jsonl",
        "{\"name\":\"ChatCompletion\",\"context\":{\"trace_id\":\"0x5b8efff798038103d269b633813fc60c\",\"span_id\":\"0xeee19b7ec3c1b174\"},\"parent_id\":null,\"start_time\":\"2025-06-10T09:00:00+00:00\",\"attributes\":{\"llm\":{\"token_count\":{\"prompt\":70,\"completion\":20},\"model_name\":\"gpt-4o-mini\"},\"openinference\":{\"span\":{\"kind\":\"LLM\"}},\"session\":{\"id\":\"s-1\"}}}\n",
    );
    wd.write(
        "usage.csv",
        &format!("{USAGE_HEADER}req-9,2025-06-10T09:00:01Z,openai,gpt-4o-mini,70,0,0,0,20,false\n"),
    );
    report(&wd, "spans", &["usage.csv"], &[]);
    assert!(row(&wd.read("out/by_tenant.csv"), "s-1").starts_with("s-1,1,70,0,0,0,20,"));
    let summary = wd.read("out/summary.json");
    assert!(
        summary.contains("\"matched_by_fingerprint\": 1,"),
        "{summary}"
    );
}

#[test]
fn jaeger_json_is_read_with_process_tags_as_resource() {
    // The Jaeger query API's shape, pretty-printed: a 16-digit trace id, the
    // parent in `references`, tenant on the process, the call under an agent.
    let wd = Workdir::new("jaeger");
    wd.write(
        "spans/trace.json",
        r#"{
  "data": [
    {
      "traceID": "d269b633813fc60c",
      "spans": [
        {
          "traceID": "d269b633813fc60c",
          "spanID": "a000000000000001",
          "operationName": "invoke_agent planner",
          "references": [],
          "startTime": 1749546000000000,
          "duration": 5000000,
          "tags": [{"key": "gen_ai.operation.name", "type": "string", "value": "invoke_agent"}],
          "processID": "p1"
        },
        {
          "traceID": "d269b633813fc60c",
          "spanID": "a000000000000002",
          "operationName": "chat gpt-4o-mini",
          "references": [{"refType": "CHILD_OF", "traceID": "d269b633813fc60c", "spanID": "a000000000000001"}],
          "startTime": 1749546001000000,
          "duration": 900000,
          "tags": [
            {"key": "gen_ai.operation.name", "type": "string", "value": "chat"},
            {"key": "gen_ai.response.id", "type": "string", "value": "chatcmpl-jaeger-1"},
            {"key": "gen_ai.usage.input_tokens", "type": "int64", "value": 70},
            {"key": "gen_ai.usage.output_tokens", "type": "int64", "value": 20}
          ],
          "processID": "p1"
        }
      ],
      "processes": {"p1": {"serviceName": "agents", "tags": [{"key": "tenant.id", "type": "string", "value": "acme"}]}}
    }
  ]
}
"#,
    );
    wd.write(
        "usage.csv",
        &format!("{USAGE_HEADER}chatcmpl-jaeger-1,2025-06-10T09:00:02Z,openai,gpt-4o-mini,70,0,0,0,20,false\n"),
    );
    report(&wd, "spans", &["usage.csv"], &[]);
    assert!(row(&wd.read("out/by_tenant.csv"), "acme").starts_with("acme,1,70,0,0,0,20,"));
    assert!(row(&wd.read("out/by_agent.csv"), "planner").starts_with("planner,1,"));
    let summary = wd.read("out/summary.json");
    assert!(summary.contains("\"format\": \"jaeger-json\""), "{summary}");
    assert!(
        summary.contains("\"matched_by_fingerprint\": 0,"),
        "{summary}"
    );
}

#[test]
fn one_request_written_as_several_spans_counts_once() {
    // One span per event (start, success, finish), each with the request's
    // id: one call, billed once, no span listed as unbilled.
    let wd = Workdir::new("repeats");
    let span = |id: &str, event: &str| {
        format!("{{\"name\":\"chat gpt-4o-mini {event}\",\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\",\"span_id\":\"{id}\",\"parent_span_id\":\"00f067aa0ba90200\",\"attributes\":{{\"gen_ai.operation.name\":\"chat\",\"gen_ai.response.id\":\"chatcmpl-1\"}}}}\n")
    };
    let root = "{\"name\":\"invoke_agent helper\",\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\",\"span_id\":\"00f067aa0ba90200\",\"attributes\":{\"gen_ai.operation.name\":\"invoke_agent\",\"tenant.id\":\"acme\"}}\n";
    wd.write(
        "spans/events.jsonl",
        &[
            root.to_string(),
            span("00f067aa0ba90201", "start"),
            span("00f067aa0ba90202", "success"),
            span("00f067aa0ba90203", "finish"),
        ]
        .concat(),
    );
    wd.write(
        "usage.csv",
        &format!(
            "{USAGE_HEADER}chatcmpl-1,2025-06-10T09:00:01Z,openai,gpt-4o-mini,70,0,0,0,20,false\n"
        ),
    );
    report(&wd, "spans", &["usage.csv"], &[]);
    let summary = wd.read("out/summary.json");
    for fact in [
        "\"calls\": 1,",
        "\"repeated_call_spans\": 2,",
        "\"matched\": 1,",
        "\"unbilled_calls\": 0,",
    ] {
        assert!(summary.contains(fact), "{fact} in {summary}");
    }
    assert!(row(&wd.read("out/by_tenant.csv"), "acme").starts_with("acme,1,70,0,0,0,20,"));
}

#[test]
fn reasoning_tokens_are_read_shown_apart_and_checked_against_output() {
    let wd = Workdir::new("reasoning");
    wd.write(
        "spans/s.jsonl",
        concat!(
            r#"{"name":"invoke_agent planner","trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"00f067aa0ba902b7","attributes":{"gen_ai.operation.name":"invoke_agent","gen_ai.agent.name":"planner","tenant.id":"acme"}}"#,
            "\n",
            r#"{"name":"chat o3","trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"00f067aa0ba902b8","parent_span_id":"00f067aa0ba902b7","attributes":{"gen_ai.operation.name":"chat","gen_ai.request.model":"o3","gen_ai.response.id":"r1","gen_ai.usage.input_tokens":1000,"gen_ai.usage.output_tokens":900,"gen_ai.usage.reasoning.output_tokens":600}}"#,
            "\n",
            r#"{"name":"chat o3","trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"00f067aa0ba902b9","parent_span_id":"00f067aa0ba902b7","attributes":{"gen_ai.operation.name":"chat","gen_ai.request.model":"o3","gen_ai.response.id":"r-lost","gen_ai.usage.input_tokens":10,"gen_ai.usage.output_tokens":50,"llm.token_count.completion_details.reasoning":40}}"#,
            "\n"
        ),
    );
    let header = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,reasoning_tokens,batch\n";
    wd.write(
        "usage.csv",
        &format!("{header}r1,2025-06-12T00:00:00Z,openai,o3-2025-04-16,1000,0,0,0,900,600,false\n"),
    );
    wd.run(&[
        "report",
        "--spans",
        "spans",
        "--usage",
        "usage.csv",
        "--period",
        "2025-06",
        "--quiet",
        "--out",
        "out",
    ]);
    // o3 after its 2025-06-10 cut: $2 in, $8 out; the 600 reasoning tokens
    // are billed inside the 900 output tokens.
    let tenants = csv_rows(&wd.read("out/by_tenant.csv"));
    let column = |name: &str| tenants[0].iter().position(|c| c == name).unwrap();
    assert_eq!(tenants[1][0], "acme");
    assert_eq!(tenants[1][column("output_tokens")], "900");
    assert_eq!(tenants[1][column("reasoning_tokens")], "600");
    assert_eq!(tenants[1][column("cost_usd")], "0.009200");
    assert!(wd
        .read("out/summary.json")
        .contains("\"reasoning_tokens\": 600"));
    let unbilled = csv_rows(&wd.read("out/unbilled_spans.csv"));
    let reasoning = unbilled[0]
        .iter()
        .position(|c| c == "span_reasoning_tokens")
        .unwrap();
    assert_eq!(unbilled[1][reasoning], "40");
    // More reasoning than output is a bad record, named by line and column.
    wd.write(
        "usage.csv",
        &format!("{header}r1,2025-06-12T00:00:00Z,openai,o3-2025-04-16,1000,0,0,0,900,901,false\n"),
    );
    let stderr = wd.fail(
        &[
            "report",
            "--spans",
            "spans",
            "--usage",
            "usage.csv",
            "--out",
            "out2",
        ],
        2,
    );
    assert!(
        stderr.contains("usage.csv:2: reasoning_tokens is 901, more than the 900 output tokens (output_tokens) it is a part of"),
        "{stderr}"
    );
}

#[test]
fn claude_agent_sdk_partial_usage_is_the_chat_spans_own_count() {
    // Logfire's Claude Agent SDK instrumentation writes a chat span's
    // per-message usage as gen_ai.usage.partial.* (the invoke_agent root
    // carries the totals); input counts every input token, cache reads and
    // writes apart beside it. Billed for the same counts, the call joins by
    // fingerprint.
    let wd = Workdir::new("partial-usage");
    wd.write(
        "spans/s.jsonl",
        concat!(
            r#"{"name":"invoke_agent","trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"00f067aa0ba902b7","start_time":"2025-06-12T10:00:00Z","attributes":{"gen_ai.operation.name":"invoke_agent","gen_ai.usage.input_tokens":2011,"gen_ai.usage.output_tokens":40}}"#,
            "\n",
            r#"{"name":"chat claude-sonnet-4-20250514","trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"00f067aa0ba902b8","parent_span_id":"00f067aa0ba902b7","start_time":"2025-06-12T10:00:01Z","attributes":{"gen_ai.operation.name":"chat","gen_ai.request.model":"claude-sonnet-4-20250514","gen_ai.usage.partial.input_tokens":2011,"gen_ai.usage.partial.output_tokens":40,"gen_ai.usage.partial.cache_read.input_tokens":2000}}"#,
            "\n"
        ),
    );
    wd.write(
        "usage.csv",
        &format!("{USAGE_HEADER}msg_1,2025-06-12T10:00:03Z,anthropic,claude-sonnet-4-20250514,11,2000,0,0,40,false\n"),
    );
    wd.run(&[
        "report",
        "--spans",
        "spans",
        "--usage",
        "usage.csv",
        "--period",
        "2025-06",
        "--quiet",
        "--out",
        "out",
    ]);
    let summary = wd.read("out/summary.json");
    assert!(
        summary.contains("\"matched_by_fingerprint\": 1,"),
        "{summary}"
    );
    assert!(summary.contains("\"calls\": 1,"), "{summary}");
}
