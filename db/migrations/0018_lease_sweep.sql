-- Expired leases go back to the queue in their own call (scim_bridge_release_expired_leases),
-- which each process's claimer makes every few seconds, no longer at the start of every claim.
-- A lease expires only when a worker crashed or stalled, yet the claim looked for such leases
-- hundreds of times a second, and the look was not free: the leased index keeps an entry for
-- every delivery leased until vacuum removes it. In the resync benchmark (100,000 users × 2
-- apps under a saturating ingest with fan-out) that update was 8.5 s of the claims' 22.9 s of
-- PostgreSQL time (1.0 ms a claim of 2.8 ms).
CREATE FUNCTION scim_bridge_release_expired_leases() RETURNS integer LANGUAGE sql AS $$
    WITH released AS (
        UPDATE delivery SET state = 'pending', lease_token = NULL, lease_until = NULL
         WHERE state = 'leased' AND lease_until < now()
        RETURNING 1)
    SELECT count(*)::integer FROM released
$$;

-- For migrations that change a few lines of a function: replaces `p_old`, which must occur in
-- the function's definition exactly once, by `p_new`, and recreates it. The definition comes
-- from pg_get_functiondef, so the function's settings (0017's planner settings on the claim) are
-- kept, and the migration need not repeat the whole function as it stands.
CREATE FUNCTION scim_bridge_edit_function(p_fn regprocedure, p_old text, p_new text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_def text := pg_get_functiondef(p_fn);
    v_parts text[] := string_to_array(v_def, p_old);
BEGIN
    IF cardinality(v_parts) <> 2 THEN
        RAISE EXCEPTION 'edit of %: the text to replace occurs % times, not once',
            p_fn, cardinality(v_parts) - 1;
    END IF;
    EXECUTE v_parts[1] || p_new || v_parts[2];
END $$;

SELECT scim_bridge_edit_function('scim_bridge_claim_deliveries(integer, interval, integer, uuid[])',
'    -- Leases that expired (a worker crashed or stalled) go back to the queue.
    UPDATE delivery SET state = ''pending'', lease_token = NULL, lease_until = NULL
     WHERE state = ''leased'' AND lease_until < now();

', '');
