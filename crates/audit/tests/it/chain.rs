//! `pactum_audit::reconcile` from the chain alone.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use alloy::{
    primitives::{Address, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
};
use eyre::{ensure, Result};
use pactum_audit::reconcile::{reconcile, Error, Options, Report, SignedAmount};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::scenario::{deploy, Expected, ETHER, USD};

fn reader(url: &str) -> Result<DynProvider> {
    Ok(ProviderBuilder::new().disable_recommended_fillers().connect_http(url.parse()?).erased())
}

fn token(r: &Report, t: Address) -> Result<&pactum_audit::reconcile::TokenFigures> {
    r.tokens.iter().find(|f| f.token == t).ok_or_else(|| eyre::eyre!("no figures for {t}"))
}

/// Every exit in ETH and pUSD: each token's balance is exactly what open agreements hold plus the
/// credit never withdrawn, figures worked out by hand; a pUSD transfer straight to the escrow
/// then shows as a surplus of exactly that amount (reported, and not a failure), while the report
/// pinned at the earlier block is unchanged.
#[tokio::test]
async fn every_exit_reconciles_to_the_unit_and_a_stray_transfer_is_surplus() -> Result<()> {
    let mut s = deploy().await?;
    s.play().await?;
    let node = reader(&s.anvil.endpoint())?;
    let (escrow, usd) = (s.address(), s.usd_address());
    let opts = Options { from_block: Some(s.start_block), ..Options::default() };

    let before = reconcile(&node, escrow, &opts).await?;
    let eth = token(&before, Address::ZERO)?;
    assert_eq!(eth.balance, U256::from(9 * ETHER / 10), "ETH balance");
    assert_eq!(eth.balance, node.get_balance(escrow).await?, "the node's own balance");
    assert_eq!((eth.held, eth.credits), (Expected::eth_held(), Expected::eth_credits()));
    assert_eq!(eth.surplus, SignedAmount::default());
    let pusd = token(&before, usd)?;
    assert_eq!(pusd.balance, U256::from(470 * USD), "pUSD balance");
    assert_eq!((pusd.held, pusd.credits), (Expected::usd_held(), U256::ZERO));
    assert_eq!(pusd.surplus, SignedAmount::default());
    assert_eq!(before.tokens.len(), 2, "ETH and pUSD only: {:?}", before.tokens);
    assert!(before.reconciles());

    // Per agreement, as worked out; the revoked one holds nothing and is not listed.
    let mut held: Vec<_> = before.agreements.iter().map(|a| (a.id, a.held)).collect();
    let mut want = Expected::held(&s.ids);
    held.sort();
    want.sort();
    assert_eq!(held, want);
    assert!(before.agreements.iter().all(|a| a.id != s.ids.revoked));
    let status = |id| before.agreements.iter().find(|a| a.id == id).map(|a| a.status.as_str());
    assert_eq!(status(s.ids.for_cause), Some("closing"));
    assert_eq!(status(s.ids.mutual), Some("terminated"));
    assert_eq!(status(s.ids.dispute_settle), Some("completed"));

    // Credits: the withdrawn one at zero, the kept one as the contract's `claimable` says.
    let credits: Vec<_> =
        before.credits.iter().map(|c| (c.token, c.account, c.amount, c.claimable)).collect();
    let [r0, r1] = [s.refusing[0].address(), s.refusing[1].address()];
    let mut want = vec![
        (Address::ZERO, r0, U256::ZERO, U256::ZERO),
        (Address::ZERO, r1, Expected::eth_credits(), Expected::eth_credits()),
    ];
    want.sort();
    assert_eq!(credits, want);

    // A first block after the deployment would miss the escrow's first events: refused.
    let late = Options { from_block: Some(s.start_block + 1), ..opts.clone() };
    let err = reconcile(&node, escrow, &late).await.expect_err("logs would be missed");
    assert!(matches!(err, Error::LateFromBlock { .. }), "{err}");
    // The committed deployments file names this escrow (the first contract on a fresh anvil).
    assert_eq!(
        pactum_audit::reconcile::known_deployment_block(s.anvil.chain_id(), escrow),
        Some(s.start_block)
    );

    // The deployment block found by bisecting eth_getCode is the one the deployment mined in.
    let found = reconcile(&node, escrow, &Options::default()).await?;
    assert_eq!(found.from_block, s.start_block);
    assert_eq!(found.tokens, before.tokens);

    let stray = U256::from(12_345_678u64);
    s.stray(stray).await?;
    let after = reconcile(&node, escrow, &opts).await?;
    let pusd = token(&after, usd)?;
    assert_eq!(pusd.balance, Expected::usd_held() + stray);
    assert_eq!(pusd.held, Expected::usd_held(), "a stray transfer is nobody's");
    assert_eq!(pusd.surplus, SignedAmount::positive(stray));
    assert_eq!(pusd.surplus.to_string(), "12345678");
    assert_eq!(after.surpluses().count(), 1);
    assert!(after.reconciles(), "a surplus is reported, not a failure");

    // Pinned at the earlier block, the figures are those of that block.
    let pinned =
        reconcile(&node, escrow, &Options { block: Some(before.block.number), ..opts }).await?;
    assert_eq!(pinned, before);

    // The decimal-string encoding of the report.
    let json = serde_json::to_value(&after)?;
    let t = &json["tokens"][1];
    ensure!(t["surplus"] == "12345678" && t["held"] == "470000000", "{json}");
    ensure!(json["block"]["number"].is_string(), "{json}");
    Ok(())
}

/// A node that refuses `eth_getLogs` over more than a few blocks, as hosted nodes do with "query
/// returned more than 10000 results": the range is halved until the node answers, and the figures
/// are those of a node without the limit. A node that refuses even one block is an error after
/// the allowed halvings, not a silent empty history.
#[tokio::test]
async fn a_node_that_limits_get_logs_is_read_in_halves() -> Result<()> {
    let mut s = deploy().await?;
    s.play().await?;
    let escrow = s.address();
    let opts = Options { from_block: Some(s.start_block), ..Options::default() };
    let direct = reconcile(&reader(&s.anvil.endpoint())?, escrow, &opts).await?;

    let refused = Arc::new(AtomicU64::new(0));
    let limited = limiting_proxy(&s.anvil.endpoint(), 4, refused.clone()).await?;
    let report = reconcile(&reader(&limited)?, escrow, &opts).await?;
    assert_eq!(report, direct);
    assert!(refused.load(Ordering::SeqCst) > 0, "the limit never bit: the test proves nothing");

    let refusing = limiting_proxy(&s.anvil.endpoint(), 0, Arc::default()).await?;
    let err = reconcile(&reader(&refusing)?, escrow, &Options { max_halvings: 5, ..opts })
        .await
        .expect_err("a node that answers no range cannot be reconciled");
    assert!(matches!(err, Error::RangeTooLarge { .. }), "{err}");
    assert!(err.is_node());
    Ok(())
}

/// No node, or an address that is not the escrow: an error, never a report.
#[tokio::test]
async fn no_node_or_a_foreign_contract_is_an_error() -> Result<()> {
    let err = reconcile(&reader("http://127.0.0.1:9")?, Address::ZERO, &Options::default())
        .await
        .expect_err("nothing listens on port 9");
    assert!(err.is_node(), "{err}");

    let s = deploy().await?;
    let node = reader(&s.anvil.endpoint())?;
    // pUSD's own logs (Transfer, Approval) are not escrow events.
    let err = reconcile(&node, s.usd_address(), &Options::default())
        .await
        .expect_err("a token is not an escrow");
    assert!(matches!(err, Error::Decode { .. }), "{err}");
    assert!(!err.is_node());
    // An account without code is no escrow either.
    let err = reconcile(&node, s.brand.address(), &Options::default())
        .await
        .expect_err("an account is not an escrow");
    assert!(matches!(err, Error::NotDeployed { .. }), "{err}");
    let err =
        reconcile(&node, s.address(), &Options { block: Some(1_000_000), ..Options::default() })
            .await
            .expect_err("a block past the head");
    assert!(matches!(err, Error::NoSuchBlock(1_000_000)), "{err}");
    Ok(())
}

/// An HTTP proxy to `upstream` that answers `eth_getLogs` over more than `max_blocks` blocks with
/// the error hosted nodes give; counts its refusals.
async fn limiting_proxy(
    upstream: &str,
    max_blocks: u64,
    refused: Arc<AtomicU64>,
) -> Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let upstream = upstream.to_owned();
    let client = alloy::transports::http::reqwest::Client::new();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (upstream, client, refused) = (upstream.clone(), client.clone(), refused.clone());
            tokio::spawn(async move {
                let Some(body) = read_request(&mut sock).await else { return };
                let req: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                let answer = match blocks_asked(&req) {
                    Some(n) if n > max_blocks => {
                        refused.fetch_add(1, Ordering::SeqCst);
                        serde_json::json!({"jsonrpc": "2.0", "id": req["id"], "error": {
                            "code": -32005, "message": "query returned more than 10000 results"}})
                        .to_string()
                        .into_bytes()
                    }
                    _ => match client
                        .post(&upstream)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                    {
                        Ok(r) => r.bytes().await.map(|b| b.to_vec()).unwrap_or_default(),
                        Err(_) => return,
                    },
                };
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    answer.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(&answer).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    Ok(url)
}

/// The number of blocks an `eth_getLogs` request spans.
fn blocks_asked(req: &serde_json::Value) -> Option<u64> {
    if req["method"] != "eth_getLogs" {
        return None;
    }
    let block = |k: &str| {
        req["params"][0][k]
            .as_str()
            .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
    };
    Some(block("toBlock")? - block("fromBlock")? + 1)
}

/// One HTTP/1.1 request's body (by Content-Length).
async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().ok()))
            .flatten()?;
        while buf.len() < end + 4 + len {
            let n = sock.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        return Some(buf[end + 4..end + 4 + len].to_vec());
    }
}
