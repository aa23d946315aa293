//! Audio and image tokens priced at their own rates (else as text), and a
//! tier's own rates for long prompts and audio; the shipped table's rates
//! for Gemini audio and Bedrock's 1-hour cache writes, and the model names
//! gateways write (a Bedrock id's `:0`, OpenRouter's `claude-sonnet-4.5`).

use crate::pricing::{tiered, TIERED_PRICING};
use crate::workdir::Workdir;

#[test]
fn audio_and_image_tokens_are_priced_at_their_own_rates_else_as_text() {
    let wd = tiered("audio");
    let audio_pricing = TIERED_PRICING.replace(
        "output = 8.00\n",
        "output = 8.00\ninput_audio = 40.00\noutput_audio = 80.00\n",
    );
    wd.write("pricing.toml", &audio_pricing);
    // 1,000,000 input tokens of which 100,000 audio; 100,000 output of
    // which 10,000 audio. Text: 900,000 × $2 + 90,000 × $8 = 1.80 + 0.72;
    // audio: 100,000 × $40 + 10,000 × $80 = 4.00 + 0.80. Total $7.32.
    let usage = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch,audio_input_tokens,audio_output_tokens
r1,2025-06-02T00:00:00Z,openai,gpt-x,1000000,0,0,0,100000,false,100000,10000
";
    wd.write("usage.csv", usage);
    wd.run(&crate::workdir::HANDMADE_REPORT);
    let models = crate::workdir::csv_rows(&wd.read("out/by_model.csv"));
    let column = |name: &str| models[0].iter().position(|c| c == name).unwrap();
    assert_eq!(models[1][column("audio_input_tokens")], "100000");
    assert_eq!(models[1][column("audio_output_tokens")], "10000");
    assert_eq!(models[1][column("cost_input_usd")], "5.800000");
    assert_eq!(models[1][column("cost_output_usd")], "1.520000");
    assert_eq!(models[1][column("cost_usd")], "7.320000");
    let ledger = crate::workdir::csv_rows(&wd.read("out/ledger.csv"));
    let lines: Vec<String> = ledger[1..]
        .iter()
        .map(|l| format!("{} {} {} {}", l[3], l[15], l[17], l[18]))
        .collect();
    assert_eq!(
        lines,
        [
            "input 900000 2 1.8",
            "output 90000 8 0.72",
            "input_audio 100000 40 4",
            "output_audio 10000 80 0.8",
        ]
    );
    let diff = wd.run(&["diff", "out", "out"]);
    assert!(diff.contains("  price effect  +$0.000000"), "{diff}");
    // An entry without audio rates prices audio as the text it is a part
    // of: 1,000,000 × $2 + 100,000 × $8 = $2.80.
    wd.write("pricing.toml", TIERED_PRICING);
    wd.run(&crate::workdir::HANDMADE_REPORT);
    assert!(wd
        .read("out/summary.json")
        .contains("\"cost_usd\": \"2.800000\""));
    // Priority's explicit rates have no audio rate, for an entry that
    // prices audio apart: the run stops, never guessing.
    wd.write("pricing.toml", &audio_pricing);
    let priority = usage
        .replace(
            ",batch,audio_input_tokens",
            ",service_tier,audio_input_tokens",
        )
        .replace(",false,100000,10000", ",priority,100000,10000");
    wd.write("usage.csv", &priority);
    let stderr = wd.fail(&crate::workdir::HANDMADE_REPORT, 2);
    assert!(
        stderr.contains("openai gpt-x: no input_audio rate in its tier's explicit rates for its audio_input_tokens for 1 record(s)"),
        "{stderr}"
    );
    // More audio than input is a bad record.
    wd.write(
        "usage.csv",
        &usage.replace(",100000,10000\n", ",2000000,0\n"),
    );
    let stderr = wd.fail(&crate::workdir::HANDMADE_REPORT, 2);
    assert!(
        stderr.contains("usage.csv:2: 2000000 audio and image tokens, more than the 1000000 uncached_input_tokens they are a part of"),
        "{stderr}"
    );
}

/// gpt-5.4's shape: a long-context tier over 272k tokens, flex at its own
/// rates with its own long-context and audio rates, priority without long-context rates.
const LONG_TIERED_PRICING: &str = r#"version = "long tiers"
currency = "USD"

[[model]]
provider = "openai"
match = ["gpt-y"]
effective_from = 2025-01-01
input = 2.50
output = 15.00
cache_read = 0.25
cache_write_5m = 2.50
cache_write_1h = 2.50
input_audio = 10.00
[model.long_context]
threshold = 272000
input = 5.00
output = 22.50
cache_read = 0.50
cache_write_5m = 5.00
cache_write_1h = 5.00
[model.tiers.flex]
input = 1.25
output = 7.50
cache_read = 0.13
cache_write_5m = 1.25
cache_write_1h = 1.25
input_audio = 5.00
[model.tiers.flex.long_context]
input = 2.50
output = 11.25
cache_read = 0.25
cache_write_5m = 2.50
cache_write_1h = 2.50
[model.tiers.priority]
input = 5.00
output = 30.00
cache_read = 0.50
cache_write_5m = 5.00
cache_write_1h = 5.00
"#;

#[test]
fn a_tier_prices_long_prompts_and_audio_at_its_own_rates() {
    let wd = Workdir::handmade("long-tiers");
    wd.write("pricing.toml", LONG_TIERED_PRICING);
    // r1 flex over 272k: 300,000 × $2.50 + 10,000 × $11.25 = 0.8625.
    // r2 flex under it, 10,000 of its 100,000 input tokens audio:
    //    90,000 × $1.25 + 10,000 × $5 + 10,000 × $7.50 = 0.2375.
    // r3 priority under it: 100,000 × $5 + 10,000 × $30 = 0.80.
    // r4 standard over 272k: 300,000 × $5 + 10,000 × $22.50 = 1.725.
    let usage = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,service_tier,audio_input_tokens
r1,2025-06-02T00:00:00Z,openai,gpt-y,300000,0,0,0,10000,flex,0
r2,2025-06-02T01:00:00Z,openai,gpt-y,100000,0,0,0,10000,flex,10000
r3,2025-06-02T02:00:00Z,openai,gpt-y,100000,0,0,0,10000,priority,0
r4,2025-06-02T03:00:00Z,openai,gpt-y,300000,0,0,0,10000,standard,0
";
    wd.write("usage.csv", usage);
    wd.run(&crate::workdir::HANDMADE_REPORT);
    let summary = wd.read("out/summary.json");
    assert!(summary.contains("\"cost_usd\": \"3.625000\""), "{summary}");
    let ledger = crate::workdir::csv_rows(&wd.read("out/ledger.csv"));
    let lines: Vec<String> = ledger[1..]
        .iter()
        .map(|l| format!("{} {} {} {} {}", l[3], l[4], l[8], l[17], l[18]))
        .collect();
    assert_eq!(
        lines,
        [
            "input standard true 5 1.5",
            "input flex false 1.25 0.1125",
            "input flex true 2.5 0.75",
            "input priority false 5 0.5",
            "output standard true 22.5 0.225",
            "output flex false 7.5 0.075",
            "output flex true 11.25 0.1125",
            "output priority false 30 0.3",
            "input_audio flex false 5 0.05",
        ]
    );
    let show = wd.run(&["pricing", "show", "gpt-y", "--pricing", "pricing.toml"]);
    assert!(
        show.contains("  tier flex:    input 1.25, cache_read 0.13, cache_write_5m 1.25, cache_write_1h 1.25, output 7.5; long context input 2.5, cache_read 0.25, cache_write_5m 2.5, cache_write_1h 2.5, output 11.25, input_audio 5\n"),
        "{show}"
    );
    // Priority has no long-context rates: a long prompt in it stops the
    // run, never priced at its short-prompt rates.
    wd.write(
        "usage.csv",
        &usage.replace("100000,0,0,0,10000,priority", "300000,0,0,0,10000,priority"),
    );
    let stderr = wd.fail(&crate::workdir::HANDMADE_REPORT, 2);
    assert!(
        stderr.contains("openai gpt-y: a prompt over the long-context threshold and no [model.tiers.priority.long_context]"),
        "{stderr}"
    );
    // Priority lists no audio rate: its audio stops the run.
    wd.write("usage.csv", &usage.replace("priority,0", "priority,1000"));
    let stderr = wd.fail(&crate::workdir::HANDMADE_REPORT, 2);
    assert!(
        stderr.contains("openai gpt-y: no input_audio rate in its tier's explicit rates"),
        "{stderr}"
    );
    // A tier's long-context rates need the entry's threshold.
    let no_threshold = LONG_TIERED_PRICING.replace(
        "[model.long_context]\nthreshold = 272000\ninput = 5.00\noutput = 22.50\ncache_read = 0.50\ncache_write_5m = 5.00\ncache_write_1h = 5.00\n",
        "",
    );
    wd.write("pricing.toml", &no_threshold);
    let stderr = wd.fail(&crate::workdir::HANDMADE_REPORT, 2);
    assert!(
        stderr.contains("pricing.toml:4: the [[model]] entry at line 4: a tier's long_context rates need the entry's [model.long_context] (its threshold)"),
        "{stderr}"
    );
}

#[test]
fn shipped_rates_for_gemini_audio_bedrock_hour_writes_and_gateway_model_names() {
    let wd = Workdir::new("shipped-modalities");
    // Gemini 2.5 Flash: 10,000 audio input tokens at $1.00/1M (not the
    // text $0.30) and 100 output at $2.50/1M: $0.010250.
    wd.write(
        "usage/gemini.csv",
        "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch,audio_input_tokens\n\
         g1,2025-11-15T10:00:00Z,google,gemini-2.5-flash,10000,0,0,0,100,false,10000\n",
    );
    // A Bedrock invocation log whose Claude body (and a streamed one's
    // message_start chunk) counts its 1,000 cache writes as 1-hour ones ($6.60/1M, not the 5-minute $4.125), counts
    // written as text: 100 × 3.30 + 5,000 × 0.33 + 1,000 × 6.60 + 300 ×
    // 16.50 per 1M = $0.013530.
    wd.write(
        "usage/bedrock.jsonl",
        r#"{"schemaType":"ModelInvocationLog","schemaVersion":"1.0","timestamp":"2025-11-15T10:00:00Z","requestId":"r-2","operation":"InvokeModel","modelId":"us.anthropic.claude-sonnet-4-5-20250929-v1:0","input":{"inputTokenCount":"100","cacheReadInputTokenCount":5000,"cacheWriteInputTokenCount":1000},"output":{"outputBodyJson":{"id":"msg_bdrk_02","usage":{"input_tokens":100,"cache_creation_input_tokens":1000,"cache_read_input_tokens":5000,"output_tokens":300,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":1000}}},"outputTokenCount":300}}
{"schemaType":"ModelInvocationLog","schemaVersion":"1.0","timestamp":"2025-11-15T10:00:00Z","requestId":"r-3","operation":"InvokeModelWithResponseStream","modelId":"us.anthropic.claude-sonnet-4-5-20250929-v1:0","input":{"inputTokenCount":"100","cacheReadInputTokenCount":5000,"cacheWriteInputTokenCount":1000},"output":{"outputBodyJson":[{"type":"message_start","message":{"id":"msg_bdrk_03","usage":{"input_tokens":100,"cache_creation_input_tokens":1000,"cache_read_input_tokens":5000,"output_tokens":300,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":1000}}}},{"type":"message_stop"}],"outputTokenCount":300}}
"#,
    );
    // A LiteLLM row through Bedrock keeps its `:0` version (priced as the
    // invocation log's id: 1,000 × 3.30 + 100 × 16.50 per 1M), and
    // OpenRouter names Claude with a dot and writes a count as text (1,100
    // × 3 + 5,000 × 0.30 + 300 × 15 per 1M).
    wd.write(
        "usage/litellm.json",
        r#"[{"request_id":"chatcmpl-b2","call_type":"acompletion","spend":0.01,"prompt_tokens":1000,"completion_tokens":100,"startTime":"2025-11-15T10:00:00.000","model":"anthropic.claude-sonnet-4-5-20250929-v1:0","custom_llm_provider":"bedrock","metadata":{},"cache_hit":"False","status":"success"}]"#,
    );
    wd.write(
        "usage/openrouter.json",
        r#"{"data":{"created_at":"2025-11-15T10:00:00.000000+00:00","id":"gen-an1","model":"anthropic/claude-sonnet-4.5","native_tokens_cached":5000,"native_tokens_completion":300,"native_tokens_prompt":"6100","native_tokens_reasoning":0,"provider_name":"Anthropic","total_cost":0.0015,"upstream_id":"msg_01abc"}}"#,
    );
    wd.write("spans/none.json", "{\"resourceSpans\":[]}");
    let pricing = crate::workdir::repo().join("pricing.toml");
    wd.run(&[
        "report",
        "--spans",
        "spans",
        "--usage",
        "usage",
        "--min-match",
        "0",
        "--pricing",
        pricing.to_str().unwrap(),
        "--out",
        "out",
        "--quiet",
    ]);
    let unattributed = wd.read("out/unattributed.csv");
    assert!(
        unattributed.contains(
            "g1,2025-11-15T10:00:00Z,google,gemini-2.5-flash,10000,0,0,0,100,0,false,0.010250,"
        ),
        "{unattributed}"
    );
    assert!(
        unattributed.contains(",aws.bedrock,us.anthropic.claude-sonnet-4-5-20250929-v1,100,5000,0,1000,300,0,false,0.013530,"),
        "{unattributed}"
    );
    assert!(
        unattributed.contains("msg_bdrk_03,2025-11-15T10:00:00Z,aws.bedrock,us.anthropic.claude-sonnet-4-5-20250929-v1,100,5000,0,1000,300,0,false,0.013530,"),
        "{unattributed}"
    );
    assert!(
        unattributed.contains("chatcmpl-b2,2025-11-15T10:00:00Z,aws.bedrock,anthropic.claude-sonnet-4-5-20250929-v1,1000,0,0,0,100,0,false,0.004950,"),
        "{unattributed}"
    );
    assert!(
        unattributed.contains("gen-an1,2025-11-15T10:00:00Z,anthropic,claude-sonnet-4.5,1100,5000,0,0,300,0,false,0.009300,"),
        "{unattributed}"
    );
}
