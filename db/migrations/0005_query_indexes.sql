-- Indexes for what IdPs and admins query at scale (issue: SCIM query at scale).
-- Users' displayName eq (lower-cased, like the filter compiles it).
CREATE INDEX scim_user_display_name_idx ON scim_user (tenant_id, lower(display_name));
-- Sorted pages and cursor walks by userName.
CREATE INDEX scim_user_user_name_sort_idx ON scim_user (tenant_id, (lower(user_name) COLLATE "C"), id);

-- co/sw/ew on userName, emails and displayName: trigram indexes when pg_trgm is available
-- (a trusted extension since PostgreSQL 13; a database owner may create it). Without it these
-- filters still work, by scanning.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN insufficient_privilege OR undefined_file THEN
    RAISE NOTICE 'pg_trgm not available: co/sw/ew filters will scan';
END
$$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        EXECUTE 'CREATE INDEX scim_user_user_name_trgm_idx ON scim_user USING gin (lower(user_name) gin_trgm_ops)';
        EXECUTE 'CREATE INDEX scim_user_display_name_trgm_idx ON scim_user USING gin (lower(display_name) gin_trgm_ops)';
        EXECUTE 'CREATE INDEX scim_group_display_name_trgm_idx ON scim_group USING gin (lower(display_name) gin_trgm_ops)';
    END IF;
END
$$;
