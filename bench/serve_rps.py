#!/usr/bin/env python3
"""Cached tile requests per second, 64 connections on loopback, with the real server.

    python3 bench/serve_rps.py [--duration 10] [--rounds 3] [--connections 64] [--threads 2]
                               [--bbox 126.33,41.89,126.51,41.99] [--perf]

Setup (not timed): `apt-get install -y wrk` when wrk is missing; a release build of `xuncha`;
a fresh data folder target/bench-serve/data with geodata/baishan/zones.geojson imported
(`xuncha import`) and a user made with `xuncha user add bench --role office --password tiles-office-2026` (its
last stdout line is the API token); the server
    xuncha --data DIR serve --addr 127.0.0.1:PORT --geodata geodata/baishan
with its default logging (RUST_LOG unset: xuncha=info, tower_http=warn). The tile set is every
z14–16 tile over --bbox (default: the city centre ± about 5 km), as
/tiles/{z}/{x}/{y}.mvt?layers=zones,routes,basemap; each is requested once to warm the cache.

Timed: wrk -t THREADS -c CONNECTIONS -d DURATION --latency -s bench/wrk_tiles.lua with
"Authorization: Bearer TOKEN", rotating over all tile URLs, alternating identity and
"Accept-Encoding: gzip" (order reversed every other round), --rounds rounds each; plus /healthz (no auth, no tile) as the ceiling of
this router on this machine. Client and server share the same cores. Prints a markdown table
(median of rounds) and `uptime` before/after. With --perf, records `perf record -g` of the
server during one extra identity run and prints the top of the report.
"""
import argparse, math, os, re, shutil, signal, socket, statistics, subprocess, sys, time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "target", "bench-serve")
GEO = os.path.join(ROOT, "geodata", "baishan")
XUNCHA = os.path.join(ROOT, "target", "release", "xuncha")
LUA = os.path.join(ROOT, "bench", "wrk_tiles.lua")


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def tile(lon, lat, z):
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    r = math.radians(lat)
    y = int((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n)
    return x, y


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def wrk(url, secs, threads, conns, headers, urls_file=None):
    cmd = ["wrk", "-t", str(threads), "-c", str(conns), "-d", f"{secs}s", "--latency"]
    for h in headers:
        cmd += ["-H", h]
    env = dict(os.environ)
    if urls_file:
        cmd += ["-s", LUA]
        env["TILE_URLS"] = urls_file
    out = subprocess.run(cmd + [url], capture_output=True, text=True, env=env, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    transfer = re.search(r"Transfer/sec:\s+(\S+)", out).group(1)
    return {"rps": rps, "p50": p50, "p99": p99, "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "errors": errors.group(0) if errors else "", "transfer": transfer}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bbox", default="126.33,41.89,126.51,41.99")
    ap.add_argument("--perf", action="store_true")
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sh(["apt-get", "install", "-y", "wrk"], stdout=subprocess.DEVNULL)
    if not args.no_build:
        sh(["cargo", "build", "--release", "--quiet", "--bin", "xuncha"], cwd=ROOT)
    data = os.path.join(WORK, "data")
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(data)
    sh([XUNCHA, "--data", data, "import", os.path.join(GEO, "zones.geojson")], cwd=ROOT,
       stdout=subprocess.DEVNULL)
    out = sh([XUNCHA, "--data", data, "user", "add", "bench", "--role", "office", "--password", "tiles-office-2026"],
             cwd=ROOT, capture_output=True, text=True).stdout
    token = out.strip().splitlines()[-1]
    port = free_port()
    log = open(os.path.join(WORK, "server.log"), "w")
    env = {k: v for k, v in os.environ.items() if k != "RUST_LOG"}
    server = subprocess.Popen([XUNCHA, "--data", data, "serve", "--addr", f"127.0.0.1:{port}",
                               "--geodata", GEO], cwd=ROOT, stdout=log, stderr=log, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        b = [float(v) for v in args.bbox.split(",")]
        paths = []
        for z in (14, 15, 16):
            x0, y0 = tile(b[0], b[3], z)
            x1, y1 = tile(b[2], b[1], z)
            paths += [f"/tiles/{z}/{x}/{y}.mvt?layers=zones,routes,basemap"
                      for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
        urls_file = os.path.join(WORK, "tile_urls.txt")
        with open(urls_file, "w") as f:
            f.write("\n".join(paths) + "\n")
        status, sizes, gz = {}, [], []
        t0 = time.perf_counter()
        for p in paths:
            for enc in ("identity", "gzip"):
                req = urllib.request.Request(base + p, headers={"Authorization": f"Bearer {token}",
                                                                "Accept-Encoding": enc})
                with urllib.request.urlopen(req) as r:
                    body = r.read()
                    if enc == "identity":
                        status[r.status] = status.get(r.status, 0) + 1
                        sizes.append(len(body))
                    else:
                        gz.append(len(body))
        warm = time.perf_counter() - t0
        print(f"{len(paths)} tiles z14–16 over [{args.bbox}], statuses {status}, "
              f"mean body {statistics.mean(sizes):.0f} B identity / {statistics.mean(gz):.0f} B gzip; "
              f"warm-up (uncached render + cached gzip fetch, one client) {warm:.1f} s", flush=True)
        auth = f"Authorization: Bearer {token}"
        cases = [("cached tiles, identity", base + paths[0], [auth], urls_file),
                 ("cached tiles, Accept-Encoding: gzip", base + paths[0], [auth, "Accept-Encoding: gzip"], urls_file),
                 ("/healthz (no auth, no tile): router ceiling", base + "/healthz", [], None)]
        loads = [uptime()]
        res = {c[0]: [] for c in cases}
        for r in range(args.rounds):
            # Alternate the order each round so that neither case always runs first.
            for name, url, hdrs, uf in (cases if r % 2 == 0 else cases[::-1]):
                m = wrk(url, args.duration, args.threads, args.connections, hdrs, uf)
                res[name].append(m)
                print(f"round {r + 1} {name}: {m['rps']:.0f} req/s, p50 {m['p50']}, p99 {m['p99']}, "
                      f"non-2xx {m['non2xx']} {m['errors']}", flush=True)
        loads.append(uptime())
        print()
        print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, {args.rounds} rounds "
              f"(median), client and server on the same 2 shared cores; target 20 000 req/s")
        print()
        print("| case | req/s (median) | rounds | latency p50 | latency p99 | non-2xx | vs target |")
        print("|---|---:|---|---:|---:|---:|---:|")
        for name, ms in res.items():
            med = statistics.median(m["rps"] for m in ms)
            mid = sorted(ms, key=lambda m: m["rps"])[len(ms) // 2]
            print(f"| {name} | {med:,.0f} | {' / '.join('%.0f' % m['rps'] for m in ms)} | {mid['p50']} | "
                  f"{mid['p99']} | {sum(m['non2xx'] for m in ms)} | {med / 20000:.2f} |")
        print()
        print("load before:", loads[0])
        print("load after: ", loads[1])
        if args.perf:
            perf_data = os.path.join(WORK, "perf.data")
            rec = subprocess.Popen(["perf", "record", "--call-graph", "dwarf,16384", "-F", "499", "-o", perf_data,
                                    "-p", str(server.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            wrk(base + paths[0], 5, args.threads, args.connections, [auth], urls_file)
            rec.send_signal(signal.SIGINT)
            rec.wait()

            def report(*extra):
                out = subprocess.run(["perf", "report", "-i", perf_data, "--stdio", "-g", "none", *extra],
                                     capture_output=True, text=True).stdout
                return [l.rstrip().rstrip("-").rstrip() for l in out.splitlines() if l.strip() and not l.startswith("#")]

            print("\nperf, server process, share of its samples by binary (self):")
            print("\n".join(report("--no-children", "--sort", "dso")[:6]))
            print("\nperf, self time, top symbols:")
            print("\n".join(l[:150] for l in report("--no-children", "--sort", "symbol", "--percent-limit", "0.8")[:30]))
            keys = ("tiles::tile", "Auth as axum_core", "token_hash", "TileCache", "moka::sync::cache::Cache<K,V,S>::get",
                    "tiles::respond", "tiles::report_filter", "Params::from_query", "tower_http::trace::service",
                    "path_router::PathRouter", "Http1Transaction>::parse", "Http1Transaction>::encode",
                    "tokio::net::tcp::stream::TcpStream", "sys_writev", "sys_recvfrom", "sys_epoll_wait",
                    "__x64_sys_write", "__x64_sys_read", "__x64_sys_sendto", "__x64_sys_futex")
            print("\nperf, inclusive time (children) of chosen frames:")
            seen = set()
            for l in report("--children", "--sort", "symbol"):
                sym = l.split("] ", 1)[-1]
                if any(k in sym for k in keys) and not sym.startswith(("drop_in_place", "clone", "call<", "new<")):
                    name = sym.split("<")[0] if not sym.startswith("<") else sym[:60]
                    if name not in seen:
                        seen.add(name)
                        print(l[:170])
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
