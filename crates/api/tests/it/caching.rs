//! Reads revalidate cheaply: every JSON read carries an ETag, a client that holds it gets 304 with
//! no body until the state changes, and streams and writes carry none.

use alloy::primitives::B256;
use eyre::Result;
use reqwest::{
    header::{ACCEPT_ENCODING, CACHE_CONTROL, ETAG, IF_NONE_MATCH},
    StatusCode,
};
use serde_json::json;

use crate::{
    helpers::stack,
    termination::{act, create},
};

#[tokio::test(flavor = "multi_thread")]
async fn reads_carry_etags_and_answer_304_until_the_state_changes() -> Result<()> {
    let s = stack().await?;
    let brand = s.login(&s.brand).await?;
    let creator = s.login(&s.creator).await?;
    let id: B256 = create(&s, &brand, &creator, s.draft_body(["1000", "2000"])).await?;
    let url = format!("{}/v1/agreements/{id}", s.base);

    let first = s.http.get(&url).send().await?;
    assert_eq!(first.status(), StatusCode::OK);
    let tag = first.headers()[ETAG].to_str()?.to_owned();
    assert_eq!(first.headers()[CACHE_CONTROL], "private, no-cache");
    let body = first.text().await?;
    assert!(body.contains("milestones"));

    // The client holds it: 304, no body, the same tag; however the client lists it.
    for held in [tag.clone(), format!("W/{tag}"), format!("\"other\", {tag}"), "*".to_owned()] {
        let again = s.http.get(&url).header(IF_NONE_MATCH, &held).send().await?;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{held}");
        assert_eq!(again.headers()[ETAG].to_str()?, tag);
        assert!(again.text().await?.is_empty());
    }
    // Compression does not change what is validated.
    let gz =
        s.http.get(&url).header(ACCEPT_ENCODING, "gzip").header(IF_NONE_MATCH, &tag).send().await?;
    assert_eq!(gz.status(), StatusCode::NOT_MODIFIED);
    // Another tag: the answer in full.
    let other = s.http.get(&url).header(IF_NONE_MATCH, "\"stale\"").send().await?;
    assert_eq!(other.status(), StatusCode::OK);
    assert_eq!(other.text().await?, body);

    // The state changes: the held tag no longer matches; the new answer has a new tag.
    let submit = json!({
        "action": "submit", "milestone": 0, "contentHash": B256::repeat_byte(1), "uri": "ipfs://v1",
    });
    assert_eq!(act(&s, id, &creator, submit).await?.0, StatusCode::OK);
    s.index().await?;
    let changed = s.http.get(&url).header(IF_NONE_MATCH, &tag).send().await?;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_ne!(changed.headers()[ETAG].to_str()?, tag);
    assert!(changed.text().await?.contains("submitted"));

    // A party's private read is tagged too; a write and the live stream are not.
    let drafts = s.http.get(format!("{}/v1/drafts", s.base)).bearer_auth(&brand).send().await?;
    assert_eq!(drafts.status(), StatusCode::OK);
    let brand_tag = drafts.headers()[ETAG].to_str()?.to_owned();
    assert!(drafts.text().await?.contains(&format!("{id}")));
    // Another account presenting the brand's tag is not told "not modified": it gets its own
    // answer, which holds none of the brand's drafts.
    let stranger = s.login(&s.stranger).await?;
    let theirs = s
        .http
        .get(format!("{}/v1/drafts", s.base))
        .bearer_auth(&stranger)
        .header(IF_NONE_MATCH, &brand_tag)
        .send()
        .await?;
    assert_eq!(theirs.status(), StatusCode::OK);
    assert_ne!(theirs.headers()[ETAG].to_str()?, brand_tag);
    assert!(!theirs.text().await?.contains(&format!("{id}")));
    let nonce = s.http.post(format!("{}/v1/auth/nonce", s.base)).json(&json!({})).send().await?;
    assert!(!nonce.headers().contains_key(ETAG));
    let stream =
        s.http.get(format!("{}/v1/events/stream", s.base)).bearer_auth(&brand).send().await?;
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(!stream.headers().contains_key(ETAG));
    Ok(())
}
