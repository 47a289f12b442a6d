import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStorage } from '../../src/storage/memory.js';
import { ManualClock } from '../../src/time/clock.js';
import { DotCounter } from '../../src/replica/identity.js';
import { DATA_SPACE, ReplicaStore, type StoredValue } from '../../src/replica/replica-store.js';
import { EMPTY_CONTEXT, setProblem } from '../../src/versioning/dvvset.js';
import { RIAK_PRUNE_DEFAULTS } from '../../src/versioning/version-vector.js';
import { encodeVersions } from '../../src/codec/versions.js';

const enc = new TextEncoder();
const value = (s: string): StoredValue => enc.encode(s);
const isStored = (x: unknown): x is StoredValue => x === null || x instanceof Uint8Array;

test('a hot key written 1000 times through one member, between writes of other keys, keeps its context bounded', async () => {
  const clock = new ManualClock(1_700_000_000_000);
  const storage = new MemoryStorage();
  await storage.open();
  const counter = await DotCounter.load(storage);
  const store = new ReplicaStore(storage, DATA_SPACE, counter, { now: () => clock.now(), pruning: RIAK_PRUNE_DEFAULTS });
  const cart = enc.encode('cart');
  const others = Array.from({ length: 5 }, (_, i) => enc.encode(`other-${i}`));
  let writer = EMPTY_CONTEXT;
  let maxCloud = 0;
  for (let i = 0; i < 1000; i++) {
    // The shopping cart, written with the context the previous write returned ...
    const w = await store.coordinate(cart, writer, 'a.epoch', value(`cart${i}`));
    writer = w.writer;
    maxCloud = Math.max(maxCloud, w.set.context.cloud.length);
    // ... and one or two other keys through the same member in between.
    for (let j = 0; j <= i % 2; j++) {
      const key = others[(i + j) % others.length]!;
      const stored = await store.read(key);
      await store.coordinate(key, stored?.context ?? EMPTY_CONTEXT, 'a.epoch', value(`o${i}`));
    }
    await clock.advance(5);
  }
  const stored = (await store.read(cart))!;
  const bytes = encodeVersions(stored).length;
  console.log(
    `hot key after 1000 writes (dots issued: ${counter.current}): vv ${stored.context.vv.length}, cloud ${stored.context.cloud.length} (max ${maxCloud}), ${bytes} bytes stored; writer context cloud ${writer.cloud.length}`,
  );
  assert.ok(maxCloud <= RIAK_PRUNE_DEFAULTS.big + 1, `bounded by big plus the value's own dot (${maxCloud})`);
  assert.equal(setProblem(stored, isStored), undefined);
  assert.deepEqual(stored.values.map((v) => new TextDecoder().decode(v.value!)), ['cart999']);
});
