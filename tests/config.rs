//! Every key of a config file lands somewhere or is refused, naming the
//! file and line: keys above every table, tables named after no command,
//! sub-tables of a command without subcommands, values a flag refuses.
//! Paths are read from the file's directory; a typed flag wins over the
//! file, also over a key it conflicts with; `[pricing]` keys reach the
//! pricing subcommands.

use crate::workdir::Workdir;

const REPORT: &str = "[report]\nspans = [\"spans\"]\nusage = [\"usage.csv\"]\npricing = \"pricing.toml\"\nmin-match = 0\nquiet = true\n";

/// `report --config c.toml` with `text`: exit 2, its stderr.
fn refused(name: &str, text: &str) -> String {
    let wd = Workdir::handmade(name);
    wd.write("c.toml", text);
    wd.fail(&["report", "--config", "c.toml", "--out", "out"], 2)
}

#[test]
fn keys_in_the_wrong_place_are_errors_naming_the_line() {
    let above = refused("cfg-above", &format!("period = \"2025-06\"\n{REPORT}"));
    assert_eq!(
        above,
        "tokenledger: c.toml:1: `period` is above every table: put it under the table of its \
         command ([report], [reconcile], …), where keys are spelled as the long flags\n"
    );
    let misspelt = refused(
        "cfg-misspelt",
        &format!("{REPORT}\n[reprot]\nperiod = \"2025-06\"\n"),
    );
    assert!(
        misspelt.starts_with("tokenledger: c.toml:8: [reprot] names no command; tables are named after one: report, merge, partition, reconcile, diff"),
        "{misspelt}"
    );
    let nested = refused(
        "cfg-nested",
        &format!("{REPORT}[report.budgets]\nusd = 1\n"),
    );
    assert_eq!(
        nested,
        "tokenledger: c.toml:7: [report.budgets]: `report` has no subcommand budgets; write its \
         flag as a key: budgets = …\n"
    );
    // A key in another command's table is checked too, whichever runs.
    let other = refused(
        "cfg-other",
        &format!("{REPORT}[reconcile]\nperiodd = \"x\"\n"),
    );
    assert!(
        other.contains("c.toml:8: `reconcile` has no flag --periodd"),
        "{other}"
    );
}

#[test]
fn a_value_its_flag_refuses_names_the_file_and_line() {
    let bad = refused("cfg-value", &format!("{REPORT}period = \"June\"\n"));
    assert!(
        bad.starts_with("tokenledger: c.toml:7: invalid value 'June' for '--period <YYYY-MM>'"),
        "{bad}"
    );
    let bad = refused("cfg-enum", &format!("{REPORT}usage-format = \"excel\"\n"));
    assert!(
        bad.starts_with(
            "tokenledger: c.toml:7: invalid value 'excel' for '--usage-format <FORMAT>'"
        ),
        "{bad}"
    );
    // A list for a flag given once, an empty list, true for a value.
    let list = refused(
        "cfg-list",
        &format!("{REPORT}period = [\"2025-06\", \"2025-05\"]\n"),
    );
    assert!(
        list.starts_with("tokenledger: c.toml:7: \"period\" takes one value, not a list"),
        "{list}"
    );
    let empty = refused("cfg-empty", &format!("{REPORT}period = []\n"));
    assert!(
        empty.starts_with("tokenledger: c.toml:7: \"period\" is an empty list"),
        "{empty}"
    );
    let switch = refused(
        "cfg-true",
        &REPORT.replace("spans = [\"spans\"]", "spans = true"),
    );
    assert!(
        switch.starts_with("tokenledger: c.toml:2: \"spans\" takes a value, not true or false"),
        "{switch}"
    );
}

#[test]
fn paths_are_read_from_the_config_files_directory() {
    let wd = Workdir::handmade("cfg-paths");
    let nested = REPORT
        .replace("\"spans\"", "\"../spans\"")
        .replace("\"usage.csv\"", "\"../usage.csv\"")
        .replace("\"pricing.toml\"", "\"../pricing.toml\"")
        + "out = \"reports\"\n";
    wd.write("conf/tokenledger.toml", &nested);
    wd.run(&["report", "--config", "conf/tokenledger.toml"]);
    assert!(wd.path("conf/reports/summary.json").is_file());
    assert!(!wd.path("reports").exists());
}

#[test]
fn a_typed_flag_wins_over_a_key_it_conflicts_with() {
    let wd = Workdir::handmade("cfg-conflict");
    wd.write("c.toml", &format!("{REPORT}print = \"tenant\"\n"));
    let stdout = wd.run(&["report", "--config", "c.toml", "--json"]);
    assert!(
        stdout.starts_with("{\n  \"tokenledger_version\""),
        "{stdout}"
    );
    let stdout = wd.run(&["report", "--config", "c.toml"]);
    assert!(stdout.starts_with("tenant,requests,"), "{stdout}");
}

#[test]
fn pricing_keys_reach_the_pricing_subcommands() {
    let wd = Workdir::handmade("cfg-pricing");
    // The hand-made table prices claude-test-1: the built-in one does not.
    for config in [
        "[pricing]\npricing = \"pricing.toml\"\n",
        "[pricing.check]\npricing = \"pricing.toml\"\n",
        "[pricing]\npricing = \"nothing.toml\"\n[pricing.show]\npricing = \"pricing.toml\"\n",
    ] {
        wd.write("tokenledger.toml", config);
        let show = wd.run(&["pricing", "show", "claude-test-1", "--at", "2025-06-20"]);
        assert!(show.contains("pricing.toml:"), "{config}: {show}");
    }
    // Under a name that is not the default ./pricing.toml, from either table.
    wd.write("mine.toml", &wd.read("pricing.toml"));
    for config in [
        "[pricing]\npricing = \"mine.toml\"\n",
        "[pricing.check]\npricing = \"mine.toml\"\n",
    ] {
        wd.write("tokenledger.toml", config);
        let check = wd.output(&["pricing", "check"]);
        let stdout = String::from_utf8_lossy(&check.stdout);
        assert!(
            stdout.starts_with("tokenledger: pricing check of mine.toml"),
            "{config}: {stdout}"
        );
    }
}

#[test]
fn a_switch_the_config_sets_is_turned_off_by_its_no_flag() {
    let wd = Workdir::handmade("cfg-no-switch");
    let usage = wd.read("usage.csv");
    wd.write("usage.csv", &format!("{usage}not,a,row\n"));
    wd.write("c.toml", &format!("{REPORT}lenient = true\n"));
    // The config's quiet and lenient: the bad row skipped, nothing printed.
    assert_eq!(wd.run(&["report", "--config", "c.toml", "--out", "a"]), "");
    let stdout = wd.run(&["report", "--config", "c.toml", "--no-quiet", "--out", "b"]);
    assert!(stdout.contains("skipped"), "{stdout}");
    let stderr = wd.fail(
        &["report", "--config", "c.toml", "--no-lenient", "--out", "c"],
        2,
    );
    assert!(stderr.contains("usage.csv:"), "{stderr}");
    // Typed both ways, the last wins.
    let args = [
        "report",
        "--config",
        "c.toml",
        "--no-lenient",
        "--lenient",
        "--out",
        "d",
    ];
    assert_eq!(wd.run(&args), "");
    // --json and --raw-csv too.
    wd.write(
        "j.toml",
        &format!("{REPORT}lenient = true\njson = true\nraw-csv = true\n"),
    );
    let json = wd.run(&["report", "--config", "j.toml", "--out", "e"]);
    assert!(json.starts_with('{'), "{json}");
    let args = ["report", "--config", "j.toml", "--no-json", "--no-raw-csv"];
    assert_eq!(wd.run(&[&args[..], &["--out", "f"]].concat()), "");
    assert!(wd.read("e/summary.json").contains("\"raw_csv\": true"));
    assert!(!wd.read("f/summary.json").contains("raw_csv"));
}

#[test]
fn a_key_needing_another_flag_names_its_line() {
    // whole-traces requires --shard: clap's message, then the line of the
    // key without which the command line parses (not every key's).
    let bad = refused("cfg-requires", &format!("{REPORT}whole-traces = true\n"));
    assert!(bad.contains("--shard <I/N>"), "{bad}");
    let blamed = "\n(from the config file: c.toml:7: whole-traces)";
    assert!(bad.trim_end().ends_with(blamed), "{bad}");
    // Two keys each needing a flag: neither alone mends it, both are named.
    let two = format!("{REPORT}whole-traces = true\nmin-coverage = 90\n");
    let bad = refused("cfg-requires-two", &two);
    let blamed = "(from the config file: c.toml:7: whole-traces, c.toml:8: min-coverage)";
    assert!(bad.trim_end().ends_with(blamed), "{bad}");
}
