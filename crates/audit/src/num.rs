//! The bundle's one number encoding: every integer, whatever its width, is a JSON string of its
//! decimal digits (no sign, no leading zero, no `0x`). JSON numbers lose precision above 2^53 in
//! most languages, and two encodings (small numbers bare, large ones hex) was a trap for
//! verifiers written elsewhere; a decimal string reads the same in every language.

use std::{fmt::Display, str::FromStr};

use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

/// Whether `s` is a canonical decimal: digits only, no leading zero unless it is `0`.
pub fn is_canonical_decimal(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
}

/// Parses a canonical decimal string into any integer type.
pub fn parse<T: FromStr>(s: &str) -> Result<T, String>
where
    T::Err: Display,
{
    if !is_canonical_decimal(s) {
        return Err(format!(
            "{s:?} is not a decimal integer string (digits only, no leading zero)"
        ));
    }
    s.parse::<T>().map_err(|e| format!("{s:?}: {e}"))
}

/// `#[serde(with = "num::dec")]` for one integer.
pub mod dec {
    use super::*;

    /// Writes the integer as a decimal string.
    pub fn serialize<T: Display, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    /// Reads a canonical decimal string.
    pub fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
    where
        T: FromStr,
        T::Err: Display,
        D: Deserializer<'de>,
    {
        let s = String::deserialize(d)?;
        parse(&s).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::U256;

    #[test]
    fn only_canonical_decimals_parse() {
        assert_eq!(parse::<u64>("0"), Ok(0));
        assert_eq!(
            parse::<U256>(
                "115792089237316195423570985008687907853269984665640564039457584007913129639935"
            ),
            Ok(U256::MAX)
        );
        for bad in ["", "01", "-1", "+1", "0x10", "1e3", " 1", "1.0", "１"] {
            assert!(parse::<U256>(bad).is_err(), "{bad:?} parsed");
        }
        assert!(parse::<u8>("256").is_err());
    }
}
