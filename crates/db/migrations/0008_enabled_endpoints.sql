-- The notification outbox skips the webhook fan-out when no endpoint is enabled
-- (`notifications::fan_out`); this answers that check with one index probe however many disabled
-- endpoints there are.
CREATE INDEX webhook_endpoints_enabled ON webhook_endpoints (id) WHERE enabled;
