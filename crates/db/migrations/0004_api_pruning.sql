-- The API prunes expired sign-in nonces and sessions (anyone may ask for a nonce, so the table
-- would otherwise grow without bound). These indexes let each bounded DELETE find the oldest
-- expired rows without scanning the table.
CREATE INDEX siwe_nonces_expires_at ON siwe_nonces (expires_at);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
