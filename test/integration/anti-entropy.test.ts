import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Dynamo, InMemoryNetwork, MemoryStorage, type IterateOptions, type Storage, type StorageOp } from '../../src/index.js';
import { startCluster } from '../helpers/cluster.js';

// No gossip rounds and no periodic anti-entropy during these tests: what converges the
// replicas is the sync() the test calls, nothing else. Requests get a generous timeout: on
// a loaded machine a peer may take a while to answer, and no step here is about timing.
const QUIET = { gossipIntervalMs: 3_600_000, antiEntropyIntervalMs: 3_600_000, timeoutMs: 30_000, readRepair: false };

async function putMany(node: Dynamo, count: number, prefix: string, value: (i: number) => unknown, w = 3): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < count) {
        const i = next++;
        await node.put(`${prefix}${i}`, value(i), { w });
      }
    }),
  );
}

/**
 * A Storage that also applies every write to the `data` space to `copies`: stores that then
 * hold the same replicas (and nothing else: identity, counters and hints stay the writer's).
 */
class TeeStorage implements Storage {
  readonly supports;
  readonly #main: Storage;
  readonly #copies: readonly Storage[];
  constructor(main: Storage, copies: readonly Storage[]) {
    this.supports = main.supports;
    this.#main = main;
    this.#copies = copies;
  }
  async open() {
    await Promise.all([this.#main, ...this.#copies].map((s) => s.open()));
  }
  async close() {
    await Promise.all([this.#main, ...this.#copies].map((s) => s.close()));
  }
  get(space: string, key: Uint8Array) {
    return this.#main.get(space, key);
  }
  getMany(space: string, keys: readonly Uint8Array[]) {
    return this.#main.getMany(space, keys);
  }
  async batch(ops: readonly StorageOp[]) {
    const data = ops.filter((op) => op.space === 'data');
    await Promise.all([this.#main.batch(ops), ...(data.length === 0 ? [] : this.#copies.map((s) => s.batch(data)))]);
  }
  iterate(space: string, options?: IterateOptions) {
    return this.#main.iterate(space, options);
  }
}

/**
 * Stores for `ids` holding the same `count` keys, as if every put had reached all three
 * replicas. The keys are put through the public API of a lone member (one local write each,
 * no replication traffic), its data writes going to every store: the bulk load is not what
 * the test is about, and 300k replica writes through the network take tens of seconds on a
 * loaded machine, with timeouts to fear.
 */
async function identicalStores(ids: readonly string[], count: number, value: (i: number) => unknown): Promise<Map<string, Storage>> {
  const stores = new Map<string, Storage>(ids.map((id) => [id, new MemoryStorage()]));
  const [first, ...others] = ids as [string, ...string[]];
  const tee = new TeeStorage(stores.get(first)!, others.map((id) => stores.get(id)!));
  const lone = new Dynamo({ ...QUIET, id: first, transport: new InMemoryNetwork().transport(first), storage: tee, seeds: [first] });
  await lone.start();
  try {
    await putMany(lone, count, 'k', value, 1);
  } finally {
    await lone.stop();
  }
  return stores;
}

test('100k keys, 10 changed on one replica: sync makes all three identical and ships under 1% of a full copy', async () => {
  const KEYS = 100_000;
  const ids = ['n1', 'n2', 'n3'];
  const stores = await identicalStores(ids, KEYS, (i) => ({ i, pad: 'x'.repeat(64) }));
  const c = await startCluster(3, { ...QUIET, ids, storage: (id) => stores.get(id)! });
  try {
    const [a, b, d] = c.nodes as [Dynamo, Dynamo, Dynamo];
    for (const node of [a, b, d]) assert.equal((await node.readLocal('k99999'))?.values.length, 1, `${node.id} holds the keys`);
    // Ten writes that reach only `a`: the others are cut off, and W=1 (the put resolves on
    // the local write; its replicate requests are lost and time out in the background).
    c.net.isolate('n2');
    c.net.isolate('n3');
    for (let i = 0; i < 10; i++) await a.put(`k${i * 9973}`, { changed: i }, { w: 1, timeoutMs: 500 });
    c.net.heal();
    for (let i = 0; i < 10; i++) assert.equal((await b.readLocal(`k${i * 9973}`))?.values.length, 1, 'b missed the change');

    const fullCopyBytes = KEYS * (new TextEncoder().encode('k99999').length + 130);
    const report = await a.sync();
    assert.equal(report.keysDiffering, 20, 'each changed key differs with each of the two peers');
    assert.equal(report.keysSent, 20);
    assert.ok(report.keysSent <= KEYS * 0.001 * 2, 'at most 0.1% of the keys per peer');
    assert.ok(report.bytesSent < fullCopyBytes * 0.01, `${report.bytesSent} bytes sent vs ${fullCopyBytes} for a full copy`);
    for (let i = 0; i < 10; i++) {
      for (const node of [a, b, d]) {
        const local = await node.readLocal(`k${i * 9973}`);
        assert.equal(local?.values.length, 2, `k${i * 9973} on ${node.id}: the change and the value it was concurrent with`);
      }
    }
    // Identical now: a second round finds nothing to do between any pair.
    for (const node of [a, b, d]) assert.equal((await node.sync()).keysDiffering, 0, `${node.id} agrees with everyone`);
    console.log(`sync of 100k keys with 10 changed: ${report.bytesSent} bytes sent (${((100 * report.bytesSent) / fullCopyBytes).toFixed(3)}% of a full copy), ${report.rangesCompared} ranges compared`);
  } finally {
    await c.stop();
  }
});

test('a wiped replica is restored by anti-entropy alone, and its new writes never supersede its old ones', async () => {
  const c = await startCluster(3, QUIET);
  let wiped: Dynamo | undefined;
  try {
    const victim = c.node('n3');
    await putMany(c.node('n1'), 1000, 'w', (i) => i);
    await victim.put('mine', 'before the wipe', { w: 3 });
    await victim.stop();
    wiped = new Dynamo({ ...QUIET, id: 'n3', transport: c.net.transport('n3'), storage: new MemoryStorage(), seeds: c.ids });
    await wiped.start();
    assert.equal(await wiped.readLocal('w1'), undefined, 'the new store is empty');
    const report = await wiped.sync();
    assert.equal(report.keysReceived, 1001);
    for (let i = 0; i < 1000; i++) assert.deepEqual((await wiped.readLocal(`w${i}`))?.values, [i]);
    // A write the wiped member coordinates without context is concurrent with its old one.
    await wiped.put('mine', 'after the wipe', { w: 3 });
    const got = await c.node('n1').get<string>('mine', { r: 3 });
    assert.deepEqual(got.values.sort(), ['after the wipe', 'before the wipe']);
  } finally {
    await Promise.all([c.node('n1').stop(), c.node('n2').stop(), wiped?.stop()]);
  }
});
