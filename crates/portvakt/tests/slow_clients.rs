//! Black-box: slow and idle clients are cut off by the limits of docs/limits.md
//! (header, body and idle timeouts, the connection caps), HTTP/2 still works, and
//! SIGTERM still finishes what is in flight. Raw sockets, short limits set by flags.

mod common;
use common::*;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A server with no tenants and these flags.
fn server(tag: &str, flags: &[&str]) -> Server {
    Server::start_in(&temp_dir(tag), flags).expect("server starts")
}

fn addr(url: &str) -> String {
    url.trim_start_matches("http://").to_string()
}

fn connect(srv: &Server) -> TcpStream {
    let s = TcpStream::connect(addr(&srv.url)).expect("connect");
    s.set_nodelay(true).expect("nodelay");
    s
}

/// What a read saw within `within`.
#[derive(Debug, PartialEq)]
enum Seen {
    /// EOF or reset: the server closed the connection.
    Closed,
    /// Bytes (the start of a response).
    Data(Vec<u8>),
    /// Nothing: still open.
    Nothing,
}

fn read_once(s: &mut TcpStream, within: Duration) -> Seen {
    s.set_read_timeout(Some(within)).expect("timeout");
    let mut buf = [0u8; 4096];
    match s.read(&mut buf) {
        Ok(0) => Seen::Closed,
        Ok(n) => Seen::Data(buf[..n].to_vec()),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Seen::Nothing,
        Err(_) => Seen::Closed,
    }
}

/// Wait until the server closes `s` (discarding anything it sends first); the time
/// from `since`. Panics if it is still open `limit` after `since`.
fn closed_after(s: &mut TcpStream, since: Instant, limit: Duration) -> Duration {
    loop {
        let left = limit.saturating_sub(since.elapsed());
        assert!(
            !left.is_zero(),
            "the connection is still open {limit:?} later"
        );
        match read_once(s, left) {
            Seen::Closed => return since.elapsed(),
            Seen::Data(_) => {}
            Seen::Nothing => panic!("the connection is still open {limit:?} later"),
        }
    }
}

/// One complete response (headers and Content-Length body) as text.
fn read_response(s: &mut TcpStream, within: Duration) -> String {
    let start = Instant::now();
    let mut got = Vec::new();
    loop {
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().expect("length"))
                .unwrap_or(0);
            if got.len() >= end + 4 + len {
                return String::from_utf8_lossy(&got).into_owned();
            }
        }
        let left = within.saturating_sub(start.elapsed());
        assert!(
            !left.is_zero(),
            "no complete response within {within:?}: {got:?}"
        );
        match read_once(s, left) {
            Seen::Data(d) => got.extend_from_slice(&d),
            other => panic!("no complete response ({other:?}): {got:?}"),
        }
    }
}

const HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n";

fn get_health(s: &mut TcpStream) -> String {
    s.write_all(HEALTH).expect("write");
    let res = read_response(s, Duration::from_secs(5));
    assert!(res.starts_with("HTTP/1.1 200"), "{res}");
    res
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

#[test]
fn half_a_header_then_silence_is_closed_at_the_header_timeout() {
    let srv = server(
        "halfhead",
        &["--header-timeout", "1", "--idle-timeout", "30"],
    );
    let mut s = connect(&srv);
    let t0 = Instant::now();
    s.write_all(b"GET /health HTTP/1.1\r\nHost: loc")
        .expect("write");
    let t = closed_after(&mut s, t0, secs(3.0));
    assert!(
        t >= secs(0.8),
        "closed after {t:?}, before the 1 s header timeout"
    );
}

#[test]
fn a_connection_that_sends_nothing_is_closed_at_the_header_timeout() {
    let srv = server(
        "nothing",
        &["--header-timeout", "1", "--idle-timeout", "30"],
    );
    let mut s = connect(&srv);
    let t = closed_after(&mut s, Instant::now(), secs(3.0));
    assert!(t >= secs(0.8), "closed after {t:?}");
}

#[test]
fn a_header_dripped_byte_by_byte_is_closed_at_the_header_timeout() {
    let srv = server("drip", &["--header-timeout", "2", "--idle-timeout", "30"]);
    let mut s = connect(&srv);
    let t0 = Instant::now();
    let header = format!(
        "GET /health HTTP/1.1\r\nHost: localhost\r\nX-Pad: {}",
        "a".repeat(200)
    );
    // A byte every 200 ms: each arrives well within any per-read limit, the whole
    // header would take 40 s.
    let closed = header.bytes().find_map(|b| {
        if s.write_all(&[b]).is_err() {
            return Some(t0.elapsed());
        }
        match read_once(&mut s, secs(0.2)) {
            Seen::Nothing => None,
            _ => Some(t0.elapsed()),
        }
    });
    let t = closed.expect("still open after the whole header was dripped");
    assert!(
        t >= secs(1.8) && t <= secs(4.0),
        "closed after {t:?}; the header timeout is 2 s"
    );
}

#[test]
fn a_dripped_body_is_cut_off_at_the_body_timeout() {
    let srv = Server::start_with(&[
        "--header-timeout",
        "1",
        "--body-timeout",
        "3",
        "--idle-timeout",
        "30",
    ])
    .expect("server starts");
    let mut s = connect(&srv);
    s.write_all(
        b"POST /contoso/oauth2/token HTTP/1.1\r\nHost: localhost\r\n\
          Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n",
    )
    .expect("write headers");
    let t0 = Instant::now();
    let mut answer = None;
    let mut closed = None;
    for _ in 0..100 {
        if s.write_all(b"a").is_err() {
            closed = Some(t0.elapsed());
            break;
        }
        match read_once(&mut s, secs(0.25)) {
            Seen::Nothing => {}
            Seen::Data(d) => {
                answer = Some(String::from_utf8_lossy(&d).into_owned());
                closed = Some(t0.elapsed());
                break;
            }
            Seen::Closed => {
                closed = Some(t0.elapsed());
                break;
            }
        }
    }
    let t = closed.expect("still open after 25 s of body dripping");
    if let Some(a) = answer {
        assert!(a.starts_with("HTTP/1.1 408"), "a 408 or a close: {a}");
    }
    assert!(
        t >= secs(2.7) && t <= secs(5.0),
        "cut off after {t:?}; the body timeout is 3 s (and the header timeout 1 s)"
    );
}

#[test]
fn an_idle_keep_alive_connection_is_closed_at_the_idle_timeout_not_the_header_timeout() {
    let srv = server("idle", &["--header-timeout", "1", "--idle-timeout", "3"]);
    let mut s = connect(&srv);
    get_health(&mut s);
    let t0 = Instant::now();
    // Still usable after longer than the header timeout.
    std::thread::sleep(secs(1.5));
    get_health(&mut s);
    let t1 = Instant::now();
    let t = closed_after(&mut s, t1, secs(5.0));
    assert!(
        t >= secs(2.7),
        "closed {t:?} after the last response; the idle timeout is 3 s ({:?} in all)",
        t0.elapsed()
    );
}

#[test]
fn after_an_idle_spell_half_a_header_gets_the_header_timeout() {
    let srv = server(
        "idlehead",
        &["--header-timeout", "1", "--idle-timeout", "20"],
    );
    let mut s = connect(&srv);
    get_health(&mut s);
    std::thread::sleep(secs(1.5));
    let t0 = Instant::now();
    s.write_all(b"GET /health HTTP/1.1\r\nHo").expect("write");
    let t = closed_after(&mut s, t0, secs(3.0));
    assert!(t >= secs(0.8), "closed after {t:?}");
}

#[test]
fn at_the_connection_cap_a_new_connection_waits_until_one_closes() {
    let srv = server(
        "cap",
        &[
            "--max-connections",
            "4",
            "--header-timeout",
            "30",
            "--idle-timeout",
            "30",
        ],
    );
    let mut open: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut s = connect(&srv);
            get_health(&mut s);
            s
        })
        .collect();
    // The fifth is let in by the kernel (listen backlog) but not served.
    let mut fifth = connect(&srv);
    fifth.write_all(HEALTH).expect("write");
    assert_eq!(
        read_once(&mut fifth, secs(1.5)),
        Seen::Nothing,
        "the fifth connection must wait"
    );
    drop(open.remove(0));
    let res = read_response(&mut fifth, secs(3.0));
    assert!(res.starts_with("HTTP/1.1 200"), "{res}");
    drop(fifth);
    drop(open);
    let mut again = connect(&srv);
    get_health(&mut again);
}

#[test]
fn over_the_per_address_cap_a_connection_is_closed_at_once() {
    let srv = server(
        "peraddr",
        &[
            "--max-connections-per-address",
            "2",
            "--header-timeout",
            "30",
            "--idle-timeout",
            "30",
        ],
    );
    let mut a = connect(&srv);
    get_health(&mut a);
    let mut b = connect(&srv);
    get_health(&mut b);
    let mut c = connect(&srv);
    let t = closed_after(&mut c, Instant::now(), secs(2.0));
    assert!(t < secs(1.0), "closed after {t:?}");
    drop(a);
    std::thread::sleep(secs(0.2));
    let mut d = connect(&srv);
    get_health(&mut d);
    get_health(&mut b);
}

/// One HTTP/2 frame: (type, flags, stream, payload).
fn read_frame(s: &mut TcpStream) -> Option<(u8, u8, u32, Vec<u8>)> {
    s.set_read_timeout(Some(secs(10.0))).expect("timeout");
    let mut head = [0u8; 9];
    s.read_exact(&mut head).ok()?;
    let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
    let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
    let mut payload = vec![0u8; len];
    s.read_exact(&mut payload).ok()?;
    Some((head[3], head[4], stream, payload))
}

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).expect("len").to_be_bytes();
    let mut f = vec![len[1], len[2], len[3], kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

#[test]
fn http2_with_prior_knowledge_is_served_and_an_idle_h2_connection_gets_goaway() {
    let srv = server("h2", &["--header-timeout", "1", "--idle-timeout", "3"]);
    let mut s = connect(&srv);
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    out.extend(frame(0x4, 0, 0, &[])); // SETTINGS
                                       // HEADERS, END_STREAM | END_HEADERS: GET http://127.0.0.1/health (HPACK: indexed
                                       // :method GET, :scheme http; literal :path, :authority).
    let mut block = vec![0x82, 0x86, 0x44, 7];
    block.extend_from_slice(b"/health");
    block.extend_from_slice(&[0x41, 9]);
    block.extend_from_slice(b"127.0.0.1");
    out.extend(frame(0x1, 0x5, 1, &block));
    s.write_all(&out).expect("write");
    let mut status_ok = false;
    let mut done_at = None;
    while let Some((kind, flags, stream, payload)) = read_frame(&mut s) {
        match kind {
            0x4 if flags & 0x1 == 0 => s.write_all(&frame(0x4, 0x1, 0, &[])).expect("ack"),
            0x1 if stream == 1 => status_ok = payload.first() == Some(&0x88), // :status 200
            0x0 if stream == 1 && flags & 0x1 != 0 => {
                done_at = Some(Instant::now());
                break;
            }
            _ => {}
        }
    }
    assert!(status_ok, "an HTTP/2 200 for GET /health");
    let done = done_at.expect("the response body ended");
    let mut goaway_at = None;
    while let Some((kind, ..)) = read_frame(&mut s) {
        if kind == 0x7 {
            goaway_at = Some(done.elapsed());
        }
    }
    let closed = done.elapsed();
    let g = goaway_at.expect("GOAWAY before the close");
    assert!(
        g >= secs(2.7) && closed <= secs(6.0),
        "GOAWAY after {g:?}, closed after {closed:?}; the idle timeout is 3 s"
    );
}

/// The binary started directly, to read all of its stdout.
struct Direct {
    child: std::process::Child,
    url: String,
    /// The rest of stdout, once the process has exited.
    rest: std::thread::JoinHandle<String>,
}

/// Start the binary with the example import and `flags`.
fn spawn(dir: &std::path::Path, flags: &[&str]) -> Direct {
    use std::io::{BufRead, BufReader};
    let f = dir.join("import.json");
    std::fs::write(&f, serde_json::to_vec(&example_import()).expect("json")).expect("write");
    let mut cmd = Command::new(BIN);
    if let Some(url) = common::database_url(dir) {
        cmd.env("PORTVAKT_DATABASE_URL", url);
    }
    let mut child = cmd
        .arg("serve")
        .arg("--data")
        .arg(dir.join("data"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--import",
            f.to_str().expect("utf8"),
        ])
        .args(flags)
        .env("PORTVAKT_LOG", "warn")
        .env_remove("PORTVAKT_MASTER_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let url = loop {
        let line = rx.recv_timeout(secs(60.0)).expect("server starts");
        if let Some(u) = line.strip_prefix("Portvakt listening on ") {
            break u.trim().to_string();
        }
    };
    while !rx
        .recv_timeout(secs(60.0))
        .expect("ready")
        .contains("ready in")
    {}
    let rest = std::thread::spawn(move || rx.iter().collect::<Vec<_>>().join("\n"));
    Direct { child, url, rest }
}

fn sigterm(child: &std::process::Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
}

/// Wait up to `limit` for the process to exit.
fn exits_within(
    child: &mut std::process::Child,
    limit: Duration,
) -> Option<std::process::ExitStatus> {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if let Some(st) = child.try_wait().expect("wait") {
            return Some(st);
        }
        std::thread::sleep(secs(0.05));
    }
    None
}

#[test]
fn sigterm_answers_a_request_in_flight_and_exits_0() {
    let dir = temp_dir("termflight");
    let Direct {
        mut child,
        url,
        rest,
    } = spawn(&dir, &[]);
    let mut s = TcpStream::connect(addr(&url)).expect("connect");
    let body = "grant_type=client_credentials&scope=api%3A%2F%2Fanalytics%2F.default";
    let auth = base64_basic("bench", SECRET);
    let head = format!(
        "POST /contoso/oauth2/token HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic {auth}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).expect("headers");
    s.write_all(&body.as_bytes()[..10]).expect("half a body");
    std::thread::sleep(secs(0.3));
    sigterm(&child);
    std::thread::sleep(secs(0.5));
    assert!(
        child.try_wait().expect("wait").is_none(),
        "the server waits for the request in flight"
    );
    assert!(
        TcpStream::connect(addr(&url)).is_err(),
        "no new connections after SIGTERM"
    );
    s.write_all(&body.as_bytes()[10..])
        .expect("rest of the body");
    let res = read_response(&mut s, secs(5.0));
    assert!(res.starts_with("HTTP/1.1 200"), "{res}");
    assert!(res.contains("access_token"), "{res}");
    let status = exits_within(&mut child, secs(5.0)).expect("exits once the request is answered");
    assert!(status.success(), "{status:?}");
    let out = rest.join().expect("stdout");
    assert!(out.contains("Portvakt stopped"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_slow_client_cannot_hold_up_shutdown() {
    let dir = temp_dir("termslow");
    let Direct {
        mut child,
        url,
        rest,
    } = spawn(&dir, &["--header-timeout", "2", "--idle-timeout", "60"]);
    let mut idle = TcpStream::connect(addr(&url)).expect("connect");
    get_health(&mut idle);
    let mut slow = TcpStream::connect(addr(&url)).expect("connect");
    slow.write_all(b"GET /health HTTP/1.1\r\nHo")
        .expect("write");
    let t0 = Instant::now();
    sigterm(&child);
    let status = exits_within(&mut child, secs(5.0))
        .expect("exits: the half-sent header is cut off at the header timeout");
    assert!(status.success(), "{status:?}");
    assert!(t0.elapsed() < secs(4.0), "exited after {:?}", t0.elapsed());
    let out = rest.join().expect("stdout");
    assert!(out.contains("Portvakt stopped"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn limits_come_from_the_config_file_and_bad_values_stop_the_server() {
    let files = temp_dir("limitcfg");
    let cfg = files.join("portvakt.toml");
    std::fs::write(
        &cfg,
        "header_timeout = 1\nidle_timeout = 7\nbody_timeout = 9\nmax_connections = 50\nmax_connections_per_address = 0\n",
    )
    .expect("write");
    let srv = server(
        "limitcfg1",
        &[
            "--config",
            cfg.to_str().expect("utf8"),
            "--body-timeout",
            "8",
        ],
    );
    assert!(
        srv.stdout.iter().any(|l| l.contains(
            "50 connections (no cap per address), timeouts: header 1 s, body 8 s, idle 7 s"
        )),
        "the file sets them, the flag wins: {:?}",
        srv.stdout
    );
    let mut s = connect(&srv);
    s.write_all(b"GET /").expect("write");
    let t = closed_after(&mut s, Instant::now(), secs(3.0));
    assert!(t >= secs(0.8), "{t:?}");
    drop(srv);
    let bad = temp_dir("limitbad");
    let err = Server::start_in(&bad, &["--header-timeout", "0"])
        .err()
        .expect("must not start");
    assert!(
        err.contains("--header-timeout") && err.contains("1 to"),
        "{err}"
    );
    let err = Server::start_in(&bad, &["--max-connections", "0"])
        .err()
        .expect("must not start");
    assert!(err.contains("--max-connections"), "{err}");
    let _ = std::fs::remove_dir_all(&bad);
    let _ = std::fs::remove_dir_all(&files);
}

fn base64_basic(id: &str, secret: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
}

#[test]
fn an_oversized_request_head_is_refused_with_431_and_a_normal_one_passes() {
    let srv = server("bighead", &[]);
    let ask = |extra: usize| {
        let mut s = connect(&srv);
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let pad = "a".repeat(extra);
        let req = format!(
            "GET /health/live HTTP/1.1\r\nHost: x\r\nX-Pad: {pad}\r\nConnection: close\r\n\r\n"
        );
        // The server may answer and close before all of an oversized head is written.
        let _ = s.write_all(req.as_bytes());
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    };
    let small = ask(16 * 1024);
    assert!(
        small.starts_with("HTTP/1.1 200"),
        "{}",
        &small[..small.len().min(200)]
    );
    let big = ask(80 * 1024);
    assert!(
        big.starts_with("HTTP/1.1 431"),
        "{}",
        &big[..big.len().min(200)]
    );
}
