import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Dynamo, MemoryStorage } from '../../src/index.js';
import { startCluster } from '../helpers/cluster.js';

const FAST = { gossipIntervalMs: 20, hintIntervalMs: 50, antiEntropyIntervalMs: 200, timeoutMs: 1000 };

async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('4 → 5 members by join, then 5 → 4 by leave(), with writes all along: each key on exactly its owners', async () => {
  const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
  const c = await startCluster(4, { ...FAST, ids: ids.slice(0, 4), seeds: ids });
  const joiner = new Dynamo({ ...FAST, id: 'n5', transport: c.net.transport('n5'), storage: new MemoryStorage(), seeds: ids });
  const all = () => [...c.nodes, joiner];
  const acked = new Map<string, number>();
  let writing = true;
  let next = 0;
  const writers = Array.from({ length: 4 }, async (_, w) => {
    while (writing) {
      const i = next++;
      const via = c.nodes[(i + w) % c.nodes.length]!;
      if (via.id === 'n2') continue; // n2 leaves mid-run; its own writes are tested below
      try {
        await via.put(`key:${i}`, i);
        acked.set(`key:${i}`, i);
      } catch {
        // A write may fail while the ring moves; only acknowledged ones must survive.
      }
    }
  });
  try {
    await new Promise((r) => setTimeout(r, 200));
    await joiner.start();
    await eventually('every member to see five', () => all().every((n) => n.members().length === 5));
    await new Promise((r) => setTimeout(r, 300));
    await c.node('n2').leave();
    await eventually('every member to see n2 gone', () => all().filter((n) => n.id !== 'n2').every((n) => n.members().length === 4));
    await new Promise((r) => setTimeout(r, 200));
    writing = false;
    await Promise.all(writers);
    assert.ok(acked.size > 100, `${acked.size} writes acknowledged`);

    const live = all().filter((n) => n.id !== 'n2');
    await eventually(
      'every key on exactly its N owners',
      async () => {
        for (const [key, value] of acked) {
          const owners = live[0]!.preferenceList(key);
          for (const node of live) {
            const local = await node.readLocal(key);
            if (owners.includes(node.id) ? local?.values[0] !== value : local !== undefined) return false;
          }
        }
        return true;
      },
      30_000,
    );
    for (const node of live) assert.equal(await node.hintsPending(), 0, `${node.id} holds no hints`);
    const lost = [...acked].filter(([key]) => live[0]!.preferenceList(key).includes('n2'));
    assert.deepEqual(lost, [], 'no preference list names the member that left');
  } finally {
    writing = false;
    await Promise.all(writers);
    await Promise.all(all().map((n) => n.stop()));
  }
});

test('remove() of a dead member re-replicates its ranges to N copies', async () => {
  const c = await startCluster(4, FAST);
  try {
    for (let i = 0; i < 200; i++) await c.node('n1').put(`r${i}`, i, { w: 3 });
    await c.node('n4').stop();
    await c.node('n1').remove('n4');
    const live = c.nodes.filter((n) => n.id !== 'n4');
    await eventually('the removal to spread', () => live.every((n) => n.members().length === 3));
    await eventually('three copies of every key', async () => {
      for (let i = 0; i < 200; i++) {
        for (const node of live) if ((await node.readLocal(`r${i}`))?.values[0] !== i) return false;
      }
      return true;
    });
  } finally {
    await c.stop();
  }
});
