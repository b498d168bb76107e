-- Which IdP a token belongs to, and whether its requests are decoded leniently (explicit nulls
-- and stray keys ignored, "True"/"False" and quoted numbers coerced) as Entra and OneLogin need.
ALTER TABLE api_token
    ADD COLUMN source  text NOT NULL DEFAULT 'generic'
        CHECK (source IN ('generic', 'okta', 'entra', 'onelogin', 'jumpcloud', 'google')),
    ADD COLUMN lenient boolean NOT NULL DEFAULT false;
