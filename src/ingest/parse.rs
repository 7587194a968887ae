//! Value parsing: turns the raw text of one export cell into the typed value the lake
//! stores, accepting every form the data contract lists (Chinese and slash dates,
//! offsets, full-width digits, `¥1,234.50`, 是/否, Chinese department names). A value
//! that does not parse yields a reason that names what was expected, which the ingest
//! stage writes to the quarantine with the cell's position.

use std::borrow::Cow;

use chrono::{
    DateTime, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone,
};
use chrono_tz::Tz;

use super::contract::{ColType, ACTIVITIES, DEPARTMENTS};

/// A parsed cell, in the physical form the lake stores. Text borrows from the cell or
/// from the contract's word lists where it can: a row's cells go straight into column
/// builders, and an allocation per text cell was the largest cost of an ingest.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Str(Cow<'a, str>),
    /// Microseconds since 1970-01-01 00:00 of naive local wall-clock time.
    Timestamp(i64),
    /// Days since 1970-01-01.
    Date(i32),
    /// Hundredths (Decimal(18,2) unscaled).
    Money(i128),
    Int(i64),
    Bool(bool),
}

/// `str::trim`, without decoding a character when the text starts and ends with a
/// printable ASCII one, as nearly every cell does.
pub fn trim(raw: &str) -> &str {
    match raw.as_bytes() {
        [first, .., last] if first.is_ascii_graphic() && last.is_ascii_graphic() => raw,
        [only] if only.is_ascii_graphic() => raw,
        _ => raw.trim(),
    }
}

/// Folds full-width ASCII forms (０-９, ：, ／, ，, ．, －, full-width space) to ASCII and trims.
/// Borrows when there is nothing to fold (the common case: no allocation per cell).
pub fn normalize(raw: &str) -> Cow<'_, str> {
    let wide = |c: char| c == '\u{3000}' || ('\u{FF01}'..='\u{FF5E}').contains(&c);
    // Every one of those characters is encoded with a lead byte 0xE3 or 0xEF: a byte
    // scan clears most cells without decoding them.
    if !raw.bytes().any(|b| b == 0xE3 || b == 0xEF) || !raw.chars().any(wide) {
        return Cow::Borrowed(trim(raw));
    }
    let folded: String = raw
        .chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect();
    Cow::Owned(folded.trim().to_string())
}

/// Parses one cell. Empty text is `Null`; the caller decides whether null is allowed.
pub fn parse_value(raw: &str, ty: ColType, tz: Tz) -> Result<Value<'_>, String> {
    // Strings keep their own characters (names may contain full-width forms on purpose).
    if ty == ColType::Str {
        let t = trim(raw);
        return Ok(if t.is_empty() {
            Value::Null
        } else {
            Value::Str(Cow::Borrowed(t))
        });
    }
    let s = normalize(raw);
    if s.is_empty() {
        return Ok(Value::Null);
    }
    match ty {
        ColType::Str => unreachable!("handled above"),
        ColType::Timestamp => parse_timestamp(&s, tz).map(Value::Timestamp),
        ColType::Date => parse_date(&s).map(|d| Value::Date(days_since_epoch(d))),
        ColType::Money => parse_money(&s).map(Value::Money),
        ColType::Int => parse_int(&s).map(Value::Int),
        ColType::Score => parse_score(&s).map(Value::Int),
        ColType::Bool => parse_bool(&s).map(Value::Bool),
        ColType::Department => parse_department(&s).map(|d| Value::Str(Cow::Borrowed(d))),
        // The stored word is the list's own (lower-case) spelling.
        ColType::Activity => parse_activity(&s).map(|i| Value::Str(Cow::Borrowed(ACTIVITIES[i]))),
        ColType::Code(codes) => parse_code(&s, codes).map(|i| Value::Str(Cow::Borrowed(codes[i]))),
    }
}

/// A survey score, 1 to 5.
pub fn parse_score(s: &str) -> Result<i64, String> {
    match parse_int(s) {
        Ok(n @ 1..=5) => Ok(n),
        _ => Err(format!("expected a score from 1 to 5, found {s:?}")),
    }
}

/// The index in [`ACTIVITIES`] of an activity, in any case.
pub fn parse_activity(s: &str) -> Result<usize, String> {
    ACTIVITIES
        .iter()
        .position(|a| a.eq_ignore_ascii_case(s))
        .ok_or_else(|| format!("unknown activity {s:?}"))
}

/// The index in `codes` of a code, in any case.
pub fn parse_code(s: &str, codes: &[&str]) -> Result<usize, String> {
    codes
        .iter()
        .position(|c| c.eq_ignore_ascii_case(s))
        .ok_or_else(|| format!("expected one of {}, found {s:?}", codes.join("/")))
}

pub fn days_since_epoch(d: NaiveDate) -> i32 {
    // The lake's dates are days since the Unix epoch, as Arrow's Date32.
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date")).num_days() as i32
}

pub fn micros_of(dt: NaiveDateTime) -> i64 {
    dt.and_utc().timestamp_micros()
}

/// Inverse of [`micros_of`], for display.
pub fn naive_of_micros(us: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp_micros(us).map(|d| d.naive_utc())
}

/// Parses a timestamp into naive local wall-clock microseconds in `tz`.
pub fn parse_timestamp(s: &str, tz: Tz) -> Result<i64, String> {
    match plain_iso(s) {
        Some(us) => in_zone(s, us, tz),
        None => any_timestamp(s, tz),
    }
}

/// [`parse_timestamp`] for every form the contract accepts.
fn any_timestamp(s: &str, tz: Tz) -> Result<i64, String> {
    let expected = || {
        format!(
            "expected a timestamp such as 2025-03-05 14:03, 2025/3/5 14:03:07, \
             2025年3月5日 14:03 or 2025-03-05T14:03:07+08:00, found {s:?}"
        )
    };
    // With an explicit offset: convert the instant to the company zone.
    if let Some(dt) = parse_with_offset(s) {
        return Ok(micros_of(dt.with_timezone(&tz).naive_local()));
    }
    let (date_part, time_part) = split_date_time(s).ok_or_else(expected)?;
    let date = parse_date(date_part).map_err(|_| expected())?;
    let time = parse_time(time_part).ok_or_else(expected)?;
    in_zone(s, micros_of(date.and_time(time)), tz)
}

/// A wall-clock time that does not exist in the zone (a DST gap) is an error, not a guess.
fn in_zone(s: &str, us: i64, tz: Tz) -> Result<i64, String> {
    if known_gap_free(tz, us.div_euclid(HOUR_US)) {
        return Ok(us);
    }
    let naive = naive_of_micros(us).ok_or_else(|| format!("{s:?} is out of range"))?;
    match tz.from_local_datetime(&naive) {
        LocalResult::None => Err(format!(
            "{s:?} does not exist in time zone {tz} (daylight-saving gap)"
        )),
        _ => Ok(us),
    }
}

const HOUR_US: i64 = 3_600_000_000;

/// A run of local hours `lo..=hi` (hours since 1970-01-01 00:00) of zone `tz` in which
/// every wall-clock time exists; `lo_shut`/`hi_shut` when the hour beyond fails
/// [`hour_gap_free`] (a gap, or a change of offset such as an hour that comes twice).
#[derive(Clone, Copy)]
struct GapFree {
    tz: Tz,
    lo: i64,
    hi: i64,
    lo_shut: bool,
    hi_shut: bool,
}

/// How far the run grows to reach an hour: about two years.
const MAX_REACH: i64 = 2 * 366 * 24;

thread_local! {
    static GAP_FREE: std::cell::Cell<Option<GapFree>> = const { std::cell::Cell::new(None) };
}

/// Whether local hour `hour` is known to have no gap in `tz`, growing this thread's run
/// of such hours to reach it. Looking every timestamp up in the zone's history was 3 %
/// of an ingest; a zone without daylight saving (the company's) is one run over all the
/// exports' hours, checked once each. In a zone with it, the run stops at the first
/// change of offset on each side, and times beyond are looked up one by one, as before.
fn known_gap_free(tz: Tz, hour: i64) -> bool {
    let mut run = match GAP_FREE.get() {
        Some(r) if r.tz == tz => r,
        _ => {
            if !hour_gap_free(tz, hour) {
                return false;
            }
            let r = GapFree {
                tz,
                lo: hour,
                hi: hour,
                lo_shut: false,
                hi_shut: false,
            };
            GAP_FREE.set(Some(r));
            return true;
        }
    };
    let free = if (run.lo..=run.hi).contains(&hour) {
        return true;
    } else if hour > run.hi && !run.hi_shut && hour - run.hi <= MAX_REACH {
        match (run.hi + 1..=hour).find(|&h| !hour_gap_free(tz, h)) {
            Some(gap) => {
                (run.hi, run.hi_shut) = (gap - 1, true);
                false
            }
            None => {
                run.hi = hour;
                true
            }
        }
    } else if hour < run.lo && !run.lo_shut && run.lo - hour <= MAX_REACH {
        match (hour..run.lo).rev().find(|&h| !hour_gap_free(tz, h)) {
            Some(gap) => {
                (run.lo, run.lo_shut) = (gap + 1, true);
                false
            }
            None => {
                run.lo = hour;
                true
            }
        }
    } else {
        return false;
    };
    GAP_FREE.set(Some(run));
    free
}

/// Whether every wall-clock time of local hour `hour` exists in `tz`: its first and last
/// microsecond each map to one instant, at the same offset. A gap would need a change
/// of offset between them, and one change alone leaves the two offsets different. (Two
/// changes that cancel within one hour would escape this; the time zone database has
/// none.)
fn hour_gap_free(tz: Tz, hour: i64) -> bool {
    let single = |us: i64| match naive_of_micros(us).map(|t| tz.from_local_datetime(&t)) {
        Some(LocalResult::Single(t)) => Some(t.offset().fix()),
        _ => None,
    };
    let Some(start) = hour.checked_mul(HOUR_US) else {
        return false;
    };
    let first = single(start);
    first.is_some() && start.checked_add(HOUR_US - 1).and_then(single) == first
}

/// The form nearly every export uses, `2025-03-05 14:03` or `2025-03-05 14:03:07` (or
/// with `T`), read by position. Anything else, including an impossible date, is left
/// to the general parser, which gives the same value or the error.
fn plain_iso(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if !(b.len() == 16 || b.len() == 19) || b[4] != b'-' || b[7] != b'-' || b[13] != b':' {
        return None;
    }
    if !(b[10] == b' ' || b[10] == b'T') || (b.len() == 19 && b[16] != b':') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let sec = if b.len() == 19 { num(17..19)? } else { 0 };
    let (hour, minute) = (num(11..13)?, num(14..16)?);
    // The checks chrono's `from_ymd_opt` and `and_hms_opt` make, without building a
    // date: this is the form of nearly every timestamp of an export.
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || sec > 59 {
        return None;
    }
    let secs = i64::from(hour * 3600 + minute * 60 + sec);
    Some((days_from_civil(year, month, day) * 86_400 + secs) * 1_000_000)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (the civil-date
/// arithmetic of a year that starts in March, so that February's length comes last).
fn days_from_civil(year: u32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn parse_with_offset(s: &str) -> Option<DateTime<FixedOffset>> {
    // Only an ISO form can carry an offset, after its 10-character date: skip the
    // (slow, format-string) parsers for the common local forms.
    let tail = s.get(10..).unwrap_or("");
    if !tail.contains(['Z', 'z', '+', '-']) {
        return None;
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d);
    }
    let s2 = s.replacen(' ', "T", 1);
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%:z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(&s2, f) {
            return Some(d);
        }
    }
    None
}

/// Splits `2025-03-05 14:03`, `2025-03-05T14:03:07`, `2025年3月5日 14:03` or
/// `2025年3月5日14时03分` into the date and the time text.
fn split_date_time(s: &str) -> Option<(&str, &str)> {
    if let Some(i) = s.find('日') {
        let (d, t) = s.split_at(i + '日'.len_utf8());
        return Some((d, t.trim()));
    }
    let i = s.find(['T', ' '])?;
    Some((&s[..i], s[i + 1..].trim()))
}

fn parse_time(t: &str) -> Option<NaiveTime> {
    let t = t
        .replace(['时', '時', '点', '點'], ":")
        .replace('分', ":")
        .replace('秒', "");
    let t = t.trim_end_matches(':');
    let mut parts = t.split(':');
    let h: u32 = parts.next()?.trim().parse().ok()?;
    let m: u32 = parts.next()?.trim().parse().ok()?;
    let (sec, micro) = match parts.next() {
        None => (0, 0),
        Some(sp) => {
            let (whole, frac) = sp.split_once('.').unwrap_or((sp, ""));
            let sec: u32 = whole.trim().parse().ok()?;
            if frac.len() > 6 || !frac.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let micro = if frac.is_empty() {
                0
            } else {
                format!("{frac:0<6}").parse().ok()?
            };
            (sec, micro)
        }
    };
    if parts.next().is_some() {
        return None;
    }
    NaiveTime::from_hms_micro_opt(h, m, sec, micro)
}

/// Parses `2025-03-05`, `2025/3/5`, `2025.3.5`, `2025年3月5日`; a timestamp at exactly
/// midnight is accepted too (spreadsheets store dates that way).
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    let err =
        || format!("expected a date such as 2025-03-05, 2025/3/5 or 2025年3月5日, found {s:?}");
    let (d, rest) = match split_date_time(s) {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        _ => (s, None),
    };
    if let Some(t) = rest {
        if parse_time(t) != NaiveTime::from_hms_opt(0, 0, 0) {
            return Err(err());
        }
    }
    let d = d.trim_end_matches('日');
    let parts: Vec<&str> = d.split(['-', '/', '.', '年', '月']).collect();
    if parts.len() != 3 || parts[0].len() != 4 {
        return Err(err());
    }
    let num = |p: &str| -> Option<u32> {
        (!p.is_empty() && p.len() <= 4 && p.chars().all(|c| c.is_ascii_digit()))
            .then(|| p.parse().ok())
            .flatten()
    };
    match (num(parts[0]), num(parts[1]), num(parts[2])) {
        (Some(y), Some(m), Some(dd)) => NaiveDate::from_ymd_opt(y as i32, m, dd).ok_or_else(err),
        _ => Err(err()),
    }
}

/// Parses money into hundredths: `1,234.50`, `1234.5`, `¥1,234.50`, `-12`, `CNY 12.00`.
/// More than two decimal places is an error: money is never rounded silently.
pub fn parse_money(s: &str) -> Result<i128, String> {
    let err = |why: &str| {
        format!("expected an amount such as 1,234.50 or ¥1,234.50 ({why}), found {s:?}")
    };
    // Plain figures, nearly every cell, are read where they lie.
    let plain = s
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+'));
    let t: Cow<str> = if plain {
        Cow::Borrowed(s)
    } else {
        let mut t: String = s
            .chars()
            .filter(|c| !matches!(c, ',' | ' ' | '¥' | '￥' | '元'))
            .collect();
        for prefix in ["CNY", "RMB"] {
            if let Some(r) = t.strip_prefix(prefix) {
                t = r.to_string();
            }
        }
        Cow::Owned(t)
    };
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(&t)),
    };
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty() || !whole.chars().all(|c| c.is_ascii_digit()) {
        return Err(err("not a number"));
    }
    if !frac.chars().all(|c| c.is_ascii_digit()) {
        return Err(err("not a number"));
    }
    if frac.len() > 2 {
        return Err(err("more than two decimal places"));
    }
    if whole.len() > 16 {
        return Err(err("too large for Decimal(18,2)"));
    }
    // `frac` is at most two digits, checked above: "5" is 50 hundredths.
    let hundredths = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(2)
        .fold(0i128, |n, d| n * 10 + i128::from(d - b'0'));
    let cents: i128 = whole.parse::<i128>().map_err(|_| err("not a number"))? * 100 + hundredths;
    Ok(if neg { -cents } else { cents })
}

/// Parses a whole number, allowing thousands separators and a trailing `.0`.
pub fn parse_int(s: &str) -> Result<i64, String> {
    let t: Cow<str> = if s.contains(',') {
        Cow::Owned(s.chars().filter(|c| *c != ',').collect())
    } else {
        Cow::Borrowed(s)
    };
    let t = t.strip_suffix(".0").unwrap_or(&t);
    t.parse::<i64>()
        .map_err(|_| format!("expected a whole number, found {s:?}"))
}

pub fn parse_bool(s: &str) -> Result<bool, String> {
    let is = |words: &[&str]| words.iter().any(|w| w.eq_ignore_ascii_case(s));
    if is(&["true", "1", "是", "y", "yes", "t"]) {
        Ok(true)
    } else if is(&["false", "0", "否", "n", "no", "f"]) {
        Ok(false)
    } else {
        Err(format!(
            "expected true/false, 1/0, 是/否 or Y/N, found {s:?}"
        ))
    }
}

pub fn parse_department(s: &str) -> Result<&'static str, String> {
    DEPARTMENTS
        .iter()
        .find(|(code, names)| code.eq_ignore_ascii_case(s) || names.contains(&s))
        .map(|(code, _)| *code)
        .ok_or_else(|| format!("unknown department {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SH: Tz = chrono_tz::Asia::Shanghai;

    fn ts(s: &str) -> String {
        let us = parse_timestamp(&normalize(s), SH).unwrap();
        naive_of_micros(us)
            .unwrap()
            .format("%Y-%m-%d %H:%M:%S%.f")
            .to_string()
    }

    #[test]
    fn timestamp_forms_of_the_contract() {
        let want = "2025-03-05 14:03:00";
        for s in [
            "2025-03-05 14:03",
            "2025/3/5 14:03",
            "2025年3月5日 14:03",
            "2025年3月5日14:03",
            "2025-03-05T14:03",
            "２０２５－０３－０５　１４：０３",
            "2025-03-05T06:03:00Z",
            "2025-03-05T14:03:00+08:00",
            "2025-03-05 07:03:00+01:00",
        ] {
            assert_eq!(ts(s), want, "{s}");
        }
        assert_eq!(ts("2025/3/5 14:03:07"), "2025-03-05 14:03:07");
        assert_eq!(ts("2025年3月5日 14:03:07"), "2025-03-05 14:03:07");
        assert_eq!(ts("2025-03-05 14:03:07.25"), "2025-03-05 14:03:07.250");
        // An offset moves the instant into the company zone, across a month boundary too.
        assert_eq!(ts("2025-03-31T20:00:00-01:00"), "2025-04-01 05:00:00");
    }

    proptest::proptest! {
        #[test]
        fn plain_iso_reads_as_the_general_parser_does(
            s in "[0-9]{4}-[0-3][0-9]-[0-3][0-9][ T][0-2][0-9]:[0-6][0-9](:[0-6][0-9])?"
        ) {
            proptest::prop_assert_eq!(parse_timestamp(&s, SH), any_timestamp(&s, SH));
        }
    }

    #[test]
    fn plain_timestamps_know_the_calendar() {
        for (s, ok) in [
            ("2024-02-29 10:00", true),
            ("2025-02-29 10:00", false),
            ("2000-02-29 23:59:59", true),
            ("1900-02-29 10:00", false),
            ("2025-04-31 10:00", false),
            ("2025-12-31 23:59:59", true),
            ("1969-12-31 23:59:59", true),
            ("0001-01-01 00:00", true),
            ("2025-06-15 24:00", false),
            ("2025-06-15 10:60", false),
            ("2025-06-15 10:00:60", false),
        ] {
            assert_eq!(plain_iso(s).is_some(), ok, "{s}");
            assert_eq!(parse_timestamp(s, SH), any_timestamp(s, SH), "{s}");
        }
        assert_eq!(plain_iso("1970-01-01 00:00:01"), Some(1_000_000));
        assert_eq!(plain_iso("1969-12-31 23:59:59"), Some(-1_000_000));
    }

    #[test]
    fn bad_timestamps_say_what_was_expected() {
        for s in [
            "2025-13-01 10:00",
            "2025-02-30 10:00",
            "yesterday",
            "2025-03-05 25:00",
            "2025-03-05",
        ] {
            let e = parse_timestamp(s, SH).unwrap_err();
            assert!(e.contains("expected a timestamp"), "{s}: {e}");
        }
    }

    #[test]
    fn dst_gap_is_rejected_in_zones_that_have_one() {
        let ny = chrono_tz::America::New_York;
        assert!(parse_timestamp("2025-03-09 02:30", ny)
            .unwrap_err()
            .contains("gap"));
        assert!(parse_timestamp("2025-03-09 03:30", ny).is_ok());
        // The hours around the gap: each side exists, the hour of the gap does not,
        // whatever hour was looked at before (the run of checked hours stops there).
        for (s, ok) in [
            ("2025-03-09 01:59:59", true),
            ("2025-03-09 02:00", false),
            ("2025-03-09 02:59:59", false),
            ("2025-03-09 03:00", true),
            ("2025-03-09 01:00", true),
            ("2025-03-09 02:00", false),
        ] {
            assert_eq!(parse_timestamp(s, ny).is_ok(), ok, "{s}");
        }
        // A run of checked hours grown upwards stops at the gap.
        for (s, ok) in [
            ("2025-03-08 12:00", true),
            ("2025-03-09 04:00", true),
            ("2025-03-09 02:15", false),
            ("2025-03-09 01:30", true),
            ("2025-03-09 03:00:00", true),
        ] {
            assert_eq!(parse_timestamp(s, ny).is_ok(), ok, "{s}");
        }
        // Lord Howe moves by half an hour: 02:00 to 02:29 do not exist, 02:30 on do.
        let lh = chrono_tz::Australia::Lord_Howe;
        assert!(parse_timestamp("2025-10-05 02:29:59", lh).is_err());
        assert!(parse_timestamp("2025-10-05 02:30", lh).is_ok());
        // The same hour in another zone is checked for that zone.
        assert!(parse_timestamp("2025-03-09 02:30", SH).is_ok());
        assert!(parse_timestamp("2025-03-09 02:30", ny).is_err());
    }

    #[test]
    fn dates() {
        let d = NaiveDate::from_ymd_opt(2025, 3, 5).unwrap();
        for s in [
            "2025-03-05",
            "2025/3/5",
            "2025年3月5日",
            "2025.3.5",
            "2025-03-05 00:00:00",
            "２０２５/3/5",
        ] {
            assert_eq!(parse_date(&normalize(s)), Ok(d), "{s}");
        }
        assert!(parse_date("2025-03-05 10:00").is_err());
        assert!(parse_date("25-3-5").is_err());
        assert_eq!(
            days_since_epoch(NaiveDate::from_ymd_opt(1970, 1, 2).unwrap()),
            1
        );
    }

    #[test]
    fn money() {
        assert_eq!(parse_money("1,234.50"), Ok(123450));
        assert_eq!(parse_money("1234.5"), Ok(123450));
        assert_eq!(parse_money("¥1,234.50"), Ok(123450));
        assert_eq!(parse_money("-0.05"), Ok(-5));
        assert_eq!(parse_money("12"), Ok(1200));
        assert!(parse_money("1.005")
            .unwrap_err()
            .contains("two decimal places"));
        assert!(parse_money("abc").is_err());
        assert!(parse_money("1.2.3").is_err());
        assert!(parse_money(".5").is_err());
        // Plain figures are read in place: signs and a one-digit fraction as before.
        assert_eq!(parse_money("+7"), Ok(700));
        assert_eq!(parse_money("-3.1"), Ok(-310));
        assert_eq!(parse_money("0.07"), Ok(7));
        assert_eq!(parse_money("CNY 99"), Ok(9900));
        assert!(parse_money("1-2").is_err());
        assert!(parse_money("12.").is_ok_and(|c| c == 1200));
    }

    #[test]
    fn ints_bools_departments_codes() {
        assert_eq!(parse_int("1,200"), Ok(1200));
        assert_eq!(parse_int("3.0"), Ok(3));
        assert!(parse_int("3.5").is_err());
        assert_eq!(parse_bool("是"), Ok(true));
        assert_eq!(parse_bool("N"), Ok(false));
        assert_eq!(parse_bool("TRUE"), Ok(true));
        assert_eq!(parse_bool("Yes"), Ok(true));
        assert_eq!(parse_bool("否"), Ok(false));
        assert_eq!(parse_int("-12"), Ok(-12));
        assert!(parse_int("1 2").is_err());
        assert_eq!(
            parse_value(" SO-1\u{3000}", ColType::Str, SH),
            Ok(Value::Str("SO-1".into()))
        );
        assert_eq!(
            parse_value("x", ColType::Str, SH),
            Ok(Value::Str("x".into()))
        );
        assert_eq!(parse_value("  ", ColType::Str, SH), Ok(Value::Null));
        assert!(parse_bool("maybe").is_err());
        assert_eq!(parse_department("倉儲"), Ok("warehouse"));
        assert_eq!(parse_department("仓储"), Ok("warehouse"));
        assert_eq!(parse_department("QC"), Ok("qc"));
        assert!(parse_department("marketing").is_err());
        let v = parse_value("３", ColType::Score, SH);
        assert_eq!(v, Ok(Value::Int(3)));
        assert!(parse_value("6", ColType::Score, SH).is_err());
        assert_eq!(
            parse_value(" Cancelled ", ColType::Code(&["active", "cancelled"]), SH),
            Ok(Value::Str("cancelled".into()))
        );
        assert!(parse_value("shipped", ColType::Activity, SH)
            .unwrap_err()
            .contains("unknown activity"));
        assert_eq!(parse_value("  ", ColType::Money, SH), Ok(Value::Null));
    }
}
