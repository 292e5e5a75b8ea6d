//! Sign-In with Ethereum (EIP-4361) messages: a strict parser and formatter, and the checks a
//! server makes of a message's fields before it looks at the signature.
//!
//! Written here rather than taken from the `siwe` crate, which brings its own signature stack
//! (another k256/sha3 line than the one alloy pulls in); parsing the message is the whole job and
//! the signature is checked with alloy (`eip191_hash` + recovery, or EIP-1271) by the caller.
//!
//! A server verifies the text the wallet signed, byte for byte ([`SiweText`]), never its own
//! re-formatting of the parsed fields: libraries write the same fields in more than one way
//! (`2026-01-01T00:00:00.000Z` and `2026-01-01T00:00:00Z` are the same instant, an empty
//! `Resources:` section may be present or not), and each way is a different signed message.

use std::{fmt, str::FromStr};

use alloy::primitives::{eip191_hash_message, Address, B256};
use time::{format_description::well_known::Rfc3339, OffsetDateTime};

/// Clock skew tolerated for `Issued At` in the future and `Not Before`.
pub const CLOCK_SKEW_SECS: i64 = 60;

/// Why a message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SiweError {
    /// The text is not an EIP-4361 message.
    #[error("not a Sign-In with Ethereum message: {0}")]
    Malformed(String),
    /// The address line is not an EIP-55 checksummed address.
    #[error("the address {0:?} is not EIP-55 checksummed")]
    BadAddress(String),
    /// Only version 1 exists.
    #[error("SIWE version {0:?} is not supported (only \"1\")")]
    BadVersion(String),
    /// Nonces are at least 8 alphanumeric characters.
    #[error("the nonce {0:?} is not at least 8 alphanumeric characters")]
    BadNonce(String),
    /// A timestamp is not RFC 3339.
    #[error("{field} {value:?} is not an RFC 3339 timestamp")]
    BadTimestamp {
        /// The field.
        field: &'static str,
        /// Its text.
        value: String,
    },
    /// The message is for another site.
    #[error("the message is for domain {got:?}, not {expected:?}")]
    DomainMismatch {
        /// Expected.
        expected: String,
        /// In the message.
        got: String,
    },
    /// The message is for another URI.
    #[error("the message is for URI {got:?}, not {expected:?}")]
    UriMismatch {
        /// Expected.
        expected: String,
        /// In the message.
        got: String,
    },
    /// The message is for another chain.
    #[error("the message is for chain {got}, not {expected}")]
    ChainMismatch {
        /// Expected.
        expected: u64,
        /// In the message.
        got: u64,
    },
    /// The message names another scheme than the server's (`scheme://domain`, optional).
    #[error("the message is for scheme {got:?}, not {expected:?}")]
    SchemeMismatch {
        /// Expected (the scheme of the server's URI).
        expected: String,
        /// In the message.
        got: String,
    },
    /// The message expired.
    #[error("the message expired at {0}")]
    Expired(String),
    /// The message is not valid yet.
    #[error("the message is not valid before {0}")]
    NotYetValid(String),
    /// Issued in the future (beyond the tolerated skew).
    #[error("the message was issued in the future ({0})")]
    IssuedInFuture(String),
}

impl SiweError {
    /// A stable machine-readable code.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "siwe_malformed",
            Self::BadAddress(_) => "siwe_bad_address",
            Self::BadVersion(_) => "siwe_bad_version",
            Self::BadNonce(_) => "siwe_bad_nonce",
            Self::BadTimestamp { .. } => "siwe_bad_timestamp",
            Self::DomainMismatch { .. } => "siwe_domain_mismatch",
            Self::UriMismatch { .. } => "siwe_uri_mismatch",
            Self::ChainMismatch { .. } => "siwe_chain_mismatch",
            Self::SchemeMismatch { .. } => "siwe_scheme_mismatch",
            Self::Expired(_) => "siwe_expired",
            Self::NotYetValid(_) => "siwe_not_yet_valid",
            Self::IssuedInFuture(_) => "siwe_issued_in_future",
        }
    }
}

/// An EIP-4361 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiweMessage {
    /// The site asking for the sign-in (`host[:port]`).
    pub domain: String,
    /// The account signing in.
    pub address: Address,
    /// A sentence for the user, if any.
    pub statement: Option<String>,
    /// The resource the sign-in is for.
    pub uri: String,
    /// Always "1".
    pub version: String,
    /// The chain the account is on.
    pub chain_id: u64,
    /// The server's single-use nonce.
    pub nonce: String,
    /// When the message was made.
    pub issued_at: OffsetDateTime,
    /// When it stops being valid.
    pub expiration_time: Option<OffsetDateTime>,
    /// When it starts being valid.
    pub not_before: Option<OffsetDateTime>,
    /// A request id, if any.
    pub request_id: Option<String>,
    /// Resources the sign-in covers.
    pub resources: Vec<String>,
}

/// What a server expects of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiweExpectations {
    /// Its own domain.
    pub domain: String,
    /// Its URI.
    pub uri: String,
    /// Its chain.
    pub chain_id: u64,
}

const HEADER: &str = " wants you to sign in with your Ethereum account:";

/// An RFC 3339 `date-time` (`full-date "T" full-time`; the `time` crate would also take any other
/// separator than `T`).
fn timestamp(field: &'static str, value: &str) -> Result<OffsetDateTime, SiweError> {
    let bad = || SiweError::BadTimestamp { field, value: value.to_owned() };
    if !matches!(value.as_bytes().get(10), Some(b'T' | b't')) {
        return Err(bad());
    }
    OffsetDateTime::parse(value, &Rfc3339).map_err(|_| bad())
}

fn rfc3339(t: &OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.unix_timestamp().to_string())
}

impl SiweMessage {
    /// The expiration as Unix seconds (a fraction of a second is dropped: the earlier second).
    pub fn expiration_unix(&self) -> Option<i64> {
        self.expiration_time.map(OffsetDateTime::unix_timestamp)
    }

    /// Checks domain, URI, chain, and the time fields at `now` (Unix seconds): not issued in the
    /// future, not expired, valid already (with [`CLOCK_SKEW_SECS`] of tolerance for clocks ahead).
    /// An expiration time is optional (EIP-4361); how long a session lasts is the server's call.
    pub fn verify_fields(&self, expect: &SiweExpectations, now: i64) -> Result<(), SiweError> {
        if self.domain != expect.domain {
            return Err(SiweError::DomainMismatch {
                expected: expect.domain.clone(),
                got: self.domain.clone(),
            });
        }
        if self.uri != expect.uri {
            return Err(SiweError::UriMismatch {
                expected: expect.uri.clone(),
                got: self.uri.clone(),
            });
        }
        if self.chain_id != expect.chain_id {
            return Err(SiweError::ChainMismatch { expected: expect.chain_id, got: self.chain_id });
        }
        if self.issued_at.unix_timestamp() > now + CLOCK_SKEW_SECS {
            return Err(SiweError::IssuedInFuture(rfc3339(&self.issued_at)));
        }
        if let Some(expires) = self.expiration_time {
            if expires.unix_timestamp() <= now {
                return Err(SiweError::Expired(rfc3339(&expires)));
            }
        }
        if let Some(nb) = self.not_before {
            if nb.unix_timestamp() > now + CLOCK_SKEW_SECS {
                return Err(SiweError::NotYetValid(rfc3339(&nb)));
            }
        }
        Ok(())
    }
}

impl fmt::Display for SiweMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}{HEADER}", self.domain)?;
        writeln!(f, "{}", self.address.to_checksum(None))?;
        writeln!(f)?;
        if let Some(s) = &self.statement {
            writeln!(f, "{s}")?;
        }
        writeln!(f)?;
        writeln!(f, "URI: {}", self.uri)?;
        writeln!(f, "Version: {}", self.version)?;
        writeln!(f, "Chain ID: {}", self.chain_id)?;
        writeln!(f, "Nonce: {}", self.nonce)?;
        write!(f, "Issued At: {}", rfc3339(&self.issued_at))?;
        if let Some(t) = &self.expiration_time {
            write!(f, "\nExpiration Time: {}", rfc3339(t))?;
        }
        if let Some(t) = &self.not_before {
            write!(f, "\nNot Before: {}", rfc3339(t))?;
        }
        if let Some(r) = &self.request_id {
            write!(f, "\nRequest ID: {r}")?;
        }
        if !self.resources.is_empty() {
            write!(f, "\nResources:")?;
            for r in &self.resources {
                write!(f, "\n- {r}")?;
            }
        }
        Ok(())
    }
}

/// A message as the wallet signed it: the exact text, and what it says.
///
/// The signature is checked over [`SiweText::eip191_hash`], the EIP-191 hash of the text as
/// received. Re-formatting the parsed fields ([`SiweMessage`]'s `Display`) would check another
/// message whenever the signer's library wrote a field another way than this crate does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiweText {
    text: String,
    scheme: Option<String>,
    message: SiweMessage,
}

impl SiweText {
    /// Parses `text` strictly (EIP-4361's grammar) and keeps it as it is.
    pub fn parse(text: &str) -> Result<Self, SiweError> {
        let (scheme, message) = parse(text)?;
        Ok(Self { text: text.to_owned(), scheme, message })
    }

    /// The text, exactly as received.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The scheme before the domain (`https://example.com wants you…`), if the message has one.
    pub fn scheme(&self) -> Option<&str> {
        self.scheme.as_deref()
    }

    /// What the message says.
    pub fn message(&self) -> &SiweMessage {
        &self.message
    }

    /// The digest a wallet's `personal_sign` of this text signs (EIP-191): the hash of the bytes
    /// received, not of a re-formatting.
    pub fn eip191_hash(&self) -> B256 {
        eip191_hash_message(self.text.as_bytes())
    }

    /// [`SiweMessage::verify_fields`], and a scheme, when the message has one, must be the scheme
    /// of the server's URI.
    pub fn verify_fields(&self, expect: &SiweExpectations, now: i64) -> Result<(), SiweError> {
        if let Some(got) = &self.scheme {
            let expected = expect.uri.split_once("://").map_or("", |(scheme, _)| scheme);
            if !got.eq_ignore_ascii_case(expected) {
                return Err(SiweError::SchemeMismatch {
                    expected: expected.to_owned(),
                    got: got.clone(),
                });
            }
        }
        self.message.verify_fields(expect, now)
    }
}

impl FromStr for SiweText {
    type Err = SiweError;

    fn from_str(text: &str) -> Result<Self, SiweError> {
        Self::parse(text)
    }
}

impl FromStr for SiweMessage {
    type Err = SiweError;

    /// The fields of a message. A scheme before the domain is checked for form, but only
    /// [`SiweText`] keeps it; verify a received message as a [`SiweText`].
    fn from_str(text: &str) -> Result<Self, SiweError> {
        parse(text).map(|(_, message)| message)
    }
}

/// An RFC 3986 scheme: `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// An RFC 3986 authority, loosely: not empty, no whitespace, no path, query or fragment.
fn is_authority(s: &str) -> bool {
    !s.is_empty() && !s.contains(|c: char| c.is_whitespace() || matches!(c, '/' | '?' | '#'))
}

/// The grammar of EIP-4361, line by line: the optional scheme, and the message.
fn parse(text: &str) -> Result<(Option<String>, SiweMessage), SiweError> {
    let malformed = |why: &str| SiweError::Malformed(why.to_owned());
    let mut lines = text.split('\n').peekable();
    let origin = lines.next().and_then(|l| l.strip_suffix(HEADER)).ok_or_else(|| {
        malformed(
            "the first line must be \"[scheme://]<domain> wants you to sign in with your Ethereum account:\"",
        )
    })?;
    let (scheme, domain) = match origin.split_once("://") {
        Some((scheme, domain)) if is_scheme(scheme) => (Some(scheme.to_owned()), domain),
        Some(_) => return Err(malformed("the scheme before the domain is not an RFC 3986 scheme")),
        None => (None, origin),
    };
    if !is_authority(domain) {
        return Err(malformed("the domain is not an RFC 3986 authority (host[:port])"));
    }
    let domain = domain.to_owned();
    let address_text = lines.next().ok_or_else(|| malformed("no address line"))?;
    if !(address_text.len() == 42 && address_text.starts_with("0x")) {
        return Err(SiweError::BadAddress(address_text.to_owned()));
    }
    let address = Address::parse_checksummed(address_text, None)
        .map_err(|_| SiweError::BadAddress(address_text.to_owned()))?;
    if lines.next() != Some("") {
        return Err(malformed("an empty line must follow the address"));
    }
    // `[ statement LF ] LF`: an empty line (no statement), or the statement and an empty line. The
    // statement may be empty (the `siwe` library writes `statement: ""` so): two empty lines.
    let statement = match lines.next() {
        Some("") if lines.peek() == Some(&"") => {
            lines.next();
            Some(String::new())
        }
        Some("") => None,
        Some(s) if !s.starts_with("URI: ") => {
            if lines.next() != Some("") {
                return Err(malformed("an empty line must follow the statement"));
            }
            Some(s.to_owned())
        }
        _ => return Err(malformed("an empty line must precede URI")),
    };
    let mut field = |name: &str| -> Result<String, SiweError> {
        let line = lines.next().ok_or_else(|| malformed(&format!("missing {name}")))?;
        line.strip_prefix(name)
            .and_then(|r| r.strip_prefix(": "))
            .map(str::to_owned)
            .ok_or_else(|| malformed(&format!("expected \"{name}: …\", found {line:?}")))
    };
    let uri = field("URI")?;
    if uri.is_empty() || uri.contains(char::is_whitespace) {
        return Err(malformed("URI is not an RFC 3986 URI"));
    }
    let version = field("Version")?;
    if version != "1" {
        return Err(SiweError::BadVersion(version));
    }
    let chain_id = field("Chain ID")?;
    if chain_id.is_empty() || !chain_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed("Chain ID is not a number"));
    }
    let chain_id = chain_id.parse::<u64>().map_err(|_| malformed("Chain ID is too large"))?;
    let nonce = field("Nonce")?;
    if nonce.len() < 8 || !nonce.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(SiweError::BadNonce(nonce));
    }
    let issued_at = timestamp("Issued At", &field("Issued At")?)?;
    let mut msg = SiweMessage {
        domain,
        address,
        statement,
        uri,
        version,
        chain_id,
        nonce,
        issued_at,
        expiration_time: None,
        not_before: None,
        request_id: None,
        resources: Vec::new(),
    };
    // Optional fields, in the order the standard gives them.
    let mut order = 0;
    while let Some(line) = lines.next() {
        let (rank, rest) = if let Some(v) = line.strip_prefix("Expiration Time: ") {
            msg.expiration_time = Some(timestamp("Expiration Time", v)?);
            (1, false)
        } else if let Some(v) = line.strip_prefix("Not Before: ") {
            msg.not_before = Some(timestamp("Not Before", v)?);
            (2, false)
        } else if let Some(v) = line.strip_prefix("Request ID: ") {
            msg.request_id = Some(v.to_owned());
            (3, false)
        } else if line == "Resources:" {
            (4, true)
        } else {
            return Err(malformed(&format!("unexpected line {line:?}")));
        };
        if rank <= order {
            return Err(malformed(&format!("{line:?} is out of order or repeated")));
        }
        order = rank;
        if rest {
            // `Resources:` then zero or more `- <uri>` lines, to the end.
            for r in lines.by_ref() {
                let r = r
                    .strip_prefix("- ")
                    .filter(|r| !r.is_empty() && !r.contains(char::is_whitespace))
                    .ok_or_else(|| malformed("resources are \"- <uri>\" lines"))?;
                msg.resources.push(r.to_owned());
            }
        }
    }
    Ok((scheme, msg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::signers::{local::PrivateKeySigner, SignerSync};

    /// The example of EIP-4361.
    const SPEC: &str = "service.org wants you to sign in with your Ethereum account:\n\
        0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2\n\n\
        I accept the ServiceOrg Terms of Service: https://service.org/tos\n\n\
        URI: https://service.org/login\n\
        Version: 1\n\
        Chain ID: 1\n\
        Nonce: 32891756\n\
        Issued At: 2021-09-30T16:25:24Z\n\
        Resources:\n\
        - ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/\n\
        - https://example.com/my-web2-claim.json";

    fn expect() -> SiweExpectations {
        SiweExpectations {
            domain: "service.org".into(),
            uri: "https://service.org/login".into(),
            chain_id: 1,
        }
    }

    #[test]
    fn spec_example_parses_and_round_trips() {
        let m: SiweMessage = SPEC.parse().unwrap();
        assert_eq!(m.domain, "service.org");
        assert_eq!(m.chain_id, 1);
        assert_eq!(m.nonce, "32891756");
        assert_eq!(m.resources.len(), 2);
        assert_eq!(m.issued_at.unix_timestamp(), 1_633_019_124);
        assert_eq!(m.to_string(), SPEC);
    }

    #[test]
    fn without_statement_round_trips() {
        let text =
            SPEC.replace("I accept the ServiceOrg Terms of Service: https://service.org/tos\n", "");
        let m: SiweMessage = text.parse().unwrap();
        assert_eq!(m.statement, None);
        assert_eq!(m.to_string(), text);
    }

    #[test]
    fn malformed_messages_get_their_codes() {
        let cases = [
            (
                SPEC.replace(
                    "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
                    "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2",
                ),
                "siwe_bad_address",
            ),
            (SPEC.replace("Version: 1", "Version: 2"), "siwe_bad_version"),
            (SPEC.replace("Nonce: 32891756", "Nonce: 123"), "siwe_bad_nonce"),
            (SPEC.replace("Nonce: 32891756", "Nonce: 1234-5678"), "siwe_bad_nonce"),
            (SPEC.replace("2021-09-30T16:25:24Z", "yesterday"), "siwe_bad_timestamp"),
            (SPEC.replace("Chain ID: 1\n", ""), "siwe_malformed"),
            (SPEC.replace("Chain ID: 1\n", "Chain ID: +1\n"), "siwe_malformed"),
            (
                SPEC.replace("Chain ID: 1\n", "Chain ID: 99999999999999999999999\n"),
                "siwe_malformed",
            ),
            (SPEC.replace("0xC02a", "C02a"), "siwe_bad_address"),
            (SPEC.replace("2021-09-30T16:25:24Z", "2021-09-30 16:25:24Z"), "siwe_bad_timestamp"),
            (format!("{SPEC}\n"), "siwe_malformed"),
            (SPEC.replace('\n', "\r\n"), "siwe_malformed"),
            (SPEC.replace("- https://", "-https://"), "siwe_malformed"),
            (SPEC.replace("\n\nURI: ", "\n\n\n\nURI: "), "siwe_malformed"),
            (SPEC.replace(" wants you", " would like you"), "siwe_malformed"),
            (format!("{SPEC}\nExtra: line"), "siwe_malformed"),
        ];
        for (text, code) in cases {
            let err = text.parse::<SiweMessage>().unwrap_err();
            assert_eq!(err.code(), code, "{text}");
        }
    }

    #[test]
    fn fields_are_checked_against_the_server() {
        let issued = 1_633_019_124;
        let text = SPEC.replace(
            "Issued At: 2021-09-30T16:25:24Z",
            "Issued At: 2021-09-30T16:25:24Z\nExpiration Time: 2021-09-30T17:25:24Z",
        );
        let m: SiweMessage = text.parse().unwrap();
        assert_eq!(m.expiration_unix(), Some(issued + 3600));
        assert_eq!(m.to_string(), text);
        // Optional fields out of the standard's order are refused.
        let swapped = SPEC.replace(
            "Issued At: 2021-09-30T16:25:24Z",
            "Issued At: 2021-09-30T16:25:24Z\nRequest ID: 7\nExpiration Time: 2021-09-30T17:25:24Z",
        );
        assert_eq!(swapped.parse::<SiweMessage>().unwrap_err().code(), "siwe_malformed");

        assert!(m.verify_fields(&expect(), issued + 10).is_ok());
        let code = |e: &SiweExpectations, now| m.verify_fields(e, now).unwrap_err().code();
        assert_eq!(code(&expect(), issued + 3600), "siwe_expired");
        assert_eq!(code(&expect(), issued - 61), "siwe_issued_in_future");
        assert_eq!(
            code(&SiweExpectations { domain: "evil.org".into(), ..expect() }, issued),
            "siwe_domain_mismatch"
        );
        assert_eq!(
            code(&SiweExpectations { uri: "https://evil.org".into(), ..expect() }, issued),
            "siwe_uri_mismatch"
        );
        assert_eq!(
            code(&SiweExpectations { chain_id: 5, ..expect() }, issued),
            "siwe_chain_mismatch"
        );
        let mut early = m.clone();
        early.not_before = Some(OffsetDateTime::from_unix_timestamp(issued + 600).unwrap());
        assert_eq!(
            early.verify_fields(&expect(), issued).unwrap_err().code(),
            "siwe_not_yet_valid"
        );
        // No expiration time is fine (EIP-4361 makes it optional): the server sets the lifetime.
        let mut forever = m.clone();
        forever.expiration_time = None;
        assert_eq!(forever.verify_fields(&expect(), issued + 10 * 365 * 86_400), Ok(()));
    }

    #[test]
    fn a_wallet_signature_recovers_to_the_address() {
        let key = PrivateKeySigner::random();
        let mut m: SiweMessage = SPEC.parse().unwrap();
        m.address = key.address();
        let text = SiweText::parse(&m.to_string()).unwrap();
        let sig = key.sign_message_sync(text.text().as_bytes()).unwrap();
        assert_eq!(sig.recover_address_from_prehash(&text.eip191_hash()).unwrap(), key.address());
    }

    /// What libraries write that this crate's formatter would write another way: the text is kept,
    /// and its hash is the hash of the text, not of the re-formatting.
    #[test]
    fn other_forms_parse_and_keep_their_text() {
        let forms = [
            // Milliseconds, as JavaScript's `toISOString` writes them.
            SPEC.replace("2021-09-30T16:25:24Z", "2021-09-30T16:25:24.000Z"),
            SPEC.replace("2021-09-30T16:25:24Z", "2021-09-30T16:25:24.250Z"),
            // An empty `Resources:` section (`resources: []`).
            format!("{}\nResources:", SPEC.split("\nResources:").next().unwrap()),
        ];
        for form in forms {
            let text = SiweText::parse(&form).unwrap();
            assert_eq!(text.text(), form);
            assert_ne!(text.message().to_string(), form, "{form}");
            assert_eq!(text.eip191_hash(), eip191_hash_message(form.as_bytes()));
            assert_eq!(text.message().issued_at.unix_timestamp(), 1_633_019_124);
        }
        // An empty statement (`statement: ""` in the `siwe` library): two empty lines for it.
        let text =
            SPEC.replace("I accept the ServiceOrg Terms of Service: https://service.org/tos", "");
        let empty: SiweMessage = text.parse().unwrap();
        assert_eq!(empty.statement.as_deref(), Some(""));
        assert_eq!(empty.to_string(), text);
        // An offset other than Z is RFC 3339 too, and the formatter keeps it.
        let offset = SPEC.replace("2021-09-30T16:25:24Z", "2021-09-30T18:25:24+02:00");
        let m: SiweMessage = offset.parse().unwrap();
        assert_eq!(m.issued_at.unix_timestamp(), 1_633_019_124);
        assert_eq!(m.to_string(), offset);
    }

    #[test]
    fn a_scheme_before_the_domain_is_kept_and_checked() {
        let text =
            SiweText::parse(&SPEC.replacen("service.org", "https://service.org", 1)).unwrap();
        assert_eq!(text.scheme(), Some("https"));
        assert_eq!(text.message().domain, "service.org");
        let issued = 1_633_019_124;
        assert_eq!(text.verify_fields(&expect(), issued), Ok(()));
        let plain = SiweExpectations { uri: "http://service.org/login".into(), ..expect() };
        assert_eq!(text.verify_fields(&plain, issued).unwrap_err().code(), "siwe_scheme_mismatch");
        // Without a scheme, nothing to check.
        assert_eq!(
            SiweText::parse(SPEC).unwrap().verify_fields(&plain, issued).map_err(|e| e.code()),
            Err("siwe_uri_mismatch")
        );
        for bad in ["1https://service.org", "://service.org", "https://", "https://service.org/x"] {
            let err = SiweText::parse(&SPEC.replacen("service.org", bad, 1)).unwrap_err();
            assert_eq!(err.code(), "siwe_malformed", "{bad}");
        }
    }
}
