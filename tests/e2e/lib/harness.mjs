// The frame of an end-to-end test file: named checks that print "ok"/"FAIL", the screenshot
// directory, and the final "e2e NAME: N passed, M failed" line with the exit code.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startServer } from './server.mjs';
import { openBrowser, foreignRequests } from './browser.mjs';

export const screenshots = join(process.env.SITMAP_BUILD_DIR ?? process.cwd(), 'screenshots');

/// Throws `message` unless `condition` holds.
export function expect(condition, message) {
  if (!condition) throw new Error(message);
}

/// Starts the server and a browser, runs `body({ server, browser, page, check })`, then the
/// checks every test ends with (no foreign request, no console error), prints the summary and exits.
/// check(name, fn) runs fn; its return value is printed as the detail; a throw fails the check.
/// `serverOptions` go to startServer (serveArgs, prepare).
export async function run(name, body, browserOptions = {}, serverOptions = {}) {
  const results = [];
  const check = async (title, fn) => {
    try {
      const detail = await fn();
      results.push(true);
      console.log(`ok   ${title}${detail ? ` (${detail})` : ''}`);
    } catch (error) {
      results.push(false);
      console.log(`FAIL ${title}: ${error.message}`);
    }
  };
  let server;
  let browser;
  try {
    await mkdir(screenshots, { recursive: true });
    server = await startServer(serverOptions);
    console.log(`server at ${server.url}`);
    browser = await openBrowser(browserOptions);
    await body({ server, browser, page: browser.page, check });
    await check('no request leaves the server origin', async () => {
      const foreign = foreignRequests(browser.requests, server.url);
      expect(foreign.length === 0, `requests to other hosts: ${foreign.slice(0, 5).join(', ')}`);
      return `${browser.requests.length} requests`;
    });
    await check('no console errors and no page errors', async () => {
      expect(browser.errors.length === 0, browser.errors.slice(0, 5).join('\n'));
    });
  } catch (error) {
    results.push(false);
    console.log(`FAIL setup: ${error.stack ?? error.message}`);
    if (server) console.log(`server output:\n${server.output()}`);
  } finally {
    await browser?.close();
    await server?.stop();
  }
  const failed = results.filter((ok) => !ok).length;
  console.log(`e2e ${name}: ${results.length - failed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

/// The JSON answer of the server at `path`.
export async function api(server, path) {
  const response = await fetch(`${server.url}${path}`);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${await response.text()}`);
  return response.json();
}
