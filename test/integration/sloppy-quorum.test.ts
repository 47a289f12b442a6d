import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dynamo, LevelStorage, MemoryStorage, QuorumError } from '../../src/index.js';
import { startCluster, type TestCluster } from '../helpers/cluster.js';

const FAST = { gossipIntervalMs: 20, hintIntervalMs: 50, timeoutMs: 300 };

async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function seenDown(c: TestCluster, down: readonly string[]): Promise<void> {
  const live = c.nodes.filter((n) => !down.includes(n.id));
  await eventually(`${down.join(',')} seen down`, () =>
    live.every((n) => n.members().every((m) => down.includes(m.id) === (m.status === 'down'))),
  );
}

async function allHintsDelivered(nodes: readonly Dynamo[]): Promise<void> {
  await eventually('every hint delivered', async () => (await Promise.all(nodes.map((n) => n.hintsPending()))).every((h) => h === 0));
}

test('five members, W=2: with any two isolated, puts through any reachable member succeed; hints reach the owners', async () => {
  const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
  const pairs = ids.flatMap((a, i) => ids.slice(i + 1).map((b) => [a, b] as const));
  assert.equal(pairs.length, 10);
  for (const down of pairs) {
    const c = await startCluster(5, FAST);
    try {
      for (const id of down) c.net.isolate(id);
      await seenDown(c, down);
      const live = c.nodes.filter((n) => !down.includes(n.id as never));
      const written: string[] = [];
      for (let i = 0; i < 20; i++) {
        const key = `k${i}`;
        await live[i % live.length]!.put(key, `v${i}`);
        written.push(key);
      }
      const hinted = (await Promise.all(live.map((n) => n.hintsPending()))).reduce((a, b) => a + b, 0);
      assert.ok(hinted > 0, 'stand-ins hold hints for the isolated owners');
      c.net.heal();
      await allHintsDelivered(c.nodes);
      for (const [i, key] of written.entries()) {
        for (const owner of c.node('n1').preferenceList(key)) {
          assert.deepEqual((await c.node(owner).readLocal(key))?.values, [`v${i}`], `${key} on its owner ${owner} (down: ${down})`);
        }
      }
    } finally {
      await c.stop();
    }
  }
});

test('PW=2 refuses a write that only stand-ins could take', async () => {
  const c = await startCluster(5, FAST);
  try {
    const key = 'strict';
    const [, second, third] = c.node('n1').preferenceList(key) as [string, string, string];
    c.net.isolate(second);
    c.net.isolate(third);
    await seenDown(c, [second, third]);
    const first = c.node(c.node('n1').preferenceList(key)[0]!);
    await first.put(key, 'sloppy');
    await assert.rejects(first.put(key, 'strict', { pw: 2 }), QuorumError);
    c.net.heal();
  } finally {
    await c.stop();
  }
});

test('crashed owners: writes go to stand-ins, and restarted owners receive them', async () => {
  const storages = new Map<string, MemoryStorage>();
  const c = await startCluster(5, {
    ...FAST,
    storage: (id) => {
      const s = new MemoryStorage();
      storages.set(id, s);
      return s;
    },
  });
  const restarted: Dynamo[] = [];
  try {
    const crashed = ['n2', 'n4'];
    for (const id of crashed) await c.node(id).stop();
    const live = c.nodes.filter((n) => !crashed.includes(n.id));
    for (let i = 0; i < 30; i++) await live[i % live.length]!.put(`c${i}`, i);
    for (const id of crashed) {
      const node = new Dynamo({ ...FAST, id, transport: c.net.transport(id), storage: storages.get(id)!, seeds: c.ids });
      await node.start();
      restarted.push(node);
    }
    const everyone = [...live, ...restarted];
    await allHintsDelivered(everyone);
    for (let i = 0; i < 30; i++) {
      for (const owner of live[0]!.preferenceList(`c${i}`)) {
        const node = everyone.find((n) => n.id === owner)!;
        assert.deepEqual((await node.readLocal(`c${i}`))?.values, [i], `c${i} on ${owner}`);
      }
    }
  } finally {
    await Promise.all([...c.nodes.map((n) => n.stop()), ...restarted.map((n) => n.stop())]);
  }
});

test('hints survive a crash and restart of the stand-in, and are still delivered', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'libdynamo-hints-'));
  const c = await startCluster(5, { ...FAST, storage: (id) => new LevelStorage(join(dir, id)) });
  let standIn: Dynamo | undefined;
  try {
    const key = 'hinted';
    const owners = c.node('n1').preferenceList(key);
    const owner = owners[2]!;
    c.net.isolate(owner);
    await seenDown(c, [owner]);
    await c.node(owners[0]!).put(key, 'kept');
    const holders: string[] = [];
    await eventually('the stand-in to store its hint', async () => {
      holders.length = 0;
      for (const n of c.nodes) if ((await n.hintsPending()) > 0) holders.push(n.id);
      return holders.length > 0;
    });
    assert.equal(holders.length, 1, `one stand-in holds the hint, not ${holders.join(', ')}`);
    const holder = holders[0]!;
    await c.node(holder).stop();
    standIn = new Dynamo({ ...FAST, id: holder, transport: c.net.transport(holder), storage: new LevelStorage(join(dir, holder)), seeds: c.ids });
    await standIn.start();
    assert.equal(await standIn.hintsPending(), 1, 'the hint is still there after the restart');
    c.net.heal();
    await allHintsDelivered([standIn]);
    assert.deepEqual((await c.node(owner).readLocal(key))?.values, ['kept']);
  } finally {
    await Promise.all([...c.nodes.map((n) => n.stop()), standIn?.stop()]);
    await rm(dir, { recursive: true, force: true });
  }
});

test('hints are bounded by count and by age, with an event for each one dropped', async () => {
  const c = await startCluster(5, { ...FAST, maxHints: 3 });
  try {
    const dropped: string[] = [];
    for (const n of c.nodes) n.on('hint:dropped', (e) => dropped.push(e.target));
    c.net.isolate('n5');
    await seenDown(c, ['n5']);
    const live = c.nodes.filter((n) => n.id !== 'n5');
    for (let i = 0; i < 40; i++) await live[i % 4]!.put(`b${i}`, i);
    await eventually('hints over the bound to be dropped', () => dropped.length > 0);
    for (const n of live) assert.ok((await n.hintsPending()) <= 3, `${n.id} keeps at most maxHints`);
    assert.ok(dropped.every((target) => target === 'n5'));
    assert.ok(live.some((n) => (n.metrics().counters['hints_dropped'] ?? 0) > 0));
  } finally {
    c.net.heal();
    await c.stop();
  }

  const aged = await startCluster(5, { ...FAST, maxHintAgeMs: 150 });
  try {
    let dropped = 0;
    for (const n of aged.nodes) n.on('hint:dropped', () => dropped++);
    aged.net.isolate('n5');
    await seenDown(aged, ['n5']);
    const live = aged.nodes.filter((n) => n.id !== 'n5');
    for (let i = 0; i < 10; i++) await live[i % 4]!.put(`a${i}`, i);
    await eventually('every hint to age out', async () => (await Promise.all(live.map((n) => n.hintsPending()))).every((h) => h === 0));
    assert.ok(dropped > 0);
  } finally {
    aged.net.heal();
    await aged.stop();
  }
});

test('an owner that refuses a write mid-request is replaced on the spot by the next stand-in, so W=3 still succeeds', async () => {
  const c = await startCluster(4, { ...FAST, n: 3, w: 3 });
  try {
    const key = findOwnedKey(c, 'n1');
    const owners = c.node('n1').preferenceList(key);
    const victim = owners.find((id) => id !== 'n1')!;
    const standIn = c.ids.find((id) => !owners.includes(id))!;
    // Stopped, and not yet seen down by anyone: n1 still chooses it, and it refuses.
    await c.node(victim).stop();
    const stored: string[] = [];
    c.node(standIn).on('hint:stored', ({ target }: { target: string }) => stored.push(target));
    await c.node('n1').put(key, 'v', { w: 3 });
    assert.deepEqual(stored, [victim], `${standIn} keeps the copy for ${victim}`);
    assert.equal(await c.node(standIn).hintsPending(), 1);
  } finally {
    await c.stop();
  }
});

/** A key that `id` owns (the test puts through it, so it coordinates). */
function findOwnedKey(c: TestCluster, id: string): string {
  for (let i = 0; ; i++) if (c.node(id).preferenceList(`refuse:${i}`).includes(id)) return `refuse:${i}`;
}
