import { after, test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { DynamoError } from '../../src/errors.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { LevelStorage } from '../../src/storage/level.js';
import type { Storage, StorageOp } from '../../src/storage/storage.js';
import { DotCounter } from '../../src/replica/identity.js';
import { DATA_SPACE, ReplicaStore, type StoredValue } from '../../src/replica/replica-store.js';
import { EMPTY_CONTEXT, emptySet, update, type CausalContext } from '../../src/versioning/dvvset.js';

// MemoryStorage offers the replica store synchronous access (one step per change, no lock);
// any other backend goes through the asynchronous interface and the key lock, LevelStorage
// reading under the lock at once. These tests hold the paths to the same results.

const enc = new TextEncoder();
const value = (s: string): StoredValue => enc.encode(s);

/** MemoryStorage behind the plain asynchronous interface only. */
function asyncOnly(inner: MemoryStorage): Storage {
  return {
    supports: inner.supports,
    open: () => inner.open(),
    close: () => inner.close(),
    get: (space, key) => inner.get(space, key),
    getMany: (space, keys) => inner.getMany(space, keys),
    batch: (ops) => inner.batch(ops),
    iterate: (space, options) => inner.iterate(space, options),
  };
}

async function store(storage: Storage): Promise<ReplicaStore> {
  await storage.open();
  return new ReplicaStore(storage, DATA_SPACE, await DotCounter.load(storage));
}

/**
 * What each key holds: its values (siblings) and tombstones. Dot counters are left out: they
 * need only be unique, and which key's write draws the next one depends on the interleaving.
 */
async function dump(s: ReplicaStore): Promise<string[]> {
  const out: string[] = [];
  for (const key of ['a', 'b', 'c']) {
    const stored = await s.read(enc.encode(key));
    const values = stored?.values.map((v) => `${v.dot.actor}:${v.value === null ? '-' : new TextDecoder().decode(v.value)}`).sort();
    out.push(`${key}=${values?.join(',') ?? 'absent'}`);
  }
  return out;
}

const op = fc.record({
  kind: fc.constantFrom('coordinate', 'merge'),
  key: fc.constantFrom('a', 'b', 'c'),
  actor: fc.constantFrom('x', 'y'),
  withContext: fc.boolean(),
  await: fc.boolean(),
});

const root = await mkdtemp(join(tmpdir(), 'libdynamo-replica-'));
after(() => rm(root, { recursive: true, force: true }));
let dirs = 0;

test('synchronous and locked paths keep the same versions for any interleaving of writes', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
      const memory = new MemoryStorage();
      const wrapped = asyncOnly(new MemoryStorage());
      // LevelStorage: the locked path with its read at once (inlineReads) and group-committed writes.
      const level = new LevelStorage(join(root, `db${dirs++}`));
      const stores = [await store(memory), await store(wrapped), await store(level)];
      for (const s of stores) {
        const pending: Promise<unknown>[] = [];
        const contexts = new Map<string, CausalContext>();
        for (const [i, o] of ops.entries()) {
          const key = enc.encode(o.key);
          const context = o.withContext ? (contexts.get(o.key) ?? EMPTY_CONTEXT) : EMPTY_CONTEXT;
          const work =
            o.kind === 'coordinate'
              ? s.coordinate(key, context, o.actor, value(`v${i}`)).then((w) => contexts.set(o.key, w.writer))
              : s.merge(key, update(emptySet<StoredValue>(), EMPTY_CONTEXT, `remote-${o.actor}`, value(`m${i}`), i).set);
          pending.push(work);
          if (o.await) await Promise.all(pending);
        }
        await Promise.all(pending);
      }
      const expected = await dump(stores[0]!);
      assert.deepEqual(await dump(stores[1]!), expected);
      assert.deepEqual(await dump(stores[2]!), expected);
      await level.close();
    }),
    { numRuns: 60 },
  );
});

test('a write that must first extend the dot lease keeps later writes of its key waiting', async () => {
  // A fresh store has no lease: its first write takes the locked path and waits for the
  // lease to be written; a second write of the same key, made meanwhile, must queue behind
  // it rather than read the key before the first write lands.
  const memory = new MemoryStorage();
  const s = await store(memory);
  const key = enc.encode('k');
  const [first, second] = await Promise.all([s.coordinate(key, EMPTY_CONTEXT, 'x', value('one')), s.coordinate(key, EMPTY_CONTEXT, 'x', value('two'))]);
  assert.deepEqual([first.dot.counter, second.dot.counter], [1, 2]);
  const stored = await s.read(key);
  assert.deepEqual(stored?.values.map((v) => new TextDecoder().decode(v.value!)).sort(), ['one', 'two']);
  // The lease was made durable before the dots were used.
  const again = await DotCounter.load(memory);
  assert.ok(again.current >= 2);
});

test('the dot lease stays ahead of every dot issued through the synchronous path', async () => {
  const memory = new MemoryStorage();
  const s = await store(memory);
  let last = 0;
  for (let i = 0; i < 10_050; i++) last = (await s.coordinate(enc.encode(`k${i % 7}`), EMPTY_CONTEXT, 'x', value('v'))).dot.counter;
  assert.ok(last > 10_000);
  assert.ok((await DotCounter.load(memory)).current >= last, 'a restart resumes above the last dot issued');
});

test('a MemoryStorage subclass that overrides batch is written through its own batch', async () => {
  const seen: StorageOp[][] = [];
  class Watched extends MemoryStorage {
    override async batch(ops: readonly StorageOp[]): Promise<void> {
      seen.push([...ops]);
      return super.batch(ops);
    }
  }
  const s = await store(new Watched());
  await s.coordinate(enc.encode('k'), EMPTY_CONTEXT, 'x', value('v'));
  assert.ok(seen.some((ops) => ops.some((o) => o.space === DATA_SPACE)), 'the data write went through the override');
});

test('mergeNow merges before returning on MemoryStorage, and declines on an asynchronous backend or while the key is busy', async () => {
  const incoming = update(emptySet<StoredValue>(), EMPTY_CONTEXT, 'x', value('v'), 0).set;
  const memory = await store(new MemoryStorage());
  const key = enc.encode('k');
  assert.equal(memory.synchronous, true);
  assert.deepEqual(memory.mergeNow(key, incoming)?.changed, true);
  assert.deepEqual(memory.readEncodedNow(key), await memory.readEncoded(key), 'stored at once');
  assert.equal(memory.mergeNow(key, incoming)?.changed, false, 'nothing new the second time');
  // A change that always takes the lock (a conditional delete) is done before it returns
  // here, so it leaves the key free; one that waits (for the dot lease) is tested below.
  const deleting = memory.deleteIfUnchanged(key, new Uint8Array([1]));
  assert.equal(memory.mergeNow(key, incoming)?.changed, false, 'done at once: the locked change already released the key');
  assert.equal(await deleting, false);
  // A fresh store's first write waits, under the lock, for the dot lease to be written.
  const fresh = await store(new MemoryStorage());
  const writing = fresh.coordinate(key, EMPTY_CONTEXT, 'y', value('w'));
  assert.equal(fresh.mergeNow(key, incoming), undefined, 'declined while a locked change of the key waits');
  await writing;
  assert.equal(fresh.mergeNow(key, incoming)?.changed, true, 'and done at once again after it');

  const slow = await store(asyncOnly(new MemoryStorage()));
  assert.equal(slow.synchronous, false);
  assert.equal(slow.mergeNow(key, incoming), undefined, 'an asynchronous backend goes through merge');
  assert.throws(() => slow.readEncodedNow(key), /synchronous/);
  assert.equal((await slow.merge(key, incoming)).changed, true);
});

test('a backend failing a change, by a throw or a rejection, fails that change only and frees its key', async () => {
  const inner = new MemoryStorage();
  let failGet: 'throw' | 'reject' | undefined;
  let failBatch: 'throw' | 'reject' | undefined;
  const failing: Storage = {
    ...asyncOnly(inner),
    get: (space, key) => {
      if (failGet === 'throw') throw new Error('get threw');
      return failGet === 'reject' ? Promise.reject(new Error('get rejected')) : inner.get(space, key);
    },
    batch: (ops) => {
      if (failBatch === 'throw') throw new Error('batch threw');
      return failBatch === 'reject' ? Promise.reject(new Error('batch rejected')) : inner.batch(ops);
    },
  };
  const s = await store(failing);
  const key = enc.encode('k');
  const incoming = update(emptySet<StoredValue>(), EMPTY_CONTEXT, 'x', value('v'), 0).set;
  for (const [get, batch, message] of [
    ['throw', undefined, /get threw/],
    ['reject', undefined, /get rejected/],
    [undefined, 'throw', /batch threw/],
    [undefined, 'reject', /batch rejected/],
  ] as const) {
    failGet = get;
    failBatch = batch;
    await assert.rejects(s.merge(key, incoming), message);
    failGet = failBatch = undefined;
    assert.equal(await s.read(key), undefined, 'nothing was stored');
  }
  // The key was released each time: the next change goes through.
  assert.equal((await s.merge(key, incoming)).changed, true);
  assert.deepEqual((await s.read(key))?.values.length, 1);
});

test('LevelStorage: a subclass that overrides get and batch is read and written through them', async () => {
  let gets = 0;
  let batches = 0;
  class Watched extends LevelStorage {
    override get(space: string, key: Uint8Array): Promise<Uint8Array | undefined> {
      gets++;
      return super.get(space, key);
    }
    override batch(ops: readonly StorageOp[]): Promise<void> {
      batches++;
      return super.batch(ops);
    }
  }
  const storage = new Watched(join(root, `db${dirs++}`));
  const s = await store(storage);
  const incoming = update(emptySet<StoredValue>(), EMPTY_CONTEXT, 'x', value('v'), 0).set;
  const [before, beforeBatches] = [gets, batches];
  assert.equal((await s.merge(enc.encode('k'), incoming)).changed, true);
  assert.ok(gets > before, 'the record was read through the override');
  assert.ok(batches > beforeBatches, 'and written through it');
  await storage.close();
});

test('LevelStorage: a change on a store closed meanwhile fails typed and frees its key', async () => {
  const storage = new LevelStorage(join(root, `db${dirs++}`));
  const s = await store(storage);
  const key = enc.encode('k');
  const incoming = update(emptySet<StoredValue>(), EMPTY_CONTEXT, 'x', value('v'), 0).set;
  // Many changes of one key: the first takes the lock, the rest queue behind it; the store
  // closes while they wait, so each fails through LevelStorage's own callbacks.
  const changes = Array.from({ length: 20 }, () => s.merge(key, incoming));
  const closing = storage.close();
  const results = await Promise.allSettled(changes);
  await closing;
  assert.ok(results.some((r) => r.status === 'rejected'), 'changes made after close was called fail');
  for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as DynamoError).code, 'STORAGE_CLOSED');
  await storage.open();
  assert.equal((await s.merge(key, incoming)).changed, results.every((r) => r.status === 'rejected'), 'the key was freed: the next change goes through');
  await storage.close();
});
