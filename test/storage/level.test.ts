import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ClassicLevel } from 'classic-level';
import { DynamoError, ValidationError } from '../../src/errors.js';
import { LevelStorage, keyFilterScanned } from '../../src/storage/level.js';
import { KeyFilter } from '../../src/storage/key-filter.js';
import { DotCounter } from '../../src/replica/identity.js';
import { DATA_SPACE, ReplicaStore } from '../../src/replica/replica-store.js';
import { EMPTY_CONTEXT } from '../../src/versioning/dvvset.js';
import { READ_LATER, readNowOf, type Storage, type StorageOp } from '../../src/storage/storage.js';
import { storageComplianceSuite } from '../compliance/storage.js';

const root = await mkdtemp(join(tmpdir(), 'libdynamo-level-'));
after(() => rm(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = (): string => join(root, `db${dirs++}`);

storageComplianceSuite(test, {
  create: () => new LevelStorage(freshDir()),
  reopen: (storage: Storage) => new LevelStorage((storage as LevelStorage).location),
  modelRuns: 100,
});

const key = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes);
const put = (k: Uint8Array, v: Uint8Array, space = 's'): StorageOp => ({ type: 'put', space, key: k, value: v });

/** Counts calls of a ClassicLevel method while `fn` runs. */
async function counting<T>(method: 'batch' | 'getMany', fn: () => Promise<T>): Promise<{ calls: number; result: T }> {
  const proto = ClassicLevel.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  const original = proto[method] as (...args: unknown[]) => unknown;
  let calls = 0;
  proto[method] = function (this: unknown, ...args: unknown[]) {
    calls++;
    return original.apply(this, args);
  };
  try {
    const result = await fn();
    return { calls, result };
  } finally {
    proto[method] = original;
  }
}

test('LevelStorage: open() creates the directory and its parents', async () => {
  const location = join(freshDir(), 'nested', 'deeper');
  const storage = new LevelStorage(location);
  await storage.open();
  assert.ok((await stat(location)).isDirectory());
  await storage.close();
});

test('LevelStorage: batches called in the same tick are one LevelDB write, applied in call order', async () => {
  const storage = new LevelStorage(freshDir());
  await storage.open();
  const { calls } = await counting('batch', () =>
    Promise.all(Array.from({ length: 200 }, (_, i) => storage.batch([put(key(1), key(i)), put(key(2, i), key(i))]))));
  assert.equal(calls, 1);
  assert.deepEqual(await storage.get('s', key(1)), key(199));
  await storage.close();
});

test('LevelStorage: batches called while a write is in flight are grouped into the next one', async () => {
  const storage = new LevelStorage(freshDir());
  await storage.open();
  const { calls } = await counting('batch', async () => {
    const first = storage.batch([put(key(0), key(0))]);
    await new Promise((resolve) => setImmediate(resolve));
    // The first write has been handed to LevelDB; these wait for it, then go as one.
    const rest = Array.from({ length: 100 }, (_, i) => storage.batch([put(key(1, i), key(i))]));
    await Promise.all([first, ...rest]);
  });
  assert.equal(calls, 2);
  await storage.close();
});

test('LevelStorage: gets and getManys called in the same tick are one LevelDB getMany', async () => {
  const storage = new LevelStorage(freshDir());
  await storage.open();
  await storage.batch(Array.from({ length: 10 }, (_, i) => put(key(i), key(i, i))));
  const { calls, result } = await counting('getMany', () =>
    Promise.all([storage.get('s', key(3)), storage.getMany('s', [key(1), key(99), key(2)]), storage.get('t', key(3))]));
  assert.equal(calls, 1);
  assert.deepEqual(result, [key(3, 3), [key(1, 1), undefined, key(2, 2)], undefined]);
  await storage.close();
});

/**
 * Holds every LevelDB trip (getMany, chained batch write) until the test lets it go, and
 * records the trips in the order they were made.
 */
async function holdingTrips<T>(fn: (control: { trips: string[]; most: () => number; next: () => Promise<void>; release: () => void }) => Promise<T>): Promise<T> {
  const probe = new ClassicLevel(freshDir());
  await probe.open();
  const unused = probe.batch();
  const batchProto = Object.getPrototypeOf(Object.getPrototypeOf(unused)) as Record<string, (...args: unknown[]) => Promise<unknown>>;
  await unused.close();
  await probe.close();
  const dbProto = ClassicLevel.prototype as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const originals = { getMany: dbProto.getMany!, write: batchProto.write! };
  const trips: string[] = [];
  const held: (() => void)[] = [];
  let inFlight = 0;
  let most = 0;
  const hold = (kind: string, original: (...args: unknown[]) => Promise<unknown>) =>
    function (this: unknown, ...args: unknown[]) {
      trips.push(kind);
      most = Math.max(most, ++inFlight);
      return new Promise<void>((resolve) => held.push(resolve))
        .then(() => original.apply(this, args))
        .finally(() => inFlight--);
    };
  dbProto.getMany = hold('read', originals.getMany);
  batchProto.write = hold('write', originals.write);
  try {
    return await fn({
      trips,
      most: () => most,
      next: async () => {
        while (held.length === 0) await new Promise((resolve) => setImmediate(resolve));
      },
      release: () => held.shift()!(),
    });
  } finally {
    dbProto.getMany = originals.getMany;
    batchProto.write = originals.write;
  }
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('LevelStorage: one trip to LevelDB at a time; reads and writes waiting together take turns, each as one group', async () => {
  const storage = new LevelStorage(freshDir());
  await storage.open();
  await holdingTrips(async ({ trips, most, next, release }) => {
    const a = storage.batch([put(key(0), key(0))]);
    await next();
    // While the write is out: a read and a write wait; nothing else goes.
    const x = storage.get('s', key(0));
    const b = storage.batch([put(key(1), key(1))]);
    await turn();
    await turn();
    assert.deepEqual(trips, ['write']);
    release();
    await next();
    // The read went (its turn, after a write); while it is out, another write and read wait.
    const c = storage.batch([put(key(2), key(2))]);
    const y = storage.get('s', key(1));
    release();
    await next();
    release();
    await next();
    release();
    await Promise.all([a, b, c]);
    assert.deepEqual(await x, key(0), 'the read waited for the write in flight when it was made');
    assert.deepEqual(await y, key(1));
    assert.deepEqual(trips, ['write', 'read', 'write', 'read'], 'turns: b and c went as one write');
    assert.equal(most(), 1, 'never more than one trip in flight');
  });
  await storage.close();
});

test('LevelStorage: with sync, a read does not wait for the fsync of a write in flight', async () => {
  const storage = new LevelStorage(freshDir(), { sync: true });
  await storage.open();
  await storage.batch([put(key(0), key(0))]);
  await holdingTrips(async ({ trips, most, next, release }) => {
    const a = storage.batch([put(key(1), key(1))]);
    await next();
    const x = storage.get('s', key(0));
    await turn();
    await turn();
    assert.deepEqual(trips, ['write', 'read'], 'the read went while the write was out');
    assert.equal(most(), 2);
    release();
    release();
    await a;
    assert.deepEqual(await x, key(0));
  });
  await storage.close();
});

test("LevelStorage: one caller's invalid batch does not fail the others grouped with it", async () => {
  const storage = new LevelStorage(freshDir());
  await storage.open();
  const results = await Promise.allSettled([
    storage.batch([put(key(1), key(1))]),
    storage.batch([put(key(2), key(2)), { type: 'put', space: '', key: key(3), value: key(3) }]),
    storage.batch([put(key(4), key(4))]),
  ]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.ok((results[1] as PromiseRejectedResult).reason instanceof ValidationError);
  assert.deepEqual(await storage.getMany('s', [key(1), key(2), key(4)]), [key(1), undefined, key(4)]);
  await storage.close();
});

test('LevelStorage: close() finishes writes already accepted; the instance opens again', async () => {
  const storage = new LevelStorage(freshDir());
  await storage.open();
  const writes = Array.from({ length: 50 }, (_, i) => storage.batch([put(key(i), key(i))]));
  const closing = storage.close();
  await assert.rejects(storage.batch([put(key(99), key(99))]), (err) => err instanceof DynamoError && err.code === 'STORAGE_CLOSED');
  await Promise.all([...writes, closing]);
  await storage.open();
  let count = 0;
  for await (const entry of storage.iterate('s')) count += entry.length / 2;
  assert.equal(count, 50);
  await storage.close();
});

test('LevelStorage: open(), open(), close() called together leave it closed', async () => {
  const storage = new LevelStorage(freshDir());
  await storage.open();
  await Promise.all([storage.open(), storage.close()]);
  await assert.rejects(storage.get('s', key(1)), (err) => err instanceof DynamoError && err.code === 'STORAGE_CLOSED');
  await storage.open();
  await storage.close();
});

test('LevelStorage: a second instance on a locked directory fails to open and stays closed', async () => {
  const location = freshDir();
  const first = new LevelStorage(location);
  await first.open();
  const second = new LevelStorage(location);
  await assert.rejects(second.open());
  await assert.rejects(second.get('s', key(1)), (err) => err instanceof DynamoError && err.code === 'STORAGE_CLOSED');
  await second.close();
  await first.close();
});

test('LevelStorage: options are validated, naming the option', () => {
  assert.throws(() => new LevelStorage(''), ValidationError);
  assert.throws(() => new LevelStorage(freshDir(), { cacheSize: -1 }), /cacheSize/);
  assert.throws(() => new LevelStorage(freshDir(), { writeBufferSize: 1.5 }), /writeBufferSize/);
  assert.throws(() => new LevelStorage(freshDir(), { sync: 'yes' as unknown as boolean }), /sync/);
  assert.throws(() => new LevelStorage(freshDir(), { inlineReads: 1 as unknown as boolean }), /inlineReads/);
  assert.throws(() => new LevelStorage(freshDir(), { keyFilter: 'on' as unknown as boolean }), /keyFilter/);
});

test('LevelStorage: the read at once (inlineReads) serves an idle store, by space, and fails typed once closed', async () => {
  const storage = new LevelStorage(freshDir());
  const read = readNowOf(storage);
  assert.ok(read, 'LevelStorage offers reads at once by default');
  await storage.open();
  await storage.batch([put(key(1), key(10)), put(key(1), key(11), 't')]);
  assert.deepEqual(read('s', key(1)), key(10));
  assert.deepEqual(read('t', key(1)), key(11));
  assert.equal(read('s', key(2)), undefined);
  const got = read('s', key(1)) as Uint8Array;
  got[0] = 99;
  assert.deepEqual(read('s', key(1)), key(10), 'the caller owns the array it got');
  assert.throws(() => read('', key(1)), ValidationError);
  await storage.close();
  assert.throws(() => read('s', key(1)), (err: unknown) => err instanceof DynamoError && err.code === 'STORAGE_CLOSED');
});

test('LevelStorage: while writes or reads are queued or in flight, the read at once declines (READ_LATER)', async () => {
  const storage = new LevelStorage(freshDir());
  const read = readNowOf(storage)!;
  await storage.open();
  await storage.batch([put(key(1), key(10))]);
  const writing = storage.batch([put(key(2), key(20))]);
  assert.equal(read('s', key(1)), READ_LATER, 'a write is queued');
  await writing;
  await new Promise(setImmediate);
  assert.deepEqual(read('s', key(2)), key(20), 'idle again: served at once, and sees the acknowledged write');
  const reading = storage.get('s', key(1));
  assert.equal(read('s', key(1)), READ_LATER, 'a read is queued');
  assert.deepEqual(await reading, key(10));
  await new Promise(setImmediate);
  assert.deepEqual(read('s', key(1)), key(10));
  await storage.close();
});

test('LevelStorage: inlineReads false, or a subclass with its own get, is read through get', async () => {
  assert.equal(readNowOf(new LevelStorage(freshDir(), { inlineReads: false })), undefined);
  class Logged extends LevelStorage {
    override get(space: string, k: Uint8Array): Promise<Uint8Array | undefined> {
      return super.get(space, k);
    }
  }
  assert.equal(readNowOf(new Logged(freshDir())), undefined);
});

test('LevelStorage: sync writes work and persist', async () => {
  const location = freshDir();
  const storage = new LevelStorage(location, { sync: true, compression: false, cacheSize: 1 << 20 });
  await storage.open();
  await Promise.all(Array.from({ length: 20 }, (_, i) => storage.batch([put(key(i), key(i))])));
  await storage.close();
  const again = new LevelStorage(location);
  await again.open();
  assert.deepEqual(await again.get('s', key(19)), key(19));
  await again.close();
});

test('LevelStorage: if adding a caller\'s ops to the group fails midway, the group is dropped, never half-written', async () => {
  const probe = new ClassicLevel<Uint8Array, Uint8Array>(freshDir(), { keyEncoding: 'view', valueEncoding: 'view' });
  await probe.open();
  const chained = probe.batch();
  const proto = Object.getPrototypeOf(Object.getPrototypeOf(chained)) as { put: (...args: unknown[]) => unknown };
  await chained.close();
  await probe.close();
  const original = proto.put;
  const storage = new LevelStorage(freshDir());
  await storage.open();
  proto.put = function (this: unknown, ...args: unknown[]) {
    if ((args[1] as Uint8Array)[0] === 0xee) throw new Error('injected');
    return original.apply(this, args);
  };
  try {
    const results = await Promise.allSettled([
      storage.batch([put(key(1), key(1))]),
      storage.batch([put(key(2), key(2)), put(key(3), key(0xee)), put(key(4), key(4))]),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
  } finally {
    proto.put = original;
  }
  await storage.batch([put(key(5), key(5))]);
  assert.deepEqual(await storage.getMany('s', [key(1), key(2), key(4), key(5)]), [undefined, undefined, undefined, key(5)]);
  await storage.close();
});

test('LevelStorage: the key filter answers reads of keys never stored with no trip; keys stored before the open, and since, are read', async () => {
  const location = freshDir();
  const first = new LevelStorage(location);
  await first.open();
  await first.batch(Array.from({ length: 3000 }, (_, i) => put(key(1, i >> 8, i & 255), key(i & 255))));
  await first.close();

  // Reopened: the scan (three steps of keys) must find every key stored before.
  const storage = new LevelStorage(location);
  const read = readNowOf(storage)!;
  await storage.open();
  assert.equal(await storage[keyFilterScanned](), true);
  for (let i = 0; i < 3000; i++) assert.deepEqual(read('s', key(1, i >> 8, i & 255)), key(i & 255), `key ${i}, stored before the open`);
  const never = Array.from({ length: 50 }, (_, i) => key(2, i));
  const { calls, result } = await counting('getMany', () => Promise.all(never.map((k) => storage.get('s', k))));
  assert.equal(calls, 0, 'no trip for keys never stored');
  assert.deepEqual(result, never.map(() => undefined));
  assert.deepEqual(never.map((k) => read('t', k)), never.map(() => undefined), 'nor for a space never written');

  // Written since the open: read from LevelDB, also while the store is busy.
  await storage.batch([put(key(2, 7), key(77))]);
  assert.deepEqual(read('s', key(2, 7)), key(77));
  const queued = storage.batch([put(key(2, 8), key(88))]);
  assert.equal(read('s', key(2, 8)), READ_LATER, 'queued, not yet written: read behind the write');
  await queued;
  assert.deepEqual(await storage.get('s', key(2, 8)), key(88));
  await storage.close();
});

test('LevelStorage: a replica merging into a key stored before a restart keeps what was stored (the key filter never hides a key)', async () => {
  const location = freshDir();
  const k = new TextEncoder().encode('cart-1');
  const first = new LevelStorage(location);
  await first.open();
  await new ReplicaStore(first, DATA_SPACE, await DotCounter.load(first)).coordinate(k, EMPTY_CONTEXT, 'a', new TextEncoder().encode('one'));
  await first.close();

  const storage = new LevelStorage(location);
  await storage.open();
  assert.equal(await storage[keyFilterScanned](), true);
  const store = new ReplicaStore(storage, DATA_SPACE, await DotCounter.load(storage));
  await store.coordinate(k, EMPTY_CONTEXT, 'b', new TextEncoder().encode('two'));
  const values = (await store.read(k))?.values.map((v) => new TextDecoder().decode(v.value!)).sort();
  assert.deepEqual(values, ['one', 'two'], 'both siblings: the write read the stored record rather than take the key for new');
  await storage.close();
});

test('LevelStorage: without keyFilter every read goes to LevelDB; close() during the scan on open stops it', async () => {
  const off = new LevelStorage(freshDir(), { keyFilter: false });
  await off.open();
  assert.equal(await off[keyFilterScanned](), false);
  const { calls, result } = await counting('getMany', () => off.get('s', key(9)));
  assert.equal(calls, 1);
  assert.equal(result, undefined);
  await off.close();

  const location = freshDir();
  const filled = new LevelStorage(location);
  await filled.open();
  await filled.batch(Array.from({ length: 5000 }, (_, i) => put(key(i >> 8, i & 255), key(1))));
  await filled.close();
  const storage = new LevelStorage(location);
  await storage.open();
  await storage.close();
  assert.equal(await storage[keyFilterScanned](), false, 'stopped before it ended: the filter never answered');
  await storage.open();
  assert.equal(await storage[keyFilterScanned](), true, 'a new open scans again');
  assert.deepEqual(await storage.get('s', key(19, 135)), key(1), 'the last key stored');
  await storage.close();
});

test('LevelStorage: reopened, the same instance reads what it stored, during the scan on open and after it', async () => {
  const storage = new LevelStorage(freshDir());
  const read = readNowOf(storage)!;
  const stored = (i: number) => key(3, i >> 8, i & 255);
  await storage.open();
  await storage.batch(Array.from({ length: 3000 }, (_, i) => put(stored(i), key(i & 255))));
  assert.equal(await storage[keyFilterScanned](), true);
  await storage.close();

  // Read before the scan of this open ends (3000 keys take three steps): the filter left
  // from the last open must not answer.
  await storage.open();
  assert.deepEqual(read('s', stored(2999)), key(2999 & 255));
  assert.deepEqual(await storage.get('s', stored(2998)), key(2998 & 255));
  assert.equal(await storage[keyFilterScanned](), true);
  for (let i = 0; i < 3000; i += 7) assert.deepEqual(read('s', stored(i)), key(i & 255), `key ${i}`);
  await storage.close();
});

test('LevelStorage: a key filter that cannot grow is dropped for the rest of the open; the write goes on', async () => {
  const storage = new LevelStorage(freshDir());
  await storage.open();
  assert.equal(await storage[keyFilterScanned](), true);
  const proto = KeyFilter.prototype as unknown as { add: (key: Uint8Array) => void };
  const add = proto.add;
  proto.add = () => {
    throw new RangeError('Array buffer allocation failed');
  };
  try {
    await storage.batch([put(key(4, 1), key(41))]);
  } finally {
    proto.add = add;
  }
  const { calls, result } = await counting('getMany', () => storage.get('s', key(4, 2)));
  assert.equal(calls, 1, 'the filter no longer answers: a key it may have missed is read');
  assert.equal(await storage[keyFilterScanned](), false);
  assert.equal(result, undefined);
  assert.deepEqual(await storage.get('s', key(4, 1)), key(41));
  await storage.close();
});
