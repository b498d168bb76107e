-- SCIM Users and Groups, their memberships, and the change events of every write.
-- A resource is a JSONB document plus the columns IdPs look things up by; every key and every
-- index starts with tenant_id. Membership is one row per (group, member), never an array.

CREATE TABLE scim_user (
    tenant_id    uuid NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
    id           uuid NOT NULL,
    user_name    text NOT NULL,
    external_id  text,
    display_name text,
    active       boolean,
    emails       text[] NOT NULL DEFAULT '{}',  -- lower(emails[].value), for emails.value eq
    schemas      text[] NOT NULL,
    doc          jsonb NOT NULL,
    version      bigint NOT NULL,
    created_at   timestamptz NOT NULL,
    modified_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
-- RFC 7643: userName is unique per service provider and case-insensitive.
CREATE UNIQUE INDEX scim_user_user_name_key ON scim_user (tenant_id, lower(user_name));
CREATE UNIQUE INDEX scim_user_external_id_key ON scim_user (tenant_id, external_id)
    WHERE external_id IS NOT NULL;
CREATE INDEX scim_user_emails_idx ON scim_user USING gin (emails);
CREATE INDEX scim_user_modified_idx ON scim_user (tenant_id, modified_at);

CREATE TABLE scim_group (
    tenant_id    uuid NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
    id           uuid NOT NULL,
    display_name text NOT NULL,
    external_id  text,
    schemas      text[] NOT NULL,
    doc          jsonb NOT NULL,
    version      bigint NOT NULL,
    created_at   timestamptz NOT NULL,
    modified_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX scim_group_external_id_key ON scim_group (tenant_id, external_id)
    WHERE external_id IS NOT NULL;
CREATE INDEX scim_group_display_name_idx ON scim_group (tenant_id, lower(display_name));
CREATE INDEX scim_group_modified_idx ON scim_group (tenant_id, modified_at);

CREATE TABLE scim_group_member (
    tenant_id   uuid NOT NULL,
    group_id    uuid NOT NULL,
    member_id   uuid NOT NULL,
    member_type text NOT NULL CHECK (member_type IN ('User', 'Group')),
    PRIMARY KEY (tenant_id, group_id, member_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES scim_group (tenant_id, id) ON DELETE CASCADE
);
-- User.groups and "remove this member everywhere" go through the member side.
CREATE INDEX scim_group_member_member_idx ON scim_group_member (tenant_id, member_id);

CREATE TABLE change_event (
    id                 bigserial PRIMARY KEY,
    tenant_id          uuid NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
    resource_type      text NOT NULL CHECK (resource_type IN ('User', 'Group')),
    resource_id        uuid NOT NULL,
    version            bigint NOT NULL,
    operation          text NOT NULL CHECK (operation IN ('create', 'replace', 'patch', 'delete')),
    changed_attributes text[] NOT NULL DEFAULT '{}',
    occurred_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX change_event_tenant_idx ON change_event (tenant_id, id);
CREATE INDEX change_event_resource_idx ON change_event (tenant_id, resource_id, version);
