// The incident filters (date range, month playback, types, targets) and the page URL that holds them.
// The filters live in the query string with the names the server's API uses (from, to, type,
// target), plus `hide` for switched-off layer groups and `shade` for the choropleth; MapLibre keeps the view in the hash
// (#zoom/lat/lon). So a URL opens the same view with the same filters. "Verified only" is
// status=verified.
import { INCIDENT_TYPES, TARGETS } from './style.js';

/// The filters, hidden groups and shading in a query string:
/// { from, to, types[], targets[], verified, hidden[], shade: '' | 'cercle' | 'region' }.
export function readState(search = location.search) {
  const params = new URLSearchParams(search);
  const list = (name) => (params.get(name) ?? '').split(',').filter(Boolean);
  return { from: params.get('from') ?? '', to: params.get('to') ?? '', types: list('type'), targets: list('target'),
    verified: params.get('status') === 'verified', hidden: list('hide'),
    shade: ['cercle', 'region'].includes(params.get('shade')) ? params.get('shade') : '' };
}

/// The API query string of the filters ('' or '?from=...'), as the tiles, items and exports take it.
export function filterQuery(state) {
  const params = new URLSearchParams();
  if (state.from) params.set('from', state.from);
  if (state.to) params.set('to', state.to);
  if (state.types.length) params.set('type', state.types.join(','));
  if (state.targets.length) params.set('target', state.targets.join(','));
  if (state.verified) params.set('status', 'verified');
  const text = params.toString().replaceAll('%2C', ',');
  return text ? `?${text}` : '';
}

/// Writes the state into the address bar, keeping MapLibre's hash.
export function writeState(state) {
  const params = new URLSearchParams(filterQuery(state));
  if (state.hidden.length) params.set('hide', state.hidden.join(','));
  if (state.shade) params.set('shade', state.shade);
  const text = params.toString().replaceAll('%2C', ',');
  history.replaceState(history.state, '', `${location.pathname}${text ? `?${text}` : ''}${location.hash}`);
}

/// 'YYYY-MM' of month `index` counted from `start` ('YYYY-MM').
function monthAt(start, index) {
  const [year, month] = start.split('-').map(Number);
  const date = new Date(Date.UTC(year, month - 1 + index, 1));
  return date.toISOString().slice(0, 7);
}

function lastDay(month) {
  const [year, m] = month.split('-').map(Number);
  return `${month}-${String(new Date(Date.UTC(year, m, 0)).getUTCDate()).padStart(2, '0')}`;
}

/// Builds the filter controls in `form` from `state`; calls onChange(state) after every change.
/// `extent` is the incidents' time extent ['YYYY-MM-DD...', 'YYYY-MM-DD...'] for the month slider.
export function buildFilters(form, state, extent, onChange) {
  const first = extent[0].slice(0, 7);
  const months = (Number(extent[1].slice(0, 4)) - Number(first.slice(0, 4))) * 12 +
    Number(extent[1].slice(5, 7)) - Number(first.slice(5, 7)) + 1;
  const boxes = (name, items, chosen) => items.map((item) =>
    `<label><input type="checkbox" name="${name}" value="${item.value}" ${chosen.length === 0 || chosen.includes(item.value) ? 'checked' : ''}>` +
    `${item.color ? `<span class="dot" style="background:${item.color}"></span>` : ''}${item.label}</label>`).join('');
  form.innerHTML = `
    <div class="dates">
      <label>From <input type="date" id="filter-from" value="${state.from}" min="${extent[0].slice(0, 10)}" max="${extent[1].slice(0, 10)}"></label>
      <label>To <input type="date" id="filter-to" value="${state.to}" min="${extent[0].slice(0, 10)}" max="${extent[1].slice(0, 10)}"></label>
    </div>
    <div class="playback">
      <button type="button" id="play" aria-pressed="false" title="Play month by month">▶</button>
      <input type="range" id="month" min="0" max="${months - 1}" value="0" aria-label="Month">
      <output id="month-label" for="month">all months</output>
    </div>
    <fieldset class="choices"><legend>Incident types</legend>${boxes('type', INCIDENT_TYPES, state.types)}</fieldset>
    <fieldset class="choices"><legend>Targets</legend>${boxes('target', TARGETS, state.targets)}</fieldset>
    <label class="verified"><input type="checkbox" id="filter-verified" ${state.verified ? 'checked' : ''}> Verified incidents only</label>
    <p class="count"><output id="incident-count" aria-live="polite">…</output> <button type="button" id="clear-filters">Clear filters</button></p>`;

  const $ = (id) => form.querySelector(`#${id}`);
  const checked = (name, all) => {
    const values = [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((box) => box.value);
    return values.length === all.length ? [] : values;
  };
  const read = () => {
    state.from = $('filter-from').value;
    state.to = $('filter-to').value;
    state.types = checked('type', INCIDENT_TYPES);
    state.targets = checked('target', TARGETS);
    state.verified = $('filter-verified').checked;
    onChange(state);
  };
  const showMonth = (index) => {
    const month = monthAt(first, index);
    $('month').value = index;
    $('month-label').value = month;
    $('filter-from').value = `${month}-01`;
    $('filter-to').value = lastDay(month);
    read();
  };
  form.addEventListener('change', (event) => { if (event.target.id !== 'month') read(); });
  $('month').addEventListener('input', () => showMonth(Number($('month').value)));
  let timer = null;
  $('play').addEventListener('click', () => {
    const play = $('play');
    if (timer) {
      clearInterval(timer);
      timer = null;
    } else {
      showMonth(Number($('month').value));
      timer = setInterval(() => showMonth((Number($('month').value) + 1) % months), 1500);
    }
    play.setAttribute('aria-pressed', String(timer !== null));
    play.textContent = timer ? '❚❚' : '▶';
  });
  $('clear-filters').addEventListener('click', () => {
    $('filter-from').value = '';
    $('filter-to').value = '';
    $('month-label').value = 'all months';
    for (const box of form.querySelectorAll('input[type="checkbox"]')) box.checked = box.id !== 'filter-verified';
    read();
  });
}
