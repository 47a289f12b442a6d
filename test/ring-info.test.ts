import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster } from './helpers/cluster.js';

test('ring() lists the owner of every partition, the same on every member; placement() agrees with it', async () => {
  const cluster = await startCluster(3, { partitions: 256 });
  try {
    const rings = cluster.nodes.map((n) => n.ring());
    for (const ring of rings) {
      assert.equal(ring.partitions, 256);
      assert.equal(ring.owners.length, 256);
      assert.ok(ring.owners.every((o) => cluster.ids.includes(o)));
      assert.deepEqual(ring.owners, rings[0]!.owners);
      assert.equal(ring.checksum, rings[0]!.checksum);
    }
    for (let i = 0; i < 50; i++) {
      const p = cluster.nodes[0]!.placement(`key-${i}`);
      assert.deepEqual(p.owners, cluster.nodes[0]!.preferenceList(`key-${i}`));
      assert.equal(p.partition, p.position >>> 24, 'the top 8 bits of the position for Q = 256');
      assert.equal(rings[0]!.owners[p.partition], p.owners[0]);
    }
  } finally {
    await cluster.stop();
  }
});
