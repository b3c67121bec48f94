// The public tally page in a real browser (Debian's Chromium, headless, driven by
// playwright-core). Usage:
//
//   node tests/browser/tally_page.mjs NODE_URL ROUND_ID OUT_DIR [NAME]
//
// For the node at NODE_URL (a civicd, validator or observer) it loads / and /rounds/ROUND_ID,
// checks what a resident reads there against the API (/v1/rounds/ROUND_ID): the title, every
// proposal with its review and reason; before the round is closed, that no votes per project
// are shown; once closed, every project's row with its votes, every funded project in the
// order chosen, the ballots counted and the block the result is recorded in. It runs axe-core
// on the pages (WCAG 2.1 A and AA rules, colour contrast included) and requires zero
// violations, in the light and the dark colour scheme and at 200% zoom; checks that the page
// works without JavaScript, sends a content security policy, and loads nothing from
// elsewhere; and saves screenshots to OUT_DIR, named with NAME (default "round"). Exits 0 if
// all holds, 1 with every failure listed otherwise.
import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const axePath = require.resolve('axe-core/axe.min.js');

const [url, roundId, outDir, name = 'round'] = process.argv.slice(2);
if (!url || !roundId || !outDir) {
  console.error('usage: node tally_page.mjs NODE_URL ROUND_ID OUT_DIR');
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });

const failures = [];
const expect = (ok, what) => { if (!ok) failures.push(what); };

const browser = await chromium.launch({
  executablePath: process.env.CIVIC_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
const foreign = [];
// A context for reading (JavaScript off: the page must read without it) that records every
// request going anywhere but the node.
async function readingContext(options) {
  const context = await browser.newContext({ javaScriptEnabled: false, ...options });
  context.on('request', (request) => { if (!request.url().startsWith(`${url}/`)) foreign.push(request.url()); });
  return context;
}
const number = (n) => n.toLocaleString('en-US');  // the page writes 1,234

try {
  const context = await readingContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();

  const api = await (await context.request.get(`${url}/v1/rounds/${roundId}`)).json();

  const index = await page.goto(`${url}/`);
  expect(index.status() === 200, `GET / answered ${index.status()}`);
  const indexText = await page.innerText('body');
  expect(indexText.includes(api.title), `the index does not name round ${roundId} "${api.title}"`);
  await page.screenshot({ path: join(outDir, `tally-index-${name}.png`), fullPage: true });
  await checkAccessibility(page, 'index');

  const response = await page.goto(`${url}/rounds/${roundId}`);
  expect(response.status() === 200, `GET /rounds/${roundId} answered ${response.status()}`);
  const policy = response.headers()['content-security-policy'] || '';
  expect(policy.includes("default-src 'none'"), `the page's content security policy is "${policy}"`);
  const text = await page.innerText('body');
  expect(text.includes(api.title), 'the round page does not show the title');
  for (const proposal of api.proposals) {
    expect(text.includes(proposal.title), `proposal ${proposal.id} "${proposal.title}" is not on the page`);
    if (proposal.review_reason) {
      expect(text.includes(proposal.review_reason), `the review reason of proposal ${proposal.id} is not on the page`);
    }
  }
  if (api.tally) {
    expect(text.includes(`${number(api.tally.ballots)} ballots counted`), 'the number of ballots counted is not on the page');
    expect(text.includes(`block ${number(api.tally.closed_at_height)}`),
      'the block the result is recorded in is not on the page');
    const titles = new Map(api.proposals.map((p) => [p.id, p.title]));
    // Each funded project's row says it was funded under this round's rule.
    const rows = await page.$$eval('section[aria-labelledby^="unit-"] table tr',
      (trs) => trs.map((tr) => [...tr.children].map((c) => c.innerText.trim())));
    for (const unit of api.tally.units) {
      unit.funded_in_order.forEach((id, order) => {
        const row = rows.find((cells) => cells[0] === String(id) && cells[1] === titles.get(id));
        expect(row !== undefined, `funded project ${id} has no row`);
        if (row) expect(row.some((cell) => cell === `yes (chosen ${order + 1})`), `project ${id} is not shown as funded, chosen ${order + 1}`);
      });
      for (const support of unit.support) {
        const row = rows.find((cells) => cells[0] === String(support.proposal) && cells[1] === titles.get(support.proposal));
        expect(row !== undefined, `project ${support.proposal} has votes in the API but no row on the page`);
        if (row) {
          expect(row[3] === number(support.approvals), `project ${support.proposal}: votes shown ${row[3]}, API says ${support.approvals}`);
          const comparison = row[row.length - 1];
          expect(comparison === 'yes' || comparison === 'no', `project ${support.proposal}: the other rule's column says "${comparison}"`);
        }
      }
    }
    const downloads = await page.$$eval('a', (as) => as.map((a) => a.getAttribute('href')));
    expect(downloads.some((href) => href && href.startsWith(`/v1/rounds/${roundId}/export.pb`)), 'no Pabulib download link');
  } else {
    expect(!/\bVotes\b/.test(text), 'votes per project are shown before the round is closed');
  }
  await page.screenshot({ path: join(outDir, `tally-${name}.png`), fullPage: true });
  await checkAccessibility(page, name);

  // The dark colour scheme (the page follows the reader's setting) must pass the same rules.
  const dark = await readingContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark' });
  const darkPage = await dark.newPage();
  await darkPage.goto(`${url}/rounds/${roundId}`);
  await darkPage.screenshot({ path: join(outDir, `tally-${name}-dark.png`), fullPage: true });
  await checkAccessibility(darkPage, `${name} (dark)`, { colorScheme: 'dark' });

  // At 200% zoom (a 640 px wide viewport at twice the pixel ratio reads like 200%), nothing
  // may need horizontal scrolling and the rules still hold.
  const zoomed = await readingContext({ viewport: { width: 640, height: 900 }, deviceScaleFactor: 2 });
  const zoomedPage = await zoomed.newPage();
  await zoomedPage.goto(`${url}/rounds/${roundId}`);
  await zoomedPage.screenshot({ path: join(outDir, `tally-${name}-200.png`), fullPage: true });
  await checkAccessibility(zoomedPage, `${name} at 200%`);
  const overflow = await evaluateWithScript(zoomedPage, {}, () => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow <= 0, `at 200% zoom the round page scrolls sideways by ${overflow} px`);

  expect(foreign.length === 0, `the page loaded from elsewhere: ${foreign.join(', ')}`);
} finally {
  await browser.close();
}

// axe-core needs script: it runs in a second context of the same page with JavaScript on.
async function checkAccessibility(page, name, options = {}) {
  const results = await evaluateWithScript(page, options, async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join('; ')})`);
  });
  for (const violation of results) failures.push(`axe on the ${name} page: ${violation}`);
}

// Loads the same URL in a context with JavaScript enabled (and the page's script-free policy
// set aside) and axe injected, then evaluates.
async function evaluateWithScript(page, options, fn) {
  const viewport = page.viewportSize();
  const context = await browser.newContext({ viewport, deviceScaleFactor: viewport.width < 800 ? 2 : 1, bypassCSP: true,
    ...options });
  const scripted = await context.newPage();
  await scripted.goto(page.url());
  await scripted.addScriptTag({ path: axePath });
  const value = await scripted.evaluate(fn);
  await context.close();
  return value;
}

if (failures.length > 0) {
  console.error(`tally page: ${failures.length} failure(s):\n- ${failures.join('\n- ')}`);
  process.exit(1);
}
console.log(`tally page: content matches the API, axe-core finds no violations, screenshots in ${outDir}`);
