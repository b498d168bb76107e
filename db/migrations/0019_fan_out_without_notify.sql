-- A change's deliveries no longer NOTIFY inside the write that enqueues them. PostgreSQL holds its
-- global notify-queue lock from a notifying transaction's commit until the commit is on disk, so
-- IdP writes that fanned out committed one at a time (in the resync benchmark, 16 % of samples
-- of busy backends were creates waiting for that lock, 55 % backends waiting for WAL flushes).
-- The bridge that made the write wakes its own delivery workers and sends the NOTIFY for the
-- other processes after the commit, folding many writes into one
-- (db/notification_listener.hpp); a process that misses it polls (delivery_poll_ms).
SELECT scim_bridge_edit_function('scim_bridge_fan_out()',
'    IF FOUND THEN
        PERFORM pg_notify(''scim_bridge_outbox'', '''');
    END IF;
', '');
