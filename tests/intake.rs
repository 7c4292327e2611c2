//! Web intake end to end: a real `leadq serve --http` on a free port, posts made over TCP as a
//! web form or a script would make them, and what each answer leaves in the store (read back
//! through the same server's socket).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::home::Home;
use leadq::remote::client::Client;
use leadq::service::LeadService;
use serde_json::Value;

const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const SLOW_TOKEN: &str = "slowslowslowslowslowslowslowslow";

/// An answer: status, headers (names lowercased), body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `request` (raw bytes) to `port` and reads the whole answer (the request asks the
/// connection to close).
fn send(port: u16, request: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stream.write_all(request).expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the answer");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_string(),
    }
}

/// A POST of `body` to `path` with extra header lines.
fn post(port: u16, path: &str, headers: &[&str], body: &str) -> Answer {
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    req.push_str(body);
    send(port, req.as_bytes())
}

fn form(port: u16, token: &str, body: &str) -> Answer {
    post(
        port,
        "/leads",
        &[
            &format!("Authorization: Bearer {token}"),
            "Content-Type: application/x-www-form-urlencoded",
        ],
        body,
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A home whose server takes web leads on a free port: two tokens (web-form, 60 a minute;
/// ads, 2 a minute).
fn serving() -> (Home, common::server::Server, u16) {
    let home = Home::new();
    let tokens = home.path().join("tokens.toml");
    std::fs::write(
        &tokens,
        format!(
            "[[token]]\nsource = \"web-form\"\ntoken = \"{TOKEN}\"\n\n\
             [[token]]\nsource = \"ads\"\ntoken = \"{SLOW_TOKEN}\"\nper_minute = 2\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o600)).unwrap();
    let port = free_port();
    let server = home.server_args(&[
        "--http",
        &format!("127.0.0.1:{port}"),
        "--tokens",
        tokens.to_str().unwrap(),
    ]);
    (home, server, port)
}

#[test]
fn a_posted_lead_is_routed_by_the_servers_rules_with_the_rule_on_its_timeline() {
    let home = Home::new();
    let config = home.path().join("config/leadq");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("routing.toml"),
        "[[rule]]\nname = \"web\"\nsource = [\"web-form\"]\nteam = [\"ann\", \"bob\"]\n",
    )
    .unwrap();
    let tokens = home.path().join("tokens.toml");
    std::fs::write(
        &tokens,
        format!("[[token]]\nsource = \"web-form\"\ntoken = \"{TOKEN}\"\n"),
    )
    .unwrap();
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o600)).unwrap();
    let port = free_port();
    let server = home.server_args(&[
        "--http",
        &format!("127.0.0.1:{port}"),
        "--tokens",
        tokens.to_str().unwrap(),
    ]);
    let owners: Vec<String> = (1..=3)
        .map(|i| {
            let a = form(port, TOKEN, &format!("name=W{i}&email=w{i}%40x.example"));
            assert_eq!(a.status, 201, "{}", a.body);
            let id = a.json()["id"].as_u64().unwrap().to_string();
            let shown: Value =
                serde_json::from_str(&home.cli(&["show", &id, "--format", "json"])).unwrap();
            let routed = shown["timeline"].as_array().unwrap().iter().any(|e| {
                e["note"]
                    .as_str()
                    .is_some_and(|n| n.contains("by rule \"web\""))
            });
            assert!(routed, "the routing is on the timeline: {shown}");
            shown["owner"].as_str().unwrap_or("").to_string()
        })
        .collect();
    assert_eq!(owners, ["ann", "bob", "ann"]);
    let explained = home.cli(&["route", "--dry-run", "1"]);
    assert!(explained.contains("by rule \"web\""), "{explained}");
    // Today's queue opens with them, waiting for a first touch, with their clock.
    let today = home.cli(&["list", "--today"]);
    let mut lines = today.lines();
    assert_eq!(
        lines.next(),
        Some("Web leads waiting for a first touch:"),
        "{today}"
    );
    let first = lines.next().unwrap_or_default();
    assert!(
        first.contains("W1") && first.contains("-> ann") && first.contains("due in 5m"),
        "{today}"
    );
    server.stop();
}

/// An Idempotency-Key outlives the server: after a restart the retry gets the first answer
/// (it is kept in the store with the lead), another post under it is refused, and a key that
/// is not printable ASCII is refused rather than ignored. Bad posts do not use up a token's
/// minute.
#[test]
fn a_key_is_remembered_across_a_restart_and_bad_posts_do_not_spend_the_rate() {
    let (home, server, port) = serving();
    let keyed = |port: u16, key: &str, body: &str| {
        post(
            port,
            "/leads",
            &[
                &format!("Authorization: Bearer {TOKEN}"),
                &format!("Idempotency-Key: {key}"),
            ],
            body,
        )
    };
    let first = keyed(port, "order-9", "name=Kim&email=kim%40x.example");
    assert_eq!(first.status, 201);
    server.stop();
    let tokens = home.path().join("tokens.toml");
    let port = free_port();
    let server = home.server_args(&[
        "--http",
        &format!("127.0.0.1:{port}"),
        "--tokens",
        tokens.to_str().unwrap(),
    ]);
    let again = keyed(port, "order-9", "name=Kim&email=kim%40x.example");
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.json()["id"], first.json()["id"]);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        keyed(port, "order-9", "name=Lee&email=lee%40x.example").status,
        422
    );
    let mut raw_req = format!(
        "POST /leads HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {TOKEN}\r\nIdempotency-Key: k"
    )
    .into_bytes();
    raw_req.push(0xff);
    raw_req.extend_from_slice(b"k\r\nContent-Length: 28\r\n\r\nname=Jo&email=jo%40x.example");
    let odd = send(port, &raw_req);
    assert_eq!(odd.status, 400);
    assert_eq!(
        odd.json()["fields"][0]["field"],
        "Idempotency-Key",
        "{}",
        odd.body
    );
    assert_eq!(leads(&home).len(), 1);
    // Two posts a minute for ads: bad ones do not count.
    for _ in 0..5 {
        assert_eq!(form(port, SLOW_TOKEN, "name=Nobody").status, 400);
    }
    assert_eq!(
        form(port, SLOW_TOKEN, "name=A1&email=a1%40x.example").status,
        201
    );
    assert_eq!(
        form(port, SLOW_TOKEN, "name=A2&email=a2%40x.example").status,
        201
    );
    assert_eq!(
        form(port, SLOW_TOKEN, "name=A3&email=a3%40x.example").status,
        429
    );
    server.stop();
}

fn leads(home: &Home) -> Vec<Value> {
    let out = home.cli(&["export", "--format", "json"]);
    serde_json::from_str::<Value>(&out)
        .expect("JSON")
        .as_array()
        .expect("an array")
        .clone()
}

#[test]
fn a_posted_form_becomes_a_lead_once_and_reaches_open_clients() {
    let (home, server, port) = serving();
    let client = Client::connect(&home.store(), false).expect("connect");
    let changed = client.subscribe();
    let a = form(
        port,
        TOKEN,
        "First+Name=Ann&Last+Name=Lee&Email=ann%40x.example&utm_campaign=Spring&tags=vip",
    );
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.header("content-type"), Some("application/json"));
    let id = a.json()["id"].as_u64().expect("an id");
    assert_eq!(a.json()["created"], true);
    // An open client hears of it without asking.
    client.settle().expect("settle");
    assert!(
        changed.try_iter().any(|l| l == id),
        "the new lead reached the open client"
    );
    let all = leads(&home);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["name"], "Ann Lee");
    assert_eq!(all[0]["source"], "web-form", "the token's source");
    assert_eq!(all[0]["attributes"]["utm_campaign"], "Spring");
    // The same form sent again at once gets the first answer, and no second write.
    let again = form(
        port,
        TOKEN,
        "First+Name=Ann&Last+Name=Lee&Email=ann%40x.example&utm_campaign=Spring&tags=vip",
    );
    assert_eq!((again.status, again.json()["id"].as_u64()), (201, Some(id)));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    // The same person in another form is merged into her lead.
    let merged = form(
        port,
        TOKEN,
        "name=Ann+Lee&email=ANN%40x.example&company=Acme",
    );
    assert_eq!(merged.status, 200, "{}", merged.body);
    assert_eq!(merged.json()["id"].as_u64(), Some(id));
    assert_eq!(merged.json()["merged"], true);
    // An Idempotency-Key answers the same whatever the body.
    let key = |body: &str| {
        post(
            port,
            "/leads",
            &[
                &format!("Authorization: Bearer {TOKEN}"),
                "Idempotency-Key: order-77",
            ],
            body,
        )
    };
    let first = key("name=Bo&email=bo%40x.example");
    assert_eq!(first.status, 201);
    let retry = key("name=Bo&email=bo%40x.example");
    assert_eq!(retry.json()["id"], first.json()["id"]);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    // The same key on another post is the poster's mistake, said so: no lead is lost quietly.
    let reused = key("name=Bo+Second&email=bo2%40x.example");
    assert_eq!(reused.status, 422, "{}", reused.body);
    // JSON, with the token as a field.
    let json = post(
        port,
        "/leads",
        &["Content-Type: application/json"],
        &format!(r#"{{"token":"{TOKEN}","name":"Cy","phone":"+44 20 7946 0958"}}"#),
    );
    assert_eq!(json.status, 201, "{}", json.body);
    let all = leads(&home);
    assert_eq!(all.len(), 3, "Ann, Bo and Cy: {all:?}");
    let ann = all.iter().find(|l| l["name"] == "Ann Lee").expect("Ann");
    assert_eq!(ann["company"], "Acme", "the merge filled the company");
    drop(client);
    server.stop();
}

#[test]
fn refused_posts_get_their_status_and_leave_the_store_as_it_was() {
    let (home, server, port) = serving();
    assert_eq!(
        form(port, TOKEN, "name=Ann&email=ann%40x.example").status,
        201
    );
    let before = leads(&home);
    // No token, a wrong one.
    let none = post(port, "/leads", &[], "name=Bo&email=bo%40x.example");
    assert_eq!(none.status, 401);
    assert_eq!(none.json()["error"], "a missing or wrong token");
    assert_eq!(
        form(
            port,
            "wrong-wrong-wrong-wrong",
            "name=Bo&email=bo%40x.example"
        )
        .status,
        401
    );
    // Bad fields, each named as posted.
    let bad = form(port, TOKEN, "Name=Bo&Email+Address=nope&Phone=12ab");
    assert_eq!(bad.status, 400);
    let fields: Vec<String> = bad.json()["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fields, ["Email Address", "Phone"]);
    let owner = form(port, TOKEN, "name=Bo&email=bo%40x.example&owner=mallory");
    assert_eq!(owner.status, 400);
    assert_eq!(owner.json()["fields"][0]["field"], "owner");
    let source = form(port, TOKEN, "name=Bo&email=bo%40x.example&source=referral");
    assert_eq!(source.status, 400, "a token posts its own source only");
    let nothing = form(port, TOKEN, "name=Bo");
    assert_eq!(nothing.status, 400);
    assert!(
        nothing.body.contains("e-mail or a phone"),
        "{}",
        nothing.body
    );
    // Too big, declared or sent.
    let big = "x".repeat(70 * 1024);
    assert_eq!(form(port, TOKEN, &format!("name={big}")).status, 413);
    let chunked = format!(
        "POST /leads HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {TOKEN}\r\n\
         Transfer-Encoding: chunked\r\n\r\n{:x}\r\nname={big}\r\n0\r\n\r\n",
        big.len() + 5
    );
    assert_eq!(send(port, chunked.as_bytes()).status, 413);
    // Another kind of body; another path; another method.
    let xml = post(
        port,
        "/leads",
        &[
            &format!("Authorization: Bearer {TOKEN}"),
            "Content-Type: text/xml",
        ],
        "<lead/>",
    );
    assert_eq!(xml.status, 415);
    assert_eq!(post(port, "/admin", &[], "").status, 404);
    let get = send(
        port,
        b"GET /leads HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(get.status, 405);
    assert_eq!(get.header("allow"), Some("POST"));
    // Garbage is answered 400 by the HTTP layer, and nothing else happens.
    let garbage = send(
        port,
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    );
    assert_eq!(garbage.status, 400);
    assert_eq!(leads(&home), before, "nothing refused was written");
    // A flood from one token: its posts a minute, then 429 with when to come back.
    let ok = |i: usize| {
        form(
            port,
            SLOW_TOKEN,
            &format!("name=Ad{i}&email=ad{i}%40x.example"),
        )
    };
    assert_eq!(ok(1).status, 201);
    assert_eq!(ok(2).status, 201);
    let flood = ok(3);
    assert_eq!(flood.status, 429);
    assert!(flood.header("retry-after").is_some());
    assert_eq!(leads(&home).len(), before.len() + 2);
    // The other token is not slowed by it; health answers.
    assert_eq!(
        form(port, TOKEN, "name=Di&email=di%40x.example").status,
        201
    );
    let health = send(
        port,
        b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(
        (health.status, health.json()["status"].clone()),
        (200, "ok".into())
    );
    server.stop();
}

/// No internal error text and no request text reaches the poster or the log raw: a body of
/// escape sequences is answered with a message that holds none.
#[test]
fn hostile_text_is_answered_and_logged_without_control_characters() {
    let (home, server, port) = serving();
    let a = form(
        port,
        TOKEN,
        "name=%1B%5D0%3Bpwned%07&email=%1B%5B31m&%1B%5B2J=x",
    );
    assert_eq!(a.status, 400, "{}", a.body);
    let json: Value = a.json();
    let text = json.to_string();
    assert!(
        !text.contains('\u{1b}') && !text.contains("\\u001b"),
        "{text}"
    );
    let log = std::fs::read_to_string(home.path().join("state/leadq/server.log")).expect("log");
    assert!(
        log.contains("taking web leads on http://127.0.0.1:"),
        "{log}"
    );
    assert!(!log.chars().any(|c| c.is_control() && c != '\n'), "{log:?}");
    server.stop();
}

/// The server refuses to start on a token file others may read, or with no tokens, naming
/// the file and the fix.
#[test]
fn a_token_file_others_can_read_stops_the_server_with_the_fix() {
    let home = Home::new();
    let tokens = home.path().join("tokens.toml");
    // What a server started with this token file and address says as it stops.
    let stops = |http: &str| -> String {
        let out = home.run(&[
            "serve",
            "--foreground",
            "--http",
            http,
            "--tokens",
            tokens.to_str().unwrap(),
        ]);
        assert!(!out.status.success(), "the server started");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    std::fs::write(
        &tokens,
        format!("[[token]]\nsource = \"web\"\ntoken = \"{TOKEN}\"\n"),
    )
    .unwrap();
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = stops("127.0.0.1:1");
    assert!(
        err.contains("chmod 600") && err.contains("tokens.toml"),
        "{err}"
    );
    std::fs::write(&tokens, "").unwrap();
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = stops("127.0.0.1:1");
    assert!(
        err.contains("has no tokens") && err.contains("leadq intake token"),
        "{err}"
    );
    assert!(
        stops("localhost-ish").contains("--http"),
        "a bad address named"
    );
}

/// `leadq intake token` makes a token the server takes: a private file, one entry per call.
#[test]
fn intake_token_makes_a_private_file_the_server_reads() {
    let home = Home::new();
    let token = home.cli(&["intake", "token", "Web-Form", "--per-minute", "30"]);
    let token = token.trim();
    assert_eq!(token.len(), 32);
    let path = home.path().join("config/leadq/intake-tokens.toml");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let second = home.cli(&["intake", "token", "ads"]);
    assert_ne!(second.trim(), token);
    let parsed = leadq::intake::tokens::Tokens::load(&path).expect("the server reads it");
    assert_eq!(parsed.len(), 2);
    let entry = parsed.find(token).expect("the first token");
    assert_eq!(
        (entry.source.as_str(), entry.per_minute()),
        ("web-form", 30)
    );
}

mod fuzz {
    use super::*;
    use leadq::intake::listener::{IntakeOptions, Running, start};
    use leadq::intake::tokens::Tokens;
    use leadq::service::{Local, Settings};
    use leadq::store::Store;
    use proptest::prelude::*;

    /// A listener in this process over a temporary store.
    fn listening() -> (Local, Running) {
        let base = Local::new(Store::temporary().unwrap(), Settings::default()).unwrap();
        let tokens = Tokens::parse(&format!(
            "[[token]]\nsource = \"web-form\"\ntoken = \"{TOKEN}\"\nper_minute = 100000\n"
        ))
        .unwrap();
        let running = start(
            base.clone(),
            IntakeOptions {
                addr: "127.0.0.1:0".parse().unwrap(),
                tokens,
                max_body: 4096,
                country_code: "1".into(),
            },
            std::sync::Arc::new(|_: &str| {}),
        )
        .expect("listening");
        (base, running)
    }

    fn count(s: &Local) -> u64 {
        s.store().lead_count().unwrap() as u64
    }

    /// Sends raw bytes and reads what comes back (nothing, for bytes that are no request).
    fn raw(port: u16, bytes: &[u8]) -> Vec<u8> {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let _ = stream.write_all(bytes);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let mut out = Vec::new();
        let _ = stream.read_to_end(&mut out);
        out
    }

    fn healthy(port: u16) -> bool {
        send(
            port,
            b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .status
            == 200
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Any bytes: the listener answers or closes, keeps serving, and writes nothing.
        #[test]
        fn arbitrary_bytes_never_crash_the_listener_or_write(
            bytes in proptest::collection::vec(any::<u8>(), 0..600),
            prefix in prop_oneof![
                Just(String::new()),
                Just("POST /leads HTTP/1.1\r\n".to_string()),
                Just(format!("POST /leads HTTP/1.1\r\nAuthorization: Bearer {TOKEN}\r\n")),
            ],
        ) {
            let (base, running) = listening();
            let port = running.addr.port();
            let mut req = prefix.into_bytes();
            req.extend_from_slice(&bytes);
            raw(port, &req);
            prop_assert!(healthy(port));
            prop_assert_eq!(count(&base), 0);
        }

        /// Form bodies of arbitrary fields with a good token: a lead is written exactly when
        /// the answer says so (201 a new one, 200 merged), never otherwise.
        #[test]
        fn a_lead_is_written_exactly_when_the_answer_says_so(
            fields in proptest::collection::vec(
                (
                    prop_oneof![
                        Just("name".to_string()), Just("email".to_string()),
                        Just("phone".to_string()), Just("tags".to_string()),
                        Just("owner".to_string()), Just("utm_campaign".to_string()),
                        "[a-zA-Z _-]{0,12}",
                    ],
                    prop_oneof![
                        Just("a@x.example".to_string()), Just("+1 415 555 0100".to_string()),
                        "\\PC{0,20}", "[\\x00-\\x1f]{0,4}",
                    ],
                ),
                0..8,
            ),
            json in any::<bool>(),
        ) {
            let (base, running) = listening();
            let port = running.addr.port();
            let body = if json {
                let map: serde_json::Map<String, Value> = fields
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                Value::Object(map).to_string()
            } else {
                let mut s = form_urlencoded::Serializer::new(String::new());
                for (k, v) in &fields {
                    s.append_pair(k, v);
                }
                s.finish()
            };
            let kind = if json { "application/json" } else { "application/x-www-form-urlencoded" };
            let a = post(
                port,
                "/leads",
                &[&format!("Authorization: Bearer {TOKEN}"), &format!("Content-Type: {kind}")],
                &body,
            );
            let written = count(&base);
            match a.status {
                201 => prop_assert_eq!(written, 1),
                200 => prop_assert!(false, "nothing to merge into: {}", a.body),
                400 => {
                    prop_assert_eq!(written, 0);
                    prop_assert!(a.json()["error"].is_string());
                }
                other => prop_assert!(false, "status {} for {:?}: {}", other, body, a.body),
            }
            prop_assert!(!a.body.chars().any(char::is_control), "{:?}", a.body);
        }
    }
}
