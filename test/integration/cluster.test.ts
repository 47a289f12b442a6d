import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Dynamo, InMemoryNetwork, MemoryStorage, QuorumError, ValidationError, type RepairEvent, type Transport } from '../../src/index.js';
import { findKey, startCluster } from '../helpers/cluster.js';

test('five members: a put through one is read through another', async () => {
  const c = await startCluster(5);
  try {
    for (const node of c.nodes) assert.equal(node.members().length, 5, `${node.id} knows every member`);
    await c.node('n1').put('cart:alice', { items: ['book'] });
    const got = await c.node('n4').get('cart:alice');
    assert.deepEqual(got.values, [{ items: ['book'] }]);
    assert.equal(typeof got.context, 'string');
    const absent = await c.node('n2').get('cart:nobody');
    assert.deepEqual(absent.values, []);
  } finally {
    await c.stop();
  }
});

test('every member computes the same preference list, of N distinct members', async () => {
  const c = await startCluster(5);
  try {
    for (let i = 0; i < 200; i++) {
      const lists = c.nodes.map((n) => n.preferenceList(`k${i}`));
      for (const list of lists) assert.deepEqual(list, lists[0]);
      assert.equal(new Set(lists[0]).size, 3);
    }
  } finally {
    await c.stop();
  }
});

test('two puts without context through the same member are siblings', async () => {
  const c = await startCluster(5);
  try {
    const key = findKey(c, (owners) => owners.includes('n1'));
    await c.node('n1').put(key, 'x');
    await c.node('n1').put(key, 'y');
    const got = await c.node('n3').get<string>(key);
    assert.deepEqual(got.values.sort(), ['x', 'y']);
    // A write with the context that saw both leaves exactly one version.
    await c.node('n2').put(key, 'xy', { context: got.context });
    const after = await c.node('n5').get<string>(key, { r: 3 });
    assert.deepEqual(after.values, ['xy']);
  } finally {
    await c.stop();
  }
});

test('the classic DVV example leaves exactly v2 and v3', async () => {
  const c = await startCluster(5);
  try {
    const key = findKey(c, (owners) => owners[0] === 'n1');
    const mary = c.node('n1');
    const peter = c.node('n2');
    await mary.put(key, 'v1');
    const seen = await peter.get<string>(key);
    assert.deepEqual(seen.values, ['v1']);
    await mary.put(key, 'v2');
    await peter.put(key, 'v3', { context: seen.context });
    const got = await c.node('n3').get<string>(key, { r: 3 });
    assert.deepEqual(got.values.sort(), ['v2', 'v3']);
  } finally {
    await c.stop();
  }
});

test('a put through a member outside the preference list is forwarded to an owner', async () => {
  const c = await startCluster(5);
  try {
    const key = findKey(c, (owners) => !owners.includes('n1'));
    const { context } = await c.node('n1').put(key, 'forwarded');
    assert.deepEqual((await c.node('n1').get(key)).values, ['forwarded']);
    await c.node('n1').put(key, 'replaced', { context });
    assert.deepEqual((await c.node('n1').get(key, { r: 3 })).values, ['replaced']);
  } finally {
    await c.stop();
  }
});

test('the context returned by put never covers a sibling the caller has not seen', async () => {
  const c = await startCluster(3);
  try {
    const a = c.node('n1');
    await a.put('k', 'other-writer');
    const mine = await a.put('k', 'mine');
    await a.put('k', 'mine-2', { context: mine.context });
    const got = await a.get<string>('k', { r: 3 });
    assert.deepEqual(got.values.sort(), ['mine-2', 'other-writer']);
  } finally {
    await c.stop();
  }
});

test('delete with context leaves no values; a later put with its context revives the key', async () => {
  const c = await startCluster(5);
  try {
    await c.node('n1').put('gone', 1);
    const read = await c.node('n2').get('gone');
    const deleted = await c.node('n3').delete('gone', { context: read.context });
    const after = await c.node('n4').get('gone', { r: 3 });
    assert.deepEqual(after.values, []);
    await c.node('n5').put('gone', 2, { context: deleted.context });
    assert.deepEqual((await c.node('n1').get('gone', { r: 3 })).values, [2]);
  } finally {
    await c.stop();
  }
});

test('update merges siblings through a function and supersedes them', async () => {
  const c = await startCluster(3);
  try {
    await c.node('n1').put('cart', ['a']);
    await c.node('n2').put('cart', ['b']);
    await c.node('n3').update<string[]>('cart', (siblings) => [...new Set(siblings.flat())].sort());
    assert.deepEqual((await c.node('n1').get('cart', { r: 3 })).values, [['a', 'b']]);
  } finally {
    await c.stop();
  }
});

test('read repair brings a replica that missed a write up to date', async () => {
  const c = await startCluster(5, { timeoutMs: 300 });
  try {
    const key = findKey(c, () => true);
    const [first, second, third] = c.node('n1').preferenceList(key) as [string, string, string];
    c.net.isolate(third);
    await c.node(first).put(key, 'fresh');
    assert.equal(await c.node(third).readLocal(key), undefined, 'the isolated replica missed the write');
    c.net.heal();
    const repaired = new Promise<RepairEvent>((resolve) => c.node(second).once('repair', resolve));
    const got = await c.node(second).get(key);
    assert.deepEqual(got.values, ['fresh']);
    const event = await repaired;
    assert.deepEqual(event.replicas, [third]);
    assert.deepEqual((await c.node(third).readLocal(key))?.values, ['fresh']);
  } finally {
    await c.stop();
  }
});

test('replicas in sync are not repaired; a replica answering a read with garbage is a failed replica, not a failed read', async () => {
  const net = new InMemoryNetwork();
  let lie = false;
  // Member c answers reads with random bytes while `lie` is set.
  const inner = net.transport('c');
  const liar: Transport = {
    address: inner.address,
    listen: (handler) =>
      inner.listen(async (message, from) => {
        const answer = await handler(message, from);
        return lie && message.type === 'read' ? { type: 'read-reply', versions: Uint8Array.from({ length: 40 }, (_, i) => (i * 37 + 11) & 0xff) } : answer;
      }),
    request: (to, message, options) => inner.request(to, message, options),
    close: () => inner.close(),
  };
  const ids = ['a', 'b', 'c'];
  const nodes = ids.map((id) => new Dynamo({ id, transport: id === 'c' ? liar : net.transport(id), storage: new MemoryStorage(), seeds: ids, timeoutMs: 500 }));
  await Promise.all(nodes.map((n) => n.start()));
  try {
    const [a] = nodes as [Dynamo, Dynamo, Dynamo];
    for (let i = 0; i < 20; i++) await a.put(`k${i}`, { i });
    for (let i = 0; i < 20; i++) assert.deepEqual((await a.get(`k${i}`)).values, [{ i }]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(a.metrics().counters['read_repairs'] ?? 0, 0, 'identical replicas need no repair');
    lie = true;
    for (let i = 0; i < 20; i++) assert.deepEqual((await a.get(`k${i}`, { r: 2 })).values, [{ i }], 'a and b make the quorum');
    // With R=3 the garbage answer leaves the read one replica short.
    await assert.rejects(a.get('k0', { r: 3 }), QuorumError);
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
});

test('with two of three replicas cut off, a W=2 put fails with QuorumError', async () => {
  const c = await startCluster(5, { timeoutMs: 200 });
  try {
    const key = findKey(c, () => true);
    const [first, second, third] = c.node('n1').preferenceList(key) as [string, string, string];
    c.net.isolate(second);
    c.net.isolate(third);
    await assert.rejects(c.node(first).put(key, 'half'), (error: unknown) => {
      assert.ok(error instanceof QuorumError);
      assert.equal(error.code, 'QUORUM_FAILED');
      assert.equal(error.required, 2);
      assert.equal(error.acks, 1);
      return true;
    });
    // A W=1 write is still accepted by the one reachable owner.
    await c.node(first).put(key, 'one', { w: 1 });
    c.net.heal();
  } finally {
    await c.stop();
  }
});

test('bad input is refused with ValidationError and the cluster keeps working', async () => {
  const c = await startCluster(3);
  try {
    const a = c.node('n1');
    const bad: [string, () => Promise<unknown>][] = [
      ['r > n', () => a.get('k', { r: 4 })],
      ['w = 0', () => a.put('k', 1, { w: 0 })],
      ['2 MiB value', () => a.put('k', new Uint8Array(2 * 1024 * 1024))],
      ['2 MiB string', () => a.put('k', 'x'.repeat(2 * 1024 * 1024))],
      ['5 KiB key', () => a.put('k'.repeat(5 * 1024), 1)],
      ['empty key', () => a.get('')],
      ['number key', () => a.get(42 as unknown as string)],
      ['random-bytes context', () => a.put('k', 1, { context: Buffer.from([0x9f, 1, 2, 0xff, 7]).toString('base64url') })],
      ['non-string context', () => a.put('k', 1, { context: 12 as unknown as string })],
      ['function value', () => a.put('k', () => 1)],
      ['undefined value', () => a.put('k', undefined)],
    ];
    for (const [name, call] of bad) {
      await assert.rejects(call(), ValidationError, name);
    }
    assert.deepEqual((await a.get('k')).values, [], 'nothing was written');
    await a.put('k', 'fine');
    assert.deepEqual((await c.node('n2').get('k')).values, ['fine']);
  } finally {
    await c.stop();
  }
});
