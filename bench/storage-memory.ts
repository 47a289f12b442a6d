/**
 * Heap cost per entry of MemoryStorage at 1M keys, against the obvious alternative of
 * keeping each value as its own Uint8Array.
 *
 *   node --expose-gc --import tsx bench/storage-memory.ts [entries]
 *
 * Keys are 16 random bytes and values 100 random bytes; "overhead" is what an entry costs
 * beyond those 116 bytes. Memory is V8's used heap plus memory outside the heap held by
 * ArrayBuffers (`external`), both after a full GC.
 */
import { Buffer } from 'node:buffer';
import { MemoryStorage } from '../src/storage/memory.js';
import type { StorageOp } from '../src/storage/storage.js';

const ENTRIES = Number(process.argv[2] ?? 1_000_000);
const KEY_BYTES = 16;
const VALUE_BYTES = 100;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

/** xorshift32: the same bytes on every run, and no cost worth measuring. */
function bytesSource(seed: number): (n: number) => Uint8Array {
  let x = seed;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
    return out;
  };
}

function used(): number {
  gc!();
  gc!();
  const { heapUsed, external } = process.memoryUsage();
  return heapUsed + external;
}

async function measure(name: string, build: (next: (n: number) => Uint8Array) => Promise<unknown>): Promise<void> {
  const before = used();
  const started = performance.now();
  const kept = await build(bytesSource(0x9e3779b9));
  const ms = performance.now() - started;
  const perEntry = (used() - before) / ENTRIES;
  const overhead = perEntry - KEY_BYTES - VALUE_BYTES;
  console.log(`${name.padEnd(44)} ${perEntry.toFixed(0).padStart(5)} B/entry  overhead ${overhead.toFixed(0).padStart(4)} B  (load ${ms.toFixed(0)} ms)`);
  if (kept === undefined) throw new Error('unreachable: keeps the structure alive until measured');
}

console.log(`${ENTRIES} entries, ${KEY_BYTES}-byte keys, ${VALUE_BYTES}-byte values, node ${process.version}`);

await measure('MemoryStorage (latin1 string keys and values)', async (next) => {
  const storage = new MemoryStorage();
  await storage.open();
  for (let i = 0; i < ENTRIES; i += 1000) {
    const ops: StorageOp[] = [];
    for (let j = i; j < Math.min(i + 1000, ENTRIES); j++) {
      ops.push({ type: 'put', space: 'data', key: next(KEY_BYTES), value: next(VALUE_BYTES) });
    }
    await storage.batch(ops);
  }
  return storage;
});

await measure('Map<latin1 key, Uint8Array copy>', async (next) => {
  const map = new Map<string, Uint8Array>();
  for (let i = 0; i < ENTRIES; i++) {
    const key = next(KEY_BYTES);
    map.set(Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1'), next(VALUE_BYTES).slice());
  }
  return map;
});

// The cost of ordered iteration: the first sorts every key; later ones re-sort a nearly
// sorted array after a few writes.
{
  const storage = new MemoryStorage();
  await storage.open();
  const next = bytesSource(0x2545f491);
  for (let i = 0; i < ENTRIES; i += 1000) {
    const ops: StorageOp[] = [];
    for (let j = i; j < Math.min(i + 1000, ENTRIES); j++) ops.push({ type: 'put', space: 'data', key: next(KEY_BYTES), value: next(8) });
    await storage.batch(ops);
  }
  const time = async (label: string): Promise<void> => {
    const started = performance.now();
    for await (const entry of storage.iterate('data', { limit: 1 })) void entry;
    console.log(`${label.padEnd(44)} ${(performance.now() - started).toFixed(0).padStart(5)} ms`);
  };
  await time('first iterate (sorts all keys)');
  await time('iterate again, no writes');
  await storage.batch(Array.from({ length: 1000 }, () => ({ type: 'put', space: 'data', key: next(KEY_BYTES), value: next(8) }) as const));
  await time('iterate after 1000 new keys');
  for await (const [key] of storage.iterate('data', { limit: 1 })) await storage.batch([{ type: 'del', space: 'data', key }]);
  await time('iterate after a delete');
}
