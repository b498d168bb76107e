-- A delivery that was sent at least once is never superseded: it is sent again, under its own
-- event id, before any newer change of its resource. It may have reached the app before the
-- bridge died (its completion lost with the process), and a newer row sent in its place carries
-- a new event id: a receiver that dedupes by event id then applied user.created twice (seen in
-- the e2e test that SIGKILLs the bridge during a burst). The event a row sends always holds the
-- resource's current state, so sending the older row first loses nothing; the rows between it
-- and the newest are superseded by the next claim, as before.
SELECT scim_bridge_edit_function('scim_bridge_claim_deliveries(integer, interval, integer, uuid[])',
'    superseded AS (
        UPDATE delivery s SET state = ''superseded'', finished_at = now(), lease_token = NULL
          FROM chosen ch
         WHERE s.app_id = ch.app_id AND s.resource_id = ch.resource_id
           AND s.state = ''pending'' AND s.id < ch.newest
        RETURNING s.id
    )
    UPDATE delivery d SET state = ''leased'', lease_token = gen_random_uuid(),
           lease_until = now() + p_lease, attempts = greatest(d.attempts, ch.attempts) + 1
      FROM chosen ch
     WHERE d.id = ch.newest
    RETURNING d.*;',
'    target AS (  -- the row to send: the key''s oldest attempted pending one, else its newest
        SELECT ch.*, coalesce((SELECT min(o.id) FROM delivery o
                                WHERE o.app_id = ch.app_id AND o.resource_id = ch.resource_id
                                  AND o.state = ''pending'' AND o.attempts > 0 AND o.id < ch.newest),
                               ch.newest) AS send
          FROM chosen ch
    ),
    superseded AS (
        UPDATE delivery s SET state = ''superseded'', finished_at = now(), lease_token = NULL
          FROM target ch
         WHERE s.app_id = ch.app_id AND s.resource_id = ch.resource_id
           AND s.state = ''pending'' AND s.id < ch.send
        RETURNING s.id
    )
    UPDATE delivery d SET state = ''leased'', lease_token = gen_random_uuid(),
           lease_until = now() + p_lease, attempts = greatest(d.attempts, ch.attempts) + 1
      FROM target ch
     WHERE d.id = ch.send
    RETURNING d.*;');
