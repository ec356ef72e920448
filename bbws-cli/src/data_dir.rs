//! The data directory: the store file, the JWT signing secret (mode 0600) and the event log.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use bbws_core::Error;

/// The signing secret's file name.
pub const SECRET_FILE: &str = "jwt-secret";

fn io_err(what: &str, path: &Path, e: &std::io::Error) -> Error {
    Error::Storage(format!("{what} {}: {e}", path.display()))
}

pub fn ensure(dir: &Path) -> Result<(), Error> {
    fs::create_dir_all(dir).map_err(|e| io_err("cannot create", dir, &e))
}

/// Reads the signing secret, creating it (32 random bytes, hex, mode 0600) on first use.
/// A secret others can read is refused: anyone who reads it can mint tokens.
pub fn secret(dir: &Path) -> Result<Vec<u8>, Error> {
    ensure(dir)?;
    let path = dir.join(SECRET_FILE);
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    let hex = bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
        s
    });
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
    {
        Ok(mut f) => {
            f.write_all(hex.as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(|e| io_err("cannot write", &path, &e))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_err("cannot create", &path, &e)),
    }
    let mode = fs::metadata(&path)
        .map_err(|e| io_err("cannot read", &path, &e))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(Error::Storage(format!(
            "{} is readable by other users (mode {:o}); run `chmod 600` on it",
            path.display(),
            mode & 0o777
        )));
    }
    let secret = fs::read_to_string(&path).map_err(|e| io_err("cannot read", &path, &e))?;
    let secret = secret.trim();
    if secret.len() < 32 {
        return Err(Error::Storage(format!(
            "{} is too short to be a signing secret",
            path.display()
        )));
    }
    Ok(secret.as_bytes().to_vec())
}
