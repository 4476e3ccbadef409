#!/usr/bin/env python3
"""Start-up of `xuncha serve` to a serving index, and its memory once serving.

    python3 bench/startup.py --data DIR [--data DIR2=postgres://…/db ...] [--runs 2]
                             [--bin target/release/xuncha]

For each data folder (SQLite; or, written `DIR=URL`, the PostgreSQL database URL with that
folder for photos and settings), starts the server on a free loopback port, polls /healthz until it
answers 200 (the server builds its zone index and loads its report points before it listens,
so that is the time to a serving index), reads the process's resident memory (VmRSS) and peak
(VmHWM) from /proc, and stops it with SIGTERM. Prints a markdown table with the load average.
"""
import argparse, json, os, signal, socket, subprocess, sys, time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def one(binary, data, database):
    port = free_port()
    cmd = [binary, "--data", data]
    if database:
        cmd += ["--database", database]
    cmd += ["serve", "--addr", f"127.0.0.1:{port}"]
    log = open(os.path.join(data, "startup-bench.log"), "w")
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=log)
    body = None
    try:
        while body is None:
            if proc.poll() is not None:
                sys.exit(f"the server exited with {proc.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                    if r.status == 200:
                        body = json.loads(r.read())
            except OSError:
                time.sleep(0.05)
        secs = time.monotonic() - t0
        time.sleep(1.0)  # let start-up threads (compaction, feeds) settle before reading memory
        rss, hwm = proc_kb(proc.pid, "VmRSS"), proc_kb(proc.pid, "VmHWM")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    return secs, rss, hwm, body["zones"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", action="append", required=True)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "xuncha"))
    a = ap.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    print("| data | zones | run | start-up to serving, s | RSS serving, MB | peak RSS, MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for spec in a.data:
        data, _, database = spec.partition("=")
        for run in range(1, a.runs + 1):
            secs, rss, hwm, zones = one(a.bin, data, database or None)
            name = os.path.basename(os.path.normpath(data)) + (" (PostgreSQL)" if database else "")
            print(f"| {name} | {zones} | {run} | {secs:.1f} | {rss / 1024:.0f} | {hwm / 1024:.0f} |",
                  flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
