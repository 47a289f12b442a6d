import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { allocBytes, copyBytes } from '../src/bytes.js';
import { fromLatin1, toLatin1 } from '../src/latin1.js';

test('allocBytes hands out zeroed, disjoint, 8-byte aligned arrays of the asked length', () => {
  const arrays = [0, 1, 64, 65, 100, 170, 2048, 2049, 5000, 65, 1000, 3000, 700].map((n) => allocBytes(n));
  for (const bytes of arrays) {
    assert.ok(bytes.every((b) => b === 0), 'zeroed');
    assert.equal(bytes.byteOffset % 8, 0);
    bytes.fill(0xab);
  }
  // Writing one never shows through another, even when they share an ArrayBuffer.
  for (const bytes of arrays) assert.ok(bytes.every((b) => b === 0xab));
  const shared = arrays.filter((a) => a.buffer === arrays[4]!.buffer);
  assert.ok(shared.length > 1, 'small arrays share slabs');
  for (let n = 0; n < 20_000; n++) assert.equal(allocBytes(100 + (n % 900)).length, 100 + (n % 900));
});

test('copyBytes copies', () => {
  const source = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
  const copy = copyBytes(source);
  assert.deepEqual([...copy], [...source]);
  source[0] = 99;
  assert.equal(copy[0], 0);
});

test('Latin-1 strings round-trip every byte string, views included', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(8), (bytes, skip) => {
      const view = new Uint8Array(skip + bytes.length);
      view.set(bytes, skip);
      const text = toLatin1(view.subarray(skip));
      assert.equal(text.length, bytes.length);
      assert.deepEqual([...fromLatin1(text)], [...bytes]);
    }),
  );
  assert.equal(toLatin1(Uint8Array.of(0x61, 0xff, 0)), 'a\xff\0');
  assert.notEqual(toLatin1(Uint8Array.of(1, 2)), toLatin1(Uint8Array.of(1, 2, 0)));
});
