//! Business hours (issue 14 item 1): a weekly schedule in an IANA time
//! zone, a holiday calendar and one-off closures, as `[[schedule]]` of
//! `entrypoints.toml`; an entry point's `hours` step branches on
//! [`Schedule::state_at`].
//!
//! Hours are the zone's wall-clock time: `monday = ["08:00-12:30",
//! "13:30-18:00"]` opens at 08:00 local time whatever the UTC offset of the
//! day, so the DST changes move nothing for the caller (on the night the
//! clocks go forward, 02:30 does not exist and is never matched; on the
//! night they go back, 01:30 happens twice and both are matched). A range
//! ends before its end minute (`-18:00` closes at 18:00:00); `24:00` is the
//! end of the day. Ranges over midnight are written as two days' ranges.
//!
//! Holidays are whole local days: `MM-DD` every year (`"12-25"`) or one
//! date (`"2027-04-02"`). A closure is a local time span (`from`, `to`,
//! ISO 8601 without offset, in the schedule's zone) and wins over the
//! weekly hours; a holiday too. The bundled tzdb (jiff's `tzdb-bundle-always`)
//! is used, so a schedule reads the same on every machine.

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// The days of the week as written in the file, Monday first.
pub const DAY_KEYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// One opening range of a day, in minutes after local midnight, `from < to <= 1440`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenRange {
    /// First minute open.
    pub from: u16,
    /// First minute closed again (1440: midnight at the day's end).
    pub to: u16,
}

/// A holiday: a whole local day closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holiday {
    /// Every year on this month and day (`"12-25"`).
    Yearly {
        /// 1..=12.
        month: i8,
        /// 1..=31.
        day: i8,
    },
    /// Once (`"2027-04-02"`).
    Date(Date),
}

impl Holiday {
    /// Whether local date `d` is this holiday.
    pub fn covers(&self, d: Date) -> bool {
        match *self {
            Holiday::Yearly { month, day } => d.month() == month && d.day() == day,
            Holiday::Date(h) => h == d,
        }
    }
}

/// A one-off closure, from `from` (inclusive) to `to` (exclusive).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Closure {
    /// Start.
    pub from: Timestamp,
    /// End.
    pub to: Timestamp,
    /// Why (logs), if given.
    pub reason: Option<String>,
}

/// Whether a schedule is open at a moment, and if not, why (the `hours`
/// step may branch differently on a holiday).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Openness {
    /// Within the weekly hours, not a holiday, not closed.
    Open,
    /// Outside the weekly hours.
    Closed,
    /// A holiday of the calendar.
    Holiday,
    /// Within a one-off closure.
    Closure,
}

/// `[[schedule]]`: a named weekly schedule with holidays and closures.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    /// Its name, referred to by `hours` steps.
    pub name: String,
    /// The IANA zone its hours are written in.
    pub zone: TimeZone,
    /// The zone's name as written (`Europe/Paris`).
    pub zone_name: String,
    /// Opening ranges per weekday, Monday first; an empty day is closed.
    pub week: [Vec<OpenRange>; 7],
    /// Closed days.
    pub holidays: Vec<Holiday>,
    /// One-off closures.
    pub closures: Vec<Closure>,
}

impl Schedule {
    /// Whether the schedule is open at unix time `unix_ms`.
    pub fn state_at(&self, unix_ms: u64) -> Openness {
        let Ok(ts) = Timestamp::from_millisecond(i64::try_from(unix_ms).unwrap_or(i64::MAX)) else {
            return Openness::Closed;
        };
        if self.closures.iter().any(|c| c.from <= ts && ts < c.to) {
            return Openness::Closure;
        }
        let local = ts.to_zoned(self.zone.clone()).datetime();
        if self.holidays.iter().any(|h| h.covers(local.date())) {
            return Openness::Holiday;
        }
        let day = weekday_index(local.date().weekday());
        let minute = local.hour() as u16 * 60 + local.minute() as u16;
        if self.week[day].iter().any(|r| r.from <= minute && minute < r.to) {
            Openness::Open
        } else {
            Openness::Closed
        }
    }
}

/// Monday = 0 .. Sunday = 6.
fn weekday_index(w: Weekday) -> usize {
    w.to_monday_zero_offset() as usize
}

/// Parses `"08:00-18:00"` (minutes after midnight; `24:00` allowed as an
/// end); the message says what is wrong.
pub fn parse_range(s: &str) -> Result<OpenRange, String> {
    let bad = || format!("`{s}` is not an opening range like \"08:00-18:00\"");
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let from = parse_hhmm(a.trim()).ok_or_else(bad)?;
    let to = parse_hhmm(b.trim()).ok_or_else(bad)?;
    if from >= 1440 {
        return Err(format!("`{s}`: a range starts before 24:00"));
    }
    if to <= from {
        return Err(format!(
            "`{s}` ends before it starts; a range over midnight is written as two days' ranges (\"22:00-24:00\", then \"00:00-06:00\" the next day)"
        ));
    }
    Ok(OpenRange { from, to })
}

fn parse_hhmm(s: &str) -> Option<u16> {
    let (h, m) = s.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h: u16 = h.parse().ok()?;
    let m: u16 = m.parse().ok()?;
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return None;
    }
    Some(h * 60 + m)
}

/// Parses a holiday: `"MM-DD"` (every year) or `"YYYY-MM-DD"`.
pub fn parse_holiday(s: &str) -> Result<Holiday, String> {
    let bad = || format!("`{s}` is not a holiday like \"12-25\" (every year) or \"2027-04-02\" (once)");
    if s.len() == 5 {
        let (m, d) = s.split_once('-').ok_or_else(bad)?;
        let month: i8 = m.parse().map_err(|_| bad())?;
        let day: i8 = d.parse().map_err(|_| bad())?;
        // 2024 is a leap year: 02-29 is a valid yearly holiday.
        Date::new(2024, month, day).map_err(|_| bad())?;
        return Ok(Holiday::Yearly { month, day });
    }
    s.parse::<Date>().map(Holiday::Date).map_err(|_| bad())
}

/// Parses a closure bound: a local date and time (`"2026-12-24T13:00"`)
/// in `zone`, or a date alone (its midnight). A wall time that the DST
/// change skips is moved forward, one that happens twice is the first.
pub fn parse_local(s: &str, zone: &TimeZone) -> Result<Timestamp, String> {
    let dt = match s.parse::<DateTime>() {
        Ok(dt) => dt,
        Err(_) => match s.parse::<Date>() {
            Ok(d) => d.to_datetime(Time::midnight()),
            Err(_) => {
                return Err(format!(
                "`{s}` is not a local date and time like \"2026-12-24T13:00\" (no offset: the schedule's zone applies)"
            ))
            }
        },
    };
    zone.to_ambiguous_zoned(dt)
        .compatible()
        .map(|z| z.timestamp())
        .map_err(|e| format!("`{s}`: {e}"))
}

/// Looks an IANA zone up in the bundled tzdb.
pub fn zone(name: &str) -> Result<TimeZone, String> {
    if name.is_empty() || name.len() > 64 {
        return Err(format!("`{name}` is not an IANA time zone like \"Europe/Paris\""));
    }
    TimeZone::get(name).map_err(|_| format!("`{name}` is not an IANA time zone like \"Europe/Paris\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> u64 {
        s.parse::<Timestamp>().unwrap().as_millisecond() as u64
    }

    fn office(zone_name: &str) -> Schedule {
        let z = zone(zone_name).unwrap();
        let nine_five = vec![parse_range("09:00-17:00").unwrap()];
        Schedule {
            name: "office".into(),
            zone: z.clone(),
            zone_name: zone_name.into(),
            week: [
                nine_five.clone(),
                nine_five.clone(),
                nine_five.clone(),
                nine_five.clone(),
                nine_five,
                vec![],
                vec![],
            ],
            holidays: vec![parse_holiday("12-25").unwrap(), parse_holiday("2027-04-02").unwrap()],
            closures: vec![Closure {
                from: parse_local("2026-12-24T13:00", &z).unwrap(),
                to: parse_local("2026-12-24T23:59", &z).unwrap(),
                reason: None,
            }],
        }
    }

    #[test]
    fn weekly_hours_in_the_zone() {
        let s = office("Europe/Paris");
        // Monday 2026-12-07: Paris is UTC+1.
        assert_eq!(s.state_at(ms("2026-12-07T07:59:59Z")), Openness::Closed);
        assert_eq!(s.state_at(ms("2026-12-07T08:00:00Z")), Openness::Open);
        assert_eq!(s.state_at(ms("2026-12-07T15:59:59Z")), Openness::Open);
        assert_eq!(s.state_at(ms("2026-12-07T16:00:00Z")), Openness::Closed);
        // Saturday.
        assert_eq!(s.state_at(ms("2026-12-12T10:00:00Z")), Openness::Closed);
    }

    #[test]
    fn dst_moves_the_utc_opening_not_the_local_one() {
        let s = office("Europe/Paris");
        // Friday 2027-03-26 (UTC+1) opens 08:00Z; Monday 2027-03-29 (after
        // the change on the 28th, UTC+2) opens 07:00Z.
        assert_eq!(s.state_at(ms("2027-03-26T07:30:00Z")), Openness::Closed);
        assert_eq!(s.state_at(ms("2027-03-26T08:00:00Z")), Openness::Open);
        assert_eq!(s.state_at(ms("2027-03-29T07:00:00Z")), Openness::Open);
        assert_eq!(s.state_at(ms("2027-03-29T06:59:00Z")), Openness::Closed);
        // And back in October (the 31st): Monday 2027-11-01 opens 08:00Z.
        assert_eq!(s.state_at(ms("2027-11-01T07:30:00Z")), Openness::Closed);
        assert_eq!(s.state_at(ms("2027-11-01T08:00:00Z")), Openness::Open);
    }

    #[test]
    fn holidays_and_closures_win() {
        let s = office("Europe/Paris");
        // Friday 2026-12-25, yearly holiday, in local time (23:30Z on the
        // 24th is already the 25th in Paris).
        assert_eq!(s.state_at(ms("2026-12-25T10:00:00Z")), Openness::Holiday);
        assert_eq!(s.state_at(ms("2026-12-24T23:30:00Z")), Openness::Holiday);
        // Thursday the 24th: open in the morning, closed from 13:00 local.
        assert_eq!(s.state_at(ms("2026-12-24T11:59:00Z")), Openness::Open);
        assert_eq!(s.state_at(ms("2026-12-24T12:00:00Z")), Openness::Closure);
        // A one-off date.
        assert_eq!(s.state_at(ms("2027-04-02T10:00:00Z")), Openness::Holiday);
        assert_eq!(s.state_at(ms("2028-04-03T10:00:00Z")), Openness::Open);
    }

    #[test]
    fn local_times_across_the_gap_and_the_overlap() {
        let z = zone("America/New_York").unwrap();
        // 2027-03-14 02:30 does not exist in New York: moved forward to 03:30 EDT.
        assert_eq!(
            parse_local("2027-03-14T02:30", &z).unwrap(),
            "2027-03-14T07:30:00Z".parse::<Timestamp>().unwrap()
        );
        // 2027-11-07 01:30 happens twice: the first (EDT).
        assert_eq!(
            parse_local("2027-11-07T01:30", &z).unwrap(),
            "2027-11-07T05:30:00Z".parse::<Timestamp>().unwrap()
        );
    }

    #[test]
    fn bad_values_are_explained() {
        assert!(parse_range("18:00-08:00").unwrap_err().contains("over midnight"));
        assert!(parse_range("8-18").is_err());
        assert!(parse_range("08:00-24:01").is_err());
        assert_eq!(parse_range("00:00-24:00").unwrap(), OpenRange { from: 0, to: 1440 });
        assert!(parse_holiday("02-30").is_err());
        assert!(parse_holiday("2027-13-01").is_err());
        assert!(matches!(
            parse_holiday("02-29"),
            Ok(Holiday::Yearly { month: 2, day: 29 })
        ));
        assert!(zone("Mars/Olympus").is_err());
        assert!(zone("Europe/London").is_ok());
    }
}
