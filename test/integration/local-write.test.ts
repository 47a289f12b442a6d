// The coordinator's own write on an asynchronous storage: the new version is replicated while
// it is being stored, and the local write counts toward W as any replica's does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStorage, QuorumError, type StorageOp } from '../../src/index.js';
import { startCluster } from '../helpers/cluster.js';

/** A MemoryStorage (so served through the asynchronous interface) whose data writes can be held or failed. */
class ControlledStorage extends MemoryStorage {
  hold: Promise<void> | undefined;
  fail = false;
  failReads = false;
  dataWrites = 0;

  override async get(space: string, key: Uint8Array): Promise<Uint8Array | undefined> {
    if (this.failReads && space === 'data') throw new Error('read error');
    return super.get(space, key);
  }

  override async batch(ops: readonly StorageOp[]): Promise<void> {
    if (ops.some((op) => op.space === 'data')) {
      this.dataWrites++;
      if (this.hold !== undefined) await this.hold;
      if (this.fail) throw new Error('disk full');
    }
    return super.batch(ops);
  }
}

/** Three members (N=3, R=1, so every one owns every key), each on a ControlledStorage. */
async function controlledCluster(w: number): Promise<{ cluster: Awaited<ReturnType<typeof startCluster>>; storages: Map<string, ControlledStorage> }> {
  const storages = new Map<string, ControlledStorage>();
  const cluster = await startCluster(3, { n: 3, r: 1, w, storage: (id) => storages.set(id, new ControlledStorage()).get(id)! });
  return { cluster, storages };
}

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

test('an owner replicates a put while its own write is still being stored, and answers once W replicas have it', async () => {
  const { cluster, storages } = await controlledCluster(2);
  try {
    const n1 = cluster.node('n1');
    const local = storages.get('n1')!;
    const held = gate();
    local.hold = held.promise;
    const writesBefore = local.dataWrites;
    // n1 coordinates (every member owns every key with N=3); its own write waits on the gate.
    await n1.put('cart:early', ['book']);
    assert.equal(local.dataWrites, writesBefore + 1, "n1's own write has started");
    assert.equal(await n1.readLocal('cart:early'), undefined, "and has not finished: W=2 was met by the two other replicas");
    assert.deepEqual((await cluster.node('n2').readLocal('cart:early'))?.values, [['book']]);
    assert.deepEqual((await cluster.node('n3').readLocal('cart:early'))?.values, [['book']]);
    local.hold = undefined;
    held.open();
    for (let i = 0; i < 100 && (await n1.readLocal('cart:early')) === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 1));
    assert.deepEqual((await n1.readLocal('cart:early'))?.values, [['book']], 'the local write lands once the gate opens');
  } finally {
    await cluster.stop();
  }
});

test('a failed local write is one failed replica: W=3 is missed, W=2 is met by the others', async () => {
  const { cluster, storages } = await controlledCluster(2);
  try {
    const n1 = cluster.node('n1');
    storages.get('n1')!.fail = true;
    await assert.rejects(n1.put('cart:w3', ['pen'], { w: 3 }), (error: unknown) => {
      assert.ok(error instanceof QuorumError);
      assert.equal(error.required, 3);
      // Out of reach as soon as the local write failed: the answer does not wait for the others.
      assert.ok(error.acks < 3);
      return true;
    });
    await n1.put('cart:w2', ['ink'], { w: 2 });
    for (const id of ['n2', 'n3']) assert.deepEqual((await cluster.node(id).readLocal('cart:w2'))?.values, [['ink']], id);
    assert.equal(await n1.readLocal('cart:w2'), undefined, 'n1 could not store it');
    // Read repair gives n1 its copy once its storage works again.
    storages.get('n1')!.fail = false;
    assert.deepEqual((await n1.get('cart:w2', { r: 3 })).values, [['ink']]);
  } finally {
    await cluster.stop();
  }
});

test('a local read that fails before the new version exists fails the put with its error, and nothing is sent', async () => {
  const { cluster, storages } = await controlledCluster(1);
  try {
    const n1 = cluster.node('n1');
    storages.get('n1')!.failReads = true;
    await assert.rejects(n1.put('cart:unread', ['cup']), /read error/);
    for (const id of ['n2', 'n3']) assert.equal(await cluster.node(id).readLocal('cart:unread'), undefined, `${id} was sent nothing`);
    storages.get('n1')!.failReads = false;
    await n1.put('cart:unread', ['cup']);
    assert.deepEqual((await n1.get('cart:unread', { r: 3 })).values, [['cup']]);
  } finally {
    await cluster.stop();
  }
});
