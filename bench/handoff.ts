// Hinted handoff throughput: a stand-in on LevelStorage holds hints for an owner that was
// cut off; the owner comes back and we time from `member:up` to the last `hint:delivered`.
// `node --import tsx bench/handoff.ts [hints]`
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dynamo, InMemoryNetwork, LevelStorage } from '../src/index.js';

const HINTS = Number(process.argv[2] ?? 20_000);
const FAST = { gossipIntervalMs: 50, timeoutMs: 2000 };

async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 5));
}

const dir = await mkdtemp(join(tmpdir(), 'libdynamo-handoff-'));
const net = new InMemoryNetwork();
const ids = ['a', 'b', 'c', 'd'];
const nodes = ids.map((id) => new Dynamo({ ...FAST, id, transport: net.transport(id), storage: new LevelStorage(join(dir, id)), seeds: ids }));
try {
  await Promise.all(nodes.map((n) => n.start()));
  const [a, , , d] = nodes as [Dynamo, Dynamo, Dynamo, Dynamo];
  net.isolate('d');
  await until(() => a.members().find((m) => m.id === 'd')?.status === 'down' && nodes.slice(0, 3).every((n) => n.members().find((m) => m.id === 'd')?.status === 'down'));
  let written = 0;
  const writers = Array.from({ length: 64 }, async () => {
    while (written < HINTS * 2) {
      const i = written++;
      await nodes[i % 3]!.put(`key-${i}`, { i, pad: 'x'.repeat(80) });
    }
  });
  await Promise.all(writers);
  const pending = async () => (await Promise.all(nodes.slice(0, 3).map((n) => n.hintsPending()))).reduce((x, y) => x + y, 0);
  const held = await pending();
  let upAt = 0;
  a.once('member:up', () => (upAt = performance.now()));
  net.heal();
  await until(async () => (await pending()) === 0);
  const seconds = (performance.now() - upAt) / 1000;
  console.log(`${held} hints on LevelStorage delivered in ${seconds.toFixed(2)} s after member:up: ${Math.round(held / seconds)} hints/s`);
  console.log(`owner d now holds key-1: ${JSON.stringify((await d.readLocal('key-1'))?.values ?? 'not an owner')}`);
} finally {
  await Promise.all(nodes.map((n) => n.stop()));
  await rm(dir, { recursive: true, force: true });
}
