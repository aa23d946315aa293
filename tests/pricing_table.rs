//! The pricing table is read exactly or refused: every region, tier and
//! speed key it accepts is applied (Bedrock's `global.` profiles by
//! `[model.geo.global]`), names that differ only in case are refused, a
//! rate with more digits than a decimal holds is refused, and so is a
//! currency that is no ISO 4217 code; a table that
//! extends itself (or a chain of tables) is an error naming the chain, and
//! the table saved beside the reports stands on its own however its
//! `extends` key was spelled; a model's name on both sides of a
//! reconciliation does not depend on the order of the entries.

use crate::workdir::{csv_rows, Workdir};

const HEADER: &str = "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n";

/// One Bedrock model priced $10 per million input tokens, 10 % off on its
/// global profile.
const BEDROCK: &str = "version = \"t\"\ncurrency = \"USD\"\n\n[[model]]\nprovider = \"aws.bedrock\"\nmatch = [\"anthropic.claude-x-v1\"]\neffective_from = 2025-01-01\ninput = 10\noutput = 50\ncache_read = 1\ncache_write_5m = 12.5\ncache_write_1h = 20\n[model.geo.global]\nmultiplier = 0.9\n";

/// `report` of `usage` with `pricing.toml` into `out`; exit code, stderr.
fn run(wd: &Workdir, pricing: &str, usage: &str) -> (i32, String) {
    wd.write("pricing.toml", pricing);
    wd.write("usage.csv", &format!("{HEADER}{usage}"));
    wd.write("spans/none.jsonl", r#"{"resourceSpans":[]}"#);
    let out = wd.output(&[
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
        "--period",
        "2025-06",
    ]);
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_global_profile_is_priced_by_its_regions_entry_and_global_rate() {
    let wd = Workdir::new("geo-global");
    let usage = "r1,2025-06-02T00:00:00Z,aws.bedrock,anthropic.claude-x-v1,1000000,0,0,0,0,false\n\
                 r2,2025-06-02T00:00:00Z,aws.bedrock,global.anthropic.claude-x-v1,1000000,0,0,0,0,false\n\
                 r3,2025-06-02T00:00:00Z,aws.bedrock,us.anthropic.claude-x-v1,1000000,0,0,0,0,false\n";
    let (code, stderr) = run(&wd, BEDROCK, usage);
    assert_eq!(code, 0, "{stderr}");
    let models = wd.read("out/by_model.csv");
    let cost = |model: &str| {
        csv_rows(&models)
            .into_iter()
            .find(|r| r[0] == model)
            .map(|r| r[12].clone())
    };
    assert_eq!(cost("anthropic.claude-x-v1").as_deref(), Some("10.000000"));
    assert_eq!(
        cost("us.anthropic.claude-x-v1").as_deref(),
        Some("10.000000")
    );
    assert_eq!(
        cost("global.anthropic.claude-x-v1").as_deref(),
        Some("9.000000")
    );
    // The month against itself: the global line reprices at its own rate.
    let diff = wd.run(&["diff", "out", "out"]);
    assert!(diff.contains("  price effect  +$0.000000"), "{diff}");
    // Without the global rate the profile is not priced as the region.
    let without = BEDROCK.replace("[model.geo.global]\nmultiplier = 0.9\n", "");
    let (code, stderr) = run(&wd, &without, usage);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("aws.bedrock global.anthropic.claude-x-v1: no [model.geo.<region>] for its inference_geo (global for a Bedrock global. profile)"),
        "{stderr}"
    );
}

#[test]
fn keys_the_pricing_code_would_not_apply_are_refused() {
    let wd = Workdir::new("geo-refused");
    let usage = "r1,2025-06-02T00:00:00Z,aws.bedrock,anthropic.claude-x-v1,1,0,0,0,0,false\n";
    let cases = [
        (
            BEDROCK.replace("aws.bedrock", "anthropic"),
            "pricing.toml:13: [model.geo.global]: global is the standard rate of anthropic's models",
        ),
        (
            BEDROCK.replace("\"anthropic.claude-x-v1\"]", "\"anthropic.claude-x-v1\", \"global.anthropic.claude-x-v1\"]"),
            "[model.geo.global]: this entry names global. profiles itself",
        ),
        (
            format!("{BEDROCK}[model.geo.us]\nmultiplier = 1.1\n[model.geo.US]\nmultiplier = 1.2\n"),
            "pricing.toml:17: [model.geo.US] of the entry at line 4 repeats [model.geo.us]: names are matched without case",
        ),
        (
            BEDROCK.replace("input = 10\n", "input = 0.1234567890123456789012345678901\n"),
            "pricing.toml:8: \"input\" is 0.1234567890123456789012345678901: more digits than tokenledger holds exactly",
        ),
        (
            // focus.csv's BillingCurrency held it as written.
            BEDROCK.replace("\"USD\"", "\"US Dollars\""),
            "pricing.toml:2: currency \"US Dollars\" is not an ISO 4217 code: three letters (USD, EUR)",
        ),
    ];
    for (table, message) in cases {
        let (code, stderr) = run(&wd, &table, usage);
        assert_eq!(code, 2, "{message}");
        assert!(stderr.contains(message), "{stderr}");
    }
    // A code in small letters, as OpenAI's cost API writes it, is read in
    // capitals.
    let (code, stderr) = run(&wd, &BEDROCK.replace("\"USD\"", "\"usd\""), usage);
    assert_eq!(code, 0, "{stderr}");
    let focus = csv_rows(&wd.read("out/focus.csv"));
    let at = focus[0]
        .iter()
        .position(|c| c == "BillingCurrency")
        .unwrap();
    assert_eq!(focus[1][at], "USD");
}

#[test]
fn a_table_extending_itself_or_a_chain_is_an_error_naming_it() {
    let wd = Workdir::new("extends-cycle");
    let usage = "r1,2025-06-02T00:00:00Z,aws.bedrock,anthropic.claude-x-v1,1,0,0,0,0,false\n";
    let (code, stderr) = run(
        &wd,
        &format!("extends = \"pricing.toml\"\n{BEDROCK}"),
        usage,
    );
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "tokenledger: pricing.toml: extends itself; a table extends at most one other table\n"
    );
    wd.write("b.toml", &format!("extends = \"pricing.toml\"\n{BEDROCK}"));
    let (code, stderr) = run(&wd, &format!("extends = \"b.toml\"\n{BEDROCK}"), usage);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("pricing.toml: extends b.toml, which extends pricing.toml: a cycle (pricing.toml → b.toml → pricing.toml)"),
        "{stderr}"
    );
}

#[test]
fn the_saved_table_stands_on_its_own_however_extends_is_spelled() {
    let wd = Workdir::new("extends-quoted");
    wd.write("tables/base.toml", BEDROCK);
    let own = "\"extends\" = \"base.toml\"\nversion = \"own\"\ncurrency = \"USD\"\n\n[[model]]\nprovider = \"openai\"\nmatch = [\"gpt-x\"]\neffective_from = 2025-01-01\ninput = 1\noutput = 1\ncache_read = 1\ncache_write_5m = 1\ncache_write_1h = 1\n";
    wd.write("tables/own.toml", own);
    wd.write("spans/none.jsonl", r#"{"resourceSpans":[]}"#);
    wd.write(
        "usage.csv",
        &format!(
            "{HEADER}r1,2025-06-02T00:00:00Z,aws.bedrock,anthropic.claude-x-v1,1,0,0,0,0,false\n"
        ),
    );
    wd.run(&[
        "report",
        "--spans",
        "spans",
        "--usage",
        "usage.csv",
        "--pricing",
        "tables/own.toml",
        "--out",
        "out",
        "--quiet",
        "--min-match",
        "0",
    ]);
    let saved = wd.read("out/pricing.toml");
    assert!(
        saved.starts_with("\"extends\" = \"pricing-base.toml\"\n"),
        "{saved}"
    );
    assert_eq!(wd.read("out/pricing-base.toml"), BEDROCK);
    // Moved away from its base, the month still compares with itself.
    std::fs::rename(wd.path("tables"), wd.path("gone")).unwrap();
    let diff = wd.run(&["diff", "out", "out"]);
    assert!(diff.contains("price effect  +$0.000000"), "{diff}");
}

#[test]
fn a_table_extending_another_may_add_only_meters() {
    // What docs/cloud-bills.md says to do for an unmapped meter: one
    // [[meter]] entry over the built-in table. A table of its own still
    // needs its models.
    let wd = Workdir::new("extends-meter-only");
    let usage = "r1,2025-06-02T00:00:00Z,openai,gpt-4.1-2025-04-14,1000000,0,0,0,0,false\n";
    let meter = "[[meter]]\ncloud = \"aws\"\nnames = [\"Claude Sonnet 4.5\"]\nmodel = \"anthropic.claude-sonnet-4-5-20250929-v1\"\n";
    let head = "version = \"t\"\ncurrency = \"USD\"\n";
    let (code, stderr) = run(
        &wd,
        &format!("extends = \"built-in\"\n{head}{meter}"),
        usage,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(wd.read("out/by_model.csv").contains(",2.000000,"));
    let (code, stderr) = run(&wd, &format!("{head}{meter}"), usage);
    assert_eq!(
        (code, stderr.as_str()),
        (2, "tokenledger: pricing.toml: no [[model]] entries\n")
    );
}

/// One model priced $1/$1 per million with `extra` appended to its entry.
fn table_with(extra: &str) -> String {
    format!(
        "version = \"t\"\ncurrency = \"USD\"\n\n[[model]]\nprovider = \"openai\"\nmatch = [\"gpt-x\"]\n\
         effective_from = 2025-01-01\ninput = 1\noutput = 1\ncache_read = 1\ncache_write_5m = 1\n\
         cache_write_1h = 1\n{extra}"
    )
}

#[test]
fn a_user_table_never_prices_at_zero_or_at_a_rate_it_does_not_state() {
    let wd = Workdir::new("table-guesses");
    let row = "r1,2025-06-02T00:00:00Z,openai,gpt-x,300000,0,0,0,10,false\n";
    for (extra, refusal) in [
        ("batch_discount = 0\n", "pricing.toml:13: \"batch_discount\" is 0"),
        ("[model.geo.eu]\nmultiplier = 0\n", "pricing.toml:14: \"multiplier\" is 0"),
        (
            "[model.long_context]\nthreshold = 0\ninput = 2\noutput = 2\ncache_read = 2\ncache_write_5m = 2\ncache_write_1h = 2\n",
            "threshold must be a whole number of tokens, at least 1",
        ),
    ] {
        let (code, stderr) = run(&wd, &table_with(extra), row);
        assert_eq!(code, 2, "{extra}");
        assert!(stderr.contains(refusal), "{stderr}");
    }
    let reversed = table_with("").replace("[\"gpt-x\"]", "[\"gpt-x\", \"gpt-[9-0a]\"]");
    let (code, stderr) = run(&wd, &reversed, row);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("pricing.toml:6: \"match\": the class [9-0a] holds a reversed range"),
        "{stderr}"
    );
    // Audio in a prompt over the threshold: the table states no rate.
    let audio = table_with(
        "input_audio = 3\n[model.long_context]\nthreshold = 200000\ninput = 2\noutput = 2\ncache_read = 2\ncache_write_5m = 2\ncache_write_1h = 2\n",
    );
    let stderr = refused_with_column(&wd, &audio, ("audio_input_tokens", "100000"), row);
    assert!(
        stderr.contains("a prompt over the long-context threshold with audio_input_tokens"),
        "{stderr}"
    );
    // Free requests are the allowance's to make, never a usage column.
    let column = ("web_search_free_requests", "100");
    let stderr = refused_with_column(&wd, &table_with(""), column, row);
    assert!(stderr.contains("column 11 \"web_search_free_requests\": free requests are what the pricing table's allowance makes free"), "{stderr}");
}

/// `report` of `row` with one more usage column, refused: its stderr.
fn refused_with_column(
    wd: &Workdir,
    pricing: &str,
    (column, value): (&str, &str),
    row: &str,
) -> String {
    let header = HEADER.replace('\n', &format!(",{column}\n"));
    let usage = format!("{header}{}", row.replace('\n', &format!(",{value}\n")));
    wd.write("pricing.toml", pricing);
    wd.write("usage.csv", &usage);
    let args = [
        "report",
        "--spans",
        "spans",
        "--usage",
        "usage.csv",
        "--pricing",
        "pricing.toml",
    ];
    wd.fail(
        &[&args[..], &["--out", "out", "--min-match", "0"]].concat(),
        2,
    )
}

#[test]
fn an_override_reaches_the_bedrock_profiles_of_the_models_it_prices() {
    let wd = Workdir::new("override-profiles");
    let negotiated = "version = \"n\"\ncurrency = \"USD\"\nextends = \"built-in\"\n\n[[model]]\n\
                      provider = \"aws.bedrock\"\nmatch = [\"anthropic.claude-haiku-4-5-20251001-v1\"]\n\
                      effective_from = 2026-01-01\ninput = 0.8\noutput = 4\ncache_read = 0.08\n\
                      cache_write_5m = 1\ncache_write_1h = 1.6\n";
    let rows = "r1,2026-03-05T10:00:00Z,aws.bedrock,anthropic.claude-haiku-4-5-20251001-v1,1000000,0,0,0,0,false\n\
                r2,2026-03-05T10:00:00Z,aws.bedrock,us.anthropic.claude-haiku-4-5-20251001-v1,1000000,0,0,0,0,false\n";
    wd.write("pricing.toml", negotiated);
    wd.write("usage.csv", &format!("{HEADER}{rows}"));
    wd.write("spans/none.jsonl", r#"{"resourceSpans":[]}"#);
    let args = [
        "report",
        "--spans",
        "spans",
        "--usage",
        "usage.csv",
        "--pricing",
        "pricing.toml",
    ];
    wd.run(
        &[
            &args[..],
            &[
                "--out",
                "out",
                "--quiet",
                "--min-match",
                "0",
                "--period",
                "2026-03",
            ],
        ]
        .concat(),
    );
    let ledger = csv_rows(&wd.read("out/ledger.csv"));
    let price = ledger[0]
        .iter()
        .position(|c| c == "unit_price_usd")
        .unwrap();
    let prices: Vec<&str> = ledger[1..].iter().map(|r| r[price].as_str()).collect();
    assert_eq!(prices, ["0.8", "0.8"]);
}

#[test]
fn a_negotiated_tables_rows_without_a_saving_list_at_their_contracted_cost() {
    // Claude Sonnet 4 at a negotiated rate over the built-in table: the
    // other models' rows have no saving, so their ListCost is their
    // ContractedCost to the micro-dollar (each was rounded on its own, and
    // 10 rows of the sample month listed below or above what they cost).
    let wd = Workdir::new("focus-list-saving");
    wd.copy(&crate::workdir::repo().join("samples/spans"), "spans");
    wd.copy(
        &crate::workdir::repo().join("samples/usage.csv"),
        "usage.csv",
    );
    wd.write(
        "negotiated.toml",
        "version = \"neg-1\"\ncurrency = \"USD\"\nextends = \"built-in\"\n\n[[model]]\n\
         provider = \"anthropic\"\nmatch = [\"claude-sonnet-4-20250514\"]\n\
         effective_from = 2025-01-01\ninput = 2.4\noutput = 12\ncache_read = 0.24\n\
         cache_write_5m = 3\ncache_write_1h = 4.8\nbatch_discount = 0.5\n",
    );
    wd.run(&[
        "report",
        "--spans",
        "spans",
        "--usage",
        "usage.csv",
        "--pricing",
        "negotiated.toml",
        "--period",
        "2025-06",
        "--out",
        "out",
        "--quiet",
    ]);
    let focus = csv_rows(&wd.read("out/focus.csv"));
    let at = |name: &str| focus[0].iter().position(|c| c == name).unwrap();
    let (list, contracted) = (at("ListCost"), at("ContractedCost"));
    let same_price = |r: &&Vec<String>| r[at("ListUnitPrice")] == r[at("ContractedUnitPrice")];
    let unsaved: Vec<&Vec<String>> = focus[1..].iter().filter(same_price).collect();
    assert!(unsaved.len() > 500, "{}", unsaved.len());
    for row in unsaved {
        assert_eq!(row[list], row[contracted], "{row:?}");
    }
    // The list column still sums to the month at list prices.
    let sum = |c: usize| -> i128 {
        focus[1..]
            .iter()
            .map(|r| crate::workdir::micros(&r[c]))
            .sum()
    };
    assert_eq!((sum(list), sum(contracted)), (72_262_960, 66_783_557));
}

#[test]
fn a_provider_spelled_otherwise_is_named_with_the_unpriced_model() {
    let wd = Workdir::new("pricing-provider-case");
    let (code, stderr) = run(
        &wd,
        BEDROCK,
        "r1,2025-06-02T00:00:00Z,AWS.Bedrock,anthropic.claude-x-v1,1000,0,0,0,10,false\n",
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains(
            "  AWS.Bedrock anthropic.claude-x-v1: no price (the table prices it under the provider \
             aws.bedrock: spelled otherwise here?) for 1 record(s) on 2025-06-02"
        ),
        "{stderr}"
    );
    // Another provider altogether is not named as a spelling.
    let (code, stderr) = run(
        &wd,
        BEDROCK,
        "r1,2025-06-02T00:00:00Z,azure,anthropic.claude-x-v1,1000,0,0,0,10,false\n",
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("  azure anthropic.claude-x-v1: no price for 1 record(s)"),
        "{stderr}"
    );
}

#[test]
fn a_models_name_on_both_sides_is_the_latest_entrys_whatever_the_tables_order() {
    // Two entries match `gpt-4o` exactly, in two periods: the name both
    // sides of a reconciliation use came from whichever was written last.
    let entry = |names: &str, from: &str, to: &str| {
        format!("[[model]]\nprovider = \"openai\"\nmatch = [{names}]\neffective_from = {from}\n{to}input = 1\noutput = 2\ncache_read = 0.5\ncache_write_5m = 1\ncache_write_1h = 1\n")
    };
    let old = entry(
        r#""gpt-4o", "gpt-4o-2024-05-13""#,
        "2024-05-13",
        "effective_to = 2024-10-02\n",
    );
    let new = entry(r#""gpt-4o-2024-08-06", "gpt-4o""#, "2024-10-02", "");
    for entries in [[&old, &new], [&new, &old]] {
        let text = format!(
            "version = \"t\"\ncurrency = \"USD\"\n{}{}",
            entries[0], entries[1]
        );
        let table = tokenledger::price::PriceTable::parse(&text, "t.toml").unwrap();
        assert_eq!(
            table.canonical_model("openai", "gpt-4o"),
            "gpt-4o-2024-08-06"
        );
    }
}
