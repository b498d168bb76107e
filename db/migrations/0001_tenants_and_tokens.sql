-- Tenants and the API tokens bound to them. Token secrets are never stored: only the SHA-256 of
-- the secret part (hex), compared in constant time by the server.
CREATE TABLE tenant (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_token (
    id          text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{16}$'),
    tenant_id   uuid NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('idp', 'admin')),
    name        text NOT NULL DEFAULT '',
    secret_hash text NOT NULL CHECK (secret_hash ~ '^[0-9a-f]{64}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE INDEX api_token_tenant_idx ON api_token (tenant_id, created_at);
