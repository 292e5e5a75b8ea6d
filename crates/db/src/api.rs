//! The API's queries: sign-in nonces and sessions, drafts, versions, signatures, the hash-chained
//! off-chain log, and the reads it serves from the indexer's tables.
//!
//! Writes that belong together take a `&mut PgConnection` so the API runs them in one
//! transaction: a rejected request writes nothing.

use std::collections::HashMap;

use alloy::primitives::{keccak256, Address, B256};
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};

use crate::{address, hash, i64_of, Result};

/// A session found by its token hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The signed-in account.
    pub address: Address,
    /// `party` or `auditor`.
    pub role: String,
    /// Unix time it ends.
    pub expires_at: i64,
}

/// Stores a fresh sign-in nonce.
pub async fn insert_nonce(conn: &mut PgConnection, nonce: &str, expires_at: i64) -> Result<()> {
    sqlx::query("INSERT INTO siwe_nonces (nonce, expires_at) VALUES ($1, $2)")
        .bind(nonce)
        .bind(expires_at)
        .execute(conn)
        .await?;
    Ok(())
}

/// Marks a nonce used if it exists, is unused and has not expired; false otherwise. Atomic: two
/// sign-ins racing with one nonce cannot both succeed.
pub async fn consume_nonce(conn: &mut PgConnection, nonce: &str, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE siwe_nonces SET used_at = $2 \
         WHERE nonce = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(nonce)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Stores a session under the hash of its token.
pub async fn insert_session(
    conn: &mut PgConnection,
    token_hash: B256,
    account: Address,
    role: &str,
    now: i64,
    expires_at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, address, role, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash.as_slice())
    .bind(account.as_slice())
    .bind(role)
    .bind(now)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The live session with this token hash, if any (not expired, not revoked).
pub async fn session(
    conn: &mut PgConnection,
    token_hash: B256,
    now: i64,
) -> Result<Option<Session>> {
    let row = sqlx::query(
        "SELECT address, role, expires_at FROM sessions \
         WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(token_hash.as_slice())
    .bind(now)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(Session {
            address: address(r.try_get("address")?, "address")?,
            role: r.try_get("role")?,
            expires_at: r.try_get("expires_at")?,
        })
    })
    .transpose()
}

/// Revokes a session; true if it was live.
pub async fn revoke_session(conn: &mut PgConnection, token_hash: B256, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(token_hash.as_slice())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes up to `limit` sign-in nonces that expired before `now` (used or not: past its expiry
/// a nonce can no longer be spent, so it only takes room); returns how many went. Bounded so a
/// backlog is worked off in short statements that hold no long locks; served by
/// `siwe_nonces_expires_at`.
pub async fn prune_expired_nonces(conn: &mut PgConnection, now: i64, limit: i64) -> Result<u64> {
    let done = sqlx::query(
        "DELETE FROM siwe_nonces WHERE nonce IN \
         (SELECT nonce FROM siwe_nonces WHERE expires_at < $1 ORDER BY expires_at LIMIT $2)",
    )
    .bind(now)
    .bind(limit)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Deletes up to `limit` sessions that expired before `now` (revoked or not: an expired session
/// is refused either way); returns how many went. Served by `sessions_expires_at`.
pub async fn prune_expired_sessions(conn: &mut PgConnection, now: i64, limit: i64) -> Result<u64> {
    let done = sqlx::query(
        "DELETE FROM sessions WHERE token_hash IN \
         (SELECT token_hash FROM sessions WHERE expires_at < $1 ORDER BY expires_at LIMIT $2)",
    )
    .bind(now)
    .bind(limit)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// A draft's fixed facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// Its id.
    pub id: String,
    /// The chain it is for.
    pub chain_id: u64,
    /// The escrow it is for.
    pub escrow: Address,
    /// The paying party (who created it).
    pub brand: Address,
    /// The paid party.
    pub creator: Address,
    /// The agreement salt (decimal).
    pub salt: String,
    /// The version in force.
    pub current_version: i32,
    /// Unix time created.
    pub created_at: i64,
}

/// One version of a draft.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftVersion {
    /// The draft.
    pub draft_id: String,
    /// 1, 2, …
    pub version: i32,
    /// Who proposed it.
    pub proposed_by: Address,
    /// The agreement struct as JSON (what both sign).
    pub agreement: serde_json::Value,
    /// Its EIP-712 digest.
    pub agreement_id: B256,
    /// The terms document as submitted.
    pub terms: serde_json::Value,
    /// Its canonical JSON text.
    pub terms_canonical: String,
    /// keccak256 of the canonical text.
    pub terms_hash: B256,
    /// Unix time proposed.
    pub created_at: i64,
}

/// One party's verified signature of one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftSignature {
    /// `brand` or `creator`.
    pub role: String,
    /// The party.
    pub signer: Address,
    /// The digest signed (the agreement id).
    pub digest: B256,
    /// The signature bytes.
    pub signature: Vec<u8>,
    /// `ecdsa` or `eip1271`.
    pub method: String,
    /// Unix time verified.
    pub verified_at: i64,
}

/// Stores a new draft (its first version is stored by [`insert_version`]).
pub async fn insert_draft(conn: &mut PgConnection, d: &Draft) -> Result<()> {
    sqlx::query(
        "INSERT INTO drafts (id, chain_id, escrow, brand, creator, salt, current_version, \
           created_at) VALUES ($1, $2, $3, $4, $5, $6::numeric, $7, $8)",
    )
    .bind(&d.id)
    .bind(i64_of(d.chain_id))
    .bind(d.escrow.as_slice())
    .bind(d.brand.as_slice())
    .bind(d.creator.as_slice())
    .bind(&d.salt)
    .bind(d.current_version)
    .bind(d.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A draft by id; `lock` takes its row lock until the transaction ends (serializes changes).
pub async fn draft(conn: &mut PgConnection, id: &str, lock: bool) -> Result<Option<Draft>> {
    const PLAIN: &str = "SELECT id, chain_id, escrow, brand, creator, salt::text AS salt, \
        current_version, created_at FROM drafts WHERE id = $1";
    const LOCKED: &str = "SELECT id, chain_id, escrow, brand, creator, salt::text AS salt, \
        current_version, created_at FROM drafts WHERE id = $1 FOR UPDATE";
    let row = sqlx::query(if lock { LOCKED } else { PLAIN }).bind(id).fetch_optional(conn).await?;
    row.map(|r| draft_of(&r)).transpose()
}

fn draft_of(r: &sqlx::postgres::PgRow) -> Result<Draft> {
    Ok(Draft {
        id: r.try_get("id")?,
        chain_id: u64::try_from(r.try_get::<i64, _>("chain_id")?).unwrap_or(0),
        escrow: address(r.try_get("escrow")?, "escrow")?,
        brand: address(r.try_get("brand")?, "brand")?,
        creator: address(r.try_get("creator")?, "creator")?,
        salt: r.try_get("salt")?,
        current_version: r.try_get("current_version")?,
        created_at: r.try_get("created_at")?,
    })
}

/// A draft of a list page: its fixed facts, its current version, and whether that version's
/// agreement is on chain.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedDraft {
    /// The draft.
    pub draft: Draft,
    /// Its version in force.
    pub current: DraftVersion,
    /// Whether the current version's agreement is on chain (in `agreements`).
    pub on_chain: bool,
}

const DRAFT_ORDER: &str = " ORDER BY created_at DESC, id DESC LIMIT ";

/// The drafts on one chain and escrow, newest first, at most `limit`, each with its current
/// version and whether it is on chain, in one statement: those naming `party` as brand or creator
/// (two ordered scans, `drafts_brand` and `drafts_creator`, merged), or every draft when `party`
/// is `None` (an auditor's view; `drafts_list`).
pub async fn draft_page(
    conn: &mut PgConnection,
    chain_id: u64,
    escrow: Address,
    party: Option<Address>,
    limit: i64,
) -> Result<Vec<ListedDraft>> {
    let mut qb = QueryBuilder::<Postgres>::new(
        "SELECT d.id, d.chain_id, d.escrow, d.brand, d.creator, d.salt::text AS salt, \
           d.current_version, d.created_at, v.draft_id, v.version, v.proposed_by, v.agreement, \
           v.agreement_id, v.terms, \
           v.terms_canonical, v.terms_hash, v.created_at AS version_created_at, \
           EXISTS (SELECT 1 FROM agreements a WHERE a.chain_id = d.chain_id \
             AND a.id = v.agreement_id) AS on_chain FROM (",
    );
    let branch = |qb: &mut QueryBuilder<Postgres>, role: Option<&'static str>| {
        qb.push("SELECT * FROM drafts WHERE chain_id = ");
        qb.push_bind(i64_of(chain_id));
        qb.push(" AND escrow = ");
        qb.push_bind(escrow.to_vec());
        if let (Some(column), Some(p)) = (role, party) {
            qb.push(" AND ");
            qb.push(column);
            qb.push(" = ");
            qb.push_bind(p.to_vec());
            if column == "creator" {
                // A draft with the party on both sides comes from the brand branch only.
                qb.push(" AND brand <> ");
                qb.push_bind(p.to_vec());
            }
        }
        qb.push(DRAFT_ORDER);
        qb.push_bind(limit);
    };
    if party.is_some() {
        qb.push("SELECT * FROM ((");
        branch(&mut qb, Some("brand"));
        qb.push(") UNION ALL (");
        branch(&mut qb, Some("creator"));
        qb.push(")) AS mine");
        qb.push(DRAFT_ORDER);
        qb.push_bind(limit);
    } else {
        branch(&mut qb, None);
    }
    qb.push(
        ") AS d JOIN draft_versions v ON v.draft_id = d.id AND v.version = d.current_version \
         ORDER BY d.created_at DESC, d.id DESC",
    );
    let rows = qb.build().fetch_all(conn).await?;
    rows.iter()
        .map(|r| {
            Ok(ListedDraft {
                draft: draft_of(r)?,
                current: version_at(r, "version_created_at")?,
                on_chain: r.try_get("on_chain")?,
            })
        })
        .collect()
}

/// A signature with the version it signs: that version's agreement and whether it is on chain.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionSignature {
    /// The draft.
    pub draft_id: String,
    /// The version signed.
    pub version: i32,
    /// The signature.
    pub signature: DraftSignature,
    /// The version's agreement struct as JSON.
    pub agreement: serde_json::Value,
    /// The version's agreement id.
    pub agreement_id: B256,
    /// Whether that agreement is on chain (in `agreements`).
    pub on_chain: bool,
}

/// Every signature of every version of the given drafts, by draft, version and role, in one
/// statement (served by the `draft_signatures` and `draft_versions` primary keys).
pub async fn version_signatures(
    conn: &mut PgConnection,
    chain_id: u64,
    draft_ids: &[String],
) -> Result<Vec<VersionSignature>> {
    let rows = sqlx::query(
        "SELECT s.draft_id, s.version, s.role, s.signer, s.digest, s.signature, s.method, \
           s.verified_at, v.agreement, v.agreement_id, \
           EXISTS (SELECT 1 FROM agreements a WHERE a.chain_id = $1 AND a.id = v.agreement_id) \
             AS on_chain \
         FROM draft_signatures s \
         JOIN draft_versions v ON v.draft_id = s.draft_id AND v.version = s.version \
         WHERE s.draft_id = ANY($2) ORDER BY s.draft_id, s.version, s.role",
    )
    .bind(i64_of(chain_id))
    .bind(draft_ids)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(VersionSignature {
                draft_id: r.try_get("draft_id")?,
                version: r.try_get("version")?,
                signature: signature_of(r)?,
                agreement: r.try_get("agreement")?,
                agreement_id: hash(r.try_get("agreement_id")?, "agreement_id")?,
                on_chain: r.try_get("on_chain")?,
            })
        })
        .collect()
}

/// Stores a version and makes it the draft's current one.
pub async fn insert_version(conn: &mut PgConnection, v: &DraftVersion) -> Result<()> {
    sqlx::query(
        "INSERT INTO draft_versions (draft_id, version, proposed_by, agreement, agreement_id, \
           terms, terms_canonical, terms_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&v.draft_id)
    .bind(v.version)
    .bind(v.proposed_by.as_slice())
    .bind(&v.agreement)
    .bind(v.agreement_id.as_slice())
    .bind(&v.terms)
    .bind(&v.terms_canonical)
    .bind(v.terms_hash.as_slice())
    .bind(v.created_at)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE drafts SET current_version = $2 WHERE id = $1")
        .bind(&v.draft_id)
        .bind(v.version)
        .execute(conn)
        .await?;
    Ok(())
}

fn signature_of(r: &sqlx::postgres::PgRow) -> Result<DraftSignature> {
    Ok(DraftSignature {
        role: r.try_get("role")?,
        signer: address(r.try_get("signer")?, "signer")?,
        digest: hash(r.try_get("digest")?, "digest")?,
        signature: r.try_get("signature")?,
        method: r.try_get("method")?,
        verified_at: r.try_get("verified_at")?,
    })
}

fn version_of(r: &sqlx::postgres::PgRow) -> Result<DraftVersion> {
    version_at(r, "created_at")
}

/// A version from a row whose version columns carry their own names, except its creation time,
/// in `created_at` (a row joined with its draft has the draft's there).
fn version_at(r: &sqlx::postgres::PgRow, created_at: &str) -> Result<DraftVersion> {
    Ok(DraftVersion {
        draft_id: r.try_get("draft_id")?,
        version: r.try_get("version")?,
        proposed_by: address(r.try_get("proposed_by")?, "proposed_by")?,
        agreement: r.try_get("agreement")?,
        agreement_id: hash(r.try_get("agreement_id")?, "agreement_id")?,
        terms: r.try_get("terms")?,
        terms_canonical: r.try_get("terms_canonical")?,
        terms_hash: hash(r.try_get("terms_hash")?, "terms_hash")?,
        created_at: r.try_get(created_at)?,
    })
}

/// One version of a draft.
pub async fn version(
    conn: &mut PgConnection,
    draft_id: &str,
    version: i32,
) -> Result<Option<DraftVersion>> {
    let row = sqlx::query("SELECT draft_id, version, proposed_by, agreement, agreement_id, terms, \
    terms_canonical, terms_hash, created_at FROM draft_versions WHERE draft_id = $1 AND version = $2")
    .bind(draft_id)
    .bind(version)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(version_of).transpose()
}

/// The draft version whose agreement id is `agreement_id` (the one that went on chain), if the
/// agreement was drafted here.
pub async fn version_by_agreement(
    conn: &mut PgConnection,
    agreement_id: B256,
) -> Result<Option<DraftVersion>> {
    let row = sqlx::query(
        "SELECT draft_id, version, proposed_by, agreement, agreement_id, terms, \
    terms_canonical, terms_hash, created_at FROM draft_versions WHERE agreement_id = $1 \
         ORDER BY version DESC LIMIT 1",
    )
    .bind(agreement_id.as_slice())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(version_of).transpose()
}

/// Stores (or replaces) a party's signature of a version.
pub async fn upsert_signature(
    conn: &mut PgConnection,
    draft_id: &str,
    version: i32,
    s: &DraftSignature,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO draft_signatures (draft_id, version, role, signer, digest, signature, \
           method, verified_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (draft_id, version, role) DO UPDATE SET signer = EXCLUDED.signer, \
           digest = EXCLUDED.digest, signature = EXCLUDED.signature, method = EXCLUDED.method, \
           verified_at = EXCLUDED.verified_at",
    )
    .bind(draft_id)
    .bind(version)
    .bind(&s.role)
    .bind(s.signer.as_slice())
    .bind(s.digest.as_slice())
    .bind(&s.signature)
    .bind(&s.method)
    .bind(s.verified_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The signatures of one version.
pub async fn signatures(
    conn: &mut PgConnection,
    draft_id: &str,
    version: i32,
) -> Result<Vec<DraftSignature>> {
    let rows = sqlx::query(
        "SELECT role, signer, digest, signature, method, verified_at FROM draft_signatures \
         WHERE draft_id = $1 AND version = $2 ORDER BY role",
    )
    .bind(draft_id)
    .bind(version)
    .fetch_all(conn)
    .await?;
    rows.iter().map(signature_of).collect()
}

/// One entry of the off-chain log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Position in the draft's chain, from 1.
    pub seq: i32,
    /// What happened (`draft_created`, `draft_changed`, `draft_signed`, …).
    pub kind: String,
    /// Who did it.
    pub actor: Address,
    /// Unix time.
    pub at: i64,
    /// The canonical JSON text that was hashed.
    pub entry: String,
    /// The previous entry's hash (zero for the first).
    pub prev_hash: B256,
    /// keccak256(prev_hash || entry).
    pub hash: B256,
}

/// The hash of one log entry given its predecessor's.
pub fn log_hash(prev_hash: B256, entry: &str) -> B256 {
    let mut buf = Vec::with_capacity(32 + entry.len());
    buf.extend_from_slice(prev_hash.as_slice());
    buf.extend_from_slice(entry.as_bytes());
    keccak256(buf)
}

/// Appends to a draft's log. The caller holds the draft's row lock ([`draft`] with `lock`), so
/// appends to one chain are serialized.
pub async fn append_log(
    conn: &mut PgConnection,
    draft_id: &str,
    kind: &str,
    actor: Address,
    at: i64,
    entry: &str,
) -> Result<LogEntry> {
    let last = sqlx::query(
        "SELECT seq, hash FROM offchain_log WHERE draft_id = $1 ORDER BY seq DESC LIMIT 1",
    )
    .bind(draft_id)
    .fetch_optional(&mut *conn)
    .await?;
    let (seq, prev_hash) = match last {
        Some(r) => (r.try_get::<i32, _>("seq")? + 1, hash(r.try_get("hash")?, "hash")?),
        None => (1, B256::ZERO),
    };
    let h = log_hash(prev_hash, entry);
    sqlx::query(
        "INSERT INTO offchain_log (draft_id, seq, kind, actor, at, entry, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(draft_id)
    .bind(seq)
    .bind(kind)
    .bind(actor.as_slice())
    .bind(at)
    .bind(entry)
    .bind(prev_hash.as_slice())
    .bind(h.as_slice())
    .execute(conn)
    .await?;
    Ok(LogEntry {
        seq,
        kind: kind.to_owned(),
        actor,
        at,
        entry: entry.to_owned(),
        prev_hash,
        hash: h,
    })
}

/// A draft's log in order.
pub async fn log(conn: &mut PgConnection, draft_id: &str) -> Result<Vec<LogEntry>> {
    let rows = sqlx::query(
        "SELECT seq, kind, actor, at, entry, prev_hash, hash FROM offchain_log \
         WHERE draft_id = $1 ORDER BY seq",
    )
    .bind(draft_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(LogEntry {
                seq: r.try_get("seq")?,
                kind: r.try_get("kind")?,
                actor: address(r.try_get("actor")?, "actor")?,
                at: r.try_get("at")?,
                entry: r.try_get("entry")?,
                prev_hash: hash(r.try_get("prev_hash")?, "prev_hash")?,
                hash: hash(r.try_get("hash")?, "hash")?,
            })
        })
        .collect()
}

/// An agreement as the API shows it (amounts as decimal strings).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgreementView {
    /// The id.
    pub id: B256,
    /// Parties and token (absent for an agreement revoked before creation).
    pub brand: Option<Address>,
    /// The creator.
    pub creator: Option<Address>,
    /// The arbiter (zero: none).
    pub arbiter: Option<Address>,
    /// The token (zero: ETH).
    pub token: Option<Address>,
    /// The terms document's hash.
    pub terms_hash: Option<B256>,
    /// Status name.
    pub status: String,
    /// Milestones funded so far.
    pub funded_count: i32,
    /// Sum of milestone amounts.
    pub total_amount: String,
    /// Funded so far.
    pub funded: String,
    /// Paid to the creator.
    pub paid_to_creator: String,
    /// Refunded to the brand.
    pub refunded_to_brand: String,
    /// Paid to the arbiter.
    pub arbiter_fees: String,
    /// Of those payouts, what the escrow could not push and holds for withdrawal.
    pub deferred: String,
    /// Revision rounds each milestone allows (absent for an agreement revoked before creation).
    pub revision_rounds: Option<i32>,
    /// The contract's state nonce: what a settlement or mutual termination signed now must name.
    pub nonce: i64,
    /// Block it was created in.
    pub created_block: i64,
    /// Its log index there (with the block, the list's order).
    #[serde(skip)]
    pub created_log_index: i32,
    /// Block time of creation.
    pub created_at: i64,
    /// Block of its latest event.
    pub updated_block: i64,
}

/// A milestone as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MilestoneView {
    /// Index.
    pub index: i32,
    /// Amount (decimal).
    pub amount: String,
    /// Delivery deadline (Unix time).
    pub deadline: i64,
    /// Review window (seconds).
    pub review_window: i64,
    /// Funded yet.
    pub funded: bool,
    /// Status name.
    pub status: String,
    /// Unix time the status began.
    pub since: i64,
    /// Revisions the brand has asked for.
    pub revisions: i32,
    /// The submitted deliverable's hash.
    pub content_hash: Option<B256>,
    /// The submitted deliverable's URI.
    pub uri: Option<String>,
}

/// Which of an agreement's parties the list's `party` must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartyRole {
    /// The paying party.
    Brand,
    /// The paid party.
    Creator,
    /// The arbiter.
    Arbiter,
}

impl PartyRole {
    /// The column holding this party (a constant: never user input).
    const fn column(self) -> &'static str {
        match self {
            Self::Brand => "brand",
            Self::Creator => "creator",
            Self::Arbiter => "arbiter",
        }
    }
}

/// Filters of the agreement list; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct AgreementFilter {
    /// Either party (or the arbiter), or the given role's party.
    pub party: Option<Address>,
    /// With `party`: which role it must have (`None`: any of the three).
    pub role: Option<PartyRole>,
    /// Status name.
    pub status: Option<String>,
    /// Token.
    pub token: Option<Address>,
    /// Created at or after (Unix time).
    pub from: Option<i64>,
    /// Created before (Unix time).
    pub to: Option<i64>,
    /// Keyset cursor: strictly after this (created_block, created_log_index).
    pub after: Option<(i64, i32)>,
}

const AGREEMENT_COLUMNS: &str = "SELECT id, brand, creator, arbiter, token, terms_hash, status, \
    funded_count, total_amount::text AS total_amount, funded::text AS funded, \
    paid_to_creator::text AS paid_to_creator, refunded_to_brand::text AS refunded_to_brand, \
    arbiter_fees::text AS arbiter_fees, deferred::text AS deferred, revision_rounds, nonce, \
    created_block, created_log_index, created_at, updated_block FROM agreements";

/// The list's order; every list index (migration 0005) ends in it.
const LIST_ORDER: &str = " ORDER BY created_block, created_log_index LIMIT ";

/// The statement of one request shape of the agreement list (docs/queries.md): only the
/// predicates the filter uses, each one an index can serve, every value bound. Text is pushed
/// only from the constants in this function; what the caller gave is always `push_bind`.
///
/// - `party` with a role: the role's index `(chain_id, <role>, created_block, created_log_index)`.
/// - `party` without: three such ordered scans (brand; creator but not brand; arbiter but
///   neither), each limited, merged in order (`UNION ALL`: no agreement twice, no sort).
/// - otherwise the planner picks `agreements_status`, `agreements_token` or `agreements_order`;
///   the other equality filters are checked on the rows that index yields.
/// - `from`/`to` become a block range: block times never decrease along a chain, so the agreements
///   created at or after `t` are those from the first block created at or after `t` on; that block
///   is one probe of `agreements_created_at`. The range and the cursor are start and stop keys of
///   whichever ordered index serves the shape.
pub fn agreement_list_statement(
    chain_id: u64,
    f: &AgreementFilter,
    limit: i64,
) -> QueryBuilder<Postgres> {
    list_statement("", chain_id, f, limit)
}

/// `EXPLAIN (FORMAT JSON)` of exactly the statement [`list_agreements`] runs for these arguments,
/// planned with their values as it is when run; with `analyze`, run too (`EXPLAIN ANALYZE`:
/// actual rows, and the rows each scan read and threw away).
pub async fn explain_agreement_list(
    conn: &mut PgConnection,
    chain_id: u64,
    f: &AgreementFilter,
    limit: i64,
    analyze: bool,
) -> Result<serde_json::Value> {
    let prefix = if analyze { "EXPLAIN (ANALYZE, FORMAT JSON) " } else { "EXPLAIN (FORMAT JSON) " };
    let mut qb = list_statement(prefix, chain_id, f, limit);
    Ok(qb.build_query_scalar::<serde_json::Value>().persistent(false).fetch_one(conn).await?)
}

fn list_statement(
    prefix: &'static str,
    chain_id: u64,
    f: &AgreementFilter,
    limit: i64,
) -> QueryBuilder<Postgres> {
    let mut qb = QueryBuilder::new(prefix);
    match (f.party, f.role) {
        (Some(p), Some(role)) => list_branch(&mut qb, chain_id, f, Some((role, p)), &[], limit),
        (Some(p), None) => {
            // An agreement where one account holds two roles comes from the first branch only.
            qb.push("SELECT * FROM ((");
            list_branch(&mut qb, chain_id, f, Some((PartyRole::Brand, p)), &[], limit);
            qb.push(") UNION ALL (");
            let brand = [PartyRole::Brand];
            list_branch(&mut qb, chain_id, f, Some((PartyRole::Creator, p)), &brand, limit);
            qb.push(") UNION ALL (");
            let both = [PartyRole::Brand, PartyRole::Creator];
            list_branch(&mut qb, chain_id, f, Some((PartyRole::Arbiter, p)), &both, limit);
            qb.push(")) AS by_party");
            qb.push(LIST_ORDER);
            qb.push_bind(limit);
        }
        (None, _) => list_branch(&mut qb, chain_id, f, None, &[], limit),
    }
    qb
}

/// One ordered, limited scan: `SELECT … WHERE chain_id = … [AND <role> = party] [AND <other
/// roles> IS DISTINCT FROM party] [AND status …] [AND token …] [block range] [cursor] ORDER BY …`.
fn list_branch(
    qb: &mut QueryBuilder<Postgres>,
    chain_id: u64,
    f: &AgreementFilter,
    party: Option<(PartyRole, Address)>,
    not_also: &[PartyRole],
    limit: i64,
) {
    qb.push(AGREEMENT_COLUMNS);
    qb.push(" WHERE chain_id = ");
    qb.push_bind(i64_of(chain_id));
    if let Some((role, p)) = party {
        qb.push(" AND ");
        qb.push(role.column());
        qb.push(" = ");
        qb.push_bind(p.to_vec());
        for other in not_also {
            qb.push(" AND ");
            qb.push(other.column());
            qb.push(" IS DISTINCT FROM ");
            qb.push_bind(p.to_vec());
        }
    }
    if let Some(s) = &f.status {
        qb.push(" AND status = ");
        qb.push_bind(s.clone());
    }
    if let Some(t) = f.token {
        qb.push(" AND token = ");
        qb.push_bind(t.to_vec());
    }
    // The first block created at or after a time (none: no agreement is that recent).
    let first_block_at = |qb: &mut QueryBuilder<Postgres>, t: i64| {
        qb.push("(SELECT created_block FROM agreements WHERE chain_id = ");
        qb.push_bind(i64_of(chain_id));
        qb.push(" AND created_at >= ");
        qb.push_bind(t);
        qb.push(" ORDER BY created_at, created_block LIMIT 1)");
    };
    if let Some(from) = f.from {
        qb.push(" AND created_block >= ");
        first_block_at(qb, from);
    }
    if let Some(to) = f.to {
        qb.push(" AND created_block < COALESCE(");
        first_block_at(qb, to);
        qb.push(", 9223372036854775807)");
    }
    if let Some((block, log_index)) = f.after {
        qb.push(" AND (created_block, created_log_index) > (");
        qb.push_bind(block);
        qb.push(", ");
        qb.push_bind(log_index);
        qb.push(")");
    }
    qb.push(LIST_ORDER);
    qb.push_bind(limit);
}

fn agreement_of(r: &sqlx::postgres::PgRow) -> Result<AgreementView> {
    let opt_addr = |c: &'static str| -> Result<Option<Address>> {
        r.try_get::<Option<Vec<u8>>, _>(c)?.map(|v| address(v, c)).transpose()
    };
    Ok(AgreementView {
        id: hash(r.try_get("id")?, "id")?,
        brand: opt_addr("brand")?,
        creator: opt_addr("creator")?,
        arbiter: opt_addr("arbiter")?,
        token: opt_addr("token")?,
        terms_hash: r
            .try_get::<Option<Vec<u8>>, _>("terms_hash")?
            .map(|v| hash(v, "terms_hash"))
            .transpose()?,
        status: r.try_get("status")?,
        funded_count: r.try_get("funded_count")?,
        total_amount: r.try_get("total_amount")?,
        funded: r.try_get("funded")?,
        paid_to_creator: r.try_get("paid_to_creator")?,
        refunded_to_brand: r.try_get("refunded_to_brand")?,
        arbiter_fees: r.try_get("arbiter_fees")?,
        deferred: r.try_get("deferred")?,
        revision_rounds: r.try_get("revision_rounds")?,
        nonce: r.try_get("nonce")?,
        created_block: r.try_get("created_block")?,
        created_log_index: r.try_get("created_log_index")?,
        created_at: r.try_get("created_at")?,
        updated_block: r.try_get("updated_block")?,
    })
}

/// Agreements matching `f`, in chain order of creation, at most `limit`, after the cursor: the
/// statement [`agreement_list_statement`] builds for the filter's shape.
pub async fn list_agreements(
    conn: &mut PgConnection,
    chain_id: u64,
    f: &AgreementFilter,
    limit: i64,
) -> Result<Vec<AgreementView>> {
    let mut qb = agreement_list_statement(chain_id, f, limit);
    // Not prepared: planned with its values each time. A cached generic plan cannot know how many
    // agreements the party has or how wide the time range is, and PostgreSQL switches to one
    // after five runs when its estimate looks cheaper.
    let rows = qb.build().persistent(false).fetch_all(conn).await?;
    rows.iter().map(agreement_of).collect()
}

/// A termination under way (the agreement's status is `terminating`), from the escrow's state:
/// who started it, whether it was contested, and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminationView {
    /// Who started it: [`PartyRole::Brand`] or [`PartyRole::Creator`].
    pub started_by: PartyRole,
    /// Whether the other party contested it (the arbiter then decides).
    pub contested: bool,
    /// Block time it started, or was contested if it was (the escrow's `since`).
    pub since: i64,
    /// The agreement's contest window (seconds).
    pub contest_window: i64,
    /// The agreement's arbitration window (seconds).
    pub arbitration_window: i64,
}

/// One agreement with its milestones and the termination under way, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementRead {
    /// The agreement and its money.
    pub agreement: AgreementView,
    /// Each milestone, by index.
    pub milestones: Vec<MilestoneView>,
    /// The termination under way (status `terminating`), else `None`.
    pub termination: Option<TerminationView>,
}

/// What a list row shows beyond the list's own columns: each milestone and the termination under
/// way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowDetails {
    /// Each milestone, by index.
    pub milestones: Vec<MilestoneView>,
    /// The termination under way (status `terminating`), else `None`.
    pub termination: Option<TerminationView>,
}

/// The columns [`termination_of`] reads besides `status` (from `agreements`, aliased `a`); a
/// macro so statements are `concat!`ed constants, never text built at run time.
macro_rules! termination_columns {
    () => {
        "a.terminated_by, a.contested, a.since, a.contest_window, a.arbitration_window"
    };
}

/// The columns [`milestone_of`] reads (from `milestones`, aliased `m`).
macro_rules! milestone_columns {
    () => {
        "m.index, m.amount::text AS amount, m.deadline, m.review_window, m.funded, \
         m.status AS milestone_status, m.since AS milestone_since, m.revisions, m.content_hash, \
         m.uri"
    };
}

fn termination_of(r: &sqlx::postgres::PgRow) -> Result<Option<TerminationView>> {
    if r.try_get::<String, _>("status")? != "terminating" {
        return Ok(None);
    }
    // The escrow's terminatedBy: 1 the brand, 2 the creator (set when the termination started).
    let started_by = match r.try_get::<i32, _>("terminated_by")? {
        1 => PartyRole::Brand,
        _ => PartyRole::Creator,
    };
    Ok(Some(TerminationView {
        started_by,
        contested: r.try_get("contested")?,
        since: r.try_get("since")?,
        contest_window: r.try_get::<Option<i64>, _>("contest_window")?.unwrap_or(0),
        arbitration_window: r.try_get::<Option<i64>, _>("arbitration_window")?.unwrap_or(0),
    }))
}

fn milestone_of(r: &sqlx::postgres::PgRow) -> Result<MilestoneView> {
    Ok(MilestoneView {
        index: r.try_get("index")?,
        amount: r.try_get("amount")?,
        deadline: r.try_get("deadline")?,
        review_window: r.try_get("review_window")?,
        funded: r.try_get("funded")?,
        status: r.try_get("milestone_status")?,
        since: r.try_get("milestone_since")?,
        revisions: r.try_get("revisions")?,
        content_hash: r
            .try_get::<Option<Vec<u8>>, _>("content_hash")?
            .map(|v| hash(v, "content_hash"))
            .transpose()?,
        uri: r.try_get("uri")?,
    })
}

/// The chain, of `chains`, agreement `id` is on (`None`: on none of them). An agreement id is its
/// EIP-712 digest, which commits to the chain id and the escrow, so at most one chain has it; the
/// primary key `(chain_id, id)` serves the lookup with one descent per chain.
pub async fn chain_of(conn: &mut PgConnection, chains: &[i64], id: B256) -> Result<Option<u64>> {
    let chain: Option<i64> = sqlx::query_scalar(
        "SELECT chain_id FROM agreements WHERE chain_id = ANY($1) AND id = $2 LIMIT 1",
    )
    .bind(chains)
    .bind(id.to_vec())
    .fetch_optional(conn)
    .await?;
    Ok(chain.and_then(|c| u64::try_from(c).ok()))
}

/// One agreement with its milestones and the termination under way.
pub async fn agreement(
    conn: &mut PgConnection,
    chain_id: u64,
    id: B256,
) -> Result<Option<AgreementRead>> {
    let row = sqlx::query(concat!(
        "SELECT id, brand, creator, arbiter, token, terms_hash, status, funded_count, \
           total_amount::text AS total_amount, funded::text AS funded, \
           paid_to_creator::text AS paid_to_creator, \
           refunded_to_brand::text AS refunded_to_brand, arbiter_fees::text AS arbiter_fees, \
           deferred::text AS deferred, revision_rounds, nonce, created_block, created_log_index, \
           created_at, updated_block, ",
        termination_columns!(),
        " FROM agreements a WHERE chain_id = $1 AND id = $2"
    ))
    .bind(i64_of(chain_id))
    .bind(id.as_slice())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let agreement = agreement_of(&row)?;
    let termination = termination_of(&row)?;
    let rows = sqlx::query(concat!(
        "SELECT ",
        milestone_columns!(),
        " FROM milestones m WHERE m.chain_id = $1 AND m.agreement_id = $2 ORDER BY m.index"
    ))
    .bind(i64_of(chain_id))
    .bind(id.as_slice())
    .fetch_all(conn)
    .await?;
    let milestones = rows.iter().map(milestone_of).collect::<Result<Vec<_>>>()?;
    Ok(Some(AgreementRead { agreement, milestones, termination }))
}

/// The statement of [`row_details`]: `$1` the chain, `$2` the ids.
macro_rules! row_details_statement {
    () => {
        concat!(
            "SELECT a.id, a.status, ",
            termination_columns!(),
            ", ",
            milestone_columns!(),
            " FROM agreements a \
             LEFT JOIN milestones m ON m.chain_id = a.chain_id AND m.agreement_id = a.id \
             WHERE a.chain_id = $1 AND a.id = ANY($2) ORDER BY a.id, m.index"
        )
    };
}

/// `EXPLAIN (ANALYZE, FORMAT JSON)` of exactly the statement [`row_details`] runs for `ids`.
pub async fn explain_row_details(
    conn: &mut PgConnection,
    chain_id: u64,
    ids: &[B256],
) -> Result<serde_json::Value> {
    let ids: Vec<Vec<u8>> = ids.iter().map(|id| id.to_vec()).collect();
    Ok(sqlx::query_scalar(concat!("EXPLAIN (ANALYZE, FORMAT JSON) ", row_details_statement!()))
        .bind(i64_of(chain_id))
        .bind(&ids)
        .fetch_one(conn)
        .await?)
}

/// For the agreements `ids` (a list page's), each one's milestones and the termination under
/// way, in one statement whatever the page size: the agreements by their primary key, their
/// milestones by theirs (`(chain_id, agreement_id, index)`). An id not on this chain is absent.
pub async fn row_details(
    conn: &mut PgConnection,
    chain_id: u64,
    ids: &[B256],
) -> Result<HashMap<B256, RowDetails>> {
    let ids: Vec<Vec<u8>> = ids.iter().map(|id| id.to_vec()).collect();
    let rows = sqlx::query(row_details_statement!())
        .bind(i64_of(chain_id))
        .bind(&ids)
        .fetch_all(conn)
        .await?;
    let mut out: HashMap<B256, RowDetails> = HashMap::new();
    for r in &rows {
        let id = hash(r.try_get("id")?, "id")?;
        let entry = match out.entry(id) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(RowDetails { milestones: Vec::new(), termination: termination_of(r)? })
            }
        };
        // An agreement without milestones (revoked before creation) comes as one row of NULLs.
        if r.try_get::<Option<i32>, _>("index")?.is_some() {
            entry.milestones.push(milestone_of(r)?);
        }
    }
    Ok(out)
}

/// One event of an agreement's history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvent {
    /// Block number.
    pub block_number: i64,
    /// Block hash.
    pub block_hash: B256,
    /// Block time.
    pub block_timestamp: i64,
    /// Transaction hash.
    pub tx_hash: B256,
    /// Log index in the block.
    pub log_index: i32,
    /// Event name.
    pub event: String,
    /// Milestone, if the event is about one.
    pub milestone: Option<i32>,
    /// Raw topics (concatenated 32-byte words).
    pub topics: Vec<u8>,
    /// Raw data.
    pub data: Vec<u8>,
    /// Decoded fields.
    pub fields: serde_json::Value,
}

/// Every event of an agreement, in chain order.
pub async fn history(
    conn: &mut PgConnection,
    chain_id: u64,
    id: B256,
) -> Result<Vec<HistoryEvent>> {
    let rows = sqlx::query(
        "SELECT block_number, block_hash, block_timestamp, tx_hash, log_index, event, milestone, \
           topics, data, fields FROM escrow_events WHERE chain_id = $1 AND agreement_id = $2 \
         ORDER BY block_number, log_index",
    )
    .bind(i64_of(chain_id))
    .bind(id.as_slice())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(HistoryEvent {
                block_number: r.try_get("block_number")?,
                block_hash: hash(r.try_get("block_hash")?, "block_hash")?,
                block_timestamp: r.try_get("block_timestamp")?,
                tx_hash: hash(r.try_get("tx_hash")?, "tx_hash")?,
                log_index: r.try_get("log_index")?,
                event: r.try_get("event")?,
                milestone: r.try_get("milestone")?,
                topics: r.try_get("topics")?,
                data: r.try_get("data")?,
                fields: r.try_get("fields")?,
            })
        })
        .collect()
}
