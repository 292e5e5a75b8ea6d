//! `pactum`: the command-line entry point of Pactum.
//!
//! `index` runs the indexer that mirrors the escrow into PostgreSQL; `serve` runs the HTTP API
//! over it. `typed-data` and `recover`
//! prepare and check what parties sign: the EIP-712 typed data of an agreement (exactly what a
//! wallet's `eth_signTypedData_v4` takes, with the agreement id the escrow will store) and the
//! signer a signature recovers to.

mod demo;
mod deploy;
mod dev;
mod index;
mod reconcile;
mod serve;
mod settings;
mod verify;

use std::{fs, path::PathBuf};

use alloy::primitives::{Address, Bytes, B256};
use clap::{Parser, Subcommand};
use eyre::{Context, Result};
use pactum_core::{agreement_id, agreement_typed_data, domain, recover_signer, Agreement};

/// Escrowed brand–creator agreements with an auditable ledger.
#[derive(Debug, Parser)]
#[command(name = "pactum", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Mirror the escrow's events into PostgreSQL and follow the chain (Ctrl-C or SIGTERM stops it
    /// between batches).
    Index(index::IndexArgs),
    /// Run the whole stack on this machine: anvil with the contracts, PostgreSQL, the indexer and
    /// the API; Ctrl-C stops everything it started.
    Dev(dev::DevArgs),
    /// Play one agreement's whole life through the API of a running `pactum dev`, step by step,
    /// and verify its audit bundle.
    Demo(demo::DemoArgs),
    /// Deploy the escrow to a chain (key from a keystore or PACTUM_DEPLOYER_KEY, never a flag) and
    /// print the chain id, address and block to configure.
    Deploy(deploy::DeployArgs),
    /// Serve the HTTP API (wallet sign-in, drafts, signatures, reads) over the indexer's database.
    Serve(serve::ServeArgs),
    /// Print an agreement's id and the EIP-712 typed data both parties sign, as JSON.
    TypedData {
        /// The agreement as JSON (the escrow's `Agreement` struct; amounts and times as strings).
        agreement: PathBuf,
        /// Chain id of the escrow's network.
        #[arg(long, env = "PACTUM_CHAIN_ID")]
        chain_id: u64,
        /// Address of the escrow contract.
        #[arg(long, env = "PACTUM_ESCROW")]
        escrow: Address,
    },
    /// Check an audit bundle against any node, trusting only the escrow you name (or the committed
    /// deployments file): completeness, order and names of its events, money, signatures, terms,
    /// the off-chain log and the exporter's signature. Exit codes: 0 verified, 1 a check failed,
    /// 2 the bundle or the node could not be read.
    Verify(verify::VerifyArgs),
    /// Reconcile the escrow's money from a node alone: per token, balance = what open agreements
    /// hold + unwithdrawn credits + surplus; with --database-url, also the indexer's mirror,
    /// agreement by agreement. Exits 0 if it reconciles (a surplus is printed, not a failure), 1
    /// on a shortfall, a credit the contract disagrees with or a mirror difference, 2 if the node
    /// or database could not be read.
    Reconcile(reconcile::ReconcileArgs),
    /// Print the account a 65-byte ECDSA signature of a digest recovers to.
    Recover {
        /// The 32-byte digest that was signed (0x-prefixed hex).
        #[arg(long)]
        digest: B256,
        /// The signature (0x-prefixed hex of r, s, v).
        signature: Bytes,
    },
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Index(args) => {
            tokio::runtime::Runtime::new()?.block_on(index::run(args))?;
        }
        Command::Dev(args) => {
            tokio::runtime::Runtime::new()?.block_on(dev::run(args))?;
        }
        Command::Demo(args) => {
            tokio::runtime::Runtime::new()?.block_on(demo::run(args))?;
        }
        Command::Deploy(args) => {
            tokio::runtime::Runtime::new()?.block_on(deploy::run(args))?;
        }
        Command::Serve(args) => {
            tokio::runtime::Runtime::new()?.block_on(serve::run(args))?;
        }
        Command::TypedData { agreement, chain_id, escrow } => {
            let text = fs::read_to_string(&agreement)
                .wrap_err_with(|| format!("reading {}", agreement.display()))?;
            let agreement: Agreement = serde_json::from_str(&text)
                .wrap_err_with(|| format!("{} is not an agreement", agreement.display()))?;
            let domain = domain(chain_id, escrow);
            let out = serde_json::json!({
                "id": agreement_id(&agreement, &domain),
                "typedData": agreement_typed_data(&agreement, &domain)?,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Command::Verify(args) => {
            let code = tokio::runtime::Runtime::new()?.block_on(verify::run(args));
            if code != 0 {
                std::process::exit(code);
            }
        }
        Command::Reconcile(args) => {
            let code = tokio::runtime::Runtime::new()?.block_on(reconcile::run(args));
            std::process::exit(code);
        }
        Command::Recover { digest, signature } => {
            println!("{}", recover_signer(digest, &signature)?);
        }
    }
    Ok(())
}
