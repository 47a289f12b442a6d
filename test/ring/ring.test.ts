import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DynamoError, ValidationError } from '../../src/errors.js';
import { hashKey } from '../../src/ring/hash.js';
import { MAX_PARTITIONS, Ring, type RingMember } from '../../src/ring/ring.js';
import { seededRandom, type Random } from '../../src/time/random.js';

const utf8 = new TextEncoder();
const key = (s: string): Uint8Array => utf8.encode(s);

function withWeight(ids: readonly string[], weight = 128): RingMember[] {
  return ids.map((id) => ({ id, weight }));
}

function owners(ring: Ring): string[] {
  return Array.from({ length: ring.partitions }, (_, p) => ring.owner(p));
}

/** The definition of a walk, one partition at a time, to check the fast one against. */
function slowWalk(ring: Ring, partition: number, count: number): string[] {
  const found: string[] = [];
  if (ring.size === 0) return found;
  for (let i = 0; i < ring.partitions && found.length < count; i++) {
    const o = ring.owner((partition + i) % ring.partitions);
    if (!found.includes(o)) found.push(o);
  }
  return found;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789-.:';

function randomId(random: Random): string {
  const length = 1 + Math.floor(random() * 20);
  let id = '';
  for (let i = 0; i < length; i++) id += ALPHABET[Math.floor(random() * ALPHABET.length)];
  return id;
}

function randomIds(random: Random, count: number): string[] {
  const ids = new Set<string>();
  while (ids.size < count) ids.add(randomId(random));
  return [...ids];
}

function shuffle<T>(items: readonly T[], random: Random): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

const ringId = fc.string({ minLength: 1, maxLength: 12 });
const memberSet = (min: number, max: number, minWeight = 1): fc.Arbitrary<RingMember[]> =>
  fc
    .uniqueArray(
      fc.record({ id: ringId, weight: fc.integer({ min: minWeight, max: 300 }) }),
      { minLength: min, maxLength: max, selector: (m) => m.id },
    )
    .map((ms) => ms.map((m) => ({ id: m.id, weight: m.weight })));
const smallQ = fc.integer({ min: 0, max: 10 }).map((k) => 2 ** k);

describe('Ring.build validation', () => {
  const bad = (f: () => unknown, pattern: RegExp): void => {
    assert.throws(f, (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.equal(err.code, 'INVALID_ARGUMENT');
      assert.match(err.message, pattern);
      return true;
    });
  };

  test('partitions must be a power of two from 1 to 65536', () => {
    for (const q of [0, 3, 100, 100_000, 131_072, -4, 1.5, Number.NaN, Infinity]) {
      bad(() => Ring.build([], q), /partitions must be a power of two from 1 to 65536/);
    }
    for (const q of [1, 2, 4096, MAX_PARTITIONS]) {
      assert.equal(Ring.build(withWeight(['a']), q).partitions, q);
    }
  });

  test('ids must be unique, non-empty, well-formed strings', () => {
    bad(() => Ring.build(withWeight(['a', 'b', 'a']), 16), /duplicate member id "a"/);
    bad(() => Ring.build(withWeight(['']), 16), /non-empty string/);
    bad(() => Ring.build([{ id: 7, weight: 1 } as unknown as RingMember], 16), /non-empty string/);
    bad(() => Ring.build(withWeight(['a\uD800']), 16), /well-formed/);
    assert.equal(Ring.build(withWeight(['\u{1F600}']), 16).size, 1);
  });

  test('weights must be positive integers', () => {
    for (const w of [0, 1.5, -1, Number.NaN, Infinity, 2 ** 53]) {
      bad(
        () => Ring.build([{ id: 'a', weight: w }], 16),
        /weight of member "a" must be a positive integer/,
      );
    }
  });

  test('does not modify the caller’s members', () => {
    const members = withWeight(['c', 'a', 'b']);
    const copy = structuredClone(members);
    Ring.build(members, 16);
    assert.deepEqual(members, copy);
  });
});

describe('partition arithmetic', () => {
  test('a partition is the top log2(Q) bits of the position', () => {
    const one = Ring.build([], 1);
    for (const h of [0, 1, 0x7fffffff, 0x80000000, 0xffffffff]) {
      assert.equal(one.partitionOfHash(h), 0);
    }
    const two = Ring.build([], 2);
    assert.equal(two.partitionOfHash(0x7fffffff), 0);
    assert.equal(two.partitionOfHash(0x80000000), 1);
    const q4096 = Ring.build([], 4096);
    assert.equal(q4096.partitionOfHash(0), 0);
    assert.equal(q4096.partitionOfHash(0x000fffff), 0);
    assert.equal(q4096.partitionOfHash(0x00100000), 1);
    assert.equal(q4096.partitionOfHash(0xffffffff), 4095);
    assert.equal(Ring.build([], MAX_PARTITIONS).partitionOfHash(0xffffffff), 65535);
  });

  test('a key falls in the partition of its hash', () => {
    const ring = Ring.build(withWeight(['a', 'b']), 256);
    for (const k of ['', 'hello', 'cart:alice']) {
      assert.equal(ring.partitionOfKey(key(k)), ring.partitionOfHash(hashKey(key(k))));
    }
    assert.equal(ring.partitionOfKey(key('hello')), 0xcb);
  });

  test('positions outside 32 bits are refused', () => {
    const ring = Ring.build([], 16);
    for (const h of [-1, 2 ** 32, 1.5, Number.NaN]) {
      assert.throws(() => ring.partitionOfHash(h), ValidationError);
    }
  });
});

describe('small rings', () => {
  test('an empty ring has no owners and empty walks', () => {
    const ring = Ring.build([], 64);
    assert.equal(ring.size, 0);
    assert.deepEqual(ring.memberIds, []);
    assert.deepEqual(ring.walk(5, 3), []);
    assert.deepEqual(ring.preferenceList(key('x'), 3), []);
    assert.deepEqual(ring.partitionsOf('a'), []);
    assert.throws(
      () => ring.owner(0),
      (err: unknown) => err instanceof DynamoError && /no members/.test(err.message),
    );
    assert.match(ring.checksum, /^[0-9a-f]{16}$/);
  });

  test('a single member owns everything', () => {
    const ring = Ring.build(withWeight(['solo']), 64);
    assert.deepEqual(new Set(owners(ring)), new Set(['solo']));
    assert.deepEqual(ring.walk(63, 3), ['solo']);
    assert.equal(ring.partitionsOf('solo').length, 64);
  });

  test('with one partition, only its owner can be walked to', () => {
    const ring = Ring.build(withWeight(['a', 'b', 'c']), 1);
    assert.deepEqual(ring.walk(0, 3), [ring.owner(0)]);
  });

  test('walk and owner check their arguments', () => {
    const ring = Ring.build(withWeight(['a', 'b']), 16);
    for (const p of [-1, 16, 1.5, Number.NaN]) {
      assert.throws(() => ring.owner(p), ValidationError);
      assert.throws(() => ring.walk(p, 2), ValidationError);
    }
    for (const n of [-1, 1.5, Number.NaN]) assert.throws(() => ring.walk(0, n), ValidationError);
    assert.deepEqual(ring.walk(3, 0), []);
  });

  test('partitionsOf lists each member’s partitions in order, covering the ring once', () => {
    const ring = Ring.build(withWeight(['a', 'b', 'c']), 256);
    const all: number[] = [];
    for (const id of ring.memberIds) {
      const mine = ring.partitionsOf(id);
      assert.deepEqual(mine, [...mine].sort((x, y) => x - y));
      for (const p of mine) assert.equal(ring.owner(p), id);
      all.push(...mine);
    }
    assert.deepEqual(all.sort((x, y) => x - y), Array.from({ length: 256 }, (_, p) => p));
    assert.deepEqual(ring.partitionsOf('stranger'), []);
    assert.ok(ring.has('a') && !ring.has('stranger'));
  });
});

describe('balance', () => {
  const Q = 4096;
  const KEYS = 100_000;
  const KEY_SEED = 0x6b657973;

  // Hashing is the slow part, so one set of random keys serves every membership.
  const positions = (() => {
    const random = seededRandom(KEY_SEED);
    const out = new Uint32Array(KEYS);
    for (let i = 0; i < KEYS; i++) {
      const k = new Uint8Array(1 + Math.floor(random() * 32));
      for (let j = 0; j < k.length; j++) k[j] = Math.floor(random() * 256);
      out[i] = hashKey(k);
    }
    return out;
  })();

  const primaries = (ring: Ring): string[] =>
    Array.from(positions, (h) => ring.walk(ring.partitionOfHash(h), 3)[0] ?? '');

  test('three equal members share keys evenly; a fourth takes its share from all', (t) => {
    let worstKeyRatio = 0;
    let worstPartitionRatio = 0;
    let worstDeviation = 0;
    let movedLow = 1;
    let movedHigh = 0;
    for (let i = 0; i < 10; i++) {
      const seed = 0x5eed0000 + i;
      const at = `(membership seed ${seed}, key seed ${KEY_SEED})`;
      const ids = randomIds(seededRandom(seed), 4);
      const newcomer = ids[3] ?? '';
      const ring = Ring.build(withWeight(ids.slice(0, 3)), Q);

      const before = primaries(ring);
      const perMember = ring.memberIds.map((id) => before.filter((o) => o === id).length);
      const keyRatio = Math.max(...perMember) / Math.min(...perMember);
      assert.ok(keyRatio <= 1.3, `primary keys per member ${perMember.join('/')} ${at}`);

      const counts = ring.memberIds.map((id) => ring.partitionsOf(id).length);
      for (const c of counts) {
        const off = Math.abs(c - Q / 3);
        assert.ok(off <= 0.1 * (Q / 3), `partition counts ${counts.join('/')} ${at}`);
      }

      const grown = Ring.build(withWeight(ids), Q);
      const after = primaries(grown);
      let moved = 0;
      for (let k = 0; k < KEYS; k++) {
        if (after[k] !== before[k]) {
          moved++;
          assert.equal(after[k], newcomer, `key ${k} moved between old members ${at}`);
        }
      }
      const fraction = moved / KEYS;
      const percent = (fraction * 100).toFixed(1);
      assert.ok(fraction >= 0.2 && fraction <= 0.3, `${percent}% of keys moved ${at}`);

      worstKeyRatio = Math.max(worstKeyRatio, keyRatio);
      const partitionRatio = Math.max(...counts) / Math.min(...counts);
      worstPartitionRatio = Math.max(worstPartitionRatio, partitionRatio);
      worstDeviation = Math.max(worstDeviation, ...counts.map((c) => Math.abs(c / (Q / 3) - 1)));
      movedLow = Math.min(movedLow, fraction);
      movedHigh = Math.max(movedHigh, fraction);
    }
    t.diagnostic(
      `worst max/min primary keys ${worstKeyRatio.toFixed(3)}, ` +
        `partitions ${worstPartitionRatio.toFixed(3)}; ` +
        `worst partition count off Q/3 by ${(worstDeviation * 100).toFixed(1)}%; ` +
        `a 4th member moved ${(movedLow * 100).toFixed(1)}–` +
        `${(movedHigh * 100).toFixed(1)}% of keys`,
    );
  });

  // Weighted rendezvous gives member i partition p with probability w_i / sum(w), independently
  // per partition, so its count is binomial: for 256 among three 128s, p = 0.4 and the sd is
  // sqrt(Q * 0.4 * 0.6) = 31 partitions. Four sd (±125, ±7.7%) never fails by chance on these
  // fixed memberships yet catches any real bias: ignoring weights would give 1024 (-19 sd).
  test('weight 256 among weights of 128 owns twice the share', (t) => {
    const share = 256 / (256 + 3 * 128);
    const sd = Math.sqrt(Q * share * (1 - share));
    let worst = 0;
    for (let i = 0; i < 5; i++) {
      const seed = 0x77e1000 + i;
      const ids = randomIds(seededRandom(seed), 4);
      const heavy = ids[0] ?? '';
      const ring = Ring.build([{ id: heavy, weight: 256 }, ...withWeight(ids.slice(1), 128)], Q);
      const mine = ring.partitionsOf(heavy).length;
      const z = (mine - Q * share) / sd;
      const expected = Q * share;
      assert.ok(Math.abs(z) <= 4, `heavy member owns ${mine}, expected ${expected} (seed ${seed})`);
      const lightMean = (Q - mine) / 3;
      const ratio = mine / lightMean;
      assert.ok(ratio > 1.7 && ratio < 2.3, `heavy/light ratio ${ratio} (seed ${seed})`);
      worst = Math.max(worst, Math.abs(z));
    }
    t.diagnostic(`worst deviation of the heavy member: ${worst.toFixed(2)} sd`);
  });
});

describe('determinism', () => {
  test('member order does not matter', () => {
    const random = seededRandom(42);
    const members = randomIds(random, 8).map((id, i) => ({ id, weight: 64 * (1 + (i % 3)) }));
    const ring = Ring.build(members, 1024);
    for (let i = 0; i < 5; i++) {
      const again = Ring.build(shuffle(members, random), 1024);
      assert.deepEqual(again.memberIds, ring.memberIds);
      assert.deepEqual(owners(again), owners(ring));
      assert.equal(again.checksum, ring.checksum);
    }
    assert.deepEqual(ring.memberIds, [...ring.memberIds].sort());
  });

  test('any change of membership, weight or Q changes the checksum', () => {
    const base = withWeight(['a', 'b', 'c']);
    const variants = [
      Ring.build(base, 64),
      Ring.build(base, 128),
      Ring.build(withWeight(['a', 'b']), 64),
      Ring.build(withWeight(['a', 'b', 'c', 'd']), 64),
      Ring.build(withWeight(['a', 'b', 'cc']), 64),
      Ring.build([{ id: 'a', weight: 129 }, ...withWeight(['b', 'c'])], 64),
      Ring.build(withWeight(['a', 'b', 'c'], 1), 64),
      Ring.build([], 64),
      Ring.build([], 128),
    ];
    assert.equal(new Set(variants.map((r) => r.checksum)).size, variants.length);
    assert.equal(Ring.build(base, 64).checksum, variants[0]?.checksum);
  });

  // Every member must compute the same ring, including members running other versions of
  // this library. These pin the assignment and checksum so a change cannot slip in unseen;
  // the owners are written as the last character of each partition's owner id.
  test('known assignment', () => {
    const KNOWN_OWNERS = '13312213112133221223211112312331';
    const KNOWN_CHECKSUM = 'f027a313418a8833';
    const KNOWN_WEIGHTED_OWNERS = '23332213132133321223233332312333';
    const ring = Ring.build(withWeight(['node-1', 'node-2', 'node-3']), 32);
    assert.equal(owners(ring).map((id) => id.slice(-1)).join(''), KNOWN_OWNERS);
    assert.equal(ring.checksum, KNOWN_CHECKSUM);
    const weighted = Ring.build(
      [
        { id: 'node-1', weight: 1 },
        { id: 'node-2', weight: 2 },
        { id: 'node-3', weight: 3 },
      ],
      32,
    );
    assert.equal(owners(weighted).map((id) => id.slice(-1)).join(''), KNOWN_WEIGHTED_OWNERS);
  });
});

describe('preference lists', () => {
  // With weights 64..300 and Q = 4096 the lightest member expects over a hundred partitions,
  // so every member is reachable and lists reach min(n, S).
  test('are distinct members, min(n, S) of them, led by the key’s owner', () => {
    const keys = fc.array(fc.uint8Array({ maxLength: 24 }), { minLength: 1, maxLength: 20 });
    const n = fc.integer({ min: 1, max: 10 });
    fc.assert(
      fc.property(memberSet(1, 8, 64), keys, n, (ms, ks, count) => {
        const ring = Ring.build(ms, 4096);
        for (const k of ks) {
          const list = ring.preferenceList(k, count);
          assert.equal(list.length, Math.min(count, ms.length));
          assert.equal(new Set(list).size, list.length);
          assert.equal(list[0], ring.owner(ring.partitionOfKey(k)));
          assert.deepEqual(list, ring.walk(ring.partitionOfKey(k), count));
        }
      }),
      { numRuns: 50 },
    );
  });

  // Riak's known bad case: with Q = 16 and 5 members, naive round-robin claim gives the last
  // and first partitions the same owner, so lists starting at p15 and p16 (1-based) repeat a
  // member. This membership has such windows, wrap included; the walk must skip the repeats.
  test('Riak’s Q=16, 5-member case never repeats a member', () => {
    const ring = Ring.build(withWeight(['n1', 'n2', 'n3', 'n4', 'n5']), 16);
    const o = owners(ring);
    const window = (p: number): string[] => [0, 1, 2].map((i) => o[(p + i) % 16] ?? '');
    assert.ok(new Set(window(14)).size < 3, 'the wrapping window should hold a repeat');
    for (let p = 0; p < 16; p++) {
      const list = ring.walk(p, 3);
      assert.equal(list.length, 3, `walk from ${p}`);
      assert.equal(new Set(list).size, 3, `walk from ${p}: ${list.join(',')}`);
      assert.deepEqual(list, slowWalk(ring, p, 3));
    }
  });
});

describe('properties', () => {
  test('walk returns distinct members in clockwise order of first appearance', () => {
    const count = fc.integer({ min: 0, max: 12 });
    fc.assert(
      fc.property(memberSet(0, 10), smallQ, fc.nat(), count, (ms, q, start, n) => {
        const ring = Ring.build(ms, q);
        const p = start % q;
        const list = ring.walk(p, n);
        assert.deepEqual(list, slowWalk(ring, p, n));
        assert.ok(list.length <= Math.min(n, ms.length));
      }),
    );
  });

  test('removing a member reassigns only its partitions', () => {
    fc.assert(
      fc.property(memberSet(1, 10), smallQ, fc.nat(), (ms, q, pick) => {
        const gone = ms[pick % ms.length]?.id ?? '';
        const before = owners(Ring.build(ms, q));
        const after = Ring.build(ms.filter((m) => m.id !== gone), q);
        before.forEach((was, p) => {
          if (was !== gone && after.size > 0) assert.equal(after.owner(p), was, `partition ${p}`);
        });
        assert.deepEqual(after.partitionsOf(gone), []);
      }),
    );
  });

  test('adding a member assigns partitions only to it', () => {
    const weight = fc.integer({ min: 1, max: 300 });
    fc.assert(
      fc.property(memberSet(1, 10), smallQ, ringId, weight, (ms, q, id, w) => {
        fc.pre(!ms.some((m) => m.id === id));
        const before = owners(Ring.build(ms, q));
        const after = owners(Ring.build([...ms, { id, weight: w }], q));
        after.forEach((now, p) => {
          if (now !== before[p]) assert.equal(now, id, `partition ${p}`);
        });
      }),
    );
  });

  test('raising a member’s weight moves partitions only to it', () => {
    const extra = fc.integer({ min: 1, max: 300 });
    fc.assert(
      fc.property(memberSet(2, 10), smallQ, fc.nat(), extra, (ms, q, pick, more) => {
        const i = pick % ms.length;
        const target = ms[i];
        if (target === undefined) return;
        const before = owners(Ring.build(ms, q));
        const raised = ms.map((m, j) => (j === i ? { id: m.id, weight: m.weight + more } : m));
        const after = owners(Ring.build(raised, q));
        after.forEach((now, p) => {
          if (now !== before[p]) assert.equal(now, target.id, `partition ${p}`);
        });
      }),
    );
  });

  test('the ring depends only on the membership, not its order', () => {
    const shuffled = memberSet(0, 10).chain((ms) =>
      fc.tuple(fc.constant(ms), fc.shuffledSubarray(ms, { minLength: ms.length })),
    );
    fc.assert(
      fc.property(shuffled, smallQ, ([ms, reordered], q) => {
        const a = Ring.build(ms, q);
        const b = Ring.build(reordered, q);
        assert.deepEqual(b.memberIds, a.memberIds);
        assert.equal(b.checksum, a.checksum);
        if (a.size > 0) assert.deepEqual(owners(b), owners(a));
      }),
    );
  });
});
