//! Idempotency keys (decision C26): the same key with the same request replays the first result;
//! the same key with another request is refused. Records live 24 hours.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::tenant::Tenant;
use crate::time::Timestamp;

/// How long a key is remembered.
pub const IDEMPOTENCY_TTL: Duration = Duration::from_hours(24);

/// A client-chosen key: 1–255 printable ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self> {
        let ok = (1..=255).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::field(
                "Idempotency-Key",
                "Idempotency-Key must be 1-255 printable ASCII characters",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The stored key: scoped to the operation and the caller, so two callers never share a
    /// record (nor learn of each other's).
    pub fn scoped(&self, operation: &str, caller: &str) -> String {
        let mut h = Sha256::new();
        for part in [operation, caller, self.0.as_str()] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        hex(&h.finalize())
    }
}

/// The hash of a request's canonical form.
pub fn request_fingerprint(canonical: &str) -> String {
    hex(&Sha256::digest(canonical.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// What the first request produced.
#[derive(Debug, Clone, PartialEq)]
pub enum IdempotentOutcome {
    /// The tenant as it was created (the first response is rendered from this snapshot).
    TenantCreated(Tenant),
}

/// A remembered request.
#[derive(Debug, Clone, PartialEq)]
pub struct IdempotencyRecord {
    /// [`IdempotencyKey::scoped`].
    pub key: String,
    pub fingerprint: String,
    pub outcome: IdempotentOutcome,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}
