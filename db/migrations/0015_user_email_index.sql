-- emails.value eq through a B-tree: one row per (tenant, lower-cased address, user).
--
-- The GIN index over scim_user.emails answered the lookup in 41 µs, but PostgreSQL cannot
-- estimate an array containment (it assumes 0.5 % of the tenant), so the prepared lookup's
-- generic plan looked dearer than a custom one and every call was planned again (0.3 ms). A
-- B-tree over the addresses has real statistics: the generic plan is two index probes, and it
-- is kept. The GIN index goes (every write of a user paid for it).
--
-- scim_user.emails stays the source (lower-cased by the store as the filter folds its literal);
-- triggers keep this table equal to it: statement-level over the transition tables for inserts
-- and deletes (a COPY of a million users is one set-based insert, a tenant's cascade one
-- set-based delete), row-level for updates, only when the addresses changed. Queries join back
-- to scim_user by id, so a stale row could never make a user match.
CREATE TABLE scim_user_email (
    tenant_id uuid NOT NULL,
    email     text NOT NULL,
    user_id   uuid NOT NULL,
    PRIMARY KEY (tenant_id, email, user_id)
);

INSERT INTO scim_user_email (tenant_id, email, user_id)
SELECT DISTINCT u.tenant_id, e.email, u.id FROM scim_user u CROSS JOIN LATERAL unnest(u.emails) AS e(email);

CREATE FUNCTION scim_bridge_index_emails() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- (plpgsql plans each branch when it first runs it: the insert trigger has no old_rows.)
    IF TG_OP = 'INSERT' THEN
        INSERT INTO scim_user_email (tenant_id, email, user_id)
        SELECT DISTINCT n.tenant_id, e.email, n.id FROM new_rows n CROSS JOIN LATERAL unnest(n.emails) AS e(email)
        ON CONFLICT DO NOTHING;
    ELSE
        DELETE FROM scim_user_email x
         USING old_rows o CROSS JOIN LATERAL unnest(o.emails) AS e(email)
         WHERE x.tenant_id = o.tenant_id AND x.email = e.email AND x.user_id = o.id;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION scim_bridge_reindex_user_emails() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM scim_user_email
     WHERE tenant_id = OLD.tenant_id AND user_id = OLD.id
       AND email = ANY (OLD.emails) AND NOT (email = ANY (NEW.emails));
    INSERT INTO scim_user_email (tenant_id, email, user_id)
    SELECT DISTINCT NEW.tenant_id, e.email, NEW.id FROM unnest(NEW.emails) AS e(email)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER scim_user_emails_insert AFTER INSERT ON scim_user
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION scim_bridge_index_emails();
CREATE TRIGGER scim_user_emails_delete AFTER DELETE ON scim_user
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION scim_bridge_index_emails();
CREATE TRIGGER scim_user_emails_update AFTER UPDATE OF emails ON scim_user
    FOR EACH ROW WHEN (OLD.emails IS DISTINCT FROM NEW.emails)
    EXECUTE FUNCTION scim_bridge_reindex_user_emails();

DROP INDEX scim_user_emails_idx;
