//! Importing won/lost history from an old CRM's export with the real binary: how the columns
//! map, the leakage warnings, the history counts, and that a bad outcome or close date is
//! refused by its line with the store unchanged. A fixed clock (`LEADQ_NOW`) throughout.

mod common;

use std::process::Output;

use common::home::Home;
use serde_json::Value;

const CRM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/crm_export.csv");
const BANK: &str = "/work/shared/data/bank-telemarketing.csv";
const HISTORY: [&str; 4] = [
    "--outcome-column",
    "Converted",
    "--closed-column",
    "Closed Date",
];

fn args<'a>(head: &[&'a str], tail: &[&'a str]) -> Vec<&'a str> {
    head.iter().chain(tail).copied().collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The lead of that name in an export.
fn lead<'a>(all: &'a Value, name: &str) -> &'a Value {
    all.as_array()
        .expect("an array of leads")
        .iter()
        .find(|l| l["name"] == name)
        .unwrap_or_else(|| panic!("no lead {name} in {all:#}"))
}

/// Runs an import that must be refused with `code`, its stderr saying all of `said`, and the
/// store exactly as before.
fn refused(home: &Home, line: &[&str], code: i32, said: &[&str]) -> Output {
    let before = home.export();
    let out = home.run(line);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{line:?}: {stderr}");
    for s in said {
        assert!(
            stderr.contains(s),
            "{line:?}: stderr does not say {s:?}:\n{stderr}"
        );
    }
    assert_eq!(
        home.export(),
        before,
        "{line:?} was refused but changed the store"
    );
    out
}

/// The fixture with one cell replaced on the line of `name`.
fn fixture_with(home: &Home, name: &str, from: &str, to: &str) -> String {
    let original = std::fs::read_to_string(CRM).expect("the fixture");
    let edited: Vec<String> = original
        .lines()
        .map(|l| {
            if l.starts_with(name) {
                l.replacen(from, to, 1)
            } else {
                l.to_string()
            }
        })
        .collect();
    assert_ne!(
        edited.join("\n") + "\n",
        original,
        "{name}: {from} not found"
    );
    let path = home.path().join("edited.csv");
    std::fs::write(&path, edited.join("\n") + "\n").expect("write");
    path.display().to_string()
}

#[test]
fn the_dry_run_shows_how_every_column_maps_and_flags_the_status_column() {
    let home = Home::new();
    let out = home.cli(&args(&["import", CRM, "--dry-run"], &HISTORY));
    let lines: Vec<&str> = out.lines().collect();
    let line_of = |start: &str| {
        lines
            .iter()
            .position(|l| l.trim_start().starts_with(start))
            .unwrap_or_else(|| panic!("no line {start:?} in:\n{out}"))
    };
    for mapping in [
        "First Name -> first name ",
        "Last Name -> last name ",
        "Email Address -> e-mail ",
        "Mobile Phone -> phone ",
        "Company -> company ",
        "Job Title -> attribute \"title\" ",
        "Lead Source -> source ",
        "No. of Employees -> attribute \"company_size\" ",
        "Lead Status -> attribute \"Lead Status\" ",
        "Converted -> outcome ",
        "Closed Date -> close date ",
    ] {
        line_of(mapping);
    }
    let title = lines[line_of("Job Title ->")];
    assert!(
        title.contains(r#"e.g. "CTO", "Marketing Manager", "Analyst""#),
        "{title}"
    );
    let status = line_of("Lead Status ->");
    let warning = lines[status + 1];
    assert!(
        warning.contains("warning:") && warning.contains("(\"status\")"),
        "{out}"
    );
    assert!(
        warning.contains("leadq model train --exclude 'Lead Status'")
            && warning.contains("--map 'Lead Status=ignore'"),
        "{warning}"
    );
    assert_eq!(
        out.matches("warning:").count(),
        1,
        "only the status column is suspect:\n{out}"
    );
    assert!(
        out.contains("20 rows: 20 new, 0 merged into known leads, 0 invalid; history: 9 won, 8 lost, 3 open (won rate 53%); nothing written"),
        "{out}"
    );
    assert_eq!(home.export().trim(), "[]", "a dry run writes nothing");
}

#[test]
fn the_dry_run_in_json_lists_columns_and_outcomes() {
    let home = Home::new();
    let report = home.json(&args(
        &["import", CRM, "--dry-run", "--format", "json"],
        &HISTORY,
    ));
    assert_eq!(report["written"], false);
    assert_eq!(
        report["outcomes"],
        serde_json::json!({"won": 9, "lost": 8, "open": 3})
    );
    let columns = report["columns"].as_array().expect("columns");
    assert_eq!(columns.len(), 11);
    let column = |name: &str| {
        columns
            .iter()
            .find(|c| c["column"] == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    assert_eq!(column("Job Title")["field"], "attribute \"title\"");
    assert_eq!(
        column("Job Title")["samples"],
        serde_json::json!(["CTO", "Marketing Manager", "Analyst"])
    );
    assert_eq!(column("Converted")["field"], "outcome");
    assert_eq!(
        column("Converted")["samples"],
        serde_json::json!(["Yes", "No"])
    );
    assert_eq!(column("Closed Date")["field"], "close date");
    let warnings = column("Lead Status")["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0]
            .as_str()
            .unwrap()
            .contains("--exclude 'Lead Status'")
    );
    assert_eq!(column("Company")["warnings"], serde_json::json!([]));
}

#[test]
fn an_import_with_history_writes_titles_that_score_and_keeps_history_out_of_attributes() {
    let home = Home::new();
    let out = home.run(&args(&["import", CRM], &HISTORY));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("imported")
            && stdout.contains("20 rows: 20 new")
            && stdout.contains("history: 9 won, 8 lost, 3 open"),
        "{stdout}"
    );
    assert!(
        stderr.contains("warning: ") && stderr.contains("column \"Lead Status\""),
        "a real import warns too: {stderr}"
    );
    let all: Value = serde_json::from_str(&home.export()).unwrap();
    assert_eq!(all.as_array().unwrap().len(), 20);
    let id = lead(&all, "Ann Lee")["id"].as_u64().unwrap().to_string();
    let ann = home.json(&["show", &id, "--format", "json"]);
    assert_eq!(ann["attributes"]["title"], "CTO");
    assert_eq!(ann["attributes"]["company_size"], "250");
    assert_eq!(ann["email"], "ann.lee@acme.example");
    assert_eq!(ann["phone"], "+1 415 555 0100");
    assert_eq!(ann["source"], "web-form");
    let keys: Vec<&String> = ann["attributes"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["Lead Status", "company_size", "title"]);
    let rules: Vec<&str> = ann["explanation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"decision-maker title"), "{rules:?}");
    assert!(rules.contains(&"mid-size or larger company"), "{rules:?}");
}

/// Needs the service side of issue 9: a won row arrives as a customer, a lost one as lost,
/// each with its close date on the timeline; an open row stays new.
#[test]
fn an_import_with_history_stage_follows_outcome() {
    let home = Home::new();
    home.cli(&args(&["import", CRM], &HISTORY));
    let all: Value = serde_json::from_str(&home.export()).unwrap();
    assert_eq!(lead(&all, "Ann Lee")["stage"], "customer");
    assert_eq!(lead(&all, "Kim Lopez")["stage"], "customer", "won, no date");
    assert_eq!(lead(&all, "Cy Diaz")["stage"], "lost");
    assert_eq!(lead(&all, "Hal Ito")["stage"], "new", "still open");
    let id = lead(&all, "Ann Lee")["id"].as_u64().unwrap().to_string();
    let ann = home.json(&["show", &id, "--format", "json"]);
    let times: Vec<&str> = ann["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["at"].as_str().unwrap())
        .collect();
    assert!(times.contains(&"2025-03-14T00:00:00Z"), "{times:?}");
}

#[test]
fn a_bad_outcome_or_close_date_is_refused_by_its_line_and_nothing_is_written() {
    let home = Home::new();
    home.cli(&["add", "--name", "Known", "--email", "known@x.example"]);
    // Cy Diaz is on line 4 of the file, Ed Fox on line 6, Lou Moss on line 13.
    let file = fixture_with(&home, "Cy,Diaz", ",No,", ",Maybe,");
    refused(
        &home,
        &args(&["import", &file], &HISTORY),
        1,
        &[
            &format!("{file}: line 4: column \"Converted\": \"Maybe\" is not an outcome"),
            "closed won",
            "nothing imported",
        ],
    );
    let file = fixture_with(&home, "Ed,Fox", "2025-01-08", "2027-01-05");
    let out = refused(
        &home,
        &args(&["import", &file], &HISTORY),
        1,
        &[
            &format!("{file}: line 6: column \"Closed Date\": \"2027-01-05\" is in the future"),
            "nothing imported",
        ],
    );
    assert_eq!(text(&out.stderr).matches(": line ").count(), 1);
    let file = fixture_with(&home, "Lou,Moss", "2025-09-17", "17/09/2025");
    refused(
        &home,
        &args(&["import", &file], &HISTORY),
        1,
        &[&format!(
            "{file}: line 13: column \"Closed Date\": \"17/09/2025\" is ambiguous"
        )],
    );
    let file = fixture_with(&home, "Lou,Moss", "2025-09-17", "1999-09-17");
    refused(
        &home,
        &args(&["import", &file], &HISTORY),
        1,
        &["line 13: column \"Closed Date\": \"1999-09-17\" is before 2000-01-01"],
    );
}

#[test]
fn history_flags_that_name_no_column_are_usage_errors() {
    let home = Home::new();
    refused(
        &home,
        &["import", CRM, "--outcome-column", "Convrted"],
        2,
        &[
            "--outcome-column \"Convrted\": the file has no such column; did you mean \"Converted\"?",
        ],
    );
    refused(
        &home,
        &[
            "import",
            CRM,
            "--outcome-column",
            "Converted",
            "--closed-column",
            "Close Date",
        ],
        2,
        &["--closed-column \"Close Date\"", "\"Closed Date\""],
    );
    refused(
        &home,
        &["import", CRM, "--closed-column", "Closed Date"],
        2,
        &["--outcome-column"],
    );
}

/// The real telemarketing outcomes: every row closed, and no column alone gives the outcome
/// away (`duration` is the strongest, well short of the threshold).
#[test]
fn the_bank_file_imports_as_history_without_false_alarms() {
    let home = Home::new();
    let report = home.json(&[
        "import",
        BANK,
        "--delimiter",
        ";",
        "--allow-anonymous",
        "--outcome-column",
        "y",
        "--dry-run",
        "--format",
        "json",
    ]);
    assert_eq!(
        report["outcomes"],
        serde_json::json!({"won": 4640, "lost": 36548, "open": 0})
    );
    let columns = report["columns"].as_array().unwrap();
    assert_eq!(columns.len(), 17);
    assert_eq!(columns[16]["field"], "outcome");
    let warned: Vec<&Value> = columns
        .iter()
        .filter(|c| !c["warnings"].as_array().unwrap().is_empty())
        .collect();
    assert!(warned.is_empty(), "{warned:#?}");
}

/// A CRM export with enough history to learn from: the plan decides the odds.
fn history_csv(home: &Home) -> std::path::PathBuf {
    let mut text = String::from("First Name,Last Name,Email,Plan,Region,Converted\n");
    for i in 0..600 {
        let plan = ["enterprise", "team", "free"][i % 3];
        // Deterministic odds: enterprise 3 in 5, team 1 in 5, free 1 in 20.
        let won = match plan {
            "enterprise" => i % 5 < 3,
            "team" => i % 5 == 0,
            _ => i % 20 == 1,
        };
        let outcome = if i >= 570 {
            ""
        } else if won {
            "yes"
        } else {
            "no"
        };
        text.push_str(&format!(
            "Ann{i},Lee,ann{i}@corp{}.example,{plan},{},{outcome}\n",
            i % 40,
            ["north", "south"][i / 3 % 2]
        ));
    }
    let path = home.path().join("history.csv");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_model_trained_on_imported_history_scores_the_queue() {
    let home = Home::new();
    let file = history_csv(&home);
    home.cli(&[
        "import",
        file.to_str().unwrap(),
        "--outcome-column",
        "Converted",
    ]);
    let status = home.cli(&["model", "status"]);
    assert!(status.contains("No model yet"), "{status}");

    let trained = home.json(&["model", "train", "--exclude", "Region", "--format", "json"]);
    let m = &trained["model"];
    assert_eq!(m["active"], true, "{m:#}");
    assert_eq!(
        m["won"].as_u64().unwrap() + m["lost"].as_u64().unwrap(),
        570
    );
    assert!(
        m["holdout"]["model"]["auc"].as_f64().unwrap() > 0.7,
        "{m:#}"
    );
    assert_eq!(m["excluded"][0], "Region");

    let text = home.cli(&["model", "status"]);
    for want in [
        "In use",
        "AUC",
        "won in top 10%",
        "Calibration by decile",
        "Strongest factors",
        "Plan: enterprise",
        "Left out: Region",
    ] {
        assert!(text.contains(want), "{want:?} in\n{text}");
    }

    // The queue: a chance on every open lead, enterprise on top; show explains it.
    let queue = home.json(&["list", "--format", "json"]);
    let first = &queue[0];
    assert_eq!(first["attributes"]["Plan"], "enterprise", "{queue:#}");
    assert!(first["chance"].as_f64().unwrap() > 0.4);
    let table = home.cli(&["list"]);
    assert!(table.lines().next().unwrap().contains("WIN"), "{table}");
    let id = first["id"].as_u64().unwrap().to_string();
    let shown = home.cli(&["show", &id]);
    assert!(shown.contains("Chance to win"), "{shown}");
    assert!(shown.contains("learned from 1"), "{shown}");
    assert!(shown.contains("+ Plan: enterprise"), "{shown}");
    let detail = home.json(&["show", &id, "--format", "json"]);
    assert_eq!(
        detail["prediction"]["factors"][0]["factor"],
        "Plan: enterprise"
    );
}
