//! Real public span exports from tests/fixtures/real (see SOURCES.md there).

use crate::workdir::{real, Workdir};

const HEADER: &str = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n";

#[test]
fn tempo_export_of_a_kagent_run_joins_its_openai_calls() {
    // A Grafana Tempo export ({"batches": …}, instrumentationLibrarySpans,
    // kind as enum names, intValue as numbers). ADK's generate_content spans
    // wrap OpenLLMetry's openai.chat spans, which carry the response ids.
    let wd = Workdir::new("tempo");
    wd.copy(&real("tempo-export-kagent-openai.json"), "tempo.json");
    wd.write(
        "usage.csv",
        &format!(
            "{HEADER}chatcmpl-DaLYlqJDD4djXUGg9TjyClK9BdeVV,2026-04-30T13:17:40Z,openai,gpt-4.1-mini-2025-04-14,2256,0,0,0,13,false
chatcmpl-DaLYmIS19l0ClnUwPDWAYAmn2jz66,2026-04-30T13:17:42Z,openai,gpt-4.1-mini-2025-04-14,2392,0,0,0,116,false
"
        ),
    );
    wd.run(&[
        "report",
        "--spans",
        "tempo.json",
        "--usage",
        "usage.csv",
        "--out",
        "out",
        "--quiet",
    ]);
    // gpt-4.1-mini: input 0.40, output 1.60 per million.
    // Input 4648 × 0.40 = 0.0018592; output 129 × 1.60 = 0.0002064; total
    // 0.0020656 → 0.002066, the extra micro-dollar to output (remainder .4 > .2).
    assert_eq!(
        wd.read("out/by_agent.csv").lines().nth(1).unwrap(),
        "helm_agent,2,4648,0,0,0,129,0,0.001859,0.000000,0.000000,0.000207,0.002066,100.00,0.0000,0.002066"
    );
    // The same export with its ids in base64, as Tempo's JSON API and
    // protobuf's JSON mapping write them, reads the same.
    let by_run = wd.read("out/by_run.csv");
    let text = wd.read("tempo.json");
    let mut base64 = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("Id\":\"") {
        let (head, tail) = rest.split_at(at + 5);
        let end = tail.find('"').unwrap();
        base64 += head;
        base64 += &encode(&tail[..end]);
        rest = &tail[end..];
    }
    base64 += rest;
    assert_ne!(base64, text);
    wd.write("tempo64.json", &base64);
    let args = [
        "report",
        "--spans",
        "tempo64.json",
        "--usage",
        "usage.csv",
        "--out",
        "out64",
        "--quiet",
    ];
    wd.run(&args);
    assert_eq!(wd.read("out64/by_run.csv"), by_run);
    let summary = wd.read("out/summary.json");
    for fact in [
        "\"spans\": 86,",
        "\"calls\": 2,",
        "\"matched\": 2,",
        "\"unbilled_calls\": 0,",
        // ADK's two call_llm spans are wrappers too: each holds one of the
        // OpenAI calls.
        "\"wrapper_spans\": 4,",
    ] {
        assert!(summary.contains(fact), "{fact} in {summary}");
    }
}

#[test]
fn adk_recording_with_logs_beside_spans() {
    // A Google ADK OTLP document holding resourceSpans and resourceLogs; its
    // generate_content calls carry no response id, so none can be billed.
    let wd = Workdir::new("adk");
    wd.copy(&real("otlp-adk-v2-tool-calls.json"), "adk.json");
    wd.write("usage.csv", HEADER);
    wd.run(&[
        "report",
        "--spans",
        "adk.json",
        "--usage",
        "usage.csv",
        "--out",
        "out",
        "--quiet",
        "--min-match",
        "0",
    ]);
    let unbilled = wd.read("out/unbilled_spans.csv");
    let rows: Vec<&str> = unbilled.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{unbilled}");
    // Each names the line of the pretty-printed document its span id is on.
    let text = wd.read("adk.json");
    for row in rows {
        let span_id = row.split(',').nth(1).unwrap();
        let line = text
            .lines()
            .position(|l| l.contains(span_id) && l.contains("spanId"))
            .unwrap()
            + 1;
        assert!(
            row.contains(",generate_content gemini-2.5-flash,gemini-2.5-flash,,sess-S2-v2_default,(none),weather_agent,(none),")
                && row.ends_with(&format!(",no join attribute on span,adk.json:{line}")),
            "{row}"
        );
    }
}

#[test]
fn spec_example_with_upper_case_ids_and_a_parent_outside_the_file() {
    let wd = Workdir::new("protoexample");
    wd.copy(&real("otlp-proto-example-trace.json"), "trace.json");
    wd.write("usage.csv", HEADER);
    wd.run(&[
        "report",
        "--spans",
        "trace.json",
        "--usage",
        "usage.csv",
        "--out",
        "out",
        "--quiet",
        "--min-match",
        "0",
    ]);
    let summary = wd.read("out/summary.json");
    for fact in [
        "\"spans\": 1,",
        "\"traces\": 1,",
        "\"calls\": 0,",
        "\"orphan_spans\": 1,",
    ] {
        assert!(summary.contains(fact), "{fact} in {summary}");
    }
    // The same document as Tempo's v2 API returns it, {"trace": {...}},
    // and as Jaeger v2's (its gRPC gateway), {"result": {...}}.
    let text = wd.read("trace.json");
    wd.write("v2/trace.json", &format!("{{\"trace\": {text}}}"));
    wd.write("v2/jaeger.json", &format!("{{\"result\": {text}}}"));
    wd.run(&[
        "report",
        "--spans",
        "v2",
        "--usage",
        "usage.csv",
        "--out",
        "out2",
        "--quiet",
        "--min-match",
        "0",
    ]);
    let v2 = wd.read("out2/summary.json");
    assert!(
        v2.contains("\"spans\": 2,") && v2.contains("\"orphan_spans\": 1,"),
        "{v2}"
    );
}

#[test]
fn adk_calls_without_ids_join_their_usage_by_fingerprint() {
    // The same ADK recording with the three billed requests Gemini made
    // (gemini-2.5-flash; 20/5, 40/5 and 60/14 tokens, the spans' counts, one
    // second after the spans started): no span carries an id, so each joins
    // its record by model, tokens and time, under weather_agent.
    let wd = Workdir::new("adk-fingerprint");
    wd.copy(&real("otlp-adk-v2-tool-calls.json"), "adk.json");
    wd.write(
        "usage.csv",
        &format!(
            "{HEADER}g-1,2026-09-28T14:58:31Z,google,gemini-2.5-flash,20,0,0,0,5,false\n\
             g-2,2026-09-28T14:58:31Z,google,gemini-2.5-flash,40,0,0,0,5,false\n\
             g-3,2026-09-28T14:58:31Z,google,gemini-2.5-flash,60,0,0,0,14,false\n"
        ),
    );
    let pricing = crate::workdir::repo().join("pricing.toml");
    wd.run(&[
        "report",
        "--spans",
        "adk.json",
        "--usage",
        "usage.csv",
        "--pricing",
        pricing.to_str().unwrap(),
        "--out",
        "out",
        "--quiet",
    ]);
    let summary = wd.read("out/summary.json");
    assert!(
        summary.contains("\"matched\": 3,\n    \"matched_by_fingerprint\": 3,"),
        "{summary}"
    );
    let agents = wd.read("out/by_agent.csv");
    assert!(
        agents.contains("\nweather_agent,3,120,0,0,0,24,"),
        "{agents}"
    );
    assert_eq!(wd.read("out/unbilled_spans.csv").lines().count(), 1);
}

#[test]
fn gemini_thinking_tokens_on_adk_spans_count_as_output() {
    // The same recording, its last call made with thinking: Gemini reports
    // thoughts_token_count beside (not inside) candidates_token_count, and
    // bills them as output. The span's 14 output tokens become 44, 30 of
    // them reasoning, so the call joins the record billed for 44.
    let wd = Workdir::new("adk-thinking");
    let recording = std::fs::read_to_string(real("otlp-adk-v2-tool-calls.json")).unwrap();
    let thinking = recording.replace(
        r#"\"candidates_token_count\":14,\"prompt_token_count\":60,\"total_token_count\":74"#,
        r#"\"candidates_token_count\":14,\"prompt_token_count\":60,\"thoughts_token_count\":30,\"total_token_count\":104"#,
    );
    assert_ne!(thinking, recording);
    wd.write("adk.json", &thinking);
    wd.write(
        "usage.csv",
        &format!(
            "{HEADER}g-1,2026-09-28T14:58:31Z,google,gemini-2.5-flash,20,0,0,0,5,false\n\
             g-2,2026-09-28T14:58:31Z,google,gemini-2.5-flash,40,0,0,0,5,false\n"
        ),
    );
    let pricing = crate::workdir::repo().join("pricing.toml");
    wd.run(&[
        "report",
        "--spans",
        "adk.json",
        "--usage",
        "usage.csv",
        "--pricing",
        pricing.to_str().unwrap(),
        "--out",
        "out",
        "--quiet",
        "--min-match",
        "0",
    ]);
    let unbilled = crate::workdir::csv_rows(&wd.read("out/unbilled_spans.csv"));
    let thinking_call: Vec<&str> = unbilled[1..]
        .iter()
        .find(|r| r[9] == "60")
        .map(|r| vec![&r[10][..], &r[11][..]])
        .unwrap();
    assert_eq!(thinking_call, ["44", "30"]);
    // Billed for 44 output tokens, it joins by fingerprint.
    wd.write(
        "usage.csv",
        &format!(
            "{}g-3,2026-09-28T14:58:31Z,google,gemini-2.5-flash,60,0,0,0,44,false\n",
            wd.read("usage.csv")
        ),
    );
    wd.run(&[
        "report",
        "--spans",
        "adk.json",
        "--usage",
        "usage.csv",
        "--pricing",
        pricing.to_str().unwrap(),
        "--out",
        "out",
        "--quiet",
    ]);
    let summary = wd.read("out/summary.json");
    assert!(
        summary.contains("\"matched_by_fingerprint\": 3,"),
        "{summary}"
    );
}

/// A LiteLLM spend-log line (the envelope is ours) around a provider's
/// real usage object, as LiteLLM keeps it in `metadata.usage_object`.
fn spend_log(
    id: &str,
    provider: &str,
    model: &str,
    tokens: (u64, u64),
    usage: &serde_json::Value,
) -> String {
    let line = serde_json::json!({
        "request_id": id,
        "startTime": "2026-04-02T10:00:00.000000",
        "model": model,
        "custom_llm_provider": provider,
        "prompt_tokens": tokens.0,
        "completion_tokens": tokens.1,
        "metadata": { "usage_object": usage },
        "status": "success",
    });
    line.to_string() + "\n"
}

#[test]
fn providers_real_usage_objects_are_read_field_by_field() {
    let lines = spend_logs_around_real_usage_objects();
    let wd = Workdir::handmade("real-usage-objects");
    wd.write("spend-logs.jsonl", &lines);
    let pricing = crate::workdir::repo().join("pricing.toml");
    let report = [
        "report",
        "--spans",
        "spans",
        "--usage",
        "spend-logs.jsonl",
        "--pricing",
        pricing.to_str().unwrap(),
        "--min-match",
        "0",
        "--quiet",
        "--out",
        "out",
    ];
    wd.run(&report);
    each_models_usage_fields_are_read_and_priced(&wd);
    let ledger = wd.read("out/ledger.csv");
    assert!(
        ledger.contains(",anthropic,claude-haiku-4-5-20251001,input,standard,global,standard,,"),
        "{ledger}"
    );
    // The usage object's service_tier is read: Claude Haiku 4.5 has no
    // priority price, so a priority call stops the run.
    wd.write(
        "spend-logs.jsonl",
        &lines.replacen("\"standard\"", "\"priority\"", 1),
    );
    let stderr = wd.fail(&report, 2);
    assert!(
        stderr.contains(
            "anthropic claude-haiku-4-5-20251001: no [model.tiers.priority] for 1 record(s)"
        ),
        "{stderr}"
    );
}

/// Spend-log lines around Anthropic's, OpenAI's (audio, reasoning) and Gemini's usage.
fn spend_logs_around_real_usage_objects() -> String {
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(real(name)).unwrap()).unwrap()
    };
    // Anthropic (a recorded web-search call): 11,306 input and 163 output
    // tokens, one web search, service_tier standard, inference_geo
    // not_available (global).
    let message = read("anthropic-messages-web-search.json");
    // OpenAI gpt-audio-1.5 (recorded): 17 of 28 prompt tokens and 93 of
    // 125 completion tokens are audio.
    let audio = read("openai-chat-audio-usage.json");
    // OpenAI o3-mini (recorded): 128 of 863 completion tokens are reasoning.
    let reasoning = read("openai-chat-reasoning-response.json");
    let lines = spend_log(
        "msg_011Y4sbfjCq85yJrUA13Dxb3",
        "anthropic",
        "claude-haiku-4-5-20251001",
        (11306, 163),
        &message["usage"],
    ) + &spend_log(
        "chatcmpl-DnW1coxYVkWMSpc1WKtEXr4nsobqe",
        "openai",
        "gpt-audio-1.5",
        (28, 125),
        &audio,
    ) + &spend_log(
        "chatcmpl-D8dUvtOLRKeiFeDWpaZG2K6JNsxsq",
        "openai",
        "o3-mini-2025-01-31",
        (34, 863),
        &reasoning["usage"],
    );
    // Not a recording: Gemini's grounding queries, where LiteLLM counts
    // every provider's web searches (prompt_tokens_details).
    let grounding = serde_json::json!({
        "prompt_tokens": 1000,
        "completion_tokens": 100,
        "prompt_tokens_details": { "cached_tokens": 0, "web_search_requests": 2 },
    });
    lines
        + &spend_log(
            "gemini-grounded-1",
            "gemini",
            "gemini/gemini-3-flash-preview",
            (1000, 100),
            &grounding,
        )
}

/// by_model.csv's row of each model: the fields its usage object gave, and their cost.
fn each_models_usage_fields_are_read_and_priced(wd: &Workdir) {
    let models = crate::workdir::csv_rows(&wd.read("out/by_model.csv"));
    let column = |name: &str| models[0].iter().position(|c| c == name).unwrap();
    let row = |model: &str| models.iter().find(|r| r[0] == model).unwrap().clone();
    let fields = |model: &str, names: &[&str]| -> Vec<String> {
        let r = row(model);
        names.iter().map(|n| r[column(n)].clone()).collect()
    };
    // 11,306 × $1 + 163 × $5 per 1M, and a search at $10 per 1,000.
    assert_eq!(
        fields(
            "claude-haiku-4-5-20251001",
            &[
                "uncached_input_tokens",
                "output_tokens",
                "web_search_requests",
                "cost_requests_usd",
                "cost_usd"
            ]
        ),
        ["11306", "163", "1", "0.010000", "0.022121"]
    );
    // Text 11 × $2.50 + 32 × $10, audio 17 × $32 + 93 × $64 per 1M:
    // $0.0068435.
    assert_eq!(
        fields(
            "gpt-audio-1.5",
            &["audio_input_tokens", "audio_output_tokens", "cost_usd"]
        ),
        ["17", "93", "0.006844"]
    );
    // 34 × $1.10 + 863 × $4.40 per 1M: $0.0038346, rounded down by the
    // reports' controlled rounding so the column sums to the total.
    assert_eq!(
        fields(
            "o3-mini-2025-01-31",
            &["reasoning_tokens", "output_tokens", "cost_usd"]
        ),
        ["128", "863", "0.003834"]
    );
    // 1,000 × $0.50 + 100 × $3 per 1M; its 2 grounding queries are inside
    // Gemini 3's free 5,000 a month, so they cost nothing.
    assert_eq!(
        fields(
            "gemini-3-flash-preview",
            &[
                "web_search_requests",
                "web_search_free_requests",
                "cost_usd"
            ]
        ),
        ["0", "2", "0.000800"]
    );
}

/// Hex digits as standard base64, padded.
fn encode(hex: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes: Vec<u8> = (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, &b| n << 8 | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    while !out.len().is_multiple_of(4) {
        out.push('=');
    }
    out
}
