#!/usr/bin/env python3
"""The statistics' time index with and without `late` and `overdue` (issue 16, the 30-day
regression): the same SELECT that `store::stats::scan_reports` sends for a window, on a SQLite
copy of the `stat_reports` fact table, once with the index of migration 3 (created_at, status,
category, owner, sector, closed_at) and once with migration 8's (… closed_at, late, overdue).

    python3 bench/stats_covering_index.py [N_REPORTS=1000000] [ROUNDS=5]

Prints the query plan and the median time of ROUNDS runs for a 30-day window and for all time.
"""
import os, random, sqlite3, statistics, sys, tempfile, time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
DAY = 86_400_000
NOW = 1_796_000_000_000  # a fixed instant, so the run does not depend on today's date
CATS = ["garbage", "debris", "ads", "stall", "water", "green", "facility", "other"]
STATUSES = ["closed"] * 16 + ["reported", "dispatched", "in_progress", "resolved", "rejected"]
OWNERS = [f"单位{i}" for i in range(3000)]
SECTORS = ["community", "village", "agency", "enterprise", "school", "hospital"]

INDEXES = {
    "before (migration 3: no late, overdue)": "CREATE INDEX stat_reports_time ON stat_reports(created_at, status, category, owner, sector, closed_at)",
    "after (migration 8: with late, overdue)": "CREATE INDEX stat_reports_time ON stat_reports(created_at, status, category, owner, sector, closed_at, late, overdue)",
}
QUERY = "SELECT owner, created_at, category, status, closed_at, late, overdue FROM stat_reports s WHERE 1 = 1 AND s.created_at >= ? AND s.created_at < ?"


def fill(path):
    rng = random.Random(16)
    c = sqlite3.connect(path)
    c.execute("""CREATE TABLE stat_reports (report_id INTEGER PRIMARY KEY, created_at INTEGER NOT NULL,
        category TEXT NOT NULL, status TEXT NOT NULL, owner TEXT, sector TEXT, closed_at INTEGER,
        late INTEGER NOT NULL DEFAULT 0, overdue INTEGER NOT NULL DEFAULT 0)""")
    rows = []
    for i in range(N):
        t = NOW - int(rng.random() * 366 * DAY)
        st = rng.choice(STATUSES)
        rows.append((i + 1, t, rng.choice(CATS), st, rng.choice(OWNERS), rng.choice(SECTORS),
                     t + 3 * DAY if st == "closed" else None, int(rng.random() < 0.1), int(rng.random() < 0.05)))
    c.executemany("INSERT INTO stat_reports VALUES (?,?,?,?,?,?,?,?,?)", rows)
    c.commit()
    return c


def run(c, since, until):
    times = []
    for _ in range(ROUNDS):
        t = time.perf_counter()
        n = sum(1 for _ in c.execute(QUERY, (since, until)))
        times.append(time.perf_counter() - t)
    return n, statistics.median(times) * 1000


def main():
    with tempfile.TemporaryDirectory() as d:
        c = fill(os.path.join(d, "stats.db"))
        print(f"{N} fact rows, SQLite {sqlite3.sqlite_version}, median of {ROUNDS}, load {os.getloadavg()[0]:.1f}")
        results = {}
        for name, ddl in INDEXES.items():
            c.execute("DROP INDEX IF EXISTS stat_reports_time")
            c.execute(ddl)
            c.execute("ANALYZE")
            plan = " / ".join(r[3] for r in c.execute("EXPLAIN QUERY PLAN " + QUERY, (NOW - 30 * DAY, NOW)))
            n30, ms30 = run(c, NOW - 30 * DAY, NOW)
            nall, msall = run(c, 0, NOW + 1)
            results[name] = (ms30, msall)
            print(f"{name}\n  plan: {plan}\n  last 30 days: {n30} rows in {ms30:.1f} ms; all time: {nall} rows in {msall:.1f} ms")
        (b30, ball), (a30, aall) = results.values()
        print(f"after/before: 30 days {b30 / a30:.1f}x faster, all time {ball / aall:.1f}x")


if __name__ == "__main__":
    main()
