-- The claim's candidates are taken app by app, each app at most as many as it has free slots
-- (p_app_cap less its leased deliveries), instead of the first p_limit × 4 due rows of all apps.
-- With one app's backlog first in due order (an app created in a populated tenant enqueues a
-- delivery of every user), the window held that app's rows only: it got its free slots, every
-- other app none, and the deliveries in flight were one app's cap (fan-out benchmark: 2,353
-- deliveries/s with half the CPU idle, one sink idle while the other worked). Each lane's due
-- index now leads with the app; the apps with pending rows are found by a skip scan of it (one
-- probe per such app), and each app's candidates by one range of it. The two lanes' selections
-- stay two statements: a partial index serves only a statement whose lane predicate is written
-- out, not one taking the lane as a parameter. The list of full apps the old selections skipped
-- goes: an app's free slots are worked out where its candidates are taken.
CREATE INDEX delivery_due_live_app_idx ON delivery (app_id, next_at, id)
    WHERE state = 'pending' AND operation <> 'resync';
CREATE INDEX delivery_due_repair_app_idx ON delivery (app_id, next_at, id)
    WHERE state = 'pending' AND operation = 'resync';
DROP INDEX delivery_due_live_idx;
DROP INDEX delivery_due_repair_idx;

SELECT scim_bridge_edit_function('scim_bridge_claim_deliveries(integer, interval, integer, uuid[])',
'      FROM (SELECT d.id, d.app_id, d.resource_id, d.next_at
              FROM delivery d
             WHERE d.state = ''pending'' AND d.operation <> ''resync'' AND d.next_at <= now()
               AND NOT (d.app_id = ANY (p_exclude)) AND NOT (d.app_id = ANY (v_full))
             ORDER BY d.next_at, d.id
             LIMIT p_limit * 4
               FOR UPDATE SKIP LOCKED) c;',
'      FROM (SELECT x.* FROM (
                WITH RECURSIVE apps(app_id) AS (
                    SELECT (SELECT d.app_id FROM delivery d
                             WHERE d.state = ''pending'' AND d.operation <> ''resync''
                             ORDER BY d.app_id LIMIT 1)
                    UNION ALL
                    SELECT (SELECT d.app_id FROM delivery d
                             WHERE d.state = ''pending'' AND d.operation <> ''resync'' AND d.app_id > a.app_id
                             ORDER BY d.app_id LIMIT 1)
                      FROM apps a WHERE a.app_id IS NOT NULL)
                SELECT a.app_id, p_app_cap - coalesce(b.n, 0) AS free
                  FROM apps a LEFT JOIN unnest(v_busy_apps, v_busy_n) AS b(a, n) ON b.a = a.app_id
                 WHERE a.app_id IS NOT NULL AND NOT (a.app_id = ANY (p_exclude))
                   AND coalesce(b.n, 0) < p_app_cap) f
              CROSS JOIN LATERAL (
                SELECT d.id, d.app_id, d.resource_id, d.next_at
                  FROM delivery d
                 WHERE d.app_id = f.app_id AND d.state = ''pending'' AND d.operation <> ''resync''
                   AND d.next_at <= now()
                 ORDER BY d.next_at, d.id
                 LIMIT 4 * least(p_limit, f.free)
                   FOR UPDATE SKIP LOCKED) x
             ORDER BY x.next_at, x.id
             LIMIT p_limit * 4) c;');

SELECT scim_bridge_edit_function('scim_bridge_claim_deliveries(integer, interval, integer, uuid[])',
'      FROM (SELECT d.id, d.app_id, d.resource_id, d.next_at
              FROM delivery d
             WHERE d.state = ''pending'' AND d.operation = ''resync'' AND d.next_at <= now()
               AND NOT (d.app_id = ANY (p_exclude)) AND NOT (d.app_id = ANY (v_full))
             ORDER BY d.next_at, d.id
             LIMIT p_limit
               FOR UPDATE SKIP LOCKED) c;',
'      FROM (SELECT x.* FROM (
                WITH RECURSIVE apps(app_id) AS (
                    SELECT (SELECT d.app_id FROM delivery d
                             WHERE d.state = ''pending'' AND d.operation = ''resync''
                             ORDER BY d.app_id LIMIT 1)
                    UNION ALL
                    SELECT (SELECT d.app_id FROM delivery d
                             WHERE d.state = ''pending'' AND d.operation = ''resync'' AND d.app_id > a.app_id
                             ORDER BY d.app_id LIMIT 1)
                      FROM apps a WHERE a.app_id IS NOT NULL)
                SELECT a.app_id, p_app_cap - coalesce(b.n, 0) AS free
                  FROM apps a LEFT JOIN unnest(v_busy_apps, v_busy_n) AS b(a, n) ON b.a = a.app_id
                 WHERE a.app_id IS NOT NULL AND NOT (a.app_id = ANY (p_exclude))
                   AND coalesce(b.n, 0) < p_app_cap) f
              CROSS JOIN LATERAL (
                SELECT d.id, d.app_id, d.resource_id, d.next_at
                  FROM delivery d
                 WHERE d.app_id = f.app_id AND d.state = ''pending'' AND d.operation = ''resync''
                   AND d.next_at <= now()
                 ORDER BY d.next_at, d.id
                 LIMIT least(p_limit, f.free)
                   FOR UPDATE SKIP LOCKED) x
             ORDER BY x.next_at, x.id
             LIMIT p_limit) c;');

SELECT scim_bridge_edit_function('scim_bridge_claim_deliveries(integer, interval, integer, uuid[])',
'    SELECT coalesce(array_agg(b.a), ''{}'') INTO v_full
      FROM unnest(v_busy_apps, v_busy_n) AS b(a, n) WHERE b.n >= p_app_cap;
', '');
SELECT scim_bridge_edit_function('scim_bridge_claim_deliveries(integer, interval, integer, uuid[])',
'    v_full uuid[];
', '');
