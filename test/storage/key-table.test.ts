import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KeyTable, type KeyHash } from '../../src/storage/key-table.js';
import { hashBytes } from '../../src/bytes-hash.js';
import { toLatin1 } from '../../src/latin1.js';

/** Every key in part 0 and in one home slot: the whole part is one run of collisions. */
const sameHash: KeyHash = () => 0;
/**
 * Every key in part 0, homed in the part's last 8 slots whatever its size, so runs wrap
 * around the end of the array.
 */
const wrappingHash: KeyHash = (key) => 0x00fffff8 | ((key[0] ?? 0) & 7);

const hashes: [string, KeyHash | undefined][] = [
  ['the default hash', undefined],
  ['one hash for every key', sameHash],
  ['hashes that wrap around', wrappingHash],
];

/** Short keys over a few byte values: keys repeat, and many differ only in length or in one byte. */
const shortKey = fc.uint8Array({ maxLength: 4, max: 3 });
const op = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), key: shortKey, value: fc.integer({ min: 0, max: 2 ** 31 - 1 }) }),
  fc.record({ kind: fc.constant('get' as const), key: shortKey }),
  fc.record({ kind: fc.constant('delete' as const), key: shortKey }),
);

function checkKeys(table: KeyTable, model: Map<string, number>): void {
  assert.equal(table.size, model.size);
  assert.deepEqual(table.keys().sort(), [...model.keys()].sort());
}

for (const [name, hash] of hashes) {
  test(`KeyTable behaves as a Map for any sequence of sets, gets and deletes, with ${name}`, () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const table = new KeyTable(hash);
        const model = new Map<string, number>();
        for (const o of ops) {
          const text = toLatin1(o.key);
          const before = model.get(text) ?? -1;
          if (o.kind === 'set') {
            assert.equal(table.set(o.key, o.value), before);
            model.set(text, o.value);
          } else if (o.kind === 'delete') {
            assert.equal(table.delete(o.key), before);
            model.delete(text);
          } else {
            assert.equal(table.get(o.key), before);
          }
          assert.equal(table.size, model.size);
        }
        checkKeys(table, model);
        for (const text of model.keys()) assert.equal(table.get(Buffer.from(text, 'latin1')), model.get(text));
      }),
    );
  });
}

test('KeyTable keeps keys longer than a pool chunk, compared bytewise like the rest', () => {
  const table = new KeyTable();
  const model = new Map<string, number>();
  const long = (length: number, last: number): Uint8Array => {
    const key = new Uint8Array(length).fill(0x61);
    key[length - 1] = last;
    return key;
  };
  const keys = [long(4094, 1), long(4095, 1), long(4095, 2), long(4096, 1), long(70_000, 1), long(70_000, 2), long(70_001, 2)];
  keys.forEach((key, i) => {
    assert.equal(table.set(key, i), -1);
    model.set(toLatin1(key), i);
  });
  keys.forEach((key, i) => assert.equal(table.get(key.slice()), i, 'found by an equal copy, not by identity'));
  assert.equal(table.get(long(4095, 3)), -1);
  assert.equal(table.get(long(70_000, 3)), -1);
  checkKeys(table, model);

  // Deleted and set again, the large keys' slots are reused and stay right.
  assert.equal(table.delete(keys[1]!), 1);
  assert.equal(table.delete(keys[4]!), 4);
  model.delete(toLatin1(keys[1]!));
  model.delete(toLatin1(keys[4]!));
  assert.equal(table.get(keys[1]!), -1);
  const other = long(100_000, 7);
  assert.equal(table.set(other, 99), -1);
  model.set(toLatin1(other), 99);
  assert.equal(table.set(keys[4]!, 44), -1);
  model.set(toLatin1(keys[4]!), 44);
  assert.equal(table.set(keys[5]!, 55), 5, 'a large key keeps its slot when its value changes');
  model.set(toLatin1(keys[5]!), 55);
  for (const [text, value] of model) assert.equal(table.get(Buffer.from(text, 'latin1')), value);
  checkKeys(table, model);
});

test('KeyTable holds the empty key and refuses values outside 0 to 2^31 - 1', () => {
  const table = new KeyTable();
  const empty = new Uint8Array(0);
  assert.equal(table.get(empty), -1);
  assert.equal(table.set(empty, 0), -1);
  assert.equal(table.set(new Uint8Array([0]), 2 ** 31 - 1), -1);
  assert.equal(table.get(empty), 0);
  assert.deepEqual(table.keys().sort(), ['', '\0']);
  for (const bad of [-1, 2 ** 31, 1.5, Number.NaN]) assert.throws(() => table.set(empty, bad), RangeError);
  assert.equal(table.get(empty), 0);
  assert.equal(table.delete(empty), 0);
  assert.equal(table.delete(empty), -1);
  assert.equal(table.size, 1);
});

test('KeyTable holds 200k keys that share a long prefix, spread evenly over its parts', () => {
  // Spaces other than the data space have no hash in front of their keys.
  const encoder = new TextEncoder();
  const key = (i: number) => encoder.encode(`tenant-0042/shopping-cart/user-${i}`);
  const count = 200_000;
  const table = new KeyTable();
  const perPart = new Array<number>(256).fill(0);
  for (let i = 0; i < count; i++) {
    table.set(key(i), i);
    perPart[hashBytes(key(i)) >>> 24]!++;
  }
  assert.equal(table.size, count);
  for (let i = 0; i < count; i++) assert.equal(table.get(key(i)), i);
  assert.equal(table.get(key(count)), -1);
  const keys = table.keys();
  assert.equal(keys.length, count);
  assert.equal(new Set(keys).size, count);
  // 781 a part on average; every part grew from 8 slots to 2048.
  assert.ok(Math.min(...perPart) > 600 && Math.max(...perPart) < 1000, `keys per part ${Math.min(...perPart)}–${Math.max(...perPart)}`);
});

for (const [name, hash] of hashes) {
  test(`KeyTable deletes everything and takes it all back, with ${name}`, () => {
    const count = hash === undefined ? 50_000 : 1500;
    const checkEvery = hash === undefined ? 4999 : 97;
    const key = (i: number) => Uint8Array.of(i & 0xff, i >>> 8, i >>> 16);
    const table = new KeyTable(hash);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < count; i++) assert.equal(table.set(key(i), i + round), -1);
      assert.equal(table.size, count);
      // Deleted in a scattered order, checking now and then that every key left is still
      // reachable: backward shifts must never move one before its home.
      const order = Array.from({ length: count }, (_, i) => (i * 7919) % count);
      order.forEach((i, n) => {
        assert.equal(table.delete(key(i)), i + round);
        assert.equal(table.get(key(i)), -1);
        if (n % checkEvery === 0) {
          for (const j of order.slice(n + 1)) assert.equal(table.get(key(j)), j + round);
        }
      });
      assert.equal(table.size, 0);
      assert.deepEqual(table.keys(), []);
    }
  });
}
