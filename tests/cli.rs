//! The command line as a script or a rep uses it: the real `leadq` binary on a temporary store,
//! with a fixed clock (`LEADQ_NOW`), UTC and a private home so no developer's config leaks in.
//! Every bad input is checked for its exit code, its message and that the store is unchanged
//! (`export --format json` before and after).
//!
//! Commands are written as shell-like lines (`add --name 'Ann Lee'`), split by `words`.

mod common;

use common::words;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::{Value, json};
use tempfile::TempDir;

const NOW: &str = "2026-11-22T10:00:00Z";
const TOMORROW_9: &str = "2026-11-23T09:00:00Z";
const BANK: &str = "/work/shared/data/bank-telemarketing.csv";

/// `leadq` on the store in `dir`, at the fixed instant, in UTC, as user `tester`.
fn leadq(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_leadq"));
    cmd.env("LEADQ_DB", dir.join("store"))
        .env("LEADQ_NOW", NOW)
        .env("TZ", "UTC")
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("USER", "tester")
        .env("LOGNAME", "tester")
        .current_dir(dir)
        .timeout(Duration::from_secs(120));
    cmd
}

/// A temporary store and the helpers every test uses on it.
struct Env {
    dir: TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn cmd(&self, line: &str) -> Command {
        let mut c = leadq(self.path());
        c.args(words(line));
        c
    }

    /// Runs a command that must succeed and returns its standard output.
    fn ok(&self, line: &str) -> String {
        let out = self.cmd(line).output().expect("runs");
        assert!(
            out.status.success(),
            "leadq {line} failed with {:?}\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    fn json(&self, line: &str) -> Value {
        let text = self.ok(line);
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("leadq {line} printed invalid JSON ({e}): {text}"))
    }

    /// Every lead as `export --format json` writes it.
    fn export(&self) -> Value {
        self.json("export --format json")
    }

    fn show(&self, id: u64) -> Value {
        self.json(&format!("show {id} --format json"))
    }

    /// `add` with these arguments; the id of the lead created or merged into.
    fn add(&self, args: &str) -> u64 {
        self.json(&format!("add {args} --format json"))["id"]
            .as_u64()
            .expect("add prints an id")
    }

    /// Ids of `list` with these arguments, in the order printed.
    fn list(&self, args: &str) -> Vec<u64> {
        ids(&self.json(&format!("list {args} --format json")))
    }

    /// Runs a command that must be refused with `code`, its stderr saying every one of `said`,
    /// and the store exactly as before. Returns stderr.
    fn refused(&self, line: &str, code: i32, said: &[&str]) -> String {
        let before = self.export();
        let out = self.cmd(line).output().expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(code),
            "leadq {line}: wrong exit code\nstdout: {}\nstderr: {stderr}",
            String::from_utf8_lossy(&out.stdout)
        );
        for s in said {
            assert!(
                stderr.contains(s),
                "leadq {line}: stderr does not say {s:?}:\n{stderr}"
            );
        }
        assert_eq!(
            self.export(),
            before,
            "leadq {line} was refused but changed the store"
        );
        stderr
    }

    /// Writes a file in the temporary folder and returns its path as text.
    fn write(&self, name: &str, text: &str) -> String {
        let p: PathBuf = self.path().join(name);
        std::fs::write(&p, text).expect("write fixture");
        p.to_str().expect("utf-8 path").to_string()
    }
}

fn array(v: &Value) -> &Vec<Value> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a JSON array: {v:#}"))
}

fn ids(leads: &Value) -> Vec<u64> {
    array(leads)
        .iter()
        .map(|l| l["id"].as_u64().expect("id"))
        .collect()
}

fn names(leads: &Value) -> Vec<&str> {
    array(leads)
        .iter()
        .map(|l| l["name"].as_str().expect("name"))
        .collect()
}

fn find<'a>(leads: &'a Value, name: &str) -> &'a Value {
    array(leads)
        .iter()
        .find(|l| l["name"] == name)
        .unwrap_or_else(|| panic!("no lead named {name:?} in {leads:#}"))
}

/// The timeline entries of a `show --format json` with this outcome.
fn events<'a>(lead: &'a Value, outcome: &str) -> Vec<&'a Value> {
    array(&lead["timeline"])
        .iter()
        .filter(|i| i["outcome"] == outcome)
        .collect()
}

#[test]
fn words_splits_like_a_shell() {
    assert_eq!(
        words("add --name 'Ann Lee'  --tag ''"),
        ["add", "--name", "Ann Lee", "--tag", ""]
    );
    assert!(words("").is_empty());
}

// ---------------------------------------------------------------------------------------------
// add

#[test]
fn add_prints_the_new_id_and_created() {
    let env = Env::new();
    let out = env.ok("add --name 'Ann Lee' --email ann@example.com");
    assert_eq!(out, "1\tcreated\tAnn Lee\n");
    let out = env.ok("add --name 'Bo Chen' --phone '+44 20 7946 0958'");
    assert_eq!(out, "2\tcreated\tBo Chen\n");
    assert_eq!(names(&env.export()), ["Ann Lee", "Bo Chen"]);
}

#[test]
fn add_merges_same_email_or_phone_fills_gaps_and_never_overwrites() {
    let env = Env::new();
    env.ok("add --name 'Ann Lee' --email Ann.Lee@Example.com --company Acme --attr title=CTO");
    // The same address in another case and with spaces: merged, gaps filled.
    let out = env.ok(
        "add --name Annie --email '  ann.lee@EXAMPLE.com ' --company 'Other Corp' \
         --phone '+1 415 555 0100' --attr title=Intern --attr city=Lisbon",
    );
    assert!(out.starts_with("1\tmerged\tAnn Lee"), "{out}");
    assert!(out.contains("phone") && out.contains("city"), "{out}");
    // The same phone written another way: merged into the same lead.
    let out = env.ok("add --name 'A. Lee' --phone '(415) 555-0100' --owner bob");
    assert!(out.starts_with("1\tmerged\tAnn Lee"), "{out}");
    assert!(out.contains("owner"), "{out}");

    let all = env.export();
    assert_eq!(ids(&all), [1], "a duplicate made a second card: {all:#}");
    let lead = env.show(1);
    assert_eq!(lead["name"], "Ann Lee");
    assert_eq!(lead["email"], "Ann.Lee@Example.com");
    assert_eq!(lead["company"], "Acme");
    assert_eq!(lead["phone"], "+1 415 555 0100");
    assert_eq!(lead["owner"], "bob");
    assert_eq!(
        lead["attributes"],
        json!({"city": "Lisbon", "title": "CTO"})
    );
    assert_eq!(
        events(&lead, "merged").len(),
        2,
        "each repeat request is on the timeline"
    );
}

#[test]
fn add_json_output_parses() {
    let env = Env::new();
    let first = env.json("add --name Ann --email a@x.example --format json");
    assert_eq!(first["id"], 1);
    assert_eq!(first["created"], true);
    let again =
        env.json("add --name Ann --email A@X.example --phone '+1 415 555 0101' --format json");
    assert_eq!(again["id"], 1);
    assert_eq!(again["created"], false);
    assert_eq!(again["filled"], json!(["phone"]));
}

#[test]
fn add_refuses_bad_input_and_leaves_the_store_unchanged() {
    let env = Env::new();
    env.add("--name 'Ann Lee' --email ann@example.com");
    let cases = [
        (
            "--name X --email not-an-email",
            "e-mail \"not-an-email\" is not a valid address",
        ),
        (
            "--name X --email x@nodot",
            "e-mail \"x@nodot\" is not a valid address",
        ),
        (
            "--name X --phone 'call me'",
            "phone \"call me\" has characters other than digits",
        ),
        ("--name X --phone 123", "phone \"123\" has 4 digits"),
        // A known e-mail with a bad phone must not merge anything into Ann.
        (
            "--name X --email ann@example.com --phone 12ab",
            "phone \"12ab\"",
        ),
        ("--name '' --email x@y.example", "a lead needs a name"),
        (
            "--name '   ' --phone '+1 415 555 0100'",
            "a lead needs a name",
        ),
        ("--name Nobody", "a lead needs an e-mail or a phone number"),
    ];
    for (args, message) in cases {
        env.refused(&format!("add {args}"), 1, &[message]);
    }
    // A malformed argument is a usage error, as clap's own are.
    env.refused(
        "add --name X --email x@y.example --attr nokey",
        2,
        &["--attr \"nokey\" is not KEY=VALUE"],
    );
}

// ---------------------------------------------------------------------------------------------
// import

#[test]
fn import_maps_common_headers_and_keeps_other_columns_as_attributes() {
    let env = Env::new();
    let file = env.write(
        "leads.csv",
        "Full Name,E-mail,Phone,Company,Lead Source,Title,Favourite Colour\n\
         Ann Lee,ann@acme.example,+1 415 555 0100,Acme,web-form,CTO,teal\n\
         Bo Chen,,+44 20 7946 0958,,referral,,\n",
    );
    let out = env.ok(&format!("import {file}"));
    assert!(out.contains("2 rows: 2 new, 0 merged"), "{out}");

    let all = env.export();
    let ann = find(&all, "Ann Lee");
    assert_eq!(ann["email"], "ann@acme.example");
    assert_eq!(ann["phone"], "+1 415 555 0100");
    assert_eq!(ann["company"], "Acme");
    assert_eq!(ann["source"], "web-form");
    let shown = env.show(ann["id"].as_u64().unwrap());
    assert_eq!(
        shown["attributes"],
        json!({"Favourite Colour": "teal", "title": "CTO"})
    );
    // The Title column feeds the scoring rule on titles.
    let rules: Vec<&str> = array(&shown["explanation"])
        .iter()
        .map(|e| e["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"decision-maker title"), "{rules:?}");

    let bo = find(&all, "Bo Chen");
    assert_eq!(bo["email"], Value::Null);
    assert_eq!(bo["company"], Value::Null);
    assert_eq!(bo["source"], "referral");
    assert_eq!(bo["attributes"], json!({}), "empty cells are no attributes");
}

#[test]
fn import_with_map_and_semicolon_delimiter() {
    let env = Env::new();
    let text = "Kontakt;Mail;Tel;Firma;Intern;Branche\n\
                Jörg Weiß;joerg@weiss.example;+49 30 1234567;Weiß GmbH;x1;Handel\n";
    let file = env.write("kontakte.csv", text);
    env.ok(&format!(
        "import {file} --delimiter ; --map Kontakt=name --map Tel=phone --map Firma=company \
         --map Intern=ignore --map Branche=attr:industry"
    ));
    let all = env.export();
    let lead = find(&all, "Jörg Weiß");
    assert_eq!(lead["email"], "joerg@weiss.example");
    assert_eq!(lead["phone"], "+49 30 1234567");
    assert_eq!(lead["company"], "Weiß GmbH");
    assert_eq!(lead["attributes"], json!({"industry": "Handel"}));

    let other = Env::new();
    let file = other.write("kontakte.csv", text);
    // Without the delimiter the header is one column: leadq says the file looks ;-separated.
    other.refused(
        &format!("import {file}"),
        2,
        &["line 1", "looks ;-separated", "--delimiter ';'"],
    );
    // A --map naming a column the file lacks is an error, not a silent no-op.
    other.refused(
        &format!("import {file} --delimiter ; --map Telefon=phone"),
        2,
        &["no column \"Telefon\""],
    );
}

/// A good row spanning two lines (a quoted line break), a row with too few fields, a row with
/// an invalid e-mail and a good row: line numbers are the file's, not the record count.
const MIXED: &str = "Name,Email,Phone,Notes\n\
                     Ann Lee,ann@x.example,,\"first\nsecond\"\n\
                     Bo Chen,bo@x.example\n\
                     Cy Diaz,cy@,,\n\
                     Di Eve,di@x.example,,ok\n";

#[test]
fn import_with_bad_rows_lists_each_by_line_and_writes_nothing() {
    let env = Env::new();
    env.add("--name Known --email known@x.example");
    let file = env.write("mixed.csv", MIXED);
    let stderr = env.refused(
        &format!("import {file}"),
        1,
        &[
            &format!("{file}: line 4: has 2 fields, the header has 4"),
            &format!("{file}: line 5: e-mail \"cy@\" is not a valid address"),
            "nothing imported",
            "--skip-invalid",
        ],
    );
    assert!(
        !stderr.contains("line 2") && !stderr.contains("line 6"),
        "{stderr}"
    );
}

#[test]
fn import_skip_invalid_writes_the_good_rows_and_exits_3() {
    let env = Env::new();
    let file = env.write("mixed.csv", MIXED);
    let out = env
        .cmd(&format!("import {file} --skip-invalid"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 4: has 2 fields"), "{stderr}");
    assert!(stderr.contains("line 5: e-mail \"cy@\""), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("2 new") && stdout.contains("2 invalid"),
        "{stdout}"
    );
    let all = env.export();
    assert_eq!(names(&all), ["Ann Lee", "Di Eve"]);
    assert_eq!(
        find(&all, "Ann Lee")["attributes"]["Notes"],
        "first\nsecond"
    );
}

#[test]
fn import_dry_run_reports_but_writes_nothing() {
    let env = Env::new();
    env.add("--name 'Ann Lee' --email ann@x.example");
    let file = env.write(
        "new.csv",
        "name,email\nAnn L.,ANN@x.example\nBo Chen,bo@x.example\n",
    );
    let before = env.export();
    let out = env.ok(&format!("import {file} --dry-run"));
    assert!(out.contains("dry run"), "{out}");
    assert!(out.contains("1 new, 1 merged"), "{out}");
    assert!(out.contains("nothing written"), "{out}");
    assert_eq!(env.export(), before);
}

#[test]
fn import_merges_duplicates_within_the_file() {
    let env = Env::new();
    let file = env.write(
        "dupes.csv",
        "Name,Email,Phone,Company\n\
         Ann Lee,ann@x.example,,\n\
         Ann L.,ANN@X.EXAMPLE,+1 415 555 0100,Acme\n\
         A. Lee,,(415) 555-0100,Other\n\
         Bo Chen,bo@x.example,,\n",
    );
    let out = env.ok(&format!("import {file}"));
    assert!(out.contains("4 rows: 2 new, 2 merged"), "{out}");
    let all = env.export();
    assert_eq!(names(&all), ["Ann Lee", "Bo Chen"]);
    let ann = find(&all, "Ann Lee");
    assert_eq!(ann["phone"], "+1 415 555 0100");
    assert_eq!(ann["company"], "Acme");
}

/// A file big enough that validation and scoring run on several threads and the write goes in
/// chunks: bad rows are still named by their own lines, duplicates still merge in file order,
/// and each lead is scored from its own row.
#[test]
fn a_big_import_names_its_bad_lines_and_merges_in_file_order() {
    let env = Env::new();
    let mut csv = String::from("name,email,title\n");
    for i in 0..3_000 {
        match i {
            1 => csv.push_str("Bad One,not-an-email,\n"),
            2_900 => csv.push_str("Bad Two,also@bad@,\n"),
            // A repeat of row 10's address, far down the file: merged into it.
            2_500 => csv.push_str("Repeat,lead10@x.example,\n"),
            _ => csv.push_str(&format!(
                "Lead Row{i},lead{i}@x.example,{}\n",
                if i % 2 == 0 { "CEO" } else { "Analyst" }
            )),
        }
    }
    let file = env.write("big.csv", &csv);
    let stderr = env.refused(
        &format!("import {file}"),
        1,
        &[
            &format!("{file}: line 3: e-mail \"not-an-email\""),
            &format!("{file}: line 2902: e-mail \"also@bad@\""),
            "nothing imported",
        ],
    );
    assert_eq!(stderr.matches(": line ").count(), 2, "{stderr}");
    let out = env
        .cmd(&format!("import {file} --skip-invalid"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("3000 rows: 2997 new, 1 merged") && stdout.contains("2 invalid"),
        "{stdout}"
    );
    let all = env.export();
    let names = names(&all);
    assert_eq!(names.len(), 2_997);
    assert!(names.contains(&"Lead Row10"));
    assert!(!names.contains(&"Repeat"), "merged into row 10");
    // The decision-maker title scores; each lead from its own row.
    let score = |name: &str| find(&all, name)["score"].as_u64().unwrap();
    assert!(
        score("Lead Row2998") > score("Lead Row2999"),
        "CEO over analyst"
    );
    assert_eq!(score("Lead Row4"), score("Lead Row2998"));
}

#[test]
fn import_the_bank_file_as_anonymous_leads() {
    let env = Env::new();
    let out = env.ok(&format!("import {BANK} --delimiter ; --allow-anonymous"));
    assert!(out.contains("41188 rows: 41188 new, 0 merged"), "{out}");
    // Row 17 is line 18: 35;blue-collar;married;basic.6y;no;yes;no;312;...;0
    let lead = env.show(17);
    assert_eq!(lead["name"], "Lead 17");
    assert_eq!(lead["attributes"]["job"], "blue-collar");
    assert_eq!(lead["attributes"]["age"], "35");
    assert_eq!(lead["attributes"]["duration"], "312");
    assert_eq!(
        lead["attributes"].as_object().unwrap().len(),
        17,
        "every column kept"
    );
    assert_eq!(env.show(41188)["name"], "Lead 41188");
    let past_the_end = env.cmd("show 41189").output().unwrap();
    assert_eq!(past_the_end.status.code(), Some(1), "more leads than rows");
}

#[test]
fn import_bank_slice_names_leads_from_a_column() {
    let env = Env::new();
    let text = std::fs::read_to_string(BANK).expect("the bank data set");
    let slice: Vec<&str> = text.lines().take(4).collect();
    let file = env.write("bank-slice.csv", &(slice.join("\n") + "\n"));
    // Rows with no name and no contact are refused unless anonymous rows are allowed.
    env.refused(
        &format!("import {file} --delimiter ;"),
        1,
        &["line 2: a lead needs a name", "line 4: a lead needs a name"],
    );
    env.ok(&format!(
        "import {file} --delimiter ; --allow-anonymous --name-column job"
    ));
    let all = env.export();
    assert_eq!(names(&all), ["housemaid", "services", "services"]);
    assert_eq!(all[0]["attributes"]["age"], "56");
    assert_eq!(
        all[0]["attributes"].get("job"),
        None,
        "the name column is the name"
    );
}

// ---------------------------------------------------------------------------------------------
// log

#[test]
fn log_connected_call_reports_the_change_and_lands_on_the_timeline() {
    let env = Env::new();
    let id = env.add("--name 'Ann Lee' --email ann@x.example");
    let out = env.ok(&format!(
        "log {id} call --outcome connected --note 'wants pricing' --minutes 12"
    ));
    assert!(out.contains("score 0 -> 15 (+15)"), "{out}");
    assert!(out.contains("new -> contacted"), "{out}");

    let lead = env.show(id);
    assert_eq!(lead["stage"], "contacted");
    assert_eq!(lead["score"], 15);
    assert_eq!(lead["last_touch"], NOW);
    let call = array(&lead["timeline"])
        .iter()
        .find(|i| i["kind"] == "call")
        .expect("the call is on the timeline");
    assert_eq!(call["outcome"], "connected");
    assert_eq!(call["author"], "tester");
    assert_eq!(call["at"], NOW);
    assert_eq!(call["note"], "wants pricing");
    assert_eq!(call["duration_secs"], 720);
}

#[test]
fn timeline_is_newest_first() {
    let env = Env::new();
    let id = env.add("--name 'Ann Lee' --email ann@x.example");
    env.ok(&format!(
        "log {id} call --outcome no-answer --at '2026-11-20 14:30'"
    ));
    env.ok(&format!("log {id} email --outcome sent --note follow-up"));
    // `--at 2h` is two hours ago.
    env.ok(&format!("log {id} note --note 'met at the fair' --at 2h"));
    let lead = env.show(id);
    let seen: Vec<(&str, &str)> = array(&lead["timeline"])
        .iter()
        .map(|i| (i["kind"].as_str().unwrap(), i["at"].as_str().unwrap()))
        .collect();
    let expected = [
        ("email", NOW),
        ("system", NOW), // created
        ("note", "2026-11-22T08:00:00Z"),
        ("call", "2026-11-20T14:30:00Z"),
    ];
    assert_eq!(seen, expected);
}

#[test]
fn log_next_tomorrow_is_nine_in_the_morning_in_text_and_json() {
    let env = Env::new();
    let id = env.add("--name 'Ann Lee' --email ann@x.example");
    let out = env.ok(&format!("log {id} email --next tomorrow"));
    assert!(out.contains(&format!("next {TOMORROW_9}")), "{out}");
    assert_eq!(env.show(id)["next_action"], TOMORROW_9);
    // Scripts get the same time format from every command.
    let change = env.json(&format!(
        "log {id} call --outcome busy --next tomorrow --format json"
    ));
    assert_eq!(change["next_action"], TOMORROW_9, "{change:#}");
    assert_eq!(change["score_before"], 1, "an e-mail sent is worth 1");
    assert_eq!(change["score_after"], 2, "a busy call is worth 1");
    assert_eq!(change["stage_after"], "new");
    let change = env.json(&format!("snooze {id} --until 3d --format json"));
    assert_eq!(change["next_action"], "2026-11-25T09:00:00Z", "{change:#}");
}

#[test]
fn log_refuses_bad_input_and_leaves_the_store_unchanged() {
    let env = Env::new();
    env.add("--name 'Ann Lee' --email ann@x.example");
    env.refused("log 42 call", 1, &["no lead with id 42"]);
    env.refused(
        "log 1 call --outcome replied",
        2,
        &["connected, no-answer, voicemail, busy, wrong-number"],
    );
    env.refused(
        "log 1 meeting --outcome connected",
        2,
        &["scheduled, held, no-show"],
    );
    env.refused("log 1 note --next someday", 2, &["--next", "someday"]);
    env.refused("log 1 call --at '2026-11-23 10:00'", 1, &["in the future"]);
}

// ---------------------------------------------------------------------------------------------
// list

/// Four open leads, by score: hot (alice), warm (bob), cold and due today (unassigned), cold
/// with a follow-up tomorrow (tester, the user running the tests).
fn sample(env: &Env) -> [u64; 4] {
    let hot = env.add(
        "--name 'Hot Hannah' --email hannah@acme.example --company Acme --source web-form \
         --attr title=CTO --owner alice",
    );
    env.ok(&format!("log {hot} meeting --outcome held"));
    let warm = env.add(
        "--name 'Warm Walter' --email walter@beta.example --company Beta --source referral \
         --owner bob",
    );
    let due = env.add("--name 'Cold Cora' --phone '+1 415 555 0199'");
    env.ok(&format!("log {due} note --note 'call back' --next today"));
    let mine = env.add("--name 'My Mo' --email mo@gamma.example --owner tester");
    env.ok(&format!(
        "log {mine} call --outcome no-answer --next tomorrow"
    ));
    [hot, warm, due, mine]
}

#[test]
fn list_filters() {
    let env = Env::new();
    let [hot, warm, due, mine] = sample(&env);
    let all = env.json("list --format json");
    let temps: Vec<&str> = array(&all)
        .iter()
        .map(|l| l["temperature"].as_str().unwrap())
        .collect();
    assert_eq!(temps, ["hot", "warm", "cold", "cold"], "{all:#}");
    assert_eq!(ids(&all), [hot, warm, due, mine], "hottest first");

    assert_eq!(env.list("--temp hot"), [hot]);
    assert_eq!(env.list("--temp warm"), [warm]);
    assert_eq!(env.list("--temp cold"), [due, mine]);
    assert_eq!(env.list("--stage opportunity"), [hot]);
    assert_eq!(env.list("--owner alice"), [hot]);
    assert_eq!(env.list("--owner none"), [due]);
    assert_eq!(env.list("--owner me"), [mine]);
    assert_eq!(env.list("--source referral"), [warm]);
    assert_eq!(env.list("--due today"), [due]);
    assert_eq!(env.list("--limit 2"), [hot, warm]);
    assert!(env.list("--owner nobody-here").is_empty());
    env.refused("list --stage bogus", 2, &["new contacted qualified"]);

    // Plain text: a header and one row per lead.
    let text = env.ok("list --temp hot");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].contains("SCORE") && lines[0].contains("OWNER"),
        "{text}"
    );
    assert!(
        lines[1].contains("Hot Hannah") && lines[1].contains("HOT"),
        "{text}"
    );
}

#[test]
fn list_json_has_exactly_the_documented_keys_in_score_order() {
    let env = Env::new();
    env.ok("demo --count 120 --seed 3");
    let mut expected = [
        "id",
        "name",
        "email",
        "phone",
        "company",
        "source",
        "owner",
        "tags",
        "attributes",
        "stage",
        "temperature",
        "score",
        "next_action",
        "last_touch",
        "created",
    ];
    expected.sort();
    let rows = env.json("list --all --format json");
    assert_eq!(array(&rows).len(), 120);
    for row in array(&rows) {
        let mut keys: Vec<&str> = row
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        keys.retain(|k| *k != "lost_reason");
        keys.sort();
        assert_eq!(keys, expected, "{row:#}");
    }
    let scores: Vec<u64> = array(&rows)
        .iter()
        .map(|r| r["score"].as_u64().unwrap())
        .collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "not by descending score: {scores:?}"
    );
    // A limit gives the top of the same queue.
    let full = env.list("");
    assert_eq!(env.list("--limit 7"), full[..7]);
    let hot = env.list("--temp hot");
    assert!(hot.len() > 3);
    assert_eq!(env.list("--temp hot --limit 3"), hot[..3]);
}

#[test]
fn bare_leadq_on_an_empty_store_says_how_to_add_leads() {
    let env = Env::new();
    let out = env.ok("");
    assert!(out.contains("empty"), "{out}");
    assert!(
        out.contains("leadq add") && out.contains("leadq import"),
        "{out}"
    );
}

#[test]
fn bare_leadq_shows_the_hot_queue() {
    let env = Env::new();
    sample(&env);
    let out = env.ok("");
    assert!(out.contains("Hot Hannah"), "{out}");
    assert!(
        !out.contains("Warm Walter") && !out.contains("Cold Cora"),
        "{out}"
    );
}

// ---------------------------------------------------------------------------------------------
// show and terminal safety

#[test]
fn show_json_explains_the_score_and_lists_the_timeline() {
    let env = Env::new();
    let [hot, ..] = sample(&env);
    let lead = env.show(hot);
    let explanation = array(&lead["explanation"]);
    assert!(!explanation.is_empty());
    let mut total = 0.0;
    for item in explanation {
        let mut keys: Vec<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        keys.sort();
        assert_eq!(keys, ["points", "rule"], "{item}");
        total += item["points"].as_f64().unwrap();
    }
    assert_eq!(
        total.round() as u64,
        lead["score"].as_u64().unwrap(),
        "{lead:#}"
    );
    let timeline = array(&lead["timeline"]);
    assert_eq!(
        timeline.len(),
        3,
        "created, meeting, stage change: {timeline:#?}"
    );
    for item in timeline {
        for key in ["kind", "outcome", "author", "at", "note"] {
            assert!(
                item.get(key).is_some(),
                "timeline item without {key}: {item}"
            );
        }
    }
    assert!(
        timeline
            .iter()
            .any(|i| i["kind"] == "meeting" && i["outcome"] == "held")
    );

    let text = env.ok(&format!("show {hot}"));
    assert!(
        text.contains("Hot Hannah") && text.contains("decision-maker title"),
        "{text}"
    );
    env.refused("show 99", 1, &["no lead with id 99"]);
}

#[test]
fn text_output_never_carries_terminal_control_sequences() {
    let env = Env::new();
    let evil = "Evil\u{1b}]0;pwned\u{7}\u{1b}[2J Name\u{9b}31m\u{202e}";
    let mut outputs = vec![env.ok(&format!(
        "add --name '{evil}' --email evil@x.example --company \u{1b}[5mAcme --tag \u{202e}vip \
         --attr title=\u{1b}[1mCEO"
    ))];
    assert_eq!(env.export()[0]["name"], evil, "stored as given");
    outputs.push(env.ok("log 1 note --note \u{1b}[31mred\u{7}"));
    // An owner is a user name: an escape sequence is refused, and its message shows none.
    outputs.push(env.refused("assign 1 \u{1b}[2Jbob", 1, &["is not a user name"]));
    // A tag is a word: one holding an escape sequence is refused, and its message shows none.
    outputs.push(env.refused("tag 1 +\u{1b}[8mx", 1, &["control character"]));
    let (show, list) = (env.ok("show 1"), env.ok("list"));
    assert!(
        show.contains("Evil") && show.contains("red"),
        "still shown: {show}"
    );
    assert!(list.contains("Evil"), "still listed: {list}");
    outputs.extend([show, list, env.ok("list --format csv"), env.ok("export")]);
    for out in &outputs {
        for bad in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}'] {
            assert!(
                !out.contains(bad),
                "{bad:?} reached the terminal in:\n{out}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// moves by hand

#[test]
fn stage_moves_by_hand_and_refuses_lost_without_a_reason() {
    let env = Env::new();
    let id = env.add("--name 'Ann Lee' --email ann@x.example");
    let out = env.ok(&format!("stage {id} qualified"));
    assert!(out.contains("stage new -> qualified"), "{out}");
    assert_eq!(env.show(id)["stage"], "qualified");
    env.refused(
        &format!("stage {id} lost"),
        1,
        &["needs a reason", "no-budget"],
    );
    env.refused(&format!("stage {id} winning"), 2, &["not a stage"]);
    env.refused(
        &format!("stage {id} nurture --reason price"),
        1,
        &["only given for lost"],
    );
    env.ok(&format!("stage {id} lost --reason competitor"));
    let lead = env.show(id);
    assert_eq!(lead["stage"], "lost");
    assert_eq!(lead["lost_reason"], "competitor");
}

#[test]
fn won_makes_a_customer_then_a_loyal_one() {
    let env = Env::new();
    let id = env.add("--name 'Ann Lee' --email ann@x.example");
    let out = env.ok(&format!("won {id}"));
    assert!(out.contains("new -> customer"), "{out}");
    assert_eq!(env.show(id)["stage"], "customer");
    let out = env.ok(&format!("won {id} --note 'second order'"));
    assert!(out.contains("customer -> loyal"), "{out}");
    let lead = env.show(id);
    assert_eq!(lead["stage"], "loyal");
    assert_eq!(events(&lead, "won").len(), 2);
    assert!(
        env.list("").is_empty(),
        "a customer is out of the working queue"
    );
    assert_eq!(env.list("--stage loyal"), [id]);
    env.refused("won 7", 1, &["no lead with id 7"]);
}

#[test]
fn lost_needs_a_known_reason() {
    let env = Env::new();
    let id = env.add("--name 'Ann Lee' --email ann@x.example");
    let other = env.add("--name 'Bo Chen' --email bo@x.example");
    env.refused(
        &format!("lost {id} --reason too-expensive"),
        2,
        &["price competitor no-budget no-response not-a-fit other"],
    );
    env.refused(&format!("lost {id}"), 2, &["--reason"]);
    let out = env.ok(&format!("lost {id} --reason price"));
    assert!(out.contains("new -> lost"), "{out}");
    let lead = env.show(id);
    assert_eq!(lead["stage"], "lost");
    assert_eq!(lead["lost_reason"], "price");
    assert_eq!(env.list(""), [other], "a lost lead leaves the queue");
    assert_eq!(env.list("--stage lost"), [id]);
}

#[test]
fn snooze_hides_a_lead_until_the_date() {
    let env = Env::new();
    let a = env.add("--name 'Ann Lee' --email ann@x.example");
    let b = env.add("--name 'Bo Chen' --email bo@x.example");
    let out = env.ok(&format!("snooze {a} --until 3d"));
    assert!(out.contains("2026-11-25T09:00:00Z"), "{out}");
    assert_eq!(env.show(a)["next_action"], "2026-11-25T09:00:00Z");
    assert_eq!(env.list(""), [b]);
    let mut all = env.list("--all");
    all.sort();
    assert_eq!(all, [a, b]);
    env.refused(
        &format!("snooze {b} --until 2026-01-01"),
        1,
        &["snooze 2026-01-01T09:00:00Z is out of range", "after now"],
    );
    env.refused(
        &format!("snooze {b} --until later"),
        2,
        &["--until", "later"],
    );
}

#[test]
fn assign_gives_a_lead_to_a_rep_and_back_to_the_pool() {
    let env = Env::new();
    let id = env.add("--name 'Ann Lee' --email ann@x.example");
    env.ok(&format!("assign {id} bob"));
    assert_eq!(env.show(id)["owner"], "bob");
    assert_eq!(env.list("--owner bob"), [id]);
    env.ok(&format!("assign {id} none"));
    let lead = env.show(id);
    assert_eq!(lead["owner"], Value::Null);
    assert_eq!(env.list("--owner none"), [id]);
    let notes: Vec<&str> = events(&lead, "owner-changed")
        .iter()
        .map(|i| i["note"].as_str().unwrap())
        .collect();
    assert_eq!(
        notes,
        ["owner bob -> (unassigned)", "owner (unassigned) -> bob"]
    );
    env.refused("assign 5 bob", 1, &["no lead with id 5"]);
}

// ---------------------------------------------------------------------------------------------
// export

#[test]
fn export_csv_cells_cannot_run_as_formulas() {
    let env = Env::new();
    env.add(
        "--name '=HYPERLINK(\"http://x.example\")' --email ann@x.example \
         --phone '+1 415 555 0100' --company=-2+3 --tag @SUM(A1) --attr note=+cmd",
    );
    let csv_text = env.ok("export");
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let row = reader.records().next().expect("one row").unwrap();
    let cell = |name: &str| &row[header.iter().position(|h| h == name).unwrap()];
    assert_eq!(cell("name"), "'=HYPERLINK(\"http://x.example\")");
    assert_eq!(cell("phone"), "'+1 415 555 0100");
    assert_eq!(cell("company"), "'-2+3");
    assert_eq!(cell("tags"), "'@SUM(A1)");
    assert_eq!(cell("note"), "'+cmd");
    assert_eq!(cell("email"), "ann@x.example");
    for c in row.iter() {
        assert!(!c.starts_with(['=', '+', '-', '@']), "formula cell {c:?}");
    }
}

#[test]
fn export_json_then_import_into_a_fresh_store_reproduces_the_leads() {
    let env = Env::new();
    env.ok("demo --count 300 --seed 11");
    env.add(
        "--name 'Анна Смирнова' --phone '+7 912 345 6789' --company Техноком \
         --source trade-show --owner dmitri --tag vip --tag q4 --attr city=Москва \
         --attr company_size=80",
    );
    env.add("--name =Formula --email f@x.example");
    let file = env.path().join("leads.json");
    let out = env
        .cmd(&format!("export --format json --out {}", file.display()))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exported 302 leads"));
    assert!(out.stdout.is_empty(), "--out writes to the file only");

    let fresh = Env::new();
    let out = fresh.ok(&format!("import {}", file.display()));
    assert!(out.contains("302 rows: 302 new, 0 merged"), "{out}");
    let fields = [
        "name",
        "email",
        "phone",
        "company",
        "source",
        "owner",
        "tags",
        "attributes",
    ];
    let pick = |all: &Value| -> Vec<Vec<Value>> {
        array(all)
            .iter()
            .map(|l| fields.iter().map(|f| l[*f].clone()).collect())
            .collect()
    };
    assert_eq!(pick(&env.export()), pick(&fresh.export()));
}

// ---------------------------------------------------------------------------------------------
// demo

#[test]
fn demo_is_deterministic_and_varied() {
    let (one, two) = (Env::new(), Env::new());
    let out = one.ok("demo --count 300 --seed 7");
    assert!(out.starts_with("added 300 demo leads"), "{out}");
    two.ok("demo --count 300 --seed 7");
    let leads = one.export();
    assert_eq!(leads, two.export(), "same seed and clock, different leads");
    assert_eq!(array(&leads).len(), 300);
    let distinct = |key: &str| {
        let mut v: Vec<&str> = array(&leads)
            .iter()
            .map(|l| l[key].as_str().unwrap())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    assert_eq!(distinct("temperature"), ["cold", "hot", "warm"]);
    assert!(distinct("stage").len() >= 5, "{:?}", distinct("stage"));
    let other = Env::new();
    other.ok("demo --count 300 --seed 8");
    assert_ne!(other.export(), leads, "the seed changes the leads");
}

// ---------------------------------------------------------------------------------------------
// usage, help, the store itself

#[test]
fn usage_errors_exit_2() {
    let env = Env::new();
    env.refused("frobnicate", 2, &["unrecognized subcommand"]);
    env.refused("add --email a@x.example", 2, &["--name"]);
    env.refused("list --temp lukewarm", 2, &["lukewarm"]);
    env.refused("log 1 fax", 2, &["fax"]);
    env.refused("log one call", 2, &["one"]);
    env.refused("list --limit -3", 2, &["-3"]);
}

#[test]
fn help_works_on_every_subcommand() {
    let env = Env::new();
    let top = env.ok("--help");
    let subcommands = [
        "add", "import", "log", "list", "show", "stage", "won", "lost", "snooze", "assign",
        "export", "demo",
    ];
    for sub in subcommands {
        assert!(top.contains(sub), "--help does not mention {sub}:\n{top}");
        let help = env.ok(&format!("{sub} --help"));
        assert!(
            help.contains(&format!("Usage: leadq {sub}")),
            "leadq {sub} --help:\n{help}"
        );
    }
    assert!(
        !env.path().join("store").exists(),
        "--help opened the store"
    );
}

#[test]
fn a_store_in_use_is_reported_and_left_intact() {
    let env = Env::new();
    env.add("--name 'Ann Lee' --email ann@x.example");
    let before = env.export();
    {
        let path = env.path().join("store");
        let _held = leadq::store::Store::open(&path, leadq::store::DEFAULT_CACHE_BYTES)
            .expect("open the store");
        let out = env.cmd("log 1 note --note x").output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("in use by another leadq process"),
            "{stderr}"
        );
    }
    assert_eq!(env.export(), before);
}

#[test]
fn the_store_folder_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    env.add("--name 'Ann Lee' --email ann@x.example");
    let mode = std::fs::metadata(env.path().join("store"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "store folder mode {mode:o}");
}

/// Every report prints as CSV a spreadsheet reads: each table with its own header line (the
/// tables differ in columns), and stored text with no terminal control in it and no formula.
#[test]
fn report_csv_prints_every_table_and_no_control_or_formula() {
    let env = Env::new();
    let file = env.write(
        "hostile.csv",
        "name,email,source,utm_campaign\n\
         Ann,ann@x.example,\"web\u{1b}[31mform\",\"=cmd|' /C calc'!A0\"\n\
         Bo,bo@x.example,referral,\"spring\u{1b}]0;pwned\u{7}\"\n",
    );
    env.ok(&format!("import {file}"));
    env.ok("won 1");
    for kind in ["funnel", "sources", "reps", "speed", "score", "day"] {
        let out = env.ok(&format!("report {kind} --format csv --since all"));
        assert!(
            !out.chars().any(|c| c.is_control() && c != '\n'),
            "{kind}: a control character in {out:?}"
        );
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(out.as_bytes());
        let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("CSV")).collect();
        assert!(records.len() >= 2, "{kind}: {out}");
        assert_eq!(&records[0][0], "table", "{kind}: a header first");
        for r in &records {
            for cell in r {
                assert!(!cell.starts_with('='), "{kind}: a formula in {cell:?}");
            }
        }
    }
    let sources = env.ok("report sources --format csv --since all");
    assert!(
        sources.contains("'=cmd"),
        "the formula kept, neutralised: {sources}"
    );
}

/// `import -` and `add --json -` read standard input (scripts, cron jobs, a webhook relay):
/// CSV or JSON (known by its bracket), and one lead as a JSON object with the field names an
/// import or a web form uses.
#[test]
fn import_and_add_read_standard_input() {
    let env = Env::new();
    env.cmd("import -")
        .write_stdin("name,email\nAnn,ann@x.example\n")
        .assert()
        .success()
        .stdout(predicates::str::contains("standard input: 1 rows: 1 new"));
    env.cmd("import -")
        .write_stdin("[{\"name\":\"Bo\",\"email\":\"bo@x.example\"}]")
        .assert()
        .success();
    let out = env
        .cmd("add --json - --format json")
        .write_stdin(
            r#"{"First Name":"Cy","Last Name":"Lee","Email Address":"cy@x.example",
                "utm_campaign":"spring","tags":["vip","eu"]}"#,
        )
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = serde_json::from_slice::<Value>(&out.stdout).expect("JSON")["id"]
        .as_u64()
        .expect("an id");
    let cy = env.show(id);
    assert_eq!(cy["name"], "Cy Lee");
    assert_eq!(cy["attributes"]["utm_campaign"], "spring");
    assert_eq!(names(&env.export()), vec!["Ann", "Bo", "Cy Lee"]);
    // A bad object is refused, naming the field, and nothing is written.
    let before = env.export();
    env.cmd("add --json -")
        .write_stdin(r#"{"name":"Di","email":"not-an-address"}"#)
        .assert()
        .failure()
        .stderr(predicates::str::contains("not a valid address"));
    env.cmd("add --json -")
        .write_stdin("{\"name\": [[1]]}")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("field \"name\""));
    assert_eq!(env.export(), before);
}
