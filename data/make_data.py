#!/usr/bin/python3
"""Make sitmap's default dataset: the files of data/ (see data/README.md).

Run with Debian's Python (its sqlite3 module can load SpatiaLite):

    /usr/bin/python3 data/make_data.py            # fetches world-atlas with `npm pack`
    /usr/bin/python3 data/make_data.py --world-atlas-tgz world-atlas-2.0.2.tgz

Needs: npm (or a local copy of the world-atlas 2.0.2 tarball) and libsqlite3-mod-spatialite.
The output is deterministic: two runs write byte-identical files.
"""

import argparse
import csv
import datetime as dt
import hashlib
import io
import json
import math
import os
import random
import sqlite3
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

WORLD_ATLAS = "world-atlas@2.0.2"
COUNTRIES_MEMBER = "package/countries-10m.json"
# sha256 of countries-10m.json in world-atlas 2.0.2, so a changed upstream file cannot slip in.
COUNTRIES_SHA256 = "3bc6f1d367a9bcec479841bae0e76092f512838411d0cef124e92eec4db45f79"
MALI_ISO_NUMERIC = "466"

SEED = 20201223
VORONOI_SOURCE = ("Voronoi cells of cercle seats clipped to Natural Earth outline — approximate, "
                  "replace with official boundaries via sitmap import")
BASE_SOURCE = "public reports (MINUSMA/UN), town coordinates; dates approximate"
ROUTE_SOURCE = "approximate road alignment through the listed towns (straight segments between town coordinates)"
INCIDENT_SOURCE = "synthetic (sitmap default dataset)"

# ---------------------------------------------------------------------------------------------
# Facts. Coordinates are (lon, lat) in EPSG:4326, from public gazetteers (GeoNames and the usual
# encyclopaedia coordinates), 4 decimals; see README.md for which ones are less certain.
# ---------------------------------------------------------------------------------------------

REGIONS = [
    ("ML01", "Kayes"), ("ML02", "Koulikoro"), ("ML03", "Sikasso"), ("ML04", "Ségou"),
    ("ML05", "Mopti"), ("ML06", "Tombouctou"), ("ML07", "Gao"), ("ML08", "Kidal"),
    ("ML09", "Bamako"),
]

# OCHA P-code, name, seat (lon, lat). The region is the P-code's first four characters.
CERCLES = [
    ("ML0101", "Bafoulabé", (-10.8334, 13.8084)),
    ("ML0102", "Diéma", (-9.1921, 14.5400)),
    ("ML0103", "Kayes", (-11.4439, 14.4478)),
    ("ML0104", "Kéniéba", (-11.2350, 12.8403)),
    ("ML0105", "Kita", (-9.4882, 13.0389)),
    ("ML0106", "Nioro", (-9.5936, 15.2307)),
    ("ML0107", "Yélimané", (-10.5773, 15.1187)),
    ("ML0201", "Banamba", (-7.4481, 13.5477)),
    ("ML0202", "Dioïla", (-6.8031, 12.4874)),
    ("ML0203", "Kangaba", (-8.4167, 11.9333)),
    ("ML0204", "Kati", (-8.0726, 12.7441)),
    ("ML0205", "Kolokani", (-8.0327, 13.5739)),
    ("ML0206", "Koulikoro", (-7.5599, 12.8627)),
    ("ML0207", "Nara", (-7.2899, 15.1693)),
    ("ML0301", "Bougouni", (-7.4832, 11.4177)),
    ("ML0302", "Kadiolo", (-5.7667, 10.5500)),
    ("ML0303", "Kolondiéba", (-6.8929, 11.0894)),
    ("ML0304", "Koutiala", (-5.4651, 12.3872)),
    ("ML0305", "Sikasso", (-5.6665, 11.3176)),
    ("ML0306", "Yanfolila", (-8.1500, 11.1833)),
    ("ML0307", "Yorosso", (-4.7769, 12.3581)),
    ("ML0401", "Barouéli", (-6.8312, 13.0770)),
    ("ML0402", "Bla", (-5.7556, 12.9508)),
    ("ML0403", "Macina", (-5.3579, 13.9641)),
    ("ML0404", "Niono", (-5.9868, 14.2505)),
    ("ML0405", "San", (-4.8963, 13.2970)),
    ("ML0406", "Ségou", (-6.2595, 13.4403)),
    ("ML0407", "Tominian", (-4.5932, 13.2874)),
    ("ML0501", "Bandiagara", (-3.6104, 14.3501)),
    ("ML0502", "Bankass", (-3.5159, 14.0775)),
    ("ML0503", "Djenné", (-4.5533, 13.9061)),
    ("ML0504", "Douentza", (-2.9517, 15.0061)),
    ("ML0505", "Koro", (-3.0754, 14.0640)),
    ("ML0506", "Mopti", (-4.1830, 14.4843)),
    ("ML0507", "Ténenkou", (-4.9169, 14.4572)),
    ("ML0508", "Youwarou", (-4.2628, 15.3684)),
    ("ML0601", "Diré", (-3.4013, 16.2571)),
    ("ML0602", "Goundam", (-3.6708, 16.4145)),
    ("ML0603", "Gourma-Rharous", (-1.9231, 16.8778)),
    ("ML0604", "Niafunké", (-3.9906, 15.9322)),
    ("ML0605", "Tombouctou", (-3.0074, 16.7735)),
    ("ML0701", "Ansongo", (0.5022, 15.6597)),
    ("ML0702", "Bourem", (-0.3486, 16.9550)),
    ("ML0703", "Gao", (-0.0447, 16.2717)),
    ("ML0704", "Ménaka", (2.3961, 15.9199)),
    ("ML0801", "Abéïbara", (1.7500, 19.1167)),
    ("ML0802", "Kidal", (1.4092, 18.4435)),
    ("ML0803", "Tessalit", (1.0119, 20.2013)),
    ("ML0804", "Tin-Essako", (2.4880, 18.4506)),
    ("ML0901", "Bamako", (-8.0029, 12.6392)),
]

# Other towns: base sites, route waypoints, incident hubs and the extra Voronoi generators.
TOWNS = {
    "Kalaban Coro": (-8.0291, 12.5733),
    "Sirakoro Méguétana": (-7.9155, 12.5644),
    "Dialakorodji": (-7.9646, 12.7035),
    "Moribabougou": (-7.8638, 12.6867),
    "Siby": (-8.3349, 12.3755),
    "Faladié": (-8.3355, 13.1366),
    "Fana": (-6.9564, 12.7787),
    "Markala": (-6.0735, 13.6843),
    "Sokolo": (-6.1219, 14.7328),
    "Diabaly": (-6.0167, 14.6833),
    "Nampala": (-5.5500, 15.2833),
    "Monimpébougou": (-5.5209, 14.1508),
    "Sévaré": (-4.1000, 14.5333),
    "Konna": (-3.8833, 14.9500),
    "Boni": (-2.2167, 15.0500),
    "Hombori": (-1.7000, 15.2833),
    "Gossi": (-1.3000, 15.8167),
    "Ogossogou": (-3.6000, 14.1300),
    "Léré": (-4.9167, 15.7167),
    "Ras El Ma": (-4.4500, 16.6000),
    "Ber": (-2.4833, 16.8500),
    "Araouane": (-3.5265, 18.9048),
    "Taoudenni": (-3.9792, 22.6769),
    "Bamba": (-1.4000, 17.0333),
    "In-Tillit": (-0.4606, 15.5461),
    "Tessit": (-0.3000, 15.2167),
    "Ouatagouna": (0.7167, 15.1833),
    "Labbézanga": (0.7000, 14.9500),
    "Andéramboukane": (3.0175, 15.4275),
    "Inékar": (3.1411, 15.9594),
    "Anéfis": (0.6000, 18.0500),
    "Aguelhok": (0.8589, 19.4614),
    "Tinzaouaten": (2.9500, 19.9300),
    "Kokofata": (-9.9500, 12.8833),
    "Zégoua": (-5.6494, 10.4880),
    "Kouri": (-4.8028, 12.1840),
}
for _pcode, _name, _pt in CERCLES:
    TOWNS.setdefault({"Tombouctou": "Timbuktu"}.get(_name, _name), _pt)
TOWNS["Tombouctou"] = TOWNS["Timbuktu"]

# Extra Voronoi generators: real towns inside a cercle, so that a large cercle's cell reaches
# roughly as far as the cercle does (without them Kati would not surround Bamako and the far
# north of Tombouctou cercle would fall to Tessalit). Each generator's cell joins its cercle.
EXTRA_GENERATORS = {
    "ML0204": ["Kalaban Coro", "Sirakoro Méguétana", "Dialakorodji", "Moribabougou", "Siby", "Faladié"],
    "ML0202": ["Fana"],
    "ML0406": ["Markala"],
    "ML0404": ["Sokolo", "Diabaly", "Nampala"],
    "ML0403": ["Monimpébougou"],
    "ML0506": ["Sévaré", "Konna"],
    "ML0504": ["Boni", "Hombori"],
    "ML0603": ["Gossi"],
    "ML0604": ["Léré"],
    "ML0602": ["Ras El Ma"],
    "ML0605": ["Ber", "Araouane", "Taoudenni"],
    "ML0702": ["Bamba"],
    "ML0703": ["In-Tillit", "Tessit"],
    "ML0701": ["Ouatagouna", "Labbézanga"],
    "ML0704": ["Andéramboukane", "Inékar"],
    "ML0802": ["Anéfis"],
    "ML0803": ["Aguelhok"],
    "ML0801": ["Tinzaouaten"],
    "ML0105": ["Kokofata"],
    "ML0302": ["Zégoua"],
    "ML0307": ["Kouri"],
}

# id, name, kind, unit, town, opened, closed, approximate (location)
BASES = [
    ("BASE-001", "MINUSMA Mission Headquarters, Bamako", "mission_hq", "", "Bamako", "2013-07-01", "2023-12-31", 0),
    ("BASE-002", "Sector East Headquarters, Gao", "sector_hq", "", "Gao", "2013-07-01", "2023-12-31", 0),
    ("BASE-003", "Sector West Headquarters, Timbuktu", "sector_hq", "", "Timbuktu", "2013-07-01", "2023-12-15", 0),
    ("BASE-004", "Sector North Headquarters, Kidal", "sector_hq", "", "Kidal", "2013-07-01", "2023-10-31", 0),
    ("BASE-005", "Sector Centre Headquarters, Mopti", "sector_hq", "", "Mopti", "2019-10-01", "2023-12-15", 0),
    ("BASE-006", "Camp Sévaré", "camp", "", "Sévaré", "2013-07-01", "2023-12-15", 0),
    ("BASE-007", "Camp Tessalit", "camp", "Chad contingent", "Tessalit", "2013-07-01", "2023-10-21", 0),
    ("BASE-008", "Camp Aguelhok", "camp", "Chad contingent", "Aguelhok", "2013-07-01", "2023-10-23", 0),
    ("BASE-009", "Camp Ménaka", "camp", "", "Ménaka", "2014-06-01", "2023-08-31", 0),
    ("BASE-010", "Camp Ansongo", "camp", "Niger contingent", "Ansongo", "2013-07-01", "2023-11-30", 0),
    ("BASE-011", "Camp Ber", "camp", "", "Ber", "2014-01-01", "2023-08-13", 0),
    ("BASE-012", "Camp Goundam", "camp", "", "Goundam", "2014-01-01", "2023-08-31", 0),
    ("BASE-013", "Camp Douentza", "camp", "", "Douentza", "2014-01-01", "2023-11-30", 0),
    ("BASE-014", "Camp Léré", "camp", "", "Léré", "2015-01-01", "2023-08-31", 0),
    ("BASE-015", "Temporary operating base Ogossogou", "temporary_operating_base", "", "Ogossogou", "2020-02-20", "2023-08-03", 1),
    ("BASE-016", "Temporary operating base Bandiagara", "temporary_operating_base", "", "Bandiagara", "2019-07-01", "2023-08-31", 0),
    ("BASE-017", "Temporary operating base Bankass", "temporary_operating_base", "", "Bankass", "2019-07-01", "2023-08-31", 0),
    ("BASE-018", "Temporary operating base Koro", "temporary_operating_base", "", "Koro", "2019-07-01", "2023-08-31", 0),
]

# id, name, short name for incident descriptions, towns along the route (in order)
ROUTES = [
    ("ROUTE-01", "Gao–Labbézanga axis (RN17)", "Gao–Labbézanga axis",
     ["Gao", "Ansongo", "Ouatagouna", "Labbézanga"]),
    ("ROUTE-02", "Gao–Bourem–Anéfis–Kidal", "Gao–Kidal road", ["Gao", "Bourem", "Anéfis", "Kidal"]),
    ("ROUTE-03", "Sévaré–Douentza–Hombori–Gossi–Gao (RN16)", "RN16",
     ["Sévaré", "Konna", "Douentza", "Boni", "Hombori", "Gossi", "Gao"]),
    ("ROUTE-04", "Bamako–Ségou–San–Sévaré (RN6)", "RN6", ["Bamako", "Fana", "Ségou", "Bla", "San", "Sévaré"]),
    ("ROUTE-05", "Kidal–Aguelhok–Tessalit", "Kidal–Tessalit road", ["Kidal", "Aguelhok", "Tessalit"]),
    ("ROUTE-06", "Gao–Ansongo–Ménaka", "Gao–Ménaka road", ["Gao", "Ansongo", "Ménaka"]),
    ("ROUTE-07", "Timbuktu–Goundam–Niafunké–Léré", "Timbuktu–Léré road",
     ["Timbuktu", "Goundam", "Niafunké", "Léré"]),
    ("ROUTE-08", "Sévaré–Bandiagara–Bankass–Koro (RN15)", "RN15", ["Sévaré", "Bandiagara", "Bankass", "Koro"]),
    ("ROUTE-09", "Ségou–Markala–Niono–Diabaly", "Ségou–Diabaly road", ["Ségou", "Markala", "Niono", "Diabaly"]),
]

# ---------------------------------------------------------------------------------------------
# Synthetic incidents: where, when, what.
# ---------------------------------------------------------------------------------------------

INCIDENT_COUNT = 3000
START = dt.date(2013, 1, 1)
END = dt.date(2023, 12, 31)
MISSION_START = dt.date(2013, 7, 1)
# The Secretary-General's letter of 23 December 2020 (figures as given in the project brief).
LETTER_FROM, LETTER_TO = dt.date(2020, 7, 1), dt.date(2020, 12, 23)
LETTER_IEDS = 98
LETTER_UN_NEUTRALIZED, LETTER_UN_DETONATED = 19, 20

YEAR_WEIGHTS = {2013: 5, 2014: 6, 2015: 7, 2016: 8, 2017: 10, 2018: 12, 2019: 13, 2020: 12,
                2021: 12, 2022: 9, 2023: 6}
ROUTE_WEIGHTS = {"ROUTE-01": 10, "ROUTE-02": 10, "ROUTE-03": 12, "ROUTE-04": 3, "ROUTE-05": 9,
                 "ROUTE-06": 9, "ROUTE-07": 5, "ROUTE-08": 9, "ROUTE-09": 4}
HUB_WEIGHTS = {
    # Mopti region (centre)
    "Mopti": 5, "Sévaré": 3, "Bandiagara": 6, "Bankass": 6, "Koro": 6, "Douentza": 5, "Djenné": 3,
    "Ténenkou": 4, "Youwarou": 3, "Boni": 3, "Hombori": 2, "Konna": 2, "Ogossogou": 3,
    # Ségou north
    "Niono": 4, "Macina": 3, "Diabaly": 3, "Nampala": 2, "Sokolo": 2, "Monimpébougou": 2,
    # Tombouctou
    "Timbuktu": 5, "Goundam": 3, "Niafunké": 2, "Léré": 3, "Diré": 2, "Ber": 2, "Gourma-Rharous": 2,
    "Gossi": 2,
    # Gao, Ménaka
    "Gao": 6, "Ansongo": 4, "Bourem": 3, "Tessit": 3, "In-Tillit": 2, "Labbézanga": 2,
    "Ouatagouna": 2, "Ménaka": 5, "Andéramboukane": 3, "Inékar": 2,
    # Kidal
    "Kidal": 5, "Aguelhok": 3, "Tessalit": 3, "Anéfis": 2,
    # the south, rarely
    "Bamako": 1, "Kati": 1, "Ségou": 1, "San": 1,
}
TYPES = ["ied_detonated", "ied_neutralized", "direct_fire", "indirect_fire", "ambush",
         "attack_on_civilians", "other"]
IED_TYPES = ("ied_detonated", "ied_neutralized")
ROUTE_TYPE_WEIGHTS = [30, 20, 15, 5, 15, 8, 7]
HUB_TYPE_WEIGHTS = [8, 6, 20, 14, 6, 36, 10]
TARGETS = ["un_mission", "national_forces", "civilians", "other"]
TARGET_WEIGHTS = {
    "ied_detonated": [35, 40, 20, 5],
    "ied_neutralized": [40, 45, 10, 5],
    "direct_fire": [20, 50, 20, 10],
    "indirect_fire": [60, 30, 0, 10],
    "ambush": [25, 60, 10, 5],
    "attack_on_civilians": [0, 0, 100, 0],
    "other": [5, 20, 30, 45],
}
TARGET_PHRASE = {
    "un_mission": "a MINUSMA convoy", "national_forces": "a FAMa patrol",
    "civilians": "a civilian vehicle", "other": "a commercial truck",
}
CAMP_PHRASE = {
    "un_mission": "the MINUSMA camp", "national_forces": "a FAMa post",
    "civilians": "the town", "other": "a private compound",
}
OTHER_EVENTS = {
    "un_mission": "Suspicious approach stopped at a MINUSMA checkpoint",
    "national_forces": "Armed men briefly took a FAMa checkpoint",
    "civilians": "Abduction of civilians reported",
    "other": "Theft of livestock and vehicles reported",
}


# ---------------------------------------------------------------------------------------------
# Outline
# ---------------------------------------------------------------------------------------------

def fetch_countries(tgz_path):
    """Return the bytes of countries-10m.json from world-atlas (npm pack into a temp dir)."""
    with tempfile.TemporaryDirectory(prefix="sitmap-data-") as tmp:
        if tgz_path is None:
            subprocess.run(["npm", "pack", WORLD_ATLAS, "--silent"], cwd=tmp, check=True,
                           stdout=subprocess.DEVNULL)
            names = [n for n in os.listdir(tmp) if n.endswith(".tgz")]
            if len(names) != 1:
                sys.exit("npm pack %s did not leave one tarball in %s" % (WORLD_ATLAS, tmp))
            tgz_path = os.path.join(tmp, names[0])
        with tarfile.open(tgz_path, "r:gz") as tar:
            data = tar.extractfile(COUNTRIES_MEMBER).read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != COUNTRIES_SHA256:
        sys.exit("%s in %s has sha256 %s, expected %s" % (COUNTRIES_MEMBER, WORLD_ATLAS, digest,
                                                          COUNTRIES_SHA256))
    return data


def decode_topojson_outline(data, object_id):
    """Decode one quantized TopoJSON geometry of object 'countries' into a list of polygons
    (each a list of rings, each a list of (lon, lat) rounded to 5 decimals)."""
    topo = json.loads(data)
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]

    def arc(i):
        x = y = 0
        points = []
        for dx, dy in topo["arcs"][i if i >= 0 else ~i]:
            x += dx
            y += dy
            points.append((round(x * sx + tx, 5), round(y * sy + ty, 5)))
        return points if i >= 0 else points[::-1]

    def ring(indices):
        points = []
        for i in indices:
            a = arc(i)
            points.extend(a if not points else a[1:])
        dedup = [p for k, p in enumerate(points) if k == 0 or p != points[k - 1]]
        return dedup

    geoms = [g for g in topo["objects"]["countries"]["geometries"] if g.get("id") == object_id]
    if len(geoms) != 1:
        sys.exit("country %s not found in the TopoJSON" % object_id)
    g = geoms[0]
    polygons = [g["arcs"]] if g["type"] == "Polygon" else g["arcs"]
    return [[ring(r) for r in p] for p in polygons]


def wkt_multipolygon(polygons):
    return "MULTIPOLYGON(%s)" % ",".join(
        "(%s)" % ",".join("(%s)" % ",".join("%r %r" % p for p in r) for r in poly)
        for poly in polygons)


# ---------------------------------------------------------------------------------------------
# SpatiaLite
# ---------------------------------------------------------------------------------------------

def open_spatialite():
    db = sqlite3.connect(":memory:")
    db.enable_load_extension(True)
    db.load_extension("mod_spatialite")
    db.execute("SELECT InitSpatialMetadata(1)")
    return db


def one(db, sql, *args):
    return db.execute(sql, args).fetchone()[0]


def build_boundaries(db, outline_wkt):
    """Voronoi cells of the generators, clipped to the outline, dissolved by cercle then by region.
    Leaves tables outline, cercles(id, region_id, geom) and regions(id, geom) in db."""
    db.execute("CREATE TABLE outline(geom BLOB)")
    db.execute("INSERT INTO outline VALUES (GeomFromText(?, 4326))", (outline_wkt,))
    assert one(db, "SELECT IsValid(geom) FROM outline") == 1, "national outline is not valid"

    db.execute("CREATE TABLE gen(cercle_id TEXT, name TEXT, lon REAL, lat REAL)")
    for pcode, name, (lon, lat) in CERCLES:
        db.execute("INSERT INTO gen VALUES (?,?,?,?)", (pcode, name, lon, lat))
        for town in EXTRA_GENERATORS.get(pcode, []):
            tlon, tlat = TOWNS[town]
            db.execute("INSERT INTO gen VALUES (?,?,?,?)", (pcode, town, tlon, tlat))
    for lon, lat in db.execute("SELECT lon, lat FROM gen"):
        assert one(db, "SELECT Within(MakePoint(?,?,4326), geom) FROM outline", lon, lat) == 1, \
            "generator %r %r outside the outline" % (lon, lat)

    # Voronoi in a plane stretched so that a degree of longitude is as long as at 16°N,
    # so cells follow distances on the ground better than in raw degrees.
    kx = math.cos(math.radians(16.0))
    points = ",".join("%r %r" % (lon * kx, lat) for lon, lat in
                      db.execute("SELECT lon, lat FROM gen ORDER BY cercle_id, name"))
    db.execute("CREATE TABLE cells(geom BLOB)")
    db.execute("""INSERT INTO cells
                  SELECT ScaleCoords(VoronojDiagram(GeomFromText(?, 4326), 0, 60.0), ?, 1.0)""",
               ("MULTIPOINT(%s)" % points, 1.0 / kx))
    count = one(db, "SELECT NumGeometries(geom) FROM cells")
    assert count == one(db, "SELECT count(*) FROM gen"), "one Voronoi cell per generator"
    db.execute("CREATE TABLE cell(n INTEGER, geom BLOB)")
    for n in range(1, count + 1):
        db.execute("INSERT INTO cell SELECT ?, GeometryN(geom, ?) FROM cells", (n, n))
    db.execute("""CREATE TABLE gen_cell AS
                  SELECT g.cercle_id AS cercle_id, c.n AS n, c.geom AS geom
                  FROM gen g JOIN cell c ON Within(MakePoint(g.lon, g.lat, 4326), c.geom)""")
    assert one(db, "SELECT count(DISTINCT n) FROM gen_cell") == count
    assert one(db, "SELECT count(*) FROM gen_cell") == count

    db.execute("CREATE TABLE cercles(id TEXT PRIMARY KEY, region_id TEXT, geom BLOB)")
    db.execute("""INSERT INTO cercles
                  SELECT cercle_id, substr(cercle_id, 1, 4),
                         CastToMultiPolygon(ST_ForcePolygonCCW(SnapToGrid(
                             Intersection(ST_Union(gc.geom), o.geom), 0.000001)))
                  FROM gen_cell gc, outline o GROUP BY cercle_id ORDER BY cercle_id""")
    db.execute("CREATE TABLE regions(id TEXT PRIMARY KEY, geom BLOB)")
    db.execute("""INSERT INTO regions
                  SELECT region_id, CastToMultiPolygon(ST_ForcePolygonCCW(SnapToGrid(
                             ST_Union(geom), 0.000001)))
                  FROM cercles GROUP BY region_id ORDER BY region_id""")


def check_coverage(db, table):
    """Every polygon valid and non-empty, no two overlapping, together covering the outline."""
    rows = db.execute("SELECT id, IsValid(geom), IsEmpty(geom), GeometryType(geom), Area(geom) "
                      "FROM %s ORDER BY id" % table).fetchall()
    for fid, valid, empty, gtype, area in rows:
        assert valid == 1 and empty == 0 and gtype == "MULTIPOLYGON" and area > 0, \
            "%s %s: valid=%s empty=%s type=%s" % (table, fid, valid, empty, gtype)
    overlaps = one(db, """SELECT count(*) FROM %s a JOIN %s b ON a.id < b.id
                          AND MbrIntersects(a.geom, b.geom)
                          AND ST_Relate(a.geom, b.geom, '2********')""" % (table, table))
    assert overlaps == 0, "%s: %d overlapping pairs" % (table, overlaps)
    outline_area = one(db, "SELECT Area(geom) FROM outline")
    total = sum(r[4] for r in rows)
    gap = one(db, "SELECT Area(SymDifference(o.geom, (SELECT ST_Union(geom) FROM %s))) "
                  "FROM outline o" % table) or 0.0  # NULL when the difference is empty
    assert abs(total - outline_area) < 1e-6 * outline_area and gap < 1e-6 * outline_area, \
        "%s: area %r vs outline %r, gap %r" % (table, total, outline_area, gap)
    return len(rows), total, outline_area, gap


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------

def num(x, places=6):
    s = "%.*f" % (places, x)
    s = s.rstrip("0").rstrip(".") if "." in s else s
    return "0" if s in ("-0", "") else s


def coords_json(c):
    if isinstance(c[0], (int, float)):
        return "[%s,%s]" % (num(c[0]), num(c[1]))
    return "[%s]" % ",".join(coords_json(x) for x in c)


def feature_json(fid, properties, geometry):
    props = json.dumps(properties, ensure_ascii=False, separators=(",", ":"))
    geom = '{"type":"%s","coordinates":%s}' % (geometry["type"], coords_json(geometry["coordinates"]))
    return '{"type":"Feature","id":%s,"properties":%s,"geometry":%s}' % (
        json.dumps(fid), props, geom)


def write_collection(path, name, features):
    lines = [feature_json(*f) for f in features]
    text = ('{"type":"FeatureCollection","name":"%s",\n"features":[\n%s\n]}\n'
            % (name, ",\n".join(lines)))
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write(text)


def geometry_of(db, sql, *args):
    return json.loads(one(db, sql, *args))


# ---------------------------------------------------------------------------------------------
# Incidents
# ---------------------------------------------------------------------------------------------

KM_PER_DEG = 111.32


def offset(lon, lat, east_km, north_km):
    return (lon + east_km / (KM_PER_DEG * math.cos(math.radians(lat))), lat + north_km / KM_PER_DEG)


def ground_km(a, b):
    mid = math.radians((a[1] + b[1]) / 2)
    return math.hypot((a[0] - b[0]) * math.cos(mid), a[1] - b[1]) * KM_PER_DEG


def nearest_town(lon, lat):
    return min(sorted(TOWNS), key=lambda t: ground_km((lon, lat), TOWNS[t]))


def weighted(rng, items, weights):
    return rng.choices(items, weights=weights, k=1)[0]


class IncidentMaker:
    def __init__(self, db, rng):
        self.db = db
        self.rng = rng
        self.route_segments = {}
        for rid, _name, _short, towns in ROUTES:
            pts = [TOWNS[t] for t in towns]
            self.route_segments[rid] = [(pts[k], pts[k + 1]) for k in range(len(pts) - 1)]
        self.route_names = {rid: short for rid, _name, short, _towns in ROUTES}
        self.hubs = sorted(HUB_WEIGHTS)

    def inside(self, lon, lat):
        return one(self.db, "SELECT Within(MakePoint(?,?,4326), geom) FROM outline", lon, lat) == 1

    def place_on_route(self):
        rid = weighted(self.rng, sorted(ROUTE_WEIGHTS), [ROUTE_WEIGHTS[r] for r in sorted(ROUTE_WEIGHTS)])
        segments = self.route_segments[rid]
        a, b = weighted(self.rng, segments, [ground_km(a, b) for a, b in segments])
        while True:
            t = self.rng.random()
            lon, lat = a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])
            # a few km off the straight line, across it
            length = ground_km(a, b)
            ux = (b[0] - a[0]) * math.cos(math.radians(lat)) * KM_PER_DEG / length
            uy = (b[1] - a[1]) * KM_PER_DEG / length
            d = self.rng.uniform(-3.0, 3.0)
            lon, lat = offset(lon, lat, -uy * d, ux * d)
            lon, lat = round(lon, 5), round(lat, 5)
            if self.inside(lon, lat):
                return lon, lat, rid

    def place_near_hub(self):
        hub = weighted(self.rng, self.hubs, [HUB_WEIGHTS[h] for h in self.hubs])
        while True:
            r = min(abs(self.rng.gauss(0.0, 9.0)), 30.0)
            a = self.rng.uniform(0.0, 2.0 * math.pi)
            lon, lat = offset(*TOWNS[hub], r * math.cos(a), r * math.sin(a))
            lon, lat = round(lon, 5), round(lat, 5)
            if self.inside(lon, lat):
                return lon, lat, None

    def when(self, first, last):
        days = (last - first).days
        day = first + dt.timedelta(days=self.rng.randint(0, days))
        minute = self.rng.randrange(0, 24 * 60, 5)
        return dt.datetime(day.year, day.month, day.day, minute // 60, minute % 60)

    def casualties(self, kind, target):
        f, i = self.draw_casualties(kind)
        # Mission troops are in protected vehicles and camps: about half the lethality, which keeps
        # the total near the ~300 peacekeepers killed by hostile acts over the mission.
        if target == "un_mission" and self.rng.random() < 0.5:
            f = 0
        return f, i

    def draw_casualties(self, kind):
        r = self.rng
        if kind == "ied_neutralized":
            return 0, 0
        if kind == "ied_detonated":
            f = weighted(r, [0, 0, 0, 1, 1, 2, 3, 4, 6], [30, 20, 10, 12, 8, 8, 5, 4, 3])
            return f, weighted(r, [0, 1, 2, 3, 4, 6, 9], [25, 20, 18, 14, 10, 8, 5])
        if kind == "direct_fire":
            return weighted(r, [0, 1, 2, 3], [55, 25, 12, 8]), weighted(r, [0, 1, 2, 4], [45, 30, 15, 10])
        if kind == "indirect_fire":
            return weighted(r, [0, 1, 2], [80, 14, 6]), weighted(r, [0, 1, 2, 5, 12], [55, 18, 12, 10, 5])
        if kind == "ambush":
            return (weighted(r, [0, 1, 2, 4, 7, 12], [25, 20, 20, 15, 12, 8]),
                    weighted(r, [0, 1, 3, 5, 8], [25, 25, 20, 18, 12]))
        if kind == "attack_on_civilians":
            f = weighted(r, [0, 1, 2, 3, 5, 8, 12, 20, 35], [10, 25, 18, 14, 12, 9, 6, 4, 2])
            return f, weighted(r, [0, 1, 2, 4, 7, 15], [30, 22, 18, 14, 10, 6])
        return weighted(r, [0, 1], [90, 10]), weighted(r, [0, 1, 2], [80, 15, 5])

    def describe(self, kind, target, lon, lat, rid):
        town = nearest_town(lon, lat)
        where = ("on the %s near %s" % (self.route_names[rid], town)) if rid else ("near %s" % town)
        if kind == "ied_detonated":
            what = "IED detonated under %s" % TARGET_PHRASE[target]
        elif kind == "ied_neutralized":
            what = "IED found and neutralized ahead of %s" % TARGET_PHRASE[target]
        elif kind == "direct_fire":
            what = "Small-arms fire on %s" % TARGET_PHRASE[target].replace("a civilian vehicle", "civilians")
        elif kind == "indirect_fire":
            what = "Rockets or mortar rounds fired at %s" % CAMP_PHRASE[target]
        elif kind == "ambush":
            what = "Complex ambush on %s" % TARGET_PHRASE[target]
        elif kind == "attack_on_civilians":
            what = "Armed men attacked a village"
        else:
            what = OTHER_EVENTS[target]
        return "%s %s (synthetic)." % (what, where)

    def make(self, when, kind=None, target=None, on_route=None):
        if on_route is None:
            on_route = self.rng.random() < 0.6
        lon, lat, rid = self.place_on_route() if on_route else self.place_near_hub()
        if kind is None:
            kind = weighted(self.rng, TYPES, ROUTE_TYPE_WEIGHTS if on_route else HUB_TYPE_WEIGHTS)
        if target is None:
            target = weighted(self.rng, TARGETS, TARGET_WEIGHTS[kind])
        if target == "un_mission" and when.date() < MISSION_START:
            target = "national_forces"  # MINUSMA took over from AFISMA on 1 July 2013
        fatalities, injuries = self.casualties(kind, target)
        return {"occurred_at": when, "type": kind, "target": target, "fatalities": fatalities,
                "injuries": injuries, "description": self.describe(kind, target, lon, lat, rid),
                "lon": lon, "lat": lat}


def in_letter_window(when):
    return LETTER_FROM <= when.date() <= LETTER_TO


def make_incidents(db):
    rng = random.Random(SEED)
    maker = IncidentMaker(db, rng)
    years = sorted(YEAR_WEIGHTS)
    incidents = []
    # The letter window gets its IEDs below, exactly; everything else drawn there is not an IED.
    while len(incidents) < INCIDENT_COUNT - LETTER_IEDS:
        year = weighted(rng, years, [YEAR_WEIGHTS[y] for y in years])
        when = maker.when(max(START, dt.date(year, 1, 1)), min(END, dt.date(year, 12, 31)))
        inc = maker.make(when)
        if in_letter_window(when) and inc["type"] in IED_TYPES:
            continue
        incidents.append(inc)
    letter = ([("ied_neutralized", "un_mission")] * LETTER_UN_NEUTRALIZED
              + [("ied_detonated", "un_mission")] * LETTER_UN_DETONATED)
    others = LETTER_IEDS - len(letter)
    for k in range(others):
        kind = "ied_detonated" if k < 40 else "ied_neutralized"
        letter.append((kind, weighted(rng, ["national_forces", "civilians", "other"], [60, 30, 10])))
    for kind, target in letter:
        incidents.append(maker.make(maker.when(LETTER_FROM, LETTER_TO), kind, target,
                                    on_route=rng.random() < 0.85))
    incidents.sort(key=lambda i: (i["occurred_at"], i["lon"], i["lat"], i["type"]))
    for n, inc in enumerate(incidents, 1):
        inc["id"] = "INC-%06d" % n
    return incidents


def check_incidents(incidents):
    window = [i for i in incidents if in_letter_window(i["occurred_at"]) and i["type"] in IED_TYPES]
    un = [i for i in window if i["target"] == "un_mission"]
    counts = {
        "total": len(incidents),
        "letter_window_ieds": len(window),
        "letter_window_ieds_un_mission": len(un),
        "letter_window_un_neutralized": sum(i["type"] == "ied_neutralized" for i in un),
        "letter_window_un_detonated": sum(i["type"] == "ied_detonated" for i in un),
        "letter_window_ieds_other_targets": len(window) - len(un),
    }
    assert counts["total"] == INCIDENT_COUNT
    assert counts["letter_window_ieds"] == LETTER_IEDS
    assert counts["letter_window_ieds_un_mission"] == LETTER_UN_NEUTRALIZED + LETTER_UN_DETONATED
    assert counts["letter_window_un_neutralized"] == LETTER_UN_NEUTRALIZED
    assert counts["letter_window_un_detonated"] == LETTER_UN_DETONATED
    assert counts["letter_window_ieds_other_targets"] == LETTER_IEDS - 39
    assert all(START <= i["occurred_at"].date() <= END for i in incidents)
    assert len({i["id"] for i in incidents}) == len(incidents)
    return counts


def write_incidents(path, incidents):
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "occurred_at", "type", "target", "fatalities", "injuries", "description",
                "source", "synthetic", "lon", "lat"])
    for i in incidents:
        w.writerow([i["id"], i["occurred_at"].strftime("%Y-%m-%dT%H:%M:%SZ"), i["type"], i["target"],
                    i["fatalities"], i["injuries"], i["description"], INCIDENT_SOURCE, 1,
                    num(i["lon"], 5), num(i["lat"], 5)])
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(buf.getvalue())


def check_outputs(out_dir):
    """Read the written files back (after rounding) and check them on their own: valid,
    non-overlapping polygons that cover the outline; every point in exactly one cercle."""
    db = open_spatialite()
    for layer in ("regions", "cercles", "bases", "routes"):
        db.execute("CREATE TABLE %s(id TEXT PRIMARY KEY, region_id TEXT, geom BLOB)" % layer)
        with open(os.path.join(out_dir, layer + ".geojson"), encoding="utf-8") as f:
            for feat in json.load(f)["features"]:
                assert feat["id"] == feat["properties"]["id"]
                db.execute("INSERT INTO %s VALUES (?, ?, SetSRID(GeomFromGeoJSON(?), 4326))" % layer,
                           (feat["id"], feat["properties"].get("region_id"), json.dumps(feat["geometry"])))
    db.execute("CREATE TABLE outline AS SELECT ST_Union(geom) AS geom FROM regions")
    cercles = check_coverage(db, "cercles")
    regions = check_coverage(db, "regions")
    assert cercles[0] == 50 and regions[0] == 9
    misplaced = one(db, """SELECT count(*) FROM cercles c JOIN regions r ON r.id = c.region_id
                           WHERE Area(Difference(c.geom, r.geom)) > 1e-9""")
    assert misplaced == 0, "%d cercles stick out of their region" % misplaced
    assert one(db, "SELECT count(*) FROM bases b, outline o WHERE NOT Within(b.geom, o.geom)") == 0
    assert one(db, "SELECT count(*) FROM routes r, outline o WHERE NOT Within(r.geom, o.geom)") == 0

    db.execute("CREATE TABLE incidents(id TEXT PRIMARY KEY, geom BLOB)")
    with open(os.path.join(out_dir, "incidents.csv"), encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            db.execute("INSERT INTO incidents VALUES (?, MakePoint(?, ?, 4326))",
                       (row["id"], float(row["lon"]), float(row["lat"])))
    hits = dict(db.execute("""SELECT i.id, count(c.id) FROM incidents i LEFT JOIN cercles c
                              ON MbrWithin(i.geom, c.geom) AND Within(i.geom, c.geom)
                              GROUP BY i.id""").fetchall())
    bad = sorted(k for k, v in hits.items() if v != 1)
    assert len(hits) == INCIDENT_COUNT and not bad, "incidents not in exactly one cercle: %s" % bad[:10]
    return len(hits)


# ---------------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--world-atlas-tgz", help="use this world-atlas-2.0.2.tgz instead of npm pack")
    parser.add_argument("--out", default=HERE, help="output folder (default: this script's folder)")
    args = parser.parse_args()

    os.makedirs(args.out, exist_ok=True)
    countries = fetch_countries(args.world_atlas_tgz)
    polygons = decode_topojson_outline(countries, MALI_ISO_NUMERIC)
    db = open_spatialite()
    build_boundaries(db, wkt_multipolygon(polygons))
    cercle_check = check_coverage(db, "cercles")
    region_check = check_coverage(db, "regions")

    names = {pcode: name for pcode, name, _ in CERCLES}
    region_names = dict(REGIONS)
    assert len(names) == 50 and len(region_names) == 9
    assert {p[:4] for p in names} == set(region_names)

    geojson = "SELECT AsGeoJSON(geom, 6) FROM %s WHERE id = ?"
    write_collection(os.path.join(args.out, "regions.geojson"), "regions", [
        (rid, {"id": rid, "name": region_names[rid], "approximate": 1, "source": VORONOI_SOURCE},
         geometry_of(db, geojson % "regions", rid))
        for rid in sorted(region_names)])
    write_collection(os.path.join(args.out, "cercles.geojson"), "cercles", [
        (cid, {"id": cid, "name": names[cid], "region_id": cid[:4], "approximate": 1,
               "source": VORONOI_SOURCE},
         geometry_of(db, geojson % "cercles", cid))
        for cid in sorted(names)])

    for b in BASES:
        assert db.execute("SELECT Within(MakePoint(?,?,4326), geom) FROM outline",
                          TOWNS[b[4]]).fetchone()[0] == 1, b
    write_collection(os.path.join(args.out, "bases.geojson"), "bases", [
        (bid, {"id": bid, "name": name, "kind": kind, "unit": unit, "opened": opened,
               "closed": closed, "approximate": approx,
               "source": BASE_SOURCE if not approx else BASE_SOURCE + "; village location approximate"},
         {"type": "Point", "coordinates": list(TOWNS[town])})
        for bid, name, kind, unit, town, opened, closed, approx in BASES])
    write_collection(os.path.join(args.out, "routes.geojson"), "routes", [
        (rid, {"id": rid, "name": name, "approximate": 1,
               "source": "%s: %s" % (ROUTE_SOURCE, ", ".join(towns))},
         {"type": "LineString", "coordinates": [list(TOWNS[t]) for t in towns]})
        for rid, name, _short, towns in ROUTES])

    incidents = make_incidents(db)
    counts = check_incidents(incidents)
    write_incidents(os.path.join(args.out, "incidents.csv"), incidents)
    checked = check_outputs(args.out)

    print("outline: %d polygon(s), %d vertices" % (len(polygons), sum(len(r) for p in polygons for r in p)))
    print("cercles: %d, area %.6f deg² vs outline %.6f, gap %.2e" % cercle_check)
    print("regions: %d, area %.6f deg² vs outline %.6f, gap %.2e" % region_check)
    print("bases: %d, routes: %d" % (len(BASES), len(ROUTES)))
    for k, v in counts.items():
        print("incidents %s: %d" % (k, v))
    by_type = {}
    for i in incidents:
        by_type[i["type"]] = by_type.get(i["type"], 0) + 1
    print("incidents by type: " + ", ".join("%s %d" % kv for kv in sorted(by_type.items())))
    print("read back: all polygons valid, no overlaps, outline covered; %d incidents each in "
          "exactly one cercle" % checked)


if __name__ == "__main__":
    main()
