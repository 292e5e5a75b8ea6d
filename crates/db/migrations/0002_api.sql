-- What the API keeps off chain: sign-in nonces and sessions, drafts with their versions and the
-- parties' signatures, and a hash-chained log of every off-chain step. Times are Unix seconds.

-- Sign-In with Ethereum nonces: single use, short-lived.
CREATE TABLE siwe_nonces (
    nonce      TEXT   PRIMARY KEY,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);

-- Sessions: the bearer token itself is never stored, only its keccak256.
CREATE TABLE sessions (
    token_hash BYTEA  PRIMARY KEY,
    address    BYTEA  NOT NULL,
    role       TEXT   NOT NULL CHECK (role IN ('party', 'auditor')),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);

-- A draft: who drafts with whom, on which chain and escrow. Its content lives in versions.
CREATE TABLE drafts (
    id              TEXT           PRIMARY KEY,
    chain_id        BIGINT         NOT NULL,
    escrow          BYTEA          NOT NULL,
    brand           BYTEA          NOT NULL,
    creator         BYTEA          NOT NULL,
    salt            NUMERIC(78, 0) NOT NULL,
    current_version INTEGER        NOT NULL,
    created_at      BIGINT         NOT NULL
);
CREATE INDEX drafts_brand ON drafts (brand, created_at);
CREATE INDEX drafts_creator ON drafts (creator, created_at);

-- Every version of a draft: the agreement exactly as it would be signed, its EIP-712 id, and the
-- terms document with its canonical form and hash.
CREATE TABLE draft_versions (
    draft_id        TEXT    NOT NULL REFERENCES drafts (id),
    version         INTEGER NOT NULL,
    proposed_by     BYTEA   NOT NULL,
    agreement       JSONB   NOT NULL,
    agreement_id    BYTEA   NOT NULL,
    terms           JSONB   NOT NULL,
    terms_canonical TEXT    NOT NULL,
    terms_hash      BYTEA   NOT NULL,
    created_at      BIGINT  NOT NULL,
    PRIMARY KEY (draft_id, version)
);
CREATE INDEX draft_versions_agreement ON draft_versions (agreement_id);

-- The parties' signatures of one version, each with how and when it was verified.
CREATE TABLE draft_signatures (
    draft_id    TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    role        TEXT    NOT NULL CHECK (role IN ('brand', 'creator')),
    signer      BYTEA   NOT NULL,
    digest      BYTEA   NOT NULL,
    signature   BYTEA   NOT NULL,
    method      TEXT    NOT NULL CHECK (method IN ('ecdsa', 'eip1271')),
    verified_at BIGINT  NOT NULL,
    PRIMARY KEY (draft_id, version, role),
    FOREIGN KEY (draft_id, version) REFERENCES draft_versions (draft_id, version)
);

-- The off-chain log, one hash chain per draft: hash = keccak256(prev_hash || entry), where entry
-- is the canonical JSON text stored beside it (RFC 8785). Editing any row breaks every later hash.
CREATE TABLE offchain_log (
    draft_id  TEXT    NOT NULL REFERENCES drafts (id),
    seq       INTEGER NOT NULL,
    kind      TEXT    NOT NULL,
    actor     BYTEA   NOT NULL,
    at        BIGINT  NOT NULL,
    entry     TEXT    NOT NULL,
    prev_hash BYTEA   NOT NULL,
    hash      BYTEA   NOT NULL,
    PRIMARY KEY (draft_id, seq)
);
