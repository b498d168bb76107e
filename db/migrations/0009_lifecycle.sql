-- Account lifecycle and schedules (DESIGN §5, §7): invitations with claim links, access codes,
-- the invitation mail outbox, the scheduler's jobs and run history, and directory sources.
--
-- Claim tokens and access codes are never stored: the bridge derives them from a key that lives
-- outside the database (HMAC of the row id) and stores only their SHA-256, so a dump of the
-- database reveals no usable link or code, while reminders and CSV exports can still show them.

-- What the app was last told of the account (so a lifecycle change the app has not heard of is
-- sent by the next delivery), which invitation (and reminder) it was told of, and the clocks of
-- the reactivation window.
ALTER TABLE app_object
    ADD COLUMN delivered_state text,
    ADD COLUMN announced_invitation text,
    ADD COLUMN blocked_at timestamptz,
    ADD COLUMN memberships_purged_at timestamptz,
    ADD COLUMN block_cause text;

CREATE INDEX app_object_blocked_idx ON app_object (blocked_at)
    WHERE state = 'blocked' AND memberships_purged_at IS NULL;
CREATE INDEX app_object_remote_idx ON app_object (tenant_id, app_id, remote_id) WHERE remote_id IS NOT NULL;

-- Reactivation window (DESIGN §5): a blocked person leaves the app's groups at once and gets them
-- back when reactivated within the window; once the window has passed, the memberships they had
-- are purged for good (memberships_purged_at): only memberships the IdP grants later (added_at)
-- reach the app again.
ALTER TABLE scim_group_member ADD COLUMN added_at timestamptz NOT NULL DEFAULT now();

CREATE TABLE invitation (
    tenant_id        uuid NOT NULL,
    id               uuid NOT NULL,
    app_id           uuid NOT NULL,
    user_id          uuid NOT NULL,
    token_hash       text NOT NULL UNIQUE,   -- hex SHA-256 of the claim token
    state            text NOT NULL DEFAULT 'open'
                     CHECK (state IN ('open', 'claimed', 'revoked', 'expired')),
    email            text,                   -- where the link was mailed (null: app channel only)
    locale           text,
    reminders_sent   integer NOT NULL DEFAULT 0,
    next_reminder_at timestamptz,
    expires_at       timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    created_by       text NOT NULL,
    finished_at      timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, app_id) REFERENCES app (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX invitation_open_key ON invitation (tenant_id, app_id, user_id) WHERE state = 'open';
CREATE INDEX invitation_reminder_idx ON invitation (next_reminder_at) WHERE state = 'open';
CREATE INDEX invitation_expiry_idx ON invitation (expires_at) WHERE state = 'open';
CREATE INDEX invitation_app_idx ON invitation (tenant_id, app_id, state, user_id);

CREATE TABLE access_code (
    tenant_id   uuid NOT NULL,
    id          uuid NOT NULL,
    app_id      uuid NOT NULL,
    user_id     uuid NOT NULL,
    code_hash   text NOT NULL UNIQUE,        -- hex SHA-256 of the 16 letters
    state       text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'used', 'revoked')),
    expires_at  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text NOT NULL,
    finished_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, app_id) REFERENCES app (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX access_code_open_key ON access_code (tenant_id, app_id, user_id) WHERE state = 'open';
CREATE INDEX access_code_app_idx ON access_code (tenant_id, app_id, state, user_id);

-- Invitation mails: written in the transaction of the invitation (or reminder), sent by the mail
-- worker; a mail whose invitation is no longer open when its turn comes is cancelled.
CREATE TABLE mail_outbox (
    id            bigserial PRIMARY KEY,
    tenant_id     uuid NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
    app_id        uuid NOT NULL,
    user_id       uuid NOT NULL,
    invitation_id uuid NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('invite', 'reminder1', 'reminder2', 'copy')),
    recipient     text NOT NULL,
    locale        text,
    state         text NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'leased', 'sent', 'cancelled', 'dead')),
    attempts      integer NOT NULL DEFAULT 0,
    next_at       timestamptz NOT NULL DEFAULT now(),
    lease_until   timestamptz,
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz
);
CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_at, id) WHERE state IN ('pending', 'leased');
CREATE INDEX mail_outbox_invitation_idx ON mail_outbox (tenant_id, invitation_id);

-- The scheduler (DESIGN §7): one row per job (global, per tenant or per app) with its period and
-- next run; one row per run with its checkpoint (a run resumed after a crash continues from it)
-- and its report.
CREATE TABLE schedule (
    key         text PRIMARY KEY,            -- e.g. lifecycle, directory:<tenant>/<source>
    kind        text NOT NULL,
    tenant_id   uuid REFERENCES tenant (id) ON DELETE CASCADE,
    subject_id  uuid,                        -- the app or directory source, when per-object
    period_ms   bigint NOT NULL CHECK (period_ms > 0),
    enabled     boolean NOT NULL DEFAULT true,
    next_run_at timestamptz NOT NULL DEFAULT now(),
    last_run_id bigint,
    options     jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE schedule_run (
    id          bigserial PRIMARY KEY,
    key         text NOT NULL REFERENCES schedule (key) ON DELETE CASCADE,
    kind        text NOT NULL,
    tenant_id   uuid,
    dry_run     boolean NOT NULL DEFAULT false,
    state       text NOT NULL DEFAULT 'running'
                CHECK (state IN ('running', 'succeeded', 'failed')),
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    resumed     integer NOT NULL DEFAULT 0,  -- how many times a new leader picked it up
    checkpoint  jsonb NOT NULL DEFAULT '{}',
    report      jsonb NOT NULL DEFAULT '{}',
    error       text
);
CREATE INDEX schedule_run_key_idx ON schedule_run (key, id);
CREATE INDEX schedule_run_tenant_idx ON schedule_run (tenant_id, id);
CREATE UNIQUE INDEX schedule_run_one_running ON schedule_run (key) WHERE state = 'running';

-- Directories pulled on a schedule (Google Workspace, Microsoft Graph, a SCIM source). The
-- config holds credentials: never returned by the admin API after creation.
CREATE TABLE directory_source (
    tenant_id   uuid NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind        text NOT NULL CHECK (kind IN ('google', 'graph', 'scim')),
    config      jsonb NOT NULL,
    state       text NOT NULL DEFAULT '',    -- delta links between pulls
    enabled     boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    modified_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX directory_source_name_key ON directory_source (tenant_id, lower(name));

CREATE UNIQUE INDEX app_id_key ON app (id);  -- app callbacks name the app, not the tenant

-- Completion now merges the account state instead of overwriting it: a lifecycle action (an
-- invitation, a claim, an admin block) may have moved the state while the delivery was in
-- flight, so the state is only written when the delivery itself decided a transition, and a
-- block keeps the state it interrupts (as the row has it now) for a later restore.
CREATE OR REPLACE FUNCTION scim_bridge_complete_delivery(p jsonb) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    d delivery;
    v_delivered boolean := coalesce((p->>'delivered')::boolean, false);
    v_changes boolean := p ? 'change';
    v_to text := p->'change'->>'to';
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
        INSERT INTO app_object AS o (tenant_id, app_id, resource_type, resource_id, state,
                                state_before_block, remote_id, payload, delivered_version,
                                delivered_state, announced_invitation, blocked_at)
        VALUES (d.tenant_id, d.app_id, d.resource_type, d.resource_id, p->>'state',
                p->>'state_before_block', p->>'remote_id', coalesce(p->'payload', '{}'),
                coalesce((p->>'delivered_version')::bigint, d.version), p->>'delivered_state',
                p->>'announced_invitation', CASE WHEN p->>'state' = 'blocked' THEN now() END)
        ON CONFLICT (tenant_id, app_id, resource_id) DO UPDATE
           SET state = CASE WHEN v_changes THEN EXCLUDED.state ELSE o.state END,
               state_before_block = CASE
                   WHEN v_changes AND v_to = 'blocked' AND o.state IS DISTINCT FROM 'blocked' THEN o.state
                   WHEN v_changes THEN EXCLUDED.state_before_block
                   ELSE o.state_before_block END,
               block_cause = CASE WHEN v_changes AND v_to = 'blocked' THEN p->'change'->>'cause'
                                  WHEN v_changes THEN NULL ELSE o.block_cause END,
               blocked_at = CASE
                   WHEN v_changes AND v_to = 'blocked' AND o.state IS DISTINCT FROM 'blocked' THEN now()
                   WHEN v_changes AND v_to <> 'blocked' THEN NULL
                   ELSE o.blocked_at END,
               remote_id = EXCLUDED.remote_id, payload = EXCLUDED.payload,
               delivered_version = EXCLUDED.delivered_version,
               delivered_state = EXCLUDED.delivered_state,
               announced_invitation = coalesce(EXCLUDED.announced_invitation, o.announced_invitation),
               updated_at = now();
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
    IF v_changes THEN
        INSERT INTO audit_log (tenant_id, actor, action, app_id, resource_type, resource_id, detail)
        VALUES (d.tenant_id, 'bridge', 'account.' || v_to, d.app_id, 'User',
                d.resource_id, jsonb_strip_nulls(jsonb_build_object('from', p->'change'->>'from',
                    'to', v_to, 'cause', p->'change'->>'cause', 'delivery_id', d.id)));
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
