import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeStored, encodeValue, stampValue } from '../src/keys.js';
import { ORSet, ValidationError } from '../src/index.js';

test('a stored value carries its write timestamp as a CBOR uint64 before the value', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 9e15 }), fc.jsonValue(), (writtenAt, value) => {
      // Refused instead (next test): the value codec would read the key back as "__proto_".
      fc.pre(!JSON.stringify(value).includes('"__proto__":'));
      const bytes = stampValue(encodeValue(value, 1 << 20), writtenAt);
      assert.equal(bytes[0], 0x1b);
      assert.equal(Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(1)), writtenAt);
      const stored = decodeStored(bytes);
      assert.equal(stored.writtenAt, writtenAt);
      // As JSON: the value codec (cbor-x) writes -0 as the integer 0, which JSON cannot tell apart.
      assert.equal(JSON.stringify(stored.value), JSON.stringify(value));
    }),
  );
  const set = ORSet.empty<string>().add('a', 'x');
  const back = decodeStored<ORSet<string>>(stampValue(encodeValue(set, 1 << 20), 7)).value;
  assert.ok(back instanceof ORSet && back.equals(set), 'a CRDT comes back as its class');
});

test('a value with an object key "__proto__", at any depth, is a ValidationError rather than stored altered', () => {
  for (const value of [JSON.parse('{"__proto__":{}}'), { cart: [JSON.parse('{"a":1,"__proto__":2}')] }, new Map([['__proto__', 1]])]) {
    assert.throws(() => encodeValue(value, 1 << 20), ValidationError);
  }
  // The text "__proto__" as a value, or an ordinary object, is fine.
  for (const value of [{ note: '__proto__' }, ['__proto__'], { proto: 1 }]) {
    assert.deepEqual(decodeStored(stampValue(encodeValue(value, 1 << 20), 1)).value, value);
  }
});

test('bytes that are not a stored value are a ValidationError', () => {
  for (const bad of [new Uint8Array(0), Uint8Array.of(0x1b, 0, 0), Uint8Array.of(0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0x01), Uint8Array.of(0x1b, 0, 0, 0, 0, 0, 0, 0, 0, 0xff)]) {
    assert.throws(() => decodeStored(bad), ValidationError);
  }
});
