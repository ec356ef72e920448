//! Cursor pagination (decision C5): `limit` 1–100 (default 20) and an opaque `nextToken`.
//!
//! A token is `base64url(payload) . base64url(check)`, where the payload names the listing it
//! belongs to, a fingerprint of the query, and the backend's position (for DynamoDB, its
//! `LastEvaluatedKey`). A token that was altered, or used with another query, is a 400.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// A page size, 1–100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Limit(u32);

impl Limit {
    pub const MAX: u32 = 100;
    pub const DEFAULT: Limit = Limit(20);

    pub fn new(n: u32) -> Result<Self> {
        if (1..=Self::MAX).contains(&n) {
            Ok(Self(n))
        } else {
            Err(Error::field("limit", "limit must be between 1 and 100"))
        }
    }

    pub fn get(self) -> usize {
        self.0 as usize
    }
}

impl Default for Limit {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// An opaque continuation token, checked for integrity when parsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor(String);

const CHECK_DOMAIN: &[u8] = b"bbws-cursor-v1";

fn check(payload: &str) -> String {
    let mut h = Sha256::new();
    h.update(CHECK_DOMAIN);
    h.update(payload.as_bytes());
    URL_SAFE_NO_PAD.encode(&h.finalize()[..12])
}

fn bad_token() -> Error {
    Error::field("nextToken", "Invalid pagination token")
}

impl Cursor {
    /// Seals a backend position for the listing `kind` under the query fingerprint `query`.
    pub fn seal(kind: &str, query: &str, position: &Value) -> Self {
        let payload =
            URL_SAFE_NO_PAD.encode(json!({"k": kind, "q": query, "p": position}).to_string());
        let check = check(&payload);
        Self(format!("{payload}.{check}"))
    }

    /// Parses a token received from a caller; an altered token is refused here.
    pub fn parse(token: &str) -> Result<Self> {
        let (payload, sum) = token.split_once('.').ok_or_else(bad_token)?;
        if token.len() > 4096 || check(payload) != sum {
            return Err(bad_token());
        }
        Ok(Self(token.to_owned()))
    }

    /// Opens the token for the listing `kind` and query fingerprint `query`, returning the position.
    pub fn open(&self, kind: &str, query: &str) -> Result<Value> {
        let (payload, _) = self.0.split_once('.').ok_or_else(bad_token)?;
        let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| bad_token())?;
        let v: Value = serde_json::from_slice(&bytes).map_err(|_| bad_token())?;
        if v.get("k").and_then(Value::as_str) != Some(kind)
            || v.get("q").and_then(Value::as_str) != Some(query)
        {
            return Err(Error::field(
                "nextToken",
                "Pagination token does not belong to this query",
            ));
        }
        v.get("p").cloned().ok_or_else(bad_token)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What page the caller asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: Limit,
    pub cursor: Option<Cursor>,
}

/// One page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }
}

/// A short, stable fingerprint of a query's parameters, for [`Cursor::seal`].
pub fn fingerprint(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    URL_SAFE_NO_PAD.encode(&h.finalize()[..9])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn limits() {
        assert!(Limit::new(0).is_err());
        assert!(Limit::new(101).is_err());
        assert_eq!(Limit::new(100).expect("ok").get(), 100);
        assert_eq!(Limit::default().get(), 20);
    }

    #[test]
    fn cursor_round_trip_and_binding() {
        let c = Cursor::seal("tenants", "q1", &json!({"after": "x"}));
        let parsed = Cursor::parse(c.as_str()).expect("intact");
        assert_eq!(
            parsed.open("tenants", "q1").expect("open"),
            json!({"after": "x"})
        );
        assert!(parsed.open("tenants", "q2").is_err());
        assert!(parsed.open("audit", "q1").is_err());
    }

    proptest! {
        #[test]
        fn any_altered_token_is_refused(i in 0usize..200, c in prop::char::range('-', 'z')) {
            let token = Cursor::seal("tenants", "q", &json!({"after": "2026-01-01T00:00:00.000Z#tenant-x"})).0;
            let i = i % token.len();
            let mut altered: Vec<char> = token.chars().collect();
            prop_assume!(altered[i] != c);
            altered[i] = c;
            let altered: String = altered.into_iter().collect();
            prop_assert!(Cursor::parse(&altered).is_err());
        }

        #[test]
        fn garbage_never_panics(s in "\\PC{0,200}") {
            let _ = Cursor::parse(&s).map(|c| c.open("tenants", "q"));
        }
    }
}
