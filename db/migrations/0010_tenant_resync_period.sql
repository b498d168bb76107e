-- The resync period of a tenant (DESIGN §7: "configurable per tenant and per app"): the period
-- its directory pulls and app reconciliations get when their schedule rows are made, and that an
-- admin's PATCH /admin/v1/resync gives all of them at once. NULL: the server's default.
ALTER TABLE tenant ADD COLUMN resync_period_ms bigint CHECK (resync_period_ms > 0);
