-- emails (for emails.value eq) was lower-cased in ASCII only, while filters fold their literal
-- with lower(): non-ASCII addresses were not found. Re-fold the rows that hold any.
UPDATE scim_user u
SET emails = coalesce((SELECT array_agg(lower(e.value ->> 'value')) FROM jsonb_array_elements(
                           CASE WHEN jsonb_typeof(u.doc -> 'emails') = 'array' THEN u.doc -> 'emails'
                                ELSE '[]'::jsonb END) AS e(value)
                       WHERE jsonb_typeof(e.value -> 'value') = 'string'), '{}')
WHERE u.emails::text ~ '[^\x01-\x7f]';
