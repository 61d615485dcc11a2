// Checks in headless Chromium that MapLibre draws labels from the glyph PBFs in
// web/fonts: every glyph range loads from our files (no fallback to local
// rendering), and each label's ink box matches MapLibre's own rendering of the
// same Noto Sans TTF within a few pixels. Writes a screenshot to look at.
//
//   node web/tools/check_glyphs.mjs --modules DIR [--out shot.png] [--fonts web/fonts] [--scale 2]
// DIR is a node_modules holding maplibre-gl and playwright-core
// (e.g. `npm i maplibre-gl playwright-core` in a scratch directory).
// Exit status 0 when all checks pass, 1 otherwise.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import http from 'node:http';
import path from 'node:path';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) =>
  (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
if (!args.modules) {
  console.error('usage: node check_glyphs.mjs --modules <node_modules dir> [--out shot.png] [--fonts dir]');
  process.exit(2);
}
const toolsDir = path.dirname(new URL(import.meta.url).pathname);
const fontsDir = path.resolve(args.fonts || path.join(toolsDir, '../fonts'));
const notoDir = '/usr/share/fonts/truetype/noto';
const require = createRequire(path.join(path.resolve(args.modules), 'x.js'));
const { chromium } = require('playwright-core');
const maplibreDist = path.dirname(require.resolve('maplibre-gl/package.json')) + '/dist';
const out = path.resolve(args.out || 'glyph-check.png');

const types = { '.html': 'text/html', '.mjs': 'text/javascript', '.js': 'text/javascript', '.css': 'text/css',
  '.pbf': 'application/x-protobuf', '.ttf': 'font/ttf' };
const routes = [['/fonts/', fontsDir], ['/maplibre/', maplibreDist], ['/noto/', notoDir]];
const server = http.createServer((req, res) => {
  const url = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  let file = url === '/' ? path.join(toolsDir, 'check_glyphs.html') : null;
  for (const [prefix, dir] of routes) {
    if (url.startsWith(prefix)) file = path.join(dir, path.normalize(url.slice(prefix.length)).replace(/^(\.\.[/\\])+/, ''));
  }
  if (!file || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': types[path.extname(file)] || 'application/octet-stream' });
  fs.createReadStream(file).pipe(res);
});
await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;

// WebGL in headless Chromium without a GPU: ANGLE on SwiftShader (software).
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sitmap-glyphs-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
  viewport: { width: 740, height: 660 },
  deviceScaleFactor: Number(args.scale || 1),
});
const failures = [];
const glyphResponses = [];
try {
  const page = context.pages()[0] || await context.newPage();
  page.on('console', m => { if (/glyph|error/i.test(m.text()) && !/GPU stall/.test(m.text())) failures.push('console: ' + m.text()); });
  page.on('pageerror', e => failures.push('page error: ' + e.message));
  page.on('response', r => { if (r.url().includes('/fonts/')) glyphResponses.push(`${r.status()} ${decodeURIComponent(new URL(r.url()).pathname)}`); });
  await page.goto(base + '/');
  await page.waitForFunction(() => window.__result, null, { timeout: 60000 });
  const result = await page.evaluate(() => window.__result);
  await page.screenshot({ path: out });

  console.log('glyph ranges fetched:\n  ' + glyphResponses.join('\n  '));
  if (glyphResponses.length === 0) failures.push('no glyph range was requested');
  for (const r of glyphResponses) if (!r.startsWith('200 ')) failures.push('glyph range failed: ' + r);
  if (result.rendered !== result.a.length) failures.push(`${result.rendered} of ${result.a.length} labels rendered`);
  for (const [i, a] of result.a.entries()) {
    const b = result.b[i];
    if (!a.box || !b.box) { failures.push(`${a.name}: no ink (pbf ${!!a.box}, reference ${!!b.box})`); continue; }
    const widthA = a.box.r - a.box.l, widthB = b.box.r - b.box.l;
    const d = { left: a.box.l - b.box.l, right: a.box.r - b.box.r, top: a.box.t - b.box.t, bottom: a.box.b - b.box.b };
    console.log(`${a.name}: pbf ${JSON.stringify(a.box)} reference ${JSON.stringify(b.box)} difference ${JSON.stringify(d)}`);
    // Integer advances and MapLibre's fixed baseline adjustment for its own
    // rendering allow a few pixels; a wrong top/left/advance convention or a
    // flipped bitmap moves text by far more.
    const tolerance = 3 + 0.02 * widthB;
    if (Math.abs(widthA - widthB) > tolerance) failures.push(`${a.name}: width ${widthA} vs reference ${widthB}`);
    if (Math.abs(d.top) > 4 || Math.abs(d.bottom) > 4) failures.push(`${a.name}: vertical offset ${d.top}/${d.bottom} px`);
    if (Math.abs((a.box.l + a.box.r) - (b.box.l + b.box.r)) / 2 > tolerance) failures.push(`${a.name}: horizontal offset`);
  }
} finally {
  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
  server.close();
}
console.log('screenshot: ' + out);
if (failures.length) {
  console.error('FAIL\n  ' + failures.join('\n  '));
  process.exit(1);
}
console.log('OK');
