import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Encoder } from 'cbor-x';
import { ValidationError } from '../../src/errors.js';
import { vv } from '../../src/versioning/version-vector.js';
import { EMPTY_CONTEXT, addDot, contextProblem, type CausalContext, type Dot } from '../../src/versioning/dvvset.js';
import { CONTEXT_FORMAT_VERSION, MAX_CONTEXT_CHARS, decodeContext, encodeContext } from '../../src/versioning/context.js';

const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const wrap = (value: unknown) => b64(cbor.encode(value));

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** The same bytes spelled differently: the last character's lowest bit is padding. */
function flipUnusedBit(text: string): string {
  assert.notEqual(text.length % 4, 0);
  const last = ALPHABET.indexOf(text[text.length - 1]!);
  const other = text.slice(0, -1) + ALPHABET[last ^ 1];
  assert.deepEqual(Buffer.from(other, 'base64url'), Buffer.from(text, 'base64url'));
  return other;
}

/** Decodes, insisting that the only possible failure is a ValidationError. */
function decodeOrRefuse(text: unknown): CausalContext | ValidationError {
  try {
    return decodeContext(text);
  } catch (error) {
    assert.ok(error instanceof ValidationError, `threw ${String(error)}`);
    assert.equal(error.code, 'INVALID_ARGUMENT');
    return error;
  }
}

const dot = fc.record(
  { actor: fc.oneof(fc.constantFrom('a', 'b', '__proto__', ''), fc.string({ unit: 'grapheme', maxLength: 6 })), counter: fc.integer({ min: 1, max: 2 ** 40 }) },
  { noNullPrototype: true },
);
const arbContext: fc.Arbitrary<CausalContext> = fc
  .tuple(fc.array(dot, { maxLength: 12 }), fc.array(dot.map((d) => ({ actor: d.actor, counter: (d.counter % 5) + 1 })), { maxLength: 12 }))
  .map(([sparse, dense]) => [...sparse, ...dense].reduce((c: CausalContext, d: Dot) => addDot(c, d), EMPTY_CONTEXT));

test('round trip of examples, odd actors included', () => {
  const examples: CausalContext[] = [
    EMPTY_CONTEXT,
    { vv: vv({ a: 1 }), cloud: [] },
    { vv: vv({ a: 1, b: 32768 }), cloud: [{ actor: 'a', counter: 3 }] },
    { vv: [['', 1], ['__proto__', 2], ['é🎉', 9007199254740991]], cloud: [{ actor: 'z', counter: 5 }, { actor: 'z', counter: 6 }] },
  ];
  for (const c of examples) {
    const text = encodeContext(c);
    assert.match(text, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(decodeContext(text), c);
  }
});

test('the format: base64url of CBOR [1, vv, cloud] with flat actor, counter lists', () => {
  const c: CausalContext = { vv: vv({ a: 2 }), cloud: [{ actor: 'b', counter: 4 }] };
  assert.deepEqual(cbor.decode(Buffer.from(encodeContext(c), 'base64url')), [CONTEXT_FORMAT_VERSION, ['a', 2], ['b', 4]]);
  assert.equal(encodeContext(c), wrap([1, ['a', 2], ['b', 4]]));
});

test('refuses everything malformed with a ValidationError', () => {
  const canonical = wrap([1, ['a', 2], []]);
  const cases: [string, unknown][] = [
    ['not a string', 42],
    ['null', null],
    ['undefined', undefined],
    ['an object', { vv: [], cloud: [] }],
    ['empty', ''],
    ['too long', 'A'.repeat(MAX_CONTEXT_CHARS + 4)],
    ['bad alphabet', canonical.slice(0, -1) + '*'],
    ['standard base64', '+/' + canonical],
    ['padding', canonical + '='],
    ['impossible length', 'AAAAA'],
    ['non-zero padding bits', flipUnusedBit(canonical)],
    ['not CBOR', b64(new Uint8Array([0xff, 0xff, 0x00]))],
    ['truncated CBOR', b64(cbor.encode([1, ['a', 2], []]).subarray(0, 4))],
    ['trailing bytes', b64(Buffer.concat([cbor.encode([1, ['a', 2], []]), Buffer.from([0])]))],
    ['wrong version', wrap([2, ['a', 2], []])],
    ['version as string', wrap(['1', ['a', 2], []])],
    ['hostile version', wrap([{ toString: 1, valueOf: 2 }, [], []])],
    ['not an array', wrap({ vv: [], cloud: [] })],
    ['too short', wrap([1, []])],
    ['too long array', wrap([1, [], [], []])],
    ['vector not an array', wrap([1, { a: 1 }, []])],
    ['odd vector', wrap([1, ['a'], []])],
    ['non-string actor', wrap([1, [1, 1], []])],
    ['bytes as actor', wrap([1, [new Uint8Array([97]), 1], []])],
    ['counter 0', wrap([1, ['a', 0], []])],
    ['negative counter', wrap([1, ['a', -1], []])],
    ['fractional counter', wrap([1, ['a', 1.5], []])],
    ['unsafe counter', wrap([1, ['a', 2 ** 53], []])],
    ['bigint counter', wrap([1, ['a', 2n ** 64n - 1n], []])],
    ['string counter', wrap([1, ['a', '1'], []])],
    ['unsorted actors', wrap([1, ['b', 1, 'a', 1], []])],
    ['duplicate actors', wrap([1, ['a', 1, 'a', 2], []])],
    ['cloud not an array', wrap([1, [], 'a'])],
    ['odd cloud', wrap([1, [], ['a', 3, 'b']])],
    ['cloud covered by the vector', wrap([1, ['a', 3], ['a', 2]])],
    ['cloud next to the vector', wrap([1, ['a', 1], ['a', 2]])],
    ['cloud dot 1 of a new actor', wrap([1, [], ['b', 1]])],
    ['unsorted cloud', wrap([1, [], ['b', 3, 'a', 3]])],
    ['duplicate cloud dots', wrap([1, [], ['a', 3, 'a', 3]])],
    ['descending cloud counters', wrap([1, [], ['a', 5, 'a', 3]])],
    ['tagged date', wrap([1, [], [new Date(0), 3]])],
    ['long-form integer', b64(new Uint8Array([0x83, 0x18, 0x01, 0x80, 0x80]))],
    ['indefinite-length array', b64(new Uint8Array([0x9f, 0x01, 0x80, 0x80, 0xff]))],
    ['invalid UTF-8 actor', b64(new Uint8Array([0x83, 0x01, 0x82, 0x61, 0xff, 0x01, 0x80]))],
    ['counter as a float', b64(new Uint8Array([0x83, 0x01, 0x82, 0x61, 0x61, 0xf9, 0x40, 0x00, 0x80]))],
    ['a map', b64(new Encoder({ useRecords: false, mapsAsObjects: false }).encode(new Map([[1, 2]])))],
  ];
  for (const [name, input] of cases) {
    const result = decodeOrRefuse(input);
    assert.ok(result instanceof ValidationError, `${name}: accepted`);
  }
  assert.deepEqual(decodeContext(canonical), { vv: vv({ a: 2 }), cloud: [] });
  assert.deepEqual(decodeContext(wrap([1, [], ['a', 3, 'a', 4]])), { vv: [], cloud: [{ actor: 'a', counter: 3 }, { actor: 'a', counter: 4 }] });
});

test('property: every canonical context round-trips', () => {
  fc.assert(
    fc.property(arbContext, (c) => {
      assert.equal(contextProblem(c), undefined);
      assert.deepEqual(decodeContext(encodeContext(c)), c);
    }),
  );
});

test('property: random strings are refused with ValidationError or decode to a canonical context', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.base64String()), (text) => {
      const result = decodeOrRefuse(text);
      if (!(result instanceof ValidationError)) assert.equal(contextProblem(result), undefined);
    }),
    { numRuns: 2000 },
  );
});

test('property: random bytes, and mutations of real contexts, never escape as anything but ValidationError', () => {
  const mutated = fc.tuple(arbContext, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([c, at, byte]) => {
    const bytes = Buffer.from(encodeContext(c), 'base64url');
    bytes[at % bytes.length] = byte;
    return bytes;
  });
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), mutated), (bytes) => {
      const result = decodeOrRefuse(b64(bytes));
      if (!(result instanceof ValidationError)) {
        assert.equal(contextProblem(result), undefined);
        assert.equal(encodeContext(result), b64(bytes), 'one context, one spelling');
      }
    }),
    { numRuns: 3000 },
  );
});

test('property: arbitrary CBOR values are refused unless they are a canonical context', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.anything(),
        fc.tuple(fc.constant(1), fc.array(fc.oneof(fc.string({ maxLength: 2 }), fc.integer({ min: -1, max: 3 })), { maxLength: 6 }), fc.array(fc.oneof(fc.string({ maxLength: 2 }), fc.integer({ min: -1, max: 5 })), { maxLength: 6 })),
      ),
      (value) => {
        let text: string;
        try {
          text = wrap(value);
        } catch {
          return; // not encodable; nothing to decode
        }
        const result = decodeOrRefuse(text);
        if (!(result instanceof ValidationError)) assert.equal(contextProblem(result), undefined);
      },
    ),
    { numRuns: 2000 },
  );
});
