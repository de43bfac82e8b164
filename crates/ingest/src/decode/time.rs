//! Times and amounts as sources send them, parsed and checked against the bounds botlake
//! keeps: every arithmetic on a received value here is checked (the lint below keeps it so),
//! since one overflow in a decoder once took down a receiver for good.
#![deny(clippy::arithmetic_side_effects)]

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// Parses the timestamps Control Rooms send: RFC 3339, or ISO 8601 without an offset
/// (taken as UTC).
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    if let Some(t) = parse_utc_z(s) {
        return Some(t);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|t| t.and_utc())
}

/// The common shape `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, parsed without chrono's general
/// parser; anything else (offsets, leap seconds, other shapes) is left to it.
fn parse_utc_z(s: &str) -> Option<DateTime<Utc>> {
    let t = utc_z_stamp(s.as_bytes())?;
    let (secs, micros) = (
        t.micros.div_euclid(1_000_000),
        t.micros.rem_euclid(1_000_000),
    );
    let nanos = u32::try_from(micros)
        .ok()?
        .checked_mul(1000)?
        .checked_add(t.nanos)?;
    DateTime::from_timestamp(secs, nanos)
}

/// An instant to the nanosecond: microseconds since the epoch (what the tables keep) and
/// the nanoseconds past them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub(crate) micros: i64,
    nanos: u32,
}

impl Stamp {
    /// A timestamp as [`parse_timestamp`] reads it, the common shape without chrono.
    pub(crate) fn parse(s: &str) -> Option<Stamp> {
        utc_z_stamp(s.as_bytes()).or_else(|| {
            let t = parse_timestamp(s)?;
            Some(Stamp {
                micros: t.timestamp_micros(),
                nanos: t.timestamp_subsec_nanos() % 1000,
            })
        })
    }

    /// Whole milliseconds from `earlier` to this, truncated toward zero as chrono's
    /// `TimeDelta::num_milliseconds` does.
    pub(crate) fn millis_since(self, earlier: Stamp) -> Option<i64> {
        let nanos = |t: Stamp| {
            i128::from(t.micros)
                .checked_mul(1000)?
                .checked_add(i128::from(t.nanos))
        };
        let millis = nanos(self)?
            .checked_sub(nanos(earlier)?)?
            .checked_div(1_000_000)?;
        i64::try_from(millis).ok()
    }
}

/// [`parse_utc_z`]'s shape, straight to a [`Stamp`]; `None` for anything else, and for
/// what is not a date and time (February 30th, hour 24, second 60).
fn utc_z_stamp(b: &[u8]) -> Option<Stamp> {
    if b.len() < 20
        || b.last() != Some(&b'Z')
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    // Two digits at `i` (and `i + 1`, which the length checked above leaves in `b`).
    let two = |i: usize| {
        let next = b.get(i.checked_add(1)?)?;
        digit_of(b[i])?
            .checked_mul(10)?
            .checked_add(digit_of(*next)?)
    };
    let year = two(0)?.checked_mul(100)?.checked_add(two(2)?)?;
    let (month, day) = (two(5)?, two(8)?);
    let (hour, minute, second) = (two(11)?, two(14)?, two(17)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    if !(1..=month_days).contains(&day) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let fraction = match b.get(19..b.len().checked_sub(1)?)? {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            let n = digits
                .iter()
                .try_fold(0u32, |n, &c| n.checked_mul(10)?.checked_add(digit_of(c)?))?;
            const SCALE: [u32; 10] = [
                1,
                10,
                100,
                1000,
                10_000,
                100_000,
                1_000_000,
                10_000_000,
                100_000_000,
                1_000_000_000,
            ];
            n.checked_mul(*SCALE.get(9usize.checked_sub(digits.len())?)?)?
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day)?;
    let clock = hour
        .checked_mul(3600)?
        .checked_add(minute.checked_mul(60)?)?
        .checked_add(second)?;
    let secs = days.checked_mul(86_400)?.checked_add(i64::from(clock))?;
    Some(Stamp {
        micros: secs
            .checked_mul(1_000_000)?
            .checked_add(i64::from(fraction.checked_div(1000)?))?,
        nanos: fraction.checked_rem(1000)?,
    })
}

fn digit_of(c: u8) -> Option<u32> {
    let d = c.wrapping_sub(b'0');
    (d < 10).then_some(u32::from(d))
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar from year 0 on
/// (Howard Hinnant's `days_from_civil`, counted from 400 years earlier so that it needs no
/// signed division).
/// `None` only for what is no date (a month past 12 or day 0), which callers rule out.
#[inline]
fn days_from_civil(year: u32, month: u32, day: u32) -> Option<i64> {
    let year = year.checked_add(400)?.checked_sub(u32::from(month <= 2))?;
    let era = year.checked_div(400)?;
    let year_of_era = year.checked_rem(400)?;
    let shifted_month = month.checked_add(9)?.checked_rem(12)?;
    let day_of_year = 153u32
        .checked_mul(shifted_month)?
        .checked_add(2)?
        .checked_div(5)?
        .checked_add(day)?
        .checked_sub(1)?;
    let day_of_era = year_of_era
        .checked_mul(365)?
        .checked_add(year_of_era.checked_div(4)?)?
        .checked_sub(year_of_era.checked_div(100)?)?
        .checked_add(day_of_year)?;
    let days = era.checked_mul(146_097)?.checked_add(day_of_era)?;
    i64::from(days).checked_sub(719_468 + 146_097)
}

/// The instants botlake takes from a source: from [`TimeRange::FIRST_DAY`] (1990-01-01) to
/// the end of the day [`TimeRange::YEARS_AHEAD`] (ten) years after the day a record is
/// received. A time outside (year 200000, a clock at zero, milliseconds sent where seconds
/// were meant) is a broken record: kept, it would make every view that spans its days
/// expand over millennia, and arithmetic on it overflow. Such a record is rejected with
/// the field and the bounds as its reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// The first microsecond taken (since the epoch, UTC).
    first: i64,
    /// The first microsecond past the range.
    end: i64,
}

impl TimeRange {
    /// The first day of the range.
    pub const FIRST_DAY: (i32, u32, u32) = (1990, 1, 1);
    /// How many years past the day of receipt the range reaches.
    pub const YEARS_AHEAD: u32 = 10;

    /// The range for records received at `at`.
    pub fn received(at: DateTime<Utc>) -> TimeRange {
        let (y, m, d) = Self::FIRST_DAY;
        let first = NaiveDate::from_ymd_opt(y, m, d).expect("a real day");
        let last = at
            .date_naive()
            .checked_add_months(chrono::Months::new(12 * Self::YEARS_AHEAD))
            .and_then(|day| day.succ_opt())
            .unwrap_or(NaiveDate::MAX);
        let micros = |day: NaiveDate| {
            day.and_time(chrono::NaiveTime::MIN)
                .and_utc()
                .timestamp_micros()
        };
        TimeRange {
            first: micros(first),
            end: micros(last),
        }
    }

    /// Whether `micros` lies in the range.
    pub fn contains(self, micros: i64) -> bool {
        (self.first..self.end).contains(&micros)
    }

    /// `micros`, or why `field` (shown as `shown`) does not fit.
    pub fn check(
        self,
        field: &str,
        shown: &dyn std::fmt::Display,
        micros: i64,
    ) -> Result<i64, String> {
        if self.contains(micros) {
            return Ok(micros);
        }
        Err(format!(
            "{field} {shown} is outside the times botlake takes ({} to {} years after the \
             day received)",
            NaiveDate::from_ymd_opt(Self::FIRST_DAY.0, Self::FIRST_DAY.1, Self::FIRST_DAY.2)
                .expect("a real day"),
            Self::YEARS_AHEAD
        ))
    }

    /// `text` as a time in the range, or why `field` does not fit.
    pub fn parse(self, field: &str, text: &str) -> Result<i64, String> {
        let t = parse_timestamp(text)
            .ok_or_else(|| format!("{field} {text:?} is not an ISO 8601 date-time"))?;
        self.check(field, &format_args!("{text:?}"), t.timestamp_micros())
    }

    /// Epoch milliseconds as microseconds in the range, or why `field` does not fit.
    pub fn millis(self, field: &str, millis: i64) -> Result<i64, String> {
        let micros = millis
            .checked_mul(1000)
            .ok_or_else(|| format!("{field} {millis} is not a time in milliseconds"))?;
        self.check(field, &millis, micros)
    }
}

/// A number of a duration or an amount as received, or why `field` does not fit: at least
/// zero and at most `max` (a bound far above any real value, below where arithmetic on
/// it in a view could overflow).
pub fn bounded<T: PartialOrd + Default + std::fmt::Display + Copy>(
    field: &str,
    value: Option<T>,
    max: T,
) -> Result<Option<T>, String> {
    match value {
        Some(v) if !(v >= T::default() && v <= max) => {
            Err(format!("{field} {v} is out of range (0 to {max})"))
        }
        v => Ok(v),
    }
}

/// Milliseconds in [`TimeRange::YEARS_AHEAD`] years and a little more: the longest run a
/// duration may say.
pub const MAX_DURATION_MS: i64 = 3_660 * 86_400_000;

/// Days from 1970-01-01 to `d`, as a `Date32` column keeps them.
pub(crate) fn epoch_days(d: NaiveDate) -> i32 {
    let days = d
        .signed_duration_since(NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch"))
        .num_days();
    i32::try_from(days).expect("chrono's dates lie within 2^31 days of 1970")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_with_and_without_offset() {
        let a = parse_timestamp("2026-11-01T08:15:03.123Z").unwrap();
        let b = parse_timestamp("2026-11-01T10:15:03.123+02:00").unwrap();
        let c = parse_timestamp("2026-11-01T08:15:03.123").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert!(parse_timestamp("31/02/2026 25:61").is_none());
        // The fast path agrees with chrono's parser wherever it answers.
        for text in [
            "2026-11-01T08:15:03Z",
            "2026-11-01T08:15:03.1Z",
            "2026-11-01T08:15:03.123456789Z",
            "2024-02-29T23:59:59.999Z",
            "2026-02-29T08:15:03Z",
            "2026-11-01T24:00:00Z",
            "2026-11-01T08:15:03.Z",
            "2026-11-01T08:15:03.1234567891Z",
            "2026-11-0aT08:15:03Z",
            "2016-12-31T23:59:60Z",
        ] {
            let chrono = DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|t| t.with_timezone(&Utc));
            assert_eq!(parse_timestamp(text), chrono, "{text}");
            if let Some(fast) = parse_utc_z(text) {
                assert_eq!(Some(fast), chrono, "{text}");
            }
        }
    }

    /// chrono's reading of `text` as a [`Stamp`].
    fn by_chrono(text: &str) -> Option<Stamp> {
        let t = DateTime::parse_from_rfc3339(text).ok()?;
        Some(Stamp {
            micros: t.timestamp_micros(),
            nanos: t.timestamp_subsec_nanos() % 1000,
        })
    }

    #[test]
    fn stamps_agree_with_chrono_on_every_day_and_on_the_edges() {
        // Every day of 1599 to 2401 (leap centuries and not), and days that do not exist.
        for year in 1599..=2401 {
            for month in 1..=13 {
                for day in [0, 1, 15, 28, 29, 30, 31, 32] {
                    let text = format!("{year:04}-{month:02}-{day:02}T23:59:58.5Z");
                    assert_eq!(utc_z_stamp(text.as_bytes()), by_chrono(&text), "{text}");
                }
            }
        }
        for text in [
            "0000-01-01T00:00:00Z",
            "1969-12-31T23:59:59.999999999Z",
            "1970-01-01T00:00:00.000001Z",
            "9999-12-31T23:59:59.123456789Z",
            "2026-11-01T08:15:03.0000005Z",
            "2026-11-01T23:60:00Z",
            "2026-11-01T08:15:60Z",
            "2026-11-01T08:15:03.12a4Z",
            "2026-11-01t08:15:03Z",
            "+2026-11-01T08:15:03Z",
        ] {
            // A leap second is chrono's to read.
            if let Some(fast) = utc_z_stamp(text.as_bytes()) {
                assert_eq!(Some(fast), by_chrono(text), "{text}");
            }
            assert_eq!(Stamp::parse(text), by_chrono(text), "{text}");
        }
        // Durations to the nanosecond, truncated toward zero as chrono's are.
        for (from, to) in [
            (
                "2026-11-01T08:00:00.0000005Z",
                "2026-11-01T08:00:00.0010004Z",
            ),
            (
                "2026-11-01T08:00:00.0010004Z",
                "2026-11-01T08:00:00.0000005Z",
            ),
            (
                "1969-12-31T23:59:59.9999Z",
                "1970-01-01T00:00:00.0015+00:00",
            ),
            ("2026-11-01T08:00:00Z", "2026-11-01T10:00:00.25+02:00"),
        ] {
            let chrono = (DateTime::parse_from_rfc3339(to).unwrap()
                - DateTime::parse_from_rfc3339(from).unwrap())
            .num_milliseconds();
            let (from, to) = (Stamp::parse(from).unwrap(), Stamp::parse(to).unwrap());
            assert_eq!(to.millis_since(from), Some(chrono));
        }
    }
}
