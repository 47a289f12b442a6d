import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Encoder } from 'cbor-x';
import { MAX_VALUE_DEPTH, checkEncodedValue, decodeValue, encodeValue, keyOf } from '../../src/crdt/plain-value.js';
import { assertRefused } from './helpers.js';

const hex = (value: unknown): string => Buffer.from(encodeValue(value)).toString('hex');
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });

test('map keys are sorted shorter first, then bytewise, whatever the property order', () => {
  // JavaScript enumerates integer-like keys first; the encoding does not care.
  assert.equal(hex({ b: 1, a: 2, '10': 3 }), hex({ '10': 3, a: 2, b: 1 }));
  assert.equal(hex({ b: 1, a: 2, '10': 3 }), 'a3' + '6161' + '02' + '6162' + '01' + '623130' + '03');
  assert.equal(hex(Object.assign(Object.create(null), { z: [] })), hex({ z: [] }));
});

test('scalars are written as cbor-x writes them', () => {
  for (const v of [0, 1, 23, 24, 255, 65536, 2 ** 32 - 1, -1, -(2 ** 32), 2 ** 32, 1.5, -0.25, NaN, Infinity, 10n, -10n, 2n ** 70n, -(2n ** 70n), 'héllo', '😀', '', null, true, false, new Uint8Array([1, 2]), [1, [2, 'x']]]) {
    assert.equal(hex(v), Buffer.from(cbor.encode(v)).toString('hex'), `for ${String(v)}`);
  }
});

test('identity is by encoding: -0 is 0; 5 and 5n, "1" and 1, bytes and arrays differ', () => {
  assert.equal(hex(-0), hex(0));
  assert.notEqual(hex(5), hex(5n));
  assert.notEqual(hex('1'), hex(1));
  assert.notEqual(hex(new Uint8Array([1])), hex([1]));
  assert.equal(hex(Buffer.from([1])), hex(new Uint8Array([1])));
  assert.ok(keyOf(encodeValue('b')) < keyOf(encodeValue('aa')), 'shorter strings sort first');
});

test('refuses what is not plain data, with a ValidationError', () => {
  class Point {
    x = 1;
  }
  const cyclic: unknown[] = [];
  cyclic.push(cyclic);
  let deep: unknown = 1;
  for (let i = 0; i < MAX_VALUE_DEPTH + 1; i++) deep = [deep];
  for (const bad of [undefined, [undefined], () => 1, Symbol('s'), new Map(), new Set(), new Date(0), new Point(), cyclic, deep, '\ud800', { ['\udc00']: 1 }, JSON.parse('{"__proto__": 1}')]) {
    assertRefused(() => encodeValue(bad));
  }
  let ok: unknown = 1;
  for (let i = 0; i < MAX_VALUE_DEPTH; i++) ok = [ok];
  assert.deepEqual(decodeValue(encodeValue(ok)), ok);
});

test('checkEncodedValue accepts canonical encodings only', () => {
  checkEncodedValue(encodeValue({ a: [1, 'x'] }));
  const refusals: number[][] = [
    [], // nothing
    [0x18, 0x01], // 1 with a long head
    [0xf9, 0x3c, 0x00], // 1.0 as a float16
    [0xa2, 0x61, 0x62, 0x01, 0x61, 0x61, 0x02], // keys out of order
    [0x9f, 0x01, 0xff], // indefinite-length array
    [0xf7], // undefined
    [0xc0, 0x60], // a date tag
    [0x01, 0x01], // trailing bytes
    [0xd8, 0x40, 0x41, 0x01], // tag 64 around bytes
    [0xc2, 0x41, 0x05], // 5n as a bignum: it has a shorter form
    [0x7f, 0x61, 0x61, 0xff], // indefinite-length text
  ];
  for (const bytes of refusals) assertRefused(() => checkEncodedValue(new Uint8Array(bytes)));
  // A 64-bit integer head is how a bigint is written, so it reads back as one.
  checkEncodedValue(new Uint8Array([0x1b, 0, 0, 0, 0, 0, 0, 0, 5]));
  assert.equal(decodeValue(new Uint8Array([0x1b, 0, 0, 0, 0, 0, 0, 0, 5])), 5n);
});

test('decode(encode(v)) re-encodes to the same bytes, and key order never matters', () => {
  const plain = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.oneof(fc.integer(), fc.double(), fc.bigInt(), fc.string({ unit: 'grapheme' }), fc.boolean(), fc.constant(null), fc.uint8Array({ maxLength: 4 })),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 4 }).filter((k) => k !== '__proto__'), tie('value'), { maxKeys: 4 }),
    ),
  })).value;
  fc.assert(
    fc.property(plain, (v) => {
      const bytes = encodeValue(v);
      checkEncodedValue(bytes);
      assert.deepEqual(encodeValue(decodeValue(bytes)), bytes);
      if (typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)) {
        const reversed = Object.fromEntries(Object.entries(v).reverse());
        assert.deepEqual(encodeValue(reversed), bytes);
      }
    }),
    { numRuns: 300 },
  );
});
