// Heap cost of MemoryStorage per stored version, measured through the replica store (so
// each record carries its real causal context), as the issue asks: bytes beyond the key's
// and the value's own bytes. Needs `--expose-gc` for a stable reading.
import { MemoryStorage } from '../src/storage/memory.js';
import { DATA_SPACE, ReplicaStore } from '../src/replica/replica-store.js';
import { DotCounter } from '../src/replica/identity.js';
import { EMPTY_CONTEXT } from '../src/versioning/dvvset.js';

export interface MemoryReport {
  readonly keys: number;
  readonly keyBytes: number;
  readonly valueBytes: number;
  readonly bytesPerKey: number;
  readonly overheadPerVersion: number;
}

function used(): number {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

export async function measureMemoryPerVersion(keys: number): Promise<MemoryReport> {
  if ((globalThis as { gc?: () => void }).gc === undefined) console.warn('(run with --expose-gc for a stable memory figure)');
  const storage = new MemoryStorage();
  await storage.open();
  const replicas = new ReplicaStore(storage, DATA_SPACE, await DotCounter.load(storage));
  const value = new Uint8Array(100).fill(42);
  const keyBytes = 16;
  const before = used();
  const batch: Promise<unknown>[] = [];
  for (let i = 0; i < keys; i++) {
    const key = new TextEncoder().encode(`key:${i.toString().padStart(keyBytes - 4, '0')}`);
    batch.push(replicas.coordinate(key, EMPTY_CONTEXT, 'member-a.1x2y3z4', value));
    if (batch.length === 256) await Promise.all(batch.splice(0));
  }
  await Promise.all(batch);
  const bytesPerKey = (used() - before) / keys;
  await storage.close();
  return { keys, keyBytes, valueBytes: value.length, bytesPerKey, overheadPerVersion: bytesPerKey - keyBytes - value.length };
}
