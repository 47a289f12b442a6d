import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CRDT_FORMAT_VERSION,
  LWWRegister,
  MAX_MAP_DEPTH,
  ORMap,
  ORSet,
  PNCounter,
  decodeCrdt,
  encodeCrdt,
  type Crdt,
} from '../../src/crdt/index.js';
import { decodeValue, encodeValue } from '../../src/crdt/plain-value.js';
import { assertRefused, decodeOrRefuse, elements } from './helpers.js';

const enc = (raw: unknown): Uint8Array => encodeValue(raw);
const x = encodeValue('x');
const y = encodeValue('y');

const examples: Crdt[] = [
  PNCounter.empty(),
  PNCounter.empty().increment('a', 3).decrement('b', 2 ** 40),
  LWWRegister.empty(),
  LWWRegister.empty().assign('a', { cart: ['sku-1'], n: 2n }, 1_700_000_000_000),
  ORSet.empty(),
  ORSet.empty().add('a', 'x').add('b', { k: [1, 2] }).add('a', 'y').remove('x'),
  ORSet.empty<string>().add('a', 'x').addDelta('a', 'x'), // a context with a gap: a cloud
  ORMap.empty(),
  ORMap.empty()
    .update('a', 'qty', PNCounter, (c) => c.increment('a', 2).decrement('z'))
    .update('b', 'tags', ORSet, (s) => s.add('b', 'red'))
    .update('a', 'name', LWWRegister, (r) => r.assign('a', 'Ann', 5))
    .update('c', 'sub', ORMap, (m) => m.update('c', 'deep', ORSet, (s) => s.add('c', 1)))
    .remove('tags'),
];

test('every example round-trips, to the same state and the same bytes', () => {
  for (const crdt of examples) {
    const bytes = encodeCrdt(crdt);
    const back = decodeCrdt(bytes);
    assert.equal(back.constructor, crdt.constructor);
    assert.ok((back as { equals(o: unknown): boolean }).equals(crdt));
    assert.deepEqual(encodeCrdt(back), bytes);
    assert.equal(decodeCrdt(bytes, crdt.constructor as never).constructor, crdt.constructor);
    // A fresh array, not a view of the encoder's shared slab.
    assert.equal(bytes.byteOffset, 0);
    assert.equal(bytes.buffer.byteLength, bytes.length);
  }
});

test('the layouts: tag, version, then the state', () => {
  assert.deepEqual(decodeValue(encodeCrdt(PNCounter.empty().increment('b', 2).decrement('a'))), ['pncounter', 1, ['a', 0, 1, 'b', 2, 0]]);
  assert.deepEqual(decodeValue(encodeCrdt(LWWRegister.empty())), ['lwwregister', 1]);
  assert.deepEqual(decodeValue(encodeCrdt(LWWRegister.empty().assign('a', 'x', 7))), ['lwwregister', 1, 7, 0, 'a', x]);
  const set = ORSet.empty<string>().add('b', 'y').add('a', 'x').add('b', 'x');
  // Actors sorted and referred to by index; elements sorted by encoding with their dots.
  assert.deepEqual(decodeValue(encodeCrdt(set)), ['orset', 1, ['a', 'b'], [0, 1, 1, 2], [], [x, [1, 2], y, [1, 1]]]);
  const map = ORMap.empty().update('a', 'n', PNCounter, (c) => c.increment('a', 3));
  assert.deepEqual(decodeValue(encodeCrdt(map)), ['ormap', 1, ['a'], [0, 2], [], ['n', 'pncounter', [0, 2], [0, 1, 0, 3, 0]]]);
  assert.equal(CRDT_FORMAT_VERSION, 1);
});

test('equal states have equal encodings, however they were reached', () => {
  const a = ORSet.empty<string>().add('a', 'x');
  const b = ORSet.empty<string>().add('b', 'y');
  assert.deepEqual(encodeCrdt(a.merge(b)), encodeCrdt(b.merge(a)));
  assert.deepEqual(encodeCrdt(PNCounter.empty().increment('a').increment('b')), encodeCrdt(PNCounter.empty().increment('b').increment('a')));
});

test('refuses input that is not an encoded CRDT', () => {
  for (const bad of [undefined, null, 'orset', [1, 2], new ArrayBuffer(4)]) assertRefused(() => decodeCrdt(bad as unknown as Uint8Array));
  assertRefused(() => decodeCrdt(new Uint8Array()), /not valid CBOR/);
  assertRefused(() => decodeCrdt(new Uint8Array([0xff])), /not valid CBOR/);
  assertRefused(() => decodeCrdt(new Uint8Array(10_000).fill(0x81)), /not valid CBOR/);
  assertRefused(() => decodeCrdt(enc({ tag: 'orset' })), /must be an array/);
  assertRefused(() => decodeCrdt(enc(['orset'])), /must be an array/);
  assertRefused(() => encodeCrdt({} as Crdt), /encodeCrdt needs/);
  assertRefused(() => decodeCrdt(encodeCrdt(PNCounter.empty()), Map as never), /type must be/);
});

test('refuses a wrong tag or format version', () => {
  assertRefused(() => decodeCrdt(enc(['gset', 1, []])), /unknown CRDT type tag "gset"/);
  assertRefused(() => decodeCrdt(enc([3, 1, []])), /unknown CRDT type tag 3/);
  assertRefused(() => decodeCrdt(enc(['pncounter', 2, []])), /unknown pncounter format version 2/);
  assertRefused(() => decodeCrdt(enc(['pncounter', '1', []])), /format version string/);
  assertRefused(() => decodeCrdt(encodeCrdt(ORSet.empty()), PNCounter), /expected an encoded pncounter, got orset/);
  assertRefused(() => decodeCrdt(encodeCrdt(ORMap.empty()), ORSet), /expected an encoded orset, got ormap/);
});

test('refuses malformed counters and registers', () => {
  const counters: [unknown[], RegExp][] = [
    [['pncounter', 1], /expected \[tag, version, entries\]/],
    [['pncounter', 1, ['a', 1]], /3-item groups/],
    [['pncounter', 1, ['b', 1, 0, 'a', 1, 0]], /sorted by actor/],
    [['pncounter', 1, ['a', 1, 0, 'a', 2, 0]], /sorted by actor/],
    [['pncounter', 1, ['a', 0, 0]], /all zero/],
    [['pncounter', 1, ['a', -1, 0]], /safe integers/],
    [['pncounter', 1, ['a', 1.5, 0]], /safe integers/],
    [['pncounter', 1, ['a', 2 ** 53, 0]], /safe integers/],
    [['pncounter', 1, ['', 1, 0]], /actor/],
    [['pncounter', 1, [7, 1, 0]], /actor/],
  ];
  const registers: [unknown[], RegExp][] = [
    [['lwwregister', 1, 0, 0, 'a'], /expected/],
    [['lwwregister', 1, -1, 0, 'a', x], /timestamp/],
    [['lwwregister', 1, 0, 0.5, 'a', x], /timestamp/],
    [['lwwregister', 1, 0, 0, '', x], /actor/],
    [['lwwregister', 1, 0, 0, 'a', 'x'], /byte string/],
    [['lwwregister', 1, 0, 0, 'a', new Uint8Array([0xf9, 0x3c, 0x00])], /canonical/],
    [['lwwregister', 1, 0, 0, 'a', new Uint8Array([0xa2, 0x61, 0x62, 0x01, 0x61, 0x61, 0x02])], /canonical/],
    [['lwwregister', 1, 0, 0, 'a', new Uint8Array([0xf7])], /plain data/],
    [['lwwregister', 1, 0, 0, 'a', new Uint8Array([0xff])], /not valid CBOR/],
  ];
  for (const [raw, pattern] of [...counters, ...registers]) assertRefused(() => decodeCrdt(enc(raw)), pattern);
});

test('refuses malformed sets', () => {
  const ok = ['orset', 1, ['a'], [0, 1], [], [x, [0, 1]]];
  assert.deepEqual(decodeCrdt(enc(ok), ORSet).value(), ['x']);
  const bad: [unknown[], RegExp][] = [
    [['orset', 1, ['a'], [0, 1], []], /expected \[tag, version, actors, vv, cloud, store\]/],
    [['orset', 1, ['b', 'a'], [0, 1], [], []], /actors must be strictly sorted/],
    [['orset', 1, ['a', ''], [0, 1], [], []], /actor/],
    [['orset', 1, 'a', [0, 1], [], []], /actors must be a list/],
    [['orset', 1, ['a'], [1, 1], [], []], /index is out of range/],
    [['orset', 1, ['a'], [0, 1], [0, 2], []], /compacted/],
    [['orset', 1, ['a'], [0, 0], [], []], /vector/],
    [['orset', 1, ['a'], [0, 1], [], [x, [0, 2]]], /missing from the causal context/],
    [['orset', 1, ['a'], [0, 1], [], [x, [5, 1]]], /out of range/],
    [['orset', 1, ['a'], [0, 2], [], [x, [0, 1], y, [0, 1]]], /appears twice/],
    [['orset', 1, ['a'], [0, 2], [], [x, [0, 1, 0, 1]]], /appears twice/],
    [['orset', 1, ['a'], [0, 2], [], [x, [0, 2, 0, 1]]], /strictly sorted/],
    [['orset', 1, ['a'], [0, 2], [], [y, [0, 1], x, [0, 2]]], /strictly sorted by encoding/],
    [['orset', 1, ['a'], [0, 2], [], [x, [0, 1], x, [0, 2]]], /strictly sorted by encoding/],
    [['orset', 1, ['a'], [0, 1], [], [x, []]], /must have a dot/],
    [['orset', 1, ['a'], [0, 1], [], ['x', [0, 1]]], /byte string/],
    [['orset', 1, ['a'], [0, 1], [], [x, [0]]], /2-item groups/],
    [['orset', 1, ['a'], [0, 1], [], [new Uint8Array([0x18, 0x01]), [0, 1]]], /canonical/],
    [['orset', 1, ['a', 'b'], [0, 1], [], [x, [0, 1]]], /canonical encoding/], // b is never used
  ];
  for (const [raw, pattern] of bad) assertRefused(() => decodeCrdt(enc(raw)), pattern);
});

test('refuses malformed maps', () => {
  const counter = ['n', 'pncounter', [0, 2], [0, 1, 0, 3, 0]];
  assert.equal(decodeCrdt(enc(['ormap', 1, ['a'], [0, 2], [], counter]), ORMap).get('n', PNCounter)?.value(), 3);
  const bad: [unknown[], RegExp][] = [
    [['n', 'gcounter', [0, 1], []], /unknown field type "gcounter"/],
    [[7, 'orset', [0, 1], []], /field name/],
    [['b', 'orset', [0, 1], [], 'a', 'orset', [0, 2], []], /sorted by \(name, type\)/],
    [['a', 'orset', [0, 1], [], 'a', 'orset', [0, 2], []], /sorted by \(name, type\)/],
    [['a', 'pncounter', [0, 1], [], 'a', 'orset', [0, 2], []], /sorted by \(name, type\)/],
    [['a', 'orset', [], []], /presence dot or some content/],
    [['a', 'pncounter', [0, 1], [0, 2, 0, -1, 0]], /safe integers/],
    [['a', 'pncounter', [0, 1], [0, 2, 0, 1]], /5-item groups/],
    [['a', 'lwwregister', [0, 1], [0, 2, 0, 0, 0, 'x']], /byte string/],
    [['a', 'lwwregister', [0, 1], [0, 2, -5, 0, 0, x]], /timestamp/],
    [['a', 'lwwregister', [0, 1], [0, 1, 0, 0, 0, x]], /appears twice/],
    [['a', 'ormap', [0, 1], ['b', 'orset', [], []]], /presence dot or some content/],
  ];
  for (const [fields, pattern] of bad) assertRefused(() => decodeCrdt(enc(['ormap', 1, ['a'], [0, 2], [], fields])), pattern);
  // Nesting: the deepest map allowed decodes, one more level does not.
  const nested = (levels: number): unknown[] => (levels === 1 ? [] : ['m', 'ormap', [0, levels], nested(levels - 1)]);
  decodeCrdt(enc(['ormap', 1, ['a'], [0, MAX_MAP_DEPTH], [], nested(MAX_MAP_DEPTH)]));
  assertRefused(() => decodeCrdt(enc(['ormap', 1, ['a'], [0, MAX_MAP_DEPTH + 1], [], nested(MAX_MAP_DEPTH + 1)])), /nest|CBOR/);
});

test('refuses other spellings of a valid encoding', () => {
  const bytes = encodeCrdt(PNCounter.empty().increment('a'));
  // The version (byte 11) written with a one-byte argument instead of inline.
  const longHead = new Uint8Array([...bytes.subarray(0, 11), 0x18, 0x01, ...bytes.subarray(12)]);
  assert.equal(bytes[11], 0x01);
  assertRefused(() => decodeCrdt(longHead), /canonical encoding/);
  const indefinite = new Uint8Array([0x9f, ...bytes.subarray(1), 0xff]);
  assertRefused(() => decodeCrdt(indefinite), /canonical encoding/);
  assertRefused(() => decodeCrdt(new Uint8Array([...bytes, 0x00])), /not valid CBOR/);
});

test('random bytes decode to a canonical state or a ValidationError, nothing else', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const result = decodeOrRefuse(bytes);
      if (!(result instanceof Error)) assert.deepEqual(encodeCrdt(result), bytes);
    }),
    { numRuns: 3000 },
  );
});

test('corrupted encodings decode to a canonical state or a ValidationError, nothing else', () => {
  const state = fc.oneof(
    fc.constantFrom(...examples),
    fc.array(fc.tuple(fc.constantFrom('a', 'b'), elements, fc.boolean()), { maxLength: 6 }).map((ops) =>
      ops.reduce((s, [actor, e, add]) => (add ? s.add(actor, e) : s.remove(e)), ORSet.empty<unknown>()),
    ),
  );
  const corruption = fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), how: fc.constantFrom('flip', 'drop', 'insert', 'cut') });
  fc.assert(
    fc.property(state, corruption, (crdt, { at, byte, how }) => {
      const bytes = Array.from(encodeCrdt(crdt));
      const i = at % bytes.length;
      if (how === 'flip') bytes[i] = bytes[i]! ^ (byte | 1);
      else if (how === 'drop') bytes.splice(i, 1);
      else if (how === 'insert') bytes.splice(i, 0, byte);
      else bytes.length = i;
      const mutated = new Uint8Array(bytes);
      const result = decodeOrRefuse(mutated);
      if (!(result instanceof Error)) assert.deepEqual(encodeCrdt(result), mutated);
    }),
    { numRuns: 3000 },
  );
});
