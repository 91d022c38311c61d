//! A JSON value's text as `JSON.stringify` writes it, for what the Rust side sets in a
//! Node document: compact, strings as they were written, and a float with an integral
//! value (`3.0`) as an integer (`3`), so a Node app comparing JSON texts sees no change.
//!
//! The value is rewritten as text, never parsed into numbers and printed again: integer
//! text is kept as it is, however wide (a `u128` would come back as a float), and a string
//! keeps escapes that no Rust string holds (an unpaired surrogate, `"\ud83d"`, which
//! `JSON.stringify` writes for a string cut in the middle of an emoji).

use serde_json::value::RawValue;

/// Largest integer a JavaScript number holds exactly (2^53 - 1).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

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

/// Writes the number `text` as JavaScript would: integer text as it is, a float with an
/// integral value within 2^53 as an integer.
fn push_number(text: &str, out: &mut String) {
    let is_integer = !text.contains(['.', 'e', 'E']);
    let float = text
        .parse::<f64>()
        .ok()
        .filter(|float| !is_integer && float.is_finite());
    match float {
        Some(float) if float.fract() == 0.0 && float.abs() <= MAX_SAFE_INTEGER => {
            // Exact: the value is integral and within 2^53.
            #[allow(clippy::cast_possible_truncation)]
            let integer = float as i64;
            out.push_str(&integer.to_string());
        }
        Some(float) => out.push_str(
            &serde_json::Number::from_f64(float)
                .map_or_else(|| text.to_owned(), |number| number.to_string()),
        ),
        None => out.push_str(text),
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
