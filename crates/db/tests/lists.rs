//! The agreement list at scale: every request shape's statement, exactly as
//! `pactum_db::api::list_agreements` builds it, is served by an index (EXPLAIN on 200,000
//! agreements, one brand with 50,000), as is the one statement that adds a page's milestones
//! (`include=milestones`), and keyset pages are exact (a small set walked page by
//! page in every shape, against a reference computed here).

use alloy::primitives::{Address, B256};
use pactum_db::api::{
    agreement_list_statement, explain_agreement_list, explain_row_details, list_agreements,
    row_details, AgreementFilter, AgreementView, PartyRole,
};
use serde_json::Value;
use sqlx::{Connection, PgPool, Row};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const CHAIN: u64 = 1;

async fn fresh_db(prefix: &str) -> Result<(PgPool, String)> {
    let url = pactum_db::scratch::create(&pactum_db::scratch::admin_url(), prefix).await?;
    Ok((pactum_db::connect(&url, 2).await?, url))
}

/// Drops a database [`fresh_db`] made (the large one takes a few hundred MB).
async fn drop_db(pool: PgPool, url: &str) -> Result<()> {
    pool.close().await;
    let name = url.rsplit('/').next().unwrap_or_default();
    let mut admin = sqlx::PgConnection::connect(&pactum_db::scratch::admin_url()).await?;
    // `name` is what `scratch::create` made: a checked prefix and digits.
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
        .execute(&mut admin)
        .await?;
    Ok(())
}

/// An address from a small number (the synthetic data's accounts).
fn account(n: u64) -> Address {
    let mut b = [0u8; 20];
    b[12..].copy_from_slice(&n.to_be_bytes());
    Address::from(b)
}

/// `n` agreements on chain 1, four per block, block times two seconds apart. Accounts are numbers
/// (see [`account`]): a quarter of all agreements (every fourth) have brand 4096, the rest one of
/// 5,000 brands; creators are 20,000; one in ten has an arbiter (one of 50, numbers from
/// 1,048,576), the others the zero address; seven in ten are in token 255, the others in ETH;
/// statuses cycle through twelve slots, seven of them `completed`.
const GENERATE_SKEWED: &str = "INSERT INTO agreements (chain_id, id, brand, creator, arbiter, \
    token, terms_hash, milestone_count, status, funded_count, terminated_by, contested, since, \
    total_amount, funded, paid_to_creator, refunded_to_brand, arbiter_fees, created_block, \
    created_block_hash, created_tx_hash, created_log_index, created_at, updated_block, \
    updated_block_hash, updated_tx_hash, updated_log_index, revision_rounds) \
  SELECT 1, decode(lpad(to_hex(i), 64, '0'), 'hex'), \
    decode(lpad(to_hex(CASE WHEN i % 4 = 0 THEN 4096 ELSE 8192 + (i * 7919) % 5000 END), 40, '0'), 'hex'), \
    decode(lpad(to_hex(65536 + (i * 104729) % 20000), 40, '0'), 'hex'), \
    decode(lpad(to_hex(CASE WHEN i % 10 = 3 THEN 1048576 + i % 50 ELSE 0 END), 40, '0'), 'hex'), \
    decode(lpad(to_hex(CASE WHEN i % 10 < 7 THEN 255 ELSE 0 END), 40, '0'), 'hex'), \
    decode(repeat('ab', 32), 'hex'), 2, \
    (ARRAY['completed','completed','completed','completed','completed','completed', \
      'completed','active','terminated','revoked','terminating','closing'])[1 + (i * 31) % 12], \
    2, 0, false, 0, 100, 100, 100, 0, 0, i / 4 + 1, decode(repeat('cd', 32), 'hex'), \
    decode(repeat('ef', 32), 'hex'), i % 4, 1700000000 + (i / 4 + 1) * 2, i / 4 + 1, \
    decode(repeat('cd', 32), 'hex'), decode(repeat('ef', 32), 'hex'), i % 4, 2 \
  FROM generate_series(0::bigint, $1 - 1) AS i";

/// Two milestones for each of the first `$1` agreements [`GENERATE_SKEWED`] makes.
const GENERATE_MILESTONES: &str = "INSERT INTO milestones (chain_id, agreement_id, index, amount, \
    deadline, review_window, funded, status, since) \
  SELECT 1, decode(lpad(to_hex(i), 64, '0'), 'hex'), m, 50, 1800000000, 259200, true, 'open', 0 \
  FROM generate_series(0::bigint, $1 - 1) AS i, generate_series(0, 1) AS m";

/// The rows a plan's scans of `table` read (returned or filtered out), when run.
fn rows_read(plan: &Value, table: &str) -> f64 {
    let n = |k: &str| plan[k].as_f64().unwrap_or_default();
    let own = if plan["Relation Name"] == table {
        (n("Actual Rows") + n("Rows Removed by Filter")) * n("Actual Loops")
    } else {
        0.0
    };
    own + plan["Plans"].as_array().into_iter().flatten().map(|c| rows_read(c, table)).sum::<f64>()
}

/// Every shape the list offers: party (none, any role, or one role) × status × token × time range
/// (none, from, to, both) × cursor (none, deep).
fn shapes(
    party: [(Address, Option<PartyRole>); 4],
    status: &str,
    token: Address,
    times: (i64, i64),
    cursor: (i64, i32),
) -> Vec<AgreementFilter> {
    let mut out = Vec::new();
    let parties = [None, Some(party[0]), Some(party[1]), Some(party[2]), Some(party[3])];
    for p in parties {
        for s in [None, Some(status.to_owned())] {
            for t in [None, Some(token)] {
                for (from, to) in [
                    (None, None),
                    (Some(times.0), None),
                    (None, Some(times.1)),
                    (Some(times.0), Some(times.1)),
                ] {
                    for after in [None, Some(cursor)] {
                        out.push(AgreementFilter {
                            party: p.map(|p| p.0),
                            role: p.and_then(|p| p.1),
                            status: s.clone(),
                            token: t,
                            from,
                            to,
                            after,
                        });
                    }
                }
            }
        }
    }
    out
}

/// Why a plan is not one that stays flat: a sequential scan, or a sort of more than `max_sort`
/// rows (the list's order should come from an index; a sort of a few limited branches is fine).
/// Adds up the rows its scans of `agreements` read (returned or filtered out), when run.
fn plan_faults(plan: &Value, max_sort: f64, out: &mut Vec<String>, seen: &mut Seen) {
    let kind = plan["Node Type"].as_str().unwrap_or_default();
    let rows = plan["Plan Rows"].as_f64().unwrap_or_default();
    match kind {
        "Seq Scan" => {
            out.push(format!("Seq Scan on {}", plan["Relation Name"].as_str().unwrap_or_default()))
        }
        "Sort" | "Incremental Sort" if rows > max_sort => {
            out.push(format!("{kind} of {rows} rows"));
        }
        "Index Scan" | "Index Only Scan" => seen.index = true,
        _ => {}
    }
    if plan["Relation Name"] == "agreements" {
        let n = |k: &str| plan[k].as_f64().unwrap_or_default();
        seen.read +=
            (n("Actual Rows") + n("Rows Removed by Filter") + n("Rows Removed by Index Recheck"))
                * n("Actual Loops");
    }
    for child in plan["Plans"].as_array().into_iter().flatten() {
        plan_faults(child, max_sort, out, seen);
    }
}

#[derive(Default)]
struct Seen {
    index: bool,
    read: f64,
}

/// The plan PostgreSQL would cache for the statement (`force_generic_plan`: planned without its
/// values, as a prepared statement is after five runs).
async fn generic_plan(conn: &mut sqlx::PgConnection, sql: &str) -> Result<Value> {
    let params = (1..).take_while(|n| sql.contains(&format!("${n}"))).count();
    // The statement text is the builder's, made of its constants and placeholders only.
    sqlx::query(sqlx::AssertSqlSafe(format!("PREPARE shape AS {sql}"))).execute(&mut *conn).await?;
    sqlx::query("SET plan_cache_mode = force_generic_plan").execute(&mut *conn).await?;
    let nulls = vec!["NULL"; params].join(", ");
    let plan = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "EXPLAIN (FORMAT JSON) EXECUTE shape({nulls})"
    )))
    .persistent(false)
    .fetch_one(&mut *conn)
    .await;
    sqlx::query("RESET plan_cache_mode").execute(&mut *conn).await?;
    sqlx::query("DEALLOCATE shape").execute(&mut *conn).await?;
    Ok(plan?)
}

/// N = 200,000 agreements, one brand with 50,000 of them: each of the list's 160 request shapes
/// (first page and deep cursor, limits 50 and 200), run with `EXPLAIN ANALYZE` as the API runs
/// it, is index scans in the list's order, with no sequential scan and no sort beyond a few
/// limited branches; the shapes with at most one of party, status and token read at most a few
/// rows more than they return. Planned generically too, no shape falls back to a sequential scan
/// or a sort.
#[tokio::test]
async fn list_shapes_use_indexes_at_n_200000() -> Result<()> {
    const N: i64 = 200_000;
    let started = std::time::Instant::now();
    let (pool, url) = fresh_db("pactum_list_plans").await?;
    let mut conn = pool.acquire().await?;
    sqlx::query(GENERATE_SKEWED).bind(N).execute(&mut *conn).await?;
    sqlx::query("ANALYZE agreements").execute(&mut *conn).await?;
    let big_brand = account(4096);
    let brand_count: i64 = sqlx::query_scalar("SELECT count(*) FROM agreements WHERE brand = $1")
        .bind(big_brand.to_vec())
        .fetch_one(&mut *conn)
        .await?;
    assert_eq!(brand_count, N / 4);
    let generated = started.elapsed();

    let party = [
        (big_brand, None),
        (big_brand, Some(PartyRole::Brand)),
        (account(65536 + 7), Some(PartyRole::Creator)),
        (account(1_048_576 + 3), Some(PartyRole::Arbiter)),
    ];
    // Blocks 1 to N / 4, two seconds apart. A wide time range that starts mid-chain: reading the
    // list's order from the start would read 60% of the rows before the first match, reading the
    // range by time and sorting it would sort 30% of them. The cursor is mid-chain too.
    let time_of = |block: i64| 1_700_000_000 + block * 2;
    let times = (time_of(N / 4 * 6 / 10) + 1, time_of(N / 4 * 9 / 10));
    let cursor = (N / 8, 1);
    let mut faults = Vec::new();
    let mut most_read = (0.0, String::new());
    let all = shapes(party, "active", account(255), times, cursor);
    for f in &all {
        let keys = usize::from(f.party.is_some())
            + usize::from(f.status.is_some())
            + usize::from(f.token.is_some());
        for limit in [50, 200] {
            let plan = explain_agreement_list(&mut conn, CHAIN, f, limit, true).await?;
            let mut found = Vec::new();
            let mut seen = Seen::default();
            plan_faults(&plan[0]["Plan"], 3.0 * 200.0, &mut found, &mut seen);
            if !seen.index {
                found.push("no index scan".to_owned());
            }
            // A page reads what it returns, per branch, plus one row per time bound.
            if keys <= 1 && seen.read > 3.0 * limit as f64 + 8.0 {
                found.push(format!("read {} rows for a page of {limit}", seen.read));
            }
            if seen.read > most_read.0 {
                most_read = (seen.read, format!("{f:?} limit {limit}"));
            }
            let sql = agreement_list_statement(CHAIN, f, limit).sql();
            let generic = generic_plan(&mut conn, sql.as_str()).await?;
            plan_faults(&generic[0]["Plan"], 3.0 * 200.0, &mut found, &mut Seen::default());
            if !found.is_empty() {
                faults.push(format!("{f:?} limit {limit}: {found:?}\n{plan:#}\n{generic:#}"));
            }
        }
    }
    assert!(
        faults.is_empty(),
        "{} of {} plans do not stay flat:\n{}",
        faults.len(),
        all.len() * 2,
        faults.join("\n")
    );
    eprintln!(
        "N = {N}: generated and analyzed in {generated:?}; {} shapes run and planned in {:?}; \
         most rows read for one page: {} ({})",
        all.len() * 2,
        started.elapsed() - generated,
        most_read.0,
        most_read.1
    );

    // `include=milestones`: the page's milestones and terminations in one more statement, by the
    // primary keys of both tables, reading only the page's rows (two milestones each here).
    sqlx::query(GENERATE_MILESTONES).bind(N).execute(&mut *conn).await?;
    sqlx::query("ANALYZE milestones").execute(&mut *conn).await?;
    let f = AgreementFilter { party: Some(big_brand), after: Some(cursor), ..Default::default() };
    let page = list_agreements(&mut conn, CHAIN, &f, 200).await?;
    assert_eq!(page.len(), 200);
    let ids: Vec<B256> = page.iter().map(|a| a.id).collect();
    let plan = explain_row_details(&mut conn, CHAIN, &ids).await?;
    let mut found = Vec::new();
    let mut seen = Seen::default();
    plan_faults(&plan[0]["Plan"], 3.0 * 200.0, &mut found, &mut seen);
    let milestones_read = rows_read(&plan[0]["Plan"], "milestones");
    if !seen.index {
        found.push("no index scan".to_owned());
    }
    if seen.read > 200.0 || milestones_read > 400.0 {
        found.push(format!("read {} agreements, {milestones_read} milestones", seen.read));
    }
    assert!(found.is_empty(), "the page's details: {found:?}\n{plan:#}");
    let details = row_details(&mut conn, CHAIN, &ids).await?;
    assert!(ids.iter().all(|id| details.get(id).is_some_and(|d| d.milestones.len() == 2)));
    drop(conn);
    drop_db(pool, &url).await
}

/// The small set the page walks use: `N` agreements, three per block with log indexes 0, 2, 4,
/// two blocks per block time (times repeat: they never decrease, as on chain). Accounts 1 to 5
/// overlap in roles: account 1 is brand, creator and arbiter, sometimes of one agreement.
const GENERATE_OVERLAPPING: &str = "INSERT INTO agreements (chain_id, id, brand, creator, \
    arbiter, token, terms_hash, milestone_count, status, funded_count, terminated_by, contested, \
    since, total_amount, funded, paid_to_creator, refunded_to_brand, arbiter_fees, \
    created_block, created_block_hash, created_tx_hash, created_log_index, created_at, \
    updated_block, updated_block_hash, updated_tx_hash, updated_log_index, revision_rounds) \
  SELECT 1, decode(lpad(to_hex(i), 64, '0'), 'hex'), \
    decode(lpad(to_hex((ARRAY[1, 2, 3])[1 + i % 3]), 40, '0'), 'hex'), \
    decode(lpad(to_hex((ARRAY[2, 1, 4, 1, 5])[1 + i % 5]), 40, '0'), 'hex'), \
    decode(lpad(to_hex((ARRAY[0, 3, 1, 4])[1 + i % 4]), 40, '0'), 'hex'), \
    decode(lpad(to_hex((ARRAY[0, 255, 255])[1 + i % 3 * (i % 2)]), 40, '0'), 'hex'), \
    NULL, 1, \
    (ARRAY['active','terminating','closing','completed','terminated','revoked'])[1 + (i * 7) % 6], \
    1, 0, false, 0, 1, 1, 0, 0, 0, 100 + i / 3, '\\x00', '\\x00', (i % 3) * 2, \
    1000000 + ((100 + i / 3) / 2) * 12, 100 + i / 3, '\\x00', '\\x00', 0, 1 \
  FROM generate_series(0::bigint, $1 - 1) AS i";

/// What the list must return, computed here from every row.
struct Expected {
    id: B256,
    brand: Address,
    creator: Address,
    arbiter: Address,
    token: Address,
    status: String,
    key: (i64, i32),
    at: i64,
}

fn matches(r: &Expected, f: &AgreementFilter) -> bool {
    let party = match (f.party, f.role) {
        (None, _) => true,
        (Some(p), None) => r.brand == p || r.creator == p || r.arbiter == p,
        (Some(p), Some(PartyRole::Brand)) => r.brand == p,
        (Some(p), Some(PartyRole::Creator)) => r.creator == p,
        (Some(p), Some(PartyRole::Arbiter)) => r.arbiter == p,
    };
    party
        && f.status.as_ref().is_none_or(|s| *s == r.status)
        && f.token.is_none_or(|t| t == r.token)
        && f.from.is_none_or(|t| r.at >= t)
        && f.to.is_none_or(|t| r.at < t)
        && f.after.is_none_or(|c| r.key > c)
}

/// Walks a shape page by page (the next cursor from each page's last row, as the API does).
async fn walk(
    conn: &mut sqlx::PgConnection,
    f: &AgreementFilter,
    limit: i64,
) -> Result<Vec<AgreementView>> {
    let mut f = f.clone();
    let mut out = Vec::new();
    loop {
        let page = list_agreements(conn, CHAIN, &f, limit).await?;
        let full = page.len() as i64 == limit;
        f.after = page.last().map(|a| (a.created_block, a.created_log_index)).or(f.after);
        out.extend(page);
        if !full {
            return Ok(out);
        }
    }
}

/// 600 agreements: in every one of the 160 request shapes, walked in pages of 1 (a few shapes)
/// and 7, and from cursors taken from other shapes, the pages together are exactly the matching
/// agreements in chain order: none twice, none missed.
#[tokio::test]
async fn list_pages_are_exact_in_every_shape() -> Result<()> {
    const N: i64 = 600;
    let (pool, url) = fresh_db("pactum_list_pages").await?;
    let mut conn = pool.acquire().await?;
    sqlx::query(GENERATE_OVERLAPPING).bind(N).execute(&mut *conn).await?;
    let rows = sqlx::query(
        "SELECT id, brand, creator, arbiter, token, status, created_block, created_log_index, \
           created_at FROM agreements ORDER BY created_block, created_log_index",
    )
    .fetch_all(&mut *conn)
    .await?;
    let addr = |r: &sqlx::postgres::PgRow, c: &str| -> Result<Address> {
        Ok(Address::from_slice(&r.try_get::<Vec<u8>, _>(c)?))
    };
    let all: Vec<Expected> = rows
        .iter()
        .map(|r| {
            Ok(Expected {
                id: B256::from_slice(&r.try_get::<Vec<u8>, _>("id")?),
                brand: addr(r, "brand")?,
                creator: addr(r, "creator")?,
                arbiter: addr(r, "arbiter")?,
                token: addr(r, "token")?,
                status: r.try_get("status")?,
                key: (r.try_get("created_block")?, r.try_get("created_log_index")?),
                at: r.try_get("created_at")?,
            })
        })
        .collect::<Result<_>>()?;
    // The data has what the shapes need: one account in two roles of one agreement, and times
    // shared by two blocks.
    assert!(all.iter().any(|r| r.brand == account(1) && r.creator == account(1)));
    assert!(all.iter().any(|r| r.brand == account(1) && r.arbiter == account(1)));
    assert!(all.windows(2).any(|w| w[0].at == w[1].at && w[0].key.0 != w[1].key.0));

    let party = [
        (account(1), None),
        (account(1), Some(PartyRole::Brand)),
        (account(1), Some(PartyRole::Creator)),
        (account(1), Some(PartyRole::Arbiter)),
    ];
    // From the middle of a block time shared by two blocks, to a time no block has.
    let times = (1_000_000 + 75 * 12, 1_000_000 + 130 * 12 + 5);
    let cursors = [(150, 2), (151, 3), (0, 0), (10_000, 0)];
    let mut checked = 0;
    for (i, f) in shapes(party, "active", account(255), times, cursors[0]).into_iter().enumerate() {
        let want: Vec<B256> = all.iter().filter(|r| matches(r, &f)).map(|r| r.id).collect();
        let mut sizes = vec![7, 200];
        if i % 16 == 0 {
            sizes.push(1);
        }
        for limit in sizes {
            let got: Vec<B256> = walk(&mut conn, &f, limit).await?.iter().map(|a| a.id).collect();
            assert_eq!(got, want, "{f:?} in pages of {limit}");
            checked += 1;
        }
        // A cursor from another shape (or one no shape returned) is a position: what follows it.
        for c in cursors {
            let f = AgreementFilter { after: Some(c), ..f.clone() };
            let want: Vec<B256> = all.iter().filter(|r| matches(r, &f)).map(|r| r.id).collect();
            let got: Vec<B256> = walk(&mut conn, &f, 9).await?.iter().map(|a| a.id).collect();
            assert_eq!(got, want, "{f:?} in pages of 9");
        }
    }
    assert!(checked > 320);
    // Each page of a shape is one statement; the party shape without a role merges three.
    let sql = agreement_list_statement(
        CHAIN,
        &AgreementFilter { party: Some(account(1)), ..AgreementFilter::default() },
        5,
    )
    .sql();
    assert_eq!(sql.as_str().matches("UNION ALL").count(), 2, "{}", sql.as_str());
    assert!(!sql.as_str().contains("IS NULL OR"), "{}", sql.as_str());
    drop(conn);
    drop_db(pool, &url).await
}
