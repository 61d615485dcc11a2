// Makes the README's screenshot (docs/screenshot.png, or the path given): the demo data, incidents
// of 2018–2021 shaded per cercle, the risk profile of the Sévaré–Gao route, the monthly chart.
// Usage: SITMAP_BINARY=build/sitmap node tests/e2e/screenshot.mjs [out.png]
import { startServer } from './lib/server.mjs';
import { openBrowser, waitForMapIdle } from './lib/browser.mjs';

const out = process.argv[2] ?? new URL('../../docs/screenshot.png', import.meta.url).pathname;
const server = await startServer();
const browser = await openBrowser({ width: 1280, height: 800 });
try {
  const { page } = browser;
  await page.goto(`${server.url}/?from=2018-01-01&to=2021-12-31&shade=cercle`, { waitUntil: 'load' });
  await waitForMapIdle(page);
  await page.evaluate(() => { for (const d of document.querySelectorAll('#panel details')) d.open = d.id === 'analysis'; });
  await page.locator('#route-pick option[value="ROUTE-03"]').waitFor({ state: 'attached' });
  await page.selectOption('#route-pick', 'ROUTE-03');
  await page.locator('#route-risk svg').waitFor();
  await page.locator('#month-chart svg').waitFor();
  await page.locator('#live').waitFor();
  await page.evaluate(() => window.map.jumpTo({ center: [-3.2, 15.6], zoom: 6.6 }));
  await waitForMapIdle(page);
  await page.screenshot({ path: out });
  if (browser.errors.length) throw new Error(browser.errors.join('\n'));
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await server.stop();
}
