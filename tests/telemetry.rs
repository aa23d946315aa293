//! Real telemetry: span exports of real instrumentation libraries attribute
//! as a person reading the spans would (fixtures in tests/fixtures/real/,
//! sources and envelope conversions in its SOURCES.md).

use crate::workdir::{real, Workdir};

const HEADER: &str = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n";

/// A work dir with `fixture` as `spans/x.jsonl`, `usage` (CSV rows after the
/// header) as `usage.csv` and a one-entry pricing table for `model` of
/// OpenAI: `input`, `output` and `cache_read` per million tokens, cache
/// writes billed as input.
fn setup(name: &str, fixture: &str, usage: &str, model: &str, rates: [&str; 3]) -> Workdir {
    let wd = Workdir::new(name);
    wd.copy(&real(fixture), "spans/x.jsonl");
    wd.write("usage.csv", &format!("{HEADER}{usage}"));
    let [input, output, cache_read] = rates;
    wd.write(
        "pricing.toml",
        &format!(
            "version = \"t\"\ncurrency = \"USD\"\n[[model]]\nprovider = \"openai\"\nmatch = [\"{model}\"]\neffective_from = 2023-01-01\ninput = {input}\noutput = {output}\ncache_read = {cache_read}\ncache_write_5m = {input}\ncache_write_1h = {input}\n"
        ),
    );
    wd
}

/// `report` on the work dir's spans, usage and pricing into `out/`, with
/// `flags` added.
fn report(wd: &Workdir, flags: &[&str]) {
    let mut args = vec![
        "report",
        "--spans",
        "spans",
        "--usage",
        "usage.csv",
        "--pricing",
        "pricing.toml",
        "--out",
        "out",
        "--quiet",
        "--min-match",
        "0",
    ];
    args.extend(flags);
    wd.run(&args);
}

/// The report's rows below its header.
fn rows(wd: &Workdir, report: &str) -> Vec<String> {
    wd.read(&format!("out/{report}"))
        .lines()
        .skip(1)
        .map(str::to_string)
        .collect()
}

fn assert_summary(wd: &Workdir, facts: &[&str]) {
    let summary = wd.read("out/summary.json");
    for fact in facts {
        assert!(summary.contains(fact), "{fact} in {summary}");
    }
}

/// OpenInference's OpenAI instrumentation: three LLM spans of a tool loop
/// whose response ids are only inside `output.value` (application/json).
/// The ids and token counts below are the spans' (`output.value`'s `id` and
/// `created`, `llm.token_count.prompt`/`completion`).
const OPENINFERENCE_USAGE: &str = "\
chatcmpl-8hhqZDFTRD0vzExhqWnMLE7viVl7E,2024-01-16T17:49:03Z,openai,gpt-3.5-turbo-0613,70,0,0,0,7,false
chatcmpl-8hhsP9eAplUFYB3mHUJxBkq7IwnjZ,2024-01-16T17:50:57Z,openai,gpt-3.5-turbo-0613,86,0,0,0,15,false
chatcmpl-8hhtfzSD33tsG7XJiBg4F9MqnXKDp,2024-01-16T17:52:15Z,openai,gpt-3.5-turbo-0613,121,0,0,0,20,false
";

fn openinference_report() -> Workdir {
    let wd = setup(
        "oi-openai",
        "openinference-openai-js-tool-calls.jsonl",
        OPENINFERENCE_USAGE,
        "gpt-3.5-turbo-0613",
        ["1.5", "2", "1.5"],
    );
    report(&wd, &[]);
    wd
}

#[test]
fn openinference_llm_spans_join_on_the_id_inside_output_value() {
    let wd = openinference_report();
    assert_summary(
        &wd,
        &[
            "\"spans\": 3,",
            "\"traces\": 3,",
            "\"calls\": 3,",
            "\"matched\": 3,",
            "\"matched_by_fingerprint\": 0,",
            "\"unattributed\": 0,",
            "\"unbilled_calls\": 0,",
        ],
    );
    // gpt-3.5-turbo-0613 at 1.50 / 2.00 per million: input 277 × 1.5 =
    // 0.0004155, output 42 × 2 = 0.000084; total 0.0004995 → 0.000500 (half
    // to even), the extra micro-dollar to input (remainder .5 > .0).
    assert_eq!(
        rows(&wd, "by_model.csv"),
        ["gpt-3.5-turbo-0613,3,277,0,0,0,42,0,0.000416,0.000000,0.000000,0.000084,0.000500,100.00,0.0000"]
    );
    // Each recorded call was its own root span, so each is its own run.
    assert_eq!(
        rows(&wd, "by_run.csv"),
        [
            "00000000000000000000000000000003,(none),(none),(none),1,121,0,0,0,20,0,0.000182,0.000000,0.000000,0.000040,0.000222",
            "00000000000000000000000000000002,(none),(none),(none),1,86,0,0,0,15,0,0.000129,0.000000,0.000000,0.000030,0.000159",
            "00000000000000000000000000000001,(none),(none),(none),1,70,0,0,0,7,0,0.000105,0.000000,0.000000,0.000014,0.000119",
        ]
    );
    // No agent or tool span wraps these calls.
    assert_eq!(
        rows(&wd, "by_tool.csv"),
        ["(none),3,277,0,0,0,42,0,0.000416,0.000000,0.000000,0.000084,0.000500,100.00,0.0000"]
    );
    let agents = rows(&wd, "by_agent.csv");
    assert_eq!(agents.len(), 1, "{agents:?}");
    assert!(
        agents[0].starts_with(
            "(none),3,277,0,0,0,42,0,0.000416,0.000000,0.000000,0.000084,0.000500,100.00,0.0000,"
        ),
        "{agents:?}"
    );
    assert_eq!(rows(&wd, "unbilled_spans.csv"), Vec::<String>::new());
}

#[test]
fn calls_under_no_agent_have_their_own_cost_as_inclusive_cost() {
    // README: inclusive_cost_usd is the row's cost plus its sub-agents', never
    // below cost_usd. The (none) row has no sub-agents.
    let wd = openinference_report();
    assert_eq!(
        rows(&wd, "by_agent.csv"),
        ["(none),3,277,0,0,0,42,0,0.000416,0.000000,0.000000,0.000084,0.000500,100.00,0.0000,0.000500"]
    );
}

/// Logfire's OpenAI Agents integration, a real (VCR) run: agent1 calls the
/// random_number tool, then hands off to agent2. Ids and token counts are
/// the Responses API spans' (`response_id`, `gen_ai.usage.*`; the first
/// span's `usage` reports 0 tokens and has no `gen_ai.usage.*`). The
/// timestamps are the unix seconds in the ids' first 8 hex digits.
fn logfire_agents_report() -> Workdir {
    let wd = setup(
        "logfire-agents",
        "logfire-openai-agents-responses.jsonl",
        "resp_67ced68228748191b31ea5d9172a7b4b,2025-03-10T12:09:38Z,openai,gpt-4o-2024-08-06,0,0,0,0,0,false
resp_67ced68425f48191a5fb0c2b61cb27dd,2025-03-10T12:09:40Z,openai,gpt-4o-2024-08-06,89,0,0,0,18,false
",
        "gpt-4o-2024-08-06",
        ["2.5", "10", "1.25"],
    );
    report(&wd, &[]);
    wd
}

#[test]
fn logfire_openai_agents_calls_belong_to_the_agent_whose_turn_made_them() {
    // Each Responses API span sits under `Turn {turn} for agent agentN`
    // (agent_name agentN) under `Agent run: {name!r}` (name agentN); the two
    // agent runs are siblings, so neither includes the other.
    let wd = logfire_agents_report();
    assert_summary(
        &wd,
        &[
            "\"spans\": 10,",
            "\"traces\": 1,",
            "\"calls\": 2,",
            "\"matched\": 2,",
            "\"unattributed\": 0,",
            "\"unbilled_calls\": 0,",
        ],
    );
    // gpt-4o at 2.50 / 10 per million: 89 × 2.5 = 0.0002225, 18 × 10 =
    // 0.00018; total 0.0004025 → 0.000402 (half to even).
    assert_eq!(
        rows(&wd, "by_agent.csv"),
        [
            "agent2,1,89,0,0,0,18,0,0.000222,0.000000,0.000000,0.000180,0.000402,100.00,0.0000,0.000402",
            "agent1,1,0,0,0,0,0,0,0.000000,0.000000,0.000000,0.000000,0.000000,0.00,,0.000000",
        ]
    );
    // The tool span (`Function: {name}`, name random_number) is a sibling of
    // the model calls, not their parent: no call is made inside the tool.
    assert_eq!(
        rows(&wd, "by_tool.csv"),
        ["(none),2,89,0,0,0,18,0,0.000222,0.000000,0.000000,0.000180,0.000402,100.00,0.0000"]
    );
    assert_eq!(
        rows(&wd, "by_model.csv"),
        ["gpt-4o-2024-08-06,2,89,0,0,0,18,0,0.000222,0.000000,0.000000,0.000180,0.000402,100.00,0.0000"]
    );
}

#[test]
fn logfire_agent_run_spans_are_named_by_their_agent_not_their_template() {
    // The outermost agent of the first call is agent1 and of the second
    // agent2, so the run's root_agent is (mixed) (README: the value all the
    // run's calls agree on, else (mixed)).
    let wd = logfire_agents_report();
    assert_eq!(
        rows(&wd, "by_run.csv"),
        ["00000000000000000000000000000001,(mixed),(none),(none),2,89,0,0,0,18,0,0.000222,0.000000,0.000000,0.000180,0.000402"]
    );
    for report in [
        "by_run.csv",
        "distribution.csv",
        "focus.csv",
        "by_agent.csv",
    ] {
        let text = wd.read(&format!("out/{report}"));
        assert!(!text.contains("{name"), "{report}:\n{text}");
    }
}

#[test]
fn pydantic_ai_chat_span_costs_what_pydantic_ai_priced_it() {
    // Pydantic AI's chat span: gen_ai.response.id `response_id`, input 100
    // tokens of which 20 cache reads (gen_ai.usage.cache_read.input_tokens)
    // and 10 cache writes (…cache_creation…), so 70 uncached; output 200.
    // The span prices itself: operation.cost 0.002225. The snapshot's clock
    // is fake, so the record's date is ours.
    let wd = setup(
        "pydantic-ai-chat",
        "pydantic-ai-instrumented-chat.jsonl",
        "response_id,2025-01-01T00:00:00Z,openai,gpt-4o-2024-11-20,70,20,10,0,200,false\n",
        "gpt-4o-2024-11-20",
        ["2.5", "10", "1.25"],
    );
    report(&wd, &[]);
    assert_summary(&wd, &["\"calls\": 1,", "\"matched\": 1,"]);
    // 70 × 2.5 + 20 × 1.25 + 10 × 2.5 + 200 × 10 = 2225 per million: the
    // span's operation.cost exactly.
    assert_eq!(
        rows(&wd, "by_model.csv"),
        ["gpt-4o-2024-11-20,1,70,20,10,0,200,0,0.000175,0.000025,0.000025,0.002000,0.002225,100.00,0.2000"]
    );
    assert_eq!(
        rows(&wd, "by_run.csv"),
        ["00000000000000000000000000000001,(none),(none),(none),1,70,20,10,0,200,0,0.000175,0.000025,0.000025,0.002000,0.002225"]
    );

    // Without its usage record the call is unbilled, listed with the
    // span's own token counts (input including the cached tokens).
    let unbilled = setup(
        "pydantic-ai-unbilled",
        "pydantic-ai-instrumented-chat.jsonl",
        "",
        "gpt-4o-2024-11-20",
        ["2.5", "10", "1.25"],
    );
    report(&unbilled, &[]);
    assert_eq!(
        rows(&unbilled, "unbilled_spans.csv"),
        ["00000000000000000000000000000001,0000000000000001,chat gpt-4o,gpt-4o-2024-11-20,response_id,(none),(none),(none),(none),100,200,,no usage record with this id,spans/x.jsonl:1"]
    );
}

/// Vercel AI SDK 6 telemetry against OpenAI: four model calls carrying
/// ai.response.id, and their wrapper spans. Ids, tokens
/// (ai.usage.promptTokens/completionTokens, inputTokens/outputTokens on the
/// stream), model (ai.response.model) and time (ai.response.timestamp) are
/// the spans'.
const VERCEL_USAGE: &str = "\
resp_0269f3aed1fd415900698212189ed88190b8bb13919d420b02,2026-02-03T15:19:52Z,openai,gpt-4o-mini-2024-07-18,14,0,0,0,20,false
resp_0056c25ba5cb2bd9006982121a510c81a1a31c11ddcf1abc73,2026-02-03T15:19:54Z,openai,gpt-4o-mini-2024-07-18,50,0,0,0,9,false
resp_03f2d825c7fc910c006982121d24948190b48cdbf3f4373dfe,2026-02-03T15:19:57Z,openai,gpt-4o-mini-2024-07-18,63,0,0,0,156,false
resp_07aff6ffa00269d50069821220f35c819dbbabe49b6cc82791,2026-02-03T15:20:00Z,openai,gpt-4o-mini-2024-07-18,15,0,0,0,112,false
";

fn vercel_report() -> Workdir {
    let wd = setup(
        "vercel-v6",
        "vercel-ai-sdk-v6-spans.jsonl",
        VERCEL_USAGE,
        "gpt-4o-mini-2024-07-18",
        ["0.15", "0.6", "0.075"],
    );
    report(&wd, &["--feature-attr", "ai.telemetry.functionId"]);
    wd
}

#[test]
fn vercel_ai_sdk_calls_join_on_ai_response_id_and_split_by_function_id() {
    let wd = vercel_report();
    // The doGenerate/doStream spans are the calls (and the embedding's
    // doEmbed, below); ai.generateText and the like are not calls.
    assert_summary(
        &wd,
        &[
            "\"spans\": 10,",
            "\"traces\": 10,",
            "\"calls\": 5,",
            "\"matched\": 4,",
            "\"unattributed\": 0,",
            "\"wrapper_spans\": 0,",
        ],
    );
    // gpt-4o-mini at 0.15 / 0.60 per million: input 142 × 0.15 = 0.0000213,
    // output 297 × 0.6 = 0.0001782; total 0.0001995 → 0.000200.
    assert_eq!(
        rows(&wd, "by_model.csv"),
        ["gpt-4o-mini-2024-07-18,4,142,0,0,0,297,0,0.000022,0.000000,0.000000,0.000178,0.000200,100.00,0.0000"]
    );
    // ai.telemetry.functionId names what each call was for.
    assert_eq!(
        rows(&wd, "by_feature.csv"),
        [
            "test-generate-object,1,63,0,0,0,156,0,0.000010,0.000000,0.000000,0.000093,0.000103,51.65,0.0000",
            "test-stream-text,1,15,0,0,0,112,0,0.000002,0.000000,0.000000,0.000067,0.000069,34.81,0.0000",
            "test-generate-text,1,14,0,0,0,20,0,0.000003,0.000000,0.000000,0.000012,0.000015,7.07,0.0000",
            "test-generate-text-messages,1,50,0,0,0,9,0,0.000007,0.000000,0.000000,0.000006,0.000013,6.47,0.0000",
        ]
    );
    assert_eq!(
        rows(&wd, "by_tool.csv"),
        ["(none),4,142,0,0,0,297,0,0.000022,0.000000,0.000000,0.000178,0.000200,100.00,0.0000"]
    );
}

#[test]
fn vercel_ai_sdk_embedding_call_without_an_id_is_listed_as_unbilled() {
    let wd = vercel_report();
    assert_summary(&wd, &["\"calls\": 5,", "\"unbilled_calls\": 1,"]);
    let unbilled = rows(&wd, "unbilled_spans.csv");
    assert_eq!(unbilled.len(), 1, "{unbilled:?}");
    assert!(
        unbilled[0].starts_with(
            "045d21a7f69972edf509fe0ff911f3f5,53e12604843b0399,ai.embed.doEmbed,text-embedding-3-small,,"
        ) && unbilled[0].ends_with(",no join attribute on span,spans/x.jsonl:9"),
        "{unbilled:?}"
    );
}

#[test]
fn embedding_calls_that_count_no_output_join_by_fingerprint() {
    // The conventions' `embeddings` (input only), Spring AI's `embedding`
    // and OpenInference's EMBEDDING span with `embedding.model_name`; each
    // billed record counts 0 output tokens and carries no id a span has.
    let wd = Workdir::new("embeddings");
    let span = |trace: &str, start: &str, attrs: &str| {
        format!(
            r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"{trace}","spanId":"453dfe221a85dc13","name":"embed","startTimeUnixNano":"{start}","attributes":[{{"key":"tenant.id","value":{{"stringValue":"t{}"}}}},{attrs}]}}]}}]}}]}}"#,
            &trace[..1]
        )
    };
    let int = |key: &str, n: u64| format!(r#"{{"key":"{key}","value":{{"intValue":"{n}"}}}}"#);
    let text = |key: &str, v: &str| format!(r#"{{"key":"{key}","value":{{"stringValue":"{v}"}}}}"#);
    let model = "text-embedding-3-small";
    let lines = [
        span(
            "1b5644772472ea42d942d47fd1ccf801",
            "1748737287973000000",
            &[
                text("gen_ai.operation.name", "embeddings"),
                text("gen_ai.request.model", model),
                int("gen_ai.usage.input_tokens", 5000),
            ]
            .join(","),
        ),
        span(
            "2b5644772472ea42d942d47fd1ccf802",
            "1748740887973000000",
            &[
                text("gen_ai.operation.name", "embedding"),
                text("gen_ai.request.model", model),
                int("gen_ai.usage.input_tokens", 6000),
            ]
            .join(","),
        ),
        span(
            "3b5644772472ea42d942d47fd1ccf803",
            "1748744487973000000",
            &[
                text("openinference.span.kind", "EMBEDDING"),
                text("embedding.model_name", model),
                int("llm.token_count.prompt", 7000),
            ]
            .join(","),
        ),
    ];
    wd.write("spans/a.jsonl", &(lines.join("\n") + "\n"));
    let mut usage = String::from("request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n");
    for (i, (at, n)) in [("00:21:28", 5000), ("01:21:28", 6000), ("02:21:28", 7000)]
        .iter()
        .enumerate()
    {
        usage += &format!("emb-{i},2025-06-01T{at}Z,openai,{model},{n},0,0,0,0,false\n");
    }
    wd.write("usage.csv", &usage);
    wd.write("pricing.toml", &format!("version = \"t\"\ncurrency = \"USD\"\n[[model]]\nprovider = \"openai\"\nmatch = [\"{model}\"]\neffective_from = 2024-01-25\ninput = 0.02\noutput = 0.02\ncache_read = 0.02\ncache_write_5m = 0.02\ncache_write_1h = 0.02\n"));
    wd.run(&[
        "report",
        "--spans",
        "spans",
        "--usage",
        "usage.csv",
        "--pricing",
        "pricing.toml",
        "--out",
        "out",
        "--quiet",
    ]);
    let tenants = wd.read("out/by_tenant.csv");
    for (tenant, cost) in [("t1", "0.000100"), ("t2", "0.000120"), ("t3", "0.000140")] {
        assert!(
            tenants.contains(&format!("\n{tenant},1,")) && tenants.contains(cost),
            "{tenants}"
        );
    }
    assert!(!tenants.contains("(unattributed)"), "{tenants}");
}
