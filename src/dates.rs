//! Dates as registers hold them: Excel serials (1900 and 1904 systems) and text forms.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::text::fold_width;

/// An Excel serial day number to a date. In the 1900 system Excel counts the fictitious
/// 1900-02-29 (Lotus 1-2-3 compatibility), so serials from 61 on are one day ahead.
pub fn from_excel_serial(serial: f64, is_1904: bool) -> Option<NaiveDate> {
    if !serial.is_finite() || !(1.0..=2_958_465.0).contains(&serial) {
        return None;
    }
    let days = serial.floor() as i64;
    let base = if is_1904 {
        NaiveDate::from_ymd_opt(1904, 1, 1)?
    } else if days == 60 {
        // 1900-02-29 never existed.
        return None;
    } else if days > 60 {
        NaiveDate::from_ymd_opt(1899, 12, 30)?
    } else {
        NaiveDate::from_ymd_opt(1899, 12, 31)?
    };
    base.checked_add_signed(Duration::days(days))
}

fn ymd(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    if !(1900..=2200).contains(&y) {
        return None;
    }
    NaiveDate::from_ymd_opt(y, m, d)
}

/// Split text into its runs of digits.
fn numbers(s: &str) -> Vec<&str> {
    s.split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .collect()
}

/// `2019-06-25`, `2019/6/25`, `2019年6月25日`, `2019.6.25`, `20190625`, and an ISO
/// date-time whose time part is ignored.
pub fn parse_date(raw: &str) -> Option<NaiveDate> {
    let s = fold_width(raw.trim());
    let s = s.split(['T', ' ']).next().unwrap_or("");
    if s.len() == 8 && s.chars().all(|c| c.is_ascii_digit()) {
        return ymd(
            s[..4].parse().ok()?,
            s[4..6].parse().ok()?,
            s[6..].parse().ok()?,
        );
    }
    let allowed = |c: char| c.is_ascii_digit() || matches!(c, '-' | '/' | '.' | '年' | '月' | '日');
    if !s.chars().all(allowed) {
        return None;
    }
    let n = numbers(s);
    if n.len() != 3 || n[0].len() != 4 {
        return None;
    }
    ymd(n[0].parse().ok()?, n[1].parse().ok()?, n[2].parse().ok()?)
}

/// A month as text: `2019-06`, `2019/6`, `2019年6月`, `2019.06`, `201906`.
pub fn parse_month(raw: &str) -> Option<(i32, u32)> {
    let s = fold_width(raw.trim());
    if s.len() == 6 && s.chars().all(|c| c.is_ascii_digit()) {
        let (y, m) = (s[..4].parse().ok()?, s[4..].parse().ok()?);
        return ymd(y, m, 1).map(|_| (y, m));
    }
    let allowed = |c: char| c.is_ascii_digit() || matches!(c, '-' | '/' | '.' | '年' | '月');
    if !s.chars().all(allowed) {
        return None;
    }
    let n = numbers(&s);
    if n.len() != 2 || n[0].len() != 4 {
        return None;
    }
    let (y, m) = (n[0].parse().ok()?, n[1].parse().ok()?);
    ymd(y, m, 1).map(|_| (y, m))
}

pub fn month_start(y: i32, m: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, 1).expect("validated month")
}

pub fn month_end(y: i32, m: u32) -> NaiveDate {
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    NaiveDate::from_ymd_opt(ny, nm, 1).expect("validated month") - Duration::days(1)
}

/// A date range as text: `2019.01.01-2019.12.31`, `2019-01-01至2019-12-31`,
/// `2019年1月-12月`, `2019年1月-2020年6月`, `2019-01~2019-12`.
pub fn parse_range(raw: &str) -> Option<(NaiveDate, NaiveDate)> {
    let s = fold_width(raw.trim());
    for sep in ["至", "~", "—", "－", "–", "到", " - ", "-"] {
        // Split on the separator occurrence that leaves a parseable left side;
        // `-` also separates date parts, so try every position.
        for (i, _) in s.match_indices(sep) {
            let (a, b) = (s[..i].trim(), s[i + sep.len()..].trim());
            if a.is_empty() || b.is_empty() {
                continue;
            }
            if let (Some(x), Some(y)) = (parse_date(a), parse_date(b)) {
                return Some((x, y));
            }
            if let (Some((y1, m1)), Some(end)) = (parse_month(a), end_of(b, None)) {
                return Some((month_start(y1, m1), end));
            }
            if let Some((y1, m1)) = parse_month(a) {
                if let Some(end) = end_of(b, Some(y1)) {
                    return Some((month_start(y1, m1), end));
                }
            }
        }
    }
    None
}

/// The right side of a month range: a full month, or `12月` within the left side's year.
fn end_of(b: &str, year: Option<i32>) -> Option<NaiveDate> {
    if let Some((y, m)) = parse_month(b) {
        return Some(month_end(y, m));
    }
    let y = year?;
    let m: u32 = b.strip_suffix('月')?.parse().ok()?;
    ymd(y, m, 1).map(|_| month_end(y, m))
}

/// Whole months between two dates, counting a term of 2019-01-01..2019-12-31 as 12.
pub fn term_months(start: NaiveDate, end: NaiveDate) -> i32 {
    let next = end + Duration::days(1);
    (next.year() - start.year()) * 12 + next.month() as i32
        - start.month() as i32
        - i32::from(next.day() < start.day())
}

/// The bureau's time zone: where its days begin and end. Asia/Shanghai unless the operator
/// sets another (`--timezone` or `PROCURE_TIMEZONE`) before anything reads the clock.
static ZONE: std::sync::OnceLock<Tz> = std::sync::OnceLock::new();

/// The zone used when none is set.
pub const DEFAULT_ZONE: Tz = chrono_tz::Asia::Shanghai;

/// Sets the bureau's time zone once, at start; a later call (a second server in the same
/// test process, say) keeps the first zone and says so.
pub fn set_zone(zone: Tz) -> Result<(), Tz> {
    let kept = *ZONE.get_or_init(|| zone);
    if kept == zone {
        Ok(())
    } else {
        Err(kept)
    }
}

/// Parses an IANA zone name (`Asia/Shanghai`), with a readable error.
pub fn parse_zone(name: &str) -> Result<Tz, String> {
    name.trim()
        .parse::<Tz>()
        .map_err(|_| format!("unknown time zone '{name}': use an IANA name such as Asia/Shanghai"))
}

/// The bureau's time zone.
pub fn zone() -> Tz {
    *ZONE.get().unwrap_or(&DEFAULT_ZONE)
}

/// Today in the bureau's time zone: the one default as-of date of the command line, the web
/// and the reports, whatever the server's own clock zone is.
pub fn today() -> NaiveDate {
    Utc::now().with_timezone(&zone()).date_naive()
}

/// The end of day `d` in the bureau's time zone (the first instant of the next day), in UTC:
/// "recorded by the end of d" means recorded before this.
pub fn end_of_day(d: NaiveDate) -> DateTime<Utc> {
    let next = (d + Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .expect("midnight");
    // A zone with daylight saving may skip midnight; its first valid instant after is used.
    let local = zone()
        .from_local_datetime(&next)
        .earliest()
        .or_else(|| {
            zone()
                .from_local_datetime(&(next + Duration::hours(1)))
                .earliest()
        })
        .expect("a valid local time within an hour of midnight");
    local.with_timezone(&Utc)
}

/// A time as the bureau reads it: its own zone, to the second.
pub fn local_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&zone())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, dd).unwrap()
    }

    #[test]
    fn excel_serials_in_both_systems() {
        assert_eq!(from_excel_serial(43646.0, false), Some(d(2019, 6, 30)));
        assert_eq!(from_excel_serial(43646.75, false), Some(d(2019, 6, 30)));
        assert_eq!(from_excel_serial(42184.0, true), Some(d(2019, 6, 30)));
        assert_eq!(from_excel_serial(59.0, false), Some(d(1900, 2, 28)));
        assert_eq!(from_excel_serial(60.0, false), None);
        assert_eq!(from_excel_serial(61.0, false), Some(d(1900, 3, 1)));
        assert_eq!(from_excel_serial(-1.0, false), None);
    }

    #[test]
    fn text_dates_in_every_form() {
        for s in [
            "2019-06-25",
            "2019/6/25",
            "2019年6月25日",
            "2019.6.25",
            "20190625",
            "２０１９－０６－２５",
            "2019-06-25 00:00:00",
        ] {
            assert_eq!(parse_date(s), Some(d(2019, 6, 25)), "{s}");
        }
        for s in ["2019-02-30", "25/06/2019", "next week", "2019-6", ""] {
            assert_eq!(parse_date(s), None, "{s}");
        }
    }

    #[test]
    fn ranges_and_months() {
        assert_eq!(
            parse_range("2019.01.01-2019.12.31"),
            Some((d(2019, 1, 1), d(2019, 12, 31)))
        );
        assert_eq!(
            parse_range("2019-01-01至2019-12-31"),
            Some((d(2019, 1, 1), d(2019, 12, 31)))
        );
        assert_eq!(
            parse_range("2019年1月-12月"),
            Some((d(2019, 1, 1), d(2019, 12, 31)))
        );
        assert_eq!(
            parse_range("2019年7月-2020年6月"),
            Some((d(2019, 7, 1), d(2020, 6, 30)))
        );
        assert_eq!(parse_month("2019年6月"), Some((2019, 6)));
        assert_eq!(parse_month("2019-06"), Some((2019, 6)));
        assert_eq!(month_end(2020, 2), d(2020, 2, 29));
    }

    #[test]
    fn term_lengths() {
        assert_eq!(term_months(d(2019, 1, 1), d(2019, 12, 31)), 12);
        assert_eq!(term_months(d(2019, 1, 1), d(2020, 1, 1)), 12);
        assert_eq!(term_months(d(2019, 1, 1), d(2020, 1, 2)), 12);
        assert_eq!(term_months(d(2019, 7, 1), d(2022, 6, 30)), 36);
    }
}
