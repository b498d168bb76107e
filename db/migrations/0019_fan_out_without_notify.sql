-- A change's deliveries no longer NOTIFY inside the write that enqueues them. PostgreSQL holds its
-- global notify-queue lock from a notifying transaction's commit until the commit is on disk, so
-- IdP writes that fanned out committed one at a time (in the resync benchmark, 16 % of samples
-- of busy backends were creates waiting for that lock, 55 % backends waiting for WAL flushes). The bridge that made the write wakes its own delivery workers
-- and sends the NOTIFY for the other processes after the commit, folding many writes into one
-- (db/notification_listener.hpp); a process that misses it polls (delivery_poll_ms).
CREATE OR REPLACE FUNCTION scim_bridge_fan_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log (tenant_id, at, actor, action, resource_type, resource_id, detail)
    VALUES (NEW.tenant_id, NEW.occurred_at, 'idp',
            lower(NEW.resource_type) || '.' || NEW.operation, NEW.resource_type, NEW.resource_id,
            jsonb_build_object('version', NEW.version, 'event_id', NEW.id,
                               'changed', to_jsonb(NEW.changed_attributes)));
    INSERT INTO delivery (tenant_id, app_id, event_id, resource_type, resource_id, version, operation)
    SELECT NEW.tenant_id, a.id, NEW.id, NEW.resource_type, NEW.resource_id, NEW.version, NEW.operation
      FROM app a
     WHERE a.tenant_id = NEW.tenant_id AND a.enabled AND (NEW.resource_type = 'User' OR a.groups);
    RETURN NULL;
END $$;
