//! XML Schema `dateTime` texts and Unix seconds: the form certledger writes, and every form other
//! issuers may write in Data Integrity proofs. Shared by `w3c` and `vcdi`, depending on neither.

/// Unix seconds as an XML Schema UTC dateTime, `YYYY-MM-DDTHH:MM:SSZ`.
/// Times after 9999-12-31T23:59:59Z are written as that instant.
pub fn xsd_datetime(t: u64) -> String {
    let t = t.min(MAX_XSD_TIME);
    let days = t / 86_400;
    let secs = t % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

/// 9999-12-31T23:59:59Z in Unix seconds.
const MAX_XSD_TIME: u64 = 253_402_300_799;

/// Parses exactly the form [`xsd_datetime`] writes (UTC, seconds, `Z`), years 1970-9999.
pub fn parse_xsd_datetime(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |r: core::ops::Range<usize>| -> Option<u64> {
        let part = s.get(r)?;
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok()).flatten()
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if y < 1970
        || !(1..=12).contains(&m)
        || d < 1
        || d > days_in_month(y, m)
        || hh > 23
        || mm > 59
        || ss > 59
    {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// Parses any XML Schema 1.1 `dateTime` lexical form (`YYYY-MM-DDThh:mm:ss`, an optional
/// fraction of a second, an optional zone `Z` or `±hh:mm` up to 14:00; `24:00:00` is the end of
/// the day; a time without a zone is read as UTC) to Unix seconds, a fraction rounded up. `None`
/// when `s` is not such a dateTime, or is before 1970 or after year 9999 (refused as unsupported).
/// Used for Data Integrity proof `created` and `expires` ([`crate::vcdi`]), which other issuers
/// may write in any of these forms.
pub fn parse_datetime(s: &str) -> Option<u64> {
    let head = s.get(..19)?;
    let b = head.as_bytes();
    if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: core::ops::Range<usize>| -> Option<u64> {
        let part = head.get(r)?;
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok()).flatten()
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = s.get(19..)?;
    let mut fraction = false;
    if let Some(after_dot) = rest.strip_prefix('.') {
        let digits = after_dot.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        fraction = after_dot.bytes().take(digits).any(|c| c != b'0');
        rest = after_dot.get(digits..)?;
    }
    let offset_s: i64 = match rest {
        "" | "Z" => 0,
        zone => {
            let z = zone.as_bytes();
            if z.len() != 6 || z[3] != b':' {
                return None;
            }
            let sign = match z[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let part = |r: core::ops::Range<usize>| -> Option<i64> {
                let p = zone.get(r)?;
                p.bytes().all(|c| c.is_ascii_digit()).then(|| p.parse().ok()).flatten()
            };
            let (zh, zm) = (part(1..3)?, part(4..6)?);
            if zm > 59 || zh > 14 || (zh == 14 && zm > 0) {
                return None;
            }
            sign * (zh * 3600 + zm * 60)
        }
    };
    let end_of_day = hh == 24 && mm == 0 && ss == 0 && !fraction;
    if !(1970..=9999).contains(&y)
        || !(1..=12).contains(&m)
        || d < 1
        || d > days_in_month(y, m)
        || (hh > 23 && !end_of_day)
        || mm > 59
        || ss > 59
    {
        return None;
    }
    let local = days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss + u64::from(fraction);
    local.checked_add_signed(-offset_s)
}

fn is_leap(y: u64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (y >= 1970).
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let mut days = 0;
    for year in 1970..y {
        days += if is_leap(year) { 366 } else { 365 };
    }
    for month in 1..m {
        days += days_in_month(y, month);
    }
    days + d - 1
}

fn civil_from_days(mut days: u64) -> (u64, u64, u64) {
    let mut y = 1970;
    loop {
        let len = if is_leap(y) { 366 } else { 365 };
        if days < len {
            break;
        }
        days -= len;
        y += 1;
    }
    let mut m = 1;
    loop {
        let len = days_in_month(y, m);
        if days < len {
            break;
        }
        days -= len;
        m += 1;
    }
    (y, m, days + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_round_trip() {
        for t in [0u64, 86_399, 951_782_400, 1_767_225_600, 4_102_444_799] {
            assert_eq!(parse_xsd_datetime(&xsd_datetime(t)), Some(t), "{t}");
        }
        assert_eq!(xsd_datetime(1_767_225_600), "2026-01-01T00:00:00Z");
        assert_eq!(xsd_datetime(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(parse_xsd_datetime("2025-02-29T00:00:00Z"), None);
        assert_eq!(parse_xsd_datetime("2026-01-01T00:00:00+08:00"), None);
    }

    #[test]
    fn any_xml_schema_datetime_form_is_read() {
        let t = 1_767_225_600; // 2026-01-01T00:00:00Z
        for (text, want) in [
            ("2026-01-01T00:00:00Z", Some(t)),
            ("2026-01-01T00:00:00", Some(t)),
            ("2026-01-01T08:00:00+08:00", Some(t)),
            ("2025-12-31T23:30:00-00:30", Some(t)),
            ("2026-01-01T00:00:00.000Z", Some(t)),
            ("2025-12-31T23:59:59.25Z", Some(t)),
            ("2025-12-31T24:00:00Z", Some(t)),
            ("2026-02-30T00:00:00Z", None),
            ("2026-01-01T00:00:60Z", None),
            ("2026-01-01T24:00:01Z", None),
            ("2026-01-01T00:00:00.Z", None),
            ("2026-01-01T00:00:00+15:00", None),
            ("2026-01-01T00:00:00+08", None),
            ("2026-01-01 00:00:00Z", None),
            ("2026-1-01T00:00:00Z", None),
            ("1969-12-31T23:59:59Z", None),
            ("not a date", None),
            ("", None),
        ] {
            assert_eq!(parse_datetime(text), want, "{text}");
        }
    }
}
