#!/usr/bin/env python3
"""Helpers of the resync benchmark (tests/bench/run.sh, suite "resync"; standard library only).

    resync_bench.py watch --dsn DSN --after RUN_ID --keys KEY,KEY --out FILE [--max-seconds 900]
        Samples the reconcile runs (schedule_run rows with id > RUN_ID of those keys) every
        0.25 s until all of them finished, then writes FILE: each run's row (state, report,
        started/finished as epoch seconds) and its checkpoint samples [db time, users checked],
        which show where a run spends its time (before the first page is judged: the SCIM
        read-back; the walk; after the last page: gone objects, the final batch, orphans).
    resync_bench.py summary --dir DIR --log SERVER_LOG --downstream TENANT --seconds S --window W
        Prints the result lines (Markdown bullets) from the JSON files run.sh left in DIR.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import time


def psql(dsn, sql):
    out = subprocess.run(["psql", dsn, "-qAtX", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         check=True, capture_output=True, text=True).stdout
    return out.strip()


def watch(a):
    keys = ",".join("'" + k.replace("'", "''") + "'" for k in a.keys.split(","))
    sql = ("SELECT json_build_object('now', extract(epoch FROM clock_timestamp()), 'runs', coalesce(json_agg("
           "json_build_object('id', r.id, 'key', r.key, 'app', a.name, 'dry_run', r.dry_run, 'state', r.state, "
           "'error', r.error, 'started', extract(epoch FROM r.started_at), "
           "'finished', extract(epoch FROM r.finished_at), 'checked', (r.checkpoint->>'checked')::bigint, "
           "'phase', r.checkpoint->>'phase', 'report', CASE WHEN r.state <> 'running' THEN r.report END) "
           "ORDER BY r.id), '[]')) "
           f"FROM schedule_run r LEFT JOIN app a ON r.key = 'reconcile:' || a.id "
           f"WHERE r.id > {int(a.after)} AND r.key IN ({keys})")
    want = len(a.keys.split(","))
    samples = {}
    rows = {}
    deadline = time.monotonic() + a.max_seconds
    while True:
        snap = json.loads(psql(a.dsn, sql))
        for r in snap["runs"]:
            rows[r["key"]] = r
            s = samples.setdefault(r["key"], [])
            if r["checked"] is not None and (not s or s[-1][1] != r["checked"]):
                s.append([snap["now"], r["checked"]])
        done = [r for r in rows.values() if r["state"] != "running"]
        if len(done) == want or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    out = {"complete": len(done) == want, "runs": []}
    for key, r in sorted(rows.items(), key=lambda kv: kv[1]["app"] or ""):
        r = dict(r)
        r["samples"] = samples.get(key, [])
        out["runs"].append(r)
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f)
    os.replace(tmp, a.out)  # run.sh polls for the file: it appears complete


# ---- summary ------------------------------------------------------------------------------------

def load(d, name, default=None):
    path = os.path.join(d, name)
    if not os.path.exists(path):
        return default
    with open(path) as f:
        text = f.read().strip()
    return json.loads(text) if text else default


def windows(d, name):
    path = os.path.join(d, name)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def pooled(path):
    """Every latency (ms) of a phase's windows (http_bench --latencies), sorted."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return sorted(float(line) for line in f if line.strip())


def merged(ws, lat):
    """Requests, errors, req/s and worst window p99 of the windows; p50 and p99 of every
    request of them pooled (`lat`)."""
    n = sum(w["requests"] for w in ws)
    if not n:
        return None
    secs = sum(w["requests"] / w["rps"] for w in ws if w["rps"])
    pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float("nan")
    return {
        "requests": n,
        "errors": sum(w["errors"] for w in ws),
        "rps": n / secs if secs else 0.0,
        "p50": pct(0.50),
        "p99": pct(0.99),
        "p99_worst": max(w["p99_ms"] for w in ws),
        "windows": len(ws),
    }


def log_epoch(ts):
    return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def read_back_pages(log, downstream, start, end):
    """GET /scim/v2/Users answered to the downstream tenant between start and end (the SCIM app's
    read-back): pages, the server's time on them, and the span from the first to the last."""
    pages, busy, first, last = 0, 0.0, None, None
    with open(log, errors="replace") as f:
        for line in f:
            if '"route":"/scim/v2/Users"' not in line or '"method":"GET"' not in line:
                continue
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("tenant") != downstream:
                continue
            t = log_epoch(e["ts"])
            if t < start or t > end:
                continue
            pages += 1
            busy += float(e.get("duration_ms", 0))
            first = t - float(e.get("duration_ms", 0)) / 1000 if first is None else first
            last = t
    return pages, busy / 1000, first, last


def phases(run, log, downstream):
    """Where the run's time went, from its checkpoint samples (0.25 s resolution)."""
    s = run.get("samples") or []
    total = (run["finished"] or run["started"]) - run["started"]
    if not s:
        return f"{total:.1f} s (no checkpoint sampled)"
    first_page = min(s[0][0] - run["started"], total)
    walk_end = min(s[-1][0] - run["started"], total)
    parts = []
    if run["report"] and run["report"].get("connector") == "scim":
        # The read-back is over before the first page is judged; GETs after that are the
        # delivery workers' (externalId lookups when adopting an account).
        pages, busy, first, last = read_back_pages(log, downstream, run["started"], run["started"] + first_page)
        if pages:
            parts.append(f"read-back {pages} GET /Users pages in {last - first:.1f} s (server time {busy:.1f} s)")
        parts.append(f"first page judged at {first_page:.1f} s")
    else:
        parts.append(f"first page + batch at {first_page:.1f} s")
    parts.append(f"walk ends at {walk_end:.1f} s ({(run['report'] or {}).get('users', {}).get('checked', 0)} users: "
                 f"{(walk_end - first_page):.1f} s after the first page)")
    parts.append(f"gone objects, final batch and orphans {total - walk_end:.1f} s")
    return "; ".join(parts)


def users_line(rep):
    u = rep["users"]
    o = rep["orphans"]
    return (f"checked {u['checked']}, in sync {u['in_sync']}, missing {u['missing']}, stale {u['stale']}, "
            f"undelivered {u['undelivered']}, in flight {u['in_flight']}; orphans found {o['found']}, "
            f"acted {o['acted']}, left {o['left']}")


def sampled_line(s):
    """' Of the sampled ids: …' from run.sh's sampled(): which drift the IdP's ingest caused."""
    if not s:
        return ""
    parts = [f"{v['ingest']} of {v['sampled']} sampled {k}" for k, v in sorted(s.items()) if v["sampled"]]
    return (" Users created by the ingest during the resync: " + ", ".join(parts) + ".") if parts else ""


def wal_line(pair):
    """'WAL … MB/s, … flushes/s, …': PostgreSQL's WAL between two run.sh walstat snapshots."""
    a, b = pair
    dt = max(b["t"] - a["t"], 1e-9)
    syncs = b["wal_syncs"] - a["wal_syncs"]
    sync_ms = b.get("wal_sync_ms", 0) - a.get("wal_sync_ms", 0)  # 0 unless track_wal_io_timing
    return (f"PostgreSQL meanwhile: WAL {(b['wal_bytes'] - a['wal_bytes']) / dt / 1e6:.1f} MB/s "
            f"({(b['wal_fpi'] - a['wal_fpi']) / dt:.0f} full-page images/s), {syncs / dt:.0f} WAL flushes/s"
            + (f" of {sync_ms / syncs:.2f} ms each" if sync_ms > 0 and syncs else "")
            + f", {b['checkpoints'] - a['checkpoints']} checkpoints begun")


def summary(a):
    d = a.dir
    counts = load(d, "counts.json", {})
    dry = load(d, "dry.json", {"runs": []})
    real = load(d, "real.json", {"runs": []})
    verify = load(d, "verify.json", {"runs": []})
    dl = load(d, "deliveries.json", {})
    drain = load(d, "drain.json", {})
    sampled_real = load(d, "sampled-real.json", {})
    sampled_check = load(d, "sampled-check.json", {})
    cap = merged(windows(d, "capacity.jsonl"), pooled(os.path.join(d, "capacity.lat")))
    base = merged(windows(d, "baseline.jsonl"), pooled(os.path.join(d, "baseline.lat")))
    chosen = load(d, "rate.json", {})
    rate = chosen.get("rate")
    wal = {k: wal_line(v) for k, v in load(d, "wal.json", {}).items()}
    during = merged(windows(d, "during.jsonl"), pooled(os.path.join(d, "during.lat")))
    n = counts.get("users", 0)
    expect = {
        "scim": (counts.get("scim_missing"), counts.get("scim_stale"), counts.get("scim_extra")),
        "webhook": (counts.get("webhook_missing"), counts.get("webhook_stale"), counts.get("webhook_extra")),
    }
    out = []
    p = out.append

    def kind(run):
        return (run["report"] or {}).get("connector", "?")

    p("")
    p(f"- Setup: {n:,} users in the tenant (COPY), both apps' copies written directly, then drift injected: "
      f"SCIM app {expect['scim'][0]} copies deleted, {expect['scim'][1]} renamed, {expect['scim'][2]} extra accounts; "
      f"webhook app {expect['webhook'][0]} unknown to it, {expect['webhook'][1]} at an older version, "
      f"{expect['webhook'][2]} extra ids. {drain.get('setup', '')}".rstrip())
    for run in dry["runs"]:
        rep = run["report"] or {}
        if not rep.get("users"):
            p(f"- Dry run, {run['app']}: {run['state']} {run.get('error') or ''}")
            continue
        m, s, x = expect.get(kind(run), (None, None, None))
        u = rep["users"]
        seeded = (u["missing"] == m and u["stale"] == s and rep["orphans"]["found"] == x and u["undelivered"] == 0)
        p(f"- Dry run (both apps at once, no ingest), {run['app']}: {(run['finished'] - run['started']):.1f} s "
          f"(report {rep['duration_ms']} ms), {rep['requests']} requests; {users_line(rep)} — "
          f"{'exactly the injected drift' if seeded else 'NOT the injected drift (expected missing %s, stale %s, orphans %s, undelivered 0)' % (m, s, x)}.")
        p(f"  - Time: {phases(run, a.log, a.downstream)}.")
    if cap:
        p(f"- Ingest capacity C (POST /Users, closed loop at 16 connections, apps fanned out to, no resync): "
          f"{cap['requests']} creates in {cap['windows']} × {a.window} s, {cap['rps']:.0f}/s, p50 {cap['p50']:.1f} ms, "
          f"p99 {cap['p99']:.1f} ms, {cap['errors']} errors. At C the deliveries fall behind and drain afterwards, "
          f"so C is not a rate to hold; the latency comparison below offers R = {rate}/s"
          f" ({chosen.get('chosen') or 'C/2'}) open-loop.")
    if base:
        p(f"- Ingest baseline (POST /Users offered at {rate}/s open-loop over 64 connections, latency from when each "
          f"request was due, apps fanned out to, no resync): {base['requests']} creates "
          f"in {base['windows']} × {a.window} s, {base['rps']:.0f}/s, p50 {base['p50']:.1f} ms, p99 {base['p99']:.1f} ms "
          f"(its requests pooled; worst window {base['p99_worst']:.1f} ms), {base['errors']} errors"
          + (f"; {wal['baseline']}" if 'baseline' in wal else "") + ".")
    starts = [r["started"] for r in real["runs"]]
    ends = [r["finished"] for r in real["runs"] if r["finished"]]
    for run in real["runs"]:
        rep = run["report"] or {}
        if not rep.get("users"):
            p(f"- Resync, {run['app']}: {run['state']} {run.get('error') or ''}")
            continue
        app_dl = dl.get(run["app"], {})
        sent = app_dl.get("delivered", 0)
        m, s, x = expect.get(kind(run), (None, None, None))
        u = rep["users"]
        note = None
        if (u["missing"], u["stale"], rep["orphans"]["found"]) != (m, s, x):
            note = (f"  - Found missing {u['missing']}, stale {u['stale']}, orphans {rep['orphans']['found']} "
                    f"(acted on {rep['orphans']['acted']}) where {m}, {s} and {x} were injected: the difference "
                    f"are users the IdP created while the run was going (see the check run).")
        p(f"- Resync, {run['app']}: {(run['finished'] - run['started']):.1f} s (report {rep['duration_ms']} ms); "
          f"{users_line(rep)}; repairs enqueued {rep['repairs_enqueued']}; requests: {rep['requests']} by the run "
          f"({'read-back pages and orphan deactivations' if kind(run) == 'scim' else 'resync batches and orphan deactivations'}) "
          f"+ {sent} repair deliveries = {rep['requests'] + sent} "
          f"(repair deliveries {', '.join(f'{k} {v}' for k, v in sorted(app_dl.items()) if k not in ('p50_ms', 'p99_ms'))}; "
          f"enqueue→done p50 {app_dl.get('p50_ms', '?')} ms, p99 {app_dl.get('p99_ms', '?')} ms).")
        p(f"  - Time: {phases(run, a.log, a.downstream)}.")
        if note:
            p(note + sampled_line(sampled_real.get(run["app"])))
    if starts and ends:
        runs_s = max(ends) - min(starts)
        line = f"- Both runs (concurrent, under ingest): {runs_s:.1f} s from the first start to the last finish"
        if drain.get("drift0_s") is not None:
            line += (f"; resync to drift 0 (last repair delivered): {drain['drift0_s']:.1f} s (goal ≤ 60 s)"
                     f"; outbox fully drained (ingest fan-out too) {drain.get('outbox_s', float('nan')):.1f} s after the start")
        else:
            line += "; the repairs were NOT all delivered within the drain limit"
        p(line + ".")
    if during:
        ratio = during["p99"] / base["p99"] if base and base["p99"] else float("nan")
        worst = during["p99_worst"] / base["p99_worst"] if base and base["p99_worst"] else float("nan")
        created = drain.get("ingest_created")
        p(f"- Ingest during the resync (the same {rate}/s offered, from the run request until both runs finished, at least {a.seconds} s): "
          f"{during['requests']} creates in {during['windows']} × {a.window} s, {during['rps']:.0f}/s, p50 {during['p50']:.1f} ms, "
          f"p99 {during['p99']:.1f} ms (its requests pooled; worst window {during['p99_worst']:.1f} ms), {during['errors']} errors; "
          f"p99 {ratio:.2f}× the baseline (worst window {worst:.2f}×; goal ≤ 1.5×)"
          + (f"; {created} users created meanwhile, each fanned out to both apps" if created is not None else "")
          + (f"; {wal['during']}" if 'during' in wal else "") + ".")
    for run in verify["runs"]:
        rep = run["report"] or {}
        if not rep.get("users"):
            p(f"- Check run, {run['app']}: {run['state']} {run.get('error') or ''}")
            continue
        u = rep["users"]
        o = rep["orphans"]
        zero = u["missing"] + u["stale"] + u["undelivered"] + u["in_flight"] == 0 and o["acted"] == 0
        note = ""
        if kind(run) == "scim" and o["found"]:
            note = " (orphans found are the deactivated extras, still held inactive: nothing to act on)"
        p(f"- Check run after the repairs (a no-drift resync), {run['app']}: {(run['finished'] - run['started']):.1f} s, "
          f"{rep['requests']} requests, repairs {rep['repairs_enqueued']}; {users_line(rep)}{note} → "
          f"{'drift 0' if zero else 'DRIFT REMAINS'}." + ("" if zero else sampled_line(sampled_check.get(run["app"]))))
    sink = load(d, "scim-sink.json", None)
    if sink:
        p(f"- SCIM app (scim_sink, in memory): holds {sink['users']} users at the end; {sink['created']} created, "
          f"{sink['replaced']} replaced, {sink['patched']} patched, {sink['deleted']} deleted, "
          f"{sink['conflicts']} conflicts, {sink['pages']} pages listed, {sink['lookups']} filter lookups, "
          f"{sink['bad_requests']} bad requests, {sink['unauthorized']} unauthorized.")
    print("\n".join(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("watch")
    w.add_argument("--dsn", required=True)
    w.add_argument("--after", required=True)
    w.add_argument("--keys", required=True)
    w.add_argument("--out", required=True)
    w.add_argument("--max-seconds", type=float, default=900)
    s = sub.add_parser("summary")
    s.add_argument("--dir", required=True)
    s.add_argument("--log", required=True)
    s.add_argument("--downstream", required=True)
    s.add_argument("--seconds", type=int, required=True)
    s.add_argument("--window", type=int, required=True)
    a = ap.parse_args()
    if a.cmd == "watch":
        watch(a)
    else:
        summary(a)


if __name__ == "__main__":
    sys.exit(main())
