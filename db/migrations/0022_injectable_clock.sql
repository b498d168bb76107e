-- The lifecycle and the scheduler read the time from scim_bridge_now(), not now(), so that tests
-- can inject a clock (DESIGN §7): a pool given a clock (db::PoolOptions::clock) sets
-- `scim_bridge.now` on each connection it lends, and this function returns it; without one the
-- setting is absent and it is PostgreSQL's now(), the one clock every bridge process shares
-- (claim links expire by the database's clock, never by a process's). Deliveries keep now():
-- their retry delays are scaled by delivery_time_scale instead.
CREATE FUNCTION scim_bridge_now() RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(CAST(nullif(current_setting('scim_bridge.now', true), '') AS timestamptz), now())
$$;

-- The columns whose default is the time something happened in the lifecycle or the scheduler.
ALTER TABLE invitation ALTER COLUMN created_at SET DEFAULT scim_bridge_now();
ALTER TABLE access_code ALTER COLUMN created_at SET DEFAULT scim_bridge_now();
ALTER TABLE mail_outbox ALTER COLUMN next_at SET DEFAULT scim_bridge_now();
ALTER TABLE mail_outbox ALTER COLUMN created_at SET DEFAULT scim_bridge_now();
ALTER TABLE schedule ALTER COLUMN next_run_at SET DEFAULT scim_bridge_now();
ALTER TABLE schedule_run ALTER COLUMN started_at SET DEFAULT scim_bridge_now();
ALTER TABLE audit_log ALTER COLUMN at SET DEFAULT scim_bridge_now();

-- A block recorded by a delivery starts the reactivation window at the lifecycle's time.
SELECT scim_bridge_edit_function('scim_bridge_complete_delivery(jsonb)',
'CASE WHEN p->>''state'' = ''blocked'' THEN now() END)',
'CASE WHEN p->>''state'' = ''blocked'' THEN scim_bridge_now() END)');
SELECT scim_bridge_edit_function('scim_bridge_complete_delivery(jsonb)',
'IS DISTINCT FROM ''blocked'' THEN now()',
'IS DISTINCT FROM ''blocked'' THEN scim_bridge_now()');
