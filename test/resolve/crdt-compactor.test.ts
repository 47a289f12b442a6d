import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CrdtCompactor } from '../../src/resolve/crdt-compactor.js';
import { PNCounter } from '../../src/crdt/index.js';
import { encodeValue, stampValue } from '../../src/keys.js';
import { EMPTY_CONTEXT, emptySet, update, type CausalContext } from '../../src/versioning/dvvset.js';
import type { StoredValue, Versions } from '../../src/replica/replica-store.js';

const key = new TextEncoder().encode('cart:alice');
const stored = (counter: PNCounter): StoredValue => stampValue(encodeValue(counter, 1 << 20), 1);

/** Versions holding each of `counters` as a sibling (written without context by actors a, b, c, …). */
function siblings(...counters: PNCounter[]): Versions {
  let set = emptySet<StoredValue>();
  counters.forEach((counter, i) => {
    set = update(set, EMPTY_CONTEXT, String.fromCharCode(97 + i), stored(counter)).set;
  });
  return set;
}

interface Write {
  readonly value: unknown;
  readonly context: CausalContext;
  readonly done: () => void;
}

function compactor(now: () => Versions | undefined): { compactor: CrdtCompactor; writes: Write[]; idle: () => Promise<void> } {
  const writes: Write[] = [];
  const tracked: Promise<unknown>[] = [];
  const c = new CrdtCompactor({
    isPrimary: () => true,
    write: (_key, value, context) => new Promise<void>((resolve) => writes.push({ value, context, done: resolve })),
    read: async () => now(),
    track: (work) => tracked.push(work),
  });
  const idle = async () => {
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  };
  return { compactor: c, writes, idle };
}

test('the compactor writes the merge of CRDT siblings with the context of the versions it merged', async () => {
  const set = siblings(PNCounter.empty().increment('p'), PNCounter.empty().increment('q', 2));
  const { compactor: c, writes, idle } = compactor(() => undefined);
  c.observe(key, set);
  await idle();
  assert.equal(writes.length, 1);
  assert.equal((writes[0]!.value as PNCounter).value(), 3);
  assert.deepEqual(writes[0]!.context, set.context);
});

test('siblings that arrive while a compaction runs are compacted after it, from what the replica holds then', async () => {
  const first = siblings(PNCounter.empty().increment('p'), PNCounter.empty().increment('q'));
  // A reader's write-back of the same merge, concurrent with the compaction's own write.
  const later = siblings(PNCounter.empty().increment('p').increment('q'), PNCounter.empty().increment('p').increment('q'));
  let held: Versions | undefined = later;
  const { compactor: c, writes, idle } = compactor(() => held);
  c.observe(key, first);
  await idle();
  assert.equal(writes.length, 1);
  c.observe(key, later); // while the first compaction's write is pending
  await idle();
  assert.equal(writes.length, 1, 'one compaction of a key at a time');
  writes[0]!.done();
  await idle();
  assert.equal(writes.length, 2, 'the key is looked at again once the first is done');
  assert.deepEqual(writes[1]!.context, later.context, 'with the versions the replica holds now');
  assert.equal((writes[1]!.value as PNCounter).value(), 2);

  // Once the replica holds one version, a sibling seen meanwhile leads to nothing more.
  held = siblings(PNCounter.empty().increment('p').increment('q'));
  c.observe(key, later);
  writes[1]!.done();
  await idle();
  assert.equal(writes.length, 2);
});
