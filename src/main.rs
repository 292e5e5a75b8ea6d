//! `pactum`: the command-line entry point of Pactum.
//!
//! `index` runs the indexer that mirrors the escrow into PostgreSQL. `typed-data` and `recover`
//! prepare and check what parties sign: the EIP-712 typed data of an agreement (exactly what a
//! wallet's `eth_signTypedData_v4` takes, with the agreement id the escrow will store) and the
//! signer a signature recovers to.

mod index;

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
        Command::Recover { digest, signature } => {
            println!("{}", recover_signer(digest, &signature)?);
        }
    }
    Ok(())
}
