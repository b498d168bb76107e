-- TRUNCATE fires no row or transition-table triggers: a truncated scim_user or scim_group left
-- their counts (0013) and the address index (0015) describing rows that no longer exist, so a
-- list's totalResults was wrong until the next fold and the address table held stale rows. A
-- statement trigger on TRUNCATE clears what is derived from the truncated table. (Deletes of a
-- tenant still go through the DELETE triggers and the cascades.)
CREATE FUNCTION scim_bridge_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'scim_user' THEN
        TRUNCATE scim_user_email;
        DELETE FROM scim_resource_count WHERE kind = 'User';
    ELSE
        DELETE FROM scim_resource_count WHERE kind = 'Group';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER scim_user_truncated AFTER TRUNCATE ON scim_user
    FOR EACH STATEMENT EXECUTE FUNCTION scim_bridge_truncated();
CREATE TRIGGER scim_group_truncated AFTER TRUNCATE ON scim_group
    FOR EACH STATEMENT EXECUTE FUNCTION scim_bridge_truncated();
