//! What instrumentation libraries write beyond the GenAI conventions, read
//! as they write it: OpenLLMetry's agent and tool entities (the span named
//! `{entity}.agent` / `{entity}.tool`, CrewAI's role under OpenLLMetry),
//! a gateway's own trace beside its client's, ADK's thinking tokens
//! under nested wrappers, an agent span's own usage (a call only where
//! no inference span is below it, nor one that cannot be placed), and an
//! SDK span without the id inside a framework's span with it.

use crate::workdir::{row, Workdir};

const HEADER: &str = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n";

/// One flat span line (the Python SDK's `to_json`, compacted).
fn span(trace: u8, id: u8, parent: Option<u8>, name: &str, attrs: &str) -> String {
    let parent = parent.map_or("null".to_string(), |p| format!("\"{p:016x}\""));
    format!("{{\"name\":\"{name}\",\"trace_id\":\"{trace:032x}\",\"span_id\":\"{id:016x}\",\"parent_id\":{parent},\"start_time\":\"2025-06-12T10:00:0{id}Z\",\"attributes\":{{{attrs}}}}}\n")
}

#[test]
fn openllmetry_agents_and_tools_are_named_by_their_entities() {
    // traceloop-sdk's @agent/@tool decorators name a span
    // `{entity}.{kind}` and set traceloop.entity.name; its CrewAI
    // instrumentation names an agent span `{role}.agent`, no entity.
    let wd = Workdir::new("openllmetry-entities");
    let chat = |id: &str| {
        format!("\"llm.request.type\":\"chat\",\"gen_ai.system\":\"OpenAI\",\"gen_ai.request.model\":\"gpt-4o\",\"gen_ai.usage.prompt_tokens\":10,\"gen_ai.usage.completion_tokens\":5,\"gen_ai.response.id\":\"{id}\"")
    };
    let entity = |kind: &str, name: &str| {
        format!("\"traceloop.span.kind\":\"{kind}\",\"traceloop.entity.name\":\"{name}\"")
    };
    let spans = [
        span(
            1,
            1,
            None,
            "research.workflow",
            &entity("workflow", "research"),
        ),
        span(
            1,
            2,
            Some(1),
            "researcher.agent",
            &entity("agent", "researcher"),
        ),
        span(
            1,
            3,
            Some(2),
            "web_search.tool",
            &entity("tool", "web_search"),
        ),
        span(1, 4, Some(3), "openai.chat", &chat("chatcmpl-1")),
        span(
            2,
            5,
            None,
            "Senior Researcher.agent",
            "\"traceloop.span.kind\":\"agent\"",
        ),
        span(2, 6, Some(5), "openai.chat", &chat("chatcmpl-2")),
    ];
    wd.write("spans/app.jsonl", &spans.concat());
    let usage = "chatcmpl-1,2025-06-12T10:00:04Z,openai,gpt-4o,10,0,0,0,5,false\nchatcmpl-2,2025-06-12T10:00:06Z,openai,gpt-4o,10,0,0,0,5,false\n";
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
    for agent in ["researcher", "Senior Researcher"] {
        assert!(
            row(&agents, agent).starts_with(&format!("{agent},1,")),
            "{agents}"
        );
    }
    let tools = wd.read("out/by_tool.csv");
    assert!(
        row(&tools, "web_search").starts_with("web_search,1,"),
        "{tools}"
    );
}

#[test]
fn a_request_in_a_gateways_trace_and_its_clients_goes_to_the_client() {
    // LiteLLM's OTel callback writes its own `litellm_request` trace, with
    // the provider's response id and none of the client's tenant or agent;
    // the client's trace has the same id under its agent. The record went
    // to the lower trace id, the gateway's: (none), the client unbilled.
    let wd = Workdir::new("gateway-and-client");
    let call = "\"gen_ai.system\":\"openai\",\"gen_ai.request.model\":\"gpt-4o\",\"gen_ai.usage.prompt_tokens\":10,\"gen_ai.usage.completion_tokens\":5,\"gen_ai.response.id\":\"chatcmpl-1\"";
    let spans = [
        span(1, 1, None, "litellm_request", call),
        span(2, 2, None, "invoke_agent support", "\"gen_ai.operation.name\":\"invoke_agent\",\"gen_ai.agent.name\":\"support\",\"tenant.id\":\"acme\""),
        span(2, 3, Some(2), "chat gpt-4o", &format!("\"gen_ai.operation.name\":\"chat\",{call}")),
    ];
    wd.write("spans/app.jsonl", &spans.concat());
    let usage = "chatcmpl-1,2025-06-12T10:00:03Z,openai,gpt-4o,10,0,0,0,5,false\n";
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
    let tenants = wd.read("out/by_tenant.csv");
    assert!(row(&tenants, "acme").starts_with("acme,1,"), "{tenants}");
    let unbilled = wd.read("out/unbilled_spans.csv");
    assert!(
        unbilled.contains("litellm_request")
            && unbilled.contains("id already joined to another span"),
        "{unbilled}"
    );
}

#[test]
fn thinking_tokens_reach_the_innermost_of_nested_wrappers_in_any_read_order() {
    // ADK's call_llm (output and thoughts counted) around two layers of
    // google-genai spans that leave the thoughts out, no response id: the
    // innermost call took the counts only if its wrapper was read before
    // it, else its fingerprint missed the record ((unattributed)).
    let wd = Workdir::new("nested-thoughts");
    let gemini = |output: u32| {
        format!("\"gen_ai.operation.name\":\"chat\",\"gen_ai.system\":\"gemini\",\"gen_ai.request.model\":\"gemini-2.5-pro\",\"gen_ai.usage.input_tokens\":1000,\"gen_ai.usage.output_tokens\":{output}")
    };
    let outer = format!(
        "{},\"gen_ai.usage.reasoning.output_tokens\":50,\"tenant.id\":\"acme\"",
        gemini(150)
    );
    let (a, b, c) = (
        span(1, 1, None, "call_llm", &outer),
        span(1, 2, Some(1), "generate_content", &gemini(100)),
        span(1, 3, Some(2), "generate_content", &gemini(100)),
    );
    let usage = "g-1,2025-06-12T10:00:04Z,google,gemini-2.5-pro,1000,0,0,0,150,false\n";
    wd.write("usage.csv", &format!("{HEADER}{usage}"));
    for (order, files) in [("inner-first", ["a", "b"]), ("outer-first", ["z", "b"])] {
        wd.write(&format!("{order}/{}.jsonl", files[0]), &c);
        wd.write(&format!("{order}/{}.jsonl", files[1]), &(a.clone() + &b));
        let out = format!("out-{order}");
        wd.run(&[
            "report",
            "--spans",
            order,
            "--usage",
            "usage.csv",
            "--out",
            &out,
            "--quiet",
        ]);
        let tenants = wd.read(&format!("{out}/by_tenant.csv"));
        assert!(
            row(&tenants, "acme").starts_with("acme,1,"),
            "{order}: {tenants}"
        );
    }
}

#[test]
fn an_agent_spans_usage_is_a_call_only_where_no_inference_span_is_below_it() {
    // The conventions let `invoke_agent` carry its children's summed usage:
    // it is no call where calls are below it (at any depth), and is its
    // run's only call where none is. A span of no operation that names an
    // agent with a model and usage (its run's sums) was read as a call of
    // no agent, and took the tool span's call out of `lookup`.
    let wd = Workdir::new("agent-usage");
    let usage = |model: &str, input: u32, output: u32| {
        format!("\"gen_ai.request.model\":\"{model}\",\"gen_ai.usage.input_tokens\":{input},\"gen_ai.usage.output_tokens\":{output}")
    };
    let agent = |name: &str, tenant: &str, sums: &str| {
        format!("\"gen_ai.operation.name\":\"invoke_agent\",\"gen_ai.agent.name\":\"{name}\",\"tenant.id\":\"{tenant}\",{sums}")
    };
    let chat = |id: &str, input: u32, output: u32| {
        format!(
            "\"gen_ai.operation.name\":\"chat\",\"gen_ai.response.id\":\"{id}\",{}",
            usage("gpt-4o", input, output)
        )
    };
    let tool = "\"gen_ai.operation.name\":\"execute_tool\",\"gen_ai.tool.name\":\"lookup\"";
    let bare = format!(
        "\"gen_ai.agent.name\":\"router\",\"tenant.id\":\"initech\",{}",
        usage("gpt-4o", 40, 9)
    );
    let spans = [
        span(
            1,
            1,
            None,
            "invoke_agent support",
            &agent("support", "acme", &usage("gpt-4o", 20, 10)),
        ),
        span(1, 2, Some(1), "execute_tool lookup", tool),
        span(1, 3, Some(2), "chat gpt-4o", &chat("chatcmpl-1", 10, 5)),
        span(1, 4, Some(1), "chat gpt-4o", &chat("chatcmpl-2", 10, 5)),
        span(
            2,
            5,
            None,
            "invoke_agent triage",
            &agent("triage", "hooli", &usage("gpt-4o", 30, 7)),
        ),
        span(3, 6, None, "router run", &bare),
        span(3, 7, Some(6), "execute_tool lookup", tool),
        span(3, 8, Some(7), "chat gpt-4o", &chat("chatcmpl-4", 40, 9)),
    ];
    wd.write("spans/app.jsonl", &spans.concat());
    let usage = "chatcmpl-1,2025-06-12T10:00:03Z,openai,gpt-4o,10,0,0,0,5,false\n\
                 chatcmpl-2,2025-06-12T10:00:04Z,openai,gpt-4o,10,0,0,0,5,false\n\
                 chatcmpl-3,2025-06-12T10:00:05Z,openai,gpt-4o,30,0,0,0,7,false\n\
                 chatcmpl-4,2025-06-12T10:00:08Z,openai,gpt-4o,40,0,0,0,9,false\n";
    wd.write("usage.csv", &format!("{HEADER}{usage}"));
    let args = ["report", "--spans", "spans", "--usage", "usage.csv"];
    wd.run(&[&args[..], &["--out", "out", "--quiet"]].concat());
    let agents = wd.read("out/by_agent.csv");
    for (agent, requests) in [("support", 2), ("triage", 1), ("router", 1)] {
        let expected = format!("{agent},{requests},");
        assert!(row(&agents, agent).starts_with(&expected), "{agents}");
    }
    let tools = wd.read("out/by_tool.csv");
    assert!(row(&tools, "lookup").starts_with("lookup,2,"), "{tools}");
    let summary = wd.read("out/summary.json");
    for fact in ["\"calls\": 4,", "\"matched\": 4,", "\"unbilled_calls\": 0,"] {
        assert!(summary.contains(fact), "{fact}\n{summary}");
    }
}

#[test]
fn broken_chains_and_named_wrappers_take_no_other_request() {
    // An agent with its run's sums whose calls hang from a span missing
    // from the export: it took an unrelated request of its sums by
    // fingerprint. A framework's span with the response id around the
    // SDK's without it: the inner one took another request of its counts.
    let wd = Workdir::new("unplaced-calls");
    let usage = |input: u32, output: u32| {
        format!("\"gen_ai.request.model\":\"gpt-4o\",\"gen_ai.usage.input_tokens\":{input},\"gen_ai.usage.output_tokens\":{output}")
    };
    let chat = |id: &str, input: u32, output: u32| {
        let id = if id.is_empty() {
            String::new()
        } else {
            format!("\"gen_ai.response.id\":\"{id}\",")
        };
        format!(
            "\"gen_ai.operation.name\":\"chat\",{id}{}",
            usage(input, output)
        )
    };
    let agent = format!("\"gen_ai.operation.name\":\"invoke_agent\",\"gen_ai.agent.name\":\"planner\",\"tenant.id\":\"umbrella\",{}", usage(300, 30));
    let spans = [
        span(4, 1, None, "invoke_agent planner", &agent),
        span(4, 2, Some(9), "chat gpt-4o", &chat("chatcmpl-5", 100, 10)),
        span(4, 3, Some(9), "chat gpt-4o", &chat("chatcmpl-6", 200, 20)),
        span(5, 4, None, "root", "\"tenant.id\":\"acme\""),
        span(5, 5, Some(4), "chat gpt-4o", &chat("chatcmpl-7", 11, 3)),
        span(5, 6, Some(5), "chat gpt-4o", &chat("", 11, 3)),
    ];
    wd.write("spans/app.jsonl", &spans.concat());
    let usage = "chatcmpl-5,2025-06-12T10:00:02Z,openai,gpt-4o,100,0,0,0,10,false\n\
                 chatcmpl-6,2025-06-12T10:00:03Z,openai,gpt-4o,200,0,0,0,20,false\n\
                 other-1,2025-06-12T10:00:01Z,openai,gpt-4o,300,0,0,0,30,false\n\
                 chatcmpl-7,2025-06-12T10:00:05Z,openai,gpt-4o,11,0,0,0,3,false\n\
                 other-2,2025-06-12T10:00:06Z,openai,gpt-4o,11,0,0,0,3,false\n";
    wd.write("usage.csv", &format!("{HEADER}{usage}"));
    let args = ["report", "--spans", "spans", "--usage", "usage.csv"];
    wd.run(&[&args[..], &["--min-match", "0", "--out", "out", "--quiet"]].concat());
    let tenants = wd.read("out/by_tenant.csv");
    // The orphans' calls inherit nothing: the span between is missing.
    assert!(
        row(&tenants, "(none)").starts_with("(none),2,300,"),
        "{tenants}"
    );
    assert!(!tenants.contains("umbrella"), "{tenants}");
    assert!(row(&tenants, "acme").starts_with("acme,1,"), "{tenants}");
    let unattributed = wd.read("out/unattributed.csv");
    for id in ["other-1", "other-2"] {
        assert!(unattributed.contains(id), "{unattributed}");
    }
}
