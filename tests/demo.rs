//! `pactum demo` against a `pactum dev` stack, both run as a user runs them: the whole scenario
//! completes and its audit bundle verifies.

mod common;
use common::{free_port, wait_ready};

use std::process::{Command, Stdio};

use eyre::Result;

/// Stops the stack when the test ends, however it ends.
struct Stack(std::process::Child);

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_plays_through_and_its_bundle_verifies() -> Result<()> {
    let (anvil_port, api_port) = (free_port()?, free_port()?);
    let api = format!("http://127.0.0.1:{api_port}");
    let rpc = format!("http://127.0.0.1:{anvil_port}");
    let _stack = Stack(
        Command::new(env!("CARGO_BIN_EXE_pactum"))
            .args(["dev", "--anvil-port", &anvil_port.to_string()])
            .args(["--listen", &format!("127.0.0.1:{api_port}")])
            .env_remove("DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    wait_ready(&api).await?;
    let bundle = std::env::temp_dir().join(format!("pactum-demo-{}.json", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_pactum"))
        .args(["demo", "--api", &api, "--rpc-url", &rpc, "--bundle"])
        .arg(&bundle)
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for line in [
        "brand funded all four milestones",
        "claiming at once is refused",
        "review_window_open",
        "creator claimed milestone 1",
        "the agreement is \"closing\"; the termination returned only the unearned escrow \
         (milestone 3, never delivered: \"cancelled\"); milestone 2 is \"submitted\"",
        "the agreement is \"terminated\"; paid to creator \"600000000000000000\" wei, refunded to brand \"400000000000000000\" wei",
        // Every check of format 2 ran and passed (none skipped: the agreement was drafted here).
        "pactum verify: 20 checks, Verified",
        // The performance agreement: 3×10 + 2×15 reported, one conversion reversed (45 pUSD), a
        // proof checked against the root on chain; period 1 (20 pUSD) split by the arbiter after
        // its 5% fee (9.50 to the partner); 45 + 9.50 paid, 1 to the arbiter, the rest back.
        "reported period 0: 5 units, 60.00 pUSD locked",
        "corrected the report (version 2): 4 units, 45.00 pUSD",
        "the partner proved ord-1003 was counted",
        "it is \"ended\"; paid to the partner 54.50 pUSD, to the arbiter 1.00 pUSD, back to the \
         brand 44.50 pUSD",
        "KPIs: 6 units (7 first reported), cost per conversion 10833333.333333 (smallest units), \
         reversal rate 0.142857",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in\n{stdout}");
    }
    // The bundle on disk verifies with the command an auditor would run.
    // It trusts the committed deployments file's escrow and requires the server's signature.
    let config: serde_json::Value = serde_json::from_str(
        &alloy::transports::http::reqwest::get(format!("{api}/v1/config"))
            .await?
            .error_for_status()?
            .text()
            .await?,
    )?;
    let signer = config["exportSigner"]
        .as_str()
        .ok_or_else(|| eyre::eyre!("no exportSigner in /v1/config"))?;
    let verify = Command::new(env!("CARGO_BIN_EXE_pactum"))
        .arg("verify")
        .arg(&bundle)
        .args(["--rpc-url", &rpc, "--exporter", signer, "--json"])
        .output()?;
    let report: serde_json::Value = serde_json::from_slice(&verify.stdout)?;
    assert_eq!(verify.status.code(), Some(0), "{report:#}");
    assert_eq!(report["outcome"], "verified", "{report:#}");
    let checks = report["checks"].as_array().ok_or_else(|| eyre::eyre!("no checks"))?;
    assert!(checks.iter().all(|c| c["status"] == "pass"), "{report:#}");
    // A signature by another exporter than the one required is refused (exit 1).
    let other = Command::new(env!("CARGO_BIN_EXE_pactum"))
        .arg("verify")
        .arg(&bundle)
        .args(["--rpc-url", &rpc, "--exporter", "0x000000000000000000000000000000000000dEaD"])
        .output()?;
    assert_eq!(other.status.code(), Some(1), "{}", String::from_utf8_lossy(&other.stdout));
    assert!(String::from_utf8_lossy(&other.stdout).contains("FAIL exporter-signature"));

    // Exit codes an auditor's script can tell apart: 1 for a failed check (here an edited amount,
    // signature stripped as a forger would), 2 for what could not be read (a node that does not
    // answer, a file that is not a bundle, a format this verifier does not read).
    let mut forged: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&bundle)?)?;
    forged["summary"]["paidToCreator"] = serde_json::json!("1000000000000000000");
    forged.as_object_mut().map(|o| o.remove("exporter"));
    let forged_path = bundle.with_extension("forged.json");
    std::fs::write(&forged_path, serde_json::to_string(&forged)?)?;
    let run = |file: &std::path::Path, rpc: &str| {
        Command::new(env!("CARGO_BIN_EXE_pactum"))
            .arg("verify")
            .arg(file)
            .args(["--rpc-url", rpc, "--json"])
            .output()
    };
    let out = run(&forged_path, &rpc)?;
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    let failed: Vec<&str> = report["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["status"] == "fail")
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(failed, ["summary"], "{report:#}");
    // Port 9 (discard) on this machine: nothing answers.
    let out = run(&bundle, "http://127.0.0.1:9")?;
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(
        (out.status.code(), &report["outcome"]),
        (Some(2), &serde_json::json!("unreadable")),
        "{report:#}"
    );
    let garbage = bundle.with_extension("garbage.json");
    std::fs::write(&garbage, "not json")?;
    assert_eq!(run(&garbage, &rpc)?.status.code(), Some(2));
    std::fs::write(&garbage, r#"{"format":"pactum-audit-bundle/1"}"#)?;
    let out = run(&garbage, &rpc)?;
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stdout));
    Ok(())
}
