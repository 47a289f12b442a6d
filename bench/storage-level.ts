/**
 * Throughput of LevelStorage's group commit and read coalescing against classic-level used
 * directly, with the same number of operations in flight.
 *
 *   node --import tsx bench/storage-level.ts [concurrency] [seconds]
 *
 * Each of `concurrency` workers loops: write (or read) one 16-byte key with a 100-byte
 * value, await it, repeat. Raw classic-level makes one thread-pool trip per operation;
 * LevelStorage makes one per group.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { LevelStorage } from '../src/storage/level.js';

const CONCURRENCY = Number(process.argv[2] ?? 64);
const SECONDS = Number(process.argv[3] ?? 3);
const VALUE = new Uint8Array(100).fill(7);
const KEYS = 100_000;

function keyOf(n: number): Uint8Array {
  const key = new Uint8Array(16);
  new DataView(key.buffer).setUint32(12, n % KEYS);
  return key;
}

/** Runs `CONCURRENCY` workers calling `op` for `SECONDS`; returns operations per second. */
async function run(op: (n: number) => Promise<unknown>): Promise<number> {
  const deadline = performance.now() + SECONDS * 1000;
  let done = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async (_, worker) => {
    for (let i = worker; performance.now() < deadline; i += CONCURRENCY) {
      await op(i);
      done++;
    }
  }));
  return done / SECONDS;
}

const report = (name: string, opsPerSecond: number): void =>
  console.log(`${name.padEnd(40)} ${Math.round(opsPerSecond).toLocaleString('en').padStart(9)} ops/s`);

const root = await mkdtemp(join(tmpdir(), 'libdynamo-bench-'));
try {
  console.log(`${CONCURRENCY} in flight, ${SECONDS} s each, 16-byte keys, 100-byte values, node ${process.version}`);

  const raw = new ClassicLevel<Uint8Array, Uint8Array>(join(root, 'raw'), { keyEncoding: 'view', valueEncoding: 'view' });
  await raw.open();
  report('classic-level put', await run((n) => raw.put(keyOf(n), VALUE)));
  report('classic-level get', await run((n) => raw.get(keyOf(n))));
  report('classic-level put, sync: true', await run((n) => raw.put(keyOf(n), VALUE, { sync: true })));
  await raw.close();

  const storage = new LevelStorage(join(root, 'storage'));
  await storage.open();
  report('LevelStorage batch (group commit)', await run((n) =>
    storage.batch([{ type: 'put', space: 'data', key: keyOf(n), value: VALUE }])));
  report('LevelStorage get (coalesced getMany)', await run((n) => storage.get('data', keyOf(n))));
  await storage.close();

  const synced = new LevelStorage(join(root, 'synced'), { sync: true });
  await synced.open();
  report('LevelStorage batch, sync: true', await run((n) =>
    synced.batch([{ type: 'put', space: 'data', key: keyOf(n), value: VALUE }])));
  await synced.close();
} finally {
  await rm(root, { recursive: true, force: true });
}
