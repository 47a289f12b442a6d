// The exchange between two replicas wired to each other directly (no network, no cluster):
// what it moves, how many requests it takes, and that it leaves both sides identical.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStorage } from '../../src/storage/memory.js';
import { DotCounter } from '../../src/replica/identity.js';
import { DATA_SPACE, ReplicaStore } from '../../src/replica/replica-store.js';
import { EMPTY_CONTEXT } from '../../src/versioning/dvvset.js';
import { HashTrees, treeMaintenance } from '../../src/anti-entropy/trees.js';
import { AntiEntropy, type KeyedBytes } from '../../src/anti-entropy/exchange.js';
import { dataKey } from '../../src/anti-entropy/layout.js';
import type { Message } from '../../src/transport/transport.js';

const utf8 = new TextEncoder();

interface Replica {
  readonly name: string;
  readonly storage: MemoryStorage;
  readonly trees: HashTrees;
  readonly replicas: ReplicaStore;
  readonly ae: AntiEntropy;
  /** Requests this replica received, by type. */
  readonly received: Map<string, number>;
}

/** Two replicas of `partitions` partitions, each sending its requests to the other. */
async function pair(partitions: number): Promise<[Replica, Replica]> {
  const byName = new Map<string, Replica>();
  const make = async (name: string): Promise<Replica> => {
    const storage = new MemoryStorage();
    await storage.open();
    const trees = new HashTrees(partitions);
    const replicas = new ReplicaStore(storage, DATA_SPACE, await DotCounter.load(storage), {
      storageKey: (key) => dataKey(key),
      onChange: (storageKey, before, after) => trees.change(storageKey, before, after),
    });
    const ae = new AntiEntropy({
      storage,
      trees,
      replicas,
      partitions,
      timeoutMs: 1000,
      send: (peer, message) => serve(byName.get(peer)!, message),
    });
    const replica = { name, storage, trees, replicas, ae, received: new Map<string, number>() };
    byName.set(name, replica);
    return replica;
  };
  return [await make('a'), await make('b')];
}

async function serve(to: Replica, message: Message): Promise<Message> {
  to.received.set(message.type, (to.received.get(message.type) ?? 0) + 1);
  const m = message as Record<string, unknown>;
  switch (message.type) {
    case 'ae-roots':
      return to.ae.compareRoots(m['partitions'] as number[], m['roots'] as Uint8Array);
    case 'ae-leaves':
      return to.ae.compareLeaves(m['partition'] as number, m['leaves'] as Uint8Array);
    case 'ae-keys':
      return to.ae.compareKeys(m['partition'] as number, m['leaves'] as number[], m['entries'] as KeyedBytes[]);
    case 'ae-push':
      await to.ae.accept(m['records'] as KeyedBytes[]);
      return { type: 'ack' };
    default:
      throw new Error(`unexpected ${message.type}`);
  }
}

async function put(replica: Replica, key: string, value: string): Promise<void> {
  await replica.replicas.coordinate(utf8.encode(key), EMPTY_CONTEXT, `actor-${replica.name}`, utf8.encode(value));
}

async function contents(replica: Replica): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const [key, value] of replica.storage.iterate(DATA_SPACE)) {
    out.set(Buffer.from(key).toString('hex'), Buffer.from(value).toString('hex'));
  }
  return out;
}

const all = (partitions: number) => Array.from({ length: partitions }, (_, p) => p);

test('an empty replica pulls each partition in one request, without comparing leaves', async () => {
  const [a, b] = await pair(16);
  for (let i = 0; i < 500; i++) await put(a, `key-${i}`, `value-${i}`);
  const report = await b.ae.exchange('a', all(16));
  assert.equal(report.keysReceived, 500);
  assert.equal(report.keysSent, 0);
  assert.equal(report.keysDiffering, 500);
  assert.equal(a.received.get('ae-leaves'), undefined, 'no leaves compared');
  assert.equal(a.received.get('ae-keys'), a.trees.partitionsWithData().length, 'one ae-keys per partition holding data');
  assert.equal(a.received.get('ae-push'), undefined, 'nothing to push back');
  assert.deepEqual(await contents(b), await contents(a));
  assert.equal((await b.ae.exchange('a', all(16))).keysDiffering, 0);
});

test('a full replica pushes everything to an empty one, the records as stored', async () => {
  const [a, b] = await pair(16);
  for (let i = 0; i < 300; i++) await put(a, `key-${i}`, `value-${i}`);
  const report = await a.ae.exchange('b', all(16));
  assert.equal(report.keysSent, 300);
  assert.equal(report.keysReceived, 0);
  assert.ok((b.received.get('ae-push') ?? 0) <= 16, 'one push per partition at most');
  assert.equal(b.received.get('ae-keys'), undefined, 'no keys listed: b holds nothing anywhere');
  assert.deepEqual(await contents(b), await contents(a));
});

test('every segment differs but the peer holds some: the empty ones are pushed, the rest listed', async () => {
  const [a, b] = await pair(1);
  for (let i = 0; i < 300; i++) await put(a, `key-${i}`, `value-${i}`);
  await put(b, 'key-7', 'b wrote this');
  await put(b, 'only-b', 'b');
  const report = await a.ae.exchange('b', [0]);
  assert.equal(b.received.get('ae-leaves'), 2, 'the leaves, then which segments b holds anything in');
  assert.equal(b.received.get('ae-keys'), 1, 'the segments b holds keys in are listed');
  assert.equal(report.keysReceived, 2);
  assert.equal(report.keysDiffering, 301);
  assert.deepEqual(await contents(a), await contents(b));
  assert.equal((await b.ae.exchange('a', [0])).keysDiffering, 0);
});

test('diverged replicas: each side gets what it lacks or holds differently, and they end identical', async () => {
  const [a, b] = await pair(16);
  for (let i = 0; i < 200; i++) {
    await put(a, `shared-${i}`, `v${i}`);
  }
  // b gets the same records (same dots) by anti-entropy, then both diverge.
  await b.ae.exchange('a', all(16));
  for (let i = 0; i < 5; i++) await put(a, `only-a-${i}`, 'a');
  for (let i = 0; i < 4; i++) await put(b, `only-b-${i}`, 'b');
  for (let i = 0; i < 3; i++) await put(b, `shared-${i * 50}`, 'changed on b');
  a.received.clear();
  b.received.clear();
  const report = await a.ae.exchange('b', all(16));
  assert.equal(report.keysDiffering, 12);
  // A key held differently goes both ways (neither side knows which record covers the other).
  assert.equal(report.keysReceived, 7, "b's own keys and the three it changed");
  assert.equal(report.keysSent, 8, "a's own keys and its records of the three b changed");
  assert.deepEqual(await contents(a), await contents(b));
  const again = await b.ae.exchange('a', all(16));
  assert.equal(again.keysDiffering, 0);
  assert.equal(again.rangesCompared, 16);
});

test('pushOnly brings the peer up to date and takes nothing from it', async () => {
  const [a, b] = await pair(8);
  for (let i = 0; i < 50; i++) await put(a, `a-${i}`, 'a');
  for (let i = 0; i < 20; i++) await put(b, `b-${i}`, 'b');
  await a.ae.exchange('b', all(8), { pushOnly: true });
  const onA = await contents(a);
  const onB = await contents(b);
  assert.equal(onA.size, 50);
  assert.equal(onB.size, 70);
  for (const [key, value] of onA) assert.equal(onB.get(key), value);
});

test('a large push is split into several ae-push requests', async () => {
  const [a, b] = await pair(1);
  for (let i = 0; i < 5000; i++) await put(a, `k${i}`, 'v');
  const report = await a.ae.exchange('b', [0]);
  assert.equal(report.keysSent, 5000);
  assert.equal(b.received.get('ae-push'), 2);
  assert.deepEqual(await contents(b), await contents(a));
});

test('HashTrees.isEmpty follows the data, and a deleted partition is empty again', async () => {
  const [a] = await pair(4);
  assert.ok(all(4).every((p) => a.trees.isEmpty(p)));
  await put(a, 'x', '1');
  const [p] = a.trees.partitionsWithData();
  assert.equal(a.trees.isEmpty(p!), false);
  const stored = await a.replicas.readEncoded(utf8.encode('x'));
  assert.ok(await a.replicas.deleteIfUnchanged(utf8.encode('x'), stored!));
  assert.equal(a.trees.isEmpty(p!), true);
});

test('treeMaintenance.enabled = false leaves the trees as they were (benchmarks only)', async () => {
  const [a] = await pair(4);
  treeMaintenance.enabled = false;
  try {
    await put(a, 'x', '1');
  } finally {
    treeMaintenance.enabled = true;
  }
  assert.deepEqual(a.trees.partitionsWithData(), []);
  await put(a, 'y', '1');
  assert.equal(a.trees.partitionsWithData().length, 1);
});
