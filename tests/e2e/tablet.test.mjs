// End-to-end test of the map on tablet screens (820x1180 portrait, 1024x768 landscape): the panel
// covers neither the scale bar nor the map controls, and the Tab key reaches every control of the
// page, each one on screen when it has the focus.
import { join } from 'node:path';
import { run, expect, screenshots } from './lib/harness.mjs';
import { waitForMapIdle } from './lib/browser.mjs';

const VIEWPORTS = [{ width: 820, height: 1180 }, { width: 1024, height: 768 }];
const CONTROLS = ['.maplibregl-ctrl-scale', '.maplibregl-ctrl-zoom-in', '.maplibregl-ctrl-zoom-out', '.maplibregl-ctrl-attrib'];

/// Marks every visible, enabled, focusable element with data-focus-id and returns their descriptions.
function markFocusable(page) {
  return page.evaluate(() => {
    const selector = 'a[href], button, input, select, textarea, summary, [tabindex]:not([tabindex="-1"])';
    return [...document.querySelectorAll(selector)]
      .filter((e) => !e.disabled && e.checkVisibility({ visibilityProperty: true }) && e.getClientRects().length)
      .map((e, i) => {
        e.dataset.focusId = String(i);
        return `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}${e.getAttribute('aria-label') ? `[${e.getAttribute('aria-label')}]` : ''}` +
          `${e.name ? `[name=${e.name}]` : ''}${e.value && e.type === 'checkbox' ? `[${e.value}]` : ''}`;
      });
  });
}

await run('tablet', async ({ server, page, check }) => {
  for (const viewport of VIEWPORTS) {
    const size = `${viewport.width}x${viewport.height}`;
    await page.setViewportSize(viewport);
    await page.goto(`${server.url}/`, { waitUntil: 'load' });
    await waitForMapIdle(page);

    await check(`${size}: the panel covers neither the scale bar nor the map controls`, async () => {
      const boxes = await page.evaluate((selectors) => {
        const rect = (e) => { const r = e.getBoundingClientRect(); return { left: r.left, top: r.top, right: r.right, bottom: r.bottom }; };
        return { panel: rect(document.getElementById('panel')),
          controls: selectors.map((s) => ({ s, r: document.querySelector(s) && rect(document.querySelector(s)) })) };
      }, CONTROLS);
      const overlap = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
      for (const { s, r } of boxes.controls) {
        expect(r, `no ${s}`);
        expect(r.left >= 0 && r.top >= 0 && r.right <= viewport.width && r.bottom <= viewport.height, `${s} off screen: ${JSON.stringify(r)}`);
        expect(!overlap(r, boxes.panel), `${s} ${JSON.stringify(r)} under the panel ${JSON.stringify(boxes.panel)}`);
      }
      await page.screenshot({ path: join(screenshots, `tablet-${size}.png`) });
      return `panel ${Math.round(boxes.panel.left)},${Math.round(boxes.panel.top)}–${Math.round(boxes.panel.right)},${Math.round(boxes.panel.bottom)}`;
    });

    await check(`${size}: Tab reaches every control, each on screen when focused`, async () => {
      // Every section open and a route risk profile shown, so their controls count too.
      await page.evaluate(() => { for (const d of document.querySelectorAll('#panel details')) d.open = true; });
      await page.locator('#route-pick option').nth(1).waitFor({ state: 'attached', timeout: 15000 });
      await page.selectOption('#route-pick', { index: 1 });
      await page.locator('#route-risk select').waitFor({ timeout: 15000 });
      await page.waitForFunction(() => !window.map.isMoving());
      const focusable = await markFocusable(page);
      await page.evaluate(() => document.activeElement?.blur());
      const reached = new Set();
      const offScreen = [];
      for (let i = 0; i < focusable.length * 2 + 10; i++) {
        await page.keyboard.press('Tab');
        const focused = await page.evaluate(() => {
          const e = document.activeElement;
          if (!e || e === document.body) return null;
          const r = e.getBoundingClientRect();
          return { id: e.dataset.focusId, inside: r.left >= 0 && r.top >= 0 && r.right <= innerWidth + 0.5 && r.bottom <= innerHeight + 0.5 };
        });
        if (!focused?.id) continue;
        if (reached.has(focused.id) && reached.size === focusable.length) break;
        reached.add(focused.id);
        if (!focused.inside) offScreen.push(focusable[Number(focused.id)]);
      }
      const missed = focusable.filter((_, i) => !reached.has(String(i)));
      expect(missed.length === 0, `Tab never reaches ${missed.join(', ')}`);
      expect(offScreen.length === 0, `off screen when focused: ${offScreen.join(', ')}`);
      await page.screenshot({ path: join(screenshots, `tablet-${size}-focus.png`) });
      return `${reached.size} controls`;
    });
  }
});
