-- Fan-out (DESIGN §4–§6): downstream apps, the delivery outbox, what each app holds of each
-- resource (with the account state of each person in each app), and the audit log.
--
-- Deliveries are written by a trigger on change_event, so every write path (POST, PUT, PATCH,
-- DELETE, Bulk, the group bumps of a member's delete) enqueues one delivery per enabled app in
-- the same transaction as the change: nothing is fanned out that was not committed, nothing
-- committed is lost.

CREATE TABLE app (
    tenant_id   uuid NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    connector   text NOT NULL CHECK (connector IN ('webhook', 'scim')),
    definition  jsonb NOT NULL,        -- scope, mapping, group mapping, policies, connector config
    groups      boolean NOT NULL,      -- the app receives groups (or scopes users by a group)
    enabled     boolean NOT NULL DEFAULT true,
    version     bigint NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    modified_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX app_name_key ON app (tenant_id, lower(name));

-- One row per (app, change): pending → leased → delivered | superseded | skipped | dead.
-- A worker leases a row with a fresh lease_token; completion is conditional on that token, so a
-- worker whose lease expired cannot complete (fencing).
CREATE TABLE delivery (
    id            bigserial PRIMARY KEY,
    tenant_id     uuid NOT NULL,
    app_id        uuid NOT NULL,
    event_id      bigint,               -- change_event.id; null for deliveries the bridge derived
    resource_type text NOT NULL CHECK (resource_type IN ('User', 'Group')),
    resource_id   uuid NOT NULL,
    version       bigint NOT NULL,
    operation     text NOT NULL,        -- create, replace, patch, delete; sync (derived); replay
    state         text NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'leased', 'delivered', 'superseded', 'skipped', 'dead')),
    attempts      integer NOT NULL DEFAULT 0,
    next_at       timestamptz NOT NULL DEFAULT now(),
    lease_token   uuid,
    lease_until   timestamptz,
    last_status   integer,
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    FOREIGN KEY (tenant_id, app_id) REFERENCES app (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX delivery_due_idx ON delivery (next_at, id) WHERE state = 'pending';
CREATE INDEX delivery_open_key_idx ON delivery (app_id, resource_id, id)
    WHERE state IN ('pending', 'leased');
CREATE INDEX delivery_leased_idx ON delivery (lease_until) WHERE state = 'leased';
CREATE INDEX delivery_leased_app_idx ON delivery (app_id) WHERE state = 'leased';
CREATE INDEX delivery_app_idx ON delivery (tenant_id, app_id, state, id);
CREATE INDEX delivery_created_idx ON delivery (tenant_id, created_at);

-- What an app holds of a canonical resource: its id there, the payload last delivered (for the
-- "previous values" of the next event and to skip changes the mapping does not see) and, for
-- users, the account state of the person in the app (DESIGN §5).
CREATE TABLE app_object (
    tenant_id         uuid NOT NULL,
    app_id            uuid NOT NULL,
    resource_type     text NOT NULL CHECK (resource_type IN ('User', 'Group')),
    resource_id       uuid NOT NULL,
    state             text CHECK (state IN ('initiated', 'invited', 'claimed', 'pending', 'active', 'blocked')),
    state_before_block text,
    remote_id         text,
    payload           jsonb NOT NULL DEFAULT '{}',
    delivered_version bigint NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, app_id, resource_id),
    FOREIGN KEY (tenant_id, app_id) REFERENCES app (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX app_object_state_idx ON app_object (tenant_id, app_id, resource_type, state, resource_id);
CREATE INDEX app_object_resource_idx ON app_object (tenant_id, resource_id);

-- The members of each group as the app was last told (the next group delivery sends the
-- difference).
CREATE TABLE app_group_member (
    tenant_id uuid NOT NULL,
    app_id    uuid NOT NULL,
    group_id  uuid NOT NULL,
    member_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, app_id, group_id, member_id),
    FOREIGN KEY (tenant_id, app_id) REFERENCES app (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX app_group_member_member_idx ON app_group_member (tenant_id, app_id, member_id);

-- Every change, delivery outcome, account state transition and admin action; written in the
-- same transaction as what it records. Append-only by convention (the server never updates it).
CREATE TABLE audit_log (
    id            bigserial PRIMARY KEY,
    tenant_id     uuid NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
    at            timestamptz NOT NULL DEFAULT now(),
    actor         text NOT NULL,           -- idp, bridge, admin:<token id>, cli
    action        text NOT NULL,           -- user.create, delivery.delivered, account.blocked, app.create ...
    app_id        uuid,
    resource_type text,
    resource_id   uuid,
    detail        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_tenant_idx ON audit_log (tenant_id, id);
CREATE INDEX audit_log_resource_idx ON audit_log (tenant_id, resource_id, id) WHERE resource_id IS NOT NULL;
CREATE INDEX audit_log_app_idx ON audit_log (tenant_id, app_id, id) WHERE app_id IS NOT NULL;

CREATE FUNCTION scim_bridge_fan_out() RETURNS trigger LANGUAGE plpgsql AS $$
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
    IF FOUND THEN
        PERFORM pg_notify('scim_bridge_outbox', '');
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER change_event_fan_out AFTER INSERT ON change_event
    FOR EACH ROW EXECUTE FUNCTION scim_bridge_fan_out();

-- Claims up to p_limit due deliveries, at most one per (app, resource) and at most p_app_cap
-- leased per app across every bridge process, skipping apps in p_exclude (saturated in the
-- caller). Of several due deliveries of one resource the newest is leased and the older ones
-- are superseded (the worker delivers the resource's current state); a resource whose older
-- delivery is still backing off waits for it. Each statement runs with a fresh snapshot, and a
-- transaction-scoped advisory lock per (app, resource) keeps two concurrent claimers from
-- leasing the same key.
CREATE FUNCTION scim_bridge_claim_deliveries(p_limit integer, p_lease interval, p_app_cap integer,
                                             p_exclude uuid[])
RETURNS SETOF delivery LANGUAGE plpgsql AS $$
DECLARE
    v_ids bigint[];
    v_keys text[];
    v_ok text[];
    v_full uuid[];
BEGIN
    -- Leases that expired (a worker crashed or stalled) go back to the queue.
    UPDATE delivery SET state = 'pending', lease_token = NULL, lease_until = NULL
     WHERE state = 'leased' AND lease_until < now();

    SELECT coalesce(array_agg(app_id), '{}') INTO v_full FROM (
        SELECT app_id FROM delivery WHERE state = 'leased' GROUP BY app_id
        HAVING count(*) >= p_app_cap) f;

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
         WHERE EXISTS (SELECT 1 FROM delivery o
                        WHERE o.app_id = c.app_id AND o.resource_id = c.resource_id
                          AND o.state IN ('pending', 'leased') AND o.id < c.id
                          AND (o.state = 'leased' OR o.next_at > now()))
    ),
    per_key AS (
        SELECT c.k, c.app_id, c.resource_id, max(c.id) AS newest, min(c.next_at) AS first_due,
               max(c.attempts) AS attempts
          FROM cand c
         WHERE c.k = ANY (v_ok) AND c.k NOT IN (SELECT k FROM open_keys)
         GROUP BY c.k, c.app_id, c.resource_id
    ),
    ranked AS (
        SELECT p.*, row_number() OVER (PARTITION BY p.app_id ORDER BY p.first_due, p.newest) AS n_app,
               (SELECT count(*) FROM delivery l WHERE l.state = 'leased' AND l.app_id = p.app_id) AS busy
          FROM per_key p
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

-- Records a finished delivery (p: see db/pg_outbox_store.cpp) in one transaction: the delivery
-- row (only while the caller still holds the lease: false otherwise, and nothing is written),
-- what the app now holds, the member rows it was told, the audit entries, and the deliveries the
-- outcome implies (the groups of a user whose account appeared or went; the members of a group
-- that scopes the app).
CREATE FUNCTION scim_bridge_complete_delivery(p jsonb) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    d delivery;
    v_delivered boolean := coalesce((p->>'delivered')::boolean, false);
BEGIN
    UPDATE delivery SET state = CASE WHEN v_delivered THEN 'delivered' ELSE 'skipped' END,
           finished_at = now(), lease_token = NULL, lease_until = NULL,
           last_status = nullif((p->>'status')::integer, 0), last_error = nullif(p->>'detail', '')
     WHERE id = (p->>'id')::bigint AND state = 'leased' AND lease_token = (p->>'lease_token')::uuid
    RETURNING * INTO d;
    IF NOT FOUND THEN
        RETURN false;
    END IF;

    IF coalesce((p->>'write_object')::boolean, false) THEN
        INSERT INTO app_object (tenant_id, app_id, resource_type, resource_id, state,
                                state_before_block, remote_id, payload, delivered_version)
        VALUES (d.tenant_id, d.app_id, d.resource_type, d.resource_id, p->>'state',
                p->>'state_before_block', p->>'remote_id', coalesce(p->'payload', '{}'),
                coalesce((p->>'delivered_version')::bigint, d.version))
        ON CONFLICT (tenant_id, app_id, resource_id) DO UPDATE
           SET state = EXCLUDED.state, state_before_block = EXCLUDED.state_before_block,
               remote_id = EXCLUDED.remote_id, payload = EXCLUDED.payload,
               delivered_version = EXCLUDED.delivered_version, updated_at = now();
    END IF;
    IF coalesce((p->>'forget_object')::boolean, false) THEN
        DELETE FROM app_object
         WHERE tenant_id = d.tenant_id AND app_id = d.app_id AND resource_id = d.resource_id;
        DELETE FROM app_group_member
         WHERE tenant_id = d.tenant_id AND app_id = d.app_id AND group_id = d.resource_id;
    END IF;
    IF jsonb_array_length(coalesce(p->'members_added', '[]')) > 0 THEN
        INSERT INTO app_group_member (tenant_id, app_id, group_id, member_id)
        SELECT d.tenant_id, d.app_id, d.resource_id, m::uuid
          FROM jsonb_array_elements_text(p->'members_added') m
        ON CONFLICT DO NOTHING;
    END IF;
    IF jsonb_array_length(coalesce(p->'members_removed', '[]')) > 0 THEN
        DELETE FROM app_group_member
         WHERE tenant_id = d.tenant_id AND app_id = d.app_id AND group_id = d.resource_id
           AND member_id IN (SELECT m::uuid FROM jsonb_array_elements_text(p->'members_removed') m);
    END IF;

    INSERT INTO audit_log (tenant_id, actor, action, app_id, resource_type, resource_id, detail)
    VALUES (d.tenant_id, 'bridge', CASE WHEN v_delivered THEN 'delivery.delivered' ELSE 'delivery.skipped' END,
            d.app_id, d.resource_type, d.resource_id,
            jsonb_strip_nulls(jsonb_build_object('delivery_id', d.id, 'event', p->>'event_type',
                'version', d.version, 'attempts', d.attempts, 'status', d.last_status,
                'detail', d.last_error)));
    IF p ? 'change' THEN
        INSERT INTO audit_log (tenant_id, actor, action, app_id, resource_type, resource_id, detail)
        VALUES (d.tenant_id, 'bridge', 'account.' || (p->'change'->>'to'), d.app_id, 'User',
                d.resource_id, jsonb_strip_nulls(jsonb_build_object('from', p->'change'->>'from',
                    'to', p->'change'->>'to', 'cause', p->'change'->>'cause', 'delivery_id', d.id)));
    END IF;
    IF jsonb_array_length(coalesce(p->'mapping_errors', '[]')) > 0 THEN
        INSERT INTO audit_log (tenant_id, actor, action, app_id, resource_type, resource_id, detail)
        VALUES (d.tenant_id, 'bridge', 'mapping.error', d.app_id, d.resource_type, d.resource_id,
                jsonb_build_object('errors', p->'mapping_errors', 'delivery_id', d.id));
    END IF;

    IF coalesce((p->>'redeliver_user_groups')::boolean, false) THEN
        INSERT INTO delivery (tenant_id, app_id, resource_type, resource_id, version, operation)
        SELECT d.tenant_id, d.app_id, 'Group', g.id, g.version, 'sync'
          FROM scim_group_member m
          JOIN scim_group g ON g.tenant_id = m.tenant_id AND g.id = m.group_id
         WHERE m.tenant_id = d.tenant_id AND m.member_id = d.resource_id;
        IF FOUND THEN
            PERFORM pg_notify('scim_bridge_outbox', '');
        END IF;
    END IF;
    IF coalesce((p->>'rescope_group_members')::boolean, false) THEN
        WITH RECURSIVE members(id, type, depth) AS (
            SELECT m.member_id, m.member_type, 1 FROM scim_group_member m
             WHERE m.tenant_id = d.tenant_id AND m.group_id = d.resource_id
            UNION
            SELECT m.member_id, m.member_type, x.depth + 1 FROM scim_group_member m
              JOIN members x ON m.group_id = x.id AND x.type = 'Group'
             WHERE m.tenant_id = d.tenant_id AND x.depth < 16),
        users AS (SELECT DISTINCT id FROM members WHERE type = 'User'),
        live AS (SELECT resource_id AS id FROM app_object
                  WHERE tenant_id = d.tenant_id AND app_id = d.app_id AND resource_type = 'User'
                    AND state <> 'blocked'),
        moved AS ((SELECT id FROM users EXCEPT SELECT id FROM live)
                  UNION ALL (SELECT id FROM live EXCEPT SELECT id FROM users))
        INSERT INTO delivery (tenant_id, app_id, resource_type, resource_id, version, operation)
        SELECT d.tenant_id, d.app_id, 'User', u.id, u.version, 'sync'
          FROM moved JOIN scim_user u ON u.tenant_id = d.tenant_id AND u.id = moved.id;
        IF FOUND THEN
            PERFORM pg_notify('scim_bridge_outbox', '');
        END IF;
    END IF;
    RETURN true;
END $$;

-- A failed attempt: back to the queue after p.delay_ms, or dead-lettered; fenced like completion.
CREATE FUNCTION scim_bridge_reschedule_delivery(p jsonb) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    d delivery;
    v_dead boolean := coalesce((p->>'dead')::boolean, false);
BEGIN
    UPDATE delivery SET state = CASE WHEN v_dead THEN 'dead' ELSE 'pending' END,
           next_at = now() + (p->>'delay_ms')::bigint * interval '1 millisecond',
           lease_token = NULL, lease_until = NULL,
           last_status = nullif((p->>'status')::integer, 0), last_error = nullif(p->>'detail', ''),
           finished_at = CASE WHEN v_dead THEN now() END
     WHERE id = (p->>'id')::bigint AND state = 'leased' AND lease_token = (p->>'lease_token')::uuid
    RETURNING * INTO d;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO audit_log (tenant_id, actor, action, app_id, resource_type, resource_id, detail)
    VALUES (d.tenant_id, 'bridge', CASE WHEN v_dead THEN 'delivery.dead' ELSE 'delivery.retry' END,
            d.app_id, d.resource_type, d.resource_id,
            jsonb_strip_nulls(jsonb_build_object('delivery_id', d.id, 'attempts', d.attempts,
                'status', d.last_status, 'detail', d.last_error, 'next_at', CASE WHEN v_dead THEN NULL ELSE d.next_at END)));
    RETURN true;
END $$;
