// Route risk: a supply route cut into stretches of a few km, each coloured by the incidents of the
// current filters within 5 km of it (the server's GET /routes/{id}/profile), with a profile chart
// of the counts along the route.
import { INCIDENT_TYPES } from './style.js';
import { classBreaks, classColor, classExpression, classLegend, barChart, LINE_COLORS, ZERO_COLOR } from './chart.js';
import { escapeHtml, fetchJson, withParams } from './util.js';

/// The stretch lengths offered, km.
export const SEGMENT_KM = [5, 10, 25];

const EMPTY = { type: 'FeatureCollection', features: [] };

/// The route risk profile, drawn on `map` and charted in `panel` (a section element).
export class RouteRisk {
  constructor(map, panel, filterQuery) {
    this.map = map;
    this.panel = panel;
    this.filterQuery = filterQuery;
    this.route = null;
    this.segmentKm = 10;
    map.on('load', () => {
      map.addSource('route-risk', { type: 'geojson', data: EMPTY });
      map.addLayer({ id: 'route-risk-casing', type: 'line', source: 'route-risk', layout: { 'line-cap': 'round' },
        paint: { 'line-color': '#1f2a33', 'line-width': ['interpolate', ['linear'], ['zoom'], 4, 6, 10, 11] } }, 'bases-symbol');
      map.addLayer({ id: 'route-risk-line', type: 'line', source: 'route-risk', layout: { 'line-cap': 'round' },
        paint: { 'line-color': ZERO_COLOR, 'line-width': ['interpolate', ['linear'], ['zoom'], 4, 4, 10, 8] } }, 'bases-symbol');
    });
    panel.addEventListener('click', (event) => {
      if (event.target.closest('button[data-action="close"]')) this.clear();
    });
    panel.addEventListener('change', (event) => {
      if (event.target.name !== 'segment-km') return;
      this.segmentKm = Number(event.target.value);
      this.refresh();
    });
  }

  /// Shows the profile of `route` ({ id, name }) for the current filters and frames it.
  async show(route) {
    this.route = route;
    await this.refresh();
    const box = [Infinity, Infinity, -Infinity, -Infinity];
    for (const f of this.segments) {
      for (const [lon, lat] of f.geometry.coordinates.flat()) {
        box[0] = Math.min(box[0], lon); box[1] = Math.min(box[1], lat);
        box[2] = Math.max(box[2], lon); box[3] = Math.max(box[3], lat);
      }
    }
    if (this.segments.length) this.map.fitBounds(box, { padding: 60, maxZoom: 10 });
  }

  /// Asks the server again (after the filters or the data changed).
  async refresh() {
    if (!this.route) return;
    const ticket = (this.ticket = (this.ticket ?? 0) + 1);
    const answer = await fetchJson(withParams(`/routes/${encodeURIComponent(this.route.id)}/profile${this.filterQuery()}`,
      `segment_km=${this.segmentKm}&f=geojson`));
    if (ticket !== this.ticket) return;
    this.segments = answer.features;
    this.breaks = classBreaks(this.segments.map((f) => f.properties.count));
    this.map.getSource('route-risk').setData(answer);
    this.map.setPaintProperty('route-risk-line', 'line-color', classExpression(['get', 'count'], this.breaks, LINE_COLORS));
    this.render();
  }

  clear() {
    this.route = null;
    this.map.getSource('route-risk').setData(EMPTY);
    this.panel.hidden = true;
  }

  render() {
    const total = this.segments.reduce((sum, f) => sum + f.properties.count, 0);
    const length = this.segments.at(-1)?.properties.end_km ?? 0;
    const bars = this.segments.map(({ properties: p }) => ({
      title: `km ${p.start_km}–${p.end_km}: ${p.count} incidents` + Object.entries(p.by_type)
        .map(([type, n]) => `\n${INCIDENT_TYPES.find((t) => t.value === type)?.label ?? type}: ${n}`).join(''),
      parts: [{ value: p.count, color: classColor(p.count, this.breaks, LINE_COLORS), data: { segment: p.index, count: p.count } }],
    }));
    this.panel.hidden = false;
    this.panel.innerHTML = `
      <h2>Route risk: ${escapeHtml(this.route.name)}</h2>
      <p><output id="route-risk-total">${total}</output> incidents within 5 km along ${length.toFixed(0)} km
        <button type="button" data-action="close" aria-label="Close the route risk profile">✕</button></p>
      <label>Stretches of <select name="segment-km" aria-label="Stretch length">${SEGMENT_KM.map((km) =>
        `<option value="${km}" ${km === this.segmentKm ? 'selected' : ''}>${km} km</option>`).join('')}</select></label>
      ${barChart(bars, { first: '0 km', last: `${length.toFixed(0)} km`, label: 'Incidents per stretch along the route' })}
      <ul class="classes" aria-label="Incidents per stretch">${classLegend(this.breaks, LINE_COLORS)}</ul>`;
  }
}
