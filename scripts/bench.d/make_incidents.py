#!/usr/bin/env python3
"""Synthetic incidents for benchmarks: N rows clustered around Mali's towns and along its routes.

Same columns as data/incidents.csv. Deterministic for a given --seed. Standard library only.
Cluster centres are the bases and route vertices of the default dataset (data/*.geojson).
"""
import argparse
import csv
import json
import math
import os
import random
import time

TYPES = ["ied_detonated", "ied_neutralized", "direct_fire", "indirect_fire", "ambush", "attack_on_civilians", "other"]
TYPE_WEIGHTS = [22, 15, 16, 8, 11, 20, 8]
TARGETS = ["un_mission", "national_forces", "civilians", "other"]
TARGET_WEIGHTS = [25, 35, 30, 10]
MALI = (-12.2, 10.2, 4.2, 24.9)  # lon/lat box the points are kept in


def centres(data_dir):
    points = []
    with open(os.path.join(data_dir, "bases.geojson"), encoding="utf-8") as f:
        for feature in json.load(f)["features"]:
            points.append(tuple(feature["geometry"]["coordinates"][:2]))
    with open(os.path.join(data_dir, "routes.geojson"), encoding="utf-8") as f:
        for feature in json.load(f)["features"]:
            geometry = feature["geometry"]
            lines = geometry["coordinates"] if geometry["type"] == "MultiLineString" else [geometry["coordinates"]]
            for line in lines:
                points.extend(tuple(c[:2]) for c in line)
    return points


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", required=True)
    parser.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "data"))
    args = parser.parse_args()

    rng = random.Random(args.seed)
    towns = centres(args.data)
    start = 1356998400  # 2013-01-01T00:00:00Z
    span = 11 * 365 * 86400
    with open(args.out, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["id", "occurred_at", "type", "target", "fatalities", "injuries", "description", "source",
                      "synthetic", "lon", "lat"])
        for i in range(1, args.count + 1):
            if rng.random() < 0.1:
                lon = rng.uniform(MALI[0], MALI[2])
                lat = rng.uniform(MALI[1], MALI[3])
            else:
                lon0, lat0 = rng.choice(towns)
                radius_km = abs(rng.gauss(0, 25))
                angle = rng.uniform(0, 2 * math.pi)
                lat = lat0 + radius_km / 111.32 * math.sin(angle)
                lon = lon0 + radius_km / (111.32 * math.cos(math.radians(lat0))) * math.cos(angle)
                lon = min(max(lon, MALI[0]), MALI[2])
                lat = min(max(lat, MALI[1]), MALI[3])
            t = start + rng.randrange(span)
            occurred = "%04d-%02d-%02dT%02d:%02d:%02dZ" % (
                time.gmtime(t)[:6])
            kind = rng.choices(TYPES, TYPE_WEIGHTS)[0]
            target = rng.choices(TARGETS, TARGET_WEIGHTS)[0]
            fatalities = min(int(rng.expovariate(0.8)), 40)
            injuries = min(int(rng.expovariate(0.5)), 60)
            out.writerow(["BENCH-%07d" % i, occurred, kind, target, fatalities, injuries,
                          "synthetic benchmark incident", "synthetic (scripts/bench.d/make_incidents.py)", 1,
                          "%.5f" % lon, "%.5f" % lat])


if __name__ == "__main__":
    main()
