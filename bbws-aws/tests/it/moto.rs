//! One moto server per test binary, from the project's virtualenv (`$BBWS_VENV`, else
//! `<workspace>/.venv`, made by `scripts/python-env`), started through `scripts/moto-server` on a
//! free loopback port. Self-contained (std only), so other crates' tests include it with
//! `#[path]`.

use std::io::Read as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The moto server of this test binary. It exits when this process does: its stdin is a pipe
/// from us, and `scripts/moto-server` exits when that pipe closes.
struct Moto {
    endpoint: String,
    _child: Child,
    _stdin: ChildStdin,
}

static MOTO: OnceLock<Moto> = OnceLock::new();

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate sits in the workspace")
        .to_owned()
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// The project's virtualenv (`$BBWS_VENV`, else `<workspace>/.venv`).
pub fn venv() -> PathBuf {
    std::env::var_os("BBWS_VENV").map_or_else(|| workspace_root().join(".venv"), PathBuf::from)
}

fn start_moto() -> Moto {
    let root = workspace_root();
    let venv = venv();
    let python = venv.join("bin/python");
    assert!(
        venv.join("bin/moto_server").exists(),
        "moto is not installed in {}: run scripts/python-env (it installs moto[server] from \
         scripts/requirements-test.txt)",
        venv.display()
    );
    let port = free_port();
    let mut child = Command::new(&python)
        .arg(root.join("scripts/moto-server"))
        .args([
            "--exit-with-stdin",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
    let stdin = child.stdin.take().expect("piped stdin");
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    // Readiness probe: the port accepts connections; give up after 30 s.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            break;
        }
        if let Some(status) = child.try_wait().expect("child status") {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("moto exited with {status} before listening:\n{err}");
        }
        assert!(
            Instant::now() < deadline,
            "moto did not listen on {addr} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Its log is not needed once it runs; keep the pipe from filling up.
    if let Some(mut e) = child.stderr.take() {
        std::thread::spawn(move || std::io::copy(&mut e, &mut std::io::sink()));
    }
    Moto {
        endpoint: format!("http://{addr}"),
        _child: child,
        _stdin: stdin,
    }
}

/// The endpoint of this binary's moto server, started on first use.
pub fn endpoint() -> &'static str {
    &MOTO.get_or_init(start_moto).endpoint
}
