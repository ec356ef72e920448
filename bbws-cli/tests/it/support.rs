use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_bbws");

/// Runs `bbws` with arguments and returns its output.
pub fn bbws(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run bbws")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

/// A running `bbws serve`, killed with SIGKILL when dropped.
pub struct Server {
    child: Child,
    pub url: String,
}

impl Server {
    /// Starts the server and returns once it printed its address, i.e. once it accepts connections.
    pub fn start(dir: &Path) -> Self {
        Self::start_with(dir, &[], &[])
    }

    /// [`Server::start`] with more arguments and environment variables.
    pub fn start_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(BIN)
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .args(args)
            .envs(env.iter().copied())
            .env("LOG_LEVEL", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn bbws serve");
        let out = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(out)
            .read_line(&mut line)
            .expect("read the listening line");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .expect("listening line")
            .to_owned();
        Self { child, url }
    }

    /// `kill -TERM` and wait: the server shuts down gracefully (the event relay drains first).
    pub fn terminate(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let exit = self.child.wait().expect("reap");
        assert!(exit.success(), "bbws serve exited with {exit}");
    }

    /// `kill -9`: no shutdown handler runs.
    pub fn kill9(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn token(dir: &Path, sub: &str, groups: &str, tenant_ids: &str) -> String {
    let o = Command::new(BIN)
        .args([
            "token",
            "issue",
            "--sub",
            sub,
            "--email",
            &format!("{sub}@bbws.test"),
            "--groups",
            groups,
        ])
        .args(["--tenant-ids", tenant_ids, "--data-dir"])
        .arg(dir)
        .output()
        .expect("token issue");
    assert!(
        o.status.success(),
        "token issue failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    stdout(&o)
}
