#!/usr/bin/env python3
"""OWSLib (PyPI `owslib`) reads and edits zones through the server's OGC API – Features.

    target/pyenv/bin/python tests/py/ogc_owslib.py XUNCHA_BINARY

Imports the Baishan demo zones into a temporary data folder, creates a planner (HTTP Basic:
user name + API token, as QGIS sends it), starts the real server on a free loopback port, and
with `owslib.ogcapi.features.Features`: lists the collections, reads items with bbox and limit
across pages (checked against the same query without paging), creates a zone, replaces it with
If-Match, and deletes it. Fails (not skips) when owslib is missing. Prints "N passed, M failed".
"""
import json, os, socket, subprocess, sys, tempfile, time, urllib.request

from owslib.ogcapi.features import Features
from owslib.util import Authentication

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "debug", "xuncha")
BBOX = [126.40, 41.93, 126.43, 41.945]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def zone(name):
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [[[126.4300, 41.9500], [126.4310, 41.9500],
                                                         [126.4310, 41.9504], [126.4300, 41.9504], [126.4300, 41.9500]]]},
        "properties": {"name": name, "owner_name": "白山市测试中学", "owner_sector": "school",
                       "owner_contact": "0439-3333333", "extra": {"via": "owslib"}},
    }


def main():
    checks = []

    def check(what, ok, detail=""):
        checks.append(ok)
        print(("ok   " if ok else "FAIL ") + what + ("" if ok else f": {detail}"))

    with tempfile.TemporaryDirectory() as d:
        data = os.path.join(d, "data")
        run = lambda *a: subprocess.run([BIN, "--data", data, *a], capture_output=True, text=True, check=True, cwd=ROOT)
        run("import", os.path.join(ROOT, "geodata", "baishan", "zones.geojson"))
        token = run("user", "add", "gis", "--role", "planner", "--password", "owslib-check-2026").stdout.strip().splitlines()[-1]
        port = free_port()
        server = subprocess.Popen([BIN, "--data", data, "serve", "--addr", f"127.0.0.1:{port}"], cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)
            url = f"http://127.0.0.1:{port}/ogc"
            api = Features(url, auth=Authentication(username="gis", password=token))

            cols = [c["id"] for c in api.collections()["collections"]]
            check("collections listed", cols == ["zones", "responsibility", "grid", "patrol_route", "hotspot",
                                                 "green_adoption", "reports"], cols)
            check("feature collections", set(api.feature_collections()) >= {"zones", "responsibility"},
                  api.feature_collections())
            q = api.collection_queryables("responsibility")
            check("queryables", "owner_name" in q["properties"], q)

            # Pages of 7 inside a bbox, through offset, agree with one big page.
            whole = api.collection_items("responsibility", bbox=BBOX, limit=1000)
            want = [f["id"] for f in whole["features"]]
            got, offset = [], 0
            while True:
                page = api.collection_items("responsibility", bbox=BBOX, limit=7, offset=offset)
                check_page = page["numberMatched"] == len(want) and page["numberReturned"] == len(page["features"])
                if not check_page:
                    check("page counts", False, page)
                got += [f["id"] for f in page["features"]]
                if not any(l["rel"] == "next" for l in page["links"]):
                    break
                offset += 7
            check("bbox + limit across pages", got == want and len(want) > 7, (len(got), len(want)))
            inside = all(BBOX[0] - 0.01 < f["geometry"]["coordinates"][0][0][0] < BBOX[2] + 0.01 for f in whole["features"])
            check("bbox respected", inside)

            # Create, replace (If-Match from the item's ETag), delete.
            api.collection_item_create("responsibility", zone("OWSLib 测试区"))
            loc = api.response_headers.get("Location", "")
            zid = loc.rsplit("/", 1)[-1]
            check("created with Location", loc.startswith(url + "/collections/responsibility/items/") and zid, loc)
            item = api.collection_item("responsibility", zid)
            check("created item readable", item["properties"]["owner_name"] == "白山市测试中学", item)
            etag = api.response_headers["ETag"]
            api.headers["If-Match"] = etag
            replaced = zone("OWSLib 测试区（改）")
            replaced["id"] = zid
            api.collection_item_update("responsibility", zid, json.dumps(replaced))
            check("replaced, new ETag", api.response_headers.get("ETag") == '"2"', dict(api.response_headers))
            item = api.collection_item("responsibility", zid)
            check("replacement stored", item["properties"]["name"] == "OWSLib 测试区（改）", item)
            try:
                api.headers["If-Match"] = etag  # stale now
                api.collection_item_update("responsibility", zid, json.dumps(replaced))
                check("stale If-Match refused", False, "accepted")
            except RuntimeError as e:
                check("stale If-Match refused", "PreconditionFailed" in str(e), e)
            del api.headers["If-Match"]
            api.collection_item_delete("responsibility", zid)
            try:
                api.collection_item("responsibility", zid)
                check("deleted item gone", False, "still there")
            except RuntimeError as e:
                check("deleted item gone", "NotFound" in str(e), e)
        finally:
            server.terminate()
            server.wait(timeout=10)
    failed = checks.count(False)
    print(f"{len(checks) - failed} passed, {failed} failed")
    return 1 if failed or not checks else 0


if __name__ == "__main__":
    sys.exit(main())
