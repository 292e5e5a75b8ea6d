//! Deadline reminders at simulated time: anvil's clock is moved, the planner asked again and
//! again, and each reminder comes out once, at its lead time and not before, to the parties and
//! to the webhook endpoints that asked for that lead.

use alloy::primitives::B256;
use eyre::Result;
use pactum_api::{
    reminders::{pass, Pass},
    AppState,
};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::{
    helpers::{stack, Stack},
    termination::{act, create},
};

const HOUR: u64 = 3600;

/// The reminders published so far: (window, milestone, deadline, lead, leads covered).
async fn reminders(s: &Stack) -> Result<Vec<(String, i64, i64, i64, Value)>> {
    let rows: Vec<Value> = sqlx::query_scalar(
        "SELECT data FROM notifications WHERE type = 'reminder.due' ORDER BY id",
    )
    .fetch_all(&s.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|d| {
            (
                d["window"].as_str().unwrap_or_default().to_owned(),
                d["milestone"].as_i64().unwrap_or(-1),
                d["deadline"].as_i64().unwrap_or_default(),
                d["lead_seconds"].as_i64().unwrap_or_default(),
                d["leads"].clone(),
            )
        })
        .collect())
}

/// Asks the planner `times` times; returns what the first pass sent (the others must send none).
async fn plan(state: &AppState, times: usize) -> Result<usize> {
    let Pass::Sent(first) = pass(state).await.map_err(|e| eyre::eyre!("{e:?}"))? else {
        eyre::bail!("the mirror is behind")
    };
    for _ in 1..times {
        let again = pass(state).await.map_err(|e| eyre::eyre!("{e:?}"))?;
        assert_eq!(again, Pass::Sent(0), "a reminder fired twice");
    }
    Ok(first)
}

/// A webhook endpoint of `who`'s with its own lead times (written as the API would).
async fn endpoint(s: &Stack, who: alloy::primitives::Address, leads: &[i32]) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO webhook_endpoints (account, url, secret, reminder_leads) \
         VALUES ($1, 'https://receiver.test/hook', 'whsec_dGVzdA==', $2) RETURNING id",
    )
    .bind(who.to_vec())
    .bind(leads)
    .fetch_one(&s.pool)
    .await?)
}

async fn deliveries(s: &Stack, endpoint: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM webhook_deliveries d JOIN notifications n ON n.id = d.notification_id \
         WHERE d.endpoint_id = $1 AND n.type = 'reminder.due'",
    )
    .bind(endpoint)
    .fetch_one(&s.pool)
    .await?)
}

#[tokio::test(flavor = "multi_thread")]
async fn each_reminder_fires_once_at_its_lead_time_by_the_chains_clock() -> Result<()> {
    let s = stack().await?;
    let state = AppState::new(s.cfg.clone(), s.pool.clone(), s.anvil.endpoint_url());
    let brand = s.login(&s.brand).await?;
    let creator = s.login(&s.creator).await?;
    // Milestones due in 7 and 14 days, 3-day review windows.
    let t0 = s.chain_time().await?;
    let id: B256 = create(&s, &brand, &creator, s.draft_body_at(["1000", "2000"], t0)).await?;
    let ms1_deadline = t0 + 14 * 86_400;
    // The brand's CRM wants a 24-hour warning only; the creator's phone a 48-hour one only.
    let brand_hook = endpoint(&s, s.brand.address(), &[24 * 3600]).await?;
    let creator_hook = endpoint(&s, s.creator.address(), &[48 * 3600]).await?;

    assert_eq!(plan(&state, 2).await?, 0, "nothing ends within 48 hours");

    let submit = json!({
        "action": "submit", "milestone": 0, "contentHash": B256::repeat_byte(1), "uri": "ipfs://v1",
    });
    let (status, res) = act(&s, id, &creator, submit).await?;
    assert_eq!(status, StatusCode::OK, "{res}");
    let submitted = s.chain_time().await?;
    let review_end = submitted + 3 * 86_400;
    s.index().await?;
    assert_eq!(plan(&state, 2).await?, 0, "the review ends in 72 hours");

    // One hour before the 48-hour mark: still nothing.
    s.warp(23 * HOUR).await?;
    s.index().await?;
    assert_eq!(plan(&state, 2).await?, 0, "49 hours left: too early");
    // Past it: the 48-hour reminder, once, however often the planner runs.
    s.warp(2 * HOUR).await?;
    s.index().await?;
    assert_eq!(plan(&state, 3).await?, 1);
    assert_eq!(
        reminders(&s).await?,
        [("review_window".to_owned(), 0, review_end, 48 * 3600, json!([48 * 3600]))]
    );
    assert_eq!((deliveries(&s, brand_hook).await?, deliveries(&s, creator_hook).await?), (0, 1));
    // Past the 24-hour mark: the second, once.
    s.warp(24 * HOUR).await?;
    s.index().await?;
    assert_eq!(plan(&state, 3).await?, 1);
    assert_eq!(reminders(&s).await?.len(), 2);
    assert_eq!(reminders(&s).await?[1].3, 24 * 3600);
    assert_eq!((deliveries(&s, brand_hook).await?, deliveries(&s, creator_hook).await?), (1, 1));
    // Every party hears it.
    let heard: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM notification_audience a JOIN notifications n \
         ON n.id = a.notification_id WHERE n.type = 'reminder.due'",
    )
    .fetch_one(&s.pool)
    .await?;
    assert_eq!(heard, 2 * 3, "brand, creator and arbiter, for each reminder");

    // The brand approves: the window is closed, nothing more about it even past its end.
    let (status, res) = act(&s, id, &brand, json!({ "action": "approve", "milestone": 0 })).await?;
    assert_eq!(status, StatusCode::OK, "{res}");
    s.index().await?;
    assert_eq!(plan(&state, 2).await?, 0);

    // The planner was away: milestone 1's delivery deadline is 10 hours off when it next looks.
    // One reminder, named by the 24-hour lead and covering the 48-hour one; each endpoint gets it.
    let now = s.chain_time().await?;
    s.warp(u64::try_from(ms1_deadline - 10 * 3600 - now)?).await?;
    s.index().await?;
    assert_eq!(plan(&state, 3).await?, 1);
    let last = reminders(&s).await?.pop().ok_or_else(|| eyre::eyre!("no reminder"))?;
    assert_eq!(
        last,
        ("delivery_deadline".to_owned(), 1, ms1_deadline, 24 * 3600, json!([24 * 3600, 48 * 3600]))
    );
    assert_eq!((deliveries(&s, brand_hook).await?, deliveries(&s, creator_hook).await?), (2, 2));

    // Past the deadline nothing is reminded of: the window has ended.
    s.warp(11 * HOUR).await?;
    s.index().await?;
    assert_eq!(plan(&state, 2).await?, 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mirror_behind_the_head_plans_nothing() -> Result<()> {
    let s = stack().await?;
    let state = AppState::new(s.cfg.clone(), s.pool.clone(), s.anvil.endpoint_url());
    s.index().await?;
    for _ in 0..=s.cfg.ready_max_lag {
        s.warp(1).await?;
    }
    assert!(matches!(pass(&state).await, Ok(Pass::Behind { .. })));
    s.index().await?;
    assert_eq!(pass(&state).await, Ok(Pass::Sent(0)));
    Ok(())
}

/// The agreement-wide windows: a termination's contest window, then, contested, the arbiter's;
/// and a disputed milestone's arbitration window.
#[tokio::test(flavor = "multi_thread")]
async fn termination_and_dispute_windows_are_reminded() -> Result<()> {
    let s = stack().await?;
    let state = AppState::new(s.cfg.clone(), s.pool.clone(), s.anvil.endpoint_url());
    let brand = s.login(&s.brand).await?;
    let creator = s.login(&s.creator).await?;
    let t0 = s.chain_time().await?;
    let id: B256 = create(&s, &brand, &creator, s.draft_body_at(["1000", "2000"], t0)).await?;

    // Milestone 0 delivered, then disputed by the brand: the arbiter has 7 days.
    let submit = json!({
        "action": "submit", "milestone": 0, "contentHash": B256::repeat_byte(1), "uri": "ipfs://v1",
    });
    assert_eq!(act(&s, id, &creator, submit).await?.0, StatusCode::OK);
    let dispute = json!({ "action": "dispute", "milestone": 0, "reason": "off brief" });
    let (status, res) = act(&s, id, &brand, dispute).await?;
    assert_eq!(status, StatusCode::OK, "{res}");
    let disputed = s.chain_time().await?;
    s.index().await?;
    assert_eq!(plan(&state, 2).await?, 0);
    s.warp(5 * 86_400 + HOUR).await?; // 47 hours left
    s.index().await?;
    assert_eq!(plan(&state, 2).await?, 1);
    let (window, milestone, deadline, lead, _) =
        reminders(&s).await?.pop().ok_or_else(|| eyre::eyre!("no reminder"))?;
    assert_eq!(
        (window.as_str(), milestone, deadline, lead),
        ("arbitration_window", 0, disputed + 7 * 86_400, 48 * 3600)
    );

    // The brand terminates: a 2-day contest window, so its 48-hour reminder is due at once.
    let (status, res) =
        act(&s, id, &brand, json!({ "action": "terminate", "reason": "brand safety" })).await?;
    assert_eq!(status, StatusCode::OK, "{res}");
    let started = s.chain_time().await?;
    s.index().await?;
    assert_eq!(plan(&state, 2).await?, 1);
    let (window, milestone, deadline, ..) =
        reminders(&s).await?.pop().ok_or_else(|| eyre::eyre!("no reminder"))?;
    assert_eq!(
        (window.as_str(), milestone, deadline),
        ("contest_window", -1, started + 2 * 86_400)
    );

    // The creator contests: the contest window is gone; the arbiter's runs 7 days from now.
    let (status, res) = act(&s, id, &creator, json!({ "action": "contest" })).await?;
    assert_eq!(status, StatusCode::OK, "{res}");
    let contested = s.chain_time().await?;
    s.index().await?;
    s.warp(5 * 86_400 + HOUR).await?;
    s.index().await?;
    let sent = plan(&state, 2).await?;
    let latest = reminders(&s).await?;
    let windows: Vec<(&str, i64, i64)> =
        latest.iter().rev().take(sent).map(|r| (r.0.as_str(), r.1, r.2)).collect();
    assert!(
        windows.contains(&("arbitration_window", -1, contested + 7 * 86_400)),
        "the termination's arbitration window: {windows:?}"
    );
    assert!(!windows.iter().any(|w| w.0 == "contest_window"), "{windows:?}");
    Ok(())
}
