// Headless Debian Chromium through playwright-core, with a fresh profile, and a page that records
// every request (page and workers), the bytes received, console errors and uncaught page errors.
import { chromium } from 'playwright-core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = process.env.SITMAP_CHROMIUM ?? '/usr/bin/chromium';

// With --disable-gpu, Debian's Chromium 156 still gives MapLibre a software WebGL2 context, so no
// SwiftShader flags (--use-angle=swiftshader --enable-unsafe-swiftshader) are needed.
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/// Launches Chromium and opens one page. Resolves to
/// { page, context, requests, errors, bytes(), close() } where requests holds every request URL,
/// errors every console error, page error and failed request, and bytes() resolves to the
/// response bytes received so far by finished requests (headers and encoded bodies, as on the wire).
export async function openBrowser({ width = 1280, height = 800 } = {}) {
  const profile = await mkdtemp(join(tmpdir(), 'sitmap-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width, height },
  });
  const page = context.pages()[0] ?? await context.newPage();
  const requests = [];
  const errors = [];
  let received = 0;
  const pending = new Set();
  context.on('request', (request) => requests.push(request.url()));
  context.on('requestfinished', (request) => {
    const sized = request.sizes()
      .then((sizes) => { received += sizes.responseHeadersSize + sizes.responseBodySize; })
      .catch(() => { /* the page went away */ })
      .finally(() => pending.delete(sized));
    pending.add(sized);
  });
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  // MapLibre cancels the requests it no longer needs (a tile or TileJSON superseded by a new filter
  // or view): the browser reports those as net::ERR_ABORTED. Every other failure is an error.
  page.on('requestfailed', (request) => {
    const reason = request.failure()?.errorText ?? '';
    if (reason !== 'net::ERR_ABORTED') errors.push(`request failed: ${request.url()} ${reason}`);
  });

  const close = async () => {
    await context.close().catch(() => {});
    await rm(profile, { recursive: true, force: true });
  };
  const bytes = async () => {
    await Promise.all([...pending]);
    return received;
  };
  return { page, context, requests, errors, bytes, close };
}

/// URLs in `requests` that leave `origin` (data: and blob: URLs stay in the page).
export function foreignRequests(requests, origin) {
  return requests.filter((url) => !url.startsWith(`${origin}/`) && !/^(data|blob):/.test(url));
}

/// Waits until window.map has its style and all tiles and sources loaded, with nothing left to
/// render: an 'idle' event after which the map stays loaded for two more frames (the app may
/// update a source on 'idle', which starts another round).
export async function waitForMapIdle(page, timeoutMs = 60000) {
  // Until the app has made its map, window.map is the <div id="map"> (named access on window).
  await page.waitForFunction(() => typeof window.map?.once === 'function', null, { timeout: timeoutMs });
  await page.evaluate((timeout) => new Promise((resolve, reject) => {
    const map = window.map;
    const timer = setTimeout(() => reject(new Error(`map not idle after ${timeout} ms`)), timeout);
    const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
    const onIdle = async () => {
      await frame();
      await frame();
      if (map.loaded() && !map.isMoving()) {
        clearTimeout(timer);
        resolve();
      } else {
        map.once('idle', onIdle);
      }
    };
    map.once('idle', onIdle);
    map.triggerRepaint(); // an already idle map fires 'idle' again after this frame
  }), timeoutMs);
}
