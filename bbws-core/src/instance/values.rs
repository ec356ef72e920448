//! Value types of an instance, each parsed once at the edge (digest 2.7 §1.3, §2.7, §4.2).

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::ids::TenantId;

/// The short, stable slug used in every AWS and MySQL name of a tenant's resources (§4.2 REC,
/// §12 #9): 1–20 characters of `[a-z0-9]`, starting with a letter or digit. Names built from it
/// stay inside every limit that applies: the target group `bbws-{key}-tg` (≤ 32), the MySQL user
/// `t_{key}_user` (≤ 32), the database `tenant_{key}_db` (≤ 64), and it needs no quoting in MySQL
/// identifiers (no `-`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceKey(String);

impl ResourceKey {
    pub const MAX_LEN: usize = 20;

    pub fn parse(raw: &str) -> Result<Self> {
        let ok = (1..=Self::MAX_LEN).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::field(
                "resourceKey",
                "resourceKey must be 1-20 characters of lower-case letters and digits",
            ))
        }
    }

    /// The default key of a tenant: the first 12 hex digits of its UUID (`tenant-550e8400-e29b-…`
    /// → `550e8400e29b`). Uniqueness is enforced by a guard written with the instance.
    pub fn derive(tenant: &TenantId) -> Self {
        let hex: String = tenant
            .uuid()
            .simple()
            .to_string()
            .chars()
            .take(12)
            .collect();
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ResourceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ResourceKey {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// The size tier of an instance (§2.7; `plan` and `tier` are synonyms, `STARTER` ≡ `STANDARD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SizeTier {
    Standard,
    Professional,
    Enterprise,
}

impl SizeTier {
    pub const ALL: [SizeTier; 3] = [Self::Standard, Self::Professional, Self::Enterprise];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "STANDARD",
            Self::Professional => "PROFESSIONAL",
            Self::Enterprise => "ENTERPRISE",
        }
    }

    /// The Fargate task size of the tier (§2.7 REC table).
    pub fn task_size(self) -> TaskSize {
        let (cpu, memory) = match self {
            Self::Standard => (512, 1024),
            Self::Professional => (1024, 2048),
            Self::Enterprise => (2048, 4096),
        };
        TaskSize { cpu, memory }
    }
}

impl fmt::Display for SizeTier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SizeTier {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "STANDARD" | "STARTER" => Ok(Self::Standard),
            "PROFESSIONAL" => Ok(Self::Professional),
            "ENTERPRISE" => Ok(Self::Enterprise),
            _ => Err(Error::field(
                "tier",
                "Invalid tier. Must be STARTER, STANDARD, PROFESSIONAL or ENTERPRISE",
            )),
        }
    }
}

/// A Fargate task size: CPU units and memory in MiB, always one of Fargate's valid pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaskSize {
    cpu: u32,
    memory: u32,
}

impl TaskSize {
    /// The DEV/SIT cost override (§2.7): not a tier, a configuration.
    pub const SMALLEST: TaskSize = TaskSize {
        cpu: 256,
        memory: 512,
    };

    /// Validates a pair against Fargate's table: 256 → 512/1024/2048; 512 → 1024–4096;
    /// 1024 → 2048–8192; 2048 → 4096–16384; 4096 → 8192–30720 (1 GiB steps above 512 CPU).
    pub fn new(cpu: u32, memory: u32) -> Result<Self> {
        let valid = match cpu {
            256 => matches!(memory, 512 | 1024 | 2048),
            512 => (1024..=4096).contains(&memory) && memory.is_multiple_of(1024),
            1024 => (2048..=8192).contains(&memory) && memory.is_multiple_of(1024),
            2048 => (4096..=16384).contains(&memory) && memory.is_multiple_of(1024),
            4096 => (8192..=30720).contains(&memory) && memory.is_multiple_of(1024),
            _ => false,
        };
        if valid {
            Ok(Self { cpu, memory })
        } else {
            Err(Error::field(
                "memory",
                format!("{cpu} CPU units with {memory} MiB is not a valid Fargate task size"),
            ))
        }
    }

    pub fn cpu(self) -> u32 {
        self.cpu
    }

    pub fn memory(self) -> u32 {
        self.memory
    }
}

/// The number of tasks an instance runs: 2–10 by default (§1.3, §12 #3); a deployment may lower
/// the minimum to 1 (DEV `MIN_TASKS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DesiredCount(u32);

impl DesiredCount {
    pub const DEFAULT: DesiredCount = DesiredCount(2);
    pub const MAX: u32 = 10;

    /// `min` is the deployment's `MIN_TASKS` (2, or 1 in DEV).
    pub fn parse(n: i64, min: u32) -> Result<Self> {
        match u32::try_from(n) {
            Ok(v) if (min..=Self::MAX).contains(&v) => Ok(Self(v)),
            _ => Err(Error::field(
                "desiredCount",
                format!("desiredCount must be between {min} and {}", Self::MAX),
            )),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// An AWS Partner opportunity id (`bbws:opportunity` tag): 1–64 characters allowed in a tag value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OpportunityId(String);

impl OpportunityId {
    pub fn parse(raw: &str) -> Result<Self> {
        let s = raw.trim();
        let ok = (1..=64).contains(&s.len())
            && s.chars().all(|c| {
                c.is_ascii_alphanumeric()
                    || matches!(c, ' ' | '_' | '.' | ':' | '/' | '=' | '+' | '-' | '@')
            });
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(Error::field(
                "opportunityId",
                "opportunityId must be 1-64 characters valid in an AWS tag value",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn key_derives_from_the_tenant_uuid() {
        let t: TenantId = "tenant-550e8400-e29b-41d4-a716-446655440000"
            .parse()
            .expect("valid tenant id");
        assert_eq!(ResourceKey::derive(&t).as_str(), "550e8400e29b");
    }

    #[test]
    fn keys_refuse_what_aws_or_mysql_would() {
        for bad in [
            "",
            "Upper",
            "with-dash",
            "with_underscore",
            "a".repeat(21).as_str(),
            "é",
        ] {
            assert!(ResourceKey::parse(bad).is_err(), "{bad} should be refused");
        }
        assert!(ResourceKey::parse("goldencrust").is_ok());
    }

    #[test]
    fn tiers_map_to_valid_fargate_pairs() {
        for tier in SizeTier::ALL {
            let s = tier.task_size();
            assert_eq!(TaskSize::new(s.cpu(), s.memory()).ok(), Some(s));
        }
        assert_eq!("STARTER".parse::<SizeTier>().ok(), Some(SizeTier::Standard));
    }

    #[test]
    fn fargate_table_edges() {
        assert!(TaskSize::new(256, 512).is_ok());
        assert!(TaskSize::new(256, 4096).is_err());
        assert!(TaskSize::new(512, 512).is_err());
        assert!(TaskSize::new(512, 4096).is_ok());
        assert!(TaskSize::new(1024, 2500).is_err());
        assert!(TaskSize::new(4096, 30720).is_ok());
        assert!(TaskSize::new(8000, 16384).is_err());
    }

    proptest! {
        #[test]
        fn derived_keys_always_parse(u in any::<u128>()) {
            let t = TenantId::from_uuid(uuid::Uuid::from_u128(u));
            let k = ResourceKey::derive(&t);
            prop_assert_eq!(ResourceKey::parse(k.as_str()).ok(), Some(k));
        }

        #[test]
        fn desired_count_range(n in -5i64..20) {
            prop_assert_eq!(DesiredCount::parse(n, 2).is_ok(), (2..=10).contains(&n));
        }
    }
}
