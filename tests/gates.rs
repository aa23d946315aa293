//! No silent wrong answers: a misconfigured run on the sample month exits 1
//! with one line per failed gate on stderr, even with --quiet, and says what
//! the inputs do contain.

use crate::workdir::{repo, Workdir};

/// `report` on the shipped sample month with `flags`; (exit code, stderr,
/// summary.json).
fn sample_run(flags: &[&str]) -> (i32, String, String) {
    let wd = Workdir::new("gates");
    let root = repo();
    let path = |p: &str| root.join(p).to_str().unwrap().to_string();
    let (spans, usage) = (path("samples/spans"), path("samples/usage.csv"));
    let mut args = vec![
        "report", "--spans", &spans, "--usage", &usage, "--quiet", "--out", "out",
    ];
    args.extend(flags);
    let out = wd.output(&args);
    let summary = std::fs::read_to_string(wd.path("out/summary.json")).unwrap_or_default();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stderr).unwrap(),
        summary,
    )
}

#[test]
fn a_period_with_no_usage_exits_1_naming_the_months_present() {
    let (code, stderr, summary) = sample_run(&["--period", "2024-01"]);
    assert_eq!(code, 1, "{stderr}");
    let line = "no usage record in --period 2024-01: the usage holds 2025-05 (16 records), 2025-06 (2277 records)";
    assert!(
        stderr.contains(&format!("tokenledger: {line}\n")),
        "{stderr}"
    );
    assert!(summary.contains(line), "{summary}");
}

#[test]
fn a_mistyped_join_key_exits_1_and_names_the_key_the_spans_carry() {
    // Without the fingerprint join, nothing joins.
    let (code, stderr, summary) = sample_run(&[
        "--period",
        "2025-06",
        "--join-attr",
        "gen_ai.reponse.id",
        "--fingerprint-window",
        "0",
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(
            "tokenledger: only 0.0 % of the billed cost joined a span (--min-match 50): --join-attr \
             gen_ai.reponse.id is on no inference span; inference spans carry gen_ai.response.id: \
             did you mean --join-attr gen_ai.response.id?\n"
        ),
        "{stderr}"
    );
    assert!(summary.contains("\"failed_gates\": ["), "{summary}");
    // --min-match 0 turns the gate off; the key found on no span is still a warning.
    let (code, stderr, summary) = sample_run(&[
        "--period",
        "2025-06",
        "--join-attr",
        "gen_ai.reponse.id",
        "--min-match",
        "0",
        "--fingerprint-window",
        "0",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        summary.contains(
            "\"warnings\": [\n    \"--join-attr gen_ai.reponse.id is on no inference span"
        ),
        "{summary}"
    );
}

#[test]
fn the_fingerprint_join_recovers_a_month_whose_ids_do_not_join() {
    // The same key mistyped, with the fingerprint join on (the default):
    // every call the ids joined joins by model, tokens and time instead, to
    // the same records, so every report is the same; the key is still named.
    let by_id = Workdir::new("by-id");
    let by_print = Workdir::new("by-print");
    let root = repo();
    let path = |p: &str| root.join(p).to_str().unwrap().to_string();
    let (spans, usage) = (path("samples/spans"), path("samples/usage.csv"));
    let base = [
        "report", "--spans", &spans, "--usage", &usage, "--period", "2025-06", "--quiet", "--out",
        "out",
    ];
    by_id.run(&base);
    let mut mistyped = base.to_vec();
    mistyped.extend(["--join-attr", "gen_ai.reponse.id"]);
    by_print.run(&mistyped);
    for report in [
        "by_tenant.csv",
        "by_feature.csv",
        "by_agent.csv",
        "by_run.csv",
        "unattributed.csv",
    ] {
        assert_eq!(
            by_print.read(&format!("out/{report}")),
            by_id.read(&format!("out/{report}")),
            "{report}"
        );
    }
    let summary = by_print.read("out/summary.json");
    assert!(
        summary.contains("\"matched\": 2236,\n    \"matched_by_fingerprint\": 2236,"),
        "{summary}"
    );
    assert!(
        summary.contains("did you mean --join-attr gen_ai.response.id?"),
        "{summary}"
    );
}

#[test]
fn a_tenant_key_found_nowhere_warns_with_the_root_keys() {
    let (code, stderr, summary) =
        sample_run(&["--period", "2025-06", "--tenant-attr", "tenant_id"]);
    assert_eq!(code, 0, "{stderr}");
    let warning = "of the cost has no tenant: --tenant-attr tenant_id is on no ancestor of those calls; root spans carry ";
    assert!(summary.contains(warning), "{summary}");
    assert!(summary.contains("tenant.id"), "{summary}");
    // --quiet keeps warnings off the terminal, not out of summary.json.
    assert!(!stderr.contains(warning), "{stderr}");
}

#[test]
fn a_failed_gate_is_named_even_with_quiet() {
    let root = repo();
    let budgets = root.join("samples/budgets.toml");
    let (code, stderr, _) = sample_run(&[
        "--period",
        "2025-06",
        "--budgets",
        budgets.to_str().unwrap(),
        "--fail-on-budget",
    ]);
    assert_eq!(code, 1);
    assert!(stderr.starts_with("tokenledger: budgets: "), "{stderr}");
    assert!(
        stderr.contains(" over (--fail-on-budget; see budget.csv)\n"),
        "{stderr}"
    );
    // reconcile --quiet on drift.
    let wd = Workdir::handmade("reconcile-quiet");
    wd.write(
        "invoice.csv",
        "provider,model,token_type,amount_usd\nanthropic,claude-test-1,input,9\n",
    );
    let mut args = crate::workdir::HANDMADE_RECONCILE.to_vec();
    args.extend(["--invoice", "invoice.csv", "--quiet"]);
    let stderr = wd.fail(&args, 1);
    assert!(
        stderr.starts_with("tokenledger: reconciliation drift: "),
        "{stderr}"
    );
}

#[test]
fn reconcile_without_a_period_names_the_other_months_usage() {
    let wd = Workdir::new("no-period");
    let root = repo();
    let path = |p: &str| root.join(p).to_str().unwrap().to_string();
    let (usage, invoices) = (path("samples/usage.csv"), path("samples/invoices"));
    let out = wd.output(&["reconcile", "--usage", &usage, "--invoice", &invoices]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains(
            "  anthropic claude-3-5-haiku-latest input 2025-05-31: usage on a day outside the invoice's \
             days (2025-06-01 to 2025-06-30): records of another month (reconcile one with --period), \
             or a bill whose month is cut at another midnight (Google Cloud's invoice month is Pacific \
             time)\n"
        ),
        "{stdout}"
    );
    assert!(
        !stdout.contains("an invoice export may be missing"),
        "{stdout}"
    );
}

#[test]
fn a_span_file_without_calls_is_named_with_its_keys_even_when_quiet() {
    let wd = Workdir::new("no-calls");
    wd.write(
        "s.jsonl",
        "{\"name\":\"GET /\",\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\",\"span_id\":\"00f067aa0ba902b7\",\"attributes\":{\"http.method\":\"GET\",\"tenant.id\":\"a\"}}\n",
    );
    wd.write(
        "u.csv",
        "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\nr1,2025-06-01T00:00:00Z,openai,gpt-4.1,10,0,0,0,5,false\n",
    );
    let stderr = wd.fail(
        &[
            "report",
            "--spans",
            "s.jsonl",
            "--usage",
            "u.csv",
            "--quiet",
            "--min-match",
            "0",
        ],
        0,
    );
    assert!(
        stderr.contains("tokenledger: note: s.jsonl: spans but no inference call")
            && stderr.contains("keys seen: http.method, tenant.id\n"),
        "{stderr}"
    );
}

#[test]
fn min_match_0_is_off_whatever_the_last_digit_of_the_sums() {
    // A third off batch: the unattributed cost, summed apart from the
    // total, once came to a hair over it, read as -0.0…01 % joined: exit 1.
    let wd = Workdir::new("gates-min-match-0");
    wd.write(
        "pricing.toml",
        "version = \"t\"\ncurrency = \"USD\"\n[[model]]\nprovider = \"openai\"\n\
         match = [\"gpt-test\"]\neffective_from = 2025-01-01\ninput = 3\noutput = 7\n\
         cache_read = 1\ncache_write_5m = 1\ncache_write_1h = 1\n\
         batch_discount = 0.3333333333333333333333333333\n",
    );
    let header = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,\
                  cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n";
    let rows = "r0,2025-06-10T09:00:00Z,openai,gpt-test,1000000,0,0,0,0,false\n\
                r1,2025-06-10T09:00:01Z,openai,gpt-test,1000000,0,0,0,0,true\n\
                r2,2025-06-10T09:00:02Z,openai,gpt-test,5000000,0,0,0,1,true\n";
    wd.write("usage.csv", &format!("{header}{rows}"));
    let spans = repo().join("samples/spans");
    let args = [
        "report",
        "--spans",
        spans.to_str().unwrap(),
        "--usage",
        "usage.csv",
        "--pricing",
        "pricing.toml",
        "--min-match",
        "0",
        "--quiet",
        "--print",
        "model",
    ];
    let printed = wd.run(&args);
    assert!(printed.contains("gpt-test,3,7000000,"), "{printed}");
}

#[test]
fn one_request_billed_under_two_ids_in_two_sources_is_a_failed_gate() {
    // A gateway's row under its own id and OpenRouter's record of the same
    // call (1M in, 1M out: $5 each at the hand-made rates), which the span
    // joins by its upstream id. The gateway's copy lay unattributed: $10
    // for a $5 call, exit 0.
    let wd = Workdir::handmade("twins");
    wd.write(
        "gw.csv",
        "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,\
         cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n\
         gw-req-77,2025-06-20T09:00:00Z,openai,gpt-test,1000000,0,0,0,1000000,false\n",
    );
    wd.write("or.json", "{\"id\":\"gen-1\",\"upstream_id\":\"chatcmpl-1\",\"created_at\":\"2025-06-20T09:00:00.100Z\",\"model\":\"openai/gpt-test\",\"provider_name\":\"OpenAI\",\"native_tokens_prompt\":1000000,\"native_tokens_completion\":1000000,\"native_tokens_cached\":0,\"native_tokens_reasoning\":300,\"total_cost\":5}\n");
    let span = "{\"name\":\"chat gpt-test\",\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\",\"span_id\":\"a100000000000001\",\"attributes\":{\"gen_ai.operation.name\":\"chat\",\"gen_ai.response.id\":\"chatcmpl-1\",\"tenant.id\":\"acme\"}}\n";
    wd.write("one/s.jsonl", span);
    let out = wd.output(&[
        "report",
        "--spans",
        "one",
        "--usage",
        "gw.csv",
        "or.json",
        "--pricing",
        "pricing.toml",
        "--period",
        "2025-06",
        "--quiet",
        "--out",
        "out",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 usage record(s) no span joined ($5.000000) repeat the model and input and output tokens of a record of another usage format that did, within 300 s (the first: gw.csv:2 and or.json:1)"),
        "{stderr}"
    );
    // Two files of one format (daily files, a gateway's replicas) are one
    // source, never compared: two calls of one shape are two calls.
    let copy = wd.read("gw.csv").replace("gw-req-77", "chatcmpl-1");
    wd.write("gw2.csv", &copy);
    let out = wd.output(&[
        "report",
        "--spans",
        "one",
        "--usage",
        "gw.csv",
        "gw2.csv",
        "--pricing",
        "pricing.toml",
        "--period",
        "2025-06",
        "--min-match",
        "0",
        "--out",
        "out",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("repeat the model"));
    // The same call in one source only is one $5 call.
    let out = wd.output(&[
        "report",
        "--spans",
        "one",
        "--usage",
        "or.json",
        "--pricing",
        "pricing.toml",
        "--period",
        "2025-06",
        "--quiet",
        "--out",
        "out",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn naming_an_alias_of_the_join_key_reads_the_key_and_every_alias() {
    // --join-attr gen_ai.response_id read that alias alone: the span's
    // gen_ai.response.id joined nothing.
    let wd = Workdir::handmade("join-alias");
    wd.write("or.json", "{\"id\":\"gen-1\",\"upstream_id\":\"chatcmpl-1\",\"created_at\":\"2025-06-20T09:00:00Z\",\"model\":\"openai/gpt-test\",\"provider_name\":\"OpenAI\",\"native_tokens_prompt\":1000000,\"native_tokens_completion\":1000000,\"total_cost\":5}\n");
    wd.write("one/s.jsonl", "{\"name\":\"chat gpt-test\",\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\",\"span_id\":\"a100000000000001\",\"attributes\":{\"gen_ai.operation.name\":\"chat\",\"gen_ai.response.id\":\"chatcmpl-1\",\"tenant.id\":\"acme\"}}\n");
    let out = wd.output(&[
        "report",
        "--spans",
        "one",
        "--usage",
        "or.json",
        "--pricing",
        "pricing.toml",
        "--period",
        "2025-06",
        "--quiet",
        "--out",
        "out",
        "--join-attr",
        "gen_ai.response_id",
        "--fingerprint-window",
        "0",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(wd.read("out/by_tenant.csv").contains("\nacme,1,"));
}

#[test]
fn a_missing_span_file_is_named_by_the_cost_with_no_tenant() {
    // part-1.jsonl holds the roots of many of part-0's traces: without it,
    // 77 % of the cost has no tenant
    // (46.6 % joined no span, 30.6 % joined calls that name none), though
    // the joined 53 % passes --min-match.
    let wd = Workdir::new("gates-span-file-missing");
    let root = repo();
    let path = |p: &str| root.join(p).to_str().unwrap().to_string();
    let (spans, usage) = (
        path("samples/spans/part-0.jsonl"),
        path("samples/usage.csv"),
    );
    let args = [
        "report", "--spans", &spans, "--usage", &usage, "--period", "2025-06",
    ];
    let out = wd.output(&[&args[..], &["--out", "out"]].concat());
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let warning = "77.2 % of the cost has no tenant: 46.6 % joined no span (unattributed.csv) \
                   and 30.6 % joined calls that name none";
    assert!(stderr.contains(warning), "{stderr}");
}

#[test]
fn usage_of_two_months_without_a_period_is_warned_of_and_with_one_is_not() {
    let warning = "the usage holds 2025-05 (16 records), 2025-06 (2277 records) and no --period \
                   was given: every report (and budget) sums those months as one";
    // --quiet keeps warnings off stderr; summary.json holds them.
    let (code, stderr, summary) = sample_run(&[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(summary.contains(warning), "{summary}");
    let (code, stderr, summary) = sample_run(&["--period", "2025-06"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!summary.contains("no --period was given"), "{summary}");
}

#[test]
fn reconcile_with_a_period_of_no_usage_exits_1_not_ok() {
    // A mistyped --period (or the month's exports not landed yet) compared
    // nothing and said "reconciliation ok", exit 0.
    let wd = Workdir::new("rec-empty-period");
    let root = repo();
    let path = |p: &str| root.join(p).to_str().unwrap().to_string();
    let (usage, invoices) = (path("samples/usage.csv"), path("samples/invoices"));
    let out = wd.output(&[
        "reconcile",
        "--usage",
        &usage,
        "--invoice",
        &invoices,
        "--period",
        "2019-01",
        "--out",
        "out",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("reconciliation empty (0 lines compared"),
        "{stdout}"
    );
    assert!(
        stderr.contains("no usage record in --period 2019-01: the usage holds 20"),
        "{stderr}"
    );
}

#[test]
fn twins_at_one_time_are_taken_by_what_they_are_not_by_file_order() {
    // A gateway's joined record (100,000 input tokens) and two canonical
    // records no span joined, at one time, of its shape: one its exact
    // copy ($0.30), one of cache reads ($0.03). The lower file index was
    // taken, so the gate failed or passed by which file sorted first.
    let wd = Workdir::new("twins-at-one-time");
    wd.write("spans.jsonl", "{\"name\":\"chat\",\"trace_id\":\"8a3c60f7d188f8fa79d48a391a778fa6\",\"span_id\":\"0000000000000011\",\"start_time\":\"2025-06-10T09:00:00Z\",\"attributes\":{\"gen_ai.operation.name\":\"chat\",\"gen_ai.system\":\"anthropic\",\"gen_ai.request.model\":\"claude-sonnet-4-20250514\",\"gen_ai.response.id\":\"msg_J\",\"gen_ai.usage.input_tokens\":100000,\"gen_ai.usage.output_tokens\":0,\"tenant.id\":\"acme\"}}\n");
    wd.write("gw.jsonl", "{\"request_id\":\"msg_J\",\"call_type\":\"acompletion\",\"spend\":0.3,\"total_tokens\":100000,\"prompt_tokens\":100000,\"completion_tokens\":0,\"startTime\":\"2025-06-10T09:00:00\",\"model\":\"claude-sonnet-4-20250514\",\"custom_llm_provider\":\"anthropic\",\"status\":\"success\"}\n");
    let header = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n";
    let row = |id: &str, counts: &str| {
        format!("{header}{id},2025-06-10T09:01:00Z,anthropic,claude-sonnet-4-20250514,{counts},0,0,0,false\n")
    };
    let (copy, reads) = (row("L1", "100000,0"), row("L2", "0,100000"));
    for (dir, x, y) in [("a", &copy, &reads), ("b", &reads, &copy)] {
        wd.write(&format!("{dir}/x.csv"), x);
        wd.write(&format!("{dir}/y.csv"), y);
        let args = [
            "report",
            "--spans",
            "spans.jsonl",
            "--usage",
            "gw.jsonl",
            dir,
        ];
        let out = wd.output(&[&args[..], &["--out", &format!("out-{dir}"), "--quiet"]].concat());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{dir}: {stderr}");
        assert!(
            stderr.contains("1 usage record(s) no span joined ($0.300000)"),
            "{dir}: {stderr}"
        );
    }
}
