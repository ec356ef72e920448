//! One MariaDB server per test binary, from Debian's `mariadb-server` (installed by
//! `scripts/test` when missing): a private data directory in a temp dir, a free loopback TCP
//! port, `root` without a password. It never relies on a system service, and it dies with this
//! process: it runs under `sh`, which waits on its standard input (a pipe from us) and kills the
//! server when the pipe closes, however this binary ends.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

struct MariaDb {
    port: u16,
    _dir: tempfile::TempDir,
    _child: Child,
    _stdin: ChildStdin,
}

static MARIADB: OnceLock<MariaDb> = OnceLock::new();

fn find(names: &[&str]) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"] {
        for n in names {
            let p = Path::new(dir).join(n);
            if p.exists() {
                return p;
            }
        }
    }
    panic!(
        "none of {names:?} is installed: run scripts/test (it installs Debian's mariadb-server)"
    );
}

fn start() -> MariaDb {
    let dir = tempfile::tempdir().expect("a temp dir");
    let data = dir.path().join("data");
    let root = is_root();
    let mut install = Command::new(find(&["mariadb-install-db", "mysql_install_db"]));
    install
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .arg("--auth-root-authentication-method=normal")
        .arg("--skip-test-db")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if root {
        install.arg("--user=root");
    }
    let out = install.output().expect("mariadb-install-db runs");
    assert!(
        out.status.success(),
        "mariadb-install-db failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let server = find(&["mariadbd", "mysqld"]);
    let mut args = vec![
        "--no-defaults".to_owned(),
        format!("--datadir={}", data.display()),
        format!("--socket={}", dir.path().join("mysqld.sock").display()),
        format!("--pid-file={}", dir.path().join("mysqld.pid").display()),
        format!("--port={port}"),
        "--bind-address=127.0.0.1".to_owned(),
        "--skip-name-resolve".to_owned(),
        format!("--log-error={}", dir.path().join("error.log").display()),
    ];
    if root {
        args.push("--user=root".to_owned());
    }
    // `sh -c 'server & pid=$!; cat >/dev/null; kill $pid'`: the server goes when stdin closes.
    let script = r#"server="$1"; shift; "$server" "$@" & pid=$!; cat >/dev/null; kill "$pid" 2>/dev/null; wait "$pid""#;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("mariadb-for-tests")
        .arg(&server)
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mariadbd starts");
    let stdin = child.stdin.take().expect("piped stdin");
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + Duration::from_mins(1);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Some(status) = child.try_wait().expect("child status") {
            let log = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
            panic!("mariadbd exited with {status} before listening:\n{log}");
        }
        assert!(
            Instant::now() < deadline,
            "mariadbd did not listen on {addr} within 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    MariaDb {
        port,
        _dir: dir,
        _child: child,
        _stdin: stdin,
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `127.0.0.1:{port}` of this binary's MariaDB (root, no password), started on first use.
pub fn endpoint() -> String {
    format!("127.0.0.1:{}", MARIADB.get_or_init(start).port)
}
