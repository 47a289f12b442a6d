import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryStorage } from '../../src/storage/memory.js';
import { storageComplianceSuite } from '../compliance/storage.js';

storageComplianceSuite(test, { create: () => new MemoryStorage() });

const key = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes);

async function keysOf(storage: MemoryStorage, space: string): Promise<number[][]> {
  const out: number[][] = [];
  for await (const [k] of storage.iterate(space)) out.push([...k]);
  return out;
}

test('MemoryStorage is not persistent but keeps its data across close() and open()', async () => {
  const storage = new MemoryStorage();
  assert.equal(storage.supports.persistent, false);
  await storage.open();
  await storage.batch([{ type: 'put', space: 's', key: key(1), value: key(2) }]);
  await storage.close();
  await storage.open();
  assert.deepEqual(await storage.get('s', key(1)), key(2));
  await storage.close();
});

test('MemoryStorage returns plain Uint8Arrays that are copies of their own', async () => {
  const storage = new MemoryStorage();
  await storage.open();
  await storage.batch([{ type: 'put', space: 's', key: key(1), value: key(2, 3) }]);
  const value = await storage.get('s', key(1));
  const again = await storage.get('s', key(1));
  assert.equal(value?.constructor, Uint8Array);
  assert.deepEqual([...value!], [2, 3]);
  // Views into a shared slab (src/bytes.ts), each with bytes of its own.
  value!.fill(9);
  assert.deepEqual([...again!], [2, 3]);
  assert.deepEqual([...(await storage.get('s', key(1)))!], [2, 3]);
  await storage.close();
});

test('MemoryStorage iterates the keys present at the start, with values as they are when yielded', async () => {
  const storage = new MemoryStorage();
  await storage.open();
  await storage.batch([1, 2, 3].map((i) => ({ type: 'put', space: 's', key: key(i), value: key(i) }) as const));
  const seen: number[][] = [];
  for await (const [k, v] of storage.iterate('s')) {
    seen.push([k[0] as number, v[0] as number]);
    if (seen.length === 1) {
      await storage.batch([
        { type: 'del', space: 's', key: key(2) },
        { type: 'put', space: 's', key: key(4), value: key(4) },
        { type: 'put', space: 's', key: key(3), value: key(9) },
      ]);
    }
  }
  assert.deepEqual(seen, [[1, 1], [3, 9]]);
  assert.deepEqual(await keysOf(storage, 's'), [[1], [3], [4]]);
  await storage.close();
});

test('MemoryStorage keeps its key order right through writes between iterations', async () => {
  const storage = new MemoryStorage();
  await storage.open();
  const put = (i: number) => ({ type: 'put', space: 's', key: key(i), value: key(i) }) as const;
  const del = (i: number) => ({ type: 'del', space: 's', key: key(i) }) as const;
  await storage.batch([5, 1, 3].map(put));
  assert.deepEqual(await keysOf(storage, 's'), [[1], [3], [5]]);
  // Deleted then re-created, created then deleted, before the next iteration.
  await storage.batch([del(3), put(3), put(2), del(5), put(7), del(7), put(0), put(9)]);
  assert.deepEqual(await keysOf(storage, 's'), [[0], [1], [2], [3], [9]]);
  await storage.batch([del(0), del(9), put(4), put(10)]);
  assert.deepEqual(await keysOf(storage, 's'), [[1], [2], [3], [4], [10]]);
  // Enough changes that the order is rebuilt from scratch rather than merged.
  await storage.batch(Array.from({ length: 3000 }, (_, i) => ({ type: 'put', space: 's', key: key(i >> 8, i & 0xff, 1), value: key() }) as const));
  const keys = await keysOf(storage, 's');
  assert.equal(keys.length, 3005);
  assert.deepEqual(keys.slice(0, 3), [[0, 0, 1], [0, 1, 1], [0, 2, 1]]);
  await storage.close();
});

test('MemoryStorage keeps values of any size, moving them in and out of its pool as they are rewritten', async () => {
  const storage = new MemoryStorage();
  await storage.open();
  const k = key(7);
  const big = new Uint8Array(10_000).map((_, i) => i & 0xff);
  const small = new Uint8Array(120).fill(3);
  for (const value of [big, small, small.subarray(0, 40), big, new Uint8Array(0), small]) {
    await storage.batch([{ type: 'put', space: 's', key: k, value }]);
    assert.deepEqual([...(await storage.get('s', k))!], [...value]);
    const seen: number[][] = [];
    for await (const [, v] of storage.iterate('s')) seen.push([...v]);
    assert.deepEqual(seen, [[...value]]);
  }
  await storage.batch([{ type: 'del', space: 's', key: k }]);
  assert.equal(await storage.get('s', k), undefined);
  await storage.close();
});
