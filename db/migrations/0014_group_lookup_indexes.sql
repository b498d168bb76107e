-- A user's groups (User.groups, on every user read and on every page of a list) are found from
-- the member side: first the user's own memberships, then, level by level, the memberships of
-- those groups in other groups (nested groups).
--
-- The first step reads (tenant_id, member_id) → group_id: with group_id in the index it is an
-- index-only scan instead of a heap fetch per membership.
-- The nesting steps ask only for memberships of groups (member_type = 'Group'). Most tenants
-- have few or none, so a partial index over just those rows turns a probe per group found
-- (each one walking the whole member index to find nothing) into a scan of a tiny index.
DROP INDEX scim_group_member_member_idx;
CREATE INDEX scim_group_member_member_idx ON scim_group_member (tenant_id, member_id) INCLUDE (group_id);
CREATE INDEX scim_group_member_nested_idx ON scim_group_member (tenant_id, member_id) INCLUDE (group_id)
    WHERE member_type = 'Group';
