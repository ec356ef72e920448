//! Value types of a tenant, each parsed once at the edge (digest 2.5 §2.1, §6.1).

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// An organisation name: 2–100 characters (BR-TEN-002) of letters, digits, spaces, hyphens and
/// apostrophes (BR-TEN-003). Leading and trailing space is trimmed and inner runs of spaces
/// collapse to one, so "Acme  Corp" and "Acme Corp" are the same name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrganizationName(String);

impl OrganizationName {
    pub fn parse(raw: &str) -> Result<Self> {
        Self::parse_field(raw, "organizationName")
    }

    pub fn parse_field(raw: &str, field: &str) -> Result<Self> {
        let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        let len = name.chars().count();
        if !(2..=100).contains(&len) {
            return Err(Error::field(
                field,
                "Organization name must be between 2 and 100 characters",
            ));
        }
        let allowed = |c: char| c.is_alphanumeric() || matches!(c, ' ' | '-' | '\'' | '\u{2019}');
        if !name.chars().all(allowed) {
            return Err(Error::field(
                field,
                "Organization name contains invalid characters",
            ));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key of the uniqueness guard: names are unique regardless of letter case (C35).
    pub fn unique_key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for OrganizationName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An e-mail address (BR-USER-005): the pragmatic subset of RFC 5322 that mail systems deliver to:
/// `local@domain`, local part 1–64 characters of atext and dots, a domain of at least two
/// dot-separated labels of letters, digits and hyphens, 254 characters at most.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self> {
        Self::parse_field(raw, "email")
    }

    pub fn parse_field(raw: &str, field: &str) -> Result<Self> {
        let s = raw.trim();
        if Self::valid(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(Error::field(field, "Invalid email format"))
        }
    }

    fn valid(s: &str) -> bool {
        let Some((local, domain)) = s.rsplit_once('@') else {
            return false;
        };
        let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
        let local_ok = (1..=64).contains(&local.len())
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.chars().all(|c| atext(c) || c == '.');
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = s.len() <= 254
            && labels.len() >= 2
            && labels.iter().all(|l| {
                (1..=63).contains(&l.len())
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            && labels
                .last()
                .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
        local_ok && domain_ok
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Addresses compare without regard to letter case.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The deployment environment of a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Environment {
    Dev,
    Sit,
    Prod,
}

impl Environment {
    pub const ALL: [Environment; 3] = [Self::Dev, Self::Sit, Self::Prod];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Dev => "dev",
            Self::Sit => "sit",
            Self::Prod => "prod",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Environment {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| {
                Error::field(
                    "environment",
                    "Invalid environment. Must be dev, sit or prod",
                )
            })
    }
}

/// A division, group or team label on a tenant: 2–50 characters, trimmed, no control characters
/// (LLD §5.8).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnitLabel(String);

impl UnitLabel {
    pub fn parse(raw: &str, field: &str) -> Result<Self> {
        let s = raw.trim();
        let len = s.chars().count();
        if !(2..=50).contains(&len) {
            return Err(Error::field(
                field,
                format!("{field} must be between 2 and 50 characters"),
            ));
        }
        if s.chars().any(char::is_control) {
            return Err(Error::field(
                field,
                format!("{field} contains invalid characters"),
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UnitLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The reason given for a park (BR-PARK-003, 10–500 characters) or a suspension (BR-STATUS-002,
/// OA2 `minLength: 10`; the same upper bound is kept).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reason(String);

impl Reason {
    pub const MIN: usize = 10;
    pub const MAX: usize = 500;

    /// `what` names the action in the message, e.g. "Park reason".
    pub fn parse(raw: Option<&str>, what: &str) -> Result<Self> {
        let Some(s) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
            return Err(Error::field("reason", format!("{what} is required")));
        };
        let len = s.chars().count();
        if !(Self::MIN..=Self::MAX).contains(&len) {
            return Err(Error::field(
                "reason",
                format!(
                    "{what} must be between {} and {} characters",
                    Self::MIN,
                    Self::MAX
                ),
            ));
        }
        if s.chars().any(|c| c.is_control() && c != '\n') {
            return Err(Error::field(
                "reason",
                format!("{what} contains invalid characters"),
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn organization_names() {
        assert_eq!(
            OrganizationName::parse("  Acme   Corp ")
                .expect("ok")
                .as_str(),
            "Acme Corp"
        );
        assert_eq!(
            OrganizationName::parse("O'Brien-Smith 2")
                .expect("ok")
                .unique_key(),
            "o'brien-smith 2"
        );
        assert!(OrganizationName::parse("Café Zoë").is_ok());
        for bad in [
            "A",
            " ",
            "<script>",
            "Acme; DROP TABLE",
            "a_b",
            &"x".repeat(101),
        ] {
            assert!(OrganizationName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn emails() {
        for ok in ["a@b.co", "first.last+tag@sub.example.org", "ADMIN@BBWS.IO"] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a",
            "a@b",
            "@b.co",
            "a@.co",
            "a..b@c.co",
            "a@b.c",
            "a b@c.co",
            "a@-b.co",
            "a@b.co.",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reasons() {
        assert!(Reason::parse(Some("too short"), "Park reason").is_err());
        assert!(Reason::parse(None, "Park reason").is_err());
        assert!(Reason::parse(Some("Customer requested a pause"), "Park reason").is_ok());
        assert!(Reason::parse(Some(&"x".repeat(501)), "Park reason").is_err());
    }

    proptest! {
        #[test]
        fn organization_name_parse_never_panics_and_is_idempotent(s in "\\PC{0,120}") {
            if let Ok(n) = OrganizationName::parse(&s) {
                prop_assert_eq!(OrganizationName::parse(n.as_str()).ok(), Some(n.clone()));
                prop_assert_eq!(n.unique_key(), n.as_str().to_lowercase());
            }
        }

        #[test]
        fn email_parse_never_panics(s in "\\PC{0,80}") {
            let _ = Email::parse(&s);
        }
    }
}
