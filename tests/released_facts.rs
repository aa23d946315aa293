//! Span facts released before the join (a spilled `report`, range by
//! range; `merge`, partial by partial) and given back to the calls the
//! join lists unbilled after all: the outputs are those of one run in
//! memory.

use crate::shard::{assert_same_files, files, text_of};
use crate::workdir::Workdir;

/// A trace of one call for each of the first `n` response ids in `spans`,
/// its trace id lower than any simulated one: in call order it comes
/// first and takes the id's record, and the simulated call that carried
/// the id is listed as already joined (where the spans spill, after its
/// span facts were released as its range was resolved: they are read
/// back).
pub fn ids_claimed_again(spans: &str, n: usize) -> String {
    const KEY: &str = r#""gen_ai.response.id","value":{"stringValue":""#;
    let ids = spans
        .split(KEY)
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()]);
    let span = |t: usize, id: &str| {
        format!(
            r#"{{"traceId":"{:032x}","spanId":"{:016x}","name":"chat o3","startTimeUnixNano":"1748736000000000000","attributes":[{{"key":"gen_ai.operation.name","value":{{"stringValue":"chat"}}}},{{"key":"gen_ai.request.model","value":{{"stringValue":"o3"}}}},{{"key":"gen_ai.response.id","value":{{"stringValue":"{id}"}}}}]}}"#,
            0x100 + t,
            t + 1
        )
    };
    (ids.take(n).enumerate())
        .map(|(t, id)| {
            format!(
                "{{\"resourceSpans\":[{{\"scopeSpans\":[{{\"spans\":[{}]}}]}}]}}\n",
                span(t, id)
            )
        })
        .collect()
}

#[test]
fn a_strict_spilled_run_gives_claimed_ids_their_span_facts_back() {
    let wd = Workdir::new("spill-strict");
    let args = ["simulate", "--runs", "60", "--seed", "5", "--out", "fleet"];
    wd.run(&args);
    let spans = wd.read("fleet/spans/part-0.jsonl");
    let claimed = ids_claimed_again(&spans, 6);
    wd.write("fleet/spans/part-0.jsonl", &format!("{claimed}{spans}"));
    std::fs::create_dir(wd.path("tmp")).unwrap();
    let run = |out: &str, limit: &str| {
        let usage = ["--usage", "fleet/usage.csv", "--period", "2025-06"];
        let mut args = vec!["report", "--spans", "fleet/spans", "--quiet", "--out", out];
        args.extend(usage.iter().chain(&["--memory-limit", limit]));
        let output = wd.command(&args).env("TMPDIR", wd.path("tmp")).output();
        let output = output.unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        files(&wd, out)
    };
    let in_memory = run("memory", "64G");
    let unbilled = text_of(&in_memory, "unbilled_spans.csv");
    let claimed = unbilled
        .matches("id already joined to another span")
        .count();
    assert_eq!(claimed, 6, "{unbilled}");
    assert_same_files(
        &run("spilled", "1K"),
        &in_memory,
        "strict, --memory-limit 1K",
    );
    assert_eq!(std::fs::read_dir(wd.path("tmp")).unwrap().count(), 0);
}

#[test]
fn merged_shards_give_claimed_ids_their_span_facts_back() {
    let wd = Workdir::new("merge-claimed");
    let args = ["simulate", "--runs", "60", "--seed", "9", "--out", "fleet"];
    wd.run(&args);
    let spans = wd.read("fleet/spans/part-0.jsonl");
    let claimed = ids_claimed_again(&spans, 6);
    wd.write("fleet/spans/part-0.jsonl", &format!("{claimed}{spans}"));
    let usage = [
        "--usage",
        "fleet/usage.csv",
        "--period",
        "2025-06",
        "--quiet",
    ];
    let mut args = vec!["report", "--spans", "fleet/spans", "--out", "one"];
    wd.run(&[args.as_slice(), &usage].concat());
    let one = files(&wd, "one");
    let unbilled = text_of(&one, "unbilled_spans.csv");
    let claimed = unbilled
        .matches("id already joined to another span")
        .count();
    assert_eq!(claimed, 6, "{unbilled}");
    std::fs::create_dir(wd.path("partials")).unwrap();
    for i in 0..3 {
        let (shard, out) = (format!("{i}/3"), format!("partials/{i}"));
        args = vec![
            "report",
            "--spans",
            "fleet/spans",
            "--shard",
            &shard,
            "--out",
            &out,
        ];
        wd.run(&[args.as_slice(), &usage].concat());
    }
    let merge = [
        "merge",
        "partials/2",
        "partials/0",
        "partials/1",
        "--out",
        "merged",
    ];
    wd.run(&[merge.as_slice(), &usage].concat());
    assert_same_files(&files(&wd, "merged"), &one, "merged, ids claimed again");
}
