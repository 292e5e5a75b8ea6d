-- Performance agreements (PactumPerformance, the second singleton): its events, mirrored by the
-- same indexer in the same transactions as the escrow's, and the parties of each agreement so a
-- party's agreements are one index scan. State is folded from the events on read
-- (pactum_core::performance::PerformanceLedger): an agreement has a few events per period, and a
-- fold of its own events cannot disagree with them. Rollback after a reorg deletes by
-- (chain_id, block_number > ancestor), as for the escrow's tables.

CREATE TABLE performance_events (
    chain_id        BIGINT  NOT NULL,
    block_number    BIGINT  NOT NULL,
    block_hash      BYTEA   NOT NULL,
    block_timestamp BIGINT  NOT NULL,
    tx_hash         BYTEA   NOT NULL,
    tx_index        INTEGER NOT NULL,
    log_index       INTEGER NOT NULL,
    event           TEXT    NOT NULL,
    agreement_id    BYTEA,
    period          INTEGER,
    topics          BYTEA   NOT NULL, -- the topics concatenated, 32 bytes each
    data            BYTEA   NOT NULL,
    fields          JSONB   NOT NULL,
    PRIMARY KEY (chain_id, block_hash, log_index)
);
CREATE INDEX performance_events_order ON performance_events (chain_id, block_number, log_index);
CREATE INDEX performance_events_agreement
    ON performance_events (chain_id, agreement_id, block_number, log_index);

-- One row per created performance agreement: who its parties are.
CREATE TABLE performance_agreements (
    chain_id     BIGINT NOT NULL,
    id           BYTEA  NOT NULL,
    brand        BYTEA  NOT NULL,
    partner      BYTEA  NOT NULL,
    attester     BYTEA  NOT NULL,
    arbiter      BYTEA  NOT NULL,
    token        BYTEA  NOT NULL,
    block_number BIGINT NOT NULL,
    block_hash   BYTEA  NOT NULL,
    tx_hash      BYTEA  NOT NULL,
    log_index    INTEGER NOT NULL,
    PRIMARY KEY (chain_id, id)
);
CREATE INDEX performance_agreements_brand ON performance_agreements (chain_id, brand, block_number);
CREATE INDEX performance_agreements_partner ON performance_agreements (chain_id, partner, block_number);
CREATE INDEX performance_agreements_attester ON performance_agreements (chain_id, attester, block_number);
CREATE INDEX performance_agreements_arbiter ON performance_agreements (chain_id, arbiter, block_number);
CREATE INDEX performance_agreements_block ON performance_agreements (chain_id, block_number);

-- Which performance contract a chain's mirror follows. The indexer refuses to start when this and
-- its configuration disagree, and when a mirror built without the contract is asked to follow one:
-- the blocks already mirrored were read without its logs.
CREATE TABLE performance_mirrors (
    chain_id BIGINT PRIMARY KEY,
    contract BYTEA  NOT NULL
);
