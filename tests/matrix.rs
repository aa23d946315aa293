//! The bad-input matrix: one case per way an input can be wrong, across the
//! span, usage, pricing and invoice readers. A case that is an error must
//! end with exit 2 and one message naming the file, the line (or span) and
//! what was expected: never a panic, never exit 101, and nothing written.
//! The quirks that are valid input end with exit 0 and are counted.

use crate::workdir::{fixture, Workdir, HANDMADE_REPORT};

/// One way an input can be wrong.
struct Case {
    name: &'static str,
    /// Changes the hand-made fleet's files.
    edit: fn(&Workdir),
    /// Flags added to the report command.
    flags: &'static [&'static str],
    /// Expected exit code.
    code: i32,
    /// Text the error message (exit 2) or summary.json (exit 0) must contain.
    expect: &'static str,
}

fn replace(wd: &Workdir, file: &str, from: &str, to: &str) {
    let text = wd.read(file);
    assert!(text.contains(from), "{file} lacks {from:?}");
    wd.write(file, &text.replacen(from, to, 1));
}

fn usage_row(wd: &Workdir, row: &str) {
    let text = wd.read("usage.csv");
    wd.write("usage.csv", &format!("{text}{row}\n"));
}

fn first_span_line(wd: &Workdir) -> String {
    wd.read("spans/children.jsonl")
        .lines()
        .next()
        .unwrap()
        .to_string()
}

fn invoice(wd: &Workdir, text: &str) {
    wd.write("invoice.csv", text);
}

const INVOICE: &[&str] = &["--invoice", "invoice.csv"];
const BUDGETS: &[&str] = &["--budgets", "budgets.toml"];

/// A budgets file with one budget for tenant conv-9 (97 cents of spend), ending in `usd`.
fn budget(wd: &Workdir, usd: &str) {
    wd.write(
        "budgets.toml",
        &format!("[[budget]]\ndimension = \"tenant\"\nkey = \"conv-9\"\n{usd}\n"),
    );
}

const PROVIDER_USAGE: &[&str] = &["--provider-usage", "pu.json"];

/// An OpenAI usage/completions page of one bucket whose `input_tokens` is `input`.
fn openai_page(input: &str) -> String {
    format!(
        r#"{{"object":"page","data":[{{"start_time":1749513600,"results":[{{"object":"organization.usage.completions.result","input_tokens":{input},"output_tokens":5,"input_cached_tokens":0,"model":"gpt-test"}}]}}]}}"#
    ) + "\n"
}
const LENIENT: &[&str] = &["--lenient"];

/// Every case, reader by reader.
fn cases() -> Vec<Case> {
    [
        span_cases(),
        usage_cases(),
        pricing_cases(),
        flagged_input_cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The span reader's cases.
fn span_cases() -> Vec<Case> {
    vec![
        // ---- spans
        Case { name: "truncated last line", edit: |wd| {
            let line = first_span_line(wd);
            let text = wd.read("spans/children.jsonl");
            wd.write("spans/children.jsonl", &format!("{text}{}", &line[..line.len() / 2]));
        }, flags: &[], code: 2, expect: "spans/children.jsonl:3: not an OTLP TracesData JSON line: EOF while parsing" },
        Case { name: "invalid UTF-8", edit: |wd| {
            let mut bytes = std::fs::read(wd.path("spans/children.jsonl")).unwrap();
            let at = bytes.iter().position(|&b| b == b'\n').unwrap() + 30;
            bytes[at] = 0xff;
            std::fs::write(wd.path("spans/children.jsonl"), bytes).unwrap();
        }, flags: &[], code: 2, expect: "spans/children.jsonl:2: invalid UTF-8 at byte 29" },
        Case { name: "valid JSON that is not a span", edit: |wd| {
            let text = wd.read("spans/children.jsonl");
            wd.write("spans/children.jsonl", &format!("{text}{{\"level\":\"info\",\"msg\":\"exported\"}}\n"));
        }, flags: &[], code: 2, expect: "spans/children.jsonl:3: no \"resourceSpans\" (or Tempo \"batches\") key: not OTLP trace data" },
        Case { name: "span without traceId", edit: |wd| {
            replace(wd, "spans/children.jsonl", "\"traceId\":\"0af7651916cd43dd8448eb211c80319c\",\"spanId\":\"a600000000000006\"", "\"spanId\":\"a600000000000006\"");
        }, flags: &[], code: 2, expect: "spans/children.jsonl:1: not an OTLP TracesData JSON line: missing field `traceId`" },
        Case { name: "intValue as a bare number", edit: |wd| {
            replace(wd, "spans/children.jsonl", "{\"intValue\":\"3000\"}", "{\"intValue\":3000}");
        }, flags: &[], code: 0, expect: "\"calls\": 7," },
        Case { name: "intValue as a float", edit: |wd| {
            replace(wd, "spans/children.jsonl", "{\"intValue\":\"3000\"}", "{\"intValue\":3000.5}");
        }, flags: &[], code: 2, expect: "spans/children.jsonl:1: not an OTLP TracesData JSON line: invalid type: floating point `3000.5`, expected an intValue" },
        Case { name: "intValue out of range", edit: |wd| {
            replace(wd, "spans/children.jsonl", "{\"intValue\":\"3000\"}", "{\"intValue\":\"99999999999999999999\"}");
        }, flags: &[], code: 2, expect: "spans/children.jsonl:1: not an OTLP TracesData JSON line: intValue \"99999999999999999999\" is not a 64-bit integer" },
        Case { name: "intValue out of range as a number", edit: |wd| {
            replace(wd, "spans/children.jsonl", "{\"intValue\":\"3000\"}", "{\"intValue\":18446744073709551615}");
        }, flags: &[], code: 2, expect: "intValue 18446744073709551615 is out of the 64-bit signed range" },
        Case { name: "traceId not hex", edit: |wd| {
            replace(wd, "spans/children.jsonl", "0af7651916cd43dd8448eb211c80319c", "0af7651916cd43dd8448eb211c80319z");
        }, flags: &[], code: 2, expect: "spans/children.jsonl:1: span \"chat claude-test-1\": traceId \"0af7651916cd43dd8448eb211c80319z\" is not 32 hex digits" },
        Case { name: "a stringValue that is no string", edit: |wd| {
            replace(wd, "spans/children.jsonl", "{\"stringValue\":\"beta\"}", "{\"stringValue\":7}");
        }, flags: &[], code: 2, expect: "spans/children.jsonl:1: span \"chat claude-test-1\": attribute \"tenant.id\" has a stringValue that is not a string" },
        Case { name: "a stringValue that is no text", edit: |wd| {
            replace(wd, "spans/children.jsonl", "{\"stringValue\":\"beta\"}", "{\"stringValue\":\"be\\ud800ta\"}");
        }, flags: &[], code: 2, expect: "spans/children.jsonl:1: span \"chat claude-test-1\": attribute \"tenant.id\" has a stringValue that is not text" },
        Case { name: "a value of two types", edit: |wd| {
            replace(wd, "spans/children.jsonl", "{\"intValue\":\"3000\"}", "{\"intValue\":\"3000\",\"stringValue\":\"3000\"}");
        }, flags: &[], code: 2, expect: "attribute \"gen_ai.usage.input_tokens\" has a value of two types" },
        Case { name: "traceId all zeros", edit: |wd| {
            replace(wd, "spans/children.jsonl", "0af7651916cd43dd8448eb211c80319c", "00000000000000000000000000000000");
        }, flags: &[], code: 2, expect: "spans/children.jsonl:1: span \"chat claude-test-1\": traceId \"00000000000000000000000000000000\" is not 32 hex digits or 16 bytes in base64 (non-zero)" },
        Case { name: "parentSpanId of the wrong length", edit: |wd| {
            replace(wd, "spans/children.jsonl", "\"parentSpanId\":\"a500000000000005\"", "\"parentSpanId\":\"a5000005\"");
        }, flags: &[], code: 2, expect: "spans/children.jsonl:1: span \"chat claude-test-1\": parentSpanId \"a5000005\" is not 16 hex digits" },
        Case { name: "spanId of zeros", edit: |wd| {
            replace(wd, "spans/children.jsonl", "a600000000000006", "0000000000000000");
        }, flags: &[], code: 2, expect: "spanId \"0000000000000000\" is not 16 hex digits or 8 bytes in base64 (non-zero)" },
        Case { name: "attributes not a list", edit: |wd| {
            replace(wd, "spans/children.jsonl", "\"attributes\":[{\"key\":\"gen_ai.operation.name\"", "\"attributes\":{\"x\":[{\"key\":\"gen_ai.operation.name\"");
        }, flags: &[], code: 2, expect: "spans/children.jsonl:1: not an OTLP TracesData JSON line:" },
        Case { name: "a span whose parent never appears", edit: |wd| {
            replace(wd, "spans/children.jsonl", "\"parentSpanId\":\"a500000000000005\"", "\"parentSpanId\":\"ffff000000000005\"");
        }, flags: &[], code: 0, expect: "\"orphan_spans\": 1," },
        Case { name: "a parent cycle", edit: cycle, flags: &[], code: 2, expect: "is its own ancestor (parent cycle)" },
        Case { name: "a parent cycle, lenient", edit: cycle, flags: LENIENT, code: 0, expect: "\"parent-cycle\": 1" },
        Case { name: "a trace id reused with different roots", edit: reused, flags: &[], code: 2, expect: ": trace 4bf92f3577b34da6a3ce929d0e0e4736: a second root span b900000000000009 (the first, b100000000000001, is at spans/parents.json:112): the trace id was reused" },
        Case { name: "a trace id reused, lenient", edit: reused, flags: LENIENT, code: 0, expect: "\"reused-trace-id\": 1" },
        Case { name: "an empty span file", edit: |wd| wd.write("spans/empty.jsonl", ""), flags: &[], code: 2, expect: "spans/empty.jsonl: the file is empty; remove it from the inputs" },
        Case { name: "an empty span file, lenient (file-level: still an error)", edit: |wd| wd.write("spans/empty.jsonl", "\n"), flags: LENIENT, code: 2, expect: "spans/empty.jsonl: the file is empty" },
        Case { name: "a span file that is really CSV", edit: |wd| wd.write("spans/more.jsonl", "trace_id,span_id\nabc,def\n"), flags: &[], code: 2, expect: "spans/more.jsonl:1: not a span file (expected a JSON object per line, or one JSON document)" },
        Case { name: "a broken JSON document", edit: |wd| {
            let text = wd.read("spans/parents.json");
            wd.write("spans/parents.json", &text[..text.len() - 20]);
        }, flags: &[], code: 2, expect: "spans/parents.json:" },
    ]
}

/// The usage reader's cases.
fn usage_cases() -> Vec<Case> {
    vec![
        // ---- usage
        Case { name: "negative token count", edit: |wd| usage_row(wd, "2025-06-11T00:00:00Z,req-9,openai,gpt-test,5,-7,0,0,0,false,k"), flags: &[], code: 2, expect: "usage.csv:9: uncached_input_tokens: expected a whole non-negative number of tokens, got \"-7\"" },
        Case { name: "non-integer token count", edit: |wd| usage_row(wd, "2025-06-11T00:00:00Z,req-9,openai,gpt-test,5.5,7,0,0,0,false,k"), flags: &[], code: 2, expect: "usage.csv:9: output_tokens: expected a whole non-negative number of tokens, got \"5.5\"" },
        Case { name: "token count beyond u64", edit: |wd| usage_row(wd, "2025-06-11T00:00:00Z,req-9,openai,gpt-test,5,18446744073709551616,0,0,0,false,k"), flags: &[], code: 2, expect: "usage.csv:9: uncached_input_tokens: expected a whole non-negative number of tokens, got \"18446744073709551616\"" },
        Case { name: "token count that would overflow sums", edit: |wd| usage_row(wd, "2025-06-11T00:00:00Z,req-9,openai,gpt-test,5,18446744073709551615,0,0,0,false,k"), flags: &[], code: 2, expect: "usage.csv:9: uncached_input_tokens: 18446744073709551615 tokens in one request is beyond the plausible maximum of 1000000000000" },
        Case { name: "largest plausible counts sum exactly", edit: |wd| {
            usage_row(wd, "2025-06-11T00:00:00Z,req-9,openai,gpt-test,1000000000000,1000000000000,1000000000000,0,0,false,k");
            usage_row(wd, "2025-06-11T00:00:00Z,req-10,openai,gpt-test,1000000000000,1000000000000,1000000000000,0,0,false,k");
        }, flags: &[], code: 0, expect: "\"uncached_input_tokens\": 2000001167007," },
        Case { name: "a bad row, lenient", edit: |wd| usage_row(wd, "2025-06-11T00:00:00Z,req-9,openai,gpt-test,5,-7,0,0,0,false,k"), flags: LENIENT, code: 0, expect: "\"bad-token-count\": 1" },
        Case { name: "duplicate identical rows", edit: |wd| usage_row(wd, "2025-06-10T09:00:00Z,req-1,anthropic,claude-test-1-20250101,500,1000,2000,400,0,false,sk-a"), flags: &[], code: 0, expect: "\"duplicate_usage_records\": 1," },
        Case { name: "duplicate conflicting rows", edit: |wd| usage_row(wd, "2025-06-10T09:00:00Z,req-1,anthropic,claude-test-1-20250101,501,1000,2000,400,0,false,sk-a"), flags: &[], code: 2, expect: "usage.csv:9: request_id req-1 already appeared at usage.csv:2 with different values" },
        Case { name: "an unknown extra column is ignored", edit: |wd| replace(wd, "usage.csv", ",api_key\n", ",api_key_hash\n"), flags: &[], code: 0, expect: "\"usage_records\": 7," },
        Case { name: "a missing column", edit: |wd| replace(wd, "usage.csv", ",batch,", ",batched,"), flags: &[], code: 2, expect: "usage.csv:1: usage CSV header lacks column(s) batch;" },
        Case { name: "a timestamp without a time zone", edit: |wd| usage_row(wd, "2025-06-11T00:00:00,req-9,openai,gpt-test,5,7,0,0,0,false,k"), flags: &[], code: 2, expect: "usage.csv:9: timestamp: expected RFC 3339 with a time zone (2025-06-01T12:00:00Z), got \"2025-06-11T00:00:00\"" },
        Case { name: "dates outside the period", edit: |wd| usage_row(wd, "2025-07-01T00:00:00Z,req-9,openai,gpt-test,5,7,0,0,0,false,k"), flags: &["--period", "2025-06"], code: 0, expect: "\"out_of_period\": 2," },
        Case { name: "an empty usage file", edit: |wd| wd.write("usage.csv", ""), flags: &[], code: 2, expect: "usage.csv: the file is empty; remove it from the inputs" },
        Case { name: "a usage file that is really JSON", edit: |wd| wd.write("usage.csv", "{\"request_id\": \"x\"}\n"), flags: &[], code: 2, expect: "usage.csv: not a usage file tokenledger knows" },
        Case { name: "invalid UTF-8 in a usage header", edit: |wd| {
            let bytes = std::fs::read(wd.path("usage.csv")).unwrap();
            let header = bytes.iter().position(|&b| b == b'\n').unwrap();
            let fixed = [&bytes[..header], b"\xff", &bytes[header..]].concat();
            std::fs::write(wd.path("usage.csv"), fixed).unwrap();
        }, flags: &[], code: 2, expect: "usage.csv:1: the header's column 11 is not UTF-8 text" },
        Case { name: "invalid UTF-8 in a usage field", edit: |wd| {
            let mut bytes = std::fs::read(wd.path("usage.csv")).unwrap();
            bytes.extend_from_slice(b"2025-06-11T00:00:00Z,req-\xff,openai,gpt-test,5,7,0,0,0,false,k\n");
            std::fs::write(wd.path("usage.csv"), bytes).unwrap();
        }, flags: &[], code: 2, expect: "usage.csv:9: request_id: invalid UTF-8" },
        Case { name: "a batch flag that is not a boolean", edit: |wd| usage_row(wd, "2025-06-11T00:00:00Z,req-9,openai,gpt-test,5,7,0,0,0,1,k"), flags: &[], code: 2, expect: "usage.csv:9: batch: expected true, false or empty, got \"1\"" },
        Case { name: "a row with too few fields", edit: |wd| usage_row(wd, "2025-06-11T00:00:00Z,req-9,openai,gpt-test,5"), flags: &[], code: 2, expect: "usage.csv:9: row has 5 fields, the header has 11" },
        Case { name: "an unpriced model", edit: |wd| usage_row(wd, "2025-06-11T00:00:00Z,req-9,openai,gpt-unknown,5,7,0,0,0,false,k"), flags: &[], code: 2, expect: "openai gpt-unknown: no price for 1 record(s) on 2025-06-11; first request_id req-9" },
    ]
}

/// The pricing table's cases.
fn pricing_cases() -> Vec<Case> {
    vec![
        // ---- pricing
        Case { name: "pricing: overlapping effective periods", edit: |wd| replace(wd, "pricing.toml", "effective_to = 2025-06-15\n", ""), flags: &[], code: 2, expect: "pricing.toml:23: entry matches \"claude-test-1\" and the entry at line 5 matches \"claude-test-1\" equally well in overlapping periods" },
        Case { name: "pricing: an ambiguous glob", edit: |wd| {
            // "gpt-4-mini" matches both, and both globs have 9 literal characters.
            let entry = |glob: &str| format!("\n[[model]]\nprovider = \"openai\"\nmatch = [\"{glob}\"]\neffective_from = 2025-01-01\ninput = 1\noutput = 1\ncache_read = 1\ncache_write_5m = 1\ncache_write_1h = 1\n");
            let text = wd.read("pricing.toml");
            wd.write("pricing.toml", &format!("{text}{}{}", entry("gpt-*-mini"), entry("gpt-4*mini")));
        }, flags: &[], code: 2, expect: "pricing.toml:56: entry matches \"gpt-4*mini\" and the entry at line 46 matches \"gpt-*-mini\" equally well in overlapping periods" },
        Case { name: "pricing: a rate whose per-token price no decimal holds", edit: |wd| replace(wd, "pricing.toml", "cache_read = 0.20", "cache_read = 0.2000000000000000000000000001"), flags: &[], code: 2, expect: "pricing.toml:30: \"cache_read\" is 0.2000000000000000000000000001: more digits than a cost holds exactly" },
        Case { name: "pricing: a negative rate", edit: |wd| replace(wd, "pricing.toml", "cache_read = 0.20", "cache_read = -0.20"), flags: &[], code: 2, expect: "pricing.toml:30: \"cache_read\" is -0.20: rates must not be negative" },
        Case { name: "pricing: a missing rate", edit: |wd| replace(wd, "pricing.toml", "cache_write_1h = 4.00\n", ""), flags: &[], code: 2, expect: "pricing.toml:24: the [[model]] entry at line 24 lacks \"cache_write_1h\"" },
        Case { name: "pricing: an unknown key", edit: |wd| replace(wd, "pricing.toml", "cache_write_1h = 4.00", "cache_write_1hr = 4.00"), flags: &[], code: 2, expect: "pricing.toml:32: unknown key \"cache_write_1hr\" in the [[model]] entry at line 24" },
        Case { name: "pricing: invalid TOML", edit: |wd| replace(wd, "pricing.toml", "input = 2.00", "input = 2.00.0"), flags: &[], code: 2, expect: "pricing.toml:28: invalid TOML" },
        Case { name: "pricing: a rate written as text", edit: |wd| replace(wd, "pricing.toml", "input = 2.00", "input = \"2.00\""), flags: &[], code: 2, expect: "pricing.toml:28: \"input\" must be a number (USD per million tokens)" },
        Case { name: "pricing: an implausible rate", edit: |wd| replace(wd, "pricing.toml", "input = 2.00", "input = 2e9"), flags: &[], code: 2, expect: "pricing.toml:28: \"input\" is 2000000000: over $1,000,000 per million tokens is not a price" },
        Case { name: "pricing: a period that ends before it starts", edit: |wd| replace(wd, "pricing.toml", "effective_to = 2025-06-15", "effective_to = 2024-06-15"), flags: &[], code: 2, expect: "pricing.toml:5: the [[model]] entry at line 5: effective_to must be after effective_from" },
        Case { name: "pricing: a rate too small to be a price", edit: |wd| replace(wd, "pricing.toml", "input = 2.00", "input = 0.0000000000000000000000000001"), flags: &[], code: 2, expect: "pricing.toml:28: \"input\" is 0.0000000000000000000000000001: below $0.000001 per million tokens is not a price" },
        Case { name: "pricing: a batch discount too small", edit: |wd| replace(wd, "pricing.toml", "batch_discount = 0.5", "batch_discount = 1e-20"), flags: &[], code: 2, expect: "pricing.toml:15: \"batch_discount\" is 0.00000000000000000001: batch_discount is the fraction of the standard cost charged; below 0.01" },
        Case { name: "pricing: a glob of 300,000 stars", edit: |wd| {
            // Checked for overlap with the other entry's glob, it overflowed the stack.
            let entry = |glob: &str| format!("\n[[model]]\nprovider = \"openai\"\nmatch = [\"{glob}\"]\neffective_from = 2025-01-01\ninput = 1\noutput = 1\ncache_read = 1\ncache_write_5m = 1\ncache_write_1h = 1\n");
            let text = wd.read("pricing.toml");
            wd.write("pricing.toml", &format!("{text}{}{}", entry(&format!("{}mini", "*".repeat(300_000))), entry("mini*")));
        }, flags: &[], code: 2, expect: "pricing.toml:48: \"match\" holds a pattern of 300004 characters; a model name or glob has at most 1000" },
    ]
}

/// The cases of inputs given by a flag: budgets, provider usage reports, invoices.
fn flagged_input_cases() -> Vec<Case> {
    vec![
        // ---- budgets
        Case { name: "budgets: a budget too small to divide by", edit: |wd| budget(wd, "usd = 0.0000000000000000000000000001"), flags: BUDGETS, code: 2, expect: "budgets.toml:4: \"usd\" is 0.0000000000000000000000000001: a budget below $0.000001" },
        Case { name: "budgets: a warning share too small", edit: |wd| {
            budget(wd, "usd = 1");
            let text = wd.read("budgets.toml");
            wd.write("budgets.toml", &format!("warn_pct = 1e-9\n{text}"));
        }, flags: BUDGETS, code: 2, expect: "budgets.toml:1: \"warn_pct\" is 0.000000001: shares are reported to 0.01 %" },
        // ---- provider usage reports
        Case { name: "provider usage: a count written as 1e20", edit: |wd| wd.write("pu.json", &openai_page("1e20")), flags: PROVIDER_USAGE, code: 2, expect: "pu.json:1: input_tokens: 1e+20 tokens in one bucket is beyond the plausible maximum of 1000000000000000" },
        Case { name: "provider usage: a count of u64::MAX", edit: |wd| wd.write("pu.json", &openai_page("18446744073709551615")), flags: PROVIDER_USAGE, code: 2, expect: "pu.json:1: input_tokens: 18446744073709551615 tokens in one bucket is beyond the plausible maximum" },
        Case { name: "provider usage: a CSV count beyond u64", edit: |wd| {
            let text = std::fs::read_to_string(fixture("provider-usage/openai-usage.csv")).unwrap();
            wd.write("pu.csv", &text.replacen(",20000.0,", ",99999999999999999999.0,", 1));
        }, flags: &["--provider-usage", "pu.csv"], code: 2, expect: "pu.csv:2: input_tokens: 99999999999999999999.0 tokens in one bucket is beyond the plausible maximum" },
        Case { name: "provider usage: a count out of range, lenient", edit: |wd| wd.write("pu.json", &openai_page("1e20")), flags: &["--provider-usage", "pu.json", "--lenient"], code: 0, expect: "\"bad-token-count\": 1" },
        // ---- invoices
        Case { name: "invoice: an amount that is not a number", edit: |wd| invoice(wd, "provider,model,token_type,amount_usd\nopenai,gpt-test,input,12,50\n"), flags: INVOICE, code: 2, expect: "invoice.csv:2: row has 5 fields, the header has 4" },
        Case { name: "invoice: an amount in words", edit: |wd| invoice(wd, "provider,model,token_type,amount_usd\nopenai,gpt-test,input,twelve\n"), flags: INVOICE, code: 2, expect: "invoice.csv:2: amount_usd: expected a decimal amount, got \"twelve\"" },
        Case { name: "invoice: another currency", edit: |wd| invoice(wd, "provider,model,token_type,amount_usd,currency\nopenai,gpt-test,input,1.00,EUR\n"), flags: INVOICE, code: 2, expect: "invoice.csv:2: billed in EUR, but the pricing table is in USD, and the bill states no exchange rate into USD: give one with --fx EUR=<EUR per USD>" },
        Case { name: "invoice: an unknown token type", edit: |wd| invoice(wd, "provider,model,token_type,amount_usd\nopenai,gpt-test,reasoning,1.00\n"), flags: INVOICE, code: 2, expect: "invoice.csv:2: token_type: expected input, cache_read, cache_write_5m, cache_write_1h, output, <charge>_requests or empty, got \"reasoning\"" },
        Case { name: "invoice: Anthropic cents that are not a number", edit: |wd| {
            let report = std::fs::read_to_string(fixture("invoices/anthropic-cost-report.jsonl")).unwrap();
            wd.write("invoice.csv", &report.replacen("\"amount\":\"0.3\"", "\"amount\":\"0,3\"", 1));
        }, flags: INVOICE, code: 2, expect: "invoice.csv:1: amount \"0,3\" is not a decimal number of cents" },
        Case { name: "invoice: an amount beyond the plausible maximum", edit: |wd| invoice(wd, "provider,model,token_type,amount_usd\nopenai,gpt-test,input,1000000000000.5\n"), flags: INVOICE, code: 2, expect: "invoice.csv:2: amount_usd: \"1000000000000.5\" is beyond the plausible maximum of 1000000000000" },
        Case { name: "invoice: Anthropic cents with more places than a dollar holds", edit: |wd| {
            let report = std::fs::read_to_string(fixture("invoices/anthropic-cost-report.jsonl")).unwrap();
            wd.write("invoice.csv", &report.replacen("\"amount\":\"0.3\"", "\"amount\":\"0.299999999999999999999999999\"", 1));
        }, flags: INVOICE, code: 2, expect: "more decimal places than a dollar amount holds exactly (28)" },
        Case { name: "invoice: a format tokenledger does not know", edit: |wd| invoice(wd, "date,total\n2025-06-01,12.00\n"), flags: INVOICE, code: 2, expect: "invoice.csv: not an invoice format tokenledger knows" },
        Case { name: "invoice: amounts too small to divide by", edit: |wd| invoice(wd, "provider,model,token_type,amount_usd\nopenai,gpt-test,input,0.0000000000000000000000000001\nanthropic,claude-test-1,input,1e-28\n"), flags: INVOICE, code: 1, expect: "\"status\": \"drift\"" },
        Case { name: "invoice: an empty file", edit: |wd| invoice(wd, ""), flags: INVOICE, code: 2, expect: "invoice.csv: the file is empty; remove it from the inputs" },
    ]
}

fn cycle(wd: &Workdir) {
    replace(
        wd,
        "spans/parents.json",
        "\"spanId\": \"b100000000000001\",",
        "\"spanId\": \"b100000000000001\",\n              \"parentSpanId\": \"b200000000000002\",",
    );
}

fn reused(wd: &Workdir) {
    // A second root in trace B: another run that drew the same trace id.
    let root = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"b900000000000009","name":"invoke_agent other","attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"invoke_agent"}}]}]}]}]}"#;
    wd.write("spans/other.jsonl", &format!("{root}\n"));
}

#[test]
fn every_bad_input_gets_a_clear_message_and_every_quirk_is_counted() {
    let cases = cases();
    assert!(cases.len() >= 40, "the matrix has {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let wd = Workdir::handmade("matrix");
        (case.edit)(&wd);
        let args: Vec<&str> = HANDMADE_REPORT
            .iter()
            .chain(case.flags)
            .chain(&["--quiet"])
            .copied()
            .collect();
        let out = wd.output(&args);
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        let code = out.status.code();
        let problem = if code != Some(case.code) {
            Some(format!("exit {code:?}, expected {}", case.code))
        } else if case.code == 2 {
            let one_line = stderr.lines().count() == 1 || case.expect.contains("no price");
            if !stderr.starts_with("tokenledger: ") || !one_line || stderr.contains("panicked") {
                Some("not one `tokenledger:` message".to_string())
            } else if !stderr.contains(case.expect) {
                Some(format!("message lacks {:?}", case.expect))
            } else if wd.path("out").exists() {
                Some("wrote output on error".to_string())
            } else {
                None
            }
        } else {
            let summary = std::fs::read_to_string(wd.path("out/summary.json")).unwrap_or_default();
            (!summary.contains(case.expect))
                .then(|| format!("summary.json lacks {:?}", case.expect))
        };
        if let Some(problem) = problem {
            failures.push(format!("{}: {problem}\n  stderr: {stderr}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn a_100000_deep_span_chain_resolves_without_recursion() {
    // invoke_agent deep → 99,998 nested spans → chat req-deep, children first.
    let wd = Workdir::handmade("deep");
    let trace = "0123456789abcdef0123456789abcdef";
    let mut lines = String::new();
    let depth = 100_000u64;
    for i in (1..=depth).rev() {
        let parent = if i == 1 {
            String::new()
        } else {
            format!("{:016x}", i - 1)
        };
        let (name, op) = match i {
            1 => ("invoke_agent deep", "invoke_agent"),
            d if d == depth => ("chat claude-test-1", "chat"),
            _ => ("step", "step"),
        };
        let mut attrs =
            format!(r#"{{"key":"gen_ai.operation.name","value":{{"stringValue":"{op}"}}}}"#);
        if i == depth {
            attrs += r#",{"key":"gen_ai.response.id","value":{"stringValue":"req-deep"}}"#;
        }
        if i == 1 {
            attrs += r#",{"key":"tenant.id","value":{"stringValue":"deep-tenant"}}"#;
        }
        lines += &format!(
            r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"{trace}","spanId":"{i:016x}","parentSpanId":"{parent}","name":"{name}","attributes":[{attrs}]}}]}}]}}]}}"#
        );
        lines.push('\n');
    }
    wd.write("spans/deep.jsonl", &lines);
    let usage = wd.read("usage.csv");
    wd.write(
        "usage.csv",
        &format!("{usage}2025-06-11T00:00:00Z,req-deep,openai,gpt-test,1,7,0,0,0,false,k\n"),
    );
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
        "--min-match",
        "0",
    ]);
    let tenants = wd.read("out/by_tenant.csv");
    assert!(tenants.contains("\ndeep-tenant,1,7,0,0,0,1,"), "{tenants}");
    assert!(wd.read("out/by_agent.csv").contains("\ndeep,1,"));
}

#[test]
fn agents_nested_20000_deep_resolve_in_linear_time_and_memory() {
    // A leaked context: every invocation runs inside the previous one, 20,000
    // deep, alternating nest-planner and nest-worker, each making one call ($0.000014).
    // Every call's agents (both names) and root agent (the outermost nest-planner)
    // come from the shared path; a path copied per level took 3 GB at 40,000.
    let wd = Workdir::handmade("nested");
    let trace = "0123456789abcdef0123456789abcdef";
    let span = |id: u64, parent: u64, name: &str, attrs: &str| {
        let parent = match parent {
            0 => String::new(),
            p => format!(r#""parentSpanId":"{p:016x}","#),
        };
        format!(
            r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"{trace}","spanId":"{id:016x}",{parent}"name":"{name}","attributes":[{attrs}]}}]}}]}}]}}"#
        ) + "\n"
    };
    let attr = |key: &str, value: &str| {
        format!(r#"{{"key":"{key}","value":{{"stringValue":"{value}"}}}}"#)
    };
    let (mut spans, mut usage) = (String::new(), wd.read("usage.csv"));
    let depth = 20_000u64;
    for level in 1..=depth {
        let (agent, call, parent) = (2 * level - 1, 2 * level, (2 * level).saturating_sub(3));
        let name = if level % 2 == 1 {
            "nest-planner"
        } else {
            "nest-worker"
        };
        let mut attrs =
            attr("gen_ai.operation.name", "invoke_agent") + "," + &attr("gen_ai.agent.name", name);
        if level == 1 {
            attrs += &(",".to_string() + &attr("tenant.id", "nested-tenant"));
        }
        spans += &span(agent, parent, &format!("invoke_agent {name}"), &attrs);
        let attrs = attr("gen_ai.operation.name", "chat")
            + ","
            + &attr("gen_ai.response.id", &format!("req-n{level}"));
        spans += &span(call, agent, "chat gpt-test", &attrs);
        usage += &format!("2025-06-11T00:00:00Z,req-n{level},openai,gpt-test,1,10,0,0,0,false,k\n");
    }
    wd.write("spans/nested.jsonl", &spans);
    wd.write("usage.csv", &usage);
    wd.run(&[&HANDMADE_REPORT[..], &["--quiet"]].concat());
    let agents = wd.read("out/by_agent.csv");
    // nest-planner encloses every call; nest-worker every call but the outermost.
    assert!(
        agents.contains(
            "\nnest-planner,10000,100000,0,0,0,10000,0,0.100000,0.000000,0.000000,0.040000,0.140000,"
        ),
        "{agents}"
    );
    assert!(agents.contains(",0.280000\nnest-worker,10000,"), "{agents}");
    assert!(agents.contains(",0.279986\n"), "{agents}");
    let runs = wd.read("out/by_run.csv");
    assert!(
        runs.contains(&format!(
            "\n{trace},nest-planner,nested-tenant,(none),20000,"
        )),
        "{runs}"
    );
}
