//! `GET /v1/agreements` over HTTP on a synthetic ledger (rows written straight into
//! `agreements`; no chain needed, the list never asks the node): every filter combination paged
//! small equals the same filter in one page, a cursor from another filter is a position, and
//! malformed input is refused with its code.

use eyre::Result;
use pactum_api::Config;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{fresh_db, serve};

/// 90 agreements, three per block, accounts 0x…01 to 0x…05 in overlapping roles (0x…01 is
/// brand, creator and arbiter, sometimes of one agreement), two tokens, every status.
const GENERATE: &str = "INSERT INTO agreements (chain_id, id, brand, creator, arbiter, token, \
    milestone_count, status, funded_count, terminated_by, contested, since, total_amount, \
    funded, paid_to_creator, refunded_to_brand, arbiter_fees, created_block, created_block_hash, \
    created_tx_hash, created_log_index, created_at, updated_block, updated_block_hash, \
    updated_tx_hash, updated_log_index) \
  SELECT $1, decode(lpad(to_hex(i), 64, '0'), 'hex'), \
    decode(lpad(to_hex((ARRAY[1, 2, 3])[1 + i % 3]), 40, '0'), 'hex'), \
    decode(lpad(to_hex((ARRAY[2, 1, 4, 1, 5])[1 + i % 5]), 40, '0'), 'hex'), \
    decode(lpad(to_hex((ARRAY[0, 3, 1, 4])[1 + i % 4]), 40, '0'), 'hex'), \
    decode(lpad(to_hex((ARRAY[0, 255])[1 + i % 2]), 40, '0'), 'hex'), 1, \
    (ARRAY['active','terminating','closing','completed','terminated','revoked'])[1 + (i * 7) % 6], \
    1, 0, false, 0, 1, 1, 0, 0, 0, 100 + i / 3, '\\x00', '\\x00', i % 3, \
    1000000 + (100 + i / 3) * 12, 100 + i / 3, '\\x00', '\\x00', 0 \
  FROM generate_series(0, 89) AS i";

fn addr(n: u8) -> String {
    format!("0x{:040x}", n)
}

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn get(&self, query: &str) -> Result<(StatusCode, Value)> {
        let res = self.http.get(format!("{}/v1/agreements?{query}", self.base)).send().await?;
        Ok((res.status(), res.json().await?))
    }

    /// Every page of a query, following `next`; the ids in order.
    async fn walk(&self, query: &str, limit: u32) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let q = match &cursor {
                Some(c) => format!("{query}&limit={limit}&cursor={c}"),
                None => format!("{query}&limit={limit}"),
            };
            let (status, page) = self.get(&q).await?;
            assert_eq!(status, StatusCode::OK, "{q}: {page}");
            out.extend(ids(&page));
            match page["next"].as_str() {
                Some(n) => cursor = Some(n.to_owned()),
                None => return Ok(out),
            }
        }
    }
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["id"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn every_filter_combination_pages_exactly() -> Result<()> {
    let pool = fresh_db().await?;
    let chain_id = 31_337;
    sqlx::query(GENERATE).bind(chain_id).execute(&pool).await?;
    // The list never calls the node: an address nothing listens on.
    let cfg = Config::new(chain_id as u64, alloy::primitives::Address::ZERO);
    let base = serve(cfg, pool, "http://127.0.0.1:9".parse()?).await?;
    let api = Api { base, http: reqwest::Client::new() };

    let (_, everything) = api.get("limit=200").await?;
    let everything = ids(&everything);
    assert_eq!(everything.len(), 90);
    let parties = [
        String::new(),
        format!("party={}", addr(1)),
        format!("party={}&role=brand", addr(1)),
        format!("party={}&role=creator", addr(1)),
        format!("party={}&role=arbiter", addr(1)),
    ];
    let mut checked = 0;
    for party in &parties {
        for status in ["", "status=active"] {
            for token in [String::new(), format!("token={}", addr(255))] {
                for time in ["", "from=1001300", "to=1001500", "from=1001300&to=1001500"] {
                    let query = [party.as_str(), status, token.as_str(), time]
                        .into_iter()
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                        .join("&");
                    let (status, one) = api.get(&format!("{query}&limit=200")).await?;
                    assert_eq!(status, StatusCode::OK, "{query}: {one}");
                    let one = ids(&one);
                    // One page holds them all, in the list's order.
                    let order: Vec<&String> =
                        everything.iter().filter(|id| one.contains(id)).collect();
                    assert_eq!(order, one.iter().collect::<Vec<_>>(), "{query}");
                    assert_eq!(api.walk(&query, 2).await?, one, "{query} in pages of 2");
                    checked += usize::from(!one.is_empty());
                }
            }
        }
    }
    assert!(checked > 40, "most combinations match something ({checked})");

    // The role filter and the any-role filter differ as they should.
    let any = api.walk(&format!("party={}", addr(1)), 200).await?;
    let mut by_role = Vec::new();
    for role in ["brand", "creator", "arbiter"] {
        by_role.extend(api.walk(&format!("party={}&role={role}", addr(1)), 200).await?);
    }
    assert!(by_role.len() > any.len(), "account 1 holds two roles in some agreements");
    by_role.sort();
    by_role.dedup();
    let mut any_sorted = any.clone();
    any_sorted.sort();
    assert_eq!(by_role, any_sorted);

    // A cursor from another filter is a position: the party's agreements after that row.
    let (_, active) = api.get("status=active&limit=3").await?;
    let cursor = active["next"].as_str().unwrap_or_default().to_owned();
    let last = ids(&active).pop().unwrap_or_default();
    let at = everything.iter().position(|id| *id == last).unwrap_or_default();
    let want: Vec<String> =
        everything[at + 1..].iter().filter(|id| any.contains(id)).cloned().collect();
    let (status, page) = api.get(&format!("party={}&limit=200&cursor={cursor}", addr(1))).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&page), want);
    assert!(!want.is_empty() && want.len() < any.len());
    // A cursor past the end: an empty last page.
    let (status, page) = api.get("cursor=999999.0").await?;
    assert_eq!((status, ids(&page).len(), page["next"].is_null()), (StatusCode::OK, 0, true));

    // Malformed input: the existing codes.
    for (query, code) in [
        ("cursor=abc", "invalid_cursor"),
        ("cursor=12", "invalid_cursor"),
        ("cursor=1.2.3", "invalid_cursor"),
        ("cursor=99999999999999999999.1", "invalid_cursor"),
        ("cursor=1.99999999999", "invalid_cursor"),
        ("role=brand", "invalid_role"),
        ("party=0x0000000000000000000000000000000000000001&role=payer", "invalid_role"),
        ("status=lost", "invalid_status"),
        ("token=0x12", "invalid_address"),
        ("limit=201", "invalid_limit"),
    ] {
        let (status, body) = api.get(query).await?;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code)),
            "{query}: {body}"
        );
    }
    Ok(())
}
