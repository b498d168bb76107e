-- Resource counts per tenant, so an unfiltered list's totalResults (an admin's sorted page, the
-- first page of a cursor walk, count=0) does not count a tenant of millions row by row.
--
-- Writers never update a shared row: every statement that inserts or deletes users or groups
-- appends one row with its delta (a statement-level trigger over the transition table, so a
-- COPY of a million rows adds one row, and a SCIM create one). The count is the sum of a
-- tenant's rows in the reader's snapshot, so it is exactly as transactional as count(*).
-- Now and then a writer folds the committed rows into one (SKIP LOCKED: folders never wait for
-- each other or for anyone else), which keeps the sum a read of a few dozen rows.
CREATE TABLE scim_resource_count (
    tenant_id uuid NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
    kind      text NOT NULL CHECK (kind IN ('User', 'Group')),
    delta     bigint NOT NULL
);
CREATE INDEX scim_resource_count_idx ON scim_resource_count (tenant_id, kind);

INSERT INTO scim_resource_count (tenant_id, kind, delta)
SELECT tenant_id, 'User', count(*) FROM scim_user GROUP BY tenant_id;
INSERT INTO scim_resource_count (tenant_id, kind, delta)
SELECT tenant_id, 'Group', count(*) FROM scim_group GROUP BY tenant_id;

-- Folds the committed count rows of (p_tenant, p_kind) that nobody else is folding into one.
CREATE FUNCTION scim_bridge_fold_count(p_tenant uuid, p_kind text) RETURNS void
LANGUAGE sql AS $$
    WITH gone AS (
        DELETE FROM scim_resource_count c
         WHERE c.ctid = ANY (ARRAY(SELECT ctid FROM scim_resource_count
                                    WHERE tenant_id = p_tenant AND kind = p_kind
                                    FOR UPDATE SKIP LOCKED))
        RETURNING c.delta)
    INSERT INTO scim_resource_count (tenant_id, kind, delta)
    SELECT p_tenant, p_kind, sum(delta) FROM gone HAVING count(*) > 0;
$$;

CREATE FUNCTION scim_bridge_count_resources() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    k text := CASE TG_TABLE_NAME WHEN 'scim_user' THEN 'User' ELSE 'Group' END;
    t uuid;
BEGIN
    -- (plpgsql plans each branch when it first runs it: the insert trigger has no old_rows.)
    -- A tenant being deleted cascades to its resources: no rows for it (they go with it).
    IF TG_OP = 'INSERT' THEN
        INSERT INTO scim_resource_count (tenant_id, kind, delta)
        SELECT n.tenant_id, k, count(*) FROM new_rows n
         WHERE EXISTS (SELECT 1 FROM tenant WHERE id = n.tenant_id) GROUP BY n.tenant_id;
    ELSE
        INSERT INTO scim_resource_count (tenant_id, kind, delta)
        SELECT o.tenant_id, k, -count(*) FROM old_rows o
         WHERE EXISTS (SELECT 1 FROM tenant WHERE id = o.tenant_id) GROUP BY o.tenant_id;
    END IF;
    -- About one statement in 32 folds its tenant's rows.
    IF random() < 1.0 / 32 THEN
        IF TG_OP = 'INSERT' THEN
            SELECT n.tenant_id INTO t FROM new_rows n LIMIT 1;
        ELSE
            SELECT o.tenant_id INTO t FROM old_rows o LIMIT 1;
        END IF;
        IF t IS NOT NULL THEN
            PERFORM scim_bridge_fold_count(t, k);
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER scim_user_counted_insert AFTER INSERT ON scim_user
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION scim_bridge_count_resources();
CREATE TRIGGER scim_user_counted_delete AFTER DELETE ON scim_user
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION scim_bridge_count_resources();
CREATE TRIGGER scim_group_counted_insert AFTER INSERT ON scim_group
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION scim_bridge_count_resources();
CREATE TRIGGER scim_group_counted_delete AFTER DELETE ON scim_group
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION scim_bridge_count_resources();
