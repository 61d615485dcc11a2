// End-to-end test of live updates: the map subscribes to the server's change events (GET /events)
// and, when another process appends an incident to the served database (`sitmap import --mode
// append`), reloads its tiles and lists so the new incident is drawn within 2 seconds.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { run, expect, api, screenshots } from './lib/harness.mjs';
import { waitForMapIdle } from './lib/browser.mjs';
import { sitmapBinary } from './lib/server.mjs';

const exec = promisify(execFile);
const ID = 'E2E-LIVE-0001';

/// Whether the map renders the incident `id`.
const rendered = (page, id) => page.evaluate((wanted) =>
  window.map.queryRenderedFeatures({ layers: ['incidents-circle'] }).some((f) => f.properties.id === wanted), id);

await run('live', async ({ server, page, check }) => {
  // Open desert between Gao and Kidal at zoom 11: incidents are drawn one by one there.
  const position = [0.9, 17.2];
  await page.goto(`${server.url}/#11/${position[1]}/${position[0]}`, { waitUntil: 'load' });
  await waitForMapIdle(page);

  await check('the map subscribes to the server\'s change events', async () => {
    await page.locator('#live').waitFor({ state: 'visible', timeout: 10000 });
    expect(!(await rendered(page, ID)), `${ID} is drawn before it was imported`);
    return 'the panel shows "live"';
  });

  await check('an incident appended by another process is drawn within 2 s, and the count follows', async () => {
    const before = Number(await page.locator('#incident-count').getAttribute('data-count'));
    const file = join(server.dir, 'new-incident.geojson');
    await writeFile(file, JSON.stringify({ type: 'FeatureCollection', features: [{
      type: 'Feature', geometry: { type: 'Point', coordinates: position },
      properties: { id: ID, occurred_at: '2024-06-01T10:00:00Z', type: 'ambush', target: 'un_mission', fatalities: 0,
        injuries: 1, description: 'e2e live update', source: 'e2e test', synthetic: 1 } }] }));
    await exec(sitmapBinary(), ['import', '--db', server.db, '--layer', 'incidents', '--mode', 'append', file]);
    const imported = Date.now();
    await page.waitForFunction((wanted) => window.map.queryRenderedFeatures({ layers: ['incidents-circle'] })
      .some((f) => f.properties.id === wanted), ID, { timeout: 2000, polling: 50 }).catch(() => {
      throw new Error(`${ID} not drawn 2 s after the import`);
    });
    const elapsed = Date.now() - imported;
    const total = (await api(server, '/collections/incidents/items?limit=1')).numberMatched;
    expect(total === before + 1, `the API counts ${total}, ${before} before`);
    await page.waitForFunction((n) => document.getElementById('incident-count').dataset.count === String(n), total,
      { timeout: 2000 });
    await waitForMapIdle(page);
    await page.screenshot({ path: join(screenshots, 'live-new-incident.png') });
    return `drawn ${elapsed} ms after the import; count ${before} -> ${total}`;
  });
});
