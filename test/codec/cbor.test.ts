import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Encoder } from 'cbor-x';
import fc from 'fast-check';
import { abandonDecoding, beginDecoding, finishDecoding, readPlain } from '../../src/codec/cbor-read.js';
import { beginEncoding, finishEncoding, writePlain } from '../../src/codec/cbor-write.js';
import { encodeFrame, MAX_DEPTH } from '../../src/codec/wire.js';
import { decodeVersions, encodeVersions, type EncodedValue } from '../../src/codec/versions.js';
import { decodeContext, encodeContext } from '../../src/versioning/context.js';
import { EMPTY_CONTEXT, emptySet, sync, update, type CausalContext, type DVVSet } from '../../src/versioning/dvvset.js';
import { actorsOf, timeOf } from '../../src/versioning/actor-times.js';
import { stampTimes } from '../../src/versioning/clock-pruning.js';
import { ValidationError } from '../../src/errors.js';

// What libdynamo used before src/codec/cbor-write.ts and cbor-read.ts, which must write exactly
// these bytes (frames used variableMapSize; the other formats hold no maps, so it is moot).
const cborX = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false, variableMapSize: true });

function encode(value: unknown): Uint8Array {
  beginEncoding();
  assert.ok(writePlain(value, 0, 1000), 'refused plain data');
  return finishEncoding();
}

function decode(bytes: Uint8Array, maxDepth = 1000): unknown {
  beginDecoding(bytes);
  try {
    const value = readPlain(0, maxDepth);
    finishDecoding();
    return value;
  } catch (error) {
    abandonDecoding();
    throw error;
  }
}

function hex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
}

/** cbor-x hands out byte strings as views of the input's class; compare plain copies. */
function plainBytes(value: unknown): unknown {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map(plainBytes);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainBytes(v)]));
  }
  return value;
}

const key = fc.string({ unit: 'binary' }).filter((k) => k !== '__proto__');
// Plain data of every kind the codec carries, -0 included (both write it as 0), strings with
// lone surrogates and long ones (which take another path in both encoders).
const { value: plainValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.constant(undefined),
    fc.boolean(),
    fc.double(),
    fc.integer(),
    fc.integer({ min: -(2 ** 33), max: 2 ** 33 }),
    fc.maxSafeInteger(),
    fc.bigInt({ min: -(2n ** 64n) * 4n, max: 2n ** 64n * 4n }),
    fc.string({ unit: 'binary' }),
    fc.string({ unit: 'binary', minLength: 60, maxLength: 300 }),
    fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
    fc.uint8Array({ maxLength: 300 }),
    fc.array(tie('value'), { maxLength: 30 }),
    fc.dictionary(key, tie('value'), { maxKeys: 30, noNullPrototype: true }),
  ),
}));

/** `value` as it comes back: -0 is written as the integer 0. */
function normalised(value: unknown): unknown {
  if (Object.is(value, -0)) return 0;
  if (Array.isArray(value)) return value.map(normalised);
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalised(v)]));
  }
  return value;
}

describe('cbor codec, cross-checked against cbor-x', () => {
  test('writes exactly the bytes cbor-x writes', () => {
    fc.assert(
      fc.property(plainValue, (value) => {
        assert.deepEqual(Buffer.from(encode(value)), Buffer.from(cborX.encode(value)));
      }),
      { numRuns: 3000 },
    );
  });

  test('reads what cbor-x writes, and cbor-x reads what it writes', () => {
    fc.assert(
      fc.property(plainValue, (value) => {
        const expected = normalised(value);
        assert.deepStrictEqual(decode(cborX.encode(value)), expected);
        assert.deepStrictEqual(plainBytes(cborX.decode(new Uint8Array(encode(value)))), expected);
      }),
      { numRuns: 3000 },
    );
  });

  test('round-trips plain data exactly, lone surrogates in short strings included', () => {
    fc.assert(
      fc.property(plainValue, (value) => {
        assert.deepStrictEqual(decode(encode(value)), normalised(value));
      }),
      { numRuns: 3000 },
    );
    assert.equal(decode(encode('a\ud800b')), 'a\ud800b');
    assert.equal(decode(encode('\udc00')), '\udc00');
  });

  test('frames are byte for byte what cbor-x wrote for [version, kind, id, message]', () => {
    fc.assert(
      fc.property(
        fc.dictionary(key, plainValue, { maxKeys: 6, noNullPrototype: true }),
        fc.string(),
        fc.maxSafeNat(),
        (fields, type, id) => {
          const message = { ...fields, type };
          const ours = encodeFrame({ kind: 'request', id, message });
          assert.deepEqual(Buffer.from(ours), Buffer.from(cborX.encode([1, 0, id, message])));
        },
      ),
      { numRuns: 1000 },
    );
    const error = encodeFrame({ kind: 'error', id: 7, error: { code: 'TIMEOUT', message: 'slow' } });
    assert.deepEqual(Buffer.from(error), Buffer.from(cborX.encode([1, 2, 7, 'TIMEOUT', 'slow'])));
  });

  test('reads the other spellings of the data model that CBOR allows', () => {
    const cases: [string, unknown][] = [
      ['18 05', 5], // integer in a longer head than needed
      ['1a 00000005', 5],
      ['3a ffffffff', -(2 ** 32)],
      ['1b 0000000000000005', 5n], // 64-bit integers come back as bigints, as from cbor-x
      ['3b 0000000000000005', -6n],
      ['f9 3c00', 1], // half, single and double floats
      ['f9 7c00', Infinity],
      ['f9 0001', 2 ** -24],
      ['f9 c000', -2],
      ['fa 3fc00000', 1.5],
      ['fb 3ff8000000000000', 1.5],
      ['9f 01 02 ff', [1, 2]], // indefinite-length array and map
      ['bf 61 61 01 ff', { a: 1 }],
      ['b9 0001 61 61 01', { a: 1 }], // map with a two-byte count, as cbor-x writes by default
      ['c2 42 0100', 256n], // bignums
      ['c3 42 0100', -257n],
      ['d8 40 42 0102', new Uint8Array([1, 2])], // tag 64: a byte string
      ['63 e282ac', '€'],
      ['64 f09f9880', '😀'],
    ];
    for (const [bytes, value] of cases) assert.deepStrictEqual(decode(hex(bytes)), value, bytes);
    assert.ok(Number.isNaN(decode(hex('f9 7e00'))));
  });

  test('refuses what is not plain data, with a ValidationError', () => {
    const cases: [string, RegExp][] = [
      ['', /truncated/],
      ['19 01', /truncated/],
      ['62 61', /truncated/],
      ['43 0102', /truncated/],
      ['82 01', /truncated/],
      ['9b 0000000100000000', /2\^32/],
      ['5a ffffffff', /truncated/],
      ['01 02', /after the end/],
      ['1c', /reserved/],
      ['1f', /indefinite/],
      ['5f 41 00 ff', /indefinite/],
      ['7f 61 61 ff', /indefinite/],
      ['ff', /break/],
      ['c1 00', /tag 1 /], // a date
      ['d8 1c 80', /shared references/],
      ['d8 1d 00', /shared references/],
      ['d9 0102 00', /tag 258 /], // a set
      ['c2 01', /byte string/],
      ['d8 40 01', /byte string/],
      ['e0', /simple value/],
      ['f8 20', /simple value/],
      ['a1 01 02', /text string/], // a map key that is not a string
      ['61 80', /UTF-8/], // a continuation byte alone
      ['62 c0 80', /UTF-8/], // an overlong encoding
      ['63 e0 80 80', /UTF-8/],
      ['64 f4 90 80 80', /UTF-8/], // beyond U+10FFFF
      ['62 e2 82', /UTF-8/], // a sequence cut short by the string's end
    ];
    for (const [bytes, pattern] of cases) {
      assert.throws(
        () => decode(hex(bytes)),
        (error: unknown) => error instanceof ValidationError && pattern.test(error.message),
        bytes,
      );
    }
  });

  test('refuses nesting past the limit, and depth is counted in containers', () => {
    assert.deepEqual(decode(hex('81 81 80'), 3), [[[]]]);
    assert.throws(() => decode(hex('81 81 81 80'), 3), /deeper than 3/);
    assert.throws(() => decode(new Uint8Array(100_000).fill(0x81), MAX_DEPTH), ValidationError);
    beginEncoding();
    assert.equal(writePlain([[[1]]], 0, 2), false);
    beginEncoding();
    assert.equal(writePlain([[1]], 0, 2), true);
    finishEncoding();
  });

  test('a "__proto__" key sets no prototype', () => {
    const value = decode(cborX.encode(JSON.parse('{"__proto__": {"polluted": true}, "a": 1}'))) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.equal(value['polluted'], undefined);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.deepEqual(Object.keys(value), ['__proto_', 'a']);
  });

  test('byte strings are copies that do not keep the input alive', () => {
    const bytes = encode({ small: new Uint8Array(8).fill(1), large: new Uint8Array(500).fill(2), huge: new Uint8Array(5000).fill(3) });
    const value = decode(bytes) as { small: Uint8Array; large: Uint8Array; huge: Uint8Array };
    for (const b of [value.small, value.large, value.huge]) {
      assert.equal(Object.getPrototypeOf(b), Uint8Array.prototype);
      assert.notEqual(b.buffer, bytes.buffer);
      // At most a shared slab of src/bytes.ts; a large one has memory of its own.
      assert.ok(b.buffer.byteLength <= 16 * 1024);
    }
    assert.equal(value.huge.buffer.byteLength, 5000);
    bytes.fill(0);
    assert.equal(value.large[0], 2);
  });

  test('encodings never overwrite one another, however large', () => {
    const first = encode('first');
    const kept = Buffer.from(first);
    const huge = [new Uint8Array(200_000).fill(5), 'é'.repeat(70_000), 'x'.repeat(40_000)];
    const encodedHuge = encode(huge);
    const many = Array.from({ length: 2000 }, (_, i) => encode({ i, pad: 'y'.repeat(i % 97) }));
    assert.deepEqual(Buffer.from(first), kept);
    assert.deepStrictEqual(decode(encodedHuge), huge);
    many.forEach((bytes, i) => assert.deepStrictEqual(decode(bytes), { i, pad: 'y'.repeat(i % 97) }));
  });

  test('random bytes decode to plain data or throw a ValidationError, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          const value = decode(bytes, MAX_DEPTH);
          // Whatever was read is plain data, so it writes back.
          beginEncoding();
          assert.ok(writePlain(value, 0, MAX_DEPTH + 1));
          finishEncoding();
        } catch (error) {
          if (!(error instanceof ValidationError)) throw error;
        }
      }),
      { numRuns: 10_000 },
    );
  });
});

// Random histories as the coordinator builds them: writes (values or tombstones) at three
// replicas with odd actor names, and syncs between them.
const arbVersions: fc.Arbitrary<DVVSet<EncodedValue>> = fc
  .array(
    fc.tuple(
      fc.nat(2),
      fc.boolean(),
      fc.option(fc.uint8Array({ maxLength: 200 }), { nil: null }),
      fc.nat(2),
      // Sometimes the replica stamps its times (small and past 32 bits), sometimes not.
      fc.option(fc.oneof(fc.nat(2 ** 32 - 1), fc.integer({ min: 2 ** 32, max: Number.MAX_SAFE_INTEGER })), { nil: undefined }),
    ),
    { maxLength: 12 },
  )
  .map((steps) => {
    const actors = ['node-a:1f3a', 'é-ü', '😀'.repeat(40)];
    const replicas = actors.map(() => emptySet<EncodedValue>());
    for (const [at, blind, value, other, now] of steps) {
      replicas[at] = update(replicas[at]!, blind ? EMPTY_CONTEXT : replicas[other]!.context, actors[at]!, value).set;
      if (now !== undefined) replicas[at] = stampTimes(replicas[at]!, now);
      replicas[other] = sync(replicas[other]!, replicas[at]!);
    }
    return replicas[0]!;
  });

/** The record as plain data: format 2 (with a time or null per actor) or format 1 (none). */
function flatVersions(set: DVVSet<EncodedValue>, format: 1 | 2 = 2): unknown[] {
  const flat: unknown[] = [
    format,
    set.context.vv.flatMap(([actor, counter]) => [actor, counter]),
    set.context.cloud.flatMap((d) => [d.actor, d.counter]),
    set.values.flatMap((v) => [v.dot.actor, v.dot.counter, v.value]),
  ];
  if (format === 2) flat.push(actorsOf(set.context).map((actor) => timeOf(set.times, actor) ?? null));
  return flat;
}

function withoutTimes(set: DVVSet<EncodedValue>): DVVSet<EncodedValue> {
  return { context: set.context, values: set.values };
}

describe('stored and context formats, cross-checked against cbor-x', () => {
  test('versions are written exactly as cbor-x wrote them, and read back from its bytes', () => {
    fc.assert(
      fc.property(arbVersions, (set) => {
        const cborXBytes = cborX.encode(flatVersions(set));
        assert.deepEqual(Buffer.from(encodeVersions(set)), Buffer.from(cborXBytes));
        assert.deepEqual(decodeVersions(cborXBytes), set);
        // Format 1, as earlier releases stored it: the same history, every time unknown.
        assert.deepEqual(decodeVersions(cborX.encode(flatVersions(set, 1))), withoutTimes(set));
      }),
      { numRuns: 1000 },
    );
  });

  test('counters beyond 32 bits are float64s on both sides and still read back', () => {
    const set: DVVSet<EncodedValue> = {
      context: { vv: [['a', 2 ** 40]], cloud: [] },
      values: [{ dot: { actor: 'a', counter: 2 ** 40 }, value: null }],
    };
    assert.deepEqual(Buffer.from(encodeVersions(set)), Buffer.from(cborX.encode(flatVersions(set))));
    assert.deepEqual(decodeVersions(encodeVersions(set)), set);
    const timed = stampTimes(set, Date.UTC(2030, 0, 1));
    assert.deepEqual(Buffer.from(encodeVersions(timed)), Buffer.from(cborX.encode(flatVersions(timed))));
    assert.deepEqual(decodeVersions(encodeVersions(timed)), timed);
  });

  test('context strings are the ones earlier releases issued', () => {
    fc.assert(
      fc.property(arbVersions, (set) => {
        const ctx: CausalContext = set.context;
        const legacy = Buffer.from(cborX.encode([1, flatVersions(set)[1], flatVersions(set)[2]])).toString('base64url');
        assert.equal(encodeContext(ctx), legacy);
        assert.deepEqual(decodeContext(legacy), ctx);
      }),
      { numRuns: 1000 },
    );
  });

  test('with copy: false, values are views into the bytes given up', () => {
    const set: DVVSet<EncodedValue> = {
      context: { vv: [['a', 2]], cloud: [] },
      values: [
        { dot: { actor: 'a', counter: 2 }, value: new Uint8Array(100).fill(4) },
        { dot: { actor: 'a', counter: 1 }, value: null },
      ],
    };
    const bytes = new Uint8Array(encodeVersions(set));
    const viewed = decodeVersions(bytes, { copy: false });
    assert.deepEqual(viewed, set);
    const value = viewed.values[0]!.value!;
    assert.equal(Object.getPrototypeOf(value), Uint8Array.prototype);
    assert.equal(value.buffer, bytes.buffer);
    const copied = decodeVersions(bytes).values[0]!.value!;
    assert.notEqual(copied.buffer, bytes.buffer);
  });
});
