//! Web intake under load: a real `leadq serve --http`, 20 posters each on its own keep-alive
//! connection posting distinct form leads as fast as the answers come; every 201 means the
//! lead is on disk (the write is flushed before the answer). Prints throughput, p50/p99/max
//! latency, and the server's memory after all posts. First, how soon an open client (a TUI)
//! hears of a posted lead: from the 201 to the lead's id on its subscription, 20 times.
//!
//! `cargo bench --bench intake` (POSTS=100000 POSTERS=20 to change the load; ROUTED=1 routes
//! every lead by a round-robin rule of four reps).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

const TOKEN: &str = "benchbenchbenchbenchbenchbench00";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Reads one answer on a keep-alive connection: its status.
fn answer(reader: &mut BufReader<TcpStream>) -> u16 {
    let mut line = String::new();
    reader.read_line(&mut line).expect("status line");
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut length = 0usize;
    loop {
        line.clear();
        reader.read_line(&mut line).expect("header");
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some(v) = l.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).expect("body");
    status
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let posts = env_usize("POSTS", 20_000);
    let posters = env_usize("POSTERS", 20);
    let home = tempfile::tempdir().expect("home");
    let store = home.path().join("store");
    let config = home.path().join("config/leadq");
    std::fs::create_dir_all(&config).unwrap();
    let tokens = config.join("intake-tokens.toml");
    std::fs::write(
        &tokens,
        format!("[[token]]\nsource = \"web-form\"\ntoken = \"{TOKEN}\"\nper_minute = 100000000\n"),
    )
    .unwrap();
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o600)).unwrap();
    if std::env::var("ROUTED").is_ok() {
        std::fs::write(
            config.join("routing.toml"),
            "[[rule]]\nname = \"web\"\nteam = [\"alice\", \"bob\", \"carol\", \"dmitri\"]\n",
        )
        .unwrap();
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let mut server = common::leadq(home.path(), &store)
        .env_remove("LEADQ_SERVER")
        .args(["serve", "--foreground", "--idle-exit", "0", "--http"])
        .arg(format!("127.0.0.1:{port}"))
        .spawn()
        .expect("start leadq serve");
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(60), "no server");
        std::thread::sleep(Duration::from_millis(20));
    }
    // How soon an open client hears of a posted lead.
    {
        use leadq::service::LeadService;
        // The socket comes up just after the HTTP listener.
        let client = loop {
            match leadq::remote::client::Client::connect(&store, false) {
                Ok(c) => break c,
                Err(_) if start.elapsed() < Duration::from_secs(60) => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("no client: {e}"),
            }
        };
        let heard = client.subscribe();
        let mut waits = Vec::new();
        for i in 0..20 {
            let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
            let mut writer = stream.try_clone().unwrap();
            let mut reader = BufReader::new(stream);
            let body = format!("name=Probe+{i}&email=probe{i}%40bench.example");
            let req = format!(
                "POST /leads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
                 Content-Length: {}\r\n\r\n{body}",
                body.len()
            );
            let sent = Instant::now();
            writer.write_all(req.as_bytes()).unwrap();
            assert_eq!(answer(&mut reader), 201);
            let answered = sent.elapsed();
            heard
                .recv_timeout(Duration::from_secs(5))
                .expect("the client hears of the lead");
            waits.push((sent.elapsed(), answered));
        }
        let mut heard_at: Vec<Duration> = waits.iter().map(|w| w.0).collect();
        let mut answered_at: Vec<Duration> = waits.iter().map(|w| w.1).collect();
        heard_at.sort_unstable();
        answered_at.sort_unstable();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "one post at a time: the 201 after {:.2} ms (median), an open client has heard of \
             the lead {:.2} ms after the post was sent (median; max {:.2} ms)",
            ms(answered_at[answered_at.len() / 2]),
            ms(heard_at[heard_at.len() / 2]),
            ms(*heard_at.last().unwrap())
        );
    }
    let per = posts / posters;
    let began = Instant::now();
    let handles: Vec<_> = (0..posters)
        .map(|p| {
            std::thread::spawn(move || {
                let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
                stream.set_nodelay(true).unwrap();
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                let mut latencies = Vec::with_capacity(per);
                for i in 0..per {
                    let body = format!(
                        "name=Poster+{p}+Lead+{i}&email=p{p}.l{i}%40bench.example&company=Acme&utm_campaign=load"
                    );
                    let req = format!(
                        "POST /leads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
                         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    let t = Instant::now();
                    writer.write_all(req.as_bytes()).expect("send");
                    let status = answer(&mut reader);
                    latencies.push(t.elapsed());
                    assert_eq!(status, 201, "post {i} of poster {p}");
                }
                latencies
            })
        })
        .collect();
    let mut all: Vec<Duration> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("poster"))
        .collect();
    let elapsed = began.elapsed();
    all.sort_unstable();
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    let pid = server.id();
    println!(
        "intake: {} posts by {posters} posters in {:.1} s: {:.0} leads/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        all.len(),
        elapsed.as_secs_f64(),
        all.len() as f64 / elapsed.as_secs_f64(),
        at(0.5).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0,
        all.last().unwrap().as_secs_f64() * 1000.0,
    );
    println!("server memory after the posts: {} MB", rss_kb(pid) / 1024);
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = server.wait();
    let out = common::leadq(home.path(), &store)
        .args(["doctor"])
        .output()
        .expect("doctor");
    let report = String::from_utf8_lossy(&out.stdout);
    println!(
        "leads in the store: {}",
        report
            .lines()
            .find(|l| l.contains("leads,"))
            .unwrap_or("?")
            .trim()
    );
}
