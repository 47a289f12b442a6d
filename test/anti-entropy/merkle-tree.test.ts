import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import murmur from 'murmurhash3js-revisited';
import { ValidationError } from '../../src/errors.js';
import { hashKey } from '../../src/ring/hash.js';
import {
  EMPTY_DIGEST,
  MAX_LEAF_BITS,
  MerkleTree,
  entryDigest,
  entryDigestAt,
  type Digest,
} from '../../src/anti-entropy/merkle-tree.js';

const utf8 = new TextEncoder();
const bytes = (s: string): Uint8Array => utf8.encode(s);

// The exchange's choice of segment: the top bits of the key's ring hash.
const leafOf = (key: string, leafBits: number): number => (leafBits === 0 ? 0 : hashKey(bytes(key)) >>> (32 - leafBits));

type Entries = ReadonlyMap<string, string>;

function insertAll(tree: MerkleTree, entries: Iterable<readonly [string, string]>): MerkleTree {
  for (const [k, v] of entries) tree.update(leafOf(k, tree.leafBits), undefined, entryDigest(bytes(k), bytes(v)));
  return tree;
}

const build = (leafBits: number, entries: Entries): MerkleTree => insertAll(new MerkleTree(leafBits), entries);

function allLevels(tree: MerkleTree): Uint8Array[] {
  return Array.from({ length: tree.leafBits + 1 }, (_, d) => tree.level(d));
}

/** Leaves whose sets of (key, value) differ, computed from the entries, not the trees. */
function differingLeaves(a: Entries, b: Entries, leafBits: number): number[] {
  const leaves = new Set<number>();
  for (const [k, v] of a) if (b.get(k) !== v) leaves.add(leafOf(k, leafBits));
  for (const [k, v] of b) if (a.get(k) !== v) leaves.add(leafOf(k, leafBits));
  return [...leaves].sort((x, y) => x - y);
}

/** Keys present on one side only or with different values. */
function differingKeys(a: Entries, b: Entries): number {
  let k = 0;
  for (const [key, v] of a) if (b.get(key) !== v) k++;
  for (const key of b.keys()) if (!a.has(key)) k++;
  return k;
}

// Keys from a small alphabet so two random maps overlap often; values likewise, so that the
// same key with a different value is common too.
const keyArb = fc.string({ unit: fc.constantFrom('a', 'b', 'c', '\u0000', 'é'), minLength: 1, maxLength: 4 });
const valueArb = fc.string({ unit: fc.constantFrom('x', 'y', '\u0000'), maxLength: 3 });
const entriesArb = fc
  .uniqueArray(fc.tuple(keyArb, valueArb), { selector: ([k]) => k, maxLength: 40 })
  .map((list) => new Map(list));
const leafBitsArb = fc.integer({ min: 0, max: 8 });

function u32le(...words: number[]): Uint8Array {
  const out = new Uint8Array(4 * words.length);
  const view = new DataView(out.buffer);
  words.forEach((w, i) => view.setUint32(4 * i, w, true));
  return out;
}

const SEED_HI = 0x243f6a88;
const SEED_LO = 0x85a308d3;

/**
 * Every level of the tree holding `entries`, computed from scratch with the library hash: an
 * oracle that shares nothing with the tree's caching. Levels are [hi, lo] words per node.
 */
function referenceLevels(entries: Entries, leafBits: number): Uint8Array[] {
  let words = new Uint32Array(2 * 2 ** leafBits);
  for (const [k, v] of entries) {
    const { hi, lo } = entryDigest(bytes(k), bytes(v));
    const leaf = leafOf(k, leafBits);
    words[2 * leaf] = (words[2 * leaf] ?? 0) ^ hi;
    words[2 * leaf + 1] = (words[2 * leaf + 1] ?? 0) ^ lo;
  }
  const levels: Uint32Array[] = [words];
  while (words.length > 2) {
    const up = new Uint32Array(words.length / 2);
    for (let j = 0; j < up.length / 2; j++) {
      const children = Array.from(words.subarray(4 * j, 4 * j + 4));
      if (children.some((w) => w !== 0)) {
        up[2 * j] = murmur.x86.hash32(u32le(...children), SEED_HI);
        up[2 * j + 1] = murmur.x86.hash32(u32le(...children), SEED_LO);
      }
    }
    levels.unshift(up);
    words = up;
  }
  return levels.map((level) => {
    const out = new Uint8Array(4 * level.length);
    const view = new DataView(out.buffer);
    level.forEach((w, i) => view.setUint32(4 * i, w));
    return out;
  });
}

describe('entryDigest', () => {
  test('is MurmurHash3 x86 32 (two seeds) over u32le(key length) || key || value', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 300 }), (key, value) => {
        const frame = new Uint8Array([...u32le(key.length), ...key, ...value]);
        assert.deepEqual(entryDigest(key, value), {
          hi: murmur.x86.hash32(frame, SEED_HI),
          lo: murmur.x86.hash32(frame, SEED_LO),
        });
      }),
    );
  });

  test('frames past the reused buffer (large values) hash the same way', () => {
    const key = bytes('big');
    for (const size of [255, 256, 70_000, 200_000]) {
      const value = Uint8Array.from({ length: size }, (_, i) => (i * 131) & 0xff);
      const frame = new Uint8Array([...u32le(key.length), ...key, ...value]);
      assert.deepEqual(entryDigest(key, value), {
        hi: murmur.x86.hash32(frame, SEED_HI),
        lo: murmur.x86.hash32(frame, SEED_LO),
      });
    }
    // And a small one afterwards still uses a clean frame.
    assert.deepEqual(entryDigest(bytes('1'), bytes('x')), { hi: 0xed1b7d9e, lo: 0x79c8373e });
  });

  // A change here changes every replica's trees: all members must hash identically, so it
  // can never happen silently.
  test('known digests', () => {
    assert.deepEqual(entryDigest(bytes(''), bytes('')), { hi: 0x93195db2, lo: 0xe08adb77 });
    assert.deepEqual(entryDigest(bytes('a'), bytes('')), { hi: 0x52252fcc, lo: 0xa21847e9 });
    assert.deepEqual(entryDigest(bytes('1'), bytes('x')), { hi: 0xed1b7d9e, lo: 0x79c8373e });
    assert.deepEqual(entryDigest(bytes('cart:alice'), bytes('{"items":3}')), { hi: 0x5d7e46be, lo: 0x18002dd2 });
  });

  test('where the key ends matters, even when keys hold 0x00', () => {
    // With a separator byte instead of a length, these two would share the frame a 0 0 b.
    assert.notDeepEqual(entryDigest(bytes('a\u0000'), bytes('b')), entryDigest(bytes('a'), bytes('\u0000b')));
    assert.notDeepEqual(entryDigest(bytes('ab'), bytes('')), entryDigest(bytes('a'), bytes('b')));
  });

  test('entryDigestAt hashes the key filling the rest of its source, short keys and long ones', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 100 }), (prefix, key, value) => {
        const source = new Uint8Array([0xee, ...prefix, ...key]).subarray(1);
        assert.deepEqual(entryDigestAt(source, prefix.length, value), entryDigest(key, value));
      }),
    );
  });

  test('hashes only the bytes a view shows', () => {
    const big = bytes('..key..value..');
    assert.deepEqual(entryDigest(big.subarray(2, 5), big.subarray(7, 12)), entryDigest(bytes('key'), bytes('value')));
  });
});

describe('MerkleTree shape and validation', () => {
  test('an empty tree of any size has root EMPTY_DIGEST', () => {
    for (let bits = 0; bits <= MAX_LEAF_BITS; bits++) {
      const tree = new MerkleTree(bits);
      assert.equal(tree.leaves, 2 ** bits);
      assert.deepEqual(tree.root(), EMPTY_DIGEST);
    }
  });

  test('leafBits outside 0..16 is a ValidationError', () => {
    for (const bad of [-1, 17, 1.5, Number.NaN, Infinity]) {
      assert.throws(() => new MerkleTree(bad), (err: unknown) => {
        assert.ok(err instanceof ValidationError);
        assert.equal(err.code, 'INVALID_ARGUMENT');
        assert.match(err.message, /leafBits/);
        return true;
      });
    }
  });

  test('a leaf index outside [0, leaves) is a ValidationError, and changes nothing', () => {
    const tree = new MerkleTree(3);
    const d = entryDigest(bytes('k'), bytes('v'));
    for (const bad of [-1, 8, 0.5, Number.NaN]) {
      assert.throws(() => tree.update(bad, undefined, d), ValidationError);
    }
    assert.deepEqual(tree.root(), EMPTY_DIGEST);
    tree.update(7, undefined, d);
    assert.notDeepEqual(tree.root(), EMPTY_DIGEST);
  });

  test('level() has 2^depth nodes of 8 bytes; level 0 is the root, the last the leaf XORs', () => {
    const leafBits = 5;
    const entries = new Map(Array.from({ length: 50 }, (_, i) => [`key-${i}`, `v${i}`] as const));
    const tree = build(leafBits, entries);
    for (let d = 0; d <= leafBits; d++) assert.equal(tree.level(d).length, 8 * 2 ** d);
    const root = tree.root();
    const top = new DataView(tree.level(0).buffer);
    assert.deepEqual({ hi: top.getUint32(0), lo: top.getUint32(4) }, root);

    const expected = new Uint32Array(2 * tree.leaves);
    for (const [k, v] of entries) {
      const { hi, lo } = entryDigest(bytes(k), bytes(v));
      const leaf = leafOf(k, leafBits);
      expected[2 * leaf] = (expected[2 * leaf] ?? 0) ^ hi;
      expected[2 * leaf + 1] = (expected[2 * leaf + 1] ?? 0) ^ lo;
    }
    const leaves = new DataView(tree.level(leafBits).buffer);
    for (let j = 0; j < tree.leaves; j++) {
      assert.equal(leaves.getUint32(8 * j), expected[2 * j], `leaf ${j} hi`);
      assert.equal(leaves.getUint32(8 * j + 4), expected[2 * j + 1], `leaf ${j} lo`);
    }
    for (const bad of [-1, leafBits + 1, 0.5]) assert.throws(() => tree.level(bad), ValidationError);
  });

  test('nodes() answers the given indices in the given order, and refuses bad ones', () => {
    const tree = build(3, new Map([['a', '1'], ['b', '2'], ['c', '3']]));
    const level = tree.level(2);
    assert.deepEqual(tree.nodes(2, [3, 0]), new Uint8Array([...level.subarray(24, 32), ...level.subarray(0, 8)]));
    assert.deepEqual(tree.nodes(2, []), new Uint8Array(0));
    assert.throws(() => tree.nodes(2, [4]), ValidationError);
    assert.throws(() => tree.nodes(2, [-1]), ValidationError);
    assert.throws(() => tree.nodes(4, [0]), ValidationError);
  });

  test('an interior node hashes its two children (16 bytes, little-endian words)', () => {
    const x = entryDigest(bytes('x'), bytes('1'));
    const left = new MerkleTree(1);
    left.update(0, undefined, x);
    const right = new MerkleTree(1);
    right.update(1, undefined, x);
    assert.deepEqual(left.root(), {
      hi: murmur.x86.hash32(u32le(x.hi, x.lo, 0, 0), SEED_HI),
      lo: murmur.x86.hash32(u32le(x.hi, x.lo, 0, 0), SEED_LO),
    });
    // Not XOR: the same digest in another leaf gives another root.
    assert.notDeepEqual(left.root(), right.root());
    assert.notDeepEqual(left.root(), x);
  });

  test('a digest with one zero word still counts', () => {
    for (const d of [{ hi: 1, lo: 0 }, { hi: 0, lo: 0x80000000 }]) {
      const tree = new MerkleTree(2);
      tree.update(1, undefined, d);
      assert.notDeepEqual(tree.root(), EMPTY_DIGEST);
      const leaves = new DataView(tree.level(2).buffer);
      assert.deepEqual({ hi: leaves.getUint32(8), lo: leaves.getUint32(12) }, d);
      tree.update(1, d, undefined);
      assert.deepEqual(tree.root(), EMPTY_DIGEST);
    }
  });

  test('byteSize is 16 bytes per leaf plus a dirty bit per interior node, in whole words', () => {
    for (const [bits, size] of [[0, 20], [5, 516], [6, 1032], [8, 4128], [10, 16_512], [12, 66_048], [16, 1_056_768]] as const) {
      assert.equal(new MerkleTree(bits).byteSize, size);
      assert.equal(MerkleTree.wordsFor(bits) * 4, size);
    }
  });

  test('a tree kept in a view of a shared array matches one of its own, and leaves its neighbours alone', () => {
    const words = MerkleTree.wordsFor(3);
    const shared = new Uint32Array(3 * words);
    const inside = new MerkleTree(3, shared.subarray(words, 2 * words));
    const alone = new MerkleTree(3);
    for (let i = 0; i < 20; i++) {
      const d = entryDigest(new Uint8Array([i]), new Uint8Array([i, 1]));
      inside.update(i % 8, undefined, d);
      alone.update(i % 8, undefined, d);
    }
    assert.deepEqual(allLevels(inside), allLevels(alone));
    assert.ok(shared.subarray(0, words).every((w) => w === 0) && shared.subarray(2 * words).every((w) => w === 0));
    assert.throws(() => new MerkleTree(3, new Uint32Array(words - 1)), ValidationError);
  });
});

describe('MerkleTree updates', () => {
  test('property: any order of inserts gives the same tree', () => {
    fc.assert(
      fc.property(
        leafBitsArb,
        entriesArb.chain((m) => fc.tuple(fc.constant(m), fc.shuffledSubarray([...m], { minLength: m.size }))),
        (leafBits, [entries, shuffled]) => {
          const a = build(leafBits, entries);
          const b = insertAll(new MerkleTree(leafBits), shuffled);
          assert.deepEqual(b.root(), a.root());
          assert.deepEqual(allLevels(b), allLevels(a));
          assert.deepEqual(allLevels(a), referenceLevels(entries, leafBits));
        },
      ),
    );
  });

  test('property: inserting then deleting everything, in any order, restores the empty tree', () => {
    fc.assert(
      fc.property(
        leafBitsArb,
        entriesArb.chain((m) => fc.tuple(fc.constant(m), fc.shuffledSubarray([...m], { minLength: m.size }))),
        (leafBits, [entries, deleteOrder]) => {
          const tree = build(leafBits, entries);
          tree.root(); // cache interior digests, so deletes must invalidate them
          for (const [k, v] of deleteOrder) tree.update(leafOf(k, leafBits), entryDigest(bytes(k), bytes(v)), undefined);
          assert.deepEqual(tree.root(), EMPTY_DIGEST);
          assert.deepEqual(allLevels(tree), allLevels(new MerkleTree(leafBits)));
        },
      ),
    );
  });

  test('property: update(before, after) equals a delete then an insert, and a fresh build', () => {
    fc.assert(
      fc.property(leafBitsArb, entriesArb, keyArb, valueArb, valueArb, (leafBits, entries, key, v1, v2) => {
        const base = new Map(entries);
        base.set(key, v1);
        const leaf = leafOf(key, leafBits);
        const d1 = entryDigest(bytes(key), bytes(v1));
        const d2 = entryDigest(bytes(key), bytes(v2));

        const overwritten = build(leafBits, base);
        overwritten.update(leaf, d1, d2);
        const twoSteps = build(leafBits, base);
        twoSteps.update(leaf, d1, undefined);
        twoSteps.update(leaf, undefined, d2);
        const fresh = build(leafBits, new Map(base).set(key, v2));

        assert.deepEqual(allLevels(overwritten), allLevels(twoSteps));
        assert.deepEqual(allLevels(overwritten), allLevels(fresh));
      }),
    );
  });

  test('property: root() between arbitrary updates always matches a tree built from scratch', () => {
    // Exercises the dirty-path cache: reads interleaved with writes must never see stale nodes.
    const op = fc.oneof(
      fc.record({ kind: fc.constant('put' as const), key: keyArb, value: valueArb }),
      fc.record({ kind: fc.constant('delete' as const), key: keyArb }),
      fc.record({ kind: fc.constant('read' as const), depth: fc.nat(8) }),
    );
    fc.assert(
      fc.property(leafBitsArb, fc.array(op, { maxLength: 60 }), (leafBits, ops) => {
        const tree = new MerkleTree(leafBits);
        const model = new Map<string, string>();
        for (const o of ops) {
          if (o.kind === 'read') {
            const depth = Math.min(o.depth, leafBits);
            assert.deepEqual(tree.level(depth), referenceLevels(model, leafBits)[depth]);
            continue;
          }
          const old = model.get(o.key);
          const before = old === undefined ? undefined : entryDigest(bytes(o.key), bytes(old));
          let after: Digest | undefined;
          if (o.kind === 'put') {
            after = entryDigest(bytes(o.key), bytes(o.value));
            model.set(o.key, o.value);
          } else {
            model.delete(o.key);
          }
          tree.update(leafOf(o.key, leafBits), before, after);
        }
        assert.deepEqual(allLevels(tree), referenceLevels(model, leafBits));
      }),
    );
  });
});

describe('MerkleTree.diff', () => {
  const remoteOf = (tree: MerkleTree) => async (depth: number, nodes: readonly number[]) => tree.nodes(depth, nodes);

  // VECTORS.md, "Merkle exchange": the labels themselves (remote-missing / missing) are the
  // exchange's, from the keys in these leaves; the tree's part is to name the leaves.
  test('{"1"} vs {"2"}: the leaves of both keys differ', async () => {
    const leafBits = 10;
    const a = build(leafBits, new Map([['1', 'v']]));
    const b = build(leafBits, new Map([['2', 'v']]));
    const expected = [...new Set([leafOf('1', leafBits), leafOf('2', leafBits)])].sort((x, y) => x - y);
    assert.equal(expected.length, 2, 'the vector assumes the two keys land in different leaves');
    assert.deepEqual(MerkleTree.diffLocal(a, b).leaves, expected);
    assert.deepEqual((await MerkleTree.diff(a, remoteOf(b))).leaves, expected);
    assert.deepEqual(MerkleTree.diffLocal(b, a).leaves, expected);
  });

  test('the same key with different values differs', async () => {
    const a = build(10, new Map([['1', 'old']]));
    const b = build(10, new Map([['1', 'new']]));
    assert.deepEqual(MerkleTree.diffLocal(a, b).leaves, [leafOf('1', 10)]);
    assert.deepEqual((await MerkleTree.diff(a, remoteOf(b))).leaves, [leafOf('1', 10)]);
  });

  test('identical trees: no differences, after one comparison', async () => {
    const entries = new Map(Array.from({ length: 100 }, (_, i) => [`k${i}`, `v${i}`] as const));
    const a = build(10, entries);
    const b = build(10, entries);
    assert.deepEqual(MerkleTree.diffLocal(a, b), { leaves: [], comparisons: 1 });
    assert.deepEqual(await MerkleTree.diff(a, remoteOf(b)), { leaves: [], comparisons: 1 });
    assert.deepEqual(MerkleTree.diffLocal(new MerkleTree(0), new MerkleTree(0)), { leaves: [], comparisons: 1 });
  });

  test('property: both finds exactly the leaves whose entry sets differ, within 1 + 2kd comparisons', async () => {
    await fc.assert(
      fc.asyncProperty(leafBitsArb, entriesArb, entriesArb, async (leafBits, ea, eb) => {
        const a = build(leafBits, ea);
        const b = build(leafBits, eb);
        const expected = differingLeaves(ea, eb, leafBits);
        const bound = 1 + 2 * differingKeys(ea, eb) * leafBits;

        const local = MerkleTree.diffLocal(a, b);
        assert.deepEqual(local.leaves, expected);
        assert.ok(local.comparisons <= bound, `${local.comparisons} comparisons > ${bound}`);

        // The remote is asked, per level, only for children of nodes that differed above.
        const levelsA = allLevels(a);
        const levelsB = allLevels(b);
        const differs = (d: number, j: number): boolean =>
          Buffer.compare(levelsA[d]!.subarray(8 * j, 8 * j + 8), levelsB[d]!.subarray(8 * j, 8 * j + 8)) !== 0;
        const asked: number[] = [];
        const remote = await MerkleTree.diff(a, async (depth, nodes) => {
          assert.equal(depth, asked.length, 'levels are asked in order, once each');
          if (depth === 0) assert.deepEqual(nodes, [0]);
          else for (const j of nodes) assert.ok(differs(depth - 1, j >> 1), `asked for node ${j} at depth ${depth} under a matching parent`);
          asked.push(nodes.length);
          return b.nodes(depth, nodes);
        });
        assert.deepEqual(remote, local);
        assert.equal(remote.comparisons, asked.reduce((s, n) => s + n, 0));
      }),
    );
  });

  test('the comparison bound holds for few differences in a large tree', () => {
    // The VECTORS.md regime: a full range of keys, a handful differing, deep trees.
    const keys = Array.from({ length: 30_000 }, (_, i) => `key-${i}`);
    const positions = keys.map((k) => hashKey(bytes(k)));
    const digests = keys.map((k) => entryDigest(bytes(k), bytes('v')));
    const changed = keys.map((k) => entryDigest(bytes(k), bytes('changed')));
    const inBase = 20_000;
    const leaf = (i: number, d: number): number => (d === 0 ? 0 : (positions[i] ?? 0) >>> (32 - d));
    fc.assert(
      fc.property(fc.integer({ min: 10, max: 16 }), fc.uniqueArray(fc.nat(keys.length - 1), { minLength: 1, maxLength: 10 }), (d, picks) => {
        const a = new MerkleTree(d);
        const b = new MerkleTree(d);
        for (let i = 0; i < inBase; i++) {
          a.update(leaf(i, d), undefined, digests[i]);
          b.update(leaf(i, d), undefined, digests[i]);
        }
        for (const i of picks) b.update(leaf(i, d), i < inBase ? digests[i] : undefined, changed[i]);
        const { leaves, comparisons } = MerkleTree.diffLocal(a, b);
        assert.deepEqual(leaves, [...new Set(picks.map((i) => leaf(i, d)))].sort((x, y) => x - y));
        assert.ok(comparisons <= 1 + 2 * picks.length * d, `${comparisons} > 1 + 2·${picks.length}·${d}`);
      }),
      { numRuns: 50 },
    );
  });

  test('diff compares the tree as it was when called, whatever updates arrive meanwhile', async () => {
    const a = build(6, new Map([['1', 'v']]));
    const b = build(6, new Map([['2', 'v']]));
    const expected = MerkleTree.diffLocal(a, b);
    const result = await MerkleTree.diff(a, async (depth, nodes) => {
      a.update(leafOf('2', 6), undefined, entryDigest(bytes('2'), bytes('v')));
      a.update(leafOf('1', 6), entryDigest(bytes('1'), bytes('v')), undefined);
      await Promise.resolve();
      return b.nodes(depth, nodes);
    });
    assert.deepEqual(result, expected);
    assert.deepEqual(MerkleTree.diffLocal(a, b).leaves, []);
  });

  test('a remote answer of the wrong size is a ValidationError; a remote failure propagates', async () => {
    const a = build(4, new Map([['1', 'v']]));
    await assert.rejects(MerkleTree.diff(a, async () => new Uint8Array(7)), ValidationError);
    await assert.rejects(MerkleTree.diff(a, async (depth) => new Uint8Array(depth === 0 ? 8 : 0)), ValidationError);
    const boom = new Error('link down');
    await assert.rejects(MerkleTree.diff(a, async () => { throw boom; }), (err) => err === boom);
  });

  test('diffLocal refuses trees of different sizes', () => {
    assert.throws(() => MerkleTree.diffLocal(new MerkleTree(3), new MerkleTree(4)), ValidationError);
  });
});
