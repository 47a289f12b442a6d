/**
 * The cart service's cluster page in a real headless Chromium: three member processes, the
 * page of one of them shows the ring with all three, a key's replicas, and a member killed
 * with SIGKILL turning `down` within a bounded wait. Skips when /usr/bin/chromium is absent
 * (Debian: `apt-get install chromium`). A screenshot goes to .tmp/cluster-page.png.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { freePorts } from '../../examples/cart-service/free-port.js';
import { REPO_ROOT, type MemberProcess, type MemberSpec } from '../../examples/cart-service/member-process.js';
import { api, killAll, killHard, spawnMember, waitFor } from '../fixtures/cart-process.js';

const CHROMIUM = '/usr/bin/chromium';
/** Without these Chromium tries to reach Google's services and can hang where there is no network. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const HOST = '127.0.0.1';
const IDS = ['a', 'b', 'c'];

interface MembersBody {
  members: { id: string; status: string }[];
}
interface RingBody {
  partitions: number;
  owners: string[];
  counts: Record<string, number>;
}
interface PlacementBody {
  key: string;
  partition: number;
  owners: string[];
}

/**
 * Waits until `expression` (run in the page) is truthy, failing with `what` after `timeoutMs`.
 * Polled from here rather than with `page.waitForFunction`, whose in-page polling evaluates
 * the predicate with `eval`, which the page's Content-Security-Policy forbids.
 */
async function until(page: Page, what: string, expression: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await page.evaluate(expression)) return;
      last = 'false';
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const shown = await page.locator('body').innerText().catch(() => '(no page)');
  throw new Error(`the page never showed ${what} within ${timeoutMs} ms (last: ${String(last)})\n--- page text ---\n${shown}`);
}

test('cluster page: ring of three members, key placement, a killed member shown down', { timeout: 180_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip('chromium not installed: apt-get install chromium');
    return;
  }
  const root = await mkdtemp(join(tmpdir(), 'libdynamo-cluster-page-'));
  let browser: Browser | undefined;
  t.after(async () => {
    await browser?.close().catch(() => {});
    await killAll();
    await rm(root, { recursive: true, force: true });
  });

  const ports = await freePorts(IDS.length, HOST);
  const seeds = IDS.map((_, i) => `${HOST}:${ports[i]!}`);
  const specOf = (id: string, i: number): MemberSpec => ({
    id, host: HOST, peerPort: ports[i]!, httpPort: 0, seeds, dataDir: join(root, id), n: 3, r: 2, w: 2,
  });
  const members = new Map<string, MemberProcess>();
  const member = (id: string): MemberProcess => members.get(id) ?? assert.fail(`no member ${id}`);
  // The first alone, so that the others find it listening and join through it.
  members.set('a', await spawnMember(specOf('a', 0)));
  for (const m of await Promise.all(IDS.slice(1).map((id, i) => spawnMember(specOf(id, i + 1))))) members.set(m.spec.id, m);
  await waitFor('a to see all three members up', () => api<MembersBody>(member('a'), 'GET', '/members'),
    ({ body }) => body.members.filter((m) => m.status === 'up').length === IDS.length);

  // The JSON behind the page: every partition has an owner among the three, and a key's
  // placement agrees with the ring (its first replica owns its partition) and with the
  // service's own answer for the cart.
  const ring = await waitFor('a ring of three owners', () => api<RingBody>(member('a'), 'GET', '/ring'),
    ({ body }) => Object.keys(body.counts).length === IDS.length);
  assert.equal(ring.body.owners.length, ring.body.partitions);
  assert.deepEqual(Object.keys(ring.body.counts).sort(), IDS);
  for (const cart of ['alice', 'bob', 'carol', 'dave', 'erin']) {
    const { body: placement } = await api<PlacementBody>(member('a'), 'GET', `/placement?key=cart:${cart}`);
    assert.equal(placement.owners.length, 3);
    assert.equal(ring.body.owners[placement.partition], placement.owners[0], `cart:${cart} in partition ${placement.partition}`);
    const local = await api<{ owners: string[] }>(member('a'), 'GET', `/local/carts/${cart}`);
    assert.deepEqual(placement.owners, local.body.owners);
  }

  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: 60_000 });
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('response', (answer) => {
    if (answer.status() >= 400) problems.push(`HTTP ${answer.status()} for ${answer.url()}`);
  });
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  const response = await page.goto(`${member('a').ready.http}/cluster`, { waitUntil: 'load', timeout: 30_000 });
  assert.equal(response?.status(), 200);
  assert.match(response.headers()['content-security-policy'] ?? '', /script-src 'self'/);

  // The ring: three legend entries, each member owning arcs, all up.
  await until(page, 'three legend entries, all up',
    `document.querySelectorAll('#ring g.legend-entry[data-status="up"]').length === 3`);
  assert.deepEqual(await page.locator('#ring g.legend-entry').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-member'))), IDS);
  for (const id of IDS) {
    assert.ok((await page.locator(`#ring path.arc[data-member="${id}"]`).count()) > 0, `arcs of ${id}`);
    assert.match((await page.locator(`#ring g.legend-entry[data-member="${id}"]`).textContent()) ?? '', new RegExp(`^${id} · up · ${ring.body.counts[id]} `));
  }
  assert.equal(await page.locator('#self').textContent(), 'a');

  // Where a key lives: the text box shows its N = 3 owners, as the service reports them.
  const expected = (await api<{ owners: string[] }>(member('a'), 'GET', '/local/carts/alice')).body.owners;
  await page.locator('#key').fill('cart:alice');
  await page.locator('#placement-form button').click();
  await until(page, 'three owners of cart:alice', `document.querySelectorAll('#placement-owners li').length === 3`);
  assert.deepEqual(await page.locator('#placement-owners li').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-member'))), expected);
  await until(page, 'the key marker on the ring', `document.querySelector('#ring line.key-marker') !== null`);
  // The strip of partitions clockwise from the key's outlines the same replicas, in order.
  await until(page, 'the replicas outlined in the strip', `document.querySelectorAll('#ring rect.cell.replica').length === 3`);
  assert.deepEqual(await page.locator('#ring rect.cell.replica').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-member'))), expected);

  // Metrics and hints are shown (a write through a gives a counted put).
  const added = await api(member('a'), 'POST', '/carts/alice/items', { sku: 'book', qty: 1 });
  assert.equal(added.status, 200, JSON.stringify(added.body));
  await until(page, 'a counted put', `(document.querySelector('#operations tr[data-op="put"] td:nth-child(2)')?.textContent ?? '0') !== '0'`);
  assert.match((await page.locator('#hints').textContent()) ?? '', /^\d+$/);

  await mkdir(join(REPO_ROOT, '.tmp'), { recursive: true });
  await page.screenshot({ path: join(REPO_ROOT, '.tmp', 'cluster-page.png'), fullPage: true });

  // Kill c: a's failure detector marks it down within seconds, and the page follows.
  const killedAt = Date.now();
  await killHard(member('c'));
  await until(page, 'c down in the members table',
    `document.querySelector('#members tr[data-member="c"]')?.getAttribute('data-status') === 'down'`, 20_000);
  await until(page, 'c down in the ring legend',
    `document.querySelector('#ring g.legend-entry[data-member="c"]')?.getAttribute('data-status') === 'down'`, 5_000);
  await until(page, 'c down among cart:alice owners',
    `[...document.querySelectorAll('#placement-owners li[data-member="c"] .status')].every((s) => s.textContent === 'down')`, 5_000);
  t.diagnostic(`c shown down ${Date.now() - killedAt} ms after SIGKILL`);
  assert.equal(await page.locator('#members tr[data-member="a"]').getAttribute('data-status'), 'up');
  assert.equal(await page.locator('#members tr[data-member="b"]').getAttribute('data-status'), 'up');
  await page.screenshot({ path: join(REPO_ROOT, '.tmp', 'cluster-page-down.png'), fullPage: true });

  assert.deepEqual(problems, []);
});
