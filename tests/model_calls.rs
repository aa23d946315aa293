//! What real libraries record, read right: only model calls are calls (an
//! AWS API span's `aws.request_id`, an ADK event id, never), a span's
//! model alias meets the billed snapshot in the fingerprint join, each
//! library's token and agent spellings, CloudWatch `aws/spans` records, and
//! Claude Code's log events as a fleet's spans and usage; a sub-agent run as a
//! tool under its caller's model call is a call of its own.

use crate::workdir::{fixture, real, row, Workdir};

const HEADER: &str = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n";

fn summary_has(wd: &Workdir, fields: &[&str]) {
    let summary = wd.read("out/summary.json");
    for field in fields {
        assert!(summary.contains(field), "{field}\n{summary}");
    }
}

/// The three real calls' Bedrock invocation logs, at `times` (the
/// join by id needs none; the fingerprint join the calls' own).
fn agentcore_logs(times: [&str; 3]) -> String {
    let log = |(id, input, output): (&str, u32, u32), at: &str| {
        format!("{{\"schemaType\":\"ModelInvocationLog\",\"schemaVersion\":\"1.0\",\"timestamp\":\"{at}\",\"requestId\":\"{id}\",\"modelId\":\"us.anthropic.claude-3-7-sonnet-20250219-v1:0\",\"input\":{{\"inputTokenCount\":{input}}},\"output\":{{\"outputTokenCount\":{output}}}}}\n")
    };
    let calls = [
        ("f701acc1-eff6-46a0-8a13-afd88f14c494", 21245, 56),
        ("ee9dee1d-d167-4c21-85f8-fe0c9ab0c3e5", 21209, 32),
        ("02025d84-9814-402f-b079-fa643f8fbfc3", 21114, 91),
    ];
    calls
        .into_iter()
        .zip(times)
        .map(|(c, at)| log(c, at))
        .collect()
}

#[test]
fn agentcore_api_spans_with_request_ids_are_not_calls() {
    // 50 real `aws/spans` records of a Strands agent on AgentCore: three
    // botocore Bedrock ConverseStream calls (each inside a Strands `chat`
    // span carrying the same tokens) and 35 AgentCore memory API calls
    // that carry `aws.request_id` too.
    let wd = Workdir::new("agentcore-bedrock");
    wd.copy(
        &real("agentcore-aws-spans-strands-bedrock.jsonl"),
        "spans/agentcore.jsonl",
    );
    let times = [
        "2025-11-18T00:11:53Z",
        "2025-11-18T00:11:34Z",
        "2025-11-18T00:10:45Z",
    ];
    wd.write("bedrock.jsonl", &agentcore_logs(times));
    let args = [
        "report",
        "--spans",
        "spans",
        "--usage",
        "bedrock.jsonl",
        "--out",
        "out",
    ];
    let keys = [
        "--join-attr",
        "aws.request_id",
        "--tenant-attr",
        "session.id",
    ];
    wd.run(&[&args[..], &keys, &["--quiet"]].concat());
    // 63,568 input tokens at $3/M and 179 output at $15/M.
    assert_eq!(
        row(&wd.read("out/by_agent.csv"), "Strands Agents"),
        "Strands Agents,3,63568,0,0,0,179,0,0.190704,0.000000,0.000000,0.002685,0.193389,100.00,0.0000,0.193389"
    );
    summary_has(
        &wd,
        &[
            "\"matched\": 3,",
            "\"unbilled_calls\": 0,",
            "\"wrapper_spans\": 3,",
            "\"join_ids_not_calls\": 35,",
        ],
    );
}

#[test]
fn strands_calls_on_bedrock_without_ids_join_by_fingerprint() {
    // The same real spans without the botocore instrumentation: the
    // Strands `chat` spans carry no request id, and their model keeps its
    // `:0` version, which the invocation logs' model drops.
    let wd = Workdir::new("agentcore-strands");
    let strands: String =
        std::fs::read_to_string(real("agentcore-aws-spans-strands-bedrock.jsonl"))
            .unwrap()
            .lines()
            .filter(|l| !l.contains("opentelemetry.instrumentation.botocore.bedrock-runtime"))
            .map(|l| format!("{l}\n"))
            .collect();
    wd.write("spans/agentcore.jsonl", &strands);
    // Each log at its call's start.
    let times = [
        "2025-11-17T23:58:33Z",
        "2025-11-17T23:58:14Z",
        "2025-11-17T23:57:25Z",
    ];
    wd.write("bedrock.jsonl", &agentcore_logs(times));
    let args = [
        "report",
        "--spans",
        "spans",
        "--usage",
        "bedrock.jsonl",
        "--out",
        "out",
    ];
    wd.run(&[&args[..], &["--tenant-attr", "session.id", "--quiet"]].concat());
    summary_has(&wd, &["\"matched_by_fingerprint\": 3,"]);
    assert!(row(&wd.read("out/by_agent.csv"), "Strands Agents").ends_with(",0.193389"));
}

#[test]
fn a_span_model_alias_joins_its_billed_snapshot_by_fingerprint() {
    // The same agent on OpenAI: the Strands `chat` spans are the only
    // inference spans (no response id), naming the alias `gpt-4o`; the
    // bill names the snapshot.
    let wd = Workdir::new("agentcore-openai");
    wd.copy(
        &real("agentcore-aws-spans-strands-openai.jsonl"),
        "spans/agentcore.jsonl",
    );
    let usage = [
        "chatcmpl-1,2025-11-18T07:43:47.471Z,openai,gpt-4o-2024-08-06,2707,0,0,0,240,false\n",
        "chatcmpl-2,2025-11-18T07:43:40.355Z,openai,gpt-4o-2024-08-06,2357,0,0,0,168,false\n",
        "chatcmpl-3,2025-11-17T15:15:16.528Z,openai,gpt-4o-2024-08-06,2325,0,0,0,10,false\n",
    ];
    wd.write("usage.csv", &format!("{HEADER}{}", usage.concat()));
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
    summary_has(
        &wd,
        &[
            "\"matched\": 3,",
            "\"matched_by_fingerprint\": 3,",
            "\"unbilled_calls\": 0,",
        ],
    );
    // 7,389 input at $2.50/M and 418 output at $10/M: $0.0226525.
    assert!(row(&wd.read("out/by_model.csv"), "gpt-4o-2024-08-06").contains(",0.022652,100.00,"));
}

#[test]
fn semantic_kernel_spans_are_calls_with_their_token_counts() {
    // Semantic Kernel's console export (Python 1.x): operation
    // `chat.completions`, tokens as gen_ai.response.prompt_tokens /
    // completion_tokens. Billed under another id, the call joins its
    // record by model alias and tokens.
    let wd = Workdir::new("semantic-kernel");
    wd.copy(
        &real("semantic-kernel-python-console-spans.jsonl"),
        "spans/sk.jsonl",
    );
    wd.write("usage.csv", &format!("{HEADER}chatcmpl-other,2024-09-09T23:13:17Z,openai,gpt-4o-2024-08-06,16,0,0,0,28,false\n"));
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
    summary_has(
        &wd,
        &["\"matched_by_fingerprint\": 1,", "\"unbilled_calls\": 0,"],
    );
}

#[test]
fn adk_agents_are_named_and_its_event_ids_and_totals_are_not_calls_or_outputs() {
    // google-adk 1.8 with OpenInference (VeADK's recording): `agent_run
    // [chat_robot]` names the agent; the `invocation` span's output.value
    // holds an ADK event id, not a call's; gen_ai.usage.output_tokens holds
    // the total where llm.token_count.completion is the output.
    let wd = Workdir::new("adk");
    wd.copy(
        &real("veadk-adk-openinference-spans.jsonl"),
        "spans/adk.jsonl",
    );
    wd.write(
        "usage.csv",
        &format!("{HEADER}x-1,2025-08-11T00:00:00Z,openai,gpt-4o,1,0,0,0,1,false\n"),
    );
    wd.run(&[
        "report",
        "--spans",
        "spans",
        "--usage",
        "usage.csv",
        "--min-match",
        "0",
        "--out",
        "out",
        "--quiet",
    ]);
    let unbilled = wd.read("out/unbilled_spans.csv");
    let calls: Vec<&str> = unbilled.lines().skip(1).collect();
    assert_eq!(calls.len(), 4, "{unbilled}");
    for (input, output) in [(547, 132), (487, 496), (644, 256), (584, 316)] {
        let cells = format!(",chat_robot,(none),{input},{output},,no join attribute on span,");
        assert!(
            calls.iter().any(|c| c.contains(&cells)),
            "{cells}\n{unbilled}"
        );
    }
}

#[test]
fn a_sub_agent_run_as_a_tool_under_its_callers_model_call_is_its_own_call() {
    // ADK 1.x runs a tool under the `call_llm` that asked for it; an
    // `AgentTool`'s sub-agent and its `call_llm` sit below (VeADK's
    // attribute set, no response ids). The caller's call is a call, not a
    // wrapper around the sub-agent's: three calls, all acme's.
    let wd = Workdir::new("adk-agent-tool");
    wd.copy(&fixture("spans/adk1-agent-tool.jsonl"), "spans/adk.jsonl");
    let rows = [
        ("c1", "41", 1000, 100),
        ("c2", "46", 500, 50),
        ("c3", "50", 1700, 80),
    ];
    let usage: String = rows
        .iter()
        .map(|(id, s, i, o)| {
            format!("{id},2025-06-15T15:06:{s}Z,openai,gpt-4o-2024-08-06,{i},0,0,0,{o},false\n")
        })
        .collect();
    wd.write("usage.csv", &format!("{HEADER}{usage}"));
    let args = [
        "report",
        "--spans",
        "spans",
        "--usage",
        "usage.csv",
        "--out",
        "out",
    ];
    wd.run(&[&args[..], &["--quiet"]].concat());
    assert!(wd.read("out/by_tenant.csv").contains("\nacme,3,3200,"));
    let agents = wd.read("out/by_agent.csv");
    assert!(
        agents.contains("\norchestrator,2,2700,") && agents.contains("\nresearcher,1,500,"),
        "{agents}"
    );
    assert!(wd.read("out/by_tool.csv").contains("\nresearch,1,500,"));
    summary_has(
        &wd,
        &["\"wrapper_spans\": 0,", "\"matched_by_fingerprint\": 3,"],
    );
}

#[test]
fn gemini_thinking_tokens_counted_only_in_the_total_reach_the_output() {
    // OpenInference's Vertex AI instrumentation: completion = candidates
    // (17), total = 218 with 190 thinking tokens (the recorded response's
    // usage); Google bills the thinking as output: 207.
    let wd = Workdir::new("gemini-thinking");
    wd.write(
        "spans/s.jsonl",
        "{\"name\":\"ChatVertexAI\",\"trace_id\":\"00000000000000000000000000000001\",\"span_id\":\"0000000000000001\",\"start_time\":\"2025-07-12T10:00:00Z\",\"attributes\":{\"openinference.span.kind\":\"LLM\",\"llm.model_name\":\"gemini-2.5-flash\",\"llm.token_count.prompt\":11,\"llm.token_count.completion\":17,\"llm.token_count.total\":218,\"tenant.id\":\"acme\"}}\n",
    );
    wd.write(
        "usage.csv",
        &format!(
            "{HEADER}vertex-1,2025-07-12T10:00:02Z,google,gemini-2.5-flash,11,0,0,0,207,false\n"
        ),
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
    ]);
    summary_has(&wd, &["\"matched_by_fingerprint\": 1,"]);
    assert!(row(&wd.read("out/by_tenant.csv"), "acme").starts_with("acme,1,11,0,0,0,207,"));
}

#[test]
fn crewai_agents_are_named_by_their_roles() {
    // OpenInference's CrewAI instrumentation names its AGENT spans by
    // method (`Task._execute_core`, the role only in input.value's agent
    // repr, up to 0.1.10) or by role (`{role}.{task}._execute_core` from
    // 0.1.13), never with agent.name.
    let wd = Workdir::new("crewai");
    let span = |trace: u8, id: u8, parent: Option<u8>, name: &str, attrs: &str| {
        let parent = parent.map_or("null".to_string(), |p| format!("\"{p:016x}\""));
        format!("{{\"name\":\"{name}\",\"trace_id\":\"{trace:032x}\",\"span_id\":\"{id:016x}\",\"parent_id\":{parent},\"start_time\":\"2025-06-12T10:00:0{id}Z\",\"attributes\":{{{attrs}}}}}\n")
    };
    let llm = |id: &str| {
        format!("\"openinference.span.kind\":\"LLM\",\"llm.model_name\":\"gpt-4o\",\"llm.token_count.prompt\":10,\"llm.token_count.completion\":5,\"gen_ai.response.id\":\"{id}\"")
    };
    let spans = [
        span(1, 1, None, "Task._execute_core", "\"openinference.span.kind\":\"AGENT\",\"input.value\":\"{\\\"agent\\\": \\\"role='Senior Researcher' goal='find' backstory='x'\\\"}\""),
        span(1, 2, Some(1), "ChatOpenAI", &llm("chatcmpl-1")),
        span(2, 3, None, "Website Scraper.scrape-task._execute_core", "\"openinference.span.kind\":\"AGENT\""),
        span(2, 4, Some(3), "ChatOpenAI", &llm("chatcmpl-2")),
    ];
    wd.write("spans/crew.jsonl", &spans.concat());
    let usage = "chatcmpl-1,2025-06-12T10:00:02Z,openai,gpt-4o,10,0,0,0,5,false\nchatcmpl-2,2025-06-12T10:00:04Z,openai,gpt-4o,10,0,0,0,5,false\n";
    wd.write("usage.csv", &format!("{HEADER}{usage}"));
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
    let agents = wd.read("out/by_agent.csv");
    assert!(
        row(&agents, "Senior Researcher").starts_with("Senior Researcher,1,"),
        "{agents}"
    );
    assert!(
        row(&agents, "Website Scraper").starts_with("Website Scraper,1,"),
        "{agents}"
    );
}

#[test]
fn spring_ai_string_token_counts_are_read() {
    // Spring AI's observation key values are strings ("1000"); a missing
    // model is the literal "none".
    let wd = Workdir::new("spring-ai");
    wd.copy(
        &real("spring-ai-chat-observation-keyvalues.json"),
        "spans/spring.json",
    );
    wd.write(
        "usage.csv",
        &format!("{HEADER}x-1,2025-06-12T10:00:00Z,openai,gpt-4o,1,0,0,0,1,false\n"),
    );
    wd.run(&[
        "report",
        "--spans",
        "spans",
        "--usage",
        "usage.csv",
        "--min-match",
        "0",
        "--out",
        "out",
        "--quiet",
    ]);
    let unbilled = wd.read("out/unbilled_spans.csv");
    assert!(unbilled.contains(",chat mistral,mistral-42,say33,(none),(none),(none),(none),1000,500,,no usage record with this id,"), "{unbilled}");
}

#[test]
fn claude_code_log_events_are_a_fleets_spans_and_usage() {
    // Three developers' Claude Code `api_request` events (OTLP JSON logs,
    // typed values from 2.1.294 and string values from an older version;
    // `user_prompt` events between them), read as both --spans and
    // --usage: per developer and per team (a resource attribute), priced
    // by the table, beside the events' own cost_usd.
    let wd = Workdir::new("claude-code");
    wd.copy(
        &crate::workdir::fixture("claude-code/logs.jsonl"),
        "logs.jsonl",
    );
    wd.run(&[
        "report",
        "--spans",
        "logs.jsonl",
        "--usage",
        "logs.jsonl",
        "--tenant-attr",
        "user.email",
        "--feature-attr",
        "team.id",
        "--out",
        "out",
        "--quiet",
    ]);
    let tenants = wd.read("out/by_tenant.csv");
    // alice, Sonnet 4.6 at $3 / $15 / $0.30 read / $3.75 write per 1M:
    // (12 + 5) × 3 + (850 + 1200) × 15 + 44,000 × 0.3 + 6,000 × 3.75 µ$.
    assert!(tenants.contains("\nalice@acme.example,2,17,44000,6000,0,2050,0,0.000051,0.013200,0.022500,0.030750,0.066501,"), "{tenants}");
    assert!(
        tenants.contains("\ncarol@globex.example,2,150,30000,8000,0,2500,0,"),
        "{tenants}"
    );
    assert!(row(&wd.read("out/by_feature.csv"), "acme-platform").contains(",0.071051,"));
    summary_has(
        &wd,
        &[
            "\"matched\": 5,",
            "\"reported_cost_usd\": \"0.161750\"",
            "\"coding-agent-logs\"",
        ],
    );
}

#[test]
fn a_claude_code_count_beyond_range_is_named_not_wrapped() {
    // Each count an event gives is checked as the other usage readers
    // check theirs (Claude Code's input is its own plus the cache counts).
    let wd = Workdir::new("claude-code-range");
    let logs = std::fs::read_to_string(crate::workdir::fixture("claude-code/logs.jsonl")).unwrap();
    let huge = logs.replacen(
        r#""key":"input_tokens","value":{"intValue":12}"#,
        r#""key":"input_tokens","value":{"intValue":9223372036854775807}"#,
        1,
    );
    assert_ne!(huge, logs);
    wd.write("logs.jsonl", &huge);
    let args = [
        "report",
        "--spans",
        "logs.jsonl",
        "--usage",
        "logs.jsonl",
        "--out",
        "out",
    ];
    let stderr = wd.fail(&args, 2);
    assert!(
        stderr.contains("logs.jsonl:1: input_tokens: 9223372036854"),
        "{stderr}"
    );
    assert!(
        stderr.contains("tokens in one request is beyond the plausible maximum of 1000000000000"),
        "{stderr}"
    );
    // Read as spans, a count past the plausible maximum stops the run,
    // named: never a wrapped small number, never left out unsaid.
    let wide = huge
        .replacen(
            r#""key":"cache_read_tokens","value":{"intValue":20000}"#,
            r#""key":"cache_read_tokens","value":{"intValue":9223372036854775807}"#,
            1,
        )
        .replacen("req_011Alice0001", "req_unbilled", 1);
    wd.write("wide.jsonl", &wide);
    wd.write("usage.jsonl", &logs);
    let spans_only = ["report", "--spans", "wide.jsonl", "--usage", "usage.jsonl"];
    let stderr = wd.fail(
        &[&spans_only[..], &["--out", "wide", "--quiet"]].concat(),
        2,
    );
    assert!(
        stderr.contains("wide.jsonl:1: span \"chat claude-sonnet-4-6\": gen_ai.usage.cache_read.input_tokens: expected a whole non-negative number of tokens, got 9223372036854775807"),
        "{stderr}"
    );
}

#[test]
fn codex_cli_log_events_are_a_fleets_spans_and_usage() {
    // Two developers' Codex CLI events (the names its codex_otel crate
    // records): only `codex.sse_event` of kind `response.completed` with
    // token counts is a request; `conversation_starts`, `api_request`
    // (no tokens), `response.created`, a failed completion and tool
    // results are passed over. OpenAI's Responses counts: cached within
    // input, reasoning within output.
    let wd = Workdir::new("codex");
    wd.copy(&crate::workdir::fixture("codex/logs.jsonl"), "logs.jsonl");
    wd.run(&[
        "report",
        "--spans",
        "logs.jsonl",
        "--usage",
        "logs.jsonl",
        "--usage-format",
        "codex-logs",
        "--tenant-attr",
        "user.email",
        "--out",
        "out",
        "--quiet",
    ]);
    let tenants = wd.read("out/by_tenant.csv");
    // alice, gpt-5.1-codex at $1.25 in / $0.125 cached / $10 out per 1M:
    // (4,000 + 3,000) × 1.25 + (8,000 + 12,000) × 0.125 + (900 + 400) × 10 µ$.
    assert!(
        tenants.contains("\nalice@acme.example,2,7000,20000,0,0,1300,700,0.008750,0.002500,0.000000,0.013000,0.024250,57.06,"),
        "{tenants}"
    );
    // bob, gpt-5.1-codex-max: 5,000 × 1.25 + 1,200 × 10 µ$.
    assert!(
        tenants.contains("\nbob@globex.example,1,5000,0,0,0,1200,0,0.006250,"),
        "{tenants}"
    );
    summary_has(&wd, &["\"matched\": 3,", "\"usage_records\": 3,"]);
}

#[test]
fn strands_input_without_its_cached_tokens_is_read_with_them() {
    // Strands writes Bedrock Converse's counts: `inputTokens` excludes the
    // cache reads and writes, `totalTokens` counts them. A read smaller
    // than the new input, and a first write, join their records.
    let wd = Workdir::new("strands-cache");
    let span = |id: u32, input: u32, read: u32, write: u32| {
        let total = input + read + write + 100;
        let attrs: Vec<String> = [
            ("gen_ai.operation.name", "chat".to_string()),
            ("gen_ai.system", "strands-agents".into()),
            (
                "gen_ai.request.model",
                "us.anthropic.claude-3-7-sonnet-20250219-v1:0".into(),
            ),
            ("gen_ai.usage.input_tokens", input.to_string()),
            ("gen_ai.usage.output_tokens", "100".into()),
            ("gen_ai.usage.total_tokens", total.to_string()),
            ("gen_ai.usage.cache_read_input_tokens", read.to_string()),
            ("gen_ai.usage.cache_write_input_tokens", write.to_string()),
            ("tenant.id", "acme".into()),
        ]
        .iter()
        .map(|(k, v)| format!(r#"{{"key":"{k}","value":{{"stringValue":"{v}"}}}}"#))
        .collect();
        format!(
            r#"{{"resourceSpans":[{{"scopeSpans":[{{"scope":{{"name":"strands.telemetry.tracer"}},"spans":[{{"traceId":"{id:032x}","spanId":"{id:016x}","name":"chat","startTimeUnixNano":"175000000{id}000000000","attributes":[{}]}}]}}]}}]}}"#,
            attrs.join(",")
        ) + "\n"
    };
    wd.write(
        "spans/strands.jsonl",
        &(span(1, 3000, 2000, 0) + &span(2, 3000, 0, 1000)),
    );
    let log = |id: u32, read: u32, write: u32| {
        format!("{{\"schemaType\":\"ModelInvocationLog\",\"timestamp\":\"2025-06-15T15:0{}:4{id}Z\",\"requestId\":\"r{id}\",\"modelId\":\"us.anthropic.claude-3-7-sonnet-20250219-v1:0\",\"input\":{{\"inputTokenCount\":3000,\"cacheReadInputTokenCount\":{read},\"cacheWriteInputTokenCount\":{write}}},\"output\":{{\"outputTokenCount\":100}}}}\n", 5 + id)
    };
    wd.write("bedrock.jsonl", &(log(1, 2000, 0) + &log(2, 0, 1000)));
    let args = [
        "report",
        "--spans",
        "spans",
        "--usage",
        "bedrock.jsonl",
        "--out",
        "out",
    ];
    wd.run(&[&args[..], &["--quiet"]].concat());
    summary_has(&wd, &["\"matched_by_fingerprint\": 2,"]);
    assert!(wd
        .read("out/by_tenant.csv")
        .contains("\nacme,2,6000,2000,1000,0,200,"));
}
