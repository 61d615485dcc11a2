// The sitmap web map: one MapLibre map over Mali, the filters, the layers panel with the legend,
// popups, search, coordinates, the near-base analysis, route risk, the analysis section, exports,
// and live updates from the server's change events.
// MapLibre is loaded as a classic script (window.maplibregl) from /vendor/maplibre-gl/.
import { GROUPS, INCIDENT_TYPES, BASE_KINDS, TARGETS, buildStyle, baseIcon, baseIconSvg } from './style.js';
import { labelPoints } from './labels.js';
import { readState, writeState, filterQuery, buildFilters } from './filters.js';
import { enableCoordinates, enableSearch } from './tools.js';
import { NearBase, RADII_KM } from './nearbase.js';
import { buildExports } from './export.js';
import { RouteRisk } from './routerisk.js';
import { buildAnalysis } from './analysis.js';
import { subscribeChanges } from './live.js';
import { transformRequest, askForToken } from './auth.js';
import { escapeHtml, fetchJson, withParams } from './util.js';

const maplibregl = window.maplibregl;
const state = readState();

// The TileJSON is fetched here rather than by MapLibre so that a server asking for a token gets
// one (fetchJson shows the token dialog) before the map starts.
const tilejson = await fetchJson(`/tiles.json${filterQuery(state)}`);
const tileBase = tilejson.tiles[0].split('?')[0];
let tileVersion = 0; // bumped by a change event, so the browser cannot answer from its cache
const tileUrl = () => (tileVersion ? withParams(filterQuery(state), `v=${tileVersion}`) : filterQuery(state));

const map = new maplibregl.Map({
  container: 'map',
  style: buildStyle(location.origin, { ...tilejson, tiles: [`${tileBase}${tileUrl()}`] }),
  transformRequest,
  // Mali in the part of the screen the panel leaves free (beside it on a wide screen; on a narrow
  // one the panel is a sheet below the map).
  center: matchMedia('(max-width: 820px)').matches ? [-4, 17] : [-9, 17.5],
  zoom: 5,
  minZoom: 3,
  maxZoom: 16,
  hash: true,
  attributionControl: { compact: true },
  canvasContextAttributes: { preserveDrawingBuffer: true }, // for the PNG export
});
window.map = map; // for the console and the end-to-end tests

// A tile refused for want of a token: ask for one and load the tiles again. Other errors are
// logged as MapLibre logs them when nobody listens.
map.on('error', (event) => {
  if (event.error?.status === 401) askForToken().then(reloadTiles, () => {});
  else console.error(event.error);
});

map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-right');
for (const kind of BASE_KINDS) map.addImage(`base-${kind.value}`, baseIcon(kind), { pixelRatio: 2 });

// Area labels follow the loaded tiles; setData only when they changed, as it triggers another idle.
let labels = '';
map.on('idle', () => {
  const features = ['regions', 'cercles'].flatMap((layer) => labelPoints(map, 'sitmap', layer));
  const json = JSON.stringify(features);
  if (json !== labels) {
    labels = json;
    map.getSource('labels').setData({ type: 'FeatureCollection', features });
  }
});

const currentQuery = () => filterQuery(state);
const nearBase = new NearBase(map, document.getElementById('near'), currentQuery);
const routeRisk = new RouteRisk(map, document.getElementById('route-risk'), currentQuery);
const analysis = buildAnalysis(map, document.getElementById('analysis'), state, currentQuery, routeRisk, () => writeState(state));

// --- filters and live updates ------------------------------------------------------------------

function reloadTiles() {
  map.getSource('sitmap')?.setTiles([`${tileBase}${tileUrl()}`]);
}

/// Points the tiles, the count and every open list or analysis at the current filters and data.
function refreshAll() {
  reloadTiles();
  showCount(filterQuery(state));
  nearBase.refresh();
  routeRisk.refresh();
  analysis.refresh();
}

function applyFilters() {
  writeState(state);
  refreshAll();
}

// Every layer is in the one tile source, so any change reloads its tiles (MapLibre keeps showing
// the old tiles until the new ones arrive); changes a moment apart reload once. Subscribed once the
// first view is in, so the stream does not compete with it.
let reload = null;
const onChange = () => {
  clearTimeout(reload);
  reload = setTimeout(() => {
    tileVersion++;
    refreshAll();
  }, 150);
};
map.once('idle', () => setTimeout(() => subscribeChanges(onChange,
  (connected) => { document.getElementById('live').hidden = !connected; }), 1000));

let countRequest = 0;
async function showCount(query) {
  const output = document.getElementById('incident-count');
  const ticket = ++countRequest; // a slow answer must not overwrite a newer one
  const answer = await fetchJson(withParams(`/collections/incidents/items${query}`, 'limit=1'));
  if (ticket !== countRequest) return;
  output.value = `${answer.numberMatched.toLocaleString('en')} incidents match`;
  output.dataset.count = answer.numberMatched;
}


// --- layers panel and legend ------------------------------------------------------------------

function buildPanel(form) {
  for (const group of GROUPS) {
    const section = document.createElement('fieldset');
    section.className = 'group';
    section.innerHTML = `
      <label class="toggle">
        <input type="checkbox" id="toggle-${group.id}" data-group="${group.id}" ${state.hidden.includes(group.id) ? '' : 'checked'}>
        <span>${group.label}</span>
      </label>
      <ul class="legend">${legendItems(group.id).join('')}</ul>`;
    form.append(section);
  }
  form.addEventListener('change', (event) => {
    const box = event.target;
    const group = GROUPS.find((g) => g.id === box.dataset.group);
    if (!group) return;
    setGroupVisible(group, box.checked);
    state.hidden = GROUPS.filter((g) => !form.querySelector(`#toggle-${g.id}`).checked).map((g) => g.id);
    writeState(state);
  });
  map.once('load', () => {
    for (const group of GROUPS) if (state.hidden.includes(group.id)) setGroupVisible(group, false);
  });
}

function setGroupVisible(group, visible) {
  for (const layer of [...group.layers, ...group.labels]) {
    map.setLayoutProperty(layer.id, 'visibility', visible ? 'visible' : 'none');
  }
}

function legendItems(groupId) {
  const line = (color, width, dash = '') =>
    `<svg width="26" height="10" aria-hidden="true"><line x1="1" y1="5" x2="25" y2="5" stroke="${color}" ` +
    `stroke-width="${width}" stroke-dasharray="${dash}" stroke-linecap="round"/></svg>`;
  switch (groupId) {
    case 'regions': return [`<li>${line('#4d5863', 2)}Region boundary</li>`];
    case 'cercles': return [`<li>${line('#98a2ac', 1.2)}Cercle boundary</li>`];
    case 'routes': return [`<li>${line('#8c6d46', 3)}Route</li>`];
    case 'incidents':
      return INCIDENT_TYPES.map((t) =>
        `<li><span class="dot" style="background:${t.color}"></span>${t.label}</li>`);
    case 'bases':
      return [...BASE_KINDS.map((k) => `<li><span class="icon">${baseIconSvg(k)}</span>${k.label}</li>`),
        `<li><span class="icon closed">${baseIconSvg(BASE_KINDS[2])}</span>Closed (faded)</li>`];
    default: return [];
  }
}

// --- popups ----------------------------------------------------------------------------------

// Topmost first: a click on a base near an incident opens the base.
const POPUP_ORDER = ['bases', 'incidents', 'routes', 'cercles', 'regions'];
const TITLES = {
  bases: (p) => p.name,
  incidents: (p) => INCIDENT_TYPES.find((t) => t.value === p.type)?.label ?? p.type,
  routes: (p) => p.name,
  cercles: (p) => `Cercle of ${p.name}`,
  regions: (p) => `Region of ${p.name}`,
};

function enablePopups() {
  const groups = POPUP_ORDER.map((id) => GROUPS.find((g) => g.id === id));
  const layerIds = groups.flatMap((g) => g.interactive);
  // closeOnClick off: the click handler below replaces or removes the popup itself.
  const popup = new maplibregl.Popup({ maxWidth: '320px', className: 'sitmap-popup', closeOnClick: false });

  const featuresAt = (point) => {
    const tolerance = 5; // pixels around the pointer, so small symbols are easy to hit
    const box = [[point.x - tolerance, point.y - tolerance], [point.x + tolerance, point.y + tolerance]];
    const visible = layerIds.filter((id) => map.getLayoutProperty(id, 'visibility') !== 'none');
    return map.queryRenderedFeatures(box, { layers: visible });
  };

  map.on('click', (event) => {
    const features = featuresAt(event.point);
    const group = groups.find((g) => features.some((f) => g.interactive.includes(f.layer.id)));
    if (!group) { popup.remove(); return; }
    const feature = features.find((f) => group.interactive.includes(f.layer.id));
    if (feature.layer.id === 'incidents-cluster') { // a cluster: look closer
      popup.remove();
      map.easeTo({ center: feature.geometry.coordinates, zoom: Math.min(map.getZoom() + 2, 9) });
      return;
    }
    const sections = [describe(group.id, feature.properties)];
    if (group.id === 'bases') sections.push(nearBaseForm());
    if (group.id === 'incidents') sections.push('<p class="nearest" aria-live="polite">Nearest base: …</p>');
    // An area click shows the cercle together with its region.
    if (group.id === 'cercles') {
      const region = features.find((f) => f.layer.id === 'regions-fill');
      if (region) sections.push(describe('regions', region.properties));
    }
    const anchor = feature.geometry.type === 'Point' ? feature.geometry.coordinates : event.lngLat;
    popup.setLngLat(anchor).setHTML(sections.join('')).addTo(map);
    const element = popup.getElement();
    if (group.id === 'bases') {
      const base = { id: feature.properties.id ?? feature.id, name: feature.properties.name, position: anchor };
      const form = element.querySelector('form.near-form');
      form.addEventListener('click', (click) => {
        const radius = Number(click.target.dataset.radius);
        if (radius) nearBase.show(base, radius);
      });
      form.addEventListener('submit', (submit) => {
        submit.preventDefault();
        const radius = Number(form.elements.radius.value);
        if (radius > 0) nearBase.show(base, radius);
      });
    }
    if (group.id === 'incidents') showNearestBase(anchor, element.querySelector('.nearest'));
    if (group.id === 'routes') routeRisk.show({ id: feature.properties.id ?? feature.id, name: feature.properties.name });
  });

  map.on('mousemove', (event) => {
    const hit = featuresAt(event.point).some((f) => !f.layer.id.endsWith('-fill'));
    map.getCanvas().style.cursor = hit ? 'pointer' : '';
  });
}

function nearBaseForm() {
  return `<form class="near-form" aria-label="Incidents near this base"><h3>Incidents within</h3>
    ${RADII_KM.map((r) => `<button type="button" data-radius="${r}">${r} km</button>`).join('')}
    <label><input name="radius" type="number" min="0.1" max="500" step="any" placeholder="km" aria-label="Radius in km">
    <button type="submit">Show</button></label></form>`;
}

async function showNearestBase([lon, lat], element) {
  try {
    const answer = await fetchJson(`/collections/bases/items?nearest_to=${lon},${lat}&k=1`);
    const base = answer.features[0];
    element.textContent = base ? `Nearest base: ${base.properties.name}, ${base.properties.distance_km.toFixed(1)} km` : '';
  } catch {
    element.textContent = '';
  }
}

function describe(groupId, properties) {
  const rows = Object.entries(properties)
    .filter(([, value]) => value !== '' && value !== null && value !== undefined)
    .map(([key, value]) => `<tr><th>${escapeHtml(key.replaceAll('_', ' '))}</th><td>${escapeHtml(format(key, value))}</td></tr>`);
  return `<section><h2>${escapeHtml(TITLES[groupId](properties))}</h2><table>${rows.join('')}</table></section>`;
}

function format(key, value) {
  if (key === 'approximate' || key === 'synthetic') return Number(value) === 1 ? 'yes' : 'no';
  if (key === 'type') return INCIDENT_TYPES.find((t) => t.value === value)?.label ?? value;
  if (key === 'kind') return BASE_KINDS.find((k) => k.value === value)?.label ?? value;
  if (key === 'target') return TARGETS.find((t) => t.value === value)?.label ?? value;
  return String(value);
}


buildPanel(document.getElementById('layers'));
enablePopups();
enableCoordinates(map, document.getElementById('coords'));
enableSearch(map, document.getElementById('search'));
buildExports(map, document.getElementById('exports'), () => filterQuery(state));
fetchJson('/collections/incidents').then((collection) => {
  buildFilters(document.getElementById('filters'), state, collection.extent.temporal.interval[0], applyFilters);
  showCount(filterQuery(state));
});
