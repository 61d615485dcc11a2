// End-to-end test of the time and incident filters and of the shareable URL: the date range, the
// month playback slider and the type filter change the tiles' URL, the count shown and the
// incidents drawn, each compared with the server's own answer; a URL with filters and a view
// opens with the same inputs, layers and map state.
import { join } from 'node:path';
import { run, expect, api, screenshots } from './lib/harness.mjs';
import { waitForMapIdle } from './lib/browser.mjs';

/// Incidents drawn on the map: single incidents plus the point_count of clusters, each feature once.
function drawnIncidents(page) {
  return page.evaluate(() => {
    const seen = new Map();
    for (const f of window.map.queryRenderedFeatures({ layers: ['incidents-circle', 'incidents-cluster'] })) {
      seen.set(f.id ?? f.properties.id, Number(f.properties.point_count ?? 1));
    }
    return [...seen.values()].reduce((a, b) => a + b, 0);
  });
}

/// Waits until the panel's count shows `expected` and returns the text.
async function waitForCount(page, expected) {
  await page.waitForFunction((n) => document.getElementById('incident-count')?.dataset.count === String(n),
    expected, { timeout: 15000 }).catch(async () => {
    const shown = await page.locator('#incident-count').textContent();
    throw new Error(`the panel shows "${shown}", the API ${expected}`);
  });
  return page.locator('#incident-count').textContent();
}

const tileUrl = (page) => page.evaluate(() => window.map.getSource('sitmap').tiles[0]);

await run('filters', async ({ server, page, check }) => {
  const total = (await api(server, '/collections/incidents/items?limit=1')).numberMatched;

  await check('the panel counts every incident without filters', async () => {
    await page.goto(`${server.url}/`, { waitUntil: 'load' });
    await waitForMapIdle(page);
    return waitForCount(page, total);
  });

  let yearCount = 0;
  await check('a date range filters the tiles, the count and the incidents drawn', async () => {
    const before = await drawnIncidents(page);
    expect(before === total, `${before} incidents drawn in the country view, the API has ${total}`);
    await page.fill('#filter-from', '2019-01-01');
    await page.fill('#filter-to', '2019-12-31');
    yearCount = (await api(server, '/collections/incidents/items?from=2019-01-01&to=2019-12-31&limit=1')).numberMatched;
    expect(yearCount > 0 && yearCount < total, `2019 holds ${yearCount} of ${total} incidents`);
    await waitForCount(page, yearCount);
    const url = await tileUrl(page);
    expect(url.includes('from=2019-01-01') && url.includes('to=2019-12-31'), `tile URL ${url}`);
    await waitForMapIdle(page);
    const after = await drawnIncidents(page);
    expect(after === yearCount, `${after} incidents drawn for 2019, the API has ${yearCount}`);
    await page.screenshot({ path: join(screenshots, 'filters-2019.png') });
    return `${before} -> ${after} drawn, tiles ${url.split('?')[1]}`;
  });

  await check('unticking types keeps only the ticked ones, in the tiles and in the address bar', async () => {
    for (const type of ['ied_detonated', 'ied_neutralized', 'indirect_fire', 'attack_on_civilians', 'other']) {
      await page.locator(`#filters input[name="type"][value="${type}"]`).uncheck();
    }
    const expected = (await api(server,
      '/collections/incidents/items?from=2019-01-01&to=2019-12-31&type=direct_fire,ambush&limit=1')).numberMatched;
    expect(expected < yearCount, `direct fire and ambushes ${expected} of ${yearCount}`);
    const text = await waitForCount(page, expected);
    const url = await tileUrl(page);
    expect(url.includes('type=direct_fire,ambush'), `tile URL ${url}`);
    const search = await page.evaluate(() => location.search);
    expect(search.includes('type=direct_fire,ambush') && search.includes('from=2019-01-01'), `address bar ${search}`);
    await waitForMapIdle(page);
    const types = await page.evaluate(() => [...new Set(window.map.queryRenderedFeatures({ layers: ['incidents-circle'] })
      .map((f) => f.properties.type))]);
    expect(types.every((t) => t === 'direct_fire' || t === 'ambush'), `drawn types ${types}`);
    return text;
  });

  await check('the month slider steps month by month, by keyboard and by playback', async () => {
    await page.click('#clear-filters');
    await waitForCount(page, total);
    await page.focus('#month');
    await page.keyboard.press('ArrowRight'); // month 1: the second month of the data
    const from = await page.inputValue('#filter-from');
    const to = await page.inputValue('#filter-to');
    expect(/^\d{4}-\d{2}-01$/.test(from) && to.slice(0, 7) === from.slice(0, 7), `month ${from} .. ${to}`);
    const expected = (await api(server, `/collections/incidents/items?from=${from}&to=${to}&limit=1`)).numberMatched;
    await waitForCount(page, expected);
    await page.click('#play');
    await page.waitForFunction((start) => document.getElementById('filter-from').value > start, from, { timeout: 5000 });
    await page.click('#play');
    const next = await page.inputValue('#filter-from');
    const label = await page.locator('#month-label').textContent();
    expect(label === next.slice(0, 7), `slider label ${label}, from ${next}`);
    return `${from.slice(0, 7)}: ${expected} incidents, playback reached ${label}`;
  });

  await check('a shared URL opens with the same filters, layers and view', async () => {
    const query = 'from=2020-01-01&to=2020-06-30&type=ambush,direct_fire&target=civilians,un_mission&hide=routes';
    await page.goto(`${server.url}/?${query}#8/16.27/-0.04`, { waitUntil: 'load' });
    await waitForMapIdle(page);
    const expected = (await api(server, `/collections/incidents/items?${query.replace('&hide=routes', '')}&limit=1`)).numberMatched;
    await waitForCount(page, expected);
    const state = await page.evaluate(() => ({
      from: document.getElementById('filter-from').value,
      to: document.getElementById('filter-to').value,
      types: [...document.querySelectorAll('#filters input[name="type"]:checked')].map((b) => b.value),
      targets: [...document.querySelectorAll('#filters input[name="target"]:checked')].map((b) => b.value),
      routesBox: document.getElementById('toggle-routes').checked,
      routesLayer: window.map.getLayoutProperty('routes-line', 'visibility'),
      zoom: window.map.getZoom(),
      center: window.map.getCenter(),
      tiles: window.map.getSource('sitmap').tiles[0],
    }));
    expect(state.from === '2020-01-01' && state.to === '2020-06-30', `dates ${state.from} .. ${state.to}`);
    expect(state.types.join() === 'direct_fire,ambush', `types ${state.types}`);
    expect(state.targets.join() === 'un_mission,civilians', `targets ${state.targets}`);
    expect(!state.routesBox && state.routesLayer === 'none', `routes box ${state.routesBox}, layer ${state.routesLayer}`);
    expect(Math.abs(state.zoom - 8) < 0.01 && Math.abs(state.center.lat - 16.27) < 0.01 &&
      Math.abs(state.center.lng + 0.04) < 0.01, `view ${state.zoom} ${JSON.stringify(state.center)}`);
    expect(state.tiles.includes('from=2020-01-01') && state.tiles.includes('target=civilians,un_mission'), `tiles ${state.tiles}`);
    await page.screenshot({ path: join(screenshots, 'filters-shared-url.png') });
    return `${expected} incidents, zoom ${state.zoom}`;
  });
});
