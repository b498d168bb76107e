-- Strict mode per token: no dialect rewrites; every non-RFC request shape is a 400 that names it.
ALTER TABLE api_token ADD COLUMN strict boolean NOT NULL DEFAULT false;
