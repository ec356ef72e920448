//! Time: a millisecond-precision UTC [`Timestamp`] and the [`Clock`] port.

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

use chrono::{DateTime, Duration, SubsecRound, Utc};

use crate::error::{Error, Result};

/// An instant in UTC with millisecond precision, rendered as RFC 3339 with `Z`
/// (`2026-01-05T14:30:00.000Z`). The rendering is fixed-width, so it sorts as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    pub fn from_datetime(dt: DateTime<Utc>) -> Self {
        Self(dt.trunc_subsecs(3))
    }

    /// Milliseconds since the Unix epoch.
    pub fn from_millis(ms: i64) -> Option<Self> {
        DateTime::from_timestamp_millis(ms).map(Self)
    }

    pub fn millis(self) -> i64 {
        self.0.timestamp_millis()
    }

    pub fn datetime(self) -> DateTime<Utc> {
        self.0
    }

    /// This instant plus a (possibly negative) duration.
    #[must_use]
    pub fn plus(self, d: std::time::Duration) -> Self {
        let d = Duration::from_std(d).unwrap_or(Duration::MAX);
        Self(
            self.0
                .checked_add_signed(d)
                .unwrap_or(DateTime::<Utc>::MAX_UTC)
                .trunc_subsecs(3),
        )
    }

    /// The next representable instant (one millisecond later).
    #[must_use]
    pub fn next(self) -> Self {
        Self(self.0 + Duration::milliseconds(1))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%dT%H:%M:%S%.3fZ"))
    }
}

impl FromStr for Timestamp {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        DateTime::parse_from_rfc3339(s)
            .map(|d| Self::from_datetime(d.with_timezone(&Utc)))
            .map_err(|_| Error::field("timestamp", format!("Invalid RFC 3339 timestamp: {s}")))
    }
}

/// The source of "now". Services never read the system clock directly.
pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_datetime(Utc::now())
    }
}

/// A clock that only moves when told to: for tests of expiry.
#[derive(Debug)]
pub struct ManualClock(Mutex<Timestamp>);

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        Self(Mutex::new(start))
    }

    pub fn advance(&self, d: std::time::Duration) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *now = now.plus(d);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_rfc3339_with_millis_and_z() {
        let t: Timestamp = "2026-01-05T14:30:00.123456+02:00".parse().expect("valid");
        assert_eq!(t.to_string(), "2026-01-05T12:30:00.123Z");
        assert_eq!(t.to_string().parse::<Timestamp>().expect("round trip"), t);
        assert_eq!(t.next().to_string(), "2026-01-05T12:30:00.124Z");
    }
}
