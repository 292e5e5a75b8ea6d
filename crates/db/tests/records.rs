//! Conversion records and their periods' Merkle trees against a real PostgreSQL: ingest is
//! idempotent by conversion id and all-or-nothing (a conflict or an invalid record writes nothing;
//! an invalid record is refused before the database is touched), reversals, a period's bounds,
//! keyset pages, trees stored once by root, and a proof for every record of a 1,000-record period
//! that `merkle::verify` accepts.

use alloy::primitives::{B256, U256};
use pactum_core::merkle::{self, RecordError, Tree};
use pactum_db::records::{
    ingest, period_records, period_records_page, proof, reverse, store_tree, trees, NewRecord,
    Record, ReverseOutcome,
};
use sqlx::{Connection, PgConnection, PgPool};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const CHAIN: u64 = 31337;

async fn fresh_db(prefix: &str) -> Result<(PgPool, String)> {
    let url = pactum_db::scratch::create(&pactum_db::scratch::admin_url(), prefix).await?;
    Ok((pactum_db::connect(&url, 4).await?, url))
}

async fn drop_db(pool: PgPool, url: &str) -> Result<()> {
    pool.close().await;
    let name = url.rsplit('/').next().unwrap_or_default();
    let mut admin = PgConnection::connect(&pactum_db::scratch::admin_url()).await?;
    // `name` is what `scratch::create` made: a checked prefix and digits.
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
        .execute(&mut admin)
        .await?;
    Ok(())
}

fn agreement(n: u8) -> B256 {
    B256::repeat_byte(n)
}

fn rec(id: &str, occurred_at: u64, revenue: u64) -> NewRecord {
    Record { conversion_id: id.to_owned(), occurred_at, revenue: U256::from(revenue) }
}

async fn count(conn: &mut PgConnection, table: &str) -> Result<i64> {
    let sql = format!("SELECT count(*) FROM {table}");
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(conn).await?)
}

async fn all(conn: &mut PgConnection, a: B256) -> Result<Vec<Record>> {
    Ok(period_records(conn, CHAIN, a, 0, u64::MAX, true)
        .await?
        .into_iter()
        .map(|r| r.record)
        .collect())
}

#[tokio::test]
async fn ingest_is_idempotent_and_all_or_nothing() -> Result<()> {
    let (pool, url) = fresh_db("records_ingest").await?;
    let mut conn = pool.acquire().await?;
    let a = agreement(1);
    let big = Record {
        conversion_id: "0f8fad5b-d9cb-469f-a165-70867728950e".into(),
        occurred_at: i64::MAX as u64,
        revenue: U256::MAX,
    };
    let batch = vec![rec("ord-1", 100, 5), rec("ord-2", 200, 0), big.clone()];

    let first = ingest(&mut conn, CHAIN, a, &batch).await?;
    assert!(first.applied());
    assert_eq!((first.inserted, first.unchanged), (3, 0));
    // The extremes round-trip: 2^256 - 1 in NUMERIC(78,0), i64::MAX seconds.
    let stored = all(&mut conn, a).await?;
    assert!(stored.contains(&big), "{stored:?}");

    // Re-sent: unchanged. Re-sent with a new one and a repeat inside the batch.
    let again = ingest(&mut conn, CHAIN, a, &batch).await?;
    assert_eq!((again.inserted, again.unchanged), (0, 3));
    let mixed = vec![rec("ord-1", 100, 5), rec("ord-3", 300, 7), rec("ord-3", 300, 7)];
    let out = ingest(&mut conn, CHAIN, a, &mixed).await?;
    assert!(out.applied());
    assert_eq!((out.inserted, out.unchanged), (1, 2));
    assert_eq!(count(&mut conn, "conversion_records").await?, 4);

    // A conflict with the ledger: reported, and the batch's new record is not written either.
    let conflict = vec![rec("ord-4", 400, 1), rec("ord-2", 200, 1), rec("ord-1", 101, 5)];
    let out = ingest(&mut conn, CHAIN, a, &conflict).await?;
    assert!(!out.applied());
    assert_eq!(out.conflicting, vec!["ord-1".to_owned(), "ord-2".to_owned()]);
    assert_eq!((out.inserted, out.unchanged), (0, 0));
    assert_eq!(count(&mut conn, "conversion_records").await?, 4);
    let stored = all(&mut conn, a).await?;
    assert!(stored.contains(&rec("ord-1", 100, 5)) && stored.contains(&rec("ord-2", 200, 0)));

    // A conflict within the batch: reported, nothing written.
    let out = ingest(&mut conn, CHAIN, a, &[rec("ord-5", 1, 1), rec("ord-5", 1, 2)]).await?;
    assert_eq!(out.conflicting, vec!["ord-5".to_owned()]);
    assert_eq!(count(&mut conn, "conversion_records").await?, 4);

    // Another agreement has ids of its own.
    let out = ingest(&mut conn, CHAIN, agreement(2), &[rec("ord-1", 1, 1)]).await?;
    assert_eq!((out.inserted, out.unchanged), (1, 0));
    let out = ingest(&mut conn, CHAIN + 1, a, &[rec("ord-1", 1, 1)]).await?;
    assert_eq!((out.inserted, out.unchanged), (1, 0));

    // Inside a caller's transaction: a savepoint, so a conflict leaves the caller's work alone.
    let mut tx = Connection::begin(&mut *conn).await?;
    let out = ingest(&mut tx, CHAIN, a, &[rec("ord-6", 6, 6)]).await?;
    assert_eq!(out.inserted, 1);
    let out = ingest(&mut tx, CHAIN, a, &[rec("ord-7", 7, 7), rec("ord-6", 6, 7)]).await?;
    assert_eq!(out.conflicting, vec!["ord-6".to_owned()]);
    let out = ingest(&mut tx, CHAIN, a, &[rec("ord-7", 7, 7)]).await?;
    assert_eq!(out.inserted, 1);
    tx.commit().await?;
    let ids: Vec<String> = all(&mut conn, a).await?.into_iter().map(|r| r.conversion_id).collect();
    assert!(ids.contains(&"ord-6".to_owned()) && ids.contains(&"ord-7".to_owned()), "{ids:?}");

    drop(conn);
    drop_db(pool, &url).await
}

#[tokio::test]
async fn invalid_records_are_refused_before_any_write() -> Result<()> {
    let (pool, url) = fresh_db("records_invalid").await?;
    let mut conn = pool.acquire().await?;
    let a = agreement(1);
    let batch = vec![
        rec("ord-1", 1, 1),
        rec("jane.doe@example.com", 2, 2),
        rec("John Smith", 3, 3),
        rec("john.smith", 4, 4),
        rec("ord-5", u64::MAX, 5),
    ];
    // An aborted transaction fails every statement: ingest answers without sending one.
    let mut tx = Connection::begin(&mut *conn).await?;
    assert!(sqlx::query("SELECT 1/0").execute(&mut *tx).await.is_err());
    let out = ingest(&mut tx, CHAIN, a, &batch).await?;
    tx.rollback().await?;
    assert!(!out.applied());
    let reasons: Vec<(usize, RecordError)> =
        out.invalid.iter().map(|i| (i.index, i.reason.clone())).collect();
    assert_eq!(
        reasons,
        vec![
            (1, RecordError::LooksLikeEmail),
            (2, RecordError::Whitespace),
            (3, RecordError::LooksLikeName),
            (4, RecordError::OccurredAtOutOfRange(u64::MAX)),
        ]
    );
    assert_eq!(out.invalid[1].conversion_id, "John Smith");
    assert_eq!((out.inserted, out.unchanged), (0, 0));
    // And outside of one, nothing is written either.
    let out = ingest(&mut conn, CHAIN, a, &batch).await?;
    assert_eq!(out.invalid.len(), 4);
    assert_eq!(count(&mut conn, "conversion_records").await?, 0);
    // The table refuses the worst of it (no id, an over-long one) from a writer that bypasses them.
    let bypass = sqlx::query(
        "INSERT INTO conversion_records (chain_id, agreement_id, conversion_id, occurred_at, \
           revenue) VALUES (1, '\\x01', '', 1, 1)",
    )
    .execute(&mut *conn)
    .await;
    assert!(bypass.is_err());

    drop(conn);
    drop_db(pool, &url).await
}

#[tokio::test]
async fn reversals_and_period_bounds() -> Result<()> {
    let (pool, url) = fresh_db("records_periods").await?;
    let mut conn = pool.acquire().await?;
    let a = agreement(3);
    let (from, to) = (1_000u64, 2_000u64);
    let batch = vec![
        rec("before", from - 1, 1),
        rec("first", from, 2),
        rec("last", to - 1, 3),
        rec("after", to, 4),
        rec("mid-1", 1_500, 5),
        rec("mid-2", 1_500, 6),
    ];
    assert_eq!(ingest(&mut conn, CHAIN, a, &batch).await?.inserted, 6);
    let ids = |rows: Vec<pactum_db::records::StoredRecord>| {
        rows.into_iter().map(|r| r.record.conversion_id).collect::<Vec<_>>()
    };
    let period = period_records(&mut conn, CHAIN, a, from, to, false).await?;
    assert!(period.iter().all(|r| r.reversed_at.is_none() && r.received_at > 1_600_000_000));
    assert_eq!(ids(period), ["first", "mid-1", "mid-2", "last"]);

    let wanted = ["mid-1", "last", "nobody", "mid-1"].map(String::from);
    let out = reverse(&mut conn, CHAIN, a, &wanted, 1_900).await?;
    assert_eq!(
        out,
        ReverseOutcome { reversed: 2, already_reversed: 0, unknown: vec!["nobody".to_owned()] }
    );
    let out = reverse(&mut conn, CHAIN, a, &wanted[..2], 1_950).await?;
    assert_eq!(out, ReverseOutcome { reversed: 0, already_reversed: 2, unknown: Vec::new() });
    // Another agreement's record of the same id is not this one.
    let out = reverse(&mut conn, CHAIN, agreement(4), &wanted[..1], 1_950).await?;
    assert_eq!(out.unknown, vec!["mid-1".to_owned()]);

    assert_eq!(
        ids(period_records(&mut conn, CHAIN, a, from, to, false).await?),
        ["first", "mid-2"]
    );
    let with = period_records(&mut conn, CHAIN, a, from, to, true).await?;
    let reversed: Vec<_> =
        with.iter().map(|r| (r.record.conversion_id.as_str(), r.reversed_at)).collect();
    assert_eq!(
        reversed,
        [("first", None), ("mid-1", Some(1_900)), ("mid-2", None), ("last", Some(1_900))]
    );

    // Pages of two walk the period in the same order, each after the last one's cursor.
    let mut walked = Vec::new();
    let mut after: Option<(u64, String)> = None;
    loop {
        let cursor = after.as_ref().map(|(t, id)| (*t, id.as_str()));
        let page = period_records_page(&mut conn, CHAIN, a, from, to, true, cursor, 2).await?;
        let Some(last) = page.last() else { break };
        after = Some((last.record.occurred_at, last.record.conversion_id.clone()));
        assert!(page.len() <= 2);
        walked.extend(page.into_iter().map(|r| r.record.conversion_id));
    }
    assert_eq!(walked, ["first", "mid-1", "mid-2", "last"]);
    let page = period_records_page(&mut conn, CHAIN, a, 0, u64::MAX, false, None, 10).await?;
    assert_eq!(ids(page), ["before", "first", "mid-2", "after"]);

    drop(conn);
    drop_db(pool, &url).await
}

#[tokio::test]
async fn every_record_of_a_stored_tree_proves() -> Result<()> {
    let (pool, url) = fresh_db("records_proofs").await?;
    let mut conn = pool.acquire().await?;
    let a = agreement(5);
    let records: Vec<Record> = (0..1_000u64)
        .map(|i| Record {
            conversion_id: format!("ord-{}", 100_000 + i * 7),
            occurred_at: 1_700_000_000 + i * 60,
            revenue: U256::from(i).pow(U256::from(i % 30)),
        })
        .collect();
    assert_eq!(ingest(&mut conn, CHAIN, a, &records).await?.inserted, 1_000);
    // Another agreement's tree of the same ids must not answer for this one.
    ingest(&mut conn, CHAIN, agreement(6), &records[..10]).await?;

    let period: Vec<Record> = period_records(&mut conn, CHAIN, a, 0, u64::MAX, false)
        .await?
        .into_iter()
        .map(|r| r.record)
        .collect();
    let tree = Tree::from_records(&period)?;
    assert!(store_tree(&mut conn, CHAIN, a, 7, &tree, &period).await?);
    let counts = (
        count(&mut conn, "performance_tree_nodes").await?,
        count(&mut conn, "performance_tree_leaves").await?,
    );
    // 1,999 nodes and 1,000 leaf-map entries, 32 a row.
    assert_eq!(counts, (63, 32));
    // Stored by root: again is nothing.
    assert!(!store_tree(&mut conn, CHAIN, a, 7, &tree, &period).await?);
    let again = (
        count(&mut conn, "performance_tree_nodes").await?,
        count(&mut conn, "performance_tree_leaves").await?,
    );
    assert_eq!(again, counts);
    let stored = trees(&mut conn, CHAIN, a, 7).await?;
    assert_eq!(stored.len(), 1);
    assert_eq!((stored[0].root, stored[0].period, stored[0].leaves), (tree.root(), 7, 1_000));
    assert!(trees(&mut conn, CHAIN, a, 8).await?.is_empty());

    for r in &records {
        let got = proof(&pool, CHAIN, a, tree.root(), &r.conversion_id).await?;
        let got = got.ok_or_else(|| format!("no proof of {}", r.conversion_id))?;
        assert_eq!(&got.record.record, r);
        assert_eq!(got.leaf, r.leaf_hash());
        assert_eq!(Some(got.node_index as usize), tree.leaf_index(&got.leaf));
        assert_eq!(got.proof, tree.proof(got.node_index as usize)?);
        assert!(merkle::verify(tree.root(), got.leaf, &got.proof), "{}", r.conversion_id);
    }
    // A connection serves as well as the pool; a reversed record still proves (it was counted).
    reverse(&mut conn, CHAIN, a, &[records[0].conversion_id.clone()], 1).await?;
    let got = proof(&mut *conn, CHAIN, a, tree.root(), &records[0].conversion_id).await?;
    assert_eq!(got.map(|p| p.record.reversed_at), Some(Some(1)));

    // A record of the agreement that is not in the tree (received after it was built): none.
    for late in ["ord-100001", "ord-1000000", "ord-99", "zzz-1", "0-first"] {
        ingest(&mut conn, CHAIN, a, &[rec(late, 1_700_000_000, 1)]).await?;
        assert_eq!(proof(&pool, CHAIN, a, tree.root(), late).await?, None, "{late}");
    }
    // Unknown record, unknown root, another agreement: none.
    assert_eq!(proof(&pool, CHAIN, a, tree.root(), "ord-1").await?, None);
    assert_eq!(
        proof(&pool, CHAIN, a, B256::repeat_byte(9), &records[1].conversion_id).await?,
        None
    );
    assert_eq!(
        proof(&pool, CHAIN, agreement(6), tree.root(), &records[1].conversion_id).await?,
        None
    );

    // Records that are not the tree's leaves are refused before anything is written.
    let small = Tree::from_records(&period[..3])?;
    assert!(store_tree(&mut conn, CHAIN, a, 8, &small, &period[..4]).await.is_err());
    assert!(store_tree(&mut conn, CHAIN, a, 8, &small, &period[3..6]).await.is_err());
    assert!(trees(&mut conn, CHAIN, a, 8).await?.is_empty());
    // A one-record period: its root is its leaf, its proof empty.
    let one = Tree::from_records(&period[..1])?;
    assert!(store_tree(&mut conn, CHAIN, a, 9, &one, &period[..1]).await?);
    let got = proof(&pool, CHAIN, a, one.root(), &period[0].conversion_id).await?;
    assert_eq!(got.map(|p| (p.leaf, p.proof)), Some((one.root(), Vec::new())));

    drop(conn);
    drop_db(pool, &url).await
}
