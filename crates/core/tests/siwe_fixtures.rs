//! Sign-In with Ethereum messages made and signed by libraries Pactum did not write: the `siwe`
//! package (`prepareMessage()`, signed with ethers) and viem (`createSiweMessage`, signed with a
//! viem account), as `tools/siwe-fixtures/generate.mjs` wrote them into `fixtures/siwe/`.
//!
//! Every message parses, and its signature recovers to its signer from the EXACT text signed. For
//! some, this crate's formatter writes the parsed fields another way (milliseconds, a scheme):
//! there the re-formatted text recovers to someone else, which is why a server must verify the
//! text it received and not a re-formatting of it.

use std::{collections::BTreeSet, fs, path::Path};

use alloy::primitives::{eip191_hash_message, Address, Bytes};
use eyre::{Result, WrapErr};
use pactum_core::{
    recover_signer,
    siwe::{SiweExpectations, SiweText},
};
use serde::Deserialize;

/// One fixture, as the generator writes it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Fixture {
    library: String,
    version: String,
    variant: String,
    message: String,
    signature: Bytes,
    address: Address,
    signer: Address,
    wallet_deployer: Option<Address>,
    domain: String,
    uri: String,
    chain_id: u64,
    nonce: String,
}

fn fixtures() -> Result<Vec<(String, Fixture)>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/siwe");
    let mut paths = Vec::new();
    for entry in fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|x| x == "json") {
            paths.push(path);
        }
    }
    paths.sort();
    let mut out = Vec::with_capacity(paths.len());
    for path in paths {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let fixture = serde_json::from_str(&fs::read_to_string(&path)?)
            .wrap_err_with(|| format!("{name} is not a fixture"))?;
        out.push((name, fixture));
    }
    Ok(out)
}

fn now() -> Result<i64> {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    Ok(i64::try_from(since.as_secs())?)
}

#[test]
fn both_libraries_and_every_variant_are_there() -> Result<()> {
    let got: BTreeSet<(String, String)> =
        fixtures()?.into_iter().map(|(_, f)| (f.library, f.variant)).collect();
    for library in ["siwe", "viem"] {
        for variant in ["default", "statement", "expiration", "full", "scheme", "eip1271"] {
            assert!(
                got.contains(&(library.to_owned(), variant.to_owned())),
                "no {library}-{variant} fixture"
            );
        }
    }
    Ok(())
}

#[test]
fn every_fixture_parses_and_recovers_from_its_exact_text() -> Result<()> {
    let now = now()?;
    for (name, f) in fixtures()? {
        let text = SiweText::parse(&f.message).unwrap_or_else(|e| panic!("{name}: {e}"));
        let m = text.message();
        assert_eq!(text.text(), f.message, "{name}");
        assert_eq!(m.address, f.address, "{name}");
        assert_eq!(m.domain, f.domain, "{name}");
        assert_eq!(m.uri, f.uri, "{name}");
        assert_eq!(m.chain_id, f.chain_id, "{name}");
        assert_eq!(m.nonce, f.nonce, "{name}");
        // The API tests sign in with these: their fields must stay valid (the expirations are far
        // in the future; `Issued At` is in the past, which is fine).
        let expect = SiweExpectations { domain: f.domain, uri: f.uri, chain_id: f.chain_id };
        assert_eq!(text.verify_fields(&expect, now), Ok(()), "{name}");

        let recovered = recover_signer(text.eip191_hash(), &f.signature)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(recovered, f.signer, "{name}: the exact text recovers to its signer");
        assert_eq!(text.eip191_hash(), eip191_hash_message(f.message.as_bytes()), "{name}");
        match f.wallet_deployer {
            // A contract wallet's message names the wallet; its owner's key signs. The wallet is
            // its deployer's first contract, so the API test can put it at this very address.
            Some(deployer) => {
                assert_eq!(f.address, deployer.create(0), "{name}");
                assert_ne!(f.address, f.signer, "{name}");
            }
            None => assert_eq!(f.address, f.signer, "{name}"),
        }
    }
    Ok(())
}

#[test]
fn a_re_formatted_text_is_another_message() -> Result<()> {
    let mut differ = BTreeSet::new();
    for (name, f) in fixtures()? {
        let text = SiweText::parse(&f.message)?;
        let reformatted = text.message().to_string();
        if reformatted == f.message {
            continue;
        }
        // What the server used to verify: its own formatting of the parsed fields.
        let recovered = recover_signer(eip191_hash_message(reformatted.as_bytes()), &f.signature);
        assert_ne!(
            recovered.ok(),
            Some(f.signer),
            "{name}: a re-formatted text must not verify as the signed one"
        );
        differ.insert(f.library.clone());
        println!("{name} ({} {}): re-formatting changes the text", f.library, f.version);
    }
    // Both libraries write messages this crate's formatter would write otherwise (a fraction of a
    // second ending in zeros, `.000Z` or `.250Z`, as JavaScript's `toISOString` writes it; the
    // optional scheme): verifying the re-formatting refused them with `invalid_signature`.
    assert_eq!(differ, BTreeSet::from(["siwe".to_owned(), "viem".to_owned()]));
    Ok(())
}
