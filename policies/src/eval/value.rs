//! Reading typed values from text, the same way for policy values and for
//! request values given as text: numbers, dates, booleans, base64, IPs.

use std::net::IpAddr;

use base64::Engine as _;
use ipnet::IpNet;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

/// The kinds of value an operator may need, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// A decimal number.
    Number,
    /// An ISO 8601 date or epoch seconds.
    Date,
    /// `true` or `false`.
    Bool,
    /// Base64 text.
    Binary,
    /// An IP address or CIDR range.
    Ip,
}

impl Expected {
    /// What the value should have been, e.g. "a date".
    pub fn noun(self) -> &'static str {
        match self {
            Expected::Number => "a number",
            Expected::Date => "a date",
            Expected::Bool => "`true` or `false`",
            Expected::Binary => "base64",
            Expected::Ip => "an IP address or CIDR range",
        }
    }

    /// An example of a good value, ending the error messages.
    pub fn example(self) -> &'static str {
        match self {
            Expected::Number => "a decimal number such as 42 or 2.5",
            Expected::Date => {
                "ISO 8601 such as 2024-01-31T12:00:00Z, or epoch seconds such as 1706702400"
            }
            Expected::Bool => "true or false",
            Expected::Binary => "standard base64 such as QmluYXJ5",
            Expected::Ip => {
                "an address such as 203.0.113.7 or 2001:db8::1, or a range such as 10.0.0.0/8"
            }
        }
    }
}

/// A finite decimal number.
pub fn number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// `true`/`false`, any case.
pub fn boolean(text: &str) -> Option<bool> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Standard base64, with or without padding.
pub fn binary(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
        .ok()
}

/// An address (as a one-address range) or a CIDR range; host bits of a range
/// are ignored, as IAM does.
pub fn ip_range(text: &str) -> Option<IpNet> {
    let text = text.trim();
    match text.parse::<IpNet>() {
        Ok(net) => Some(net.trunc()),
        Err(_) => text.parse::<IpAddr>().ok().map(IpNet::from),
    }
}

/// A single address.
pub fn ip_address(text: &str) -> Option<IpAddr> {
    text.trim().parse().ok()
}

/// A date as nanoseconds since the Unix epoch. Accepts epoch seconds
/// (`1706702400`, `-5`, `1706702400.25`), RFC 3339 (`2024-01-31T12:00:00Z`,
/// `...+02:00`, fractions), and the shorter ISO 8601 forms `2024-01-31T12:00:00`
/// and `2024-01-31T12:00` (with or without `Z`, read as UTC) and `2024-01-31`
/// (midnight UTC).
pub fn date(text: &str) -> Option<i128> {
    let text = text.trim();
    if let Some(nanos) = epoch(text) {
        return Some(nanos);
    }
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(at.unix_timestamp_nanos());
    }
    let utc = text.strip_suffix(['Z', 'z']).unwrap_or(text);
    let seconds = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    let minutes = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let at = PrimitiveDateTime::parse(utc, seconds)
        .or_else(|_| PrimitiveDateTime::parse(utc, minutes))
        .or_else(|_| {
            Date::parse(text, format_description!("[year]-[month]-[day]"))
                .map(|day| PrimitiveDateTime::new(day, Time::MIDNIGHT))
        })
        .ok()?;
    Some(at.assume_utc().unix_timestamp_nanos())
}

/// Epoch seconds, optionally signed and with a fraction.
fn epoch(text: &str) -> Option<i128> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match digits.split_once('.') {
        Some((_, "")) => return None,
        Some(parts) => parts,
        None => (digits, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 18 || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    let seconds: i128 = whole.parse().ok()?;
    let mut nanos: i128 = 0;
    for (i, digit) in fraction.bytes().take(9).enumerate() {
        let place = 10_i128.pow(8 - u32::try_from(i).ok()?);
        nanos += i128::from(digit - b'0') * place;
    }
    let total = seconds * 1_000_000_000 + nanos;
    Some(if text.starts_with('-') { -total } else { total })
}

/// Epoch seconds given as a number, as nanoseconds.
pub fn date_from_seconds(seconds: f64) -> Option<i128> {
    let nanos = (seconds * 1e9).round();
    // i128 holds far more than f64 can express exactly; refuse only non-finite values.
    nanos.is_finite().then_some(nanos as i128)
}

#[cfg(test)]
mod tests {
    use super::*;

    const JAN_31_NOON: i128 = 1_706_702_400 * 1_000_000_000;

    #[test]
    fn dates() {
        for text in [
            "2024-01-31T12:00:00Z",
            "2024-01-31T12:00:00.000Z",
            "2024-01-31T14:00:00+02:00",
            "2024-01-31T12:00:00",
            "2024-01-31T12:00Z",
            "2024-01-31T12:00",
            "1706702400",
            " 1706702400 ",
        ] {
            assert_eq!(date(text), Some(JAN_31_NOON), "{text}");
        }
        assert_eq!(
            date("2024-01-31"),
            Some(JAN_31_NOON - 12 * 3600 * 1_000_000_000)
        );
        assert_eq!(date("1706702400.5"), Some(JAN_31_NOON + 500_000_000));
        assert_eq!(date("-1"), Some(-1_000_000_000));
        for bad in [
            "",
            "tomorrow",
            "2024-13-01",
            "2024-01-31T25:00:00Z",
            "12.",
            ".5",
            "1e9",
            "--1",
        ] {
            assert_eq!(date(bad), None, "{bad}");
        }
        assert_eq!(date_from_seconds(1_706_702_400.0), Some(JAN_31_NOON));
        assert_eq!(date_from_seconds(f64::NAN), None);
    }

    #[test]
    fn numbers_booleans_binary_ips() {
        assert_eq!(number("42"), Some(42.0));
        assert_eq!(number("-2.5"), Some(-2.5));
        assert_eq!(number("NaN"), None);
        assert_eq!(number("ten"), None);
        assert_eq!(boolean("TRUE"), Some(true));
        assert_eq!(boolean("false"), Some(false));
        assert_eq!(boolean("yes"), None);
        assert_eq!(binary("QmluYXJ5"), Some(b"Binary".to_vec()));
        assert_eq!(binary("QQ"), Some(b"A".to_vec()));
        assert_eq!(binary("not base64!"), None);
        let net = ip_range("10.1.2.3/8").unwrap();
        assert_eq!(net.to_string(), "10.0.0.0/8");
        assert_eq!(
            ip_range("2001:db8::1").unwrap().to_string(),
            "2001:db8::1/128"
        );
        assert_eq!(ip_range("10.0.0.0/33"), None);
        assert_eq!(
            ip_address("::1"),
            Some(IpAddr::from([0, 0, 0, 0, 0, 0, 0, 1]))
        );
        assert_eq!(ip_address("10.0.0.0/8"), None);
    }
}
