//! The notification list and the live stream's replay at scale: both statements walk the
//! audience's primary key from the cursor (EXPLAIN ANALYZE on 120,000 notifications, for an
//! account with 40,000 of them, one with 2,000 and one with 40, custom and generic plans): no
//! sequential scan, no sort, and a page reads its own rows only.

use alloy::primitives::Address;
use pactum_db::feed::{page, Page, NEWEST_BELOW, OLDEST_ABOVE};
use serde_json::Value;
use sqlx::Connection;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn account(n: u64) -> Address {
    let mut b = [0u8; 20];
    b[12..].copy_from_slice(&n.to_be_bytes());
    Address::from(b)
}

/// Every node of a plan, depth first.
fn nodes<'a>(plan: &'a Value, out: &mut Vec<&'a Value>) {
    out.push(plan);
    for p in plan["Plans"].as_array().into_iter().flatten() {
        nodes(p, out);
    }
}

/// `EXPLAIN ANALYZE` of `sql` for `account` and cursor `bound`, pages of 100; `generic`: planned
/// without its values, as a prepared statement is after five runs.
async fn explain(
    conn: &mut sqlx::PgConnection,
    sql: &str,
    account: Address,
    bound: i64,
    generic: bool,
) -> Result<Value> {
    if !generic {
        let explain = format!("EXPLAIN (ANALYZE, FORMAT JSON) {sql}");
        return Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(explain))
            .bind(vec![1i64])
            .bind(account.to_vec())
            .bind(bound)
            .bind(100i64)
            .fetch_one(&mut *conn)
            .await?);
    }
    // The statement is the crate's constant; the values are numbers and hex made here.
    sqlx::query(sqlx::AssertSqlSafe(format!("PREPARE shape AS {sql}"))).execute(&mut *conn).await?;
    sqlx::query("SET plan_cache_mode = force_generic_plan").execute(&mut *conn).await?;
    let plan = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE shape('{{1}}'::int8[], '\\x{}'::bytea, {bound}, 100)",
        alloy::hex::encode(account)
    )))
    .persistent(false)
    .fetch_one(&mut *conn)
    .await;
    sqlx::query("RESET plan_cache_mode").execute(&mut *conn).await?;
    sqlx::query("DEALLOCATE shape").execute(&mut *conn).await?;
    Ok(plan?)
}

#[tokio::test]
async fn the_list_and_the_replay_read_an_index_from_one_end() -> Result<()> {
    let url = pactum_db::scratch::create(&pactum_db::scratch::admin_url(), "pactum_feed").await?;
    let pool = pactum_db::connect(&url, 2).await?;
    // 120,000 notifications on chain 1: every third to account 7 (40,000), the rest spread over
    // 2,000 accounts; each heard by one account.
    sqlx::query(
        "INSERT INTO notifications (id, type, chain_id, occurred_at, data) \
         SELECT i, 'milestones.funded', 1, i, '{}'::jsonb FROM generate_series(1, 120000) i",
    )
    .execute(&pool)
    .await?;
    sqlx::query(
        "INSERT INTO notification_audience (account, notification_id, role) \
         SELECT decode(lpad(to_hex(CASE WHEN i % 3 = 0 THEN 7 WHEN i % 40 = 1 THEN 8 \
                                        ELSE 100 + i % 2000 END), 40, '0'), \
                       'hex'), i, 'brand' FROM generate_series(1, 120000) i",
    )
    .execute(&pool)
    .await?;
    sqlx::query("ANALYZE").execute(&pool).await?;
    let heavy = account(7);
    // Account 100 hears 60 of the 120,000: a plan that walks the id index and filters by account
    // would read them all.
    let sparse = account(100);
    let mut conn = pool.acquire().await?;
    for (who, acct) in [("heavy", heavy), ("middling", account(8)), ("sparse", sparse)] {
        for (sql, bound, what) in [
            (NEWEST_BELOW, i64::MAX, "newest page"),
            (NEWEST_BELOW, 60_000, "deep page"),
            (OLDEST_ABOVE, 0, "replay from the start"),
            (OLDEST_ABOVE, 119_000, "replay near the head"),
        ] {
            for generic in [false, true] {
                let what = format!("{who} {what}{}", if generic { " (generic plan)" } else { "" });
                let plan = explain(&mut conn, sql, acct, bound, generic).await?;
                let mut all = Vec::new();
                nodes(&plan[0]["Plan"], &mut all);
                let kinds: Vec<&str> = all.iter().filter_map(|n| n["Node Type"].as_str()).collect();
                assert!(
                    !kinds.contains(&"Seq Scan") && !kinds.contains(&"Sort"),
                    "{what}: {kinds:?}"
                );
                let audience = all
                    .iter()
                    .find(|n| n["Relation Name"] == "notification_audience")
                    .ok_or("no read of notification_audience")?;
                let rows = |k: &str| audience[k].as_f64().unwrap_or(0.0);
                let read = rows("Actual Rows") + rows("Rows Removed by Filter");
                assert!(
                    read <= 400.0,
                    "{what}: read {read} audience rows for a page of 100: {audience}"
                );
            }
        }
    }
    // And the pages themselves: the newest first, the replay oldest first, each exactly 100.
    let newest = page(&mut conn, &[1], heavy, Page::Before(i64::MAX), 100).await?;
    assert_eq!(newest.first().map(|r| r.id), Some(120_000));
    assert_eq!(newest.last().map(|r| r.id), Some(120_000 - 99 * 3));
    let replay = page(&mut conn, &[1], heavy, Page::After(3), 100).await?;
    assert_eq!(replay.first().map(|r| r.id), Some(6));
    assert_eq!(replay.len(), 100);
    assert_eq!(pactum_db::feed::latest_id(&mut conn).await?, 120_000);
    drop(conn);
    pool.close().await;
    let name = url.rsplit('/').next().unwrap_or_default();
    let mut admin = sqlx::PgConnection::connect(&pactum_db::scratch::admin_url()).await?;
    // `name` is what `scratch::create` made: a checked prefix and digits.
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
        .execute(&mut admin)
        .await?;
    Ok(())
}
