//! Time: a millisecond-precision UTC [`Timestamp`] and the [`Clock`] port.

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

use chrono::{DateTime, Datelike as _, Duration, SubsecRound, Timelike as _, Utc};

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
        // Every stored and returned item carries several timestamps: write the fixed layout
        // digit by digit rather than through chrono's format-string interpreter.
        let (d, t) = (self.0.date_naive(), self.0.time());
        let Ok(year) = u32::try_from(d.year()) else {
            return write!(f, "{}", self.0.format("%Y-%m-%dT%H:%M:%S%.3fZ"));
        };
        if year > 9999 {
            return write!(f, "{}", self.0.format("%Y-%m-%dT%H:%M:%S%.3fZ"));
        }
        // A leap second shows as second 60, as chrono renders it.
        let (sec, milli) = match t.nanosecond() / 1_000_000 {
            ms @ 0..1000 => (t.second(), ms),
            ms => (t.second() + 1, ms - 1000),
        };
        let mut buf = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, width: usize, mut v: u32| {
            for i in (at..at + width).rev() {
                buf[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, 4, year);
        put(5, 2, d.month());
        put(8, 2, d.day());
        put(11, 2, t.hour());
        put(14, 2, t.minute());
        put(17, 2, sec);
        put(20, 3, milli);
        // The buffer holds ASCII digits and separators only.
        f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
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

    fn chrono_rendering(t: Timestamp) -> String {
        t.datetime().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    }

    proptest::proptest! {
        /// The digit-by-digit rendering is chrono's, across years 0000 to 9999 and beyond.
        #[test]
        fn renders_as_chrono_does(ms in -62_167_219_200_000_i64..=253_402_300_799_999_i64 * 2) {
            if let Some(t) = Timestamp::from_millis(ms) {
                proptest::prop_assert_eq!(t.to_string(), chrono_rendering(t));
            }
        }
    }

    #[test]
    fn renders_edges_as_chrono_does() {
        for ms in [
            0,
            -1,
            1,
            253_402_300_799_999,
            253_402_300_800_000,
            -62_167_219_200_000,
            -62_167_219_200_001,
        ] {
            let t = Timestamp::from_millis(ms).expect("in range");
            assert_eq!(t.to_string(), chrono_rendering(t), "{ms}");
        }
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_milli_opt(23, 59, 59, 1_500))
            .expect("a leap second")
            .and_utc();
        let t = Timestamp::from_datetime(leap);
        assert_eq!(t.to_string(), "2016-12-31T23:59:60.500Z");
        assert_eq!(t.to_string(), chrono_rendering(t));
    }
}
