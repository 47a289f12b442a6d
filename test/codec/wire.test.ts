import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Encoder, Tag } from 'cbor-x';
import fc from 'fast-check';
import { decodeFrame, encodeFrame, fromWireError, MAX_DEPTH, toWireError, WIRE_VERSION, type Frame } from '../../src/codec/wire.js';
import { DynamoError, TimeoutError, ValidationError } from '../../src/errors.js';
import type { Message } from '../../src/transport/transport.js';

// Crafts hostile input: plain CBOR with every cbor-x extension (tags, shared references) on.
const raw = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
const cloning = new Encoder({ useRecords: false, structuredClone: true });

const put: Message = {
  type: 'put',
  key: new Uint8Array(16).fill(7),
  value: new Uint8Array(150).map((_, i) => i),
  context: { clock: [['a', 3], ['b', 1]], dot: null },
  n: 3,
  hinted: false,
};

function rejects(bytes: Uint8Array, pattern?: RegExp): void {
  assert.throws(
    () => decodeFrame(bytes),
    (error: unknown) => {
      assert.ok(error instanceof ValidationError, `expected a ValidationError, got ${String(error)}`);
      if (pattern !== undefined) assert.match(error.message, pattern);
      return true;
    },
  );
}

function hex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
}

describe('wire frames', () => {
  test('each kind of frame round-trips', () => {
    const frames: Frame[] = [
      { kind: 'request', id: 0, message: put },
      { kind: 'reply', id: 2 ** 53 - 1, message: { type: 'ok', values: [new Uint8Array([1, 2])] } },
      { kind: 'error', id: 17, error: { code: 'INVALID_ARGUMENT', message: 'key too long' } },
    ];
    for (const frame of frames) assert.deepStrictEqual(decodeFrame(encodeFrame(frame)), frame);
  });

  test('the envelope is a small array led by the version', () => {
    const bytes = encodeFrame({ kind: 'request', id: 5, message: { type: 'ping' } });
    assert.deepEqual(raw.decode(bytes), [WIRE_VERSION, 0, 5, { type: 'ping' }]);
    // 1 array header + version + kind + id, then {type: 'ping'} in 11 bytes.
    assert.equal(bytes.byteLength, 4 + 11);
  });

  test('byte strings decode as plain Uint8Arrays that do not keep the frame alive', () => {
    const bytes = Buffer.from(encodeFrame({ kind: 'request', id: 1, message: put }));
    const frame = decodeFrame(bytes);
    assert.equal(frame.kind, 'request');
    if (frame.kind !== 'request') return;
    const value = frame.message['value'] as Uint8Array;
    assert.equal(Object.getPrototypeOf(value), Uint8Array.prototype, 'not a Buffer or a subclass');
    assert.notEqual(value.buffer, bytes.buffer, 'must not be a view into the frame');
    assert.ok(value.buffer.byteLength <= 16 * 1024, 'at most a shared slab (src/bytes.ts)');
    bytes.fill(0);
    assert.deepEqual(value, put['value']);
  });

  test('a Buffer in a message encodes like a Uint8Array', () => {
    const frame = decodeFrame(encodeFrame({ kind: 'request', id: 1, message: { type: 'b', data: Buffer.from([1, 2, 3]) } }));
    assert.deepStrictEqual(frame, { kind: 'request', id: 1, message: { type: 'b', data: new Uint8Array([1, 2, 3]) } });
  });

  test('encodeFrame refuses what would not come back the same', () => {
    class Point {
      x = 1;
    }
    const cyclic: Record<string, unknown> = { type: 'loop' };
    cyclic['self'] = cyclic;
    let deep: unknown = 1;
    for (let i = 0; i < MAX_DEPTH + 1; i++) deep = [deep];
    const bad: [string, unknown][] = [
      ['a Map', { type: 'x', m: new Map() }],
      ['a Set', { type: 'x', s: new Set([1]) }],
      ['a Date', { type: 'x', d: new Date() }],
      ['a class instance', { type: 'x', p: new Point() }],
      ['a function', { type: 'x', f: () => 1 }],
      ['a symbol', { type: 'x', s: Symbol('s') }],
      ['a Uint16Array', { type: 'x', a: new Uint16Array(2) }],
      ['an ArrayBuffer', { type: 'x', a: new ArrayBuffer(2) }],
      ['a "__proto__" key', JSON.parse('{"type":"x","nested":{"__proto__":{"polluted":true}}}')],
      ['a cycle', cyclic],
      ['deep nesting', { type: 'x', deep }],
      ['no type', { key: 1 }],
      ['a numeric type', { type: 7 }],
      ['an array message', ['put']],
      ['a null message', null],
      ['a class-instance message', Object.assign(new Point(), { type: 'x' })],
    ];
    for (const [what, message] of bad) {
      assert.throws(() => encodeFrame({ kind: 'request', id: 1, message: message as Message }), ValidationError, what);
    }
    assert.throws(() => encodeFrame({ kind: 'request', id: -1, message: { type: 'x' } }), ValidationError);
    assert.throws(() => encodeFrame({ kind: 'request', id: 1.5, message: { type: 'x' } }), ValidationError);
    assert.throws(() => encodeFrame({ kind: 'bogus', id: 1, message: { type: 'x' } } as unknown as Frame), ValidationError);
    assert.throws(
      () => encodeFrame({ kind: 'error', id: 1, error: { code: 5, message: 'x' } } as unknown as Frame),
      ValidationError,
    );
  });

  test('the error names where the offending value is', () => {
    assert.throws(
      () => encodeFrame({ kind: 'request', id: 1, message: { type: 'x', items: [1, { at: new Map() }] } }),
      /message\.items\[1\]\.at is a Map/,
    );
  });

  test('unknown versions are refused by number', () => {
    rejects(raw.encode([2, 0, 1, { type: 'x' }]), /unsupported wire version 2/);
    rejects(raw.encode([0, 0, 1, { type: 'x' }]), /unsupported wire version 0/);
    rejects(raw.encode(['1', 0, 1, { type: 'x' }]), /unsupported wire version/);
  });

  test('every truncation of a valid frame is refused', () => {
    const bytes = encodeFrame({ kind: 'request', id: 300, message: put });
    for (let end = 0; end < bytes.byteLength; end++) rejects(bytes.subarray(0, end));
  });

  test('trailing bytes are refused', () => {
    const bytes = encodeFrame({ kind: 'reply', id: 1, message: { type: 'ok' } });
    rejects(new Uint8Array([...bytes, 0]));
  });

  test('well-formed CBOR of the wrong shape is refused', () => {
    const shapes: unknown[] = [
      null,
      42,
      'frame',
      { version: 1 },
      [],
      [1, 0, 1],
      [1, 0, 1, { type: 'x' }, 'extra'],
      [1, 3, 1, { type: 'x' }],
      [1, 'request', 1, { type: 'x' }],
      [1, 0, -1, { type: 'x' }],
      [1, 0, 1.5, { type: 'x' }],
      [1, 0, '1', { type: 'x' }],
      [1, 0, 2 ** 53, { type: 'x' }],
      [1, 0, 1, null],
      [1, 0, 1, ['x']],
      [1, 0, 1, {}],
      [1, 0, 1, { type: 1 }],
      [1, 1, 1, { type: null }],
      [1, 2, 1, 'CODE'],
      [1, 2, 1, 5, 'message'],
      [1, 2, 1, 'CODE', null],
      [1, 2, 1, 'CODE', 'message', 'extra'],
    ];
    for (const shape of shapes) rejects(raw.encode(shape));
  });

  test('an inherited "type" through "__proto__" cannot pass, and nothing is polluted', () => {
    // {"type"... missing; "__proto__": {"type": "put"}} — a naive decoder would set the prototype.
    const bytes = raw.encode([1, 0, 1, JSON.parse('{"__proto__": {"type": "put", "polluted": true}}')]);
    rejects(bytes, /type/);
    const sneaky = raw.encode([1, 0, 1, JSON.parse('{"type": "x", "__proto__": {"polluted": true}}')]);
    const frame = decodeFrame(sneaky);
    assert.equal(frame.kind, 'request');
    if (frame.kind !== 'request') return;
    assert.equal(Object.getPrototypeOf(frame.message), Object.prototype);
    assert.equal((frame.message as Record<string, unknown>)['polluted'], undefined);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  test('tagged values (Date, Map, Set, RegExp, Error, typed arrays, unknown tags) are refused', () => {
    const tagged: unknown[] = [
      new Date(0),
      new Map([['a', 1]]),
      new Set([1]),
      /re/g,
      new Error('e'),
      new Uint16Array([1, 2]),
      new Float64Array([1.5]),
      new Tag('payload', 999),
    ];
    for (const value of tagged) rejects(raw.encode([1, 0, 1, { type: 'x', value }]));
    // Tag 64 is a Uint8Array by another name: accepted as one.
    const tag64 = hex('84 01 00 01 a2 64 74797065 61 78 61 62 d8 40 42 0102');
    assert.deepStrictEqual(decodeFrame(tag64), {
      kind: 'request',
      id: 1,
      message: { type: 'x', b: new Uint8Array([1, 2]) },
    });
  });

  test('shared references can build neither cycles nor exponential trees', () => {
    const cyclic: Record<string, unknown> = { type: 'loop' };
    cyclic['self'] = cyclic;
    rejects(cloning.encode([1, 0, 1, cyclic]));
    // Each level holds the previous one twice: 40 levels would be 2^40 nodes to walk.
    let level: unknown = ['leaf'];
    for (let i = 0; i < 40; i++) level = [level, level];
    const started = performance.now();
    rejects(cloning.encode([1, 0, 1, { type: 'x', level }]), /more values than/);
    assert.ok(performance.now() - started < 1000, 'validation must stay linear in the frame size');
  });

  test('deep nesting and huge length claims are refused without a crash', () => {
    const deep = new Uint8Array(200_000).fill(0x81); // [[[[...
    rejects(deep);
    rejects(hex('84 01 00 01 a1 64 74797065 9b ffffffffffffffff')); // 2^64-item array
    rejects(hex('84 01 00 01 a1 64 74797065 5a ffffffff')); // 4 GiB byte string
    rejects(hex('84 01 00 01 a1 64 74797065 7f')); // unterminated indefinite string
    rejects(hex('ff'));
    rejects(new Uint8Array(0));
  });

  test('handler errors map to wire errors and back, whatever was thrown', () => {
    assert.deepEqual(toWireError(new ValidationError('bad key')), { code: 'INVALID_ARGUMENT', message: 'bad key' });
    assert.deepEqual(toWireError(new Error('disk')), { code: 'REMOTE_ERROR', message: 'disk' });
    assert.equal(toWireError('text').code, 'REMOTE_ERROR');
    assert.match(toWireError(undefined).message, /undefined/);
    assert.match(toWireError(Symbol('s')).message, /Symbol\(s\)/);
    const hostile = {
      get message(): string {
        throw new Error('gotcha');
      },
    };
    assert.equal(toWireError(hostile).code, 'REMOTE_ERROR');
    const back = fromWireError({ code: 'TIMEOUT', message: 'slow disk' });
    assert.ok(back instanceof DynamoError && !(back instanceof TimeoutError), 'a remote timeout is not a local one');
    assert.equal(back.code, 'TIMEOUT');
    assert.equal(back.message, 'slow disk');
  });

  test('only a Uint8Array is accepted as input', () => {
    assert.throws(() => decodeFrame('frame' as unknown as Uint8Array), ValidationError);
    assert.throws(() => decodeFrame(null as unknown as Uint8Array), ValidationError);
  });
});

// Plain data as messages may hold it. -0 is left out: CBOR integers have no sign of zero.
const { value: plainValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.constant(undefined),
    fc.boolean(),
    fc.double().map((d) => (Object.is(d, -0) ? 0 : d)),
    fc.integer(),
    fc.bigInt({ min: -(2n ** 64n) * 4n, max: 2n ** 64n * 4n }),
    fc.string({ unit: 'binary' }),
    fc.uint8Array({ maxLength: 64 }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(
      fc.string().filter((key) => key !== '__proto__'),
      tie('value'),
      { maxKeys: 5, noNullPrototype: true },
    ),
  ),
}));

const messageArb = fc
  .record({ type: fc.string(), fields: fc.dictionary(fc.string().filter((k) => k !== '__proto__' && k !== 'type'), plainValue, { maxKeys: 6, noNullPrototype: true }) })
  .map(({ type, fields }): Message => ({ ...fields, type }));

const plain = { noNullPrototype: true };
const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({ kind: fc.constant('request' as const), id: fc.maxSafeNat(), message: messageArb }, plain),
  fc.record({ kind: fc.constant('reply' as const), id: fc.maxSafeNat(), message: messageArb }, plain),
  fc.record({
    kind: fc.constant('error' as const),
    id: fc.maxSafeNat(),
    error: fc.record({ code: fc.string(), message: fc.string() }, plain),
  }, plain),
);

/** decodeFrame may only return a frame or throw ValidationError. */
function decodesOrRefuses(bytes: Uint8Array): void {
  try {
    const frame = decodeFrame(bytes);
    assert.ok(['request', 'reply', 'error'].includes(frame.kind));
    // Whatever was accepted is plain data again, so it re-encodes.
    encodeFrame(frame);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
  }
}

describe('wire frames, property-based', () => {
  test('every plain frame round-trips exactly', () => {
    fc.assert(
      fc.property(frameArb, (frame) => {
        assert.deepStrictEqual(decodeFrame(encodeFrame(frame)), frame);
      }),
      { numRuns: 500 },
    );
  });

  test('random bytes give a frame or a ValidationError, never another exception', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), decodesOrRefuses), { numRuns: 5000 });
  });

  test('random bytes behind a valid header give a frame or a ValidationError', () => {
    const header = [0x84, 0x01, 0x00, 0x01];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 128 }), (tail) => decodesOrRefuses(new Uint8Array([...header, ...tail]))),
      { numRuns: 5000 },
    );
  });

  test('mutated valid frames give a frame or a ValidationError', () => {
    const mutation = fc.oneof(
      fc.record({ op: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ op: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ op: fc.constant('delete' as const), at: fc.nat(), byte: fc.constant(0) }),
      fc.record({ op: fc.constant('truncate' as const), at: fc.nat(), byte: fc.constant(0) }),
    );
    fc.assert(
      fc.property(frameArb, fc.array(mutation, { minLength: 1, maxLength: 4 }), (frame, mutations) => {
        const bytes = [...encodeFrame(frame)];
        for (const { op, at, byte } of mutations) {
          const i = bytes.length === 0 ? 0 : at % bytes.length;
          if (op === 'flip') bytes[i] = byte;
          else if (op === 'insert') bytes.splice(i, 0, byte);
          else if (op === 'delete') bytes.splice(i, 1);
          else bytes.length = i;
        }
        decodesOrRefuses(new Uint8Array(bytes));
      }),
      { numRuns: 5000 },
    );
  });

  test('hostile CBOR built from every cbor-x extension gives a frame or a ValidationError', () => {
    const hostile = fc.oneof(
      plainValue,
      fc.date({ noInvalidDate: false }),
      fc.array(fc.integer()).map((a) => new Set(a)),
      fc.array(fc.tuple(fc.string(), fc.integer())).map((entries) => new Map(entries)),
      fc.array(fc.integer()).map((a) => new Int32Array(a)),
      fc.tuple(fc.integer({ min: 0, max: 300 }), plainValue).map(([tag, value]) => new Tag(value, tag)),
    );
    fc.assert(
      fc.property(
        fc.tuple(fc.constantFrom(0, 1, 2, 3), fc.oneof(fc.maxSafeNat(), hostile), hostile, hostile),
        fc.boolean(),
        ([kind, id, a, b], clone) => {
          const frame = [WIRE_VERSION, kind, id, kind === 2 ? a : { type: 'x', a }, b].slice(0, kind === 2 ? 5 : 4);
          decodesOrRefuses((clone ? cloning : raw).encode(frame));
        },
      ),
      { numRuns: 3000 },
    );
  });
});
