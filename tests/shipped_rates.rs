//! The shipped `pricing.toml` prices each billable dimension at its own
//! rate, and refuses what it has no rate for: a later model version is no
//! dated snapshot of an older one, audio tokens are not text, Bedrock's
//! long-context band, Claude's 1-hour cache writes at twice input, a batch
//! tier's long prompts, Google Cloud's grounding line compared with the
//! priced searches, and OpenRouter's web-search results.

use crate::workdir::{csv_rows, repo, Workdir};

const HEADER: &str = "request_id,timestamp,provider,model,uncached_input_tokens,\
                      cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,\
                      output_tokens,batch";

/// A work dir with an empty span file and `usage/usage.csv` holding `rows` under
/// [`HEADER`] plus `extra` columns.
fn month(name: &str, extra: &str, rows: &[&str]) -> Workdir {
    let wd = Workdir::new(name);
    wd.write("spans/s.jsonl", "{\"resourceSpans\":[]}\n");
    wd.write(
        "usage/usage.csv",
        &format!("{HEADER}{extra}\n{}\n", rows.join("\n")),
    );
    wd
}

/// `report` over the month with the shipped table, and its exit code.
fn report(wd: &Workdir, period: &str, more: &[&str]) -> (i32, String) {
    let pricing = repo().join("pricing.toml");
    let mut args = vec!["report", "--spans", "spans", "--usage", "usage"];
    args.extend(["--pricing", pricing.to_str().unwrap(), "--period", period]);
    args.extend(["--out", "out", "--min-match", "0", "--quiet"]);
    args.extend(more);
    let out = wd.output(&args);
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// `ledger.csv`'s lines as "model charge tier long_context unit_price cost".
fn ledger(wd: &Workdir) -> Vec<String> {
    let rows = csv_rows(&wd.read("out/ledger.csv"));
    let at = |name: &str| rows[0].iter().position(|c| c == name).unwrap();
    let columns = [
        "model",
        "charge",
        "service_tier",
        "long_context",
        "unit_price_usd",
        "cost_usd",
    ]
    .map(at);
    rows[1..]
        .iter()
        .map(|r| columns.map(|c| r[c].as_str()).join(" "))
        .collect()
}

#[test]
fn a_later_version_is_no_dated_snapshot_of_an_older_model() {
    let wd = month(
        "new-version",
        "",
        &[
            "a,2026-11-20T10:00:00Z,anthropic,claude-fable-5-20261101,1000,0,0,0,100,false",
            "b,2026-11-20T10:00:00Z,anthropic,claude-fable-5-2,1000,0,0,0,100,false",
            "c,2026-11-20T10:00:00Z,openai,gpt-5.4-pro-max,1000,0,0,0,100,false",
        ],
    );
    let (code, stderr) = report(&wd, "2026-11", &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("anthropic claude-fable-5-2: no price"),
        "{stderr}"
    );
    assert!(!stderr.contains("claude-fable-5-20261101"), "{stderr}");
    // The dated snapshot alone is priced, at Fable 5's rates.
    let rows = ["a,2026-11-20T10:00:00Z,anthropic,claude-fable-5-20261101,1000,0,0,0,100,false"];
    let wd = month("dated-snapshot", "", &rows);
    assert_eq!(report(&wd, "2026-11", &[]).0, 0);
    assert_eq!(
        ledger(&wd),
        [
            "claude-fable-5-20261101 input standard false 10 0.01",
            "claude-fable-5-20261101 output standard false 50 0.005"
        ]
    );
}

#[test]
fn audio_previews_bill_audio_tokens_at_their_own_rates() {
    let rows = [
        "a,2025-11-10T10:00:00Z,openai,gpt-4o-audio-preview-2025-06-03,1000000,0,0,0,1000000,false,1000000,1000000",
        "b,2025-11-10T10:00:00Z,openai,gpt-4o-mini-audio-preview,1000000,0,0,0,1000000,false,1000000,1000000",
    ];
    let wd = month("audio", ",audio_input_tokens,audio_output_tokens", &rows);
    assert_eq!(report(&wd, "2025-11", &[]).0, 0);
    let audio: Vec<String> = ledger(&wd)
        .into_iter()
        .filter(|l| l.contains("_audio"))
        .collect();
    assert_eq!(
        audio,
        [
            "gpt-4o-audio-preview-2025-06-03 input_audio standard false 40 40",
            "gpt-4o-audio-preview-2025-06-03 output_audio standard false 80 80",
            "gpt-4o-mini-audio-preview input_audio standard false 10 10",
            "gpt-4o-mini-audio-preview output_audio standard false 20 20",
        ]
    );
    // Usage under the alias meets a bill naming its snapshot of that day.
    let alias = ["r1,2024-11-10T10:00:00Z,openai,gpt-4o-audio-preview,1000000,0,0,0,100000,false"];
    let wd = month("audio-alias", "", &alias);
    let result = |kind: &str, usd: &str| {
        format!(
            "{{\"object\": \"organization.costs.result\", \"amount\": {{\"value\": {usd}, \
             \"currency\": \"usd\"}}, \"line_item\": \"gpt-4o-audio-preview-2024-10-01, {kind}\"}}"
        )
    };
    wd.write(
        "costs.jsonl",
        &format!(
            "{{\"object\": \"page\", \"data\": [{{\"object\": \"bucket\", \"start_time\": 1731196800, \
             \"end_time\": 1731283200, \"results\": [{}, {}]}}]}}\n",
            result("input", "2.5"),
            result("output", "1.0")
        ),
    );
    let (code, stderr) = report(&wd, "2024-11", &["--invoice", "costs.jsonl"]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn claude_long_prompts_and_hour_long_cache_writes_on_every_route() {
    // 150,000 uncached + 100,000 cache read: over 200k, on Bedrock as on
    // Anthropic. 100,000 one-hour cache writes at twice the input rate.
    let rows = [
        "a,2025-11-10T10:00:00Z,aws.bedrock,anthropic.claude-sonnet-4-5-20250929-v1,150000,100000,0,0,1000,false",
        "b,2025-11-10T10:00:00Z,aws.bedrock,global.anthropic.claude-sonnet-4-20250514-v1,150000,100000,0,0,1000,false",
        "c,2026-03-12T10:00:00Z,google,claude-opus-4-6@default,0,0,0,100000,0,false",
    ];
    let wd = month("claude-routes", "", &rows);
    assert_eq!(report(&wd, "2025-11", &[]).0, 0);
    assert_eq!(
        ledger(&wd),
        [
            "anthropic.claude-sonnet-4-5-20250929-v1 input standard true 6.6 0.99",
            "anthropic.claude-sonnet-4-5-20250929-v1 cache_read standard true 0.66 0.066",
            "anthropic.claude-sonnet-4-5-20250929-v1 output standard true 24.75 0.02475",
            "global.anthropic.claude-sonnet-4-20250514-v1 input standard true 6 0.9",
            "global.anthropic.claude-sonnet-4-20250514-v1 cache_read standard true 0.6 0.06",
            "global.anthropic.claude-sonnet-4-20250514-v1 output standard true 22.5 0.0225",
        ]
    );
    assert_eq!(report(&wd, "2026-03", &[]).0, 0);
    assert_eq!(
        ledger(&wd),
        ["claude-opus-4-6@default cache_write_1h standard false 10 1"]
    );
}

#[test]
fn a_tier_prices_a_long_prompt_at_its_long_context_rates_or_not_at_all() {
    // 300,000 input tokens: over gpt-5.5-pro's 272k. Batch is half of the
    // long-context rates (60 → 30, 270 → 135).
    let rows = ["a,2026-10-14T10:00:00Z,openai,gpt-5.5-pro,300000,0,0,0,10000,true"];
    let wd = month("tier-long-context", "", &rows);
    assert_eq!(report(&wd, "2026-10", &[]).0, 0);
    assert_eq!(
        ledger(&wd),
        [
            "gpt-5.5-pro input batch true 30 9",
            "gpt-5.5-pro output batch true 135 1.35"
        ]
    );
    // Priority has no long-context rates: refused, never its short rates.
    let rows = ["a,2026-10-14T10:00:00Z,openai,gpt-5.5,300000,0,0,0,10000,false,priority"];
    let wd = month("priority-long-context", ",service_tier", &rows);
    let (code, stderr) = report(&wd, "2026-10", &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no [model.tiers.priority.long_context]"),
        "{stderr}"
    );
}

#[test]
fn google_clouds_grounding_line_is_compared_with_the_priced_searches() {
    // 2,000 grounded prompts on one day, 1,500 free: 500 × $35 / 1,000.
    let row = "r1,2026-11-02T09:10:00Z,google,gemini-2.5-flash,1000000,0,0,0,100000,false,2000";
    let wd = month("grounding", ",web_search_requests", &[row]);
    let line = |sku: &str, cost: &str| {
        format!(
            "{{\"service\": {{\"id\": \"C7E2-9256-1C43\", \"description\": \"Vertex AI\"}}, \
             \"sku\": {{\"id\": \"0000\", \"description\": \"{sku}\"}}, \
             \"usage_start_time\": \"2026-11-02 09:00:00 UTC\", \
             \"usage_end_time\": \"2026-11-02 10:00:00 UTC\", \"cost\": {cost}, \
             \"currency\": \"USD\", \"credits\": [], \"cost_type\": \"regular\"}}\n"
        )
    };
    wd.write(
        "gcp.jsonl",
        &[
            line("Gemini 2.5 Flash GA Text Input - Predictions", "0.3"),
            line("Gemini 2.5 Flash GA Text Output - Predictions", "0.25"),
            line(
                "LLM Grounding with Google Search tool - Predictions",
                "17.5",
            ),
        ]
        .concat(),
    );
    let (code, stderr) = report(&wd, "2026-11", &["--invoice", "gcp.jsonl"]);
    assert_eq!(code, 0, "{stderr}");
    let reconciliation = wd.read("out/reconciliation.csv");
    assert!(
        reconciliation.contains(
            "google,(all models),web_search,2026-11-02,17.500000,17.500000,0.000000,0.00,ok"
        ),
        "{reconciliation}"
    );
    // Usage that lost its search counts: the billed grounding is missing.
    let lost = row.replace(",2000", ",0");
    wd.write(
        "usage/usage.csv",
        &format!("{HEADER},web_search_requests\n{lost}\n"),
    );
    assert_eq!(report(&wd, "2026-11", &["--invoice", "gcp.jsonl"]).0, 1);
    assert!(wd
        .read("out/reconciliation.csv")
        .contains(",-100.00,missing_in_usage"));
}

#[test]
fn openrouters_web_search_results_are_priced_or_refused() {
    let wd = Workdir::new("openrouter-search");
    wd.write("spans/s.jsonl", "{\"resourceSpans\":[]}\n");
    let generation = "{\"data\": {\"id\": \"gen-s1\", \"model\": \"openai/gpt-4.1\", \
                      \"provider_name\": \"OpenAI\", \"created_at\": \"2025-11-10T10:00:00Z\", \
                      \"native_tokens_prompt\": 1000, \"native_tokens_completion\": 100, \
                      \"num_search_results\": 5, \"total_cost\": 0.0228}}\n";
    wd.write("usage/generation.jsonl", generation);
    let (code, stderr) = report(&wd, "2025-11", &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no [model.requests] price for its web_search_results requests"),
        "{stderr}"
    );
    // Its web-fetch tool's fetches too (Exa's are billed, a direct fetch
    // is free): never a silent $0.
    let fetching = generation.replace("\"num_search_results\": 5", "\"num_fetches\": 3");
    wd.write("usage/generation.jsonl", &fetching);
    let (code, stderr) = report(&wd, "2025-11", &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no [model.requests] price for its web_fetches requests"),
        "{stderr}"
    );
}
