//! `pactum verify`: checks an audit bundle against a node with `pactum-audit`'s verifier, trusting
//! the escrow the auditor names (or the committed deployments file), never the bundle's own.
//! A `pactum-performance-bundle/1` bundle goes to the performance verifier, trusting the contract
//! named by `--performance`.
//! Exit codes: 0 verified, 1 a check failed, 2 the bundle, the deployments or the node could not
//! be read.

use std::path::PathBuf;

use alloy::{
    primitives::Address,
    providers::{Provider, ProviderBuilder},
};
use clap::Args;
use pactum_audit::{
    deployments::Deployments,
    performance::PerformanceTrust,
    verify::{Report, Status, Trust},
};

/// Arguments of `pactum verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The bundle (JSON, as `GET /v1/agreements/{id}/audit-bundle` returns it).
    bundle: PathBuf,
    /// JSON-RPC URL of a node of the bundle's chain.
    #[arg(long, env = "PACTUM_RPC_URL")]
    rpc_url: String,
    /// The escrow to trust [default: the bundle's chain's entry in the deployments file].
    #[arg(long)]
    escrow: Option<Address>,
    /// A deployments file to take the trusted escrow from [default: the committed
    /// deployments/escrows.json, built in].
    #[arg(long, conflicts_with = "escrow")]
    deployments: Option<PathBuf>,
    /// The performance contract to trust, for a `pactum-performance-bundle/1` bundle (required
    /// for those: the deployments file names escrows only, and the bundle's own claim is never
    /// trusted).
    #[arg(long)]
    performance: Option<Address>,
    /// Require the bundle to be signed by this exporter (a server's `exportSigner`).
    #[arg(long)]
    exporter: Option<Address>,
    /// Accept a bundle exported before the agreement's latest events (they are listed, not refused).
    #[arg(long)]
    historical: bool,
    /// Print the report as JSON (`pactum-audit-report/1`).
    #[arg(long)]
    json: bool,
}

/// Runs the verifier and returns the process's exit code.
pub(crate) async fn run(args: VerifyArgs) -> i32 {
    match verify(&args).await {
        Ok(report) => {
            print(&report, args.json);
            report.outcome.exit_code()
        }
        Err(why) => {
            if args.json {
                let out = serde_json::json!({
                    "format": pactum_audit::verify::REPORT_FORMAT,
                    "outcome": "unreadable",
                    "agreementId": null,
                    "checks": [{ "id": "input", "status": "error", "detail": why }],
                });
                println!("{out}");
            } else {
                eprintln!("error: {why}");
            }
            2
        }
    }
}

async fn verify(args: &VerifyArgs) -> Result<Report, String> {
    let text = std::fs::read_to_string(&args.bundle)
        .map_err(|e| format!("reading {}: {e}", args.bundle.display()))?;
    // A file that is not (unambiguous) JSON is reported like any bundle that cannot be read: the
    // `format` check, undecided.
    let raw: serde_json::Value = match pactum_audit::verify::parse_bundle_text(&text) {
        Ok(raw) => raw,
        Err(e) => {
            return Ok(Report::unreadable("format", format!("not JSON pactum verify reads: {e}")))
        }
    };
    let url = args.rpc_url.parse().map_err(|e| format!("RPC URL {:?}: {e}", args.rpc_url))?;
    let provider = ProviderBuilder::new().disable_recommended_fillers().connect_http(url).erased();
    // The bundle's `format` decides the verifier; the escrow's format 2 path is unchanged.
    if raw.get("format").and_then(|f| f.as_str()) == Some(pactum_audit::performance::FORMAT) {
        let contract = args.performance.ok_or_else(|| {
            "a performance bundle: pass --performance 0x… (the performance contract to trust)"
                .to_owned()
        })?;
        let trust = PerformanceTrust {
            contract,
            chain_id: None,
            exporter: args.exporter,
            historical: args.historical,
        };
        return Ok(pactum_audit::performance::verify_performance(&raw, &provider, &trust).await);
    }
    let trust = match args.escrow {
        Some(escrow) => {
            Trust { escrow, chain_id: None, exporter: args.exporter, historical: args.historical }
        }
        None => {
            let deployments = match &args.deployments {
                Some(path) => std::fs::read_to_string(path)
                    .map_err(|e| format!("reading {}: {e}", path.display()))
                    .and_then(|t| {
                        Deployments::parse(&t).map_err(|e| format!("{}: {e}", path.display()))
                    })?,
                None => {
                    Deployments::built_in().map_err(|e| format!("the built-in deployments: {e}"))?
                }
            };
            // Which chain's entry applies is the node's answer, not the bundle's claim.
            let chain = provider
                .get_chain_id()
                .await
                .map_err(|e| format!("the node did not answer eth_chainId: {e}"))?;
            let d = deployments.for_chain(chain).ok_or_else(|| {
                format!(
                    "no trusted escrow for chain {chain} in the deployments file: pass --escrow"
                )
            })?;
            Trust {
                escrow: d.escrow,
                chain_id: Some(chain),
                exporter: args.exporter,
                historical: args.historical,
            }
        }
    };
    Ok(pactum_audit::verify(&raw, &provider, &trust).await)
}

fn print(report: &Report, json: bool) {
    if json {
        match serde_json::to_string_pretty(report) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("error: the report does not serialize: {e}"),
        }
        return;
    }
    for c in &report.checks {
        let tag = match c.status {
            Status::Pass => "ok  ",
            Status::Fail => "FAIL",
            Status::Skipped => "skip",
            Status::Error => "ERR ",
        };
        println!("{tag} {}: {}", c.id, c.detail);
    }
    let count = |s| report.with_status(s).count();
    println!(
        "{:?}: {} checks, {} passed, {} failed, {} skipped, {} could not be run",
        report.outcome,
        report.checks.len(),
        count(Status::Pass),
        count(Status::Fail),
        count(Status::Skipped),
        count(Status::Error)
    );
}
