/**
 * The cart service (examples/cart-service) as real OS processes over TCP on loopback, each
 * a libdynamo member with LevelDB, driven through its HTTP API:
 * (a) a write through one member is read through another;
 * (b) after `kill -9` of one owner of the cart, writes keep succeeding (N=3, W=2), the
 *     owner's copies going to a stand-in as hints (sloppy quorum);
 * (c) the owner restarted on its LevelDB folder receives the hints and every owner's own
 *     replica converges;
 * (d) a process with the wrong cluster secret is refused (and the cluster logs it) while the
 *     cluster serves on;
 * (e) SIGTERM stops every member cleanly.
 * Four members, because a stand-in must exist past the N=3 owners of the cart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { freePorts } from '../../examples/cart-service/free-port.js';
import type { MemberProcess, MemberSpec } from '../../examples/cart-service/member-process.js';
import { api, killAll, killHard, spawnMember, terminate, waitFor } from '../fixtures/cart-process.js';

interface CartBody {
  id: string;
  items: Record<string, number>;
  siblings: number;
}
interface LocalCartBody extends CartBody {
  found: boolean;
  owners: string[];
}
interface HealthBody {
  status: string;
  hintsPending: number;
  up: number;
  down: number;
}
interface MembersBody {
  members: { id: string; status: string }[];
}

const HOST = '127.0.0.1';
const CART = 'alice';

test('cart-service processes: quorum, kill -9, hinted handoff after restart, wrong secret refused', { timeout: 180_000 }, async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'libdynamo-multi-process-'));
  t.after(async () => {
    await killAll();
    await rm(root, { recursive: true, force: true });
  });

  const secret = randomBytes(24).toString('base64url');
  const ids = ['a', 'b', 'c', 'd'];
  const ports = await freePorts(ids.length + 1, HOST);
  const seeds = ids.map((_, i) => `${HOST}:${ports[i]!}`);
  const specOf = (id: string, i: number): MemberSpec => ({
    id, host: HOST, peerPort: ports[i]!, httpPort: 0, seeds, dataDir: join(root, id), secret, n: 3, r: 2, w: 2,
  });
  const members = new Map<string, MemberProcess>();
  const member = (id: string): MemberProcess => members.get(id) ?? assert.fail(`no member ${id}`);

  // The first alone, so that the others find it listening and join through it.
  members.set('a', await spawnMember(specOf('a', 0)));
  for (const m of await Promise.all(ids.slice(1).map((id, i) => spawnMember(specOf(id, i + 1))))) members.set(m.spec.id, m);
  for (const id of ids) {
    await waitFor(`${id} to see all four members up`, () => api<MembersBody>(member(id), 'GET', '/members'),
      ({ body }) => body.members.filter((m) => m.status === 'up').length === ids.length);
  }

  // Roles for the cart: the owner that will be killed, two owners that stay, a stand-in.
  const { owners } = (await api<LocalCartBody>(member('a'), 'GET', `/local/carts/${CART}`)).body;
  assert.equal(owners.length, 3, 'N=3 owners');
  const [victimId, writerId, readerId] = owners as [string, string, string];
  const standInId = ids.find((id) => !owners.includes(id))!;
  const expected: Record<string, number> = {};

  const add = async (via: string, sku: string, qty = 1): Promise<CartBody> => {
    const { status, body } = await api<CartBody>(member(via), 'POST', `/carts/${CART}/items`, { sku, qty });
    assert.equal(status, 200, `add ${sku} through ${via}: ${JSON.stringify(body)}`);
    expected[sku] = qty;
    return body;
  };

  await t.test('(a) a write through one member is read through another', async () => {
    await add(writerId, 'book');
    await add(writerId, 'pen', 2);
    const removed = await api<CartBody>(member(readerId), 'DELETE', `/carts/${CART}/items/pen`);
    assert.equal(removed.status, 200);
    delete expected['pen'];
    const read = await api<CartBody>(member(standInId), 'GET', `/carts/${CART}`);
    assert.equal(read.status, 200);
    assert.deepEqual(read.body.items, expected);
    assert.equal(read.body.siblings, 1);
    const bad = await api<{ code: string }>(member(writerId), 'POST', `/carts/${CART}/items`, { sku: 'lamp', qty: -1 });
    assert.deepEqual([bad.status, bad.body.code], [400, 'INVALID_QTY']);
  });

  await t.test('(b) after kill -9 of an owner, writes keep succeeding; a stand-in keeps hints', async () => {
    await killHard(member(victimId));
    for (const sku of ['lamp', 'mug', 'sock']) await add(writerId, sku);
    await add(standInId, 'tea', 3);
    const read = await api<CartBody>(member(readerId), 'GET', `/carts/${CART}`);
    assert.deepEqual(read.body.items, expected);
    await waitFor(`${standInId} to hold a hint for ${victimId}`, () => api<HealthBody>(member(standInId), 'GET', '/health'),
      ({ body }) => body.hintsPending > 0);
  });

  await t.test('(c) restarted on its LevelDB folder, the owner gets the hints; every replica converges', async () => {
    members.set(victimId, await spawnMember(member(victimId).spec));
    for (const id of owners) {
      await waitFor(`${id}'s own replica to hold ${JSON.stringify(expected)}`,
        () => api<LocalCartBody>(member(id), 'GET', `/local/carts/${CART}`),
        ({ body }) => body.found && isDeepStrictEqual(body.items, expected), 45_000);
    }
    await waitFor(`${standInId} to have delivered its hints`, () => api<HealthBody>(member(standInId), 'GET', '/health'),
      ({ body }) => body.hintsPending === 0);
    assert.match(member(standInId).log(), /"msg":"hint delivered"/);
  });

  await t.test('(d) a process with the wrong cluster secret is refused; the cluster serves on', async () => {
    const intruder = await spawnMember({
      ...specOf('intruder', ids.length), seeds, secret: 'not-the-cluster-secret-at-all',
    });
    members.set('intruder', intruder);
    await waitFor('a member to log the refused peer', async () => ids.map((id) => member(id).log()),
      (logs) => logs.some((log) => /refused the peer[^\n]*cluster secret/.test(log)));
    assert.match(intruder.log(), /wrong cluster secret/);
    const seen = await api<MembersBody>(intruder, 'GET', '/members');
    assert.deepEqual(seen.body.members.map((m) => m.id), ['intruder'], 'the intruder is alone');
    for (const id of ids) {
      const { body } = await api<MembersBody>(member(id), 'GET', '/members');
      assert.ok(!body.members.some((m) => m.id === 'intruder'), `${id} does not list the intruder`);
    }
    await add(victimId, 'cup');
    assert.deepEqual((await api<CartBody>(member(readerId), 'GET', `/carts/${CART}`)).body.items, expected);
  });

  await t.test('(e) SIGTERM stops every member cleanly', async () => {
    const exits = await Promise.all([...members.values()].map((m) => terminate(m)));
    assert.deepEqual(exits, [...members.values()].map(() => 0));
  });
});
