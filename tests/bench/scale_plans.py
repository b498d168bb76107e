#!/usr/bin/env python3
"""Summarises auto_explain output (PostgreSQL's log, text format) for one kind of request.

    scale_plans.py LABEL FIRST_SLICE [LATER_SLICE] >>results.md

Each slice is the part of PostgreSQL's log written while one request ran: FIRST_SLICE for the
first execution of the server's prepared list statement (a custom plan, with the literal),
LATER_SLICE for its sixth (PostgreSQL then decides whether to keep a generic plan, which is
what a busy connection runs). Keeps the plans whose query reads scim_user (the list statement,
not the token check) and, from them, the scan nodes on scim_user with their conditions. A scan
is a lookup when an Index Cond / Recheck Cond holds more than tenant_id; a Seq Scan, or an index
scan bounded by tenant_id alone, reads the whole tenant (its count(*) and page subqueries).
"""
import re
import sys

SCAN = re.compile(r"(Seq Scan|Index Scan|Index Only Scan|Bitmap Heap Scan|Bitmap Index Scan)")
COND = re.compile(r"^\s*(Index Cond|Recheck Cond|Filter):")


def plans(text):
    """auto_explain records: (query text, plan lines)."""
    records, current = [], None
    for line in text.splitlines():
        if line.startswith("\t"):
            if current is not None:
                current.append(line.rstrip())
            continue
        current = [] if "plan:" in line else None
        if current is not None:
            records.append(current)
    out = []
    for r in records:
        query = " ".join(l.strip()[len("Query Text:"):] for l in r if l.strip().startswith("Query Text:"))
        out.append((query, [l for l in r if not l.strip().startswith("Query Text:")]))
    return out


def scans(text):
    """[(scan line, [condition lines])] of scim_user scans in the list statement's plans."""
    out = []
    for query, body in plans(text):
        if "scim_user" not in query:
            continue
        current = None
        for line in body:
            if SCAN.search(line):
                current = None
                if "scim_user" in line:
                    current = (line.strip().lstrip("-> ").strip(), [])
                    out.append(current)
            elif current is not None and COND.match(line):
                current[1].append(line.strip())
            elif not line.strip().startswith("Rows Removed"):
                current = None
    return out


def describe(scan):
    """(role, what the scan does, reads the whole tenant?) for one scim_user scan node."""
    line, conds = scan
    role = "count" if "width=0)" in line else "page"  # count(*) subquery vs the page's rows
    name = re.sub(r"\s+\(cost=.*", "", line).replace(" on scim_user t_1", "").replace(" on scim_user t", "")
    if "Seq Scan" in line:
        return role, name, True
    if line.startswith("Bitmap Heap Scan"):
        return role, name, False  # its Bitmap Index Scan child says what it looks up
    keyed = False
    filtered = any(c.startswith("Filter") for c in conds)
    for c in conds:
        if c.startswith(("Index Cond", "Recheck Cond")):
            inner = c.split(":", 1)[1]
            if re.sub(r"\(?tenant_id = [^)]*\)?", "", inner).strip(" ()") != "":
                keyed = True
    if keyed:
        return role, name, False
    if role == "page" and not filtered:
        return role, name + " (in order, stops at the page's LIMIT)", False
    if role == "page":
        return role, name + " (in order, filtering every row until the LIMIT fills)", True
    return role, name + " (bounded by tenant_id only)", True


def verdict(found):
    if not found:
        return "no plan captured"
    parts = []
    whole = False
    heap_role = "page"
    for scan in found:
        role, name, full = describe(scan)
        if scan[0].startswith("Bitmap Heap Scan"):
            heap_role = role  # reported through its Bitmap Index Scan child
            continue
        if scan[0].startswith("Bitmap Index Scan"):
            role = heap_role
        whole = whole or full
        parts.append(f"{role}: {name}" + (" — whole tenant" if full else ""))
    head = "**reads the whole tenant**" if whole else "index"
    return head + " (" + "; ".join(parts) + ")"


def shape(found):
    return [describe(s)[1] for s in found]


def main():
    label = sys.argv[1]
    slices = []
    for path in sys.argv[2:4]:
        with open(path, encoding="utf-8", errors="replace") as f:
            slices.append(scans(f.read()))
    first = slices[0]
    print(f"- {label}: {verdict(first)}")
    if len(slices) > 1:
        later = slices[1]
        if shape(later) != shape(first):
            print(f"  - from the 6th execution (generic plan): {verdict(later)}")
    if first:
        print()
        print("  ```")
        for line, conds in first:
            print("  " + line)
            for c in conds:
                print("    " + c)
        print("  ```")
    if len(slices) > 1 and slices[1] and shape(slices[1]) != shape(first):
        print()
        print("  ```")
        for line, conds in slices[1]:
            print("  " + line)
            for c in conds:
                print("    " + c)
        print("  ```")


if __name__ == "__main__":
    main()
