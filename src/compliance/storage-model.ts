/**
 * The model-based test of the Storage compliance suite: random sequences of batches (some
 * with an invalid op), gets, getManys and bounded iterations run against the backend and
 * against a plain `Map`, and every answer must agree. Keys come from a few bytes chosen to
 * hit the edges of bytewise order (0x00, 0x7f/0x80, 0xff) and to collide often; spaces
 * include one name that prefixes another.
 * @module
 */
import assert from 'node:assert/strict';
import { ValidationError } from '../errors.js';
import type { IterateOptions, Storage, StorageOp } from '../storage/storage.js';
import { compareBytes, entries, hex, inBounds } from './storage-helpers.js';

type FastCheck = typeof import('fast-check');

interface ModelOp {
  put: boolean;
  space: number;
  key: Uint8Array;
  value: Uint8Array;
}

type Action =
  | { kind: 'batch'; ops: ModelOp[]; invalidAt: number | null }
  | { kind: 'get'; space: number; key: Uint8Array }
  | { kind: 'getMany'; space: number; keys: Uint8Array[] }
  | { kind: 'iterate'; space: number; gte: Uint8Array | null; lt: Uint8Array | null; limit: number | null };

const KEY_POOL: readonly (readonly number[])[] = [
  [], [0x00], [0x00, 0x00], [0x00, 0xff], [0x01], [0x01, 0x00], [0x61], [0x62], [0x7f], [0x80], [0xff], [0xff, 0xff],
];

/** Space names of a run, after its unique tag; `a` is a prefix of `ab`. */
const SPACES = ['a', 'ab', 'b'] as const;

/** Entries of one space in the model, by hex of the key. */
type ModelSpace = Map<string, readonly [Uint8Array, Uint8Array]>;

/**
 * Checks `storage` (open) against the model for `numRuns` random action sequences. Runs
 * share the storage, each in spaces of its own, so a backend is opened once.
 */
export async function runStorageModel(storage: Storage, numRuns: number): Promise<void> {
  const fc = await loadFastCheck();
  // Mostly keys from a small pool, so that puts, deletes, reads and bounds meet the same
  // keys often; sometimes any short key over the edge bytes.
  const byte = fc.constantFrom(0x00, 0x01, 0x61, 0x62, 0x7f, 0x80, 0xfe, 0xff);
  const key = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...KEY_POOL) },
    { weight: 1, arbitrary: fc.array(byte, { maxLength: 3 }) },
  ).map((bytes) => Uint8Array.from(bytes));
  const space = fc.nat(SPACES.length - 1);
  const maybe = <T>(arb: import('fast-check').Arbitrary<T>) => fc.option(arb, { nil: null });
  const op = fc.record({ put: fc.boolean(), space, key, value: fc.uint8Array({ maxLength: 6 }) });
  const action: import('fast-check').Arbitrary<Action> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('batch'), ops: fc.array(op, { maxLength: 6 }), invalidAt: fc.oneof({ weight: 7, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat(6) }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('get'), space, key }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('getMany'), space, keys: fc.array(key, { maxLength: 4 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('iterate'), space, gte: maybe(key), lt: maybe(key), limit: maybe(fc.nat(5)) }) },
  );

  let run = 0;
  const property = fc.asyncProperty(fc.array(action, { maxLength: 60, size: 'medium' }), async (actions) => {
    const names = SPACES.map((name) => `m${run}.${name}`);
    run++;
    const model: ModelSpace[] = SPACES.map(() => new Map());
    for (const action of actions) await step(storage, names, model, action);
    // A divergence the random reads missed still shows in the final contents.
    for (let space = 0; space < SPACES.length; space++) {
      await step(storage, names, model, { kind: 'iterate', space, gte: null, lt: null, limit: null });
    }
  });
  await fc.assert(property, { numRuns });
}

async function step(storage: Storage, names: readonly string[], model: ModelSpace[], action: Action): Promise<void> {
  const name = (space: number): string => names[space] as string;
  const at = (space: number): ModelSpace => model[space] as ModelSpace;
  switch (action.kind) {
    case 'batch': {
      const ops: StorageOp[] = action.ops.map((op) =>
        op.put
          ? { type: 'put', space: name(op.space), key: op.key, value: op.value }
          : { type: 'del', space: name(op.space), key: op.key });
      if (action.invalidAt !== null) {
        const invalid = action.invalidAt % 2 === 0
          ? { type: 'put', space: '', key: new Uint8Array(0), value: new Uint8Array(0) }
          : { type: 'del', space: name(0), key: [1] };
        ops.splice(action.invalidAt % (ops.length + 1), 0, invalid as StorageOp);
        await assert.rejects(storage.batch(ops), (err) => err instanceof ValidationError);
        return;
      }
      await storage.batch(ops);
      for (const op of action.ops) {
        if (op.put) at(op.space).set(hex(op.key), [op.key, op.value]);
        else at(op.space).delete(hex(op.key));
      }
      return;
    }
    case 'get':
      assert.equal(hex(await storage.get(name(action.space), action.key)), hex(at(action.space).get(hex(action.key))?.[1]));
      return;
    case 'getMany': {
      const values = await storage.getMany(name(action.space), action.keys);
      assert.deepEqual(values.map(hex), action.keys.map((key) => hex(at(action.space).get(hex(key))?.[1])));
      return;
    }
    case 'iterate': {
      const options: IterateOptions = {};
      if (action.gte !== null) options.gte = action.gte;
      if (action.lt !== null) options.lt = action.lt;
      if (action.limit !== null) options.limit = action.limit;
      const expected = [...at(action.space).values()]
        .filter(([key]) => inBounds(key, options))
        .sort(([a], [b]) => compareBytes(a, b))
        .slice(0, options.limit ?? Infinity)
        .map(([key, value]): [string, string] => [hex(key), hex(value)]);
      assert.deepEqual(await entries(storage.iterate(name(action.space), options)), expected);
      return;
    }
  }
}

async function loadFastCheck(): Promise<FastCheck> {
  try {
    return await import('fast-check');
  } catch (err) {
    throw new Error('the Storage model test needs fast-check: npm install --save-dev fast-check', { cause: err });
  }
}
