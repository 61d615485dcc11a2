// Near a base: the ring of a radius around a base, the incidents inside (from the server's
// near_base query, which measures geodesic distances on WGS84) highlighted on the map and listed
// in a sortable table with counts by type, and the list exported as GeoJSON or CSV.
import { INCIDENT_TYPES } from './style.js';
import { escapeHtml, fetchJson, download } from './util.js';

/// The radii offered in a base's popup, km.
export const RADII_KM = [5, 10, 25, 50];

const EARTH_RADIUS_KM = 6371.0088; // mean radius: the ring is drawn on the sphere, close enough to see

/// A closed ring of `steps` points at `radiusKm` around [lon, lat] (great-circle destinations), as a
/// GeoJSON Polygon.
export function circle([lon, lat], radiusKm, steps = 128) {
  const rad = Math.PI / 180;
  const d = radiusKm / EARTH_RADIUS_KM;
  const phi = lat * rad;
  const ring = [];
  for (let i = 0; i <= steps; i++) {
    const bearing = (2 * Math.PI * i) / steps;
    const phi2 = Math.asin(Math.sin(phi) * Math.cos(d) + Math.cos(phi) * Math.sin(d) * Math.cos(bearing));
    const lambda2 = lon * rad + Math.atan2(Math.sin(bearing) * Math.sin(d) * Math.cos(phi),
      Math.cos(d) - Math.sin(phi) * Math.sin(phi2));
    ring.push([lambda2 / rad, phi2 / rad]);
  }
  ring[steps] = ring[0];
  return { type: 'Polygon', coordinates: [ring] };
}

const typeLabel = (value) => INCIDENT_TYPES.find((t) => t.value === value)?.label ?? value;
const SORTS = {
  date: (a, b) => a.properties.occurred_at.localeCompare(b.properties.occurred_at),
  distance: (a, b) => a.properties.distance_km - b.properties.distance_km,
  type: (a, b) => typeLabel(a.properties.type).localeCompare(typeLabel(b.properties.type)) ||
    a.properties.distance_km - b.properties.distance_km,
};
const CSV_COLUMNS = ['id', 'occurred_at', 'type', 'target', 'fatalities', 'injuries', 'distance_km', 'lon', 'lat', 'description'];

/// The incidents as CSV (RFC 4180: fields with commas, quotes or line breaks are quoted).
export function toCsv(features) {
  const field = (value) => {
    const text = value === null || value === undefined ? '' : String(value);
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  const rows = features.map((f) => {
    const values = { ...f.properties, id: f.id, lon: f.geometry.coordinates[0], lat: f.geometry.coordinates[1] };
    return CSV_COLUMNS.map((c) => field(values[c])).join(',');
  });
  return `${[CSV_COLUMNS.join(','), ...rows].join('\r\n')}\r\n`;
}

/// The near-base analysis, drawn on `map` and listed in `panel` (a section element).
export class NearBase {
  constructor(map, panel, filterQuery) {
    this.map = map;
    this.panel = panel;
    this.filterQuery = filterQuery;
    this.base = null;
    this.features = [];
    this.sort = { key: 'distance', ascending: true };
    map.on('load', () => {
      map.addSource('near', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
      map.addSource('near-incidents', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
      map.addLayer({ id: 'near-ring-fill', type: 'fill', source: 'near', paint: { 'fill-color': '#0072B2', 'fill-opacity': 0.07 } }, 'bases-symbol');
      map.addLayer({ id: 'near-ring', type: 'line', source: 'near',
        paint: { 'line-color': '#0072B2', 'line-width': 2, 'line-dasharray': [4, 2] } }, 'bases-symbol');
      map.addLayer({ id: 'near-incidents', type: 'circle', source: 'near-incidents',
        paint: { 'circle-radius': 7, 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': '#0072B2', 'circle-stroke-width': 2.5 } },
      'bases-symbol');
    });
    panel.addEventListener('click', (event) => this.onClick(event));
  }

  /// Shows the incidents within `radiusKm` of `base` ({ id, name, position: [lon, lat] }) for the current filters.
  async show(base, radiusKm) {
    this.base = { ...base, radiusKm };
    await this.refresh();
    this.map.fitBounds(this.ringBounds(), { padding: 60, maxZoom: 12 });
  }

  /// Asks the server again (after the filters changed).
  async refresh() {
    if (!this.base) return;
    const { id, radiusKm, position } = this.base;
    const query = this.filterQuery();
    const ticket = (this.ticket = (this.ticket ?? 0) + 1);
    const answer = await fetchJson(`/collections/incidents/items${query || '?'}${query ? '&' : ''}` +
      `near_base=${encodeURIComponent(id)}&radius_km=${radiusKm}&limit=10000`);
    if (ticket !== this.ticket) return;
    this.features = answer.features;
    this.matched = answer.numberMatched;
    this.ring = circle(position, radiusKm);
    this.map.getSource('near').setData({ type: 'Feature', properties: {}, geometry: this.ring });
    this.map.getSource('near-incidents').setData({ type: 'FeatureCollection', features: this.features });
    this.render();
  }

  clear() {
    this.base = null;
    this.features = [];
    this.map.getSource('near').setData({ type: 'FeatureCollection', features: [] });
    this.map.getSource('near-incidents').setData({ type: 'FeatureCollection', features: [] });
    this.panel.hidden = true;
  }

  ringBounds() {
    const ring = this.ring.coordinates[0];
    const lons = ring.map((p) => p[0]);
    const lats = ring.map((p) => p[1]);
    return [Math.min(...lons), Math.min(...lats), Math.max(...lons), Math.max(...lats)];
  }

  sorted() {
    const compare = SORTS[this.sort.key];
    return [...this.features].sort((a, b) => (this.sort.ascending ? compare(a, b) : compare(b, a)));
  }

  render() {
    const counts = new Map();
    for (const f of this.features) counts.set(f.properties.type, (counts.get(f.properties.type) ?? 0) + 1);
    const header = (key, label) => {
      const current = this.sort.key === key;
      const order = current ? (this.sort.ascending ? 'ascending' : 'descending') : 'none';
      return `<th aria-sort="${order}"><button type="button" data-sort="${key}">${label}${current ? (this.sort.ascending ? ' ▲' : ' ▼') : ''}</button></th>`;
    };
    const truncated = this.matched > this.features.length ? ` (first ${this.features.length} listed)` : '';
    this.panel.hidden = false;
    this.panel.innerHTML = `
      <h2>Within ${this.base.radiusKm} km of ${escapeHtml(this.base.name)}</h2>
      <p><output id="near-count">${this.matched}</output> incidents${truncated}
        <button type="button" data-action="csv">Export CSV</button>
        <button type="button" data-action="geojson">Export GeoJSON</button>
        <button type="button" data-action="close" aria-label="Close the near-base list">✕</button></p>
      <ul class="counts">${[...counts].sort((a, b) => b[1] - a[1]).map(([type, n]) =>
        `<li data-type="${escapeHtml(type)}"><span class="dot" style="background:${INCIDENT_TYPES.find((t) => t.value === type)?.color ?? '#999'}"></span>${escapeHtml(typeLabel(type))}: ${n}</li>`).join('')}</ul>
      <div class="table-wrap"><table id="near-table">
        <thead><tr>${header('date', 'Date')}${header('distance', 'km')}${header('type', 'Type')}</tr></thead>
        <tbody>${this.sorted().map((f) => `<tr data-id="${escapeHtml(f.id)}"><td>${f.properties.occurred_at.slice(0, 10)}</td>` +
          `<td class="num">${f.properties.distance_km.toFixed(2)}</td><td>${escapeHtml(typeLabel(f.properties.type))}</td></tr>`).join('')}</tbody>
      </table></div>`;
  }

  onClick(event) {
    const button = event.target.closest('button');
    if (!button) return;
    const name = `incidents-near-${this.base.id}-${this.base.radiusKm}km`;
    if (button.dataset.sort) {
      const key = button.dataset.sort;
      this.sort = { key, ascending: this.sort.key === key ? !this.sort.ascending : true };
      this.render();
      this.panel.querySelector(`button[data-sort="${key}"]`).focus();
    } else if (button.dataset.action === 'csv') {
      download(`${name}.csv`, toCsv(this.sorted()), 'text/csv');
    } else if (button.dataset.action === 'geojson') {
      download(`${name}.geojson`, JSON.stringify({ type: 'FeatureCollection', features: this.sorted() }), 'application/geo+json');
    } else if (button.dataset.action === 'close') {
      this.clear();
    }
  }
}
