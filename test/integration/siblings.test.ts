// Sibling growth and its limits, resolvers and CRDT values, through the public API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DynamoError, ORMap, ORSet, PNCounter, lastWriteWins, union, type ConflictEvent } from '../../src/index.js';
import { startCluster, findKey } from '../helpers/cluster.js';

test('10 clients writing 20 times each with their own last context: siblings never exceed the writers; a context that saw them all leaves one', async () => {
  const cluster = await startCluster(3);
  try {
    const [a] = cluster.nodes;
    const key = 'sibling-growth';
    const contexts: (string | undefined)[] = Array.from({ length: 10 }, () => undefined);
    for (let round = 0; round < 20; round++) {
      // The ten writes of a round run concurrently, each with its client's previous context.
      await Promise.all(
        contexts.map(async (context, client) => {
          const via = cluster.nodes[(client + round) % 3]!;
          const { context: next } = await via.put(key, { client, round }, context === undefined ? {} : { context });
          contexts[client] = next;
        }),
      );
      const { values } = await a!.get(key);
      assert.ok(values.length <= 10, `round ${round}: ${values.length} siblings for 10 writers`);
    }
    const seen = await a!.get(key);
    assert.equal(seen.values.length, 10, 'one sibling per writer: each superseded its own previous write');
    await a!.put(key, 'final', { context: seen.context });
    for (const n of cluster.nodes) assert.deepEqual((await n.get(key)).values, ['final']);
  } finally {
    await cluster.stop();
  }
});

test('past siblingsWarn a conflict event warns; past maxSiblings a put is refused and nothing is written', async () => {
  const cluster = await startCluster(3, { siblingsWarn: 3, maxSiblings: 5 });
  try {
    const [a, b] = cluster.nodes as [NonNullable<(typeof cluster.nodes)[0]>, NonNullable<(typeof cluster.nodes)[0]>];
    const warnings: ConflictEvent[] = [];
    for (const n of cluster.nodes) n.on('conflict', (e) => e.overWarning && warnings.push(e));
    const key = 'many-siblings';
    for (let i = 0; i < 5; i++) await a.put(key, i);
    assert.ok(warnings.length > 0 && warnings.every((e) => e.siblings > 3), 'warned past 3 siblings');
    await assert.rejects(b.put(key, 'sixth'), (error: unknown) => error instanceof DynamoError && error.code === 'TOO_MANY_SIBLINGS' && /maxSiblings/.test(error.message));
    const { values, context } = await b.get(key);
    assert.equal(values.length, 5, 'the refused write left nothing behind');
    await b.put(key, 'merged', { context });
    assert.deepEqual((await a.get(key)).values, ['merged'], 'a write that saw them all is always allowed');
  } finally {
    await cluster.stop();
  }
});

test('a resolver merges siblings on read and writes the merge back; per request it overrides the instance', async () => {
  const cluster = await startCluster(3, { resolve: union });
  try {
    const [a, b] = cluster.nodes as [NonNullable<(typeof cluster.nodes)[0]>, NonNullable<(typeof cluster.nodes)[0]>];
    const key = findKey(cluster, () => true, 'resolved');
    await a.put(key, ['book']);
    await b.put(key, ['pen']);
    const read = await a.get<string[]>(key);
    assert.deepEqual(read.values.map((v) => [...v].sort()), [['book', 'pen']]);
    for (const n of cluster.nodes) {
      await waitUntil(async () => (await n.readLocal(key))?.values.length === 1);
    }
    // Per request: last write wins over the instance's union.
    await a.put(key, ['x'], { context: read.context });
    await new Promise((r) => setTimeout(r, 5));
    await b.put(key, ['y'], { context: read.context });
    assert.deepEqual((await b.get(key, { resolve: lastWriteWins })).values, [['y']]);
  } finally {
    await cluster.stop();
  }
});

test('CRDT values never surface siblings: an ORMap cart keeps concurrent adds and a removed item stays removed after heal', async () => {
  const cluster = await startCluster(5, { ids: ['a', 'b', 'c', 'd', 'e'], gossipIntervalMs: 20, timeoutMs: 1000 });
  try {
    const node = (id: string) => cluster.node(id);
    // Owned by b, e and a: each side of the partition below holds an owner to coordinate.
    const key = 'cart:alice';
    assert.deepEqual([...node('a').preferenceList(key)].sort(), ['a', 'b', 'e']);
    const qty = (cart: ORMap) => Object.fromEntries(cart.keys().map((k) => [k, cart.get(k, PNCounter)!.value()]));
    let cart = ORMap.empty()
      .update('alice', 'book', PNCounter, (q) => q.increment('alice', 1))
      .update('alice', 'pen', PNCounter, (q) => q.increment('alice', 2));
    await node('a').put(key, cart);
    const before = await node('a').get<ORMap>(key);

    cluster.net.partition(['a', 'b', 'c'], ['d', 'e']);
    // Left: remove the pen, having seen it. Right: add a lamp.
    cart = before.values[0]!.remove('pen');
    await node('a').put(key, cart, { context: before.context, w: 1 });
    const right = before.values[0]!.update('bob', 'lamp', PNCounter, (q) => q.increment('bob', 1));
    await node('e').put(key, right, { context: before.context, w: 1 });
    cluster.net.heal();

    await waitUntil(async () => {
      const { values } = await node('c').get<ORMap>(key, { r: 3 });
      return values.length === 1 && values[0]!.keys().length === 2;
    });
    const { values } = await node('c').get<ORMap>(key, { r: 3 });
    assert.equal(values.length, 1, 'no siblings: the two carts merged');
    assert.deepEqual(qty(values[0]!), { book: 1, lamp: 1 }, 'the pen stays removed, the lamp added concurrently is kept');
    // An ORSet too, with the same guarantee.
    await node('a').put('tags', ORSet.empty<string>().add('a', 'x'));
    await node('b').put('tags', ORSet.empty<string>().add('b', 'y'));
    assert.deepEqual((await node('c').get<ORSet<string>>('tags')).values.map((s) => s.value()), [['x', 'y']]);
  } finally {
    await cluster.stop();
  }
});

test('CRDT siblings are merged inside the replicas too: without any read, every owner ends with one stored version', async () => {
  const cluster = await startCluster(5, { ids: ['a', 'b', 'c', 'd', 'e'], gossipIntervalMs: 20, timeoutMs: 1000 });
  try {
    const node = (id: string) => cluster.node(id);
    const key = 'cart:alice'; // owned by b, e and a
    await node('a').put(key, ORSet.empty<string>().add('alice', 'book'));
    const { context } = await node('a').get<ORSet<string>>(key);
    cluster.net.partition(['a', 'b', 'c'], ['d', 'e']);
    await node('a').put(key, ORSet.empty<string>().add('alice', 'book').add('alice', 'pen'), { context, w: 1 });
    await node('e').put(key, ORSet.empty<string>().add('alice', 'book').add('bob', 'lamp'), { context, w: 1 });
    cluster.net.heal();
    await waitUntil(async () => {
      await Promise.all(cluster.nodes.map((n) => n.sync().catch(() => undefined)));
      const copies = await Promise.all(['a', 'b', 'e'].map((id) => node(id).readLocal<ORSet<string>>(key)));
      return copies.every((c) => c !== undefined && c.values.length === 1 && c.values[0]!.value().length === 3);
    }, 20_000);
    for (const id of ['a', 'b', 'e']) {
      const local = await node(id).readLocal<ORSet<string>>(key);
      assert.deepEqual(local!.values.map((s) => [...s.value()].sort()), [['book', 'lamp', 'pen']], `${id} stores one merged version`);
    }
  } finally {
    await cluster.stop();
  }
});

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
