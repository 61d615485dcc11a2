// The sitmap web map: one MapLibre map over Mali, a layers panel with the legend, and popups.
// MapLibre is loaded as a classic script (window.maplibregl) from /vendor/maplibre-gl/.
import { GROUPS, INCIDENT_TYPES, BASE_KINDS, buildStyle, baseIcon, baseIconSvg } from './style.js';
import { labelPoints } from './labels.js';

const maplibregl = window.maplibregl;

const map = new maplibregl.Map({
  container: 'map',
  style: buildStyle(location.origin),
  center: [-2, 17],
  zoom: 5,
  minZoom: 3,
  maxZoom: 16,
  hash: true,
  attributionControl: { compact: true },
});
window.map = map; // for the console and the end-to-end tests

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

// --- layers panel and legend ------------------------------------------------------------------

function buildPanel(form) {
  for (const group of GROUPS) {
    const section = document.createElement('fieldset');
    section.className = 'group';
    section.innerHTML = `
      <label class="toggle">
        <input type="checkbox" id="toggle-${group.id}" data-group="${group.id}" checked>
        <span>${group.label}</span>
      </label>
      <ul class="legend">${legendItems(group.id).join('')}</ul>`;
    form.append(section);
  }
  form.addEventListener('change', (event) => {
    const box = event.target;
    const group = GROUPS.find((g) => g.id === box.dataset.group);
    if (group) setGroupVisible(group, box.checked);
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
    const sections = [describe(group.id, feature.properties)];
    // An area click shows the cercle together with its region.
    if (group.id === 'cercles') {
      const region = features.find((f) => f.layer.id === 'regions-fill');
      if (region) sections.push(describe('regions', region.properties));
    }
    const anchor = feature.geometry.type === 'Point' ? feature.geometry.coordinates : event.lngLat;
    popup.setLngLat(anchor).setHTML(sections.join('')).addTo(map);
  });

  map.on('mousemove', (event) => {
    const hit = featuresAt(event.point).some((f) => !f.layer.id.endsWith('-fill'));
    map.getCanvas().style.cursor = hit ? 'pointer' : '';
  });
}

const TARGETS = { un_mission: 'UN mission', national_forces: 'National forces', civilians: 'Civilians', other: 'Other' };

function describe(groupId, properties) {
  const rows = Object.entries(properties)
    .filter(([, value]) => value !== '' && value !== null && value !== undefined)
    .map(([key, value]) => `<tr><th>${escape(key.replaceAll('_', ' '))}</th><td>${escape(format(key, value))}</td></tr>`);
  return `<section><h2>${escape(TITLES[groupId](properties))}</h2><table>${rows.join('')}</table></section>`;
}

function format(key, value) {
  if (key === 'approximate' || key === 'synthetic') return Number(value) === 1 ? 'yes' : 'no';
  if (key === 'type') return INCIDENT_TYPES.find((t) => t.value === value)?.label ?? value;
  if (key === 'kind') return BASE_KINDS.find((k) => k.value === value)?.label ?? value;
  if (key === 'target') return TARGETS[value] ?? value;
  return String(value);
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

buildPanel(document.getElementById('layers'));
enablePopups();
