import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import murmur from 'murmurhash3js-revisited';
import {
  fmix32,
  hashKey,
  memberSeed,
  murmur3x64Words,
  rendezvousDraw,
  weightedScore,
} from '../../src/ring/hash.js';

const utf8 = new TextEncoder();
const bytes = (s: string): Uint8Array => utf8.encode(s);
const isUint32 = (x: number): boolean => Number.isInteger(x) && x >= 0 && x <= 0xffffffff;

/** The reference's hex string as our four words. */
function referenceWords(key: Uint8Array): number[] {
  const hex = murmur.x64.hash128(key, 0);
  return [0, 8, 16, 24].map((at) => Number.parseInt(hex.slice(at, at + 8), 16));
}

describe('murmur3x64Words', () => {
  // murmurhash3js-revisited is the reference: ours must match it on every input, for every
  // length mod 16 (each tail case) and across block boundaries.
  test('is bit-exact with murmurhash3js-revisited on random inputs', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (key) => {
        assert.deepEqual(murmur3x64Words(key), referenceWords(key));
      }),
      { numRuns: 5000 },
    );
  });

  test('is bit-exact on every length up to 64 and on extreme bytes', () => {
    for (let length = 0; length <= 64; length++) {
      for (const fill of [0x00, 0x7f, 0x80, 0xff]) {
        const key = new Uint8Array(length).fill(fill);
        assert.deepEqual(murmur3x64Words(key), referenceWords(key), `length ${length}, fill ${fill}`);
      }
      const ramp = Uint8Array.from({ length }, (_, i) => (i * 37 + 11) & 0xff);
      assert.deepEqual(murmur3x64Words(ramp), referenceWords(ramp), `ramp of ${length}`);
    }
  });
});

describe('hashKey', () => {
  test('is a function of the bytes alone', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(16), (key, pad) => {
        const h = hashKey(key);
        assert.ok(isUint32(h), `not an unsigned 32-bit integer: ${h}`);
        assert.equal(hashKey(Uint8Array.from(key)), h);
        // A view into a larger buffer must hash only the bytes it shows.
        const big = new Uint8Array(pad + key.length + pad).fill(0xab);
        big.set(key, pad);
        assert.equal(hashKey(big.subarray(pad, pad + key.length)), h);
      }),
    );
  });

  // The first 32 bits of MurmurHash3 x64 128 (seed 0). Checked against an independent
  // implementation of the reference algorithm when these were written; a change here moves
  // every stored key, so it must never happen silently.
  test('known positions', () => {
    assert.equal(hashKey(bytes('')), 0);
    assert.equal(hashKey(bytes('a')), 0x85555565);
    assert.equal(hashKey(bytes('hello')), 0xcbd8a7b3);
    assert.equal(hashKey(bytes('The quick brown fox jumps over the lazy dog')), 0xe34bbc7b);
    assert.equal(hashKey(bytes('cart:alice')), 0x68cc2a3a);
    assert.equal(hashKey(bytes('abcdefghijklmnopq')), 0x7564747f);
    assert.equal(hashKey(Uint8Array.from({ length: 256 }, (_, i) => i)), 0x1c99c313);
  });

  test('spreads similar keys evenly over the ring', () => {
    const keys = 100_000;
    const buckets = new Array<number>(64).fill(0);
    const ones = new Array<number>(32).fill(0);
    for (let i = 0; i < keys; i++) {
      const h = hashKey(bytes(`key-${i}`));
      const b = h >>> 26;
      buckets[b] = (buckets[b] ?? 0) + 1;
      for (let bit = 0; bit < 32; bit++) {
        if ((h >>> bit) & 1) ones[bit] = (ones[bit] ?? 0) + 1;
      }
    }
    // Chi-square with 63 degrees of freedom has mean 63 and sd 11.2; 120 is 5 sd out.
    const expected = keys / 64;
    const chi2 = buckets.reduce((sum, n) => sum + (n - expected) ** 2 / expected, 0);
    assert.ok(chi2 < 120, `top-6-bit buckets are uneven: chi2 = ${chi2.toFixed(1)}`);
    // Each bit set about half the time: sd of the fraction is 0.0016, 1% is 6 sd.
    ones.forEach((n, bit) => {
      assert.ok(Math.abs(n / keys - 0.5) < 0.01, `bit ${bit} set in ${n} of ${keys} keys`);
    });
  });
});

describe('memberSeed', () => {
  test('hashes the UTF-8 bytes of the id', () => {
    const [hi] = memberSeed('é');
    assert.equal(hi, hashKey(Uint8Array.of(0xc3, 0xa9)));
    assert.deepEqual(memberSeed('node-a'), [0x44a5bcec, 0x4b0764bf]);
  });

  test('distinct ids get distinct seeds', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const seed = memberSeed(`10.0.${i >> 8}.${i & 255}:7000`);
      assert.ok(seed.every(isUint32));
      seen.add(seed.join(','));
    }
    assert.equal(seen.size, 5000);
  });
});

describe('fmix32', () => {
  test('known values', () => {
    assert.equal(fmix32(0), 0);
    assert.equal(fmix32(1), 0x514e28b7);
    assert.equal(fmix32(2), 0x30f4c306);
    assert.equal(fmix32(0xffffffff), 0x81f16f39);
  });

  test('is unsigned and loses no information on consecutive inputs', () => {
    const out = new Set<number>();
    for (let i = 0; i < 100_000; i++) {
      const h = fmix32(i);
      assert.ok(isUint32(h));
      out.add(h);
    }
    assert.equal(out.size, 100_000);
  });
});

describe('rendezvousDraw', () => {
  test('depends on the seed bits, not their sign', () => {
    fc.assert(
      fc.property(fc.nat(0xffffffff), fc.nat(0xffffffff), fc.nat(65535), (hi, lo, p) => {
        const d = rendezvousDraw(hi, lo, p);
        assert.ok(isUint32(d));
        assert.equal(rendezvousDraw(hi | 0, lo | 0, p), d);
      }),
    );
  });

  // A single XOR-keyed round would make member b's draw at p ^ hiA ^ hiB equal member a's
  // draw at p, tying their ownership of partition pairs together.
  test('members are not relabellings of each other', () => {
    const [hiA, loA] = memberSeed('node-a');
    const [hiB, loB] = memberSeed('node-b');
    let mirrored = 0;
    for (let p = 0; p < 4096; p++) {
      if (rendezvousDraw(hiA, loA, p) === rendezvousDraw(hiB, loB, (p ^ hiA ^ hiB) >>> 0)) {
        mirrored++;
      }
    }
    assert.equal(mirrored, 0);
  });

  test('draws of different members are uncorrelated', () => {
    let sum = 0;
    let n = 0;
    for (let s = 0; s < 100; s++) {
      const [h1, l1] = memberSeed(`left-${s}`);
      const [h2, l2] = memberSeed(`right-${s}`);
      for (let p = 0; p < 4096; p++) {
        const x = rendezvousDraw(h1, l1, p) / 2 ** 32 - 0.5;
        const y = rendezvousDraw(h2, l2, p) / 2 ** 32 - 0.5;
        sum += x * y;
        n++;
      }
    }
    // Correlation coefficient of independent uniforms: mean 0, sd 1/sqrt(n) = 0.0016.
    const r = (12 * sum) / n;
    assert.ok(Math.abs(r) < 0.008, `correlation ${r.toFixed(4)}`);
  });
});

describe('weightedScore', () => {
  test('is finite and positive over the whole draw range', () => {
    for (const draw of [0, 1, 0x80000000, 0xfffffffe, 0xffffffff]) {
      const s = weightedScore(1, draw);
      assert.ok(Number.isFinite(s) && s > 0, `score ${s} for draw ${draw}`);
    }
  });

  test('increases with the draw and scales with the weight', () => {
    fc.assert(
      fc.property(
        fc.nat(0xfffffffe),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 2, max: 1000 }),
        (draw, weight, factor) => {
          assert.ok(weightedScore(weight, draw + 1) > weightedScore(weight, draw));
          const scaled = weightedScore(weight * factor, draw) / weightedScore(weight, draw);
          assert.ok(Math.abs(scaled - factor) < 1e-9 * factor);
        },
      ),
    );
  });
});
