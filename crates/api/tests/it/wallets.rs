//! Contract wallets (EIP-1271, as Safe): the creator is a wallet contract whose owner's key signs.
//! It signs in, signs the draft, and the escrow accepts the agreement.

use alloy::{
    primitives::{Bytes, B256},
    signers::SignerSync,
};
use eyre::Result;
use pactum_bindings::MockERC1271Wallet;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{now, siwe_text, stack};

#[tokio::test(flavor = "multi_thread")]
async fn a_contract_wallet_signs_in_and_signs_the_agreement() -> Result<()> {
    let s = stack().await?;
    // The wallet, owned by the key `s.creator`; the agreement's creator is the wallet's address.
    let wallet = MockERC1271Wallet::deploy(s.provider.clone(), s.creator.address()).await?;
    let address = *wallet.address();

    // Sign-in: the message names the wallet; the owner's key signs; the wallet vouches.
    let (_, n) = s.post("/v1/auth/nonce", None, json!({})).await?;
    let nonce = n["nonce"].as_str().unwrap_or_default().to_owned();
    let message = siwe_text(
        "pactum.test",
        "https://pactum.test",
        address,
        s.chain_id(),
        &nonce,
        now(),
        now() + 600,
    );
    let signature =
        Bytes::from(s.creator.sign_message_sync(message.as_bytes())?.as_bytes().to_vec());
    let (status, body) = s
        .post("/v1/auth/login", None, json!({ "message": message, "signature": signature }))
        .await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["address"], json!(address));
    let wallet_token = body["token"].as_str().unwrap_or_default().to_owned();

    // A wallet that refuses everything cannot sign in.
    wallet.setRefuse(true).send().await?.get_receipt().await?;
    let (_, n) = s.post("/v1/auth/nonce", None, json!({})).await?;
    let message = siwe_text(
        "pactum.test",
        "https://pactum.test",
        address,
        s.chain_id(),
        n["nonce"].as_str().unwrap_or_default(),
        now(),
        now() + 600,
    );
    let signature =
        Bytes::from(s.creator.sign_message_sync(message.as_bytes())?.as_bytes().to_vec());
    let (status, body) = s
        .post("/v1/auth/login", None, json!({ "message": message, "signature": signature }))
        .await?;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_signature"))
    );
    wallet.setRefuse(false).send().await?.get_receipt().await?;

    // The brand drafts with the wallet as creator; both sign; the wallet's signature is EIP-1271.
    let brand = s.login(&s.brand).await?;
    let mut body = s.draft_body(["1000", "2000"]);
    body["creator"] = json!(address);
    let (status, draft) = s.post("/v1/drafts", Some(&brand), body).await?;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    let id = draft["id"].as_str().unwrap_or_default().to_owned();
    let digest: B256 = serde_json::from_value(draft["version"]["agreementId"].clone())?;
    for (token, key) in [(&brand, &s.brand), (&wallet_token, &s.creator)] {
        let (status, body) = s
            .post(
                &format!("/v1/drafts/{id}/signatures"),
                Some(token),
                json!({ "version": 1, "signature": s.sign_digest(key, digest)? }),
            )
            .await?;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (_, shown) = s.get(&format!("/v1/drafts/{id}"), Some(&brand)).await?;
    let methods: Vec<&str> = shown["version"]["signatures"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x["method"].as_str())
        .collect();
    assert_eq!(methods, ["ecdsa", "eip1271"], "brand by key, creator by its wallet");

    // The escrow agrees: the agreement goes on chain with the wallet's signature.
    let (status, txs) = s.get(&format!("/v1/drafts/{id}/transactions"), Some(&brand)).await?;
    assert_eq!(status, StatusCode::OK, "{txs}");
    for tx in txs["transactions"].as_array().into_iter().flatten() {
        s.send(tx).await?;
    }
    s.index().await?;
    let (_, one) = s.get(&format!("/v1/agreements/{digest}"), Some(&wallet_token)).await?;
    assert_eq!(one["agreement"]["creator"], json!(address));
    assert_eq!(one["agreement"]["funded"], "3000");
    Ok(())
}
