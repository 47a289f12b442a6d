import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Encoder } from 'cbor-x';
import { ValidationError } from '../../src/errors.js';
import { vv } from '../../src/versioning/version-vector.js';
import { EMPTY_CONTEXT, emptySet, setProblem, sync, update, type DVVSet } from '../../src/versioning/dvvset.js';
import { VERSIONS_FORMAT_VERSION, decodeVersions, encodeVersions, type EncodedValue } from '../../src/codec/versions.js';
import { stampTimes } from '../../src/versioning/clock-pruning.js';

type Versions = DVVSet<EncodedValue>;
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
const isEncodedValue = (x: unknown): x is EncodedValue => x === null || x instanceof Uint8Array;
const bytes = (...xs: number[]) => new Uint8Array(xs);

function decodeOrRefuse(input: Uint8Array): Versions | ValidationError {
  try {
    return decodeVersions(input);
  } catch (error) {
    assert.ok(error instanceof ValidationError, `threw ${String(error)}`);
    return error;
  }
}

// Realistic histories: random writes (values or tombstones) at three replicas, random syncs.
const arbVersions: fc.Arbitrary<Versions> = fc
  .array(
    fc.tuple(
      fc.nat(2),
      fc.boolean(),
      fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }),
      fc.nat(2),
      fc.option(fc.nat(), { nil: undefined }),
    ),
    { maxLength: 12 },
  )
  .map((steps) => {
    const actors = ['node-a', '__proto__', 'é'];
    const replicas: Versions[] = actors.map(() => emptySet<EncodedValue>());
    for (const [at, blind, value, other, now] of steps) {
      const client = blind ? EMPTY_CONTEXT : replicas[other]!.context;
      replicas[at] = update(replicas[at]!, client, actors[at]!, value).set;
      // A replica with a clock stamps what it stores; one without leaves times unknown.
      if (now !== undefined) replicas[at] = stampTimes(replicas[at]!, now);
      replicas[other] = sync(replicas[other]!, replicas[at]!);
    }
    return replicas[0]!;
  });

test('round trip: empty, tombstone, siblings, a cloud', () => {
  const examples: Versions[] = [
    emptySet(),
    { context: { vv: vv({ a: 1 }), cloud: [] }, values: [{ dot: { actor: 'a', counter: 1 }, value: null }] },
    {
      context: { vv: vv({ a: 3, b: 1 }), cloud: [{ actor: 'c', counter: 7 }] },
      values: [
        { dot: { actor: 'a', counter: 3 }, value: bytes(1, 2, 3) },
        { dot: { actor: 'a', counter: 2 }, value: new Uint8Array(0) },
        { dot: { actor: 'c', counter: 7 }, value: new Uint8Array(5000).fill(9) },
      ],
    },
  ];
  for (const set of examples) assert.deepEqual(decodeVersions(encodeVersions(set)), set);
});

test('the format: CBOR [2, vv, cloud, values, times] with flat lists, version first', () => {
  const set: Versions = {
    context: { vv: vv({ a: 2, c: 1 }), cloud: [{ actor: 'b', counter: 3 }, { actor: 'b', counter: 5 }] },
    values: [{ dot: { actor: 'a', counter: 2 }, value: bytes(7) }, { dot: { actor: 'b', counter: 3 }, value: null }],
    times: [['a', 1_700_000_000], ['c', 5]],
  };
  const encoded = encodeVersions(set);
  assert.equal(encoded[0], 0x85, 'an array of five');
  assert.equal(encoded[1], VERSIONS_FORMAT_VERSION);
  assert.equal(VERSIONS_FORMAT_VERSION, 2);
  // One time per actor of the context (vector and cloud, in actor order), null when unknown.
  assert.deepEqual(cbor.decode(encoded), [
    2,
    ['a', 2, 'c', 1],
    ['b', 3, 'b', 5],
    ['a', 2, Buffer.from([7]), 'b', 3, null],
    [1_700_000_000, null, 5],
  ]);
  assert.deepEqual(decodeVersions(encoded), set);
});

test('format 1 (no times) is still read, every time unknown', () => {
  const legacy = cbor.encode([1, ['a', 2], ['b', 3], ['a', 2, Buffer.from([7]), 'b', 3, null]]);
  const set: Versions = decodeVersions(legacy);
  assert.equal(set.times, undefined);
  assert.deepEqual(set, {
    context: { vv: vv({ a: 2 }), cloud: [{ actor: 'b', counter: 3 }] },
    values: [{ dot: { actor: 'a', counter: 2 }, value: bytes(7) }, { dot: { actor: 'b', counter: 3 }, value: null }],
  });
  // Written back, it is format 2 with the unknown times as nulls.
  assert.deepEqual(cbor.decode(encodeVersions(set)), [2, ['a', 2], ['b', 3], ['a', 2, Buffer.from([7]), 'b', 3, null], [null, null]]);
});

test('a record whose times are all unknown decodes without a times field', () => {
  const set = decodeVersions(cbor.encode([2, ['a', 1], [], ['a', 1, null], [null]]));
  assert.equal(set.times, undefined);
  assert.deepEqual(decodeVersions(encodeVersions(emptySet())), emptySet());
});

test('malformed times are refused with a ValidationError', () => {
  const record = (times: unknown) => cbor.encode([2, ['a', 2, 'b', 1], ['c', 4], ['a', 2, null], times]);
  assert.deepEqual(decodeVersions(record([1, 2, 3])).times, [['a', 1], ['b', 2], ['c', 3]]);
  const cases: [string, Uint8Array][] = [
    ['times missing', cbor.encode([2, ['a', 2], [], ['a', 2, null]])],
    ['times on format 1', cbor.encode([1, ['a', 2], [], ['a', 2, null], [5]])],
    ['not an array', record(5)],
    ['a map', record({ a: 1 })],
    ['one short', record([1, 2])],
    ['one too many', record([1, 2, 3, 4])],
    ['negative', record([1, -1, 3])],
    ['fractional', record([1, 2.5, 3])],
    ['NaN', record([1, Number.NaN, 3])],
    ['infinite', record([1, Number.POSITIVE_INFINITY, 3])],
    ['beyond safe integers', record([1, 2 ** 53, 3])],
    ['a bigint', record([1, 2n ** 64n - 1n, 3])],
    ['a string', record([1, '2', 3])],
    ['a nested pair', record([['a', 1], 2, 3])],
    ['undefined', record([1, undefined, 3])],
    ['false', record([1, false, 3])],
  ];
  for (const [name, input] of cases) {
    const result = decodeOrRefuse(input);
    assert.ok(result instanceof ValidationError, `${name}: accepted`);
  }
});

test('decoded values are copies that do not keep the frame they came in alive', () => {
  const value = new Uint8Array(100).fill(42);
  const set: Versions = { context: { vv: vv({ a: 1 }), cloud: [] }, values: [{ dot: { actor: 'a', counter: 1 }, value }] };
  // As if read out of a large network frame.
  const frame = new Uint8Array(64 * 1024);
  const encoded = encodeVersions(set);
  frame.set(encoded, 1000);
  const decoded = decodeVersions(frame.subarray(1000, 1000 + encoded.length));
  const copy = decoded.values[0]!.value!;
  assert.deepEqual(copy, value);
  assert.notEqual(copy.buffer, frame.buffer);
  assert.ok(copy.buffer.byteLength <= 16 * 1024, 'at most a shared slab (src/bytes.ts)');
  assert.equal(Object.getPrototypeOf(copy), Uint8Array.prototype);
  frame.fill(0);
  assert.equal(copy[0], 42, 'later changes to the frame do not reach the value');
});

test('equal histories encode to equal bytes', () => {
  fc.assert(
    fc.property(arbVersions, (set) => {
      const again = decodeVersions(encodeVersions(set));
      assert.deepEqual(Buffer.from(encodeVersions(again)), Buffer.from(encodeVersions(set)));
    }),
  );
});

test('refuses malformed input and unknown formats with a ValidationError', () => {
  const good = [1, ['a', 2], [], ['a', 2, bytes(1)]];
  const cases: [string, unknown][] = [
    ['not bytes', 'hello'],
    ['an array of numbers', [0x84, 1, 0x80, 0x80, 0x80]],
    ['empty', new Uint8Array(0)],
    ['garbage', bytes(0xff, 0xfe, 0xfd)],
    ['truncated', cbor.encode(good).subarray(0, 6)],
    ['trailing bytes', Buffer.concat([cbor.encode(good), bytes(0)])],
    ['unknown version', cbor.encode([3, ['a', 2], [], ['a', 2, bytes(1)], [null]])],
    ['format 2 without times', cbor.encode([2, ['a', 2], [], ['a', 2, bytes(1)]])],
    ['version 0', cbor.encode([0])],
    ['not an array', cbor.encode({ v: 1 })],
    ['empty array', cbor.encode([])],
    ['too few fields', cbor.encode([1, ['a', 2], []])],
    ['too many fields', cbor.encode([...good, 0])],
    ['bad vector', cbor.encode([1, ['a', 0], [], []])],
    ['unsorted vector', cbor.encode([1, ['b', 1, 'a', 1], [], []])],
    ['bad cloud', cbor.encode([1, ['a', 1], ['a', 2], []])],
    ['values not an array', cbor.encode([1, ['a', 2], [], 'x'])],
    ['values not triples', cbor.encode([1, ['a', 2], [], ['a', 2]])],
    ['value is a string', cbor.encode([1, ['a', 2], [], ['a', 2, 'x']])],
    ['value is undefined', cbor.encode([1, ['a', 2], [], ['a', 2, undefined]])],
    ['value is a number', cbor.encode([1, ['a', 2], [], ['a', 2, 5]])],
    ['value actor not a string', cbor.encode([1, ['a', 2], [], [7, 2, null]])],
    ['value counter 0', cbor.encode([1, ['a', 2], [], ['a', 0, null]])],
    ['value not covered', cbor.encode([1, ['a', 2], [], ['a', 3, null]])],
    ['value of an unknown actor', cbor.encode([1, ['a', 2], [], ['b', 1, null]])],
    ['values ascending', cbor.encode([1, ['a', 2], [], ['a', 1, null, 'a', 2, null]])],
    ['duplicate dots', cbor.encode([1, ['a', 2], [], ['a', 2, null, 'a', 2, bytes(1)]])],
    ['actors unsorted', cbor.encode([1, ['a', 2, 'b', 1], [], ['b', 1, null, 'a', 2, null]])],
    ['hostile version', cbor.encode([{ toString: 1 }, [], [], []])],
    ['huge declared length', bytes(0x84, 0x01, 0x80, 0x80, 0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)],
    ['deep nesting', new Uint8Array(100_000).fill(0x81)],
  ];
  for (const [name, input] of cases) {
    assert.ok(decodeOrRefuse(input as Uint8Array) instanceof ValidationError, `${name}: accepted`);
  }
  assert.deepEqual(decodeVersions(cbor.encode(good)).values[0]!.value, bytes(1));
  assert.deepEqual(decodeVersions(cbor.encode([1, ['a', 2], [], ['a', 2, null, 'a', 1, bytes(1)]])).values.length, 2);
});

test('property: every history round-trips and stays canonical', () => {
  fc.assert(
    fc.property(arbVersions, (set) => {
      assert.equal(setProblem(set, isEncodedValue), undefined);
      assert.deepEqual(decodeVersions(encodeVersions(set)), set);
    }),
  );
});

test('property: random and corrupted bytes give a ValidationError or a canonical history', () => {
  const corrupted = fc.tuple(arbVersions, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 })).map(([set, edits]) => {
    const out = Uint8Array.from(encodeVersions(set));
    for (const [at, byte] of edits) out[at % out.length] = byte;
    return out;
  });
  const truncated = fc.tuple(arbVersions, fc.nat()).map(([set, cut]) => {
    const encoded = encodeVersions(set);
    return encoded.slice(0, cut % encoded.length);
  });
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 80 }), corrupted, truncated), (input) => {
      const result = decodeOrRefuse(input);
      if (!(result instanceof ValidationError)) {
        assert.equal(setProblem(result, isEncodedValue), undefined);
        assert.deepEqual(decodeVersions(encodeVersions(result)), result);
      }
    }),
    { numRuns: 5000 },
  );
});

test('property: arbitrary CBOR values are refused unless they are canonical versions', () => {
  fc.assert(
    fc.property(fc.anything({ withTypedArray: true, withNullPrototype: true, withMap: true, withSet: true }), (value) => {
      let encoded: Uint8Array;
      try {
        encoded = cbor.encode([1, [], [], value]);
      } catch {
        return;
      }
      const result = decodeOrRefuse(encoded);
      if (!(result instanceof ValidationError)) assert.equal(setProblem(result, isEncodedValue), undefined);
    }),
    { numRuns: 2000 },
  );
});

test('property: arbitrary CBOR values as times are refused unless canonical', () => {
  fc.assert(
    fc.property(fc.anything({ withTypedArray: true, withMap: true, withBigInt: true }), (times) => {
      let encoded: Uint8Array;
      try {
        encoded = cbor.encode([2, ['a', 1], [], [], times]);
      } catch {
        return;
      }
      const result = decodeOrRefuse(encoded);
      if (!(result instanceof ValidationError)) {
        assert.equal(setProblem(result, isEncodedValue), undefined);
        assert.deepEqual(decodeVersions(encodeVersions(result)), result);
      }
    }),
    { numRuns: 2000 },
  );
});
