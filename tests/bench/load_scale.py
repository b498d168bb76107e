#!/usr/bin/env python3
"""Writes COPY text files for a scale benchmark tenant (standard library only).

    load_scale.py --tenant UUID --out DIR [--users 1000000] [--groups 10000] [--sample 100000]
                  [--max-members 200] [--seed 1]

DIR receives:
  users.copy    scim_user (tenant_id, id, user_name, external_id, display_name, active, emails,
                schemas, doc, version, created_at, modified_at)
  groups.copy   scim_group (tenant_id, id, display_name, external_id, schemas, doc, version,
                created_at, modified_at)
  members.copy  scim_group_member (tenant_id, group_id, member_id, member_type)
  ids.tsv       id<TAB>userName<TAB>externalId<TAB>displayName for a random sample of users
Load them in that order with \\copy TABLE (COLUMNS) FROM FILE (text format, the defaults).
User i: userName/email "user{i}@example.com", externalId "ext-{i}", displayName "User {i}".
"""
import argparse
import datetime
import os
import random
import sys
import time
import uuid

USER_SCHEMAS = "{urn:ietf:params:scim:schemas:core:2.0:User}"
GROUP_SCHEMAS = "{urn:ietf:params:scim:schemas:core:2.0:Group}"
TITLES = ["Engineer", "Manager", "Designer", "Analyst", "Director", "Support"]
CHUNK = 20000  # rows per write
BUFFER = 8 << 20


def copy_text(s):
    """One field in COPY text format: backslash, tab, newline and carriage return escaped."""
    if "\\" in s or "\t" in s or "\n" in s or "\r" in s:
        s = s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return s


def array_literal(values):
    """A PostgreSQL text[] literal (before COPY escaping)."""
    out = []
    for v in values:
        out.append('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(out) + "}"


def json_string(s):
    """A JSON string literal (our values are ASCII; quotes, backslashes and controls escaped)."""
    if '"' in s or "\\" in s or any(ord(c) < 0x20 for c in s):
        s = (s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
             .replace("\t", "\\t").replace("\r", "\\r"))
    return '"' + s + '"'


def uuids(rng, n):
    """n random version-4 UUIDs (seeded: the same ids for the same seed)."""
    out = []
    for _ in range(n):
        out.append(str(uuid.UUID(int=rng.getrandbits(128), version=4)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tenant", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--groups", type=int, default=10_000)
    ap.add_argument("--sample", type=int, default=100_000)
    ap.add_argument("--max-members", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    uuid.UUID(a.tenant)  # validates
    tenant = copy_text(a.tenant)
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)
    t0 = time.monotonic()

    # Timestamps spread over the year before `end`, whole milliseconds, UTC.
    end = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)
    end_ms = int(end.timestamp() * 1000)
    year_ms = 365 * 24 * 3600 * 1000

    def ts(ms):
        d = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
        return f"{d.year:04d}-{d.month:02d}-{d.day:02d} {d.hour:02d}:{d.minute:02d}:{d.second:02d}.{ms % 1000:03d}+00"

    def created_modified():
        created = end_ms - year_ms + rng.randrange(year_ms)
        modified = created + rng.randrange(end_ms - created + 1)
        return ts(created), ts(modified)

    user_ids = uuids(rng, a.users)
    with open(os.path.join(a.out, "users.copy"), "w", buffering=BUFFER) as f:
        rows = []
        for i in range(1, a.users + 1):
            uid = user_ids[i - 1]
            name = f"user{i}@example.com"
            display = f"User {i}"
            created, modified = created_modified()
            active = "f" if i % 50 == 0 else "t"
            doc = ('{"userName":' + json_string(name) +
                   ',"name":{"givenName":"User","familyName":' + json_string(str(i)) +
                   '},"displayName":' + json_string(display) +
                   ',"emails":[{"value":' + json_string(name) + ',"type":"work","primary":true}]' +
                   ',"active":' + ("false" if active == "f" else "true") +
                   ',"title":' + json_string(TITLES[i % len(TITLES)]) + '}')
            rows.append("\t".join((
                tenant, uid, copy_text(name), copy_text(f"ext-{i}"), copy_text(display), active,
                copy_text(array_literal([name.lower()])), USER_SCHEMAS, copy_text(doc), "1",
                created, modified)))
            if len(rows) >= CHUNK:
                f.write("\n".join(rows) + "\n")
                rows.clear()
        if rows:
            f.write("\n".join(rows) + "\n")
    t_users = time.monotonic()

    group_ids = uuids(rng, a.groups)
    members = 0
    with open(os.path.join(a.out, "groups.copy"), "w", buffering=BUFFER) as g, \
            open(os.path.join(a.out, "members.copy"), "w", buffering=BUFFER) as m:
        grows, mrows = [], []
        for j in range(1, a.groups + 1):
            gid = group_ids[j - 1]
            display = f"Group {j}"
            created, modified = created_modified()
            grows.append("\t".join((
                tenant, gid, copy_text(display), copy_text(f"gext-{j}"), GROUP_SCHEMAS,
                copy_text('{"displayName":' + json_string(display) + '}'), "1", created, modified)))
            k = rng.randint(1, min(a.max_members, a.users)) if a.users else 0
            prefix = tenant + "\t" + gid + "\t"
            for u in rng.sample(range(a.users), k):
                mrows.append(prefix + user_ids[u] + "\tUser")
            members += k
            if len(mrows) >= CHUNK:
                m.write("\n".join(mrows) + "\n")
                mrows.clear()
        if grows:
            g.write("\n".join(grows) + "\n")
        if mrows:
            m.write("\n".join(mrows) + "\n")

    with open(os.path.join(a.out, "ids.tsv"), "w", buffering=BUFFER) as f:
        lines = []
        for i in sorted(rng.sample(range(1, a.users + 1), min(a.sample, a.users))):
            lines.append(f"{user_ids[i - 1]}\tuser{i}@example.com\text-{i}\tUser {i}")
        f.write("\n".join(lines) + ("\n" if lines else ""))
    t_end = time.monotonic()
    print(f"load_scale: {a.users} users ({t_users - t0:.1f}s), {a.groups} groups, "
          f"{members} memberships, {min(a.sample, a.users)} sample ids ({t_end - t0:.1f}s total)",
          file=sys.stderr)


if __name__ == "__main__":
    main()
