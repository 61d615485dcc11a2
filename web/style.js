// The map style: colours, base symbols and the MapLibre layers, grouped the way the layers panel shows them.
// No basemap: everything drawn comes from the sitmap vector tiles served by this origin.

/// Incident types in the Okabe-Ito palette (safe for the common colour-vision deficiencies).
export const INCIDENT_TYPES = [
  { value: 'ied_detonated', label: 'IED detonated', color: '#D55E00' },
  { value: 'ied_neutralized', label: 'IED neutralized', color: '#009E73' },
  { value: 'direct_fire', label: 'Direct fire', color: '#E69F00' },
  { value: 'indirect_fire', label: 'Indirect fire', color: '#F0E442' },
  { value: 'ambush', label: 'Ambush', color: '#CC79A7' },
  { value: 'attack_on_civilians', label: 'Attack on civilians', color: '#000000' },
  { value: 'other', label: 'Other', color: '#56B4E9' },
];

/// Incident targets, as the filter lists them.
export const TARGETS = [
  { value: 'un_mission', label: 'UN mission' },
  { value: 'national_forces', label: 'National forces' },
  { value: 'civilians', label: 'Civilians' },
  { value: 'other', label: 'Other' },
];

/// Base kinds, told apart by shape (SVG path in a 24x24 box) as well as by size.
export const BASE_KINDS = [
  { value: 'mission_hq', label: 'Mission HQ', size: 22, path: 'M2 2h20v20H2z M8 8h8v8H8z' },
  { value: 'sector_hq', label: 'Sector HQ', size: 18, path: 'M3 3h18v18H3z' },
  { value: 'camp', label: 'Camp', size: 16, path: 'M12 2a10 10 0 1 0 0.01 0z' },
  { value: 'temporary_operating_base', label: 'Temporary operating base', size: 16, path: 'M12 2L22 21H2z' },
  { value: 'police', label: 'Police', size: 16, path: 'M12 1L23 12L12 23L1 12z' },
  { value: 'other', label: 'Other', size: 12, path: 'M12 4a8 8 0 1 0 0.01 0z' },
];

export const BASE_COLOR = '#0072B2';
export const FONT = ['Noto Sans Regular'];
export const FONT_BOLD = ['Noto Sans Bold'];

const approximate = ['==', ['to-number', ['get', 'approximate']], 1];
const exact = ['!', approximate];
const cluster = ['has', 'point_count'];
const halo = { 'text-halo-color': 'rgba(255,255,255,0.9)', 'text-halo-width': 1.4 };

function match(property, items, key, fallback) {
  return ['match', ['get', property], ...items.flatMap((i) => [i.value, i[key]]), fallback];
}

/// The layer groups of the panel: each toggles all its MapLibre layers together.
/// `interactive` layers open a popup on click.
export const GROUPS = [
  {
    id: 'regions', label: 'Regions', interactive: ['regions-fill'],
    layers: [
      { id: 'regions-fill', type: 'fill', 'source-layer': 'regions',
        paint: { 'fill-color': '#f8f7f2', 'fill-opacity': 0.92 } },
      { id: 'regions-outline', type: 'line', 'source-layer': 'regions', filter: exact,
        layout: { 'line-join': 'round' },
        paint: { 'line-color': '#4d5863', 'line-width': ['interpolate', ['linear'], ['zoom'], 4, 1.2, 10, 2.5] } },
      { id: 'regions-outline-approx', type: 'line', 'source-layer': 'regions', filter: approximate,
        paint: { 'line-color': '#4d5863', 'line-width': ['interpolate', ['linear'], ['zoom'], 4, 1.2, 10, 2.5],
          'line-dasharray': [3, 2] } },
    ],
    labels: [
      { id: 'regions-label', type: 'symbol', source: 'labels', filter: ['==', ['get', 'layer'], 'regions'], maxzoom: 9,
        layout: { 'text-field': ['upcase', ['get', 'name']], 'text-font': FONT_BOLD, 'text-letter-spacing': 0.12,
          'text-variable-anchor': ['center', 'top', 'bottom'], 'text-radial-offset': 1,
          'text-size': ['interpolate', ['linear'], ['zoom'], 4, 11, 8, 16], 'text-max-width': 8 },
        paint: { 'text-color': '#3d4852', ...halo } },
    ],
  },
  {
    id: 'cercles', label: 'Cercles', interactive: ['cercles-fill'],
    layers: [
      // Transparent fill so a click inside a cercle finds it.
      { id: 'cercles-fill', type: 'fill', 'source-layer': 'cercles', paint: { 'fill-color': '#000', 'fill-opacity': 0 } },
      { id: 'cercles-outline', type: 'line', 'source-layer': 'cercles', filter: exact,
        paint: { 'line-color': '#98a2ac', 'line-width': ['interpolate', ['linear'], ['zoom'], 4, 0.4, 10, 1.2] } },
      { id: 'cercles-outline-approx', type: 'line', 'source-layer': 'cercles', filter: approximate,
        paint: { 'line-color': '#98a2ac', 'line-width': ['interpolate', ['linear'], ['zoom'], 4, 0.4, 10, 1.2],
          'line-dasharray': [4, 3] } },
    ],
    labels: [
      { id: 'cercles-label', type: 'symbol', source: 'labels', filter: ['==', ['get', 'layer'], 'cercles'], minzoom: 6.5,
        layout: { 'text-field': ['get', 'name'], 'text-font': FONT, 'text-size': 11, 'text-max-width': 7 },
        paint: { 'text-color': '#6b7680', ...halo } },
    ],
  },
  {
    id: 'routes', label: 'Routes', interactive: ['routes-line', 'routes-line-approx'],
    layers: [
      { id: 'routes-casing', type: 'line', 'source-layer': 'routes', layout: { 'line-join': 'round', 'line-cap': 'round' },
        paint: { 'line-color': '#ffffff', 'line-width': ['interpolate', ['linear'], ['zoom'], 4, 3, 10, 7] } },
      { id: 'routes-line', type: 'line', 'source-layer': 'routes', filter: exact,
        layout: { 'line-join': 'round', 'line-cap': 'round' },
        paint: { 'line-color': '#8c6d46', 'line-width': ['interpolate', ['linear'], ['zoom'], 4, 1.6, 10, 4] } },
      { id: 'routes-line-approx', type: 'line', 'source-layer': 'routes', filter: approximate,
        paint: { 'line-color': '#8c6d46', 'line-width': ['interpolate', ['linear'], ['zoom'], 4, 1.6, 10, 4],
          'line-dasharray': [2, 1.5] } },
    ],
    labels: [
      { id: 'routes-label', type: 'symbol', 'source-layer': 'routes', minzoom: 7,
        layout: { 'symbol-placement': 'line', 'text-field': ['get', 'name'], 'text-font': FONT, 'text-size': 11 },
        paint: { 'text-color': '#6e5535', ...halo } },
    ],
  },
  {
    id: 'incidents', label: 'Incidents', interactive: ['incidents-circle', 'incidents-cluster'],
    layers: [
      // Below zoom 9 the server groups nearby incidents into clusters (cluster=true, point_count).
      { id: 'incidents-cluster', type: 'circle', 'source-layer': 'incidents', filter: cluster,
        paint: {
          'circle-color': '#5b6770', 'circle-opacity': 0.75, 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 1,
          'circle-radius': ['interpolate', ['linear'], ['to-number', ['get', 'point_count']], 2, 6, 20, 11, 100, 17],
        } },
      { id: 'incidents-cluster-count', type: 'symbol', 'source-layer': 'incidents', filter: cluster,
        layout: { 'text-field': ['to-string', ['get', 'point_count']], 'text-font': FONT_BOLD, 'text-size': 10,
          'text-allow-overlap': true },
        paint: { 'text-color': '#ffffff' } },
      { id: 'incidents-circle', type: 'circle', 'source-layer': 'incidents', filter: ['!', cluster],
        paint: {
          'circle-color': match('type', INCIDENT_TYPES, 'color', '#999999'),
          'circle-radius': ['interpolate', ['linear'], ['zoom'], 4, 2, 6, 3, 8, 4.5, 12, 7],
          'circle-stroke-color': '#ffffff', 'circle-stroke-width': ['interpolate', ['linear'], ['zoom'], 5, 0.3, 8, 0.8],
          'circle-opacity': 0.9,
        } },
    ],
    labels: [],
  },
  {
    id: 'bases', label: 'Bases', interactive: ['bases-symbol'],
    layers: [
      { id: 'bases-symbol', type: 'symbol', 'source-layer': 'bases',
        layout: {
          'icon-image': ['concat', 'base-', match('kind', BASE_KINDS, 'value', 'other')],
          'icon-size': ['interpolate', ['linear'], ['zoom'], 4, 0.9, 10, 1.3],
          'icon-allow-overlap': true, 'icon-ignore-placement': true,
          'symbol-sort-key': match('kind', BASE_KINDS.map((k, i) => ({ ...k, order: i })), 'order', 9),
          'text-field': ['get', 'name'], 'text-font': FONT, 'text-size': 11.5, 'text-optional': true,
          'text-variable-anchor': ['left', 'right', 'top', 'bottom'], 'text-radial-offset': 0.9, 'text-max-width': 10,
        },
        // Closed bases stay on the map, faded.
        paint: {
          'icon-opacity': ['case', ['>', ['length', ['to-string', ['get', 'closed']]], 0], 0.55, 1],
          'text-color': '#123a5c', ...halo,
        } },
    ],
    labels: [],
  },
];

/// The whole MapLibre style for the fonts at `origin` and the tiles of `tilejson` (the server's
/// TileJSON: tiles, zoom range, bounds, attribution).
export function buildStyle(origin, tilejson) {
  const layers = [{ id: 'background', type: 'background', paint: { 'background-color': '#dde2e6' } }];
  // Areas and routes, then incidents, then all labels, then bases: bases are placed first when
  // symbols collide, and labels stay readable over the incident dots.
  const ordered = ['regions', 'cercles', 'routes', 'incidents', 'labels', 'bases'].flatMap((id) =>
    id === 'labels' ? GROUPS.flatMap((g) => g.labels) : GROUPS.find((g) => g.id === id).layers);
  layers.push(...ordered.map((l) => ({ source: 'sitmap', ...l })));
  return {
    version: 8,
    glyphs: `${origin}/fonts/{fontstack}/{range}.pbf`,
    sources: {
      sitmap: { type: 'vector', tiles: tilejson.tiles, minzoom: tilejson.minzoom, maxzoom: tilejson.maxzoom,
        bounds: tilejson.bounds, attribution: tilejson.attribution },
      // One label point per region and cercle, filled in by app.js from the loaded tiles (labels.js).
      labels: { type: 'geojson', data: { type: 'FeatureCollection', features: [] } },
    },
    layers,
  };
}

/// Draws the base symbol of `kind` as ImageData for map.addImage (pixelRatio 2 for sharp icons).
export function baseIcon(kind) {
  const scale = 2;
  const px = kind.size * scale;
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = px + 4;
  const ctx = canvas.getContext('2d');
  ctx.translate(2, 2);
  ctx.scale(px / 24, px / 24);
  const path = new Path2D(kind.path);
  ctx.fillStyle = BASE_COLOR;
  ctx.strokeStyle = '#ffffff';
  ctx.lineWidth = 2.2;
  ctx.fill(path, 'evenodd');
  ctx.stroke(path);
  return ctx.getImageData(0, 0, canvas.width, canvas.height);
}

/// The same base symbol as inline SVG, for the legend.
export function baseIconSvg(kind) {
  const s = kind.size;
  return `<svg width="${s}" height="${s}" viewBox="-1 -1 26 26" aria-hidden="true">` +
    `<path d="${kind.path}" fill="${BASE_COLOR}" fill-rule="evenodd" stroke="#fff" stroke-width="2"/></svg>`;
}
