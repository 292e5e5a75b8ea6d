//! PostgreSQL's binary `COPY … FROM STDIN` format, for the tables whose writes dominate a
//! backfill: `escrow_events` (a row per event), and the notification outbox (`notifications` and
//! `notification_audience`, see `crate::notifications::publish`).
//!
//! Measured on the benchmark's 100,000 events: `INSERT … SELECT FROM unnest(…)` took 2.5 s,
//! binary COPY of the same rows 1.4 s (text COPY 1.95 s). sqlx streams COPY data but has no
//! encoder for the binary format, and the encoders on crates.io target tokio-postgres, so this is
//! written here; it covers only the column types the table uses. Format: PostgreSQL manual,
//! "COPY", section "Binary Format".
//!
//! A [`CopyIn`] names the table and its columns once: the statement is built from that list, and
//! a row is an array of exactly that many fields (a const generic), so a statement and the rows
//! encoded for it cannot disagree on the number of columns — a mismatch does not compile.

/// A `COPY … FROM STDIN` target: a table and the columns every row gives, in order.
#[derive(Debug)]
pub(crate) struct CopyIn<const N: usize> {
    /// The table.
    pub(crate) table: &'static str,
    /// Its columns, in the order each row's fields come.
    pub(crate) columns: [&'static str; N],
}

impl<const N: usize> CopyIn<N> {
    /// A row's field count is sent as an int16.
    const FIELDS: i16 = {
        assert!(N > 0 && N <= i16::MAX as usize, "a COPY row has 1 to 32767 fields");
        N as i16
    };

    /// The statement that reads a binary payload of these columns.
    pub(crate) fn statement(&self) -> String {
        format!("COPY {} ({}) FROM STDIN WITH (FORMAT binary)", self.table, self.columns.join(", "))
    }
}

/// One field of a row, typed as its column.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Field<'a> {
    /// A NULL (any column type).
    Null,
    /// A BIGINT.
    Int8(i64),
    /// An INTEGER.
    Int4(i32),
    /// A BYTEA (raw bytes) or a TEXT (UTF-8 bytes): both are sent as they are.
    Bytes(&'a [u8]),
    /// A JSONB: sent as format version 1, then the JSON text.
    Jsonb(&'a str),
}

/// A field longer than the format's int32 length allows.
#[derive(Debug, thiserror::Error)]
#[error("COPY field {column} is {len} bytes, over the binary format's 2 GiB limit")]
pub struct FieldTooLong {
    /// The column.
    pub column: &'static str,
    /// Its length in bytes.
    pub len: usize,
}

/// A binary COPY payload under construction: the header, then rows of length-prefixed fields.
#[derive(Debug)]
pub(crate) struct BinaryCopy<'t, const N: usize> {
    target: &'t CopyIn<N>,
    buf: Vec<u8>,
}

impl<'t, const N: usize> BinaryCopy<'t, N> {
    /// A payload for `target` with the signature, flags (no OIDs) and an empty header extension.
    pub(crate) fn new(target: &'t CopyIn<N>, bytes: usize) -> Self {
        let mut buf = Vec::with_capacity(bytes + 19);
        buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        buf.extend_from_slice(&0i32.to_be_bytes());
        buf.extend_from_slice(&0i32.to_be_bytes());
        Self { target, buf }
    }

    /// Appends a row: one field per column of the target, in its order.
    pub(crate) fn row(&mut self, fields: [Field<'_>; N]) -> Result<(), FieldTooLong> {
        let start = self.buf.len();
        self.buf.extend_from_slice(&CopyIn::<N>::FIELDS.to_be_bytes());
        for (field, column) in fields.iter().zip(self.target.columns) {
            let (prefix, body): (&[u8], &[u8]) = match field {
                Field::Null => {
                    self.buf.extend_from_slice(&(-1i32).to_be_bytes());
                    continue;
                }
                Field::Int8(v) => {
                    self.buf.extend_from_slice(&8i32.to_be_bytes());
                    self.buf.extend_from_slice(&v.to_be_bytes());
                    continue;
                }
                Field::Int4(v) => {
                    self.buf.extend_from_slice(&4i32.to_be_bytes());
                    self.buf.extend_from_slice(&v.to_be_bytes());
                    continue;
                }
                Field::Bytes(v) => (&[], v),
                Field::Jsonb(v) => (&[1], v.as_bytes()),
            };
            let len = prefix.len() + body.len();
            let Ok(len32) = i32::try_from(len) else {
                // Leave no half-written row behind.
                self.buf.truncate(start);
                return Err(FieldTooLong { column, len });
            };
            self.buf.extend_from_slice(&len32.to_be_bytes());
            self.buf.extend_from_slice(prefix);
            self.buf.extend_from_slice(body);
        }
        Ok(())
    }

    /// The payload with its trailer.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.buf.extend_from_slice(&(-1i16).to_be_bytes());
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 19-byte header: signature, flags 0 (no OIDs), header extension length 0.
    const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
    /// The file trailer: a field count of -1.
    const TRAILER: &[u8] = &[0xff, 0xff];

    const ONE: CopyIn<1> = CopyIn { table: "t", columns: ["c"] };

    fn one(field: Field<'_>) -> Vec<u8> {
        let mut copy = BinaryCopy::new(&ONE, 0);
        copy.row([field]).expect("a short field");
        copy.finish()
    }

    fn framed(tuple: &[u8]) -> Vec<u8> {
        [HEADER, tuple, TRAILER].concat()
    }

    #[test]
    fn empty_payload_is_header_and_trailer() {
        assert_eq!(BinaryCopy::new(&ONE, 0).finish(), framed(&[]));
        assert_eq!(HEADER.len(), 19);
    }

    #[test]
    fn null() {
        assert_eq!(one(Field::Null), framed(&[0, 1, 0xff, 0xff, 0xff, 0xff]));
    }

    #[test]
    fn int8_is_eight_big_endian_bytes() {
        assert_eq!(
            one(Field::Int8(0x0102_0304_0506_0708)),
            framed(&[0, 1, 0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8])
        );
        assert_eq!(
            one(Field::Int8(-2)),
            framed(&[0, 1, 0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe])
        );
    }

    #[test]
    fn int4_is_four_big_endian_bytes() {
        assert_eq!(one(Field::Int4(0x0a0b_0c0d)), framed(&[0, 1, 0, 0, 0, 4, 10, 11, 12, 13]));
        assert_eq!(one(Field::Int4(-1)), framed(&[0, 1, 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff]));
    }

    #[test]
    fn bytes_and_text_are_length_prefixed_raw() {
        assert_eq!(one(Field::Bytes(&[0xde, 0xad])), framed(&[0, 1, 0, 0, 0, 2, 0xde, 0xad]));
        assert_eq!(one(Field::Bytes(b"")), framed(&[0, 1, 0, 0, 0, 0]));
        assert_eq!(one(Field::Bytes("é".as_bytes())), framed(&[0, 1, 0, 0, 0, 2, 0xc3, 0xa9]));
    }

    #[test]
    fn jsonb_is_version_one_then_text() {
        assert_eq!(
            one(Field::Jsonb("{\"a\":1}")),
            framed(&[0, 1, 0, 0, 0, 8, 1, b'{', b'"', b'a', b'"', b':', b'1', b'}'])
        );
    }

    #[test]
    fn rows_follow_each_other_with_their_field_count() {
        const THREE: CopyIn<3> = CopyIn { table: "t", columns: ["a", "b", "c"] };
        let mut copy = BinaryCopy::new(&THREE, 0);
        copy.row([Field::Int4(7), Field::Null, Field::Bytes(b"x")]).expect("short");
        copy.row([Field::Null, Field::Int8(1), Field::Jsonb("1")]).expect("short");
        #[rustfmt::skip]
        let tuples: &[u8] = &[
            0, 3, 0, 0, 0, 4, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, b'x',
            0, 3, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 1, b'1',
        ];
        assert_eq!(copy.finish(), framed(tuples));
    }

    #[test]
    fn statement_lists_the_columns_the_rows_give() {
        const THREE: CopyIn<3> = CopyIn { table: "t", columns: ["a", "b", "c"] };
        assert_eq!(THREE.statement(), "COPY t (a, b, c) FROM STDIN WITH (FORMAT binary)");
    }
}
