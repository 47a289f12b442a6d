import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dynamo, LevelStorage } from '../../src/index.js';
import { startCluster } from '../helpers/cluster.js';

test('a member stopped and started again on the same LevelDB folder keeps its data', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'libdynamo-restart-'));
  const ids = ['n1', 'n2', 'n3'];
  const c = await startCluster(3, { ids, storage: (id) => new LevelStorage(join(dir, id)) });
  let restarted: Dynamo | undefined;
  try {
    for (let i = 0; i < 50; i++) await c.node('n2').put(`key-${i}`, { i });
    const n1 = c.node('n1');
    const before = await n1.readLocal('key-7');
    assert.deepEqual(before?.values, [{ i: 7 }], 'n1 is a replica of every key with n=3 on 3 members');
    await n1.stop();

    restarted = new Dynamo({ id: 'n1', transport: c.net.transport('n1'), storage: new LevelStorage(join(dir, 'n1')), seeds: ids });
    await restarted.start();
    for (let i = 0; i < 50; i++) {
      assert.deepEqual((await restarted.readLocal(`key-${i}`))?.values, [{ i }]);
    }
    // Its writes continue the causal history: a write with the read context supersedes.
    const read = await restarted.get('key-3');
    await restarted.put('key-3', 'new', { context: read.context });
    assert.deepEqual((await c.node('n3').get('key-3', { r: 3 })).values, ['new']);
    assert.equal(restarted.members().length, 3);
  } finally {
    await Promise.all([restarted?.stop(), c.node('n2').stop(), c.node('n3').stop(), c.node('n1').stop()]);
    await rm(dir, { recursive: true, force: true });
  }
});
