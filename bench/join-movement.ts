// Data moved when a member joins, against the ideal: with n members and N replicas a key,
// a joiner should end up with N/(n+1) of the keys, i.e. 1/(n+1) of all stored copies, and
// every other copy should stay where it was.
// `node --import tsx bench/join-movement.ts [keys] [members]`
import { Dynamo, InMemoryNetwork, MemoryStorage } from '../src/index.js';

const KEYS = Number(process.argv[2] ?? 20_000);
const MEMBERS = Number(process.argv[3] ?? 4);
const N = 3;
const OPTIONS = { gossipIntervalMs: 50, timeoutMs: 5000, antiEntropyIntervalMs: 3_600_000 };

async function copies(storage: MemoryStorage): Promise<Set<string>> {
  const keys = new Set<string>();
  for await (const [key] of storage.iterate('data')) keys.add(Buffer.from(key).toString('latin1'));
  return keys;
}

const net = new InMemoryNetwork();
const ids = Array.from({ length: MEMBERS + 1 }, (_, i) => `m${i + 1}`);
const storages = new Map(ids.map((id) => [id, new MemoryStorage()]));
const start = (id: string) => new Dynamo({ ...OPTIONS, id, transport: net.transport(id), storage: storages.get(id)!, seeds: ids, n: N });
const nodes = ids.slice(0, MEMBERS).map(start);
await Promise.all(nodes.map((n) => n.start()));
for (let i = 0; i < KEYS; i += 256) {
  await Promise.all(Array.from({ length: Math.min(256, KEYS - i) }, (_, j) => nodes[(i + j) % MEMBERS]!.put(`key-${i + j}`, { i: i + j }, { w: N })));
}
const before = new Map<string, Set<string>>();
for (const id of ids.slice(0, MEMBERS)) before.set(id, await copies(storages.get(id)!));
const totalBefore = [...before.values()].reduce((s, k) => s + k.size, 0);

const joiner = start(ids[MEMBERS]!);
const started = performance.now();
await joiner.start();
// Wait until every member's copies match the new ring: N copies a key, on its owners only.
for (;;) {
  await new Promise((r) => setTimeout(r, 200));
  let total = 0;
  for (const id of ids) total += (await copies(storages.get(id)!)).size;
  const joined = (await copies(storages.get(ids[MEMBERS]!)!)).size;
  if (total === KEYS * N && joined > 0) break;
  if (performance.now() - started > 120_000) throw new Error(`not settled: ${total} copies for ${KEYS * N}`);
}
const seconds = (performance.now() - started) / 1000;
let kept = 0;
for (const id of ids.slice(0, MEMBERS)) {
  const after = await copies(storages.get(id)!);
  for (const k of after) if (before.get(id)!.has(k)) kept++;
}
const received = (await copies(storages.get(ids[MEMBERS]!)!)).size;
const moved = KEYS * N - kept;
console.log(`${KEYS} keys, N=${N}, ${MEMBERS} → ${MEMBERS + 1} members, settled in ${seconds.toFixed(1)} s`);
console.log(`copies before ${totalBefore}, after ${KEYS * N}; the joiner received ${received} (${((100 * received) / (KEYS * N)).toFixed(1)}% of copies)`);
console.log(`copies that moved: ${moved} = ${((100 * moved) / (KEYS * N)).toFixed(1)}% of all copies; ideal 1/(n+1) = ${(100 / (MEMBERS + 1)).toFixed(1)}%`);
await Promise.all([...nodes, joiner].map((n) => n.stop()));
