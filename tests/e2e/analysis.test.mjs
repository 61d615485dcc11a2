// End-to-end test of the analysis tools, each compared with the server's own answer: a route
// clicked on the map is coloured stretch by stretch by its incidents with a profile chart
// (GET /routes/{id}/profile), coverage rings around the open bases with the incidents beyond them
// (GET /stats/coverage), areas shaded per cercle and per region and the chart of incidents per
// month by type (GET /stats/incidents).
import { join } from 'node:path';
import { run, expect, api, screenshots } from './lib/harness.mjs';
import { waitForMapIdle } from './lib/browser.mjs';

const FILTERS = 'from=2015-01-01&to=2021-12-31';

/// The value of a MapLibre ['step', input, c0, stop1, c1, ...] expression for `value`, written
/// here again so the test does not trust the page's own class code.
function step(expression, value) {
  expect(expression[0] === 'step', `not a step expression: ${JSON.stringify(expression)}`);
  let result = expression[2];
  for (let i = 3; i < expression.length; i += 2) if (value >= expression[i]) result = expression[i + 1];
  return result;
}

/// The legend's classes [{ min, max, color }] in `selector`, checked to cover 0..max without gaps.
async function legendClasses(page, selector) {
  const classes = await page.locator(`${selector} li`).evaluateAll((items) => items.map((li) =>
    ({ min: Number(li.dataset.min), max: Number(li.dataset.max), color: li.dataset.color })));
  expect(classes.length >= 2 && classes[0].min === 0 && classes[0].max === 0, `legend ${JSON.stringify(classes)}`);
  classes.forEach((c, i) => expect(i === 0 || c.min === classes[i - 1].max + 1, `legend gap at ${JSON.stringify(c)}`));
  return classes;
}

const classOf = (classes, count) => classes.find((c) => count >= c.min && count <= c.max);

await run('analysis', async ({ server, page, check }) => {
  await page.goto(`${server.url}/?${FILTERS}#8/15.55/0.35`, { waitUntil: 'load' });
  await waitForMapIdle(page);

  let route;
  await check('clicking a route colours it stretch by stretch with the API\'s counts', async () => {
    // Close enough that incidents along the route are drawn one by one, with gaps to click in:
    // the middle of the longest straight stretch of any route (long stretches cross open country).
    let best = null;
    for (const f of (await api(server, '/collections/routes/items?limit=1000')).features) {
      const lines = f.geometry.type === 'LineString' ? [f.geometry.coordinates] : f.geometry.coordinates;
      for (const line of lines) {
        for (let i = 0; i + 1 < line.length; i++) {
          const length = Math.hypot(line[i + 1][0] - line[i][0], line[i + 1][1] - line[i][1]);
          if (!best || length > best.length) best = { length, a: line[i], b: line[i + 1] };
        }
      }
    }
    const middle = [(best.a[0] + best.b[0]) / 2, (best.a[1] + best.b[1]) / 2];
    await page.evaluate((center) => window.map.jumpTo({ center, zoom: 10 }), middle);
    await waitForMapIdle(page);
    // A point on a route with no base or incident within the click tolerance, clear of the panel.
    const target = await page.evaluate(() => {
      const map = window.map;
      const canvas = map.getCanvas().getBoundingClientRect();
      const panel = document.getElementById('panel').getBoundingClientRect();
      for (const f of map.queryRenderedFeatures({ layers: ['routes-line', 'routes-line-approx'] })) {
        const lines = f.geometry.type === 'LineString' ? [f.geometry.coordinates] : f.geometry.coordinates;
        for (const line of lines) {
          for (let i = 0; i + 1 < line.length; i++) {
            for (const t of [0.5, 0.3, 0.7, 0.2, 0.8]) {
              const p = map.project([line[i][0] + t * (line[i + 1][0] - line[i][0]), line[i][1] + t * (line[i + 1][1] - line[i][1])]);
              const x = p.x + canvas.left;
              const y = p.y + canvas.top;
              if (x < panel.right + 20 || x > canvas.right - 60 || y < 60 || y > canvas.bottom - 60) continue;
              const box = [[p.x - 8, p.y - 8], [p.x + 8, p.y + 8]];
              if (map.queryRenderedFeatures(box, { layers: ['bases-symbol', 'incidents-circle', 'incidents-cluster'] }).length) continue;
              const hits = map.queryRenderedFeatures(box, { layers: ['routes-line', 'routes-line-approx'] });
              if (new Set(hits.map((h) => h.properties.id)).size === 1) return { x, y, id: hits[0].properties.id, name: hits[0].properties.name };
            }
          }
        }
      }
      return null;
    });
    expect(target, 'no stretch of route clear of bases and incidents to click');
    await page.mouse.click(target.x, target.y);
    await page.locator('#route-risk svg').waitFor({ timeout: 15000 });
    route = target;
    const answer = await api(server, `/routes/${target.id}/profile?${FILTERS}&segment_km=10&f=geojson`);
    const bars = await page.locator('#route-risk svg rect[data-segment]').evaluateAll((rects) =>
      rects.map((r) => ({ segment: Number(r.dataset.segment), count: Number(r.dataset.count), fill: r.getAttribute('fill') })));
    const expected = answer.features.filter((f) => f.properties.count > 0);
    expect(bars.length === expected.length && expected.every((f) => bars.some((b) =>
      b.segment === f.properties.index && b.count === f.properties.count)),
    `chart ${JSON.stringify(bars.slice(0, 4))}…, API ${JSON.stringify(expected.slice(0, 4).map((f) => f.properties))}…`);
    const total = answer.features.reduce((sum, f) => sum + f.properties.count, 0);
    const shown = Number(await page.locator('#route-risk-total').textContent());
    expect(shown === total, `total ${shown}, API ${total}`);

    // The map: the stretches drawn are the API's, coloured by the legend's class of their count.
    await waitForMapIdle(page);
    const classes = await legendClasses(page, '#route-risk .classes');
    const drawn = await page.evaluate(() => ({
      data: window.map.getSource('route-risk').serialize().data,
      color: window.map.getPaintProperty('route-risk-line', 'line-color'),
      rendered: window.map.queryRenderedFeatures({ layers: ['route-risk-line'] }).map((f) => f.properties),
    }));
    expect(JSON.stringify(drawn.data.features.map((f) => [f.id, f.properties.count])) ===
      JSON.stringify(answer.features.map((f) => [f.id, f.properties.count])), 'the stretches on the map differ from the API\'s');
    expect(drawn.rendered.length > 0, 'no stretch rendered');
    for (const f of answer.features) {
      const color = step(drawn.color, f.properties.count);
      const legend = classOf(classes, f.properties.count);
      expect(legend && legend.color === color, `stretch ${f.properties.index} (${f.properties.count}) drawn ${color}, legend ${JSON.stringify(legend)}`);
      const bar = bars.find((b) => b.segment === f.properties.index);
      expect(!bar || bar.fill === color, `bar ${f.properties.index} ${bar?.fill}, map ${color}`);
    }
    expect(new Set(answer.features.map((f) => step(drawn.color, f.properties.count))).size > 1, 'every stretch has the same colour');
    await page.screenshot({ path: join(screenshots, 'analysis-route-risk.png') });
    return `${target.name}: ${answer.features.length} stretches, ${total} incidents, ${classes.length} classes`;
  });

  await check('5 km stretches redraw the route and the chart with the API\'s counts', async () => {
    expect(route, 'no route chosen');
    await page.selectOption('#route-risk select[name="segment-km"]', '5');
    const answer = await api(server, `/routes/${route.id}/profile?${FILTERS}&segment_km=5&f=geojson`);
    await page.waitForFunction((n) => window.map.getSource('route-risk').serialize().data.features.length === n,
      answer.features.length, { timeout: 15000 });
    const bars = await page.locator('#route-risk svg rect[data-segment]').evaluateAll((rects) =>
      rects.map((r) => `${r.dataset.segment}:${r.dataset.count}`));
    const expected = answer.features.filter((f) => f.properties.count > 0).map((f) => `${f.properties.index}:${f.properties.count}`);
    expect(bars.join() === expected.join(), `chart ${bars.slice(0, 5)}…, API ${expected.slice(0, 5)}…`);
    return `${answer.features.length} stretches`;
  });

  await check('coverage rings surround the open bases and circle exactly the API\'s incidents beyond them', async () => {
    if (await page.locator('#route-risk').isVisible()) await page.click('#route-risk button[data-action="close"]');
    await page.click('#analysis summary');
    await page.selectOption('#coverage select[name="radius"]', '25');
    await page.click('#coverage button[type="submit"]');
    const answer = await api(server, `/stats/coverage?${FILTERS}&radius_km=25&limit=10000`);
    await page.waitForFunction((n) => document.getElementById('coverage-summary').dataset.beyond === String(n),
      answer.beyond, { timeout: 15000 });
    const drawn = await page.evaluate(() => ({
      rings: window.map.getSource('coverage-rings').serialize().data.features.map((f) => f.id),
      beyond: window.map.getSource('coverage-beyond').serialize().data.features.map((f) => f.id),
    }));
    const expected = answer.uncovered.features.map((f) => f.id);
    expect(drawn.beyond.length === expected.length && [...drawn.beyond].sort().join() === [...expected].sort().join(),
      `${drawn.beyond.length} incidents circled, the API ${expected.length}`);
    const bases = (await api(server, '/collections/bases/items?limit=10000')).features.filter((b) =>
      (!b.properties.opened || b.properties.opened <= '2021-12-31') && (!b.properties.closed || b.properties.closed >= '2015-01-01'));
    expect([...drawn.rings].sort().join() === bases.map((b) => b.id).sort().join(),
      `${drawn.rings.length} rings, ${bases.length} bases open in 2015–2021`);
    await page.evaluate(() => window.map.jumpTo({ center: [-2.5, 15.5], zoom: 6 }));
    await waitForMapIdle(page);
    const rendered = await page.evaluate(() => window.map.queryRenderedFeatures({ layers: ['coverage-beyond'] }).length);
    expect(rendered > 0, 'no incident beyond the rings rendered');
    await page.screenshot({ path: join(screenshots, 'analysis-coverage.png') });
    return `${answer.beyond} of ${answer.incidents} beyond 25 km of ${bases.length} bases`;
  });

  for (const unit of ['region', 'cercle']) {
    await check(`areas shaded per ${unit} carry the API's counts and the legend's colours`, async () => {
      await page.click('#coverage button[data-action="clear"]');
      await page.selectOption('#choropleth-by', unit);
      await page.waitForFunction((u) => document.getElementById('choropleth-legend').dataset.unit === u, unit, { timeout: 15000 });
      await waitForMapIdle(page);
      const answer = await api(server, `/stats/incidents?${FILTERS}&group_by=${unit}`);
      const counts = new Map(answer.rows.filter((r) => r[`${unit}_id`]).map((r) => [r[`${unit}_id`], r.count]));
      const classes = await legendClasses(page, '#choropleth-legend');
      const drawn = await page.evaluate((layer) => ({
        color: window.map.getPaintProperty(`choropleth-${layer}s`, 'fill-color'),
        rendered: window.map.queryRenderedFeatures({ layers: [`choropleth-${layer}s`] }).map((f) => f.properties.id),
      }), unit);
      // fill-color is ['step', ['match', ['get', 'id'], id1, n1, ..., 0], colours...]: the counts drawn.
      const match = drawn.color[1];
      expect(match[0] === 'match' && JSON.stringify(match[1]) === '["get","id"]' && match.at(-1) === 0,
        `fill-color ${JSON.stringify(drawn.color).slice(0, 200)}`);
      const shaded = new Map();
      for (let i = 2; i + 1 < match.length; i += 2) shaded.set(match[i], match[i + 1]);
      expect(shaded.size === counts.size && [...counts].every(([id, n]) => shaded.get(id) === n),
        `counts drawn ${JSON.stringify([...shaded].slice(0, 4))}…, the API ${JSON.stringify([...counts].slice(0, 4))}…`);
      expect(drawn.rendered.length > 0, `no ${unit} shaded`);
      for (const [id, count] of counts) {
        const legend = classOf(classes, count);
        expect(legend && legend.color === step(drawn.color, count), `${unit} ${id}: ${count} drawn ${step(drawn.color, count)}, legend ${JSON.stringify(legend)}`);
      }
      expect(new URL(page.url()).searchParams.get('shade') === unit, `URL ${page.url()}`);
      await page.screenshot({ path: join(screenshots, `analysis-choropleth-${unit}.png`) });
      return `${new Set(drawn.rendered).size} ${unit}s drawn, ${counts.size} with incidents, ${classes.length} classes`;
    });
  }

  const chartRows = () => page.locator('#month-chart rect[data-month]').evaluateAll((rects) =>
    rects.map((r) => `${r.dataset.month} ${r.dataset.type} ${r.dataset.count}`).sort());

  await check('the chart of incidents per month by type draws the API\'s counts', async () => {
    const answer = await api(server, `/stats/incidents?${FILTERS}&group_by=month,type`);
    const expected = answer.rows.map((r) => `${r.month} ${r.type} ${r.count}`).sort();
    await page.waitForFunction((n) => document.querySelectorAll('#month-chart rect[data-month]').length === n, expected.length,
      { timeout: 15000 });
    const drawn = await chartRows();
    expect(drawn.join() === expected.join(), `${drawn.length} bars drawn, the API ${expected.length} rows`);
    const months = await page.locator('#month-chart g').count();
    expect(months === 7 * 12, `${months} months drawn, 2015–2021 has 84`);
    return `${drawn.length} (month, type) counts over ${months} months`;
  });

  await check('the chart and the shading follow the type filter', async () => {
    for (const type of ['direct_fire', 'indirect_fire', 'ambush', 'attack_on_civilians', 'other']) {
      await page.uncheck(`#filters input[name="type"][value="${type}"]`);
    }
    const query = `${FILTERS}&type=ied_detonated,ied_neutralized`;
    const answer = await api(server, `/stats/incidents?${query}&group_by=month,type`);
    const expected = answer.rows.map((r) => `${r.month} ${r.type} ${r.count}`).sort();
    await page.waitForFunction((n) => document.querySelectorAll('#month-chart rect[data-month]').length === n, expected.length,
      { timeout: 15000 });
    const drawn = await chartRows();
    expect(drawn.join() === expected.join(), `${drawn.length} bars, the API ${expected.length} rows`);
    const cercles = (await api(server, `/stats/incidents?${query}&group_by=cercle`)).rows.filter((r) => r.cercle_id);
    await page.waitForFunction((rows) => {
      const match = window.map.getPaintProperty('choropleth-cercles', 'fill-color')[1];
      return match.length === 3 + 2 * rows.length && rows.every((r) => match[match.indexOf(r.cercle_id) + 1] === r.count);
    }, cercles, { timeout: 15000 });
    return `${drawn.length} bars, ${cercles.length} cercles`;
  });
});
