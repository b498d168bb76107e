-- A delivery that was sent at least once is never superseded: it is sent again, under its own
-- event id, before any newer change of its resource. It may have reached the app before the
-- bridge died (its completion lost with the process), and a newer row sent in its place carries
-- a new event id: a receiver that dedupes by event id then applied user.created twice (seen in
-- the e2e test that SIGKILLs the bridge during a burst). The event a row sends always holds the
-- resource's current state, so sending the older row first loses nothing; the rows between it
-- and the newest are superseded by the next claim, as before.
--
-- Three edits of the claim: a `target` step picks the row to send (the key's oldest attempted
-- pending one, else its newest), and both the supersession and the lease use it.
SELECT scim_bridge_edit_function('scim_bridge_claim_deliveries(integer, interval, integer, uuid[])',
'    superseded AS (
        UPDATE delivery s SET state = ''superseded'', finished_at = now(), lease_token = NULL
          FROM chosen ch',
'    target AS (
        SELECT ch.*, coalesce((SELECT min(o.id) FROM delivery o
                                WHERE o.app_id = ch.app_id AND o.resource_id = ch.resource_id
                                  AND o.state = ''pending'' AND o.attempts > 0 AND o.id < ch.newest),
                               ch.newest) AS send
          FROM chosen ch
    ),
    superseded AS (
        UPDATE delivery s SET state = ''superseded'', finished_at = now(), lease_token = NULL
          FROM target ch');
SELECT scim_bridge_edit_function('scim_bridge_claim_deliveries(integer, interval, integer, uuid[])',
'AND s.id < ch.newest', 'AND s.id < ch.send');
SELECT scim_bridge_edit_function('scim_bridge_claim_deliveries(integer, interval, integer, uuid[])',
'      FROM chosen ch
     WHERE d.id = ch.newest',
'      FROM target ch
     WHERE d.id = ch.send');
