import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Dynamo, MemoryStorage } from '../../src/index.js';
import { startCluster } from '../helpers/cluster.js';

// No gossip rounds and no periodic anti-entropy during these tests: what converges the
// replicas is the sync() the test calls, nothing else.
const QUIET = { gossipIntervalMs: 3_600_000, antiEntropyIntervalMs: 3_600_000, timeoutMs: 200, readRepair: false };

async function putMany(node: Dynamo, count: number, prefix: string, value: (i: number) => unknown): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < count) {
        const i = next++;
        await node.put(`${prefix}${i}`, value(i), { w: 3, timeoutMs: 10_000 });
      }
    }),
  );
}

test('100k keys, 10 changed on one replica: sync makes all three identical and ships under 1% of a full copy', async () => {
  const c = await startCluster(3, QUIET);
  try {
    const [a, b, d] = c.nodes as [Dynamo, Dynamo, Dynamo];
    const KEYS = 100_000;
    await putMany(a, KEYS, 'k', (i) => ({ i, pad: 'x'.repeat(64) }));
    // Ten writes that reach only `a`: the others are cut off, and W=1.
    c.net.isolate('n2');
    c.net.isolate('n3');
    for (let i = 0; i < 10; i++) await a.put(`k${i * 9973}`, { changed: i }, { w: 1 });
    c.net.heal();
    for (let i = 0; i < 10; i++) assert.equal((await b.readLocal(`k${i * 9973}`))?.values.length, 1, 'b missed the change');

    const fullCopyBytes = KEYS * (new TextEncoder().encode('k99999').length + 130);
    const report = await a.sync();
    assert.equal(report.keysDiffering, 20, 'each changed key differs with each of the two peers');
    assert.equal(report.keysSent, 20);
    assert.ok(report.keysSent <= KEYS * 0.001 * 2, 'at most 0.1% of the keys per peer');
    assert.ok(report.bytesSent < fullCopyBytes * 0.01, `${report.bytesSent} bytes sent vs ${fullCopyBytes} for a full copy`);
    for (let i = 0; i < 10; i++) {
      for (const node of [a, b, d]) {
        const local = await node.readLocal(`k${i * 9973}`);
        assert.equal(local?.values.length, 2, `k${i * 9973} on ${node.id}: the change and the value it was concurrent with`);
      }
    }
    // Identical now: a second round finds nothing to do between any pair.
    for (const node of [a, b, d]) assert.equal((await node.sync()).keysDiffering, 0, `${node.id} agrees with everyone`);
    console.log(`sync of 100k keys with 10 changed: ${report.bytesSent} bytes sent (${((100 * report.bytesSent) / fullCopyBytes).toFixed(3)}% of a full copy), ${report.rangesCompared} ranges compared`);
  } finally {
    await c.stop();
  }
});

test('a wiped replica is restored by anti-entropy alone, and its new writes never supersede its old ones', async () => {
  const c = await startCluster(3, QUIET);
  let wiped: Dynamo | undefined;
  try {
    const victim = c.node('n3');
    await putMany(c.node('n1'), 1000, 'w', (i) => i);
    await victim.put('mine', 'before the wipe', { w: 3 });
    await victim.stop();
    wiped = new Dynamo({ ...QUIET, id: 'n3', transport: c.net.transport('n3'), storage: new MemoryStorage(), seeds: c.ids });
    await wiped.start();
    assert.equal(await wiped.readLocal('w1'), undefined, 'the new store is empty');
    const report = await wiped.sync();
    assert.equal(report.keysReceived, 1001);
    for (let i = 0; i < 1000; i++) assert.deepEqual((await wiped.readLocal(`w${i}`))?.values, [i]);
    // A write the wiped member coordinates without context is concurrent with its old one.
    await wiped.put('mine', 'after the wipe', { w: 3 });
    const got = await c.node('n1').get<string>('mine', { r: 3 });
    assert.deepEqual(got.values.sort(), ['after the wipe', 'before the wipe']);
  } finally {
    await Promise.all([c.node('n1').stop(), c.node('n2').stop(), wiped?.stop()]);
  }
});
