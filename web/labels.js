// One label per region and cercle. Vector tiles cut a polygon at tile edges, and a symbol layer on
// the tiles would label every piece ("KIDAL" twice across a tile edge). Instead, after the tiles
// load, the largest loaded piece of each area gets one label point in a small GeoJSON source.

/// Label points for the polygons of `sourceLayer` in the loaded tiles of `source`, as GeoJSON features
/// with properties { layer, id, name }.
export function labelPoints(map, source, sourceLayer) {
  const best = new Map(); // area id -> { area, ring, name }
  for (const feature of map.querySourceFeatures(source, { sourceLayer })) {
    const id = feature.properties.id ?? feature.id;
    const polygons = feature.geometry.type === 'Polygon' ? [feature.geometry.coordinates] : feature.geometry.coordinates;
    for (const [ring] of polygons) {
      const area = Math.abs(ringArea(ring));
      if (!best.has(id) || best.get(id).area < area) best.set(id, { area, ring, name: feature.properties.name });
    }
  }
  return [...best].map(([id, { ring, name }]) => ({
    type: 'Feature',
    properties: { layer: sourceLayer, id, name },
    geometry: { type: 'Point', coordinates: insidePoint(ring) },
  }));
}

function ringArea(ring) {
  let sum = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) sum += (ring[j][0] - ring[i][0]) * (ring[j][1] + ring[i][1]);
  return sum / 2;
}

/// A point inside the ring: the middle of the widest stretch of the horizontal line through the
/// ring's vertical centre (a centroid can fall outside a concave ring).
function insidePoint(ring) {
  const ys = ring.map((p) => p[1]);
  const y = (Math.min(...ys) + Math.max(...ys)) / 2;
  const xs = [];
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [x1, y1] = ring[j];
    const [x2, y2] = ring[i];
    if ((y1 > y) !== (y2 > y)) xs.push(x1 + ((y - y1) / (y2 - y1)) * (x2 - x1));
  }
  xs.sort((a, b) => a - b);
  let best = [ring[0][0], ring[0][0]];
  for (let i = 0; i + 1 < xs.length; i += 2) {
    if (xs[i + 1] - xs[i] > best[1] - best[0]) best = [xs[i], xs[i + 1]];
  }
  return [(best[0] + best[1]) / 2, y];
}
