//! The tenant's Cognito user pool as an operator sees and changes it (digest 2.7 C18, C19; §6
//! "Identity get / configure").
//!
//! C18 reads the pool live ([`IdentityConfig`]): ids, domain, password policy and MFA, never
//! the app client's secret. C19 accepts a change ([`IdentityChange`]: a password policy and/or
//! an MFA setting) as a `CONFIGURE_IDENTITY` operation; the engine applies it with a
//! read-modify-write of the pool (`UpdateUserPool` resets every setting it is not given) and
//! `SetUserPoolMfaConfig`.
//!
//! The API names MFA `OFF | OPTIONAL | REQUIRED`; Cognito's value for `REQUIRED` is `ON`.

use crate::error::{Error, FieldError, Result};
use crate::time::Timestamp;

use super::model::Instance;
use super::operation::StepName;
use super::ports::{MfaConfiguration, PasswordPolicy};

impl MfaConfiguration {
    /// The API's name: `OFF`, `OPTIONAL` or `REQUIRED` (Cognito's `ON`).
    pub const fn api_name(self) -> &'static str {
        match self {
            Self::Off => "OFF",
            Self::Optional => "OPTIONAL",
            Self::On => "REQUIRED",
        }
    }

    /// Parses the API's name (`OFF`, `OPTIONAL`, `REQUIRED`); `field` names it in the error.
    pub fn parse_api(raw: &str, field: &str) -> Result<Self> {
        match raw {
            "OFF" => Ok(Self::Off),
            "OPTIONAL" => Ok(Self::Optional),
            "REQUIRED" => Ok(Self::On),
            other => Err(Error::field(
                field,
                format!("{field} must be OFF, OPTIONAL or REQUIRED, not {other}"),
            )),
        }
    }

    /// Parses Cognito's name (`OFF`, `OPTIONAL`, `ON`).
    pub fn parse_aws(raw: &str) -> Option<Self> {
        match raw {
            "OFF" => Some(Self::Off),
            "OPTIONAL" => Some(Self::Optional),
            "ON" => Some(Self::On),
            _ => None,
        }
    }
}

/// The shortest and longest password a policy may ask for (Cognito's bounds).
pub const PASSWORD_LENGTH: std::ops::RangeInclusive<u8> = 8..=99;

/// A change of the pool's password policy: the rules given are set, the others (and the
/// temporary password validity, and anything else the pool's policy holds) stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PasswordPolicyChange {
    pub minimum_length: Option<u8>,
    pub require_uppercase: Option<bool>,
    pub require_lowercase: Option<bool>,
    pub require_numbers: Option<bool>,
    pub require_symbols: Option<bool>,
}

impl PasswordPolicyChange {
    /// Checks the rules: the length within [`PASSWORD_LENGTH`], at least one rule given.
    pub fn new(
        minimum_length: Option<i64>,
        require_uppercase: Option<bool>,
        require_lowercase: Option<bool>,
        require_numbers: Option<bool>,
        require_symbols: Option<bool>,
    ) -> Result<Self> {
        let minimum_length = match minimum_length {
            None => None,
            Some(n) => Some(
                u8::try_from(n)
                    .ok()
                    .filter(|n| PASSWORD_LENGTH.contains(n))
                    .ok_or_else(|| {
                        Error::field(
                            "passwordPolicy.minimumLength",
                            format!(
                                "minimumLength must be between {} and {}",
                                PASSWORD_LENGTH.start(),
                                PASSWORD_LENGTH.end()
                            ),
                        )
                    })?,
            ),
        };
        let change = Self {
            minimum_length,
            require_uppercase,
            require_lowercase,
            require_numbers,
            require_symbols,
        };
        if change == Self::default() {
            return Err(Error::field(
                "passwordPolicy",
                "passwordPolicy must set at least one of minimumLength, requireUppercase, requireLowercase, requireNumbers, requireSymbols",
            ));
        }
        Ok(change)
    }

    /// `current` with the given rules set.
    #[must_use]
    pub fn apply(&self, current: &PasswordPolicy) -> PasswordPolicy {
        PasswordPolicy {
            minimum_length: self.minimum_length.unwrap_or(current.minimum_length),
            require_uppercase: self.require_uppercase.unwrap_or(current.require_uppercase),
            require_lowercase: self.require_lowercase.unwrap_or(current.require_lowercase),
            require_numbers: self.require_numbers.unwrap_or(current.require_numbers),
            require_symbols: self.require_symbols.unwrap_or(current.require_symbols),
            temporary_password_validity_days: current.temporary_password_validity_days,
        }
    }
}

/// C19: what a `CONFIGURE_IDENTITY` operation applies. At least one part is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityChange {
    pub password_policy: Option<PasswordPolicyChange>,
    pub mfa: Option<MfaConfiguration>,
}

impl IdentityChange {
    pub fn new(
        password_policy: Option<PasswordPolicyChange>,
        mfa: Option<MfaConfiguration>,
    ) -> Result<Self> {
        if password_policy.is_none() && mfa.is_none() {
            return Err(Error::fields(vec![FieldError::new(
                "body",
                "Give passwordPolicy, mfaConfiguration or both",
            )]));
        }
        Ok(Self {
            password_policy,
            mfa,
        })
    }

    /// The steps that carry the change out, in order.
    pub fn steps(&self) -> Vec<StepName> {
        let mut steps = Vec::new();
        if self.password_policy.is_some() {
            steps.push(StepName::ConfigurePasswordPolicy);
        }
        if self.mfa.is_some() {
            steps.push(StepName::ConfigureMfa);
        }
        steps
    }
}

/// A user pool's settings as Cognito answers them now (`DescribeUserPool`,
/// `GetUserPoolMfaConfig`). Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPoolSettings {
    pub id: String,
    pub arn: Option<String>,
    pub name: String,
    /// The hosted UI's domain prefix, if the pool has one.
    pub domain: Option<String>,
    pub password_policy: PasswordPolicy,
    pub mfa: MfaConfiguration,
}

/// C18: the instance's identity configuration, read live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityConfig {
    pub instance: Instance,
    pub user_pool_id: String,
    pub user_pool_arn: Option<String>,
    /// The WordPress app client (its id only: the secret never leaves the Cognito secret).
    pub client_id: Option<String>,
    pub domain: Option<String>,
    pub password_policy: PasswordPolicy,
    pub mfa: MfaConfiguration,
    pub checked_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_is_cognitos_on_and_nothing_else_is_accepted() {
        assert_eq!(
            MfaConfiguration::parse_api("REQUIRED", "mfa").expect("valid"),
            MfaConfiguration::On
        );
        assert_eq!(MfaConfiguration::On.as_str(), "ON");
        assert_eq!(MfaConfiguration::On.api_name(), "REQUIRED");
        for bad in ["ON", "required", "", "SMS"] {
            assert!(MfaConfiguration::parse_api(bad, "mfa").is_err(), "{bad}");
        }
        for m in [
            MfaConfiguration::Off,
            MfaConfiguration::Optional,
            MfaConfiguration::On,
        ] {
            assert_eq!(MfaConfiguration::parse_aws(m.as_str()), Some(m));
            assert_eq!(
                MfaConfiguration::parse_api(m.api_name(), "mfa").expect("round trip"),
                m
            );
        }
    }

    #[test]
    fn a_policy_change_sets_only_the_rules_given() {
        for n in [7, 100, -1, 256] {
            assert!(
                PasswordPolicyChange::new(Some(n), None, None, None, None).is_err(),
                "{n}"
            );
        }
        assert!(PasswordPolicyChange::new(None, None, None, None, None).is_err());
        let change =
            PasswordPolicyChange::new(Some(12), None, Some(false), None, None).expect("valid");
        let current = PasswordPolicy {
            temporary_password_validity_days: 3,
            ..PasswordPolicy::default()
        };
        let next = change.apply(&current);
        assert_eq!(next.minimum_length, 12);
        assert!(!next.require_lowercase);
        assert!(next.require_uppercase && next.require_numbers && next.require_symbols);
        assert_eq!(next.temporary_password_validity_days, 3);
        for edge in [8, 99] {
            PasswordPolicyChange::new(Some(edge), None, None, None, None).expect("in bounds");
        }
    }

    #[test]
    fn a_change_needs_a_part_and_runs_one_step_per_part() {
        assert!(IdentityChange::new(None, None).is_err());
        let mfa = IdentityChange::new(None, Some(MfaConfiguration::On)).expect("valid");
        assert_eq!(mfa.steps(), [StepName::ConfigureMfa]);
        let both = IdentityChange::new(
            Some(PasswordPolicyChange {
                require_symbols: Some(false),
                ..PasswordPolicyChange::default()
            }),
            Some(MfaConfiguration::Off),
        )
        .expect("valid");
        assert_eq!(
            both.steps(),
            [StepName::ConfigurePasswordPolicy, StepName::ConfigureMfa]
        );
    }
}
