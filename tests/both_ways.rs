//! Every query and command gives the same answer in-process and through the server. One table
//! of commands runs in order on two stores: one opened by each command itself
//! (`LEADQ_SERVER=off`), one owned by a `leadq serve` whose clients run with a clock of their
//! own, years off: one clock rules, the store owner's, so the answers must not move.

mod common;

use common::words;

use common::home::Home;

use std::process::Output;

/// A client clock that disagrees with the server's by years.
const CLIENT_NOW: &str = "2029-06-01T12:00:00Z";

/// (command line, what its output must contain): in order, each on the store the ones before
/// it left. `!` before a text: the output must not contain it.
const TABLE: &[(&str, &[&str])] = &[
    (
        "add --name 'Ann Lee' --email ann@x.example --owner tester",
        &["created"],
    ),
    (
        "add --name 'Bo Chen' --email bo@x.example --owner bob",
        &["created"],
    ),
    (
        "add --name 'Cy Pool' --email cy@x.example --source webinar",
        &["created"],
    ),
    (
        "add --name 'Dee Pool' --phone '+1 415 555 0100'",
        &["created"],
    ),
    (
        "add --name 'Ann L.' --email ANN@x.example --company Acme",
        &["merged", "company"],
    ),
    (
        "log 1 call --outcome connected --note 'wants a quote' --next tomorrow",
        &["#1 Ann Lee", "2026-11-23T09:00:00Z"],
    ),
    (
        "log 3 meeting --outcome held --at 2h",
        &["#3 Cy Pool", "opportunity"],
    ),
    (
        "log 4 email --outcome bounced --at '2026-11-21 16:00'",
        &["#4"],
    ),
    (
        "list --owner none --format json",
        &["Cy Pool", "Dee Pool", "!Ann Lee", "!Bo Chen"],
    ),
    (
        "list --owner me --format json",
        &["Ann Lee", "!Bo Chen", "!Cy Pool"],
    ),
    ("list --owner bob --format json", &["Bo Chen", "!Ann Lee"]),
    ("list", &["Ann Lee", "Cy Pool", "2h"]),
    ("list --all --format csv", &["Bo Chen"]),
    ("list --today", &[]),
    ("list --due today", &[]),
    ("list --temp warm --format json", &[]),
    (
        "list --source webinar --format json",
        &["Cy Pool", "!Dee Pool"],
    ),
    (
        "show 1",
        &[
            "wants a quote",
            "created  2026-11-22T10:00:00Z (just now)",
            "next     2026-11-23T09:00:00Z (in 23h)",
        ],
    ),
    ("show 3 --format json", &["\"stage\": \"opportunity\""]),
    ("assign 4 me", &["#4"]),
    ("show 4", &["owner    tester"]),
    ("list --owner none --format json", &["Cy Pool", "!Dee Pool"]),
    ("snooze 2 --until 3d", &["2026-11-25T09:00:00Z"]),
    ("list --format json", &["!Bo Chen"]),
    ("stage 3 lost --reason price", &["lost"]),
    ("won 1 --note 'signed'", &["customer"]),
    ("export --format json", &["Ann Lee", "Dee Pool"]),
    ("show 99", &["no lead with id 99"]),
    ("log 2 call --at '2026-11-23 10:00'", &["in the future"]),
    ("log 2 note --note x --next 2026-11-01", &["out of range"]),
    ("snooze 2 --until 2026-11-21", &["out of range"]),
    ("assign 2 'bad owner'", &["is not a user name"]),
    (
        "edit 4 --name 'Dee Poole' --company Acme --title CTO --attr 'seats=40'",
        &[
            "name \"Dee Pool\" -> \"Dee Poole\"",
            "company (none) -> \"Acme\"",
            "title (none) -> \"CTO\"",
            "seats (none) -> \"40\"",
        ],
    ),
    (
        "edit 4 --email bo@x.example",
        &["already #2's (Bo Chen)", "leadq merge 2 4"],
    ),
    ("edit 4 --phone ''", &["needs an e-mail or a phone"]),
    ("edit 4 --email 'not an address'", &["not a valid address"]),
    (
        "edit 4 --unset seats --email dee@x.example",
        &["seats \"40\" -> (none)"],
    ),
    (
        "add --name 'Dee again' --email DEE@x.example",
        &["merged", "Dee Poole"],
    ),
    ("tag 4 +vip +hot-list", &["tag +vip; tag +hot-list"]),
    ("tag 4 -vip", &["tag -vip", "!+vip"]),
    ("tag 4 -", &["names no tag"]),
    ("tag 1 +Hot-List", &["tag +Hot-List"]),
    ("tag 4 '+semi;colon'", &["holds ';'", "without commas"]),
    ("tag 4 +Äpfel", &["tag +Äpfel"]),
    ("tag 4 +äpfel", &["nothing changed"]),
    ("tag 4 -- -ÄPFEL", &["tag -Äpfel"]),
    (
        "report sources --since all",
        &["webinar", "all ", "won rate", "median first touch"],
    ),
    (
        "report reps --since all --format json",
        &["\"rep\"", "tester", "bob"],
    ),
    (
        "report speed --tag hot-list",
        &["first touch of the 2 leads"],
    ),
    ("report nonsense", &["not a report"]),
    ("report funnel --since 0d", &["not a period"]),
    ("report funnel --from 2026-13-01", &["not a date"]),
    (
        "list --all --tag HOT-LIST --format json",
        &["Dee Poole", "Ann Lee", "!Bo Chen", "!Cy Pool"],
    ),
    ("list --all --tag vip", &["No leads match"]),
    ("list --tag ''", &["--tag names no tag"]),
    ("list --all --offset 1", &["Rows 2-"]),
    ("list --all --offset 2 --limit 1", &["Rows 3-3 of"]),
    (
        "list --all --offset 99 --limit 5",
        &["none from row 100", "!Rows"],
    ),
    (
        "tag 4 +x --format json",
        &["looks like an option", "!tag +x"],
    ),
    ("edit 4", &["name what to change"]),
    ("edit 4 --attr email=x@y.example", &["a field of the card"]),
    ("edit 4 --attr a=1 --unset a", &["both set and removed"]),
    ("edit 99 --name x", &["no lead with id 99"]),
    (
        "show 4",
        &["tags     hot-list", "title    CTO", "system edited"],
    ),
    (
        "add --name 'Dee Poole' --email dee.poole@home.example --company 'Acme Ltd'",
        &["created"],
    ),
    (
        "dupes",
        &["#4 Dee Poole", "same name and company", "1 likely pair"],
    ),
    ("dupes --format json", &["\"same-name-and-company\""]),
    ("dupes --not 4 99", &["no lead with id 99"]),
    ("dupes --not 4 5", &["marked as two people"]),
    ("dupes", &["0 likely pair", "!Dee Poole"]),
    ("merge 4 5", &["joined #5 (Dee Poole) into this lead"]),
    ("show 5", &["#4 Dee Poole", "system joined"]),
    ("merge 4 5", &["one lead already"]),
    ("merge 4 99", &["no lead with id 99"]),
    ("merge 4 3 --take 'shoe size'", &["no such field"]),
];

/// What a run printed, with the one line that may differ (where the store is) made equal.
fn answer(out: &Output) -> (Option<i32>, String, String) {
    let clean = |b: &[u8]| String::from_utf8_lossy(b).replace(" (through its server)", "");
    (out.status.code(), clean(&out.stdout), clean(&out.stderr))
}

#[test]
fn every_command_answers_the_same_in_process_and_through_the_server() {
    let alone = Home::new();
    let served = Home::new();
    let server = served.server();

    for (line, wants) in TABLE {
        let args = words(line);
        let mut local = alone.command();
        local.env("LEADQ_SERVER", "off").args(&args);
        let mut remote = served.command();
        remote.env("LEADQ_NOW", CLIENT_NOW).args(&args);
        let (l, r) = (
            answer(&local.output().expect("runs")),
            answer(&remote.output().expect("runs")),
        );
        assert_eq!(
            l, r,
            "`leadq {line}` in-process (left) and through the server (right)"
        );
        let text = format!("{}{}", l.1, l.2);
        for want in *wants {
            match want.strip_prefix('!') {
                Some(not) => assert!(!text.contains(not), "`leadq {line}` shows {not:?}:\n{text}"),
                None => assert!(
                    text.contains(want),
                    "`leadq {line}` lacks {want:?}:\n{text}"
                ),
            }
        }
        assert!(!text.contains("panicked"), "`leadq {line}`: {text}");
    }
    assert!(served.socket().exists(), "the server served every command");
    server.stop();
}
