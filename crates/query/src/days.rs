//! Local days: the calendar day of an instant in the session's time zone
//! (`datafusion.execution.time_zone`: `--tz`, `BOTLAKE_TZ`, the configuration's `tz`, or
//! `SET TIME ZONE` at the prompt; UTC when unset). The views take their `day` from these
//! functions, so that one setting moves every view's days, while the lake's partition
//! column stays the UTC day.
//!
//! - `local_day(ts)`: the local date of a timestamp.
//! - `local_day_number(us)`: the same of microseconds since the epoch, as days since
//!   1970-01-01, for views that split run time at midnight.
//! - `local_midnight_us(n)`: the instant (microseconds since the epoch) at which local day
//!   number `n` begins: a day of 23 or 25 hours where the clocks change.
//! - `first_utc_day(d)`, `last_utc_day(d)`: the UTC days the local day `d` overlaps, to read
//!   only the partitions a range of local days needs.
//! - `utc_days()`: whether the session's days are UTC days. A view says
//!   `CASE WHEN utc_days() THEN day ELSE local_day(start_time) END`: planning folds it to
//!   the partition column itself under UTC, so that filters on the day still leave out
//!   whole files.
//!
//! Out of range values (beyond chrono's years) are NULL, never a failed query.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Offset, TimeZone};
use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::array::{ArrayRef, AsArray, Date32Array, Int64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Date32Type, Int64Type, TimeUnit};
use datafusion::common::config::ConfigOptions;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;

const DAY_US: i64 = 86_400_000_000;

/// The session's zone, UTC when unset.
#[derive(Debug, Clone, Copy)]
pub enum Zone {
    /// UTC, or an offset of zero.
    Utc,
    /// Any other zone.
    Named(Tz),
}

impl Zone {
    /// The zone `name` names (an IANA name such as `Europe/Berlin`, or an offset such as
    /// `+02:00`), or why not.
    pub fn parse(name: &str) -> std::result::Result<Zone, String> {
        match name.trim() {
            "" | "UTC" | "utc" | "Z" | "+00:00" | "Etc/UTC" => Ok(Zone::Utc),
            name => Tz::from_str(name).map(Zone::Named).map_err(|_| {
                format!(
                    "{name:?} is not a time zone (an IANA name such as Europe/Berlin, or +02:00)"
                )
            }),
        }
    }

    fn of(config: &ConfigOptions) -> Result<Zone> {
        match &config.execution.time_zone {
            None => Ok(Zone::Utc),
            Some(name) => Zone::parse(name).map_err(DataFusionError::Plan),
        }
    }

    /// Days since 1970-01-01 of the local date of `us` (microseconds since the epoch).
    fn day_number(self, us: i64) -> Option<i64> {
        match self {
            Zone::Utc => Some(us.div_euclid(DAY_US)),
            Zone::Named(tz) => {
                let local = DateTime::from_timestamp_micros(us)?
                    .with_timezone(&tz)
                    .date_naive();
                Some(local.signed_duration_since(epoch()).num_days())
            }
        }
    }

    /// The instant (microseconds since the epoch) at which local day number `n` begins.
    fn midnight_us(self, n: i64) -> Option<i64> {
        match self {
            Zone::Utc => n.checked_mul(DAY_US),
            Zone::Named(tz) => {
                let day = epoch().checked_add_signed(Duration::try_days(n)?)?;
                // A zone that moves its clocks at midnight skips it: the day begins at the
                // first local time there is.
                (0..=3).find_map(|hour| {
                    let local: NaiveDateTime = day.and_hms_opt(hour, 0, 0)?;
                    let instant = tz.from_local_datetime(&local).earliest()?;
                    let offset = instant.offset().fix();
                    let utc = local.checked_sub_signed(Duration::seconds(i64::from(
                        offset.local_minus_utc(),
                    )))?;
                    Some(utc.and_utc().timestamp_micros())
                })
            }
        }
    }

    /// The UTC days (as day numbers) of the first and the last instant of local day `n`.
    fn utc_days(self, n: i64) -> Option<(i64, i64)> {
        let start = self.midnight_us(n)?;
        let end = self.midnight_us(n.checked_add(1)?)?.checked_sub(1)?;
        Some((start.div_euclid(DAY_US), end.div_euclid(DAY_US)))
    }
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("1970-01-01 is a date")
}

/// Which of the functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    LocalDay,
    LocalDayNumber,
    LocalMidnightUs,
    FirstUtcDay,
    LastUtcDay,
    UtcDays,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct DayFunction {
    kind: Kind,
    signature: Signature,
}

impl ScalarUDFImpl for DayFunction {
    fn name(&self) -> &str {
        match self.kind {
            Kind::LocalDay => "local_day",
            Kind::LocalDayNumber => "local_day_number",
            Kind::LocalMidnightUs => "local_midnight_us",
            Kind::FirstUtcDay => "first_utc_day",
            Kind::LastUtcDay => "last_utc_day",
            Kind::UtcDays => "utc_days",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(match self.kind {
            Kind::LocalDay | Kind::FirstUtcDay | Kind::LastUtcDay => DataType::Date32,
            Kind::LocalDayNumber | Kind::LocalMidnightUs => DataType::Int64,
            Kind::UtcDays => DataType::Boolean,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let zone = Zone::of(&args.config_options)?;
        if self.kind == Kind::UtcDays {
            return Ok(ColumnarValue::Scalar(ScalarValue::Boolean(Some(matches!(
                zone,
                Zone::Utc
            )))));
        }
        let [arg] = args.args.as_slice() else {
            return Err(DataFusionError::Plan(format!(
                "{} takes one argument",
                self.name()
            )));
        };
        let scalar = matches!(arg, ColumnarValue::Scalar(_));
        let input = arg.to_array(args.number_rows)?;
        let out: ArrayRef = match self.kind {
            Kind::LocalDay => {
                let us = cast(&input, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
                let us = cast(&us, &DataType::Int64)?;
                Arc::new(days(us.as_primitive::<Int64Type>(), |us| {
                    zone.day_number(us)
                }))
            }
            Kind::LocalDayNumber => Arc::new(int64s(&input, |us| zone.day_number(us))?),
            Kind::LocalMidnightUs => Arc::new(int64s(&input, |n| zone.midnight_us(n))?),
            Kind::UtcDays => unreachable!("answered above"),
            Kind::FirstUtcDay | Kind::LastUtcDay => {
                let day = cast(&input, &DataType::Date32)?;
                let last = self.kind == Kind::LastUtcDay;
                Arc::new(
                    day.as_primitive::<Date32Type>()
                        .iter()
                        .map(|v| {
                            let (first, end) = zone.utc_days(i64::from(v?))?;
                            i32::try_from(if last { end } else { first }).ok()
                        })
                        .collect::<Date32Array>(),
                )
            }
        };
        if scalar {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?));
        }
        Ok(ColumnarValue::Array(out))
    }
}

/// `f` of each value of `input` as a BIGINT.
fn int64s(input: &ArrayRef, f: impl Fn(i64) -> Option<i64>) -> Result<Int64Array> {
    let values = cast(input, &DataType::Int64)?;
    Ok(values
        .as_primitive::<Int64Type>()
        .iter()
        .map(|v| v.and_then(&f))
        .collect())
}

/// `f` of each value of `us`, as dates.
fn days(us: &Int64Array, f: impl Fn(i64) -> Option<i64>) -> Date32Array {
    us.iter()
        .map(|v| v.and_then(&f).and_then(|n| i32::try_from(n).ok()))
        .collect()
}

/// Registers the local-day functions with `ctx`.
pub fn register(ctx: &SessionContext) {
    for kind in [
        Kind::LocalDay,
        Kind::LocalDayNumber,
        Kind::LocalMidnightUs,
        Kind::FirstUtcDay,
        Kind::LastUtcDay,
        Kind::UtcDays,
    ] {
        // Stable: the answer depends on the session's zone, fixed for a statement.
        let signature = if kind == Kind::UtcDays {
            Signature::nullary(Volatility::Stable)
        } else {
            Signature::any(1, Volatility::Stable)
        };
        ctx.register_udf(ScalarUDF::from(DayFunction { kind, signature }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros()
    }

    fn day(n: i64) -> String {
        (epoch() + Duration::days(n)).to_string()
    }

    #[test]
    fn a_late_evening_in_utc_is_the_next_day_in_berlin() {
        let berlin = Zone::parse("Europe/Berlin").unwrap();
        let t = us("2026-10-14T23:30:00Z");
        assert_eq!(day(Zone::Utc.day_number(t).unwrap()), "2026-10-14");
        assert_eq!(day(berlin.day_number(t).unwrap()), "2026-10-15");
        let new_york = Zone::parse("America/New_York").unwrap();
        assert_eq!(
            day(new_york.day_number(us("2026-10-15T02:00:00Z")).unwrap()),
            "2026-10-14"
        );
        assert_eq!(
            day(Zone::parse("+05:30").unwrap().day_number(t).unwrap()),
            "2026-10-15"
        );
        assert!(Zone::parse("Mars/Olympus").is_err());
    }

    #[test]
    fn days_where_the_clocks_change_are_23_and_25_hours() {
        let berlin = Zone::parse("Europe/Berlin").unwrap();
        let n = |d: &str| {
            NaiveDate::from_str(d)
                .unwrap()
                .signed_duration_since(epoch())
                .num_days()
        };
        let hours = |d: &str| {
            (berlin.midnight_us(n(d) + 1).unwrap() - berlin.midnight_us(n(d)).unwrap())
                / 3_600_000_000
        };
        assert_eq!(hours("2026-03-29"), 23);
        assert_eq!(hours("2026-10-25"), 25);
        assert_eq!(hours("2026-06-01"), 24);
        assert_eq!(
            berlin.midnight_us(n("2026-03-29")).unwrap(),
            us("2026-03-28T23:00:00Z")
        );
        // Local 2026-10-15 runs from 22:00 UTC the day before to 22:00 UTC.
        assert_eq!(
            berlin
                .utc_days(n("2026-10-15"))
                .map(|(a, b)| (day(a), day(b))),
            Some(("2026-10-14".into(), "2026-10-15".into()))
        );
        assert_eq!(
            Zone::Utc.utc_days(n("2026-10-15")),
            Some((n("2026-10-15"), n("2026-10-15")))
        );
        // Chile moved its clocks at midnight: the day begins at 01:00.
        let santiago = Zone::parse("America/Santiago").unwrap();
        assert_eq!(
            santiago.midnight_us(n("2022-09-11")).unwrap(),
            us("2022-09-11T04:00:00Z")
        );
        assert_eq!(Zone::Utc.midnight_us(i64::MAX), None);
        assert_eq!(berlin.day_number(i64::MAX), None);
    }
}
