import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { keyBytes } from '../src/keys.js';
import { ValidationError } from '../src/index.js';

test('a string key is its UTF-8 bytes, whatever its characters (lone surrogates as U+FFFD)', () => {
  const utf8 = new TextEncoder();
  fc.assert(
    fc.property(fc.oneof(fc.string({ minLength: 1 }), fc.string({ minLength: 1, unit: 'grapheme' }), fc.string({ minLength: 1, unit: 'binary' })), (text) => {
      assert.deepEqual([...keyBytes(text, 1 << 20)], [...utf8.encode(text)]);
    }),
  );
  assert.deepEqual([...keyBytes('a\uD800b', 100)], [0x61, 0xef, 0xbf, 0xbd, 0x62]);
  assert.deepEqual([...keyBytes('ü😀', 100)], [...utf8.encode('ü😀')]);
});

test('key size is checked on the encoded bytes', () => {
  assert.equal(keyBytes('é'.repeat(10), 20).length, 20);
  assert.throws(() => keyBytes('é'.repeat(11), 20), ValidationError);
  assert.throws(() => keyBytes('', 20), ValidationError);
});
