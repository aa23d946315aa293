//! Who owns what spans left empty: a rule fills a dimension a record's
//! span left `(none)` without overriding the values spans gave, `(none)`
//! is no owner (for `allocated_usd`, the splits and `--min-allocated`),
//! and no rule can give an owner a row name of spend no owner holds.

use crate::allocation::{month, REPORT};
use crate::workdir::Workdir;

/// The allocation month with every canonical usage row labelled
/// `label.team=t1`.
fn labelled(name: &str) -> Workdir {
    let wd = month(name);
    let usage = wd.read("usage.csv");
    let mut rows = usage.lines();
    let mut labelled = format!("{},label.team\n", rows.next().unwrap());
    rows.for_each(|row| labelled.push_str(&format!("{row},t1\n")));
    wd.write("usage.csv", &labelled);
    wd
}

/// `report` of the labelled month (canonical usage only) into `out`: its
/// exit code and `allocation.csv`.
fn run(wd: &Workdir, out: &str, flags: &[&str]) -> (Option<i32>, String) {
    let base = [
        "report",
        "--spans",
        "spans",
        "--usage",
        "usage.csv",
        "--pricing",
    ];
    let rest = [
        "pricing.toml",
        "--period",
        "2025-06",
        "--min-match",
        "0",
        "--quiet",
    ];
    let code = wd
        .output(&[&base[..], &rest, &["--out", out], flags].concat())
        .status
        .code();
    (code, wd.read(&format!("{out}/allocation.csv")))
}

#[test]
fn a_rule_fills_what_spans_left_empty_and_none_is_no_owner() {
    // Every record carries label.team=t1; the spans give tenants (acme,
    // beta, conv-9) and a feature to some calls only.
    let wd = labelled("alloc-fill");
    wd.write(
        "fill.toml",
        "[[rule]]\nmatch = { \"label.team\" = \"t1\" }\ntenant = \"ruled\"\nfeature = \"filled\"\n",
    );
    // The rule keeps the spans' tenants and fills the calls' empty feature
    // (0.9725), and owns the record no span saw (0.00000775) whole.
    let (code, audit) = run(&wd, "out", &["--allocation", "fill.toml"]);
    assert_eq!(code, Some(0));
    assert_eq!(
        audit,
        "dimension,value,source,allocated_usd\ntenant,acme,span,0.0306\ntenant,beta,span,0.01925\n\
         tenant,conv-9,span,0.9725\ntenant,ruled,rule:1,0.00000775\nfeature,filled,rule:1,0.97250775\n\
         feature,research,span,0.04985\nagent,(unallocated),unallocated,0.00000775\n\
         agent,helper,span,0.9725\nagent,planner,span,0.0126\nagent,worker,span,0.03725\n\
         tool,(unallocated),unallocated,0.98510775\ntool,deep_research,span,0.03725\n\
         model,claude-test-1,record,0.018\nmodel,claude-test-1-20250101,record,0.9851\n\
         model,gpt-test,record,0.01925775\n"
    );
}

#[test]
fn none_is_no_owner_for_the_gate_nor_a_budget() {
    let wd = labelled("alloc-none");
    // Spans that name no tenant, (none), and a rule that sets none: no
    // tenant owns anything, and the gate says so (it passed at 100 %).
    wd.write(
        "feature.toml",
        "[[rule]]\nmatch = { \"label.team\" = \"t1\" }\nfeature = \"filled\"\n",
    );
    let flags = [
        "--allocation",
        "feature.toml",
        "--tenant-attr",
        "nope",
        "--min-allocated",
        "50",
    ];
    let (code, audit) = run(&wd, "out2", &flags);
    assert_eq!(code, Some(1));
    assert!(
        audit.contains("\ntenant,(unallocated),unallocated,1.02235775\nfeature,"),
        "{audit}"
    );
    // A budget on (none), which owns nothing under allocation (it read $0),
    // is refused, naming the key to budget.
    wd.write(
        "none.toml",
        "[[budget]]\ndimension = \"tenant\"\nkey = \"(none)\"\nusd = 1\n",
    );
    let out = wd.output(
        &[
            &REPORT[..],
            &[
                "--out",
                "out4",
                "--allocation",
                "feature.toml",
                "--budgets",
                "none.toml",
            ],
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(
        "none.toml: the budget on tenant \"(none)\": under --allocation what no span or rule owns is \"(unallocated)\"; budget that key"
    ));
}

#[test]
fn a_rule_cannot_give_a_row_of_no_owner_from_a_label() {
    // A rule's value made from a label that reads as a row of no owner is
    // refused (the literal text was; a label's value slipped through), for
    // the record no span saw (the spans gave the others their tenants).
    let wd = labelled("alloc-placeholder");
    let usage = wd.read("usage.csv");
    wd.write("usage.csv", &usage.replace(",t1\n", ",(unattributed)\n"));
    wd.write(
        "team.toml",
        "[[rule]]\nmatch = { \"label.team\" = \"*\" }\ntenant = \"{label.team}\"\n",
    );
    let out = wd.output(&[&REPORT[..], &["--out", "out3", "--allocation", "team.toml"]].concat());
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("team.toml:1: rule:1 takes the tenant of a usage record from its labels: (unattributed) names spend no owner holds"), "{stderr}");
}

#[test]
fn a_span_value_that_reads_as_a_row_of_no_owner_owns_nothing() {
    // acme's span tenant written as the text "(none)": its $0.0306 is no
    // owner's (it counted as allocated: 99.99 % passed a 99 % gate), so
    // 2.85265775 - 0.0306 - 0.00030775 of 2.85265775 has a tenant: 98.92 %.
    let wd = crate::allocation::month("alloc-literal-none");
    let spans = wd.read("spans/parents.json");
    wd.write(
        "spans/parents.json",
        &spans.replacen(
            "\"stringValue\": \"acme\"",
            "\"stringValue\": \"(none)\"",
            1,
        ),
    );
    let out = wd.output(
        &[
            &REPORT[..],
            &[
                "--out",
                "out",
                "--allocation",
                "rules.toml",
                "--min-allocated",
                "99",
            ],
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(1));
    let audit = wd.read("out/allocation.csv");
    assert!(!audit.contains("tenant,(none),"), "{audit}");
}
