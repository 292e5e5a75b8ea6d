//! `pactum reconcile`: the escrow's money from a node alone, and optionally the indexer's
//! database compared with it agreement by agreement.
//!
//! Exit codes: 0 when the escrow reconciles (no shortfall, every credit as the contract's
//! `claimable` says, and with `--database-url` no difference from the mirror); a surplus (money
//! nobody is owed, e.g. a token sent straight to the escrow) is printed but does not fail it.
//! 1 when it does not. 2 when it could not be computed: the node or the database could not be
//! read, the address is not the escrow, or the block is not mirrored.

use std::collections::BTreeMap;

use alloy::{
    primitives::{Address, B256},
    providers::{Provider, ProviderBuilder},
};
use clap::Args;
use eyre::{bail, eyre, Context, Result};
use pactum_audit::reconcile::{self as audit, Comparison, Mirror, Report};
use serde::Serialize;

use crate::settings::{ESCROW, RPC_URL};

/// Flags of `pactum reconcile`; each also reads the environment variable named in its help.
#[derive(Debug, Args)]
pub(crate) struct ReconcileArgs {
    /// JSON-RPC URL of a node of the escrow's chain (one that keeps old state, to read balances
    /// at --block and to find the deployment block).
    #[arg(long, env = "PACTUM_RPC_URL")]
    rpc_url: Option<String>,
    /// The escrow's address.
    #[arg(long, env = "PACTUM_ESCROW")]
    escrow: Option<Address>,
    /// The escrow's deployment block, where its logs start [default: the committed deployments
    /// file's, for the escrow it lists; else found from the node by bisecting eth_getCode].
    #[arg(long, env = "PACTUM_START_BLOCK")]
    from_block: Option<u64>,
    /// The block to reconcile at [default: the latest; with --database-url, the block the
    /// indexer has mirrored up to].
    #[arg(long)]
    block: Option<u64>,
    /// Print the figures as JSON (integers as decimal strings) instead of a table.
    #[arg(long)]
    json: bool,
    /// Also compare with the indexer's PostgreSQL mirror at the same block (read only).
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
}

/// The mirror's side, when a database was given.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DatabaseSide {
    /// The block the indexer has mirrored up to.
    indexed_block: String,
    /// The mirror's hash of the block reconciled, if it still keeps it.
    block_hash: Option<B256>,
    /// Whether that hash differs from the node's.
    block_hash_differs: bool,
    /// Agreements the mirror has at the block.
    agreements: String,
    /// What differs.
    differences: Comparison,
}

/// Everything `--json` prints.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Output {
    /// Whether it reconciles (the exit code is 0).
    reconciles: bool,
    /// The chain's figures.
    chain: Report,
    /// The mirror compared with them.
    database: Option<DatabaseSide>,
}

/// Runs the command; returns the exit code.
pub(crate) async fn run(args: ReconcileArgs) -> i32 {
    match reconcile(args).await {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("pactum reconcile: could not reconcile: {e:#}");
            2
        }
    }
}

async fn reconcile(args: ReconcileArgs) -> Result<bool> {
    // No config file here: a flag or its variable.
    let rpc_url = args.rpc_url.ok_or_else(|| RPC_URL.missing_flag_or_env())?;
    let escrow = args.escrow.ok_or_else(|| ESCROW.missing_flag_or_env())?;
    let url = rpc_url.parse().wrap_err_with(|| format!("RPC URL {rpc_url:?}"))?;
    let provider = ProviderBuilder::new().disable_recommended_fillers().connect_http(url).erased();

    // With a database, the block is the mirror's unless an earlier one is named.
    let mut mirror = None;
    let mut block = args.block;
    if let Some(db_url) = &args.database_url {
        let pool = pactum_db::reconcile::connect_read(db_url)
            .await
            .wrap_err("connecting to PostgreSQL")?;
        let chain_id = provider.get_chain_id().await.wrap_err("eth_chainId")?;
        let mut conn = pool.acquire().await.wrap_err("connecting to PostgreSQL")?;
        let checkpoint = pactum_db::checkpoint(&mut conn, chain_id)
            .await?
            .ok_or_else(|| eyre!("the database mirrors nothing of chain {chain_id} yet"))?;
        if checkpoint.escrow != escrow {
            bail!("the database mirrors escrow {}, not {escrow}", checkpoint.escrow);
        }
        let at = block.unwrap_or(checkpoint.block_number);
        if at > checkpoint.block_number {
            bail!(
                "the database is mirrored up to block {}; name that block or an earlier one",
                checkpoint.block_number
            );
        }
        block = Some(at);
        let held = pactum_db::reconcile::held_at(&mut conn, chain_id, at).await?;
        let credits = pactum_db::reconcile::credits_at(&mut conn, chain_id, at).await?;
        let hash = if at == checkpoint.block_number {
            Some(checkpoint.block_hash)
        } else {
            pactum_db::block_hash(&mut conn, chain_id, at).await?
        };
        let parse = |what: &str, s: &str| {
            s.parse::<audit::SignedAmount>().wrap_err_with(|| format!("the mirror's {what} sum"))
        };
        mirror = Some((
            checkpoint.block_number,
            hash,
            Mirror {
                agreements: held
                    .iter()
                    .map(|r| {
                        Ok(audit::MirrorAgreement {
                            id: r.id,
                            token: r.token,
                            held: parse("held", &r.held)?,
                        })
                    })
                    .collect::<Result<_>>()?,
                credits: credits
                    .iter()
                    .map(|r| {
                        Ok(audit::MirrorCredit {
                            token: r.token,
                            account: r.account,
                            amount: parse("credit", &r.amount)?,
                        })
                    })
                    .collect::<Result<_>>()?,
            },
        ));
    }

    // Without --from-block: the committed deployments file's block for this escrow, else found
    // from the node.
    let from_block = match args.from_block {
        Some(b) => Some(b),
        None => {
            let chain_id = provider.get_chain_id().await.wrap_err("eth_chainId")?;
            audit::known_deployment_block(chain_id, escrow)
        }
    };
    let opts = audit::Options { from_block, block, ..audit::Options::default() };
    let report = audit::reconcile(&provider, escrow, &opts).await?;
    let database = mirror.map(|(indexed, hash, m)| DatabaseSide {
        indexed_block: indexed.to_string(),
        block_hash: hash,
        block_hash_differs: hash.is_some_and(|h| h != report.block.hash),
        agreements: m.agreements.len().to_string(),
        differences: audit::compare(&report, &m),
    });
    let reconciles = report.reconciles()
        && database.as_ref().is_none_or(|d| d.differences.matches() && !d.block_hash_differs);
    let out = Output { reconciles, chain: report, database };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_table(&out);
    }
    Ok(reconciles)
}

fn token_name(t: Address) -> String {
    if t.is_zero() {
        "ETH".to_owned()
    } else {
        t.to_string()
    }
}

fn print_table(out: &Output) {
    let r = &out.chain;
    println!(
        "escrow {} at block {} ({}); {} events from block {}, {} agreements",
        r.escrow,
        r.block.number,
        r.block.hash,
        r.events,
        r.from_block,
        r.agreements.len()
    );
    println!();
    // Columns as wide as their longest figure: amounts are up to 78 digits.
    let rows: Vec<[String; 5]> = r
        .tokens
        .iter()
        .map(|t| {
            [
                token_name(t.token),
                t.balance.to_string(),
                t.held.to_string(),
                t.credits.to_string(),
                t.surplus.to_string(),
            ]
        })
        .collect();
    let header = ["token", "balance", "held", "credits", "surplus"].map(str::to_owned);
    let mut width = [0usize; 5];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |row: &[String; 5]| {
        format!(
            "{:<w0$}  {:>w1$}  {:>w2$}  {:>w3$}  {:>w4$}",
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            w0 = width[0],
            w1 = width[1],
            w2 = width[2],
            w3 = width[3],
            w4 = width[4]
        )
    };
    println!("{}", line(&header));
    for (t, row) in r.tokens.iter().zip(&rows) {
        let note = if t.shortfall() {
            "  SHORTFALL"
        } else if t.surplus.is_positive() {
            "  (surplus: nobody is owed it)"
        } else {
            ""
        };
        println!("{}{note}", line(row));
    }
    let mismatches: Vec<_> = r.claimable_mismatches().collect();
    println!();
    if mismatches.is_empty() {
        println!(
            "credits: {} account(s), each as the contract's claimable() says",
            r.credits.len()
        );
    } else {
        for c in mismatches {
            println!(
                "CREDIT MISMATCH {} {}: events say {}, claimable() says {}",
                token_name(c.token),
                c.account,
                c.amount,
                c.claimable
            );
        }
    }
    if let Some(d) = &out.database {
        let diff = &d.differences;
        let count = diff.agreements.len() + diff.credits.len() + usize::from(d.block_hash_differs);
        if count == 0 {
            println!(
                "database (mirrored up to block {}): matches at block {} ({} agreements)",
                d.indexed_block, r.block.number, d.agreements
            );
        } else {
            println!(
                "database (mirrored up to block {}): {count} difference(s) at block {}",
                d.indexed_block, r.block.number
            );
        }
        if d.block_hash_differs {
            println!(
                "  block hash: node {}, database {}",
                r.block.hash,
                d.block_hash.unwrap_or_default()
            );
        }
        let tokens: BTreeMap<B256, Address> =
            r.agreements.iter().map(|a| (a.id, a.token)).collect();
        for a in &diff.agreements {
            let token = a.chain_token.or(a.database_token).or(tokens.get(&a.id).copied());
            println!(
                "  agreement {} ({}): chain holds {}, database says {}{}",
                a.id,
                token.map(token_name).unwrap_or_default(),
                a.chain,
                a.database,
                if a.chain_token.is_some()
                    && a.database_token.is_some()
                    && a.chain_token != a.database_token
                {
                    format!(" (token: chain {:?}, database {:?})", a.chain_token, a.database_token)
                } else {
                    String::new()
                }
            );
        }
        for c in &diff.credits {
            println!(
                "  credit {} of {}: chain {}, database {}",
                token_name(c.token),
                c.account,
                c.chain,
                c.database
            );
        }
    }
    println!();
    println!("{}", if out.reconciles { "reconciles" } else { "DOES NOT RECONCILE" });
}
