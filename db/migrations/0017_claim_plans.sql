-- The claim of deliveries (0016) was planned afresh on every call (plan_cache_mode =
-- force_custom_plan), so that a plan cached while the outbox was empty would not scan it whole
-- once an import had filled it. Planning was then almost half of a claim (0.36 ms of its largest
-- statement alone, 1.4 ms a claim of 8 with 10,000 deliveries queued).
--
-- Every access of the claim is meant to be an index lookup or an index-ordered scan, whatever the
-- table's size: the due scans read a lane's due index in order, the candidates are primary-key
-- lookups, the older-delivery checks and the supersession probe the open-key index. The claim
-- now says so to the planner (no sequential or bitmap scans, nested-loop joins only), so the
-- plans PL/pgSQL caches per connection are those plans even when they were made while the table
-- was empty, and it keeps them: 0.85 ms a claim in the same setting. Measured: plans cached on an
-- empty outbox, then 200,000 deliveries queued without ANALYZE: 1.1–1.3 ms a claim this way,
-- 110 ms with PostgreSQL's default plan choice.
ALTER FUNCTION scim_bridge_claim_deliveries(integer, interval, integer, uuid[])
    RESET plan_cache_mode
    SET enable_seqscan = off
    SET enable_bitmapscan = off
    SET enable_hashjoin = off
    SET enable_mergejoin = off;
