//! The live half of notifications: the list, the live stream (SSE) and the catalogue, driven by a
//! real agreement on anvil with the indexer publishing as it mirrors.

use std::time::Duration;

use alloy::{
    primitives::{keccak256, B256},
    providers::Provider,
};
use eyre::{bail, eyre, Result};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::{
    abuse::agreement_on_chain,
    helpers::{stack_with, Stack},
};

/// One event of a stream.
#[derive(Debug, Clone, PartialEq)]
struct SseEvent {
    id: i64,
    event: String,
    data: Value,
}

/// A client of `GET /v1/events/stream`, reading the body as it comes.
struct Stream {
    res: reqwest::Response,
    buf: String,
}

/// Opens a stream as `token`; `last` is sent as `Last-Event-ID`, `query` appended to the path.
/// Returns the status and, on 200, the stream (otherwise the JSON error body). Either way the
/// response must be one the OpenAPI document describes.
async fn open(
    s: &Stack,
    token: &str,
    last: Option<&str>,
    query: &str,
) -> Result<(StatusCode, Option<Stream>, Value)> {
    let path = format!("/v1/events/stream{query}");
    // As a browser asks: the stream must still not be compressed (a compressor buffers events).
    let mut req = s
        .http
        .get(format!("{}{path}", s.base))
        .bearer_auth(token)
        .header("accept-encoding", "gzip");
    if let Some(l) = last {
        req = req.header("last-event-id", l);
    }
    let res = req.send().await?;
    let status = res.status();
    if status == StatusCode::OK {
        let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
        if !ct.starts_with("text/event-stream") {
            bail!("stream content type {ct:?}");
        }
        if let Some(enc) = res.headers().get("content-encoding") {
            bail!("the stream is compressed ({enc:?}): events would wait in the compressor");
        }
        crate::conformance::check(&Method::GET, &path, status, None)?;
        return Ok((status, Some(Stream { res, buf: String::new() }), Value::Null));
    }
    let gzip = res.headers().get("content-encoding").is_some_and(|e| e == "gzip");
    let bytes = res.bytes().await?;
    let mut text = String::new();
    if gzip {
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)?;
    } else {
        text = String::from_utf8(bytes.to_vec())?;
    }
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    crate::conformance::check(&Method::GET, &path, status, Some(&body))?;
    Ok((status, None, body))
}

impl Stream {
    /// The next event within `wait` (keep-alive comments skipped); `None` if none came.
    async fn next(&mut self, wait: Duration) -> Result<Option<SseEvent>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (None, None, String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().parse::<i64>()?);
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.strip_prefix(' ').unwrap_or(v));
                    }
                }
                let (Some(id), Some(event)) = (id, event) else { continue };
                let data: Value = serde_json::from_str(&data)?;
                crate::conformance::check_component("NotificationItem", &data)?;
                if data["id"] != json!(id) || data["type"] != json!(event) {
                    bail!("event {id} {event} carries another item: {data}");
                }
                return Ok(Some(SseEvent { id, event, data }));
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            match tokio::time::timeout(left, self.res.chunk()).await {
                Err(_) => return Ok(None),
                Ok(chunk) => match chunk? {
                    Some(c) => self.buf.push_str(std::str::from_utf8(&c)?),
                    None => bail!("the server closed the stream"),
                },
            }
        }
    }

    /// Exactly `n` events, each within `wait`.
    async fn take(&mut self, n: usize, wait: Duration) -> Result<Vec<SseEvent>> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            match self.next(wait).await? {
                Some(e) => out.push(e),
                None => bail!("{} of {n} events came: {out:?}", out.len()),
            }
        }
        Ok(out)
    }

    /// Fails if any event comes within `wait`.
    async fn quiet(&mut self, wait: Duration) -> Result<()> {
        match self.next(wait).await? {
            None => Ok(()),
            Some(e) => bail!("unexpected event {e:?}"),
        }
    }
}

/// Sends the transaction of an escrow action as `token`, then indexes it.
async fn act(s: &Stack, id: B256, token: &str, body: Value) -> Result<()> {
    let (status, res) =
        s.post(&format!("/v1/agreements/{id}/transactions"), Some(token), body).await?;
    if status != StatusCode::OK {
        bail!("action: {status} {res}");
    }
    for tx in res["transactions"].as_array().into_iter().flatten() {
        s.send(tx).await?;
    }
    s.index().await
}

fn submit(milestone: u32) -> Value {
    json!({
        "action": "submit", "milestone": milestone, "contentHash": keccak256("reel"),
        "uri": "ipfs://reel", "caption": "#ad #sponsored my new runners",
    })
}

/// Every item of the list for `token`, walking pages of `limit` older and older.
async fn walk(s: &Stack, token: &str, limit: u32) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    let mut before: Option<i64> = None;
    for _ in 0..1000 {
        let q = match before {
            Some(b) => format!("?limit={limit}&before={b}"),
            None => format!("?limit={limit}"),
        };
        let (status, page) = s.get(&format!("/v1/notifications{q}"), Some(token)).await?;
        if status != StatusCode::OK {
            bail!("list: {status} {page}");
        }
        out.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["older"].as_i64() {
            Some(o) => before = Some(o),
            None => return Ok(out),
        }
    }
    bail!("the list never ended")
}

fn ids(items: &[Value]) -> Vec<i64> {
    items.iter().filter_map(|i| i["id"].as_i64()).collect()
}

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread")]
async fn a_party_hears_its_agreement_live_in_order_and_resumes_exactly_where_it_left() -> Result<()>
{
    // Polling too slowly to matter: events must come from the shared LISTEN.
    let s = stack_with(|c| c.stream_poll = Duration::from_secs(300)).await?;
    let brand = s.login(&s.brand).await?;
    let stranger = s.login(&s.stranger).await?;
    let (_, live, _) = open(&s, &brand, None, "").await?;
    let mut live = live.ok_or_else(|| eyre!("no stream"))?;
    let (_, stranger_stream, _) = open(&s, &stranger, None, "?after=0").await?;
    let mut stranger_stream = stranger_stream.ok_or_else(|| eyre!("no stream"))?;

    let (id, _, creator) = agreement_on_chain(&s).await?;
    let first = live.take(2, WAIT).await?;
    let kinds: Vec<&str> = first.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(kinds, ["agreement.created", "milestones.funded"]);
    assert!(first[0].id < first[1].id);
    for e in &first {
        assert_eq!(e.data["agreement_id"], json!(id), "{e:?}");
        assert_eq!(e.data["role"], "brand");
        assert_eq!(e.data["retracted"], false);
        assert_eq!(e.data["data"]["status"], "active");
    }
    assert_eq!(first[0].data["data"]["event"], "AgreementCreated");

    act(&s, id, &creator, submit(0)).await?;
    let submitted = live.take(1, WAIT).await?;
    assert_eq!(submitted[0].event, "deliverable.submitted");
    assert_eq!(submitted[0].data["milestone"], 0);
    live.quiet(Duration::from_millis(500)).await?;

    // The brand goes away; meanwhile it approves (from another tab) and the creator submits again.
    let last = submitted[0].id;
    drop(live);
    act(&s, id, &brand, json!({ "action": "approve", "milestone": 0 })).await?;
    act(&s, id, &creator, submit(1)).await?;
    let (_, missed) = s.get(&format!("/v1/notifications?after={last}"), Some(&brand)).await?;
    let mut missed_ids = ids(missed["items"].as_array().map_or(&[][..], Vec::as_slice));
    missed_ids.reverse();
    assert!(missed_ids.len() >= 2, "{missed}");

    // Back with Last-Event-ID: exactly what was missed, in order, then what comes live.
    let (_, again, _) = open(&s, &brand, Some(&last.to_string()), "?after=0").await?;
    let mut again = again.ok_or_else(|| eyre!("no stream"))?;
    let replay = again.take(missed_ids.len(), WAIT).await?;
    assert_eq!(replay.iter().map(|e| e.id).collect::<Vec<_>>(), missed_ids);
    let kinds: Vec<&str> = replay.iter().map(|e| e.event.as_str()).collect();
    assert!(kinds.contains(&"milestone.approved") && kinds.contains(&"deliverable.submitted"));
    again.quiet(Duration::from_millis(500)).await?;
    act(&s, id, &brand, json!({ "action": "approve", "milestone": 1 })).await?;
    let more = again.take(2, WAIT).await?;
    assert!(more[0].id > *missed_ids.last().unwrap_or(&0));
    let kinds: Vec<&str> = more.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(kinds, ["milestone.approved", "agreement.completed"]);
    again.quiet(Duration::from_millis(500)).await?;

    // The list: every item once, newest first, whatever the page size; the same as the stream.
    let all = walk(&s, &brand, 100).await?;
    let mut everything = ids(&all);
    assert!(everything.windows(2).all(|w| w[0] > w[1]), "{everything:?}");
    for limit in [1, 2, 3] {
        assert_eq!(ids(&walk(&s, &brand, limit).await?), everything, "pages of {limit}");
    }
    everything.reverse();
    // Catching up with `after`, pages of 2: every item once, oldest pages first.
    let (mut forward, mut after) = (Vec::new(), 0i64);
    for _ in 0..100 {
        let (status, page) =
            s.get(&format!("/v1/notifications?after={after}&limit=2"), Some(&brand)).await?;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["older"], Value::Null, "{page}");
        let mut got = ids(page["items"].as_array().map_or(&[][..], Vec::as_slice));
        got.reverse();
        forward.extend(got);
        match page["newer"].as_i64() {
            Some(n) => after = n,
            None => break,
        }
    }
    assert_eq!(forward, everything);
    let streamed: Vec<i64> =
        first.iter().chain(&submitted).chain(&replay).chain(&more).map(|e| e.id).collect();
    assert_eq!(streamed, everything, "the stream and the list hold the same, in the same order");
    // The creator hears the same agreement, as the creator.
    let theirs = walk(&s, &creator, 100).await?;
    assert!(theirs.iter().all(|i| i["role"] == "creator"), "{theirs:?}");
    assert_eq!(ids(&theirs).len(), all.len());

    // The stranger heard nothing and lists nothing, from the start of time.
    stranger_stream.quiet(Duration::from_millis(500)).await?;
    assert_eq!(walk(&s, &stranger, 10).await?, Vec::<Value>::new());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_wakeup_delays_but_loses_nothing() -> Result<()> {
    // A stream outlives the request timeout (which bounds the wait for a response's head only).
    let s = stack_with(|c| {
        c.stream_poll = Duration::from_secs(2);
        c.request_timeout = Duration::from_secs(3);
    })
    .await?;
    let brand = s.login(&s.brand).await?;
    let (_, live, _) = open(&s, &brand, None, "?after=0").await?;
    let mut live = live.ok_or_else(|| eyre!("no stream"))?;
    let (id, _, creator) = agreement_on_chain(&s).await?;
    let first = live.take(2, WAIT).await?;

    // The shared listener's connection dies; what is published meanwhile sends its NOTIFY to
    // nobody.
    let mut killed = 0;
    for _ in 0..50 {
        killed = sqlx::query_scalar::<_, i64>(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
               AND query LIKE 'LISTEN%'",
        )
        .fetch_one(&s.pool)
        .await?;
        if killed > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(killed, 1, "the one listener of this process");
    act(&s, id, &creator, submit(0)).await?;
    let next = live.take(1, WAIT).await?;
    assert_eq!(next[0].event, "deliverable.submitted");
    assert!(next[0].id > first[1].id);

    tokio::time::sleep(Duration::from_secs(4)).await;
    // A notification that never sends a NOTIFY at all (written past `publish`, but under its lock,
    // as every writer draws ids): the poll finds it.
    let account = s.brand.address().to_vec();
    let mut tx = s.pool.begin().await?;
    pactum_db::notifications::lock(&mut tx).await?;
    let written: i64 = sqlx::query_scalar(
        "WITH n AS (INSERT INTO notifications (type, chain_id, occurred_at, data) \
           VALUES ('notification.retracted', $1, 0, \
                   '{\"retracts\": 1, \"retracted_type\": \"agreement.created\", \"reason\": \"test\"}') \
           RETURNING id) \
         INSERT INTO notification_audience (account, notification_id, role) \
           SELECT $2, id, 'brand' FROM n RETURNING notification_id",
    )
    .bind(i64::try_from(s.chain_id())?)
    .bind(account)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let polled = live.take(1, WAIT).await?;
    assert_eq!((polled[0].id, polled[0].event.as_str()), (written, "notification.retracted"));
    live.quiet(Duration::from_millis(500)).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn streams_are_capped_per_account_and_refused_to_auditors_and_bad_cursors() -> Result<()> {
    let s = stack_with(|c| {
        c.streams_per_account = 2;
        c.stream_keep_alive = Duration::from_millis(200);
    })
    .await?;
    let brand = s.login(&s.brand).await?;
    let creator = s.login(&s.creator).await?;
    let auditor = s.login(&s.auditor).await?;
    let (_, a, _) = open(&s, &brand, None, "").await?;
    let (_, b, _) = open(&s, &brand, None, "").await?;
    let (a, _b) = (a.ok_or_else(|| eyre!("a"))?, b.ok_or_else(|| eyre!("b"))?);
    let (status, _, body) = open(&s, &brand, None, "").await?;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("too_many_streams"))
    );
    // Another account has its own budget.
    assert_eq!(open(&s, &creator, None, "").await?.0, StatusCode::OK);
    // Closing one frees its place (the server notices at its next keep-alive).
    drop(a);
    let mut reopened = StatusCode::TOO_MANY_REQUESTS;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (status, st, _) = open(&s, &brand, None, "").await?;
        reopened = status;
        if st.is_some() {
            break;
        }
    }
    assert_eq!(reopened, StatusCode::OK);

    let (status, _, body) = open(&s, &auditor, None, "").await?;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (status, _) = s.get("/v1/notifications", Some(&auditor)).await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = s.get("/v1/notifications", None).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, body) = open(&s, &creator, Some("seven"), "").await?;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_cursor"))
    );
    for q in ["?before=1&after=1", "?limit=0", "?limit=101", "?before=0", "?after=-1", "?kind=x"] {
        let (status, body) = s.get(&format!("/v1/notifications{q}"), Some(&creator)).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}: {body}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_catalogue_lists_every_type_with_the_schema_of_its_data() -> Result<()> {
    let s = stack_with(|_| {}).await?;
    let (status, body) = s.get("/v1/notifications/types", None).await?;
    assert_eq!(status, StatusCode::OK);
    let types = body["types"].as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = types.iter().filter_map(|t| t["type"].as_str()).collect();
    let catalogue: Vec<&str> =
        pactum_core::notifications::CATALOGUE.iter().map(|k| k.name).collect();
    assert_eq!(names, catalogue);
    let (_, doc) = s.get("/openapi.json", None).await?;
    for t in &types {
        if let Some(r) = t["data_schema"]["$ref"].as_str() {
            let pointer = r.strip_prefix("/openapi.json#").ok_or_else(|| eyre!("{r}"))?;
            let schema = doc.pointer(pointer).ok_or_else(|| eyre!("dangling {r}"))?;
            assert_eq!(schema["additionalProperties"], false, "{r}: {schema}");
        } else {
            eyre::bail!("{} has no schema for its data", t["type"]);
        }
    }
    for (name, n) in [
        ("agreement.created", "EventData"),
        ("payment.withdrawn", "EventData"),
        ("reminder.due", "ReminderData"),
        ("notification.retracted", "RetractedData"),
        ("endpoint.disabled", "EndpointDisabledData"),
    ] {
        let t = types.iter().find(|t| t["type"] == name).ok_or_else(|| eyre!("{name}"))?;
        assert_eq!(t["data_schema"]["$ref"], format!("/openapi.json#/components/schemas/{n}"));
    }
    // The stream is documented as an event stream, not JSON.
    let ok = &doc["paths"]["/v1/events/stream"]["get"]["responses"]["200"]["content"];
    assert!(ok["text/event-stream"].is_object(), "{ok}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reorg_that_removes_an_event_streams_its_retraction() -> Result<()> {
    let s = stack_with(|c| c.stream_poll = Duration::from_secs(300)).await?;
    let brand = s.login(&s.brand).await?;
    let (_, live, _) = open(&s, &brand, None, "?after=0").await?;
    let mut live = live.ok_or_else(|| eyre!("no stream"))?;
    let (id, _, creator) = agreement_on_chain(&s).await?;
    live.take(2, WAIT).await?;
    act(&s, id, &creator, submit(0)).await?;
    let submitted = live.take(1, WAIT).await?;
    assert_eq!(submitted[0].event, "deliverable.submitted");

    // The block holding the submission is replaced by an empty one.
    let _: Value =
        s.provider.raw_request("anvil_reorg".into(), (1u64, Vec::<Value>::new())).await?;
    s.index().await?;
    let notice = live.take(1, WAIT).await?;
    assert_eq!(notice[0].event, "notification.retracted");
    assert_eq!(notice[0].data["data"]["retracts"], json!(submitted[0].id));
    assert_eq!(notice[0].data["data"]["retracted_type"], "deliverable.submitted");
    assert_eq!(notice[0].data["agreement_id"], json!(id));
    live.quiet(Duration::from_millis(500)).await?;
    // The list shows the retracted one as such, and the notice above it.
    let all = walk(&s, &brand, 100).await?;
    let item =
        all.iter().find(|i| i["id"] == json!(submitted[0].id)).ok_or_else(|| eyre!("gone"))?;
    assert_eq!(item["retracted"], true, "{item}");
    assert_eq!(all[0]["id"], json!(notice[0].id));
    assert!(all
        .iter()
        .filter(|i| i["id"] != json!(submitted[0].id))
        .all(|i| i["retracted"] == false));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_backlog_is_replayed_page_by_page_without_gap_or_duplicate() -> Result<()> {
    let s = stack_with(|c| c.stream_poll = Duration::from_secs(300)).await?;
    let brand = s.login(&s.brand).await?;
    // 400 notifications, one in three heard by someone else: the brand's 267 span three pages of
    // the stream's reads.
    sqlx::query(
        "INSERT INTO notifications (id, type, chain_id, occurred_at, data) \
         SELECT i, 'notification.retracted', $1, i, jsonb_build_object('retracts', i, \
                'retracted_type', 'agreement.created', 'reason', 'test') \
         FROM generate_series(1, 400) i",
    )
    .bind(i64::try_from(s.chain_id())?)
    .execute(&s.pool)
    .await?;
    sqlx::query(
        "INSERT INTO notification_audience (account, notification_id, role) \
         SELECT CASE WHEN i % 3 = 0 THEN $2 ELSE $1 END, i, 'account' \
         FROM generate_series(1, 400) i",
    )
    .bind(s.brand.address().to_vec())
    .bind(s.stranger.address().to_vec())
    .execute(&s.pool)
    .await?;
    let expected: Vec<i64> = (1..=400).filter(|i| i % 3 != 0).collect();
    let (_, live, _) = open(&s, &brand, None, "?after=0").await?;
    let mut live = live.ok_or_else(|| eyre!("no stream"))?;
    let got = live.take(expected.len(), WAIT).await?;
    assert_eq!(got.iter().map(|e| e.id).collect::<Vec<_>>(), expected);
    live.quiet(Duration::from_millis(500)).await?;
    // Resuming in the middle of a page boundary gives the rest, exactly.
    let (_, again, _) = open(&s, &brand, Some("151"), "").await?;
    let mut again = again.ok_or_else(|| eyre!("no stream"))?;
    let rest: Vec<i64> = expected.iter().copied().filter(|i| *i > 151).collect();
    let got = again.take(rest.len(), WAIT).await?;
    assert_eq!(got.iter().map(|e| e.id).collect::<Vec<_>>(), rest);
    again.quiet(Duration::from_millis(500)).await?;
    Ok(())
}
