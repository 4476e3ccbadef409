#!/usr/bin/env python3
"""The hardened connection loop (src/serve.rs: hyper-util with per-connection timeouts and a
cap) against axum::serve, side by side in one run: requests/s on loopback with wrk.

    python3 bench/serve_loop.py --peer PEER_BINARY [--bin target/release/xuncha]
                                [--duration 10] [--rounds 3] [--connections 64] [--threads 2]

PEER_BINARY is a release build of a commit that still serves with axum::serve (e.g. the
parent of the commit that introduced src/serve.rs, built in a scratch checkout). Both servers
get the same fresh data folder contents (geodata/baishan/zones.geojson imported, one office
user) on their own ports. Cases: /healthz (no auth: the loop and router alone, the case where
the loop's share is largest) and the cached tiles of bench/serve_rps.py (bearer token), each
round running both servers back to back, the order swapped every round. Prints a markdown
table of medians and the ratio this/peer. Client and servers share the machine's cores.
"""
import argparse, os, shutil, signal, statistics, subprocess, sys, time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_rps import GEO, ROOT, free_port, sh, tile, uptime, wrk  # noqa: E402

WORK = os.path.join(ROOT, "target", "bench-serve-loop")


def start(binary, name):
    data = os.path.join(WORK, name)
    os.makedirs(data)
    sh([binary, "--data", data, "import", os.path.join(GEO, "zones.geojson")], cwd=ROOT,
       stdout=subprocess.DEVNULL)
    out = sh([binary, "--data", data, "user", "add", "bench", "--role", "office",
              "--password", "tiles-office-2026"], cwd=ROOT, capture_output=True, text=True).stdout
    token = out.strip().splitlines()[-1]
    port = free_port()
    log = open(os.path.join(WORK, f"{name}.log"), "w")
    env = {k: v for k, v in os.environ.items() if k != "RUST_LOG"}
    proc = subprocess.Popen([binary, "--data", data, "serve", "--addr", f"127.0.0.1:{port}",
                             "--geodata", GEO], cwd=ROOT, stdout=log, stderr=log, env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1).read()
            break
        except OSError:
            time.sleep(0.1)
    return proc, base, token


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "xuncha"))
    ap.add_argument("--peer", required=True)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sh(["apt-get", "install", "-y", "wrk"], stdout=subprocess.DEVNULL)
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    servers = {"this (src/serve.rs)": start(args.bin, "this"), "peer (axum::serve)": start(args.peer, "peer")}
    try:
        paths = []
        for z in (14, 15, 16):
            x0, y0 = tile(126.33, 41.99, z)
            x1, y1 = tile(126.51, 41.89, z)
            paths += [f"/tiles/{z}/{x}/{y}.mvt?layers=zones,routes,basemap"
                      for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
        urls_file = os.path.join(WORK, "tile_urls.txt")
        with open(urls_file, "w") as f:
            f.write("\n".join(paths) + "\n")
        for _, base, token in servers.values():
            for p in paths:
                req = urllib.request.Request(base + p, headers={"Authorization": f"Bearer {token}"})
                urllib.request.urlopen(req).read()
        cases = ["/healthz", "cached tiles"]
        res = {(c, s): [] for c in cases for s in servers}
        loads = [uptime()]
        names = list(servers)
        for r in range(args.rounds):
            order = names if r % 2 == 0 else names[::-1]
            for case in cases:
                for s in order:
                    _, base, token = servers[s]
                    if case == "/healthz":
                        m = wrk(base + "/healthz", args.duration, args.threads, args.connections, [])
                    else:
                        m = wrk(base + paths[0], args.duration, args.threads, args.connections,
                                [f"Authorization: Bearer {token}"], urls_file)
                    res[(case, s)].append(m)
                    print(f"round {r + 1} {case} {s}: {m['rps']:.0f} req/s, p50 {m['p50']}, "
                          f"p99 {m['p99']}, non-2xx {m['non2xx']} {m['errors']}", flush=True)
        loads.append(uptime())
        print()
        print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, {args.rounds} rounds (median)")
        print()
        print("| case | this req/s | peer req/s | this / peer | this p99 | peer p99 |")
        print("|---|---:|---:|---:|---:|---:|")
        for case in cases:
            t = [m["rps"] for m in res[(case, names[0])]]
            p = [m["rps"] for m in res[(case, names[1])]]
            tm = sorted(res[(case, names[0])], key=lambda m: m["rps"])[len(t) // 2]
            pm = sorted(res[(case, names[1])], key=lambda m: m["rps"])[len(p) // 2]
            print(f"| {case} | {statistics.median(t):,.0f} | {statistics.median(p):,.0f} | "
                  f"{statistics.median(t) / statistics.median(p):.2f} | {tm['p99']} | {pm['p99']} |")
        print()
        print("load before:", loads[0])
        print("load after: ", loads[1])
    finally:
        for proc, _, _ in servers.values():
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
