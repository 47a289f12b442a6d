import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Dynamo, InMemoryNetwork, ManualClock, seededRandom } from '../../src/index.js';
import { drive } from '../helpers/sim.js';

test('a healthy cluster under 1k ops/s for 60 s raises no member:down', async () => {
  const seed = 77;
  const clock = new ManualClock();
  const net = new InMemoryNetwork({ clock, random: seededRandom(seed), latencyMs: [0, 2] });
  const ids = ['m1', 'm2', 'm3', 'm4', 'm5'];
  const nodes = ids.map((id, i) => new Dynamo({ id, transport: net.transport(id), seeds: ids, clock, random: seededRandom(seed + i) }));
  const downs: string[] = [];
  for (const node of nodes) node.on('member:down', (m) => downs.push(`${clock.now()}ms ${node.id} suspected ${m.id}`));
  await drive(clock, Promise.all(nodes.map((n) => n.start())));
  const end = clock.now() + 60_000;
  let ops = 0;
  let failures = 0;
  const rnd = seededRandom(seed * 7);
  // 13 clients, each an operation then a 10 ms pause (≈ 13 ms a turn): about 1,000 a second.
  const client = async () => {
    while (clock.now() < end) {
      const node = nodes[Math.floor(rnd() * nodes.length)]!;
      const key = `k${Math.floor(rnd() * 500)}`;
      try {
        if (rnd() < 0.5) await node.get(key);
        else await node.update<number>(key, (values) => (values[0] ?? 0) + 1);
      } catch {
        failures++;
      }
      ops++;
      await new Promise<void>((r) => clock.setTimeout(r, 10));
    }
  };
  await drive(clock, Promise.all(Array.from({ length: 13 }, client)), 120_000);
  await drive(clock, Promise.all(nodes.map((n) => n.stop())));
  assert.ok(ops >= 57_000, `ran ${ops} operations (≥ 950/s)`);
  assert.equal(failures, 0, `seed ${seed}: every operation succeeded`);
  assert.deepEqual(downs, [], `seed ${seed}: no false suspicion`);
});
