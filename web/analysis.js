// The analysis section of the panel: areas shaded by their incident count (choropleth per cercle
// or region, from GET /stats/incidents; the counts go into the fill colour's expression), a chart of incidents per month by type, coverage by the
// bases, and a route picker for the route risk profile (the keyboard's way to what a click on a
// route does). Everything follows the current filters.
import { INCIDENT_TYPES } from './style.js';
import { classBreaks, classExpression, classLegend, barChart, ZERO_COLOR } from './chart.js';
import { Coverage } from './coverage.js';
import { escapeHtml, fetchJson, withParams } from './util.js';

const UNITS = ['cercle', 'region'];

/// 'YYYY-MM' one month after `month`.
function nextMonth(month) {
  const [year, m] = month.split('-').map(Number);
  return new Date(Date.UTC(year, m, 1)).toISOString().slice(0, 7);
}

/// The analysis tools in `details` (a details element of the panel). `state.shade` is '' | 'cercle' |
/// 'region'; onShade() is called after it changed (to update the URL). Returns { refresh() }.
export function buildAnalysis(map, details, state, filterQuery, routeRisk, onShade) {
  const body = details.querySelector('div');
  body.innerHTML = `
    <label class="row">Shade areas by incidents
      <select id="choropleth-by" aria-label="Shade areas by incidents">
        <option value="">no shading</option><option value="cercle">per cercle</option><option value="region">per region</option>
      </select></label>
    <ul class="classes" id="choropleth-legend" aria-label="Incidents per area" hidden></ul>
    <h3>Incidents per month by type</h3>
    <div id="month-chart" aria-live="polite"></div>
    <h3>Coverage by the bases</h3>
    <div id="coverage-tool"></div>
    <h3>Route risk</h3>
    <select id="route-pick" aria-label="Show the risk profile of a route"><option value="">Pick a route…</option></select>`;
  const select = body.querySelector('#choropleth-by');
  const legend = body.querySelector('#choropleth-legend');
  const chart = body.querySelector('#month-chart');
  const routes = body.querySelector('#route-pick');
  const coverage = new Coverage(map, body.querySelector('#coverage-tool'), filterQuery);
  select.value = state.shade;

  map.on('load', () => {
    for (const unit of UNITS) {
      map.addLayer({ id: `choropleth-${unit}s`, type: 'fill', source: 'sitmap', 'source-layer': `${unit}s`,
        layout: { visibility: 'none' }, paint: { 'fill-color': ZERO_COLOR, 'fill-opacity': 0.8 } }, 'cercles-outline');
    }
    shade();
  });

  let shadeTicket = 0;
  async function shade() {
    const unit = state.shade;
    for (const u of UNITS) map.setLayoutProperty(`choropleth-${u}s`, 'visibility', u === unit ? 'visible' : 'none');
    legend.hidden = !unit;
    if (!unit) return;
    const ticket = ++shadeTicket;
    const answer = await fetchJson(withParams(`/stats/incidents${filterQuery()}`, `group_by=${unit}`));
    if (ticket !== shadeTicket) return;
    // Each area's count, by its id, in the style itself: ['match', ['get', 'id'], id1, n1, ..., 0].
    const rows = answer.rows.filter((row) => row[`${unit}_id`]);
    const count = rows.length ? ['match', ['get', 'id'], ...rows.flatMap((row) => [row[`${unit}_id`], row.count]), 0] : 0;
    const breaks = classBreaks(rows.map((row) => row.count));
    map.setPaintProperty(`choropleth-${unit}s`, 'fill-color', classExpression(count, breaks));
    legend.innerHTML = classLegend(breaks);
    legend.dataset.unit = unit;
  }

  let chartTicket = 0;
  async function drawChart() {
    if (!details.open) return; // drawn when the section is opened: the first view stays light
    const ticket = ++chartTicket;
    const answer = await fetchJson(withParams(`/stats/incidents${filterQuery()}`, 'group_by=month,type'));
    if (ticket !== chartTicket) return;
    const counts = new Map(); // month -> Map(type -> count)
    for (const row of answer.rows) {
      if (!counts.has(row.month)) counts.set(row.month, new Map());
      counts.get(row.month).set(row.type, row.count);
    }
    const months = [...counts.keys()].sort();
    const all = [];
    for (let m = months[0]; months.length && m <= months.at(-1); m = nextMonth(m)) all.push(m);
    const bars = all.map((month) => {
      const byType = counts.get(month) ?? new Map();
      const total = [...byType.values()].reduce((a, b) => a + b, 0);
      return {
        title: `${month}: ${total} incidents${INCIDENT_TYPES.filter((t) => byType.get(t.value))
          .map((t) => `\n${t.label}: ${byType.get(t.value)}`).join('')}`,
        parts: INCIDENT_TYPES.map((t) => ({ value: byType.get(t.value) ?? 0, color: t.color,
          data: { month, type: t.value, count: byType.get(t.value) ?? 0 } })),
      };
    });
    chart.innerHTML = all.length ? barChart(bars, { first: all[0], last: all.at(-1), label: 'Incidents per month by type' })
      : '<p>No incident matches the filters.</p>';
  }

  let routesLoaded = false;
  async function loadRoutes() {
    if (routesLoaded || !details.open) return;
    routesLoaded = true;
    const answer = await fetchJson('/collections/routes/items?limit=10000');
    routes.insertAdjacentHTML('beforeend', answer.features.map((f) =>
      `<option value="${escapeHtml(f.id)}">${escapeHtml(f.properties.name)}</option>`).join(''));
  }

  select.addEventListener('change', () => {
    state.shade = select.value;
    onShade();
    shade();
  });
  routes.addEventListener('change', () => {
    if (routes.value) routeRisk.show({ id: routes.value, name: routes.selectedOptions[0].textContent });
  });
  details.addEventListener('toggle', () => { drawChart(); loadRoutes(); });

  return {
    /// Redraws what is shown for the current filters (after they or the data changed).
    refresh() {
      if (state.shade) shade();
      drawChart();
      coverage.refresh();
    },
  };
}
