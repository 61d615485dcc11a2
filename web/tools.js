// Coordinates under the cursor (decimal degrees and MGRS) and the search box for bases, cercles
// and regions by name.
import { forward as toMgrs } from '/vendor/mgrs/mgrs.esm.js';
import { escapeHtml, fetchJson, foldName } from './util.js';

/// "16.27170, -0.04470" (lat, lon) and the MGRS reference at 1 m, or '' outside MGRS's latitudes.
export function formatPosition({ lng, lat }) {
  const degrees = `${lat.toFixed(5)}, ${lng.toFixed(5)}`;
  let mgrs = '';
  try {
    mgrs = toMgrs([lng, lat], 5).replace(/^(\d+[A-Z])([A-Z]{2})(\d{5})(\d{5})$/, '$1 $2 $3 $4');
  } catch { /* polar latitudes have no MGRS reference here */ }
  return { degrees, mgrs };
}

/// Shows the position under the pointer in `element`.
export function enableCoordinates(map, element) {
  map.on('mousemove', (event) => {
    const { degrees, mgrs } = formatPosition(event.lngLat);
    element.innerHTML = `<span class="dd">${degrees}</span> · <span class="mgrs">MGRS ${mgrs || '—'}</span>`;
  });
  map.getCanvas().addEventListener('mouseleave', () => { element.textContent = ''; });
}

const SEARCHED = [
  { layer: 'bases', label: 'Base' },
  { layer: 'cercles', label: 'Cercle' },
  { layer: 'regions', label: 'Region' },
];

/// The [west, south, east, north] of a GeoJSON geometry.
function bounds(geometry) {
  const box = [Infinity, Infinity, -Infinity, -Infinity];
  const visit = (c) => {
    if (typeof c[0] === 'number') {
      box[0] = Math.min(box[0], c[0]); box[1] = Math.min(box[1], c[1]);
      box[2] = Math.max(box[2], c[0]); box[3] = Math.max(box[3], c[1]);
    } else c.forEach(visit);
  };
  visit(geometry.coordinates);
  return box;
}

/// A search box in `form` (an input and a result list): names are matched without accents or
/// case, anywhere in the name; picking a result flies to it. The three layers are loaded once,
/// on first use, as they are small (tens of features).
export function enableSearch(map, form) {
  const input = form.querySelector('input');
  const list = form.querySelector('ul');
  let places = null;
  const load = async () => {
    places ??= Promise.all(SEARCHED.map(async ({ layer, label }) => {
      const answer = await fetchJson(`/collections/${layer}/items?limit=10000`);
      return answer.features.map((f) => ({ layer, label, name: f.properties.name, folded: foldName(f.properties.name),
        bounds: bounds(f.geometry) }));
    })).then((lists) => lists.flat());
    return places;
  };
  const go = (place) => {
    list.innerHTML = '';
    input.value = place.name;
    const [w, s, e, n] = place.bounds;
    if (w === e && s === n) map.flyTo({ center: [w, s], zoom: Math.max(map.getZoom(), 10) });
    else map.fitBounds(place.bounds, { padding: 40, maxZoom: 10 });
  };
  let matches = [];
  input.addEventListener('focus', load, { once: true });
  input.addEventListener('input', async () => {
    const words = foldName(input.value.trim());
    matches = words ? (await load()).filter((p) => p.folded.includes(words)).slice(0, 8) : [];
    list.innerHTML = matches.map((p, i) =>
      `<li><button type="button" data-index="${i}"><span class="kind">${p.label}</span> ${escapeHtml(p.name)}</button></li>`).join('');
  });
  list.addEventListener('click', (event) => {
    const button = event.target.closest('button');
    if (button) go(matches[Number(button.dataset.index)]);
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (matches.length) go(matches[0]);
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown') list.querySelector('button')?.focus();
    if (event.key === 'Escape') list.innerHTML = '';
  });
  list.addEventListener('keydown', (event) => {
    const item = event.target.closest('li');
    if (event.key === 'ArrowDown') item?.nextElementSibling?.querySelector('button')?.focus();
    if (event.key === 'ArrowUp') (item?.previousElementSibling?.querySelector('button') ?? input).focus();
  });
}
