-- Conversion records of performance agreements, and the Merkle trees built over a period's records
-- (`crates/core/src/merkle.rs`: OpenZeppelin's StandardMerkleTree, whose root the attester signs as
-- the report's `detailRoot`). Queries: `crates/db/src/records.rs`.
--
-- Records are written by an attester in batches of thousands (binary COPY into a temporary table,
-- then one INSERT … ON CONFLICT DO NOTHING), are never updated except to mark them reversed, and
-- never deleted: a tree's proof joins its leaf back to the record it hashed.

CREATE TABLE conversion_records (
    chain_id      BIGINT        NOT NULL,
    agreement_id  BYTEA         NOT NULL,
    -- Pseudonymous, 1 to 64 characters of [A-Za-z0-9._:-]: checked in Rust before a batch is sent
    -- (`merkle::validate_conversion_id`). The CHECK is only the length: the character class as a
    -- regular expression cost 5 µs a row, a fifth of the batch insert. "C" collation: byte order,
    -- the cheapest comparison for the two indexes that carry it.
    conversion_id TEXT COLLATE "C" NOT NULL
        CHECK (octet_length(conversion_id) BETWEEN 1 AND 64),
    -- Unix seconds (a leaf's uint64; values past BIGINT are refused before they get here).
    occurred_at   BIGINT        NOT NULL CHECK (occurred_at >= 0),
    -- Token base units (a leaf's uint256: up to 78 digits).
    revenue       NUMERIC(78,0) NOT NULL CHECK (revenue >= 0),
    -- Set when the attester reversed the conversion (a return, fraud): Unix seconds. The record
    -- stays, and so does its place in trees built before.
    reversed_at   BIGINT,
    received_at   TIMESTAMPTZ   NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, agreement_id, conversion_id)
);
-- A period's records (the tree's input) and the auditor's listing, paged by
-- (occurred_at, conversion_id): one range scan each.
CREATE INDEX conversion_records_period
    ON conversion_records (chain_id, agreement_id, occurred_at, conversion_id);

-- Built trees, content-addressed by root: the same records give the same root, so building a
-- period again stores nothing new. A period may have several (a corrected report's records).
CREATE TABLE performance_trees (
    chain_id      BIGINT      NOT NULL,
    agreement_id  BYTEA       NOT NULL,
    root          BYTEA       NOT NULL CHECK (octet_length(root) = 32),
    period        INTEGER     NOT NULL CHECK (period >= 0),
    leaves        INTEGER     NOT NULL CHECK (leaves > 0),
    built_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, agreement_id, root)
);
CREATE INDEX performance_trees_period ON performance_trees (chain_id, agreement_id, period);

-- A tree's node array as the library lays it out (`Tree::nodes`: root at 0, children of i at
-- 2i+1 and 2i+2, leaves last), 32 consecutive nodes a row (`records::NODES_PER_ROW`): row `chunk`
-- holds nodes 32·chunk to 32·chunk + 31, concatenated (the last row fewer). A proof is the
-- siblings of the leaf's ancestors: their indices follow from the leaf's
-- (`merkle::proof_indices`), so one probe of this key for the rows that hold them. A row per node
-- took 485 MB and 27 s to write for a million records, three quarters of it the repeated key.
-- No foreign keys: `store_tree` writes a tree's three tables in one transaction and nothing deletes
-- them; a key check per row would be a trigger per row (a million for a million records' leaves).
CREATE TABLE performance_tree_nodes (
    chain_id      BIGINT  NOT NULL,
    agreement_id  BYTEA   NOT NULL,
    root          BYTEA   NOT NULL,
    chunk         INTEGER NOT NULL CHECK (chunk >= 0),
    hashes        BYTEA   NOT NULL CHECK (octet_length(hashes) BETWEEN 32 AND 1024
                                          AND octet_length(hashes) % 32 = 0),
    PRIMARY KEY (chain_id, agreement_id, root, chunk)
);

-- Where each record of a tree sits: its leaf's node index, as a map from conversion id packed 32
-- entries a row (`records::LEAVES_PER_ROW`), the rows keyed by their smallest conversion id, so a
-- lookup is the one row whose `first_id` is the greatest not above the id (a backward index probe).
-- `entries`: the row's conversion ids in byte order, each as a length byte, the id's bytes and the
-- node index (4 bytes, big-endian). A row an entry took 301 MB for a million records.
CREATE TABLE performance_tree_leaves (
    chain_id      BIGINT  NOT NULL,
    agreement_id  BYTEA   NOT NULL,
    root          BYTEA   NOT NULL,
    first_id      TEXT COLLATE "C" NOT NULL,
    entries       BYTEA   NOT NULL,
    PRIMARY KEY (chain_id, agreement_id, root, first_id)
);
