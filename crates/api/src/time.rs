//! Unix times as the RFC 3339 text people read in messages.

/// `t` (Unix seconds) as RFC 3339 UTC, e.g. `2026-11-24T16:00:00Z`.
pub(crate) fn rfc3339(t: u64) -> String {
    let t = i64::try_from(t).unwrap_or(i64::MAX);
    ::time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&::time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| format!("unix time {t}"))
}
