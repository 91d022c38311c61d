//! A JSON value's text as `JSON.stringify` writes it, for what the Rust side sets in a
//! Node document: compact, strings as they were written, and a float as JavaScript prints
//! it (ECMAScript's `Number::toString`: `3.0` as `3`, `1e16` as `10000000000000000`,
//! `1.5e-6` as `0.0000015`, `1e21` as `1e+21`), so a Node app comparing JSON texts sees no
//! change.
//!
//! The value is rewritten token by token, never parsed whole into serde_json values and
//! printed again: integer text is kept as it is, however wide (a `u128` would come back as
//! a float), a string keeps escapes that no Rust string holds (an unpaired surrogate,
//! `"\ud83d"`, which `JSON.stringify` writes for a string cut in the middle of an emoji),
//! and only a float is read as a double and printed anew.

use serde_json::value::RawValue;

/// `json`, one JSON value, as compact text with its numbers in JavaScript's form; `None`
/// when it is not JSON.
pub(crate) fn stringify(json: &[u8]) -> Option<String> {
    let value: &RawValue = serde_json::from_slice(json).ok()?;
    let mut rest = value.get();
    let mut out = String::with_capacity(rest.len());
    while let Some(first) = rest.chars().next() {
        let len = match first {
            '"' => string_len(rest),
            '-' | '0'..='9' => number_len(rest),
            _ => first.len_utf8(),
        };
        let (token, after) = rest.split_at_checked(len)?;
        match first {
            ' ' | '\t' | '\n' | '\r' => {}
            '-' | '0'..='9' => push_number(token, &mut out),
            _ => out.push_str(token),
        }
        rest = after;
    }
    Some(out)
}

/// The length of the string that opens `text`, quotes included. `text` is valid JSON, so
/// the string ends.
fn string_len(text: &str) -> usize {
    let mut escaped = false;
    for (at, byte) in text.bytes().enumerate().skip(1) {
        match byte {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'"' => return at + 1,
            _ => {}
        }
    }
    text.len()
}

/// The length of the number that opens `text`.
fn number_len(text: &str) -> usize {
    text.find(|c: char| !matches!(c, '0'..='9' | '-' | '+' | '.' | 'e' | 'E'))
        .unwrap_or(text.len())
}

/// Writes the number `text` as JavaScript would: integer text as it is (JavaScript would
/// round one beyond 2^53; the digits are the Rust side's to keep), a float by
/// [`javascript_number`].
fn push_number(text: &str, out: &mut String) {
    let is_integer = !text.contains(['.', 'e', 'E']);
    // serde_json's reader, not `str::parse`: the standard library's misreads a mantissa
    // of tens of thousands of digits under an exponent past ±65 536 (`1` × 65 300
    // `e-655360` read as 1.1e-237, not 0).
    let javascript = serde_json::from_str::<f64>(text)
        .ok()
        .filter(|float| !is_integer && float.is_finite())
        .and_then(javascript_number);
    out.push_str(javascript.as_deref().unwrap_or(text));
}

/// The finite `float` as ECMAScript's `Number::toString` writes it (ECMA-262, "Number::
/// toString", radix 10): the shortest digits that read back as it (of two, the even one),
/// placed as the rule says by where the decimal point falls.
fn javascript_number(float: f64) -> Option<String> {
    if float == 0.0 {
        // Negative zero too.
        return Some("0".to_owned());
    }
    let sign = if float < 0.0 { "-" } else { "" };
    // The rule's k digits s, and n: the value is 0.s times 10 to the n.
    let Shortest { digits, point: n } = Shortest::of(float.abs())?;
    let k = i32::try_from(digits.len()).ok()?;
    let zeros = |count: i32| "0".repeat(usize::try_from(count).unwrap_or(0));
    // The rule's cases in its order: an integer of up to 21 digits, a point within the
    // first 21 digits, up to five zeros after the point, else an exponent.
    let text = if k <= n && n <= 21 {
        format!("{sign}{digits}{}", zeros(n - k))
    } else if 0 < n && n <= 21 {
        let (whole, fraction) = digits.split_at_checked(usize::try_from(n).ok()?)?;
        format!("{sign}{whole}.{fraction}")
    } else if -6 < n && n <= 0 {
        format!("{sign}0.{}{digits}", zeros(-n))
    } else {
        let (first, others) = digits.split_at_checked(1)?;
        let point = if others.is_empty() { "" } else { "." };
        let exponent = n - 1;
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        format!(
            "{sign}{first}{point}{others}e{exponent_sign}{}",
            exponent.unsigned_abs()
        )
    };
    Some(text)
}

/// The shortest decimal digits of a positive double: it is 0.`digits` times 10 to the
/// `point`, with no zero at either end of `digits`.
struct Shortest {
    digits: String,
    point: i32,
}

impl Shortest {
    /// The digits serde_json prints `float` with: the shortest that read back as it and,
    /// of two as near, the even one, as ECMAScript asks (Rust's own `{:e}` rounds such a
    /// tie up: `608898711247163.25` as `...163.3`, where JavaScript writes `...163.2`).
    fn of(float: f64) -> Option<Self> {
        let text = serde_json::Number::from_f64(float)?.to_string();
        let (mantissa, exponent) = match text.split_once(['e', 'E']) {
            Some((mantissa, exponent)) => (mantissa, exponent.parse::<i32>().ok()?),
            None => (text.as_str(), 0),
        };
        let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let all = format!("{whole}{fraction}");
        let significant = all.trim_start_matches('0');
        let leading_zeros = i32::try_from(all.len() - significant.len()).ok()?;
        let digits = significant.trim_end_matches('0');
        if digits.is_empty() {
            return None;
        }
        Some(Self {
            digits: digits.to_owned(),
            point: i32::try_from(whole.len()).ok()? + exponent - leading_zeros,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(json: &str) -> String {
        stringify(json.as_bytes()).unwrap()
    }

    #[test]
    fn integer_text_is_kept_however_wide() {
        for wide in [
            serde_json::to_string(&u128::MAX).unwrap(),
            serde_json::to_string(&i128::MIN).unwrap(),
            "18446744073709551616".to_owned(),
            "9007199254740993".to_owned(),
            "12345678901234567890123".to_owned(),
        ] {
            assert_eq!(written(&wide), wide);
        }
        let nested = r#"{"id":340282366920938463463374607431768211455,"list":[-170141183460469231731687303715884105728]}"#;
        assert_eq!(written(nested), nested);
    }

    #[test]
    fn a_long_mantissa_under_a_huge_exponent_keeps_its_value() {
        let tiny = format!("{}e-655360", "1".repeat(65_300));
        assert_eq!(written(&tiny), "0");
        let small = format!("{}e-700000", "1".repeat(70_000));
        assert_eq!(written(&small), "0");
    }

    #[test]
    fn floats_are_written_as_javascript_writes_them() {
        // Each as node writes it: `JSON.stringify(JSON.parse(text))`.
        for (text, javascript) in [
            ("3.0", "3"),
            ("-0.0", "0"),
            ("2.5", "2.5"),
            ("0.30000000000000004", "0.30000000000000004"),
            ("1000000000000000.5", "1000000000000000.5"),
            ("1E2", "100"),
            // Integral, from 2^53 to below 1e21: every digit, no exponent.
            ("9007199254740992.0", "9007199254740992"),
            ("9007199254740993.0", "9007199254740992"),
            ("1e16", "10000000000000000"),
            ("1.2345678901234568e20", "123456789012345680000"),
            ("999999999999999900000.0", "999999999999999900000"),
            ("1e21", "1e+21"),
            ("-1.5e21", "-1.5e+21"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
            // Small: at most five zeros after the point, else an exponent.
            ("1e-5", "0.00001"),
            ("1e-6", "0.000001"),
            ("1.5e-6", "0.0000015"),
            ("-2.5e-6", "-0.0000025"),
            ("9.99e-7", "9.99e-7"),
            ("1e-7", "1e-7"),
            ("123e-20", "1.23e-18"),
            ("5e-324", "5e-324"),
            // Two shortest texts as near as each other: the even one.
            ("608898711247163.25", "608898711247163.2"),
            ("88572293061754.125", "88572293061754.12"),
        ] {
            assert_eq!(written(text), javascript, "{text}");
        }
        assert_eq!(
            written(r#"{"a":[1e16,1.5e-6],"b":{"c":-0.0}}"#),
            r#"{"a":[10000000000000000,0.0000015],"b":{"c":0}}"#
        );
    }

    #[test]
    fn the_text_is_made_compact_and_strings_keep_their_escapes() {
        assert_eq!(
            written("{ \"a b\" : [ 1 , true , null ] ,\n\t\"c\": \"x\\\" y\\\\\" }"),
            r#"{"a b":[1,true,null],"c":"x\" y\\"}"#
        );
        assert_eq!(
            written(r#""\ud83d cut, \u00e9 é ,: 1.0""#),
            r#""\ud83d cut, \u00e9 é ,: 1.0""#
        );
    }

    #[test]
    fn what_is_not_json_is_refused() {
        for bad in ["", "not json", "{", "[1,]", "1 2", "\"\\x\""] {
            assert_eq!(stringify(bad.as_bytes()), None, "{bad}");
        }
    }
}
