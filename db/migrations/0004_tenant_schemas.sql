-- Custom extension schemas per tenant (RFC 7643 §7 representation), attached to User or Group.
CREATE TABLE tenant_schema (
    tenant_id     uuid NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
    id            text NOT NULL CHECK (id ~* '^urn:'),
    resource_type text NOT NULL CHECK (resource_type IN ('User', 'Group')),
    definition    jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
