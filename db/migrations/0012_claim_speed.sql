-- The claim of deliveries (0008) at fan-out rates: the leased count of each app is taken once
-- per claim (it was a correlated count per candidate key that walked the app's pending rows,
-- 23 ms a claim with 10,000 deliveries queued), and the "older delivery of this key still open"
-- check is an index lookup per candidate (a lateral LIMIT 1 keeps the planner from hashing every
-- open delivery when the table's statistics are young). Same contract as before.
--
-- The outbox table's size swings from empty to a first import's hundreds of thousands of rows
-- within a minute, faster than autovacuum's statistics: a plan cached while it was empty
-- (PL/pgSQL keeps generic plans per connection) would scan it whole on every claim. The claim
-- therefore plans its statements for the table as it is now (the completions' statements are
-- key lookups, planned well whatever the statistics, and keep their cached plans).
CREATE OR REPLACE FUNCTION scim_bridge_claim_deliveries(p_limit integer, p_lease interval, p_app_cap integer,
                                                        p_exclude uuid[])
RETURNS SETOF delivery LANGUAGE plpgsql AS $$
DECLARE
    v_busy_apps uuid[];
    v_busy_n bigint[];
    v_full uuid[];
    v_ids bigint[];
    v_keys text[];
    v_ok text[];
BEGIN
    -- Leases that expired (a worker crashed or stalled) go back to the queue.
    UPDATE delivery SET state = 'pending', lease_token = NULL, lease_until = NULL
     WHERE state = 'leased' AND lease_until < now();

    SELECT coalesce(array_agg(b.app_id), '{}'), coalesce(array_agg(b.n), '{}')
      INTO v_busy_apps, v_busy_n
      FROM (SELECT app_id, count(*) AS n FROM delivery WHERE state = 'leased' GROUP BY app_id) b;
    SELECT coalesce(array_agg(b.a), '{}') INTO v_full
      FROM unnest(v_busy_apps, v_busy_n) AS b(a, n) WHERE b.n >= p_app_cap;

    SELECT array_agg(c.id ORDER BY c.next_at, c.id),
           array_agg(DISTINCT c.app_id::text || '/' || c.resource_id::text)
      INTO v_ids, v_keys
      FROM (SELECT d.id, d.app_id, d.resource_id, d.next_at
              FROM delivery d
             WHERE d.state = 'pending' AND d.next_at <= now()
               AND NOT (d.app_id = ANY (p_exclude)) AND NOT (d.app_id = ANY (v_full))
             ORDER BY d.next_at, d.id
             LIMIT p_limit * 4
               FOR UPDATE SKIP LOCKED) c;
    IF v_ids IS NULL THEN
        RETURN;
    END IF;

    SELECT array_agg(k) INTO v_ok FROM unnest(v_keys) k
     WHERE pg_try_advisory_xact_lock(hashtextextended('scim_bridge_delivery/' || k, 0));
    IF v_ok IS NULL THEN
        RETURN;
    END IF;

    RETURN QUERY
    WITH cand AS (
        SELECT d.id, d.app_id, d.resource_id, d.next_at, d.attempts,
               d.app_id::text || '/' || d.resource_id::text AS k
          FROM delivery d WHERE d.id = ANY (v_ids)
    ),
    open_keys AS (  -- keys with a delivery in flight, or an older one still backing off
        SELECT DISTINCT c.k FROM cand c
         CROSS JOIN LATERAL (SELECT 1 FROM delivery o
                              WHERE o.app_id = c.app_id AND o.resource_id = c.resource_id
                                AND o.state IN ('pending', 'leased') AND o.id < c.id
                                AND (o.state = 'leased' OR o.next_at > now())
                              LIMIT 1) older
    ),
    per_key AS (
        SELECT c.k, c.app_id, c.resource_id, max(c.id) AS newest, min(c.next_at) AS first_due,
               max(c.attempts) AS attempts
          FROM cand c
         WHERE c.k = ANY (v_ok) AND c.k NOT IN (SELECT k FROM open_keys)
         GROUP BY c.k, c.app_id, c.resource_id
    ),
    busy AS (
        SELECT b.a AS app_id, b.n FROM unnest(v_busy_apps, v_busy_n) AS b(a, n)
    ),
    ranked AS (
        SELECT p.*, row_number() OVER (PARTITION BY p.app_id ORDER BY p.first_due, p.newest) AS n_app,
               coalesce(b.n, 0) AS busy
          FROM per_key p LEFT JOIN busy b ON b.app_id = p.app_id
    ),
    chosen AS (
        SELECT r.* FROM ranked r WHERE r.n_app + r.busy <= p_app_cap
         ORDER BY r.first_due, r.newest LIMIT p_limit
    ),
    superseded AS (
        UPDATE delivery s SET state = 'superseded', finished_at = now(), lease_token = NULL
          FROM chosen ch
         WHERE s.app_id = ch.app_id AND s.resource_id = ch.resource_id
           AND s.state = 'pending' AND s.id < ch.newest
        RETURNING s.id
    )
    UPDATE delivery d SET state = 'leased', lease_token = gen_random_uuid(),
           lease_until = now() + p_lease, attempts = greatest(d.attempts, ch.attempts) + 1
      FROM chosen ch
     WHERE d.id = ch.newest
    RETURNING d.*;
END $$;

ALTER FUNCTION scim_bridge_claim_deliveries(integer, interval, integer, uuid[])
    SET plan_cache_mode = force_custom_plan;
