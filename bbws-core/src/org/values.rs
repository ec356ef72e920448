//! Value types of the organisation domain, each parsed once at the edge.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorCode, Result};
use crate::ids::{DivisionId, GroupId, IdGenerator, TeamId};

/// The name of a division, group or team: 2–50 characters (LLD §5.8, BRS US-6) of letters,
/// digits, spaces and `- _ ' & . ( )`. Surrounding space is trimmed and inner runs of space
/// collapse to one. Names are unique within their parent regardless of letter case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnitName(String);

impl UnitName {
    pub const MIN: usize = 2;
    pub const MAX: usize = 50;

    pub fn parse(raw: &str) -> Result<Self> {
        Self::parse_field(raw, "name")
    }

    pub fn parse_field(raw: &str, field: &str) -> Result<Self> {
        let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        let len = name.chars().count();
        if !(Self::MIN..=Self::MAX).contains(&len) {
            return Err(Error::field(
                field,
                format!("{field} must be between 2 and 50 characters"),
            ));
        }
        let allowed = |c: char| {
            c.is_alphanumeric()
                || matches!(
                    c,
                    ' ' | '-' | '_' | '\'' | '\u{2019}' | '&' | '.' | '(' | ')'
                )
        };
        if !name.chars().all(allowed) {
            return Err(Error::field(
                field,
                format!("{field} contains invalid characters"),
            ));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key of the uniqueness guard within the parent.
    pub fn unique_key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for UnitName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user's identifier: the identity provider's subject (`sub`, C15). 1–128 visible characters,
/// no `#` (it separates key parts).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId(String);

impl UserId {
    pub fn parse(raw: &str) -> Result<Self> {
        let s = raw.trim();
        let ok = (1..=128).contains(&s.chars().count())
            && s.chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && c != '#');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(Error::field(
                "userId",
                "Invalid user id: 1-128 visible characters without '#'",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The level of a node in the hierarchy (max depth 3, OM §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnitKind {
    Division,
    Group,
    Team,
}

impl UnitKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Division => "DIVISION",
            Self::Group => "GROUP",
            Self::Team => "TEAM",
        }
    }

    /// The word used in messages.
    pub const fn noun(self) -> &'static str {
        match self {
            Self::Division => "Division",
            Self::Group => "Group",
            Self::Team => "Team",
        }
    }

    pub const fn not_found_code(self) -> ErrorCode {
        match self {
            Self::Division => ErrorCode::DivisionNotFound,
            Self::Group => ErrorCode::GroupNotFound,
            Self::Team => ErrorCode::TeamNotFound,
        }
    }
}

impl fmt::Display for UnitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a node sits: its own id and its ancestors' ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UnitPath {
    Division(DivisionId),
    Group(DivisionId, GroupId),
    Team(DivisionId, GroupId, TeamId),
}

impl UnitPath {
    pub const fn kind(self) -> UnitKind {
        match self {
            Self::Division(_) => UnitKind::Division,
            Self::Group(..) => UnitKind::Group,
            Self::Team(..) => UnitKind::Team,
        }
    }

    /// The node's own id, e.g. `grp-…`.
    pub fn id_string(self) -> String {
        match self {
            Self::Division(d) => d.to_string(),
            Self::Group(_, g) => g.to_string(),
            Self::Team(_, _, t) => t.to_string(),
        }
    }

    pub const fn parent(self) -> Parent {
        match self {
            Self::Division(_) => Parent::Tenant,
            Self::Group(d, _) => Parent::Division(d),
            Self::Team(d, g, _) => Parent::Group(d, g),
        }
    }

    /// This node as the parent of its children; a team has none.
    pub const fn as_parent(self) -> Option<Parent> {
        match self {
            Self::Division(d) => Some(Parent::Division(d)),
            Self::Group(d, g) => Some(Parent::Group(d, g)),
            Self::Team(..) => None,
        }
    }

    pub const fn division(self) -> DivisionId {
        match self {
            Self::Division(d) | Self::Group(d, _) | Self::Team(d, _, _) => d,
        }
    }

    pub const fn team(self) -> Option<TeamId> {
        match self {
            Self::Team(_, _, t) => Some(t),
            _ => None,
        }
    }

    /// Whether `other` is this node or lies below it.
    pub fn contains(self, other: Self) -> bool {
        match (self, other) {
            (Self::Division(a), o) => o.division() == a,
            (Self::Group(a, b), Self::Group(c, d) | Self::Team(c, d, _)) => a == c && b == d,
            (Self::Team(..), o) => self == o,
            (Self::Group(..), Self::Division(_)) => false,
        }
    }

    /// The not-found error for this node.
    pub fn not_found(self) -> Error {
        let kind = self.kind();
        Error::business(
            kind.not_found_code(),
            format!("{} {} not found", kind.noun(), self.id_string()),
        )
    }
}

/// The parent a node is created under: the tenant itself, a division or a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Parent {
    Tenant,
    Division(DivisionId),
    Group(DivisionId, GroupId),
}

impl Parent {
    pub const fn child_kind(self) -> UnitKind {
        match self {
            Self::Tenant => UnitKind::Division,
            Self::Division(_) => UnitKind::Group,
            Self::Group(..) => UnitKind::Team,
        }
    }

    /// The parent as a node, unless it is the tenant.
    pub const fn as_unit(self) -> Option<UnitPath> {
        match self {
            Self::Tenant => None,
            Self::Division(d) => Some(UnitPath::Division(d)),
            Self::Group(d, g) => Some(UnitPath::Group(d, g)),
        }
    }

    /// A new child with a fresh id.
    pub fn new_child(self, ids: &dyn IdGenerator) -> UnitPath {
        match self {
            Self::Tenant => UnitPath::Division(DivisionId::generate(ids)),
            Self::Division(d) => UnitPath::Group(d, GroupId::generate(ids)),
            Self::Group(d, g) => UnitPath::Team(d, g, TeamId::generate(ids)),
        }
    }

    /// The key part naming the parent: `ROOT`, `{divisionId}` or `{divisionId}#{groupId}`.
    pub fn key(self) -> String {
        match self {
            Self::Tenant => "ROOT".to_owned(),
            Self::Division(d) => d.to_string(),
            Self::Group(d, g) => format!("{d}#{g}"),
        }
    }
}

/// The status of an invitation (digest §4.3; `CANCELLED` per C11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Declined,
    Expired,
    Cancelled,
}

impl InvitationStatus {
    pub const ALL: [Self; 5] = [
        Self::Pending,
        Self::Accepted,
        Self::Declined,
        Self::Expired,
        Self::Cancelled,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Accepted => "ACCEPTED",
            Self::Declined => "DECLINED",
            Self::Expired => "EXPIRED",
            Self::Cancelled => "CANCELLED",
        }
    }
}

impl fmt::Display for InvitationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InvitationStatus {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                Error::field(
                    "status",
                    "Invalid status. Must be PENDING, ACCEPTED, DECLINED, EXPIRED or CANCELLED",
                )
            })
    }
}

/// An invitation token: 256 random bits, base64url without padding (43 characters). It is the
/// credential of the public endpoints; only its [`TokenHash`] is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct InvitationToken(String);

impl fmt::Debug for InvitationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InvitationToken(<redacted>)")
    }
}

impl InvitationToken {
    const LEN: usize = 43;

    /// A fresh token from the operating system's random source.
    pub fn generate() -> Result<Self> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| Error::Internal(format!("no randomness for a token: {e}")))?;
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// A token received from a caller. Anything that is not a token is answered like a token
    /// that matches no invitation.
    pub fn parse(raw: &str) -> Result<Self> {
        let ok = raw.len() == Self::LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && URL_SAFE_NO_PAD.decode(raw).is_ok_and(|b| b.len() == 32);
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(invitation_not_found())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        let digest = Sha256::digest(self.0.as_bytes());
        TokenHash(digest.iter().fold(String::with_capacity(64), |mut s, b| {
            use std::fmt::Write as _;
            let _ = write!(s, "{b:02x}");
            s
        }))
    }
}

/// The SHA-256 of a token, lower-case hex: what is stored and looked up.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(String);

impl TokenHash {
    /// A stored hash (64 lower-case hex digits).
    pub fn parse(raw: &str) -> Result<Self> {
        if raw.len() == 64 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::field("tokenHash", "Invalid token hash"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub(crate) fn invitation_not_found() -> Error {
    Error::business(ErrorCode::InvitationNotFound, "Invitation not found")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn unit_names() {
        assert_eq!(
            UnitName::parse("  Sales   EMEA ").expect("ok").as_str(),
            "Sales EMEA"
        );
        assert_eq!(
            UnitName::parse("R&D (Core)").expect("ok").unique_key(),
            "r&d (core)"
        );
        for bad in ["A", "  ", "a#b", "<b>", "a/b", &"x".repeat(51)] {
            assert!(UnitName::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(
            UnitName::parse("tab\there")
                .expect("whitespace collapses")
                .as_str(),
            "tab here"
        );
    }

    #[test]
    fn tokens_are_random_and_hash_stably() {
        let a = InvitationToken::generate().expect("token");
        let b = InvitationToken::generate().expect("token");
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 43);
        assert_eq!(InvitationToken::parse(a.as_str()).expect("parses"), a);
        assert_eq!(a.hash(), a.clone().hash());
        assert_ne!(a.hash(), b.hash());
        assert_eq!(TokenHash::parse(a.hash().as_str()).expect("hex"), a.hash());
        assert!(!format!("{a:?}").contains(a.as_str()), "tokens never print");
        for bad in ["", "short", &"a".repeat(44), &"*".repeat(43)] {
            assert_eq!(
                InvitationToken::parse(bad).expect_err("refused").code(),
                ErrorCode::InvitationNotFound
            );
        }
    }

    #[test]
    fn paths_contain_their_subtree() {
        let d = DivisionId::from_uuid(uuid::Uuid::from_u128(1));
        let d2 = DivisionId::from_uuid(uuid::Uuid::from_u128(2));
        let g = GroupId::from_uuid(uuid::Uuid::from_u128(3));
        let t = TeamId::from_uuid(uuid::Uuid::from_u128(4));
        assert!(UnitPath::Division(d).contains(UnitPath::Team(d, g, t)));
        assert!(!UnitPath::Division(d2).contains(UnitPath::Team(d, g, t)));
        assert!(UnitPath::Group(d, g).contains(UnitPath::Team(d, g, t)));
        assert!(!UnitPath::Group(d, g).contains(UnitPath::Division(d)));
        assert_eq!(UnitPath::Team(d, g, t).parent(), Parent::Group(d, g));
        assert_eq!(Parent::Group(d, g).child_kind(), UnitKind::Team);
    }

    proptest! {
        #[test]
        fn unit_name_normalisation_is_idempotent_and_case_blind(s in "\\PC{0,60}") {
            if let Ok(n) = UnitName::parse(&s) {
                prop_assert_eq!(UnitName::parse(n.as_str()).ok(), Some(n.clone()));
                prop_assert_eq!(n.unique_key(), n.as_str().to_lowercase());
                let upper = UnitName::parse(&n.as_str().to_uppercase());
                if let Ok(u) = upper {
                    // Same name in another case claims the same guard key, unless upper-casing
                    // changed the letters themselves (e.g. 'ß' → "SS").
                    if u.as_str().chars().count() == n.as_str().chars().count() {
                        prop_assert_eq!(u.unique_key(), n.as_str().to_uppercase().to_lowercase());
                    }
                }
                prop_assert!(!n.as_str().contains('#'));
                prop_assert!(!n.as_str().starts_with(' ') && !n.as_str().ends_with(' '));
                prop_assert!(!n.as_str().contains("  "));
            }
        }

        #[test]
        fn spacing_and_case_variants_share_one_key(
            words in prop::collection::vec("[a-zA-Z0-9]{1,8}", 1..4),
            pad in " {0,3}",
        ) {
            let plain = words.join(" ");
            prop_assume!((2..=50).contains(&plain.chars().count()));
            let spaced = format!("{pad}{}{pad}", words.join(&format!(" {pad}")));
            let a = UnitName::parse(&plain).expect("valid");
            let b = UnitName::parse(&spaced.to_uppercase()).expect("valid");
            prop_assert_eq!(a.unique_key(), b.unique_key());
        }

        #[test]
        fn token_parse_never_panics(s in "\\PC{0,60}") {
            let _ = InvitationToken::parse(&s);
        }
    }
}
