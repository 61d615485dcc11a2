// End-to-end test of the map's tools: coordinates under the cursor (decimal degrees and MGRS),
// the scale bar, the search box with accent folding, the near-base analysis (ring, table, counts,
// sorting, CSV and GeoJSON export, each compared with the server's near_base answer), the layer
// export from the server, and the PNG of the view.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import mgrs from 'mgrs';
import { run, expect, api, screenshots } from './lib/harness.mjs';
import { waitForMapIdle } from './lib/browser.mjs';

const FILTERS = 'from=2015-01-01&to=2021-12-31';

/// Great-circle distance in km (mean Earth radius), to check the ring drawn.
function haversineKm([lon1, lat1], [lon2, lat2]) {
  const rad = Math.PI / 180;
  const a = Math.sin(((lat2 - lat1) * rad) / 2) ** 2 +
    Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(((lon2 - lon1) * rad) / 2) ** 2;
  return 2 * 6371.0088 * Math.asin(Math.sqrt(a));
}

/// Clicks `selector` and returns the text of the file the page downloads.
async function downloaded(page, selector) {
  const [file] = await Promise.all([page.waitForEvent('download', { timeout: 15000 }), page.click(selector)]);
  return { name: file.suggestedFilename(), path: await file.path() };
}

await run('tools', async ({ server, page, check }) => {
  await page.goto(`${server.url}/?${FILTERS}#9/16.27/-0.04`, { waitUntil: 'load' });
  await waitForMapIdle(page);

  await check('the coordinates under the cursor show in decimal degrees and MGRS', async () => {
    await page.mouse.move(800, 400);
    const lngLat = await page.evaluate(() => {
      const canvas = window.map.getCanvas().getBoundingClientRect();
      return window.map.unproject([800 - canvas.left, 400 - canvas.top]);
    });
    const shown = await page.locator('#coords').innerText();
    const degrees = `${lngLat.lat.toFixed(5)}, ${lngLat.lng.toFixed(5)}`;
    const reference = mgrs.forward([lngLat.lng, lngLat.lat], 5);
    expect(shown.includes(degrees), `"${shown}" lacks ${degrees}`);
    expect(shown.replaceAll(' ', '').includes(reference), `"${shown}" lacks MGRS ${reference}`);
    return shown;
  });

  await check('a scale bar shows kilometres', async () => {
    const text = await page.locator('.maplibregl-ctrl-scale').innerText();
    expect(/^\d+\s+km$/.test(text.trim()), `scale bar "${text}"`);
    return text;
  });

  await check('searching "Menaka" without the accent finds Ménaka and flies there', async () => {
    await page.fill('#search input', 'Menaka');
    const results = page.locator('#search .results button');
    await results.first().waitFor({ timeout: 10000 });
    const names = await results.allInnerTexts();
    expect(names.length > 0 && names.every((n) => n.includes('Ménaka')), `results ${JSON.stringify(names)}`);
    const base = (await api(server, '/collections/bases/items?limit=10000')).features
      .find((f) => f.properties.name.includes('Ménaka'));
    expect(base, 'the API has no base named Ménaka');
    await results.filter({ hasText: base.properties.name }).first().click();
    await page.waitForFunction(() => !window.map.isMoving(), null, { timeout: 10000 });
    await page.waitForTimeout(300);
    await waitForMapIdle(page);
    const center = await page.evaluate(() => window.map.getCenter().toArray());
    const off = haversineKm(center, base.geometry.coordinates);
    expect(off < 1, `the map centre is ${off.toFixed(1)} km from ${base.properties.name}`);
    return `${names.length} results: ${names.join('; ')}`;
  });

  let near;
  await check('a base and a 25 km radius draw the ring and list exactly the API\'s incidents', async () => {
    await page.evaluate(() => window.map.jumpTo({ center: [-0.04, 16.27], zoom: 9 }));
    await waitForMapIdle(page);
    const target = await page.evaluate(() => {
      const map = window.map;
      const canvas = map.getCanvas().getBoundingClientRect();
      const f = map.queryRenderedFeatures({ layers: ['bases-symbol'] }).find((b) => b.properties.name.includes('Gao'));
      if (!f) return null;
      const p = map.project(f.geometry.coordinates);
      return { id: f.properties.id ?? f.id, name: f.properties.name, x: p.x + canvas.left, y: p.y + canvas.top,
        position: f.geometry.coordinates };
    });
    expect(target, 'no base at Gao rendered');
    await page.mouse.click(target.x, target.y);
    await page.locator('.near-form button[data-radius="25"]').click();
    await page.locator('#near-table tbody tr').first().waitFor({ timeout: 15000 });
    const answer = await api(server, `/collections/incidents/items?${FILTERS}&near_base=${target.id}&radius_km=25&limit=10000`);
    const rows = await page.locator('#near-table tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.id));
    const expected = answer.features.map((f) => f.id);
    expect(rows.length === expected.length && [...rows].sort().join() === [...expected].sort().join(),
      `${rows.length} rows, the API ${expected.length} incidents`);
    const shown = Number(await page.locator('#near-count').textContent());
    expect(shown === answer.numberMatched, `count ${shown}, API ${answer.numberMatched}`);
    const counts = await page.locator('#near .counts li').allInnerTexts();
    const total = counts.reduce((sum, text) => sum + Number(text.split(': ')[1]), 0);
    expect(total === rows.length, `counts by type add to ${total}, ${rows.length} rows`);
    const ring = await page.evaluate(() => window.map.getSource('near').serialize().data.geometry.coordinates[0]);
    const radii = ring.map((p) => haversineKm(target.position, p));
    expect(radii.every((r) => Math.abs(r - 25) < 0.05), `ring radii ${Math.min(...radii)}..${Math.max(...radii)} km`);
    await waitForMapIdle(page);
    await page.screenshot({ path: join(screenshots, 'tools-near-base.png') });
    near = { target, answer };
    return `${target.name}: ${rows.length} incidents, ${counts.join(', ')}`;
  });

  await check('the near-base table sorts by date, distance and type', async () => {
    const column = (index) => page.locator(`#near-table tbody tr td:nth-child(${index})`).allInnerTexts();
    const sortedBy = (values, compare) => values.every((v, i) => i === 0 || compare(values[i - 1], v) <= 0);
    const distances = (await column(2)).map(Number);
    expect(sortedBy(distances, (a, b) => a - b), 'not sorted by distance at first');
    await page.click('#near-table button[data-sort="date"]');
    const dates = await column(1);
    expect(sortedBy(dates, (a, b) => a.localeCompare(b)), 'not sorted by date ascending');
    await page.click('#near-table button[data-sort="date"]');
    const descending = await column(1);
    expect(sortedBy(descending, (a, b) => b.localeCompare(a)), 'not sorted by date descending after a second click');
    await page.click('#near-table button[data-sort="type"]');
    expect(sortedBy(await column(3), (a, b) => a.localeCompare(b)), 'not sorted by type');
    const sort = await page.locator('#near-table th[aria-sort="ascending"]').innerText();
    return `sorted by ${sort.trim()}`;
  });

  await check('the near-base list exports as CSV and GeoJSON with the API\'s incidents', async () => {
    const ids = near.answer.features.map((f) => f.id).sort().join();
    const geojson = await downloaded(page, '#near button[data-action="geojson"]');
    const collection = JSON.parse(await readFile(geojson.path, 'utf8'));
    expect(collection.type === 'FeatureCollection' && collection.features.map((f) => f.id).sort().join() === ids,
      `GeoJSON has ${collection.features.length} features, the API ${near.answer.features.length}`);
    expect(collection.features.every((f) => typeof f.properties.distance_km === 'number'), 'distance_km missing');
    const csv = await downloaded(page, '#near button[data-action="csv"]');
    const lines = (await readFile(csv.path, 'utf8')).trim().split('\r\n');
    expect(lines[0].startsWith('id,occurred_at,type,target'), `CSV header ${lines[0]}`);
    expect(lines.slice(1).map((l) => l.split(',')[0]).sort().join() === ids, `CSV has ${lines.length - 1} rows`);
    return `${geojson.name} and ${csv.name}, ${lines.length - 1} incidents each`;
  });

  await check('a typed radius lists the API\'s count for it', async () => {
    const { target } = near;
    await page.evaluate(() => window.map.jumpTo({ center: [-0.04, 16.27], zoom: 9 }));
    await waitForMapIdle(page);
    const point = await page.evaluate((position) => {
      const canvas = window.map.getCanvas().getBoundingClientRect();
      const p = window.map.project(position);
      return { x: p.x + canvas.left, y: p.y + canvas.top };
    }, target.position);
    await page.mouse.click(point.x, point.y);
    await page.fill('.near-form input[name="radius"]', '7.5');
    await page.press('.near-form input[name="radius"]', 'Enter');
    const answer = await api(server, `/collections/incidents/items?${FILTERS}&near_base=${target.id}&radius_km=7.5&limit=1`);
    await page.waitForFunction((n) => document.getElementById('near-count')?.textContent === String(n) &&
      document.querySelector('#near h2')?.textContent.includes('7.5 km'), answer.numberMatched, { timeout: 15000 });
    return `${answer.numberMatched} incidents within 7.5 km`;
  });

  await check('every layer exports from the server with the current filters', async () => {
    await page.click('#panel summary:has-text("Export")');
    const incidents = await downloaded(page, '#exports a[data-layer="incidents"]');
    const collection = JSON.parse(await readFile(incidents.path, 'utf8'));
    const expected = (await api(server, `/collections/incidents/items?${FILTERS}&limit=1`)).numberMatched;
    expect(collection.features.length === expected, `${collection.features.length} incidents exported, the API ${expected}`);
    expect(collection.features.every((f) => f.properties.occurred_at >= '2015-01-01'), 'an incident before the filter');
    const regions = await downloaded(page, '#exports a[data-layer="regions"]');
    const count = JSON.parse(await readFile(regions.path, 'utf8')).features.length;
    expect(count > 0, 'no regions exported');
    return `${incidents.name}: ${expected} incidents, ${regions.name}: ${count} regions`;
  });

  await check('the view saves as a PNG with the legend beside the map', async () => {
    const png = await downloaded(page, '#save-png');
    const bytes = await readFile(png.path);
    expect(bytes.subarray(1, 4).toString() === 'PNG', 'not a PNG');
    const width = bytes.readUInt32BE(16);
    const canvasWidth = await page.evaluate(() => window.map.getCanvas().width);
    expect(width > canvasWidth, `PNG ${width} px wide, map canvas ${canvasWidth}`);
    await writeFile(join(screenshots, 'tools-export.png'), bytes);
    return `${png.name}, ${width} px wide, ${bytes.length} bytes`;
  });

  await check('on a tablet the panel becomes a bottom sheet and the controls are reachable by keyboard', async () => {
    await page.setViewportSize({ width: 820, height: 1180 });
    await page.goto(`${server.url}/`, { waitUntil: 'load' });
    await waitForMapIdle(page);
    const panel = await page.locator('#panel').boundingBox();
    expect(panel.y > 1180 / 2 && panel.width > 800, `panel at ${JSON.stringify(panel)}`);
    const reached = [];
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press('Tab');
      reached.push(await page.evaluate(() => document.activeElement?.id || document.activeElement?.getAttribute('aria-label') ||
        document.activeElement?.tagName));
    }
    expect(reached.includes('Place name') && reached.includes('filter-from'), `Tab reaches ${reached.join(', ')}`);
    await page.screenshot({ path: join(screenshots, 'tools-tablet.png') });
    await page.setViewportSize({ width: 1280, height: 800 });
    return `Tab order: ${reached.join(', ')}`;
  });
});
