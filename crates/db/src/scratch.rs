//! Throwaway databases for tests and benchmarks: each wants an empty database of its own on a
//! server it may create databases on.

use sqlx::{Connection, PgConnection};

use crate::{Error, Result};

/// The server tests and benchmarks create their databases on: `PACTUM_TEST_DATABASE_URL`, else
/// the local cluster's `postgres` database.
pub fn admin_url() -> String {
    std::env::var("PACTUM_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Creates an empty database named `{prefix}_{pid}_{nanos}` on the server `admin` points at and
/// returns its URL. `prefix` must be a plain SQL identifier.
pub async fn create(admin: &str, prefix: &str) -> Result<String> {
    let plain = prefix.starts_with(|c: char| c.is_ascii_lowercase())
        && prefix.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !plain {
        return Err(Error::Sqlx(sqlx::Error::Configuration(
            format!("the database prefix {prefix:?} is not a plain SQL identifier").into(),
        )));
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let name = format!("{prefix}_{}_{nanos}", std::process::id());
    let Some((base, _)) = admin.rsplit_once('/') else {
        return Err(Error::Sqlx(sqlx::Error::Configuration(
            format!("the admin URL {admin} has no database part").into(),
        )));
    };
    let mut conn = PgConnection::connect(admin).await?;
    // Identifiers cannot be bound parameters; `name` is the checked prefix plus digits.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await?;
    Ok(format!("{base}/{name}"))
}
