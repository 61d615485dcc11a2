// End-to-end test of the web map: the real sitmap server on a demo database, headless Chromium,
// and checks that the five layers render, a layer toggles, a popup opens, and nothing leaves
// 127.0.0.1. Exit code 0 when every check passes. Screenshots go to $SITMAP_BUILD_DIR/screenshots/.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startServer } from './lib/server.mjs';
import { openBrowser, foreignRequests, waitForMapIdle } from './lib/browser.mjs';

// The MapLibre layers of each group in web/style.js that hold the group's features.
const LAYERS = {
  regions: ['regions-fill'],
  cercles: ['cercles-fill'],
  routes: ['routes-line', 'routes-line-approx'],
  incidents: ['incidents-circle', 'incidents-cluster'],
  bases: ['bases-symbol'],
};

const screenshots = join(process.env.SITMAP_BUILD_DIR ?? process.cwd(), 'screenshots');
const results = [];

async function check(name, body) {
  try {
    const detail = await body();
    results.push({ name, ok: true });
    console.log(`ok   ${name}${detail ? ` (${detail})` : ''}`);
  } catch (error) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}: ${error.message}`);
  }
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

/// Rendered feature count per group, optionally only features whose layer is visible.
function renderedCounts(page) {
  return page.evaluate((layers) => Object.fromEntries(Object.entries(layers).map(([group, ids]) => {
    const present = ids.filter((id) => window.map.getLayer(id));
    return [group, present.length ? window.map.queryRenderedFeatures({ layers: present }).length : 0];
  })), LAYERS);
}

let server;
let browser;
let firstViewBytes = 0;
try {
  await mkdir(screenshots, { recursive: true });
  server = await startServer();
  console.log(`server at ${server.url}`);
  browser = await openBrowser();
  const { page } = browser;

  await check('the map loads and becomes idle', async () => {
    await page.goto(`${server.url}/`, { waitUntil: 'load' });
    await waitForMapIdle(page);
    // Let requests that started just before idle finish so the byte count is complete.
    await page.waitForLoadState('networkidle');
    await page.screenshot({ path: join(screenshots, 'map-initial.png') });
    const webgl = await page.evaluate(() => window.map.painter.context.gl instanceof WebGL2RenderingContext ? 'WebGL2' : 'WebGL1');
    firstViewBytes = await browser.bytes();
    return `${webgl}, first view ${browser.requests.length} requests, ${firstViewBytes} bytes received`;
  });

  await check('the first view transfers at most 1.5 MB', async () => {
    const limit = 1.5 * 1024 * 1024;
    expect(firstViewBytes > 0 && firstViewBytes <= limit, `${firstViewBytes} bytes, limit ${limit}`);
    return `${(firstViewBytes / 1024).toFixed(1)} KiB of ${limit / 1024} KiB`;
  });

  await check('all five layers render features in the first view', async () => {
    const counts = await renderedCounts(page);
    const empty = Object.entries(counts).filter(([, n]) => n === 0).map(([group]) => group);
    expect(empty.length === 0, `no rendered features for ${empty.join(', ')}; counts ${JSON.stringify(counts)}`);
    return Object.entries(counts).map(([group, n]) => `${group} ${n}`).join(', ');
  });

  await check('unticking "Incidents" in the panel hides the incidents, ticking shows them again', async () => {
    const box = page.locator('#panel input[data-group="incidents"]');
    await box.uncheck();
    await waitForMapIdle(page);
    const off = await renderedCounts(page);
    expect(off.incidents === 0, `${off.incidents} incidents still rendered after unticking`);
    expect(off.bases > 0 && off.regions > 0, 'other layers disappeared too');
    await page.screenshot({ path: join(screenshots, 'map-incidents-off.png') });
    await box.check();
    await waitForMapIdle(page);
    const on = await renderedCounts(page);
    expect(on.incidents > 0, 'incidents did not come back after ticking');
    return `${on.incidents} -> ${off.incidents} -> ${on.incidents}`;
  });

  await check('clicking a base opens a popup with its name', async () => {
    // A base whose symbol is in the viewport, clear of the panel and of other bases.
    const target = await page.evaluate(() => {
      const map = window.map;
      const panel = document.getElementById('panel').getBoundingClientRect();
      const canvas = map.getCanvas().getBoundingClientRect();
      const bases = map.queryRenderedFeatures({ layers: ['bases-symbol'] }).map((f) => {
        const p = map.project(f.geometry.coordinates);
        return { name: f.properties.name, x: p.x + canvas.left, y: p.y + canvas.top };
      });
      const clear = (b) => b.x > panel.right + 20 && b.x < canvas.right - 60 && b.y > 20 && b.y < canvas.bottom - 40 &&
        bases.every((o) => o === b || Math.hypot(o.x - b.x, o.y - b.y) > 30);
      return bases.find(clear) ?? null;
    });
    expect(target, 'no base clear of the panel and of other bases to click');
    await page.mouse.click(target.x, target.y);
    const popup = page.locator('.maplibregl-popup-content');
    await popup.waitFor({ state: 'visible', timeout: 5000 });
    const title = (await popup.locator('h2').first().textContent()).trim();
    expect(title === target.name, `popup title "${title}", expected "${target.name}"`);
    await page.screenshot({ path: join(screenshots, 'map-base-popup.png') });
    return target.name;
  });

  await check('clicking an incident while a popup is open shows the incident instead', async () => {
    const target = await page.evaluate(() => {
      const map = window.map;
      const panel = document.getElementById('panel').getBoundingClientRect();
      const popup = document.querySelector('.maplibregl-popup').getBoundingClientRect();
      const canvas = map.getCanvas().getBoundingClientRect();
      const outside = (x, y, r) => x < r.left - 10 || x > r.right + 10 || y < r.top - 10 || y > r.bottom + 10;
      for (const f of map.queryRenderedFeatures({ layers: ['incidents-circle'] })) {
        const p = map.project(f.geometry.coordinates);
        const x = p.x + canvas.left;
        const y = p.y + canvas.top;
        if (outside(x, y, panel) && outside(x, y, popup) && x < canvas.right - 60 && y < canvas.bottom - 40 &&
            // No base symbol or base name within the app's click tolerance.
            map.queryRenderedFeatures([[p.x - 8, p.y - 8], [p.x + 8, p.y + 8]], { layers: ['bases-symbol'] }).length === 0) return { x, y, id: f.properties.id ?? f.id };
      }
      return null;
    });
    expect(target, 'no incident clear of the panel, the popup and the bases to click');
    await page.mouse.click(target.x, target.y);
    const popup = page.locator('.maplibregl-popup-content');
    await popup.waitFor({ state: 'visible', timeout: 5000 });
    const text = await popup.innerText();
    expect(/occurred at/.test(text), `popup does not describe an incident: ${text.slice(0, 120)}`);
    return `incident ${target.id}`;
  });

  await check('a closer view renders cercle labels and base symbols', async () => {
    await page.evaluate(() => window.map.jumpTo({ center: [-0.5, 16.3], zoom: 7.5 }));
    await waitForMapIdle(page);
    await page.screenshot({ path: join(screenshots, 'map-gao-z7.png') });
    const counts = await page.evaluate(() => ({
      labels: window.map.queryRenderedFeatures({ layers: ['cercles-label'] }).length,
      bases: window.map.queryRenderedFeatures({ layers: ['bases-symbol'] }).length,
    }));
    expect(counts.labels > 0, 'no cercle labels rendered at zoom 7.5');
    return `${counts.labels} cercle labels, ${counts.bases} bases`;
  });

  await check('no request leaves the server origin', async () => {
    const foreign = foreignRequests(browser.requests, server.url);
    expect(foreign.length === 0, `requests to other hosts: ${foreign.slice(0, 5).join(', ')}`);
    return `${browser.requests.length} requests, all to ${server.url}`;
  });

  await check('no console errors and no page errors', async () => {
    expect(browser.errors.length === 0, browser.errors.slice(0, 5).join('\n'));
  });

  console.log(`first view transferred ${firstViewBytes} bytes (${(firstViewBytes / 1024).toFixed(1)} KiB)`);
  console.log(`screenshots in ${screenshots}`);
} catch (error) {
  results.push({ name: 'setup', ok: false });
  console.log(`FAIL setup: ${error.stack ?? error.message}`);
  if (server) console.log(`server output:\n${server.output()}`);
} finally {
  await browser?.close();
  await server?.stop();
}

const failed = results.filter((r) => !r.ok).length;
console.log(`e2e map: ${results.length - failed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
