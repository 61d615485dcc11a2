// Coverage by the bases: a ring of a chosen radius around every base open during the filtered
// period, and the incidents beyond every ring highlighted (the server's GET /stats/coverage, which
// counts an incident as covered when a base open on its day is within the radius).
import { circle } from './nearbase.js';
import { fetchJson, withParams } from './util.js';

/// The radii offered, km.
export const COVERAGE_KM = [10, 25, 50, 100];

const EMPTY = { type: 'FeatureCollection', features: [] };

/// Whether a base (GeoJSON properties with opened/closed 'YYYY-MM-DD' or empty) was open at some time
/// between `from` and `to` ('YYYY-MM-DD' or '' for an open end).
export function openDuring(base, from, to) {
  return (!base.opened || !to || base.opened <= to) && (!base.closed || !from || base.closed >= from);
}

/// The coverage analysis, drawn on `map`, with its controls and summary in `element`.
export class Coverage {
  constructor(map, element, filterQuery) {
    this.map = map;
    this.filterQuery = filterQuery;
    this.radiusKm = 0;
    element.innerHTML = `<form id="coverage" aria-label="Coverage by the bases">
      <label>Rings of <select name="radius" aria-label="Coverage radius">${COVERAGE_KM.map((km) =>
        `<option value="${km}" ${km === 50 ? 'selected' : ''}>${km} km</option>`).join('')}</select></label>
      <button type="submit">Show coverage</button> <button type="button" data-action="clear">Clear</button>
      <output id="coverage-summary" aria-live="polite"></output></form>`;
    this.form = element.querySelector('form');
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.radiusKm = Number(this.form.elements.radius.value);
      this.refresh();
    });
    this.form.querySelector('[data-action="clear"]').addEventListener('click', () => this.clear());
    map.on('load', () => {
      map.addSource('coverage-rings', { type: 'geojson', data: EMPTY });
      map.addSource('coverage-beyond', { type: 'geojson', data: EMPTY });
      map.addLayer({ id: 'coverage-ring-fill', type: 'fill', source: 'coverage-rings',
        paint: { 'fill-color': '#009E73', 'fill-opacity': 0.08 } }, 'bases-symbol');
      map.addLayer({ id: 'coverage-ring', type: 'line', source: 'coverage-rings',
        paint: { 'line-color': '#00795a', 'line-width': 1.5 } }, 'bases-symbol');
      map.addLayer({ id: 'coverage-beyond', type: 'circle', source: 'coverage-beyond',
        paint: { 'circle-radius': ['interpolate', ['linear'], ['zoom'], 4, 3.5, 10, 8], 'circle-color': 'rgba(0,0,0,0)',
          'circle-stroke-color': '#7a0177', 'circle-stroke-width': 1.8 } }, 'bases-symbol');
    });
  }

  /// Asks the server again (after the radius, the filters or the data changed).
  async refresh() {
    if (!this.radiusKm) return;
    const query = this.filterQuery();
    const ticket = (this.ticket = (this.ticket ?? 0) + 1);
    // The bases are asked for every time too (a few dozen): a change may have opened or closed one.
    const [bases, answer] = await Promise.all([
      fetchJson('/collections/bases/items?limit=10000').then((collection) => collection.features),
      fetchJson(withParams(`/stats/coverage${query}`, `radius_km=${this.radiusKm}&limit=10000`))]);
    if (ticket !== this.ticket) return;
    const params = new URLSearchParams(query);
    const open = bases.filter((b) => openDuring(b.properties, params.get('from') ?? '', params.get('to') ?? ''));
    this.map.getSource('coverage-rings').setData({ type: 'FeatureCollection', features: open.map((b) =>
      ({ type: 'Feature', id: b.id, properties: { name: b.properties.name }, geometry: circle(b.geometry.coordinates, this.radiusKm) })) });
    this.map.getSource('coverage-beyond').setData(answer.uncovered);
    const share = answer.incidents ? ((100 * answer.beyond) / answer.incidents).toFixed(1) : '0';
    const drawn = answer.uncovered.numberReturned < answer.beyond ? ` (first ${answer.uncovered.numberReturned} circled)` : '';
    const summary = this.form.querySelector('output');
    summary.dataset.beyond = answer.beyond;
    summary.dataset.bases = open.length;
    summary.value = `${answer.beyond.toLocaleString('en')} of ${answer.incidents.toLocaleString('en')} incidents ` +
      `(${share} %) beyond ${this.radiusKm} km of the ${open.length} bases open in the period${drawn}, circled in purple.`;
  }

  clear() {
    this.radiusKm = 0;
    this.map.getSource('coverage-rings').setData(EMPTY);
    this.map.getSource('coverage-beyond').setData(EMPTY);
    this.form.querySelector('output').value = '';
  }
}
