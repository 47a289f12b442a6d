import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster } from '../helpers/cluster.js';

const QUIET = { gossipIntervalMs: 3_600_000, antiEntropyIntervalMs: 3_600_000, timeoutMs: 200, readRepair: false, tombstoneGraceMs: 0 };

test('delete, then a stale replica comes back: the key stays deleted, and its tombstones are collected', async () => {
  const c = await startCluster(3, QUIET);
  try {
    const [a, b, stale] = c.nodes as [typeof c.nodes[0], typeof c.nodes[0], typeof c.nodes[0]];
    await a.put('doomed', 'old value', { w: 3 });
    c.net.isolate(stale.id);
    const read = await a.get('doomed');
    await a.delete('doomed', { context: read.context, w: 2 });
    c.net.heal();
    assert.deepEqual((await stale.readLocal('doomed'))?.values, ['old value'], 'the stale replica missed the delete');

    // Not collected while a replica still holds the old value.
    assert.equal(await a.collectTombstones(), 0);
    assert.notEqual(await a.readLocal('doomed'), undefined);

    // Anti-entropy brings the stale replica the tombstone, never the value back.
    await stale.sync();
    for (const node of c.nodes) assert.deepEqual((await node.readLocal('doomed'))?.values, [], `${node.id} holds only the tombstone`);
    assert.deepEqual((await b.get('doomed', { r: 3 })).values, []);

    assert.equal(await a.collectTombstones(), 1);
    for (const node of c.nodes) assert.equal(await node.readLocal('doomed'), undefined, `${node.id} collected it`);
    for (const node of c.nodes) await node.sync();
    assert.deepEqual((await b.get('doomed', { r: 3 })).values, [], 'still deleted after another round');
    for (const node of c.nodes) assert.equal(await node.readLocal('doomed'), undefined);
  } finally {
    await c.stop();
  }
});

test('tombstones are kept for the grace period', async () => {
  const c = await startCluster(3, { ...QUIET, tombstoneGraceMs: 60_000 });
  try {
    const a = c.node('n1');
    const { context } = await a.put('k', 1, { w: 3 });
    await a.delete('k', { context, w: 3 });
    assert.equal(await a.collectTombstones(), 0);
    assert.deepEqual((await a.readLocal('k'))?.values, []);
  } finally {
    await c.stop();
  }
});
