//! A hand-made fleet whose every dollar is worked out here by hand, from the
//! rates in tests/fixtures/handmade/pricing.toml (USD per million tokens):
//!
//! claude-test-1 before 2025-06-15: input 3, cache read 0.30, 5m write 3.75,
//!   1h write 6, output 15; above 200k prompt tokens: 6 / 0.60 / 7.50 / 12 / 22.50.
//! claude-test-1 from 2025-06-15: 2 / 0.20 / 2.50 / 4 / 10. Batch: half.
//! gpt-test: input 1, cache read 0.25, output 4.
//!
//! Spans (two files; children first in a JSON-lines file, parents in a
//! pretty-printed document with upper-case ids):
//!   trace A 0af76519…: POST /run {tenant.id=acme}
//!     └ invoke_agent planner {app.feature=research}
//!         ├ chat req-1
//!         └ execute_tool deep_research (tool named only by the span name)
//!             └ invoke_agent worker (agent named only by the span name)
//!                 ├ chat req-2
//!                 └ chat req-3 {tenant.id=beta}
//!   trace B 4bf92f35…: invoke_agent helper {gen_ai.conversation.id=conv-9}
//!         ├ chat req-4 (long context)   ├ chat req-5 (never billed)
//!         ├ chat (no response id)       └ chat req-7 (batch)
//!
//! Usage records, cost per column (input, cache read, cache write, output):
//!   req-1 06-10 old rates: 1000×3 + 2000×0.30 + 400×3.75 + 500×15
//!         = 0.003 + 0.0006 + 0.0015 + 0.0075 = 0.0126
//!   req-2 06-20 new rates: 2000×2 + 1000×4 (1h) + 1000×10 = 0.004 + 0.004 + 0.01 = 0.018
//!   req-3 gpt-test: 10000×1 + 5000×0.25 + 2000×4 = 0.01 + 0.00125 + 0.008 = 0.01925
//!   req-4 06-12, prompt 150000 + 60000 = 210000 > 200000, long-context rates:
//!         150000×6 + 60000×0.60 + 1000×22.50 = 0.9 + 0.036 + 0.0225 = 0.9585
//!   req-6 no span (unattributed): 7×1 + 3×0.25 = 0.000007 + 0.00000075
//!   req-7 06-16 batch, new rates: (4000×2 + 2000×10) / 2 = 0.004 + 0.01 = 0.014
//!   req-8 2025-06-01T01:00+02:00 is May 31 in UTC: out of --period 2025-06.
//! Grand total 1.02235775 → 1.022358; columns 0.921007, 0.03785075 → 0.037851
//! (the remainder micro-dollar goes to cache read), 0.0055, 0.058.

use crate::workdir::{Workdir, HANDMADE_REPORT};

/// Run `report` on the hand-made fleet with `flags` added.
fn report(name: &str, flags: &[&str]) -> (Workdir, std::process::Output) {
    let wd = Workdir::handmade(name);
    let args: Vec<&str> = HANDMADE_REPORT.iter().chain(flags).copied().collect();
    let out = wd.output(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (wd, out)
}

fn run() -> Workdir {
    report("handmade", &["--period", "2025-06", "--quiet"]).0
}

const COLUMNS: &str = "requests,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,reasoning_tokens,cost_input_usd,cost_cache_read_usd,cost_cache_write_usd,cost_output_usd,cost_usd";

#[test]
fn by_tenant() {
    // Tenant per key in order: tenant.id on the nearest ancestor-or-self,
    // else gen_ai.conversation.id. req-3 carries its own tenant.id (beta).
    // Cache read column: 600 + 1250 + 36000 + 0.75 µ$ → 37851: the
    // unattributed row, with the largest remainder, gets the extra micro-dollar.
    let expected = format!(
        "tenant,{COLUMNS},share_pct,cache_hit_ratio
conv-9,2,154000,60000,0,0,3000,0,0.904000,0.036000,0.000000,0.032500,0.972500,95.12,0.2804
acme,2,3000,2000,400,1000,1500,0,0.007000,0.000600,0.005500,0.017500,0.030600,2.99,0.3125
beta,1,10000,5000,0,0,2000,0,0.010000,0.001250,0.000000,0.008000,0.019250,1.88,0.3333
(unattributed),1,7,3,0,0,0,0,0.000007,0.000001,0.000000,0.000000,0.000008,0.00,0.3000
"
    );
    assert_eq!(run().read("out/by_tenant.csv"), expected);
}

#[test]
fn by_feature_and_tool() {
    let wd = run();
    let features = format!(
        "feature,{COLUMNS},share_pct,cache_hit_ratio
(none),2,154000,60000,0,0,3000,0,0.904000,0.036000,0.000000,0.032500,0.972500,95.12,0.2804
research,3,13000,7000,400,1000,3500,0,0.017000,0.001850,0.005500,0.025500,0.049850,4.88,0.3271
(unattributed),1,7,3,0,0,0,0,0.000007,0.000001,0.000000,0.000000,0.000008,0.00,0.3000
"
    );
    assert_eq!(wd.read("out/by_feature.csv"), features);
    // req-2 and req-3 run inside the deep_research tool (via the worker sub-agent).
    let tools = format!(
        "tool,{COLUMNS},share_pct,cache_hit_ratio
(none),3,155000,62000,400,0,3500,0,0.907000,0.036600,0.001500,0.040000,0.985100,96.36,0.2852
deep_research,2,12000,5000,0,1000,3000,0,0.014000,0.001250,0.004000,0.018000,0.037250,3.64,0.2778
(unattributed),1,7,3,0,0,0,0,0.000007,0.000001,0.000000,0.000000,0.000008,0.00,0.3000
"
    );
    assert_eq!(wd.read("out/by_tool.csv"), tools);
}

#[test]
fn by_agent_exclusive_and_inclusive() {
    // planner's own call is req-1 (0.0126); inclusive adds its sub-agent
    // worker's req-2 + req-3 (0.03725): 0.04985.
    let expected = format!(
        "agent,{COLUMNS},share_pct,cache_hit_ratio,inclusive_cost_usd
helper,2,154000,60000,0,0,3000,0,0.904000,0.036000,0.000000,0.032500,0.972500,95.12,0.2804,0.972500
worker,2,12000,5000,0,1000,3000,0,0.014000,0.001250,0.004000,0.018000,0.037250,3.64,0.2778,0.037250
planner,1,1000,2000,400,0,500,0,0.003000,0.000600,0.001500,0.007500,0.012600,1.23,0.5882,0.049850
(unattributed),1,7,3,0,0,0,0,0.000007,0.000001,0.000000,0.000000,0.000008,0.00,0.3000,0.000008
"
    );
    assert_eq!(run().read("out/by_agent.csv"), expected);
}

#[test]
fn by_model_is_keyed_by_the_billed_name() {
    // gpt-test: req-3 + req-6 = 0.010007 + 0.00125075 + 0.008; its cache
    // read cell takes the remainder micro-dollar: 0.001251.
    let expected = format!(
        "model,{COLUMNS},share_pct,cache_hit_ratio
claude-test-1-20250101,3,155000,62000,400,0,3500,0,0.907000,0.036600,0.001500,0.040000,0.985100,96.36,0.2852
gpt-test,2,10007,5003,0,0,2000,0,0.010007,0.001251,0.000000,0.008000,0.019258,1.88,0.3333
claude-test-1,1,2000,0,0,1000,1000,0,0.004000,0.000000,0.004000,0.010000,0.018000,1.76,0.0000
"
    );
    assert_eq!(run().read("out/by_model.csv"), expected);
}

#[test]
fn by_run() {
    // Trace A's calls disagree on tenant (acme, acme, beta): (mixed).
    let expected = format!(
        "run_id,root_agent,tenant,feature,{COLUMNS}
4bf92f3577b34da6a3ce929d0e0e4736,helper,conv-9,(none),2,154000,60000,0,0,3000,0,0.904000,0.036000,0.000000,0.032500,0.972500
0af7651916cd43dd8448eb211c80319c,planner,(mixed),research,3,13000,7000,400,1000,3500,0,0.017000,0.001850,0.005500,0.025500,0.049850
(unattributed),(unattributed),(unattributed),(unattributed),1,7,3,0,0,0,0,0.000007,0.000001,0.000000,0.000000,0.000008
"
    );
    assert_eq!(run().read("out/by_run.csv"), expected);
}

#[test]
fn listings_of_unattributed_and_unbilled() {
    let wd = run();
    assert_eq!(
        wd.read("out/unattributed.csv"),
        "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,reasoning_tokens,batch,cost_usd,reported_cost_usd,tenant_hint,source
req-6,2025-06-25T00:00:00Z,openai,gpt-test,7,3,0,0,0,0,false,0.000008,,,usage.csv:6
"
    );
    assert_eq!(
        wd.read("out/unbilled_spans.csv"),
        "trace_id,span_id,span_name,model,join_id,tenant,feature,agent,tool,span_input_tokens,span_output_tokens,span_reasoning_tokens,reason,source
4bf92f3577b34da6a3ce929d0e0e4736,b300000000000003,chat claude-test-1,claude-test-1-20250101,req-5,conv-9,(none),helper,(none),900,30,,no usage record with this id,spans/children.jsonl:2
4bf92f3577b34da6a3ce929d0e0e4736,b400000000000004,chat claude-test-1,claude-test-1-20250101,,conv-9,(none),helper,(none),50,5,,no join attribute on span,spans/children.jsonl:2
"
    );
}

#[test]
fn summary_json() {
    let expected = r#"{
  "tokenledger_version": "0.1.0",
  "pricing": {
    "source": "pricing.toml",
    "version": "test-1",
    "currency": "USD"
  },
  "period": "2025-06",
  "totals": {
    "requests": 6,
    "tokens": {
      "uncached_input_tokens": 167007,
      "cache_read_tokens": 67003,
      "cache_write_5m_tokens": 400,
      "cache_write_1h_tokens": 1000,
      "output_tokens": 6500,
      "reasoning_tokens": 0
    },
    "cost": {
      "cost_input_usd": "0.921007",
      "cost_cache_read_usd": "0.037851",
      "cost_cache_write_usd": "0.005500",
      "cost_output_usd": "0.058000",
      "cost_usd": "1.022358"
    },
    "reported_cost_usd": null
  },
  "counts": {
    "spans": 12,
    "traces": 2,
    "calls": 7,
    "repeated_call_spans": 0,
    "usage_records_read": 7,
    "usage_rows_not_billed": 0,
    "duplicate_usage_records": 0,
    "out_of_period": 1,
    "invoice_lines_out_of_period": 0,
    "provider_usage_rows_out_of_period": 0,
    "usage_records": 6,
    "matched": 5,
    "matched_by_fingerprint": 0,
    "unattributed": 1,
    "unbilled_calls": 2,
    "orphan_spans": 0,
    "duplicate_spans": 0,
    "wrapper_spans": 0,
    "skipped": 0
  },
  "skipped": {
    "by_kind": {},
    "first": []
  },
  "inputs": [
    {
      "path": "usage.csv",
      "kind": "usage",
      "format": "canonical-csv",
      "records": 7
    },
    {
      "path": "spans/children.jsonl",
      "kind": "spans",
      "format": "otlp-json",
      "records": 8
    },
    {
      "path": "spans/parents.json",
      "kind": "spans",
      "format": "otlp-json",
      "records": 4
    }
  ],
  "warnings": [
    "95.1 % of the cost has no feature: --feature-attr app.feature is on no ancestor of those calls; root spans carry gen_ai.agent.name, gen_ai.conversation.id, gen_ai.operation.name, http.request.method, service.name, tenant.id"
  ]
}
"#;
    assert_eq!(run().read("out/summary.json"), expected);
}

#[test]
fn print_writes_one_report_to_stdout_and_the_summary_to_stderr() {
    let (_wd, out) = report(
        "handmade-print",
        &["--period", "2025-06", "--print", "feature"],
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.starts_with("feature,requests,"), "{stdout}");
    assert_eq!(stdout.lines().count(), 4);
    assert!(stdout.contains("\nresearch,3,13000,"));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("6 usage records in 2025-06, priced with pricing.toml (version test-1)"),
        "{stderr}"
    );
    assert!(stderr.contains("1.022358"), "{stderr}");
}

#[test]
fn without_period_the_may_record_is_priced_too() {
    // req-8: 1,000,000 uncached tokens, above the 200k threshold, so at the
    // old long-context rate of $6: +6.000000.
    let (wd, _) = report("handmade-noperiod", &[]);
    let summary = wd.read("out/summary.json");
    assert!(summary.contains(r#""cost_usd": "7.022358""#), "{summary}");
    assert!(summary.contains(r#""out_of_period": 0"#), "{summary}");
}

#[test]
fn a_feature_named_like_a_row_of_no_owner_is_refused() {
    // Trace A's feature is the literal `(unattributed)`: its spend was kept
    // apart from the unattributed row in by_feature.csv and budget.csv,
    // and merged with it in forecast.csv and diff. It is a bad span.
    let wd = Workdir::handmade("handmade-unattributed-feature");
    let parents = wd.read("spans/parents.json");
    let renamed = parents.replace(
        "\"stringValue\": \"research\"",
        "\"stringValue\": \"(unattributed)\"",
    );
    wd.write("spans/parents.json", &renamed);
    let stderr = wd.fail(
        &[&HANDMADE_REPORT[..], &["--period", "2025-06"]].concat(),
        2,
    );
    assert!(
        stderr.contains(
            "app.feature: \"(unattributed)\" is a name the reports give to a row of their own"
        ),
        "{stderr}"
    );
}
