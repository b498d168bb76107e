-- The state a resync benchmark starts from (tests/bench/run.sh, suite "resync"): every user of
-- the tenant delivered to two apps, written directly instead of fanned out (200,000 deliveries
-- through the workers would take longer than the whole suite), then 1% drift injected.
--   psql -v bench=UUID -v downstream=UUID -v scim_app=UUID -v webhook_app=UUID
--        -v seed_file=PATH -v counts_file=PATH -f tests/bench/resync_seed.sql
-- bench: the tenant of the users and of both apps; downstream: the second tenant the outbound
-- SCIM app writes into (its token's tenant) unless -v scim_seed_file=PATH hands the copies to
-- tests/bench/scim_sink (see below); webhook_app: an app whose webhook receiver is
-- tests/bench/fanout_sink started with --seed seed_file afterwards.
--
-- What the bridge itself would have recorded after delivering each user (compare a real
-- delivery's app_object row): the account 'initiated' (apps default to invite "later"), told so
-- (delivered_state), at the user's version, and the payload the identity mapping gives — the
-- resource as rendered (schemas, id, externalId, then the stored document) minus meta, groups,
-- password and members (mappers/delivery.cpp identity_payload). A payload that differs from the
-- mapping's output would make every user "undelivered"; the suite's dry run shows it.
-- The SCIM app's copies are what its connector sent: the mapped attributes with active=true and
-- externalId = the mapped externalId (else the canonical id), under ids of the second tenant.
--
-- Drift, on two independent samples of the users (ids are random, so ordering by them samples):
--   SCIM app:    1% of the copies deleted, 1% with another displayName, 0.5% extra accounts
--                (externalIds the bridge never sent).
--   webhook app: the seed file omits 1%, lists 1% at the previous version, and lists 0.5%
--                unknown ids in use.
-- counts_file receives the injected numbers as one JSON object.
\set ON_ERROR_STOP on
BEGIN;

-- Every user wanted by both apps (tests/bench/load_scale.py makes every 50th one inactive).
UPDATE scim_user SET active = true, doc = jsonb_set(doc, '{active}', 'true')
 WHERE tenant_id = :'bench' AND active IS DISTINCT FROM true;

CREATE TEMP TABLE resync_map ON COMMIT DROP AS
SELECT u.id AS canonical, gen_random_uuid() AS remote, row_number() OVER (ORDER BY u.id) AS rn,
       row_number() OVER (ORDER BY md5(u.id::text)) AS rn_webhook
  FROM scim_user u WHERE u.tenant_id = :'bench';

INSERT INTO scim_user (tenant_id, id, user_name, external_id, display_name, active, emails, schemas,
                       doc, version, created_at, modified_at)
SELECT :'downstream', m.remote, u.user_name, coalesce(u.external_id, u.id::text), u.display_name,
       true, u.emails, u.schemas, (u.doc - 'password' - 'groups' - 'meta') || '{"active": true}', 1,
       now(), now()
  FROM resync_map m JOIN scim_user u ON u.tenant_id = :'bench' AND u.id = m.canonical;

INSERT INTO app_object (tenant_id, app_id, resource_type, resource_id, state, remote_id, payload,
                        delivered_version, delivered_state)
SELECT :'bench', a.app_id, 'User', u.id, 'initiated', CASE WHEN a.scim THEN m.remote::text END,
       jsonb_build_object('schemas', to_jsonb(u.schemas), 'id', u.id::text)
         || CASE WHEN u.external_id IS NULL THEN '{}'::jsonb
                 ELSE jsonb_build_object('externalId', u.external_id) END
         || (u.doc - 'password' - 'groups' - 'meta' - 'members'),
       u.version, 'initiated'
  FROM resync_map m
  JOIN scim_user u ON u.tenant_id = :'bench' AND u.id = m.canonical
 CROSS JOIN (VALUES (CAST(:'scim_app' AS uuid), true), (CAST(:'webhook_app' AS uuid), false)) a (app_id, scim);

-- SCIM app drift.
DELETE FROM scim_user d USING resync_map m
 WHERE d.tenant_id = :'downstream' AND d.id = m.remote AND m.rn % 100 = 0;
UPDATE scim_user d
   SET display_name = 'Drifted ' || coalesce(d.display_name, ''),
       doc = jsonb_set(d.doc, '{displayName}', to_jsonb('Drifted ' || coalesce(d.display_name, ''))),
       version = d.version + 1, modified_at = now()
  FROM resync_map m
 WHERE d.tenant_id = :'downstream' AND d.id = m.remote AND m.rn % 100 = 1;
INSERT INTO scim_user (tenant_id, id, user_name, external_id, display_name, active, emails, schemas,
                       doc, version, created_at, modified_at)
SELECT :'downstream', gen_random_uuid(), 'orphan' || k || '@example.com', 'orphan-' || k, 'Orphan ' || k,
       true, ARRAY['orphan' || k || '@example.com'], '{urn:ietf:params:scim:schemas:core:2.0:User}',
       jsonb_build_object('userName', 'orphan' || k || '@example.com', 'displayName', 'Orphan ' || k,
                          'emails', jsonb_build_array(jsonb_build_object('value', 'orphan' || k || '@example.com',
                                                                         'type', 'work', 'primary', true)),
                          'active', true),
       1, now(), now()
  FROM generate_series(1, (SELECT count(*) FROM resync_map) / 200) k;

-- Reconciliation only when asked: the schedule rows exist before the server starts, due in a day
-- (the scheduler's leader adds missing rows and keeps existing ones).
INSERT INTO schedule (key, kind, tenant_id, subject_id, period_ms, next_run_at)
SELECT 'reconcile:' || a.id, 'reconcile', a.tenant_id, a.id, 300 * 60 * 1000, now() + interval '1 day'
  FROM app a WHERE a.id IN (CAST(:'scim_app' AS uuid), CAST(:'webhook_app' AS uuid))
ON CONFLICT (key) DO UPDATE SET next_run_at = EXCLUDED.next_run_at, options = '{}';

-- With tests/bench/scim_sink as the SCIM app (the suite's default), the copies move from the
-- second tenant to the file it loads (scim_seed_file: "User", a tab, the resource as the second
-- tenant renders it); without scim_seed_file they stay in the second tenant.
\if :{?scim_seed_file}
\o :scim_seed_file
SELECT 'User' || chr(9) || (jsonb_build_object('schemas', to_jsonb(d.schemas), 'id', d.id::text)
         || CASE WHEN d.external_id IS NULL THEN '{}'::jsonb
                 ELSE jsonb_build_object('externalId', d.external_id) END
         || d.doc)::text
  FROM scim_user d WHERE d.tenant_id = :'downstream';
\o
DELETE FROM scim_user WHERE tenant_id = :'downstream';
\endif

-- The webhook app's holdings: id, type, version, account state (fanout_sink --seed).
\o :seed_file
COPY (SELECT u.id, 'User', CASE WHEN m.rn_webhook % 100 = 1 THEN u.version - 1 ELSE u.version END, 'initiated'
        FROM resync_map m JOIN scim_user u ON u.tenant_id = :'bench' AND u.id = m.canonical
       WHERE m.rn_webhook % 100 <> 0
      UNION ALL
      SELECT gen_random_uuid(), 'User', 1, 'active'
        FROM generate_series(1, (SELECT count(*) FROM resync_map) / 200)) TO STDOUT;
\o :counts_file
SELECT json_build_object(
    'users', count(*),
    'scim_missing', count(*) FILTER (WHERE rn % 100 = 0),
    'scim_stale', count(*) FILTER (WHERE rn % 100 = 1),
    'scim_extra', count(*) / 200,
    'webhook_missing', count(*) FILTER (WHERE rn_webhook % 100 = 0),
    'webhook_stale', count(*) FILTER (WHERE rn_webhook % 100 = 1),
    'webhook_extra', count(*) / 200)
  FROM resync_map;
\o
COMMIT;
