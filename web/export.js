// Exports: every layer as GeoJSON from the server (with the current filters), and the current view
// as a PNG with the legend and the date range.
import { INCIDENT_TYPES, BASE_KINDS, BASE_COLOR } from './style.js';
import { download } from './util.js';
import { withToken } from './auth.js';

const LAYERS = ['incidents', 'bases', 'routes', 'cercles', 'regions'];

/// Fills `element` with one download link per layer (kept in step with the filters) and a PNG button.
export function buildExports(map, element, filterQuery) {
  element.innerHTML = `<p class="links">${LAYERS.map((layer) =>
    `<a data-layer="${layer}" href="/export/${layer}.geojson" download="${layer}.geojson">${layer}</a>`).join(' ')}</p>
    <button type="button" id="save-png">Save view as PNG</button>`;
  const update = () => {
    for (const link of element.querySelectorAll('a[data-layer]')) link.href = withToken(`/export/${link.dataset.layer}.geojson${filterQuery()}`);
  };
  element.addEventListener('focusin', update);
  element.addEventListener('pointerdown', update);
  element.querySelector('#save-png').addEventListener('click', async () => {
    const blob = await viewPng(map, describeFilters(filterQuery()));
    download(`sitmap-${new Date().toISOString().slice(0, 10)}.png`, blob);
  });
}

function describeFilters(query) {
  const params = new URLSearchParams(query);
  const from = params.get('from') || 'start';
  const to = params.get('to') || 'end';
  const parts = [`Incidents ${from === 'start' && to === 'end' ? 'of all dates' : `from ${from} to ${to}`}`];
  if (params.get('type')) parts.push(`types: ${params.get('type').replaceAll(',', ', ')}`);
  if (params.get('target')) parts.push(`targets: ${params.get('target').replaceAll(',', ', ')}`);
  return parts.join(' · ');
}

/// The current view as a PNG Blob: the map (the map needs preserveDrawingBuffer), a title with the
/// filters, and the legend drawn beside it.
export async function viewPng(map, subtitle) {
  const view = map.getCanvas();
  const ratio = view.width / view.clientWidth;
  const legendWidth = 230 * ratio;
  const canvas = document.createElement('canvas');
  canvas.width = view.width + legendWidth;
  canvas.height = Math.max(view.height, 520 * ratio);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(view, 0, 0);
  ctx.scale(ratio, ratio);

  let y = 28;
  const x = view.clientWidth + 14;
  const text = (value, size, bold = false) => {
    ctx.fillStyle = '#1f2a33';
    ctx.font = `${bold ? 'bold ' : ''}${size}px sans-serif`;
    ctx.fillText(value, x, y);
    y += size + 8;
  };
  text('sitmap · Mali', 18, true);
  // The subtitle wrapped to the legend's width.
  ctx.font = '12px sans-serif';
  let line = '';
  for (const word of subtitle.split(' ')) {
    if (ctx.measureText(`${line} ${word}`).width > 200 && line) { text(line, 12); line = word; } else line = line ? `${line} ${word}` : word;
  }
  text(line, 12);
  y += 8;
  text('Incidents', 14, true);
  for (const type of INCIDENT_TYPES) {
    ctx.fillStyle = type.color;
    ctx.beginPath();
    ctx.arc(x + 6, y - 4, 5, 0, 2 * Math.PI);
    ctx.fill();
    ctx.fillStyle = '#1f2a33';
    ctx.font = '12px sans-serif';
    ctx.fillText(type.label, x + 18, y);
    y += 19;
  }
  y += 8;
  text('Bases', 14, true);
  for (const kind of BASE_KINDS.slice(0, 5)) {
    ctx.save();
    ctx.translate(x, y - 11);
    ctx.scale(12 / 24, 12 / 24);
    ctx.fillStyle = BASE_COLOR;
    ctx.fill(new Path2D(kind.path), 'evenodd');
    ctx.restore();
    ctx.fillStyle = '#1f2a33';
    ctx.font = '12px sans-serif';
    ctx.fillText(kind.label, x + 18, y);
    y += 19;
  }
  y += 8;
  ctx.font = '11px sans-serif';
  ctx.fillStyle = '#5b6770';
  ctx.fillText(`Printed ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`, x, y);
  ctx.fillText('Incidents: synthetic test data', x, y + 15);
  return new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
}
