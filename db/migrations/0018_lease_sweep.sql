-- Expired leases go back to the queue in their own call (scim_bridge_release_expired_leases),
-- which each process's claimer makes every few seconds, no longer at the start of every claim.
-- A lease expires only when a worker crashed or stalled, yet the claim looked for such leases
-- hundreds of times a second, and the look was not free: the leased index keeps an entry for
-- every delivery leased until vacuum removes it. In the resync benchmark (100,000 users × 2
-- apps under a saturating ingest with fan-out) that update was 8.5 s of the claims' 22.9 s of
-- PostgreSQL time (1.0 ms a claim of 2.8 ms). The claim is otherwise 0016's.
CREATE FUNCTION scim_bridge_release_expired_leases() RETURNS integer LANGUAGE sql AS $$
    WITH released AS (
        UPDATE delivery SET state = 'pending', lease_token = NULL, lease_until = NULL
         WHERE state = 'leased' AND lease_until < now()
        RETURNING 1)
    SELECT count(*)::integer FROM released
$$;

CREATE OR REPLACE FUNCTION scim_bridge_claim_deliveries(p_limit integer, p_lease interval, p_app_cap integer,
                                                        p_exclude uuid[])
RETURNS SETOF delivery LANGUAGE plpgsql AS $$
DECLARE
    v_busy_apps uuid[];
    v_busy_n bigint[];
    v_busy_repairs bigint[];
    v_repair_ids bigint[];
    v_repair_keys text[];
    v_full uuid[];
    v_ids bigint[];
    v_keys text[];
    v_ok text[];
BEGIN
    SELECT coalesce(array_agg(b.app_id), '{}'), coalesce(array_agg(b.n), '{}'), coalesce(array_agg(b.r), '{}')
      INTO v_busy_apps, v_busy_n, v_busy_repairs
      FROM (SELECT app_id, count(*) AS n, count(*) FILTER (WHERE operation = 'resync') AS r
              FROM delivery WHERE state = 'leased' GROUP BY app_id) b;
    SELECT coalesce(array_agg(b.a), '{}') INTO v_full
      FROM unnest(v_busy_apps, v_busy_n) AS b(a, n) WHERE b.n >= p_app_cap;

    SELECT array_agg(c.id ORDER BY c.next_at, c.id),
           array_agg(DISTINCT c.app_id::text || '/' || c.resource_id::text)
      INTO v_ids, v_keys
      FROM (SELECT d.id, d.app_id, d.resource_id, d.next_at
              FROM delivery d
             WHERE d.state = 'pending' AND d.operation <> 'resync' AND d.next_at <= now()
               AND NOT (d.app_id = ANY (p_exclude)) AND NOT (d.app_id = ANY (v_full))
             ORDER BY d.next_at, d.id
             LIMIT p_limit * 4
               FOR UPDATE SKIP LOCKED) c;
    SELECT array_agg(c.id ORDER BY c.next_at, c.id),
           array_agg(DISTINCT c.app_id::text || '/' || c.resource_id::text)
      INTO v_repair_ids, v_repair_keys
      FROM (SELECT d.id, d.app_id, d.resource_id, d.next_at
              FROM delivery d
             WHERE d.state = 'pending' AND d.operation = 'resync' AND d.next_at <= now()
               AND NOT (d.app_id = ANY (p_exclude)) AND NOT (d.app_id = ANY (v_full))
             ORDER BY d.next_at, d.id
             LIMIT p_limit
               FOR UPDATE SKIP LOCKED) c;
    v_ids := coalesce(v_ids, '{}') || coalesce(v_repair_ids, '{}');
    v_keys := ARRAY(SELECT DISTINCT k FROM unnest(coalesce(v_keys, '{}') || coalesce(v_repair_keys, '{}')) k);
    IF cardinality(v_ids) = 0 THEN
        RETURN;
    END IF;

    SELECT array_agg(k) INTO v_ok FROM unnest(v_keys) k
     WHERE pg_try_advisory_xact_lock(hashtextextended('scim_bridge_delivery/' || k, 0));
    IF v_ok IS NULL THEN
        RETURN;
    END IF;

    RETURN QUERY
    WITH cand AS (
        SELECT d.id, d.app_id, d.resource_id, d.next_at, d.attempts, d.operation = 'resync' AS repair,
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
               max(c.attempts) AS attempts, bool_and(c.repair) AS repair
          FROM cand c
         WHERE c.k = ANY (v_ok) AND c.k NOT IN (SELECT k FROM open_keys)
         GROUP BY c.k, c.app_id, c.resource_id
    ),
    busy AS (
        SELECT b.a AS app_id, b.n, b.r FROM unnest(v_busy_apps, v_busy_n, v_busy_repairs) AS b(a, n, r)
    ),
    lanes AS (  -- lane 0: repairs within their quarter; 1: live changes; 2: the other repairs
        SELECT p.*, coalesce(b.n, 0) AS busy,
               CASE WHEN NOT p.repair THEN 1
                    WHEN row_number() OVER (PARTITION BY p.app_id, p.repair ORDER BY p.first_due, p.newest)
                         + coalesce(b.r, 0) <= greatest(1, p_app_cap / 4) THEN 0
                    ELSE 2 END AS lane
          FROM per_key p LEFT JOIN busy b ON b.app_id = p.app_id
    ),
    ranked AS (
        SELECT l.*, row_number() OVER (PARTITION BY l.app_id ORDER BY l.lane, l.first_due, l.newest) AS n_app
          FROM lanes l
    ),
    chosen AS (
        SELECT r.* FROM ranked r WHERE r.n_app + r.busy <= p_app_cap
         ORDER BY r.lane, r.first_due, r.newest LIMIT p_limit
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

-- CREATE OR REPLACE cleared the settings 0017 gave the claim; they are given again.
ALTER FUNCTION scim_bridge_claim_deliveries(integer, interval, integer, uuid[])
    SET enable_seqscan = off
    SET enable_bitmapscan = off
    SET enable_hashjoin = off
    SET enable_mergejoin = off;
