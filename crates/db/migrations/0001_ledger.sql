-- The ledger: the escrow's events mirrored from the chain, and the tables derived from them.
-- Every row that mirrors the chain carries chain id, block number, block hash, tx hash and log
-- index; amounts are NUMERIC(78, 0) (any uint256). Rollback after a reorg deletes by
-- (chain_id, block_number > ancestor) and rebuilds the affected agreements from escrow_events.

-- One row per indexed chain: how far it is mirrored, and what the node said last.
CREATE TABLE indexer_checkpoints (
    chain_id        BIGINT PRIMARY KEY,
    escrow          BYTEA       NOT NULL,
    genesis_hash    BYTEA       NOT NULL,
    block_number    BIGINT      NOT NULL,
    block_hash      BYTEA       NOT NULL,
    head_block      BIGINT      NOT NULL,
    finalized_block BIGINT      NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Hashes of indexed blocks that are not final yet: the window a reorg is detected and undone in.
CREATE TABLE indexer_blocks (
    chain_id    BIGINT NOT NULL,
    number      BIGINT NOT NULL,
    hash        BYTEA  NOT NULL,
    parent_hash BYTEA  NOT NULL,
    PRIMARY KEY (chain_id, number)
);

-- Every escrow event, raw (topics, data: re-decodable, verifiable) and decoded (event, fields).
CREATE TABLE escrow_events (
    chain_id        BIGINT  NOT NULL,
    block_number    BIGINT  NOT NULL,
    block_hash      BYTEA   NOT NULL,
    block_timestamp BIGINT  NOT NULL,
    tx_hash         BYTEA   NOT NULL,
    tx_index        INTEGER NOT NULL,
    log_index       INTEGER NOT NULL,
    event           TEXT    NOT NULL,
    agreement_id    BYTEA,
    milestone       INTEGER,
    topics          BYTEA   NOT NULL, -- the topics concatenated, 32 bytes each
    data            BYTEA   NOT NULL,
    fields          JSONB   NOT NULL,
    PRIMARY KEY (chain_id, block_hash, log_index)
);
CREATE INDEX escrow_events_order ON escrow_events (chain_id, block_number, log_index);
CREATE INDEX escrow_events_agreement ON escrow_events (chain_id, agreement_id, block_number, log_index);

-- Current state of each agreement (rebuilt from its events).
CREATE TABLE agreements (
    chain_id           BIGINT         NOT NULL,
    id                 BYTEA          NOT NULL,
    brand              BYTEA,
    creator            BYTEA,
    arbiter            BYTEA,
    token              BYTEA,
    terms_hash         BYTEA,
    arbiter_fee_bps    INTEGER,
    contest_window     BIGINT,
    arbitration_window BIGINT,
    signature_deadline BIGINT,
    salt               NUMERIC(78, 0),
    milestone_count    INTEGER        NOT NULL,
    status             TEXT           NOT NULL,
    funded_count       INTEGER        NOT NULL,
    terminated_by      INTEGER        NOT NULL,
    contested          BOOLEAN        NOT NULL,
    since              BIGINT         NOT NULL,
    total_amount       NUMERIC(78, 0) NOT NULL,
    funded             NUMERIC(78, 0) NOT NULL,
    paid_to_creator    NUMERIC(78, 0) NOT NULL,
    refunded_to_brand  NUMERIC(78, 0) NOT NULL,
    arbiter_fees       NUMERIC(78, 0) NOT NULL,
    created_block      BIGINT         NOT NULL,
    created_block_hash BYTEA          NOT NULL,
    created_tx_hash    BYTEA          NOT NULL,
    created_log_index  INTEGER        NOT NULL,
    created_at         BIGINT         NOT NULL,
    updated_block      BIGINT         NOT NULL,
    updated_block_hash BYTEA          NOT NULL,
    updated_tx_hash    BYTEA          NOT NULL,
    updated_log_index  INTEGER        NOT NULL,
    PRIMARY KEY (chain_id, id)
);
CREATE INDEX agreements_brand ON agreements (chain_id, brand, created_block, id);
CREATE INDEX agreements_creator ON agreements (chain_id, creator, created_block, id);

-- Current state of each milestone.
CREATE TABLE milestones (
    chain_id      BIGINT         NOT NULL,
    agreement_id  BYTEA          NOT NULL,
    index         INTEGER        NOT NULL,
    amount        NUMERIC(78, 0) NOT NULL,
    deadline      BIGINT         NOT NULL,
    review_window BIGINT         NOT NULL,
    funded        BOOLEAN        NOT NULL,
    status        TEXT           NOT NULL,
    since         BIGINT         NOT NULL,
    content_hash  BYTEA,
    uri           TEXT,
    PRIMARY KEY (chain_id, agreement_id, index)
);

-- Money in: one row per MilestonesFunded.
CREATE TABLE deposits (
    chain_id        BIGINT         NOT NULL,
    agreement_id    BYTEA          NOT NULL,
    funder          BYTEA          NOT NULL,
    first_milestone INTEGER        NOT NULL,
    count           INTEGER        NOT NULL,
    amount          NUMERIC(78, 0) NOT NULL,
    block_number    BIGINT         NOT NULL,
    block_hash      BYTEA          NOT NULL,
    tx_hash         BYTEA          NOT NULL,
    log_index       INTEGER        NOT NULL,
    PRIMARY KEY (chain_id, block_hash, log_index)
);

-- Money out: one row per recipient of each paying event. Brand rows are refunds (see the view).
CREATE TABLE payouts (
    chain_id     BIGINT         NOT NULL,
    agreement_id BYTEA          NOT NULL,
    milestone    INTEGER,
    role         TEXT           NOT NULL CHECK (role IN ('creator', 'brand', 'arbiter')),
    recipient    BYTEA          NOT NULL,
    amount       NUMERIC(78, 0) NOT NULL,
    kind         TEXT           NOT NULL,
    block_number BIGINT         NOT NULL,
    block_hash   BYTEA          NOT NULL,
    tx_hash      BYTEA          NOT NULL,
    log_index    INTEGER        NOT NULL,
    PRIMARY KEY (chain_id, block_hash, log_index, role)
);
CREATE VIEW refunds AS SELECT * FROM payouts WHERE role = 'brand';

-- Disputes opened, one row each; the ruling is the payouts row of the same milestone.
CREATE TABLE disputes (
    chain_id     BIGINT  NOT NULL,
    agreement_id BYTEA   NOT NULL,
    milestone    INTEGER NOT NULL,
    opened_by    BYTEA   NOT NULL,
    reason_hash  BYTEA   NOT NULL,
    opened_at    BIGINT  NOT NULL,
    block_number BIGINT  NOT NULL,
    block_hash   BYTEA   NOT NULL,
    tx_hash      BYTEA   NOT NULL,
    log_index    INTEGER NOT NULL,
    PRIMARY KEY (chain_id, block_hash, log_index)
);

-- Termination steps: started, contested, ended (with its kind and split).
CREATE TABLE terminations (
    chain_id       BIGINT  NOT NULL,
    agreement_id   BYTEA   NOT NULL,
    step           TEXT    NOT NULL CHECK (step IN ('started', 'contested', 'ended')),
    actor          BYTEA,
    reason_hash    BYTEA,
    kind           TEXT,
    creator_amount NUMERIC(78, 0),
    brand_amount   NUMERIC(78, 0),
    arbiter_fee    NUMERIC(78, 0),
    at             BIGINT  NOT NULL,
    block_number   BIGINT  NOT NULL,
    block_hash     BYTEA   NOT NULL,
    tx_hash        BYTEA   NOT NULL,
    log_index      INTEGER NOT NULL,
    PRIMARY KEY (chain_id, block_hash, log_index)
);

-- Payments that could not be pushed, and their withdrawals (per token and account).
CREATE TABLE deferred_payments (
    chain_id     BIGINT         NOT NULL,
    token        BYTEA          NOT NULL,
    account      BYTEA          NOT NULL,
    amount       NUMERIC(78, 0) NOT NULL,
    withdrawn_to BYTEA,
    block_number BIGINT         NOT NULL,
    block_hash   BYTEA          NOT NULL,
    tx_hash      BYTEA          NOT NULL,
    log_index    INTEGER        NOT NULL,
    PRIMARY KEY (chain_id, block_hash, log_index)
);
