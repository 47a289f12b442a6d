/**
 * The compliance suite of the {@link Storage} interface. Every backend in this repository
 * runs it, and so can a user's own: like abstract-level's suite, it takes the test runner
 * as an argument (`node:test`'s `test`, vitest's `test`, mocha's `it`) and a factory of
 * storages, and registers one test per part of the contract.
 *
 * Assertions use `node:assert`, so a failure throws in any runner. The model-based test
 * loads `fast-check` when it runs, so importing the suite needs nothing beyond libdynamo.
 * @module
 */
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { DynamoError, ValidationError } from '../errors.js';
import type { IterateOptions, Storage, StorageOp } from '../storage/storage.js';
import { assertBytes, b, compareBytes, del, entries, hex, inBounds, put, text } from './storage-helpers.js';
import { runStorageModel } from './storage-model.js';

import type { TestFn } from './test-fn.js';

/** What {@link storageComplianceSuite} needs to know about the backend under test. */
export interface StorageSuiteOptions {
  /** A new, empty, unopened storage. */
  create(): Storage | Promise<Storage>;
  /** For persistent backends: a new instance over the same data as `storage` (which the suite has closed). */
  reopen?(storage: Storage): Storage | Promise<Storage>;
  /**
   * Random action sequences the model-based test tries.
   * @default 100
   */
  modelRuns?: number;
}

/**
 * Registers the Storage compliance tests with `test`; names start with `storage: `.
 *
 * @example
 * ```ts
 * import { test } from 'node:test';
 * import { storageComplianceSuite } from 'libdynamo/compliance';
 * storageComplianceSuite(test, { create: () => new MyStorage() });
 * ```
 */
export function storageComplianceSuite(test: TestFn, options: StorageSuiteOptions): void {
  const it = (name: string, fn: () => Promise<void>): unknown => test(`storage: ${name}`, fn);
  const withStorage = async (fn: (storage: Storage) => Promise<void>): Promise<void> => {
    const storage = await options.create();
    await storage.open();
    try {
      await fn(storage);
    } finally {
      await storage.close();
    }
  };

  it('supports is a manifest of booleans', () =>
    withStorage(async (s) => {
      assert.equal(typeof s.supports.persistent, 'boolean');
    }));

  it('close() is idempotent, even before open() and when called twice at once', async () => {
    const s = await options.create();
    await s.close();
    await s.open();
    await Promise.all([s.close(), s.close()]);
    await s.close();
  });

  it('calls before open() and after close() reject with STORAGE_CLOSED', async () => {
    const s = await options.create();
    await expectAllClosed(s);
    await s.open();
    await s.batch([put('s', b(1), b(1))]);
    await s.close();
    await expectAllClosed(s);
  });

  it('an iteration resumed after close() rejects with STORAGE_CLOSED', async () => {
    const s = await options.create();
    await s.open();
    await s.batch([put('s', b(1), b(1)), put('s', b(2), b(2)), put('s', b(3), b(3))]);
    const open = s.iterate('s')[Symbol.asyncIterator]();
    assert.equal((await open.next()).done, false);
    // Iterations abandoned part-way must not keep close() from finishing.
    for (let i = 0; i < 10; i++) {
      for await (const entry of s.iterate('s')) {
        assert.ok(entry);
        break;
      }
    }
    await s.close();
    await assert.rejects(open.next(), isClosed);
  });

  it('get of a missing key resolves undefined; getMany and iterate of an empty space are empty', () =>
    withStorage(async (s) => {
      assert.equal(await s.get('s', b(1)), undefined);
      assert.deepEqual(await s.getMany('s', [b(1), b()]), [undefined, undefined]);
      assert.deepEqual(await s.getMany('s', []), []);
      assert.deepEqual(await entries(s.iterate('s')), []);
    }));

  it('batch puts, overwrites and deletes; each is visible once its batch resolves', () =>
    withStorage(async (s) => {
      await s.batch([put('s', b(1), b(10))]);
      assertBytes(await s.get('s', b(1)), b(10));
      await s.batch([put('s', b(1), b(11))]);
      assertBytes(await s.get('s', b(1)), b(11));
      await s.batch([del('s', b(1))]);
      assert.equal(await s.get('s', b(1)), undefined);
      await s.batch([del('s', b(2))]);
      await s.batch([]);
      for (let i = 0; i < 100; i++) {
        await s.batch([put('s', b(i), b(i, i))]);
        assertBytes(await s.get('s', b(i)), b(i, i));
      }
    }));

  it('an empty value is stored, and is not a missing key', () =>
    withStorage(async (s) => {
      await s.batch([put('s', b(1), b())]);
      assertBytes(await s.get('s', b(1)), b());
      assert.deepEqual(await entries(s.iterate('s')), [['01', '']]);
    }));

  it('the ops of one batch apply in order', () =>
    withStorage(async (s) => {
      await s.batch([
        put('s', b(1), b(1)), put('s', b(1), b(2)),
        put('s', b(2), b(1)), del('s', b(2)),
        del('s', b(3)), put('s', b(3), b(3)),
        put('t', b(1), b(9)),
      ]);
      assert.deepEqual(await entries(s.iterate('s')), [['01', '02'], ['03', '03']]);
      assert.deepEqual(await entries(s.iterate('t')), [['01', '09']]);
    }));

  it('a concurrent getMany sees all of a batch or none of it', () =>
    withStorage(async (s) => {
      const keys = Array.from({ length: 100 }, (_, i) => b(i));
      await s.batch(keys.map((key) => put('s', key, b(0))));
      for (let round = 1; round <= 20; round++) {
        const reads = [s.getMany('s', keys)];
        const write = s.batch(keys.map((key) => put('s', key, b(round))));
        reads.push(s.getMany('s', keys));
        await write;
        reads.push(s.getMany('s', keys));
        const seen = await Promise.all(reads);
        for (const values of seen) assert.equal(new Set(values.map(hex)).size, 1, 'a read saw part of a batch');
        assert.deepEqual(seen[2]?.map(hex), keys.map(() => hex(b(round))));
      }
    }));

  it('a batch with an invalid op rejects with ValidationError and applies nothing', () =>
    withStorage(async (s) => {
      const invalid: unknown[] = [
        { type: 'put', space: 's', key: 'text', value: b(1) },
        { type: 'put', space: 's', key: [1, 2], value: b(1) },
        { type: 'put', space: 's', key: new ArrayBuffer(1), value: b(1) },
        { type: 'del', space: 's', key: null },
        { type: 'put', space: 's', key: b(1), value: 'text' },
        { type: 'put', space: 's', key: b(1) },
        { type: 'put', space: '', key: b(1), value: b(1) },
        { type: 'del', space: '', key: b(1) },
        { type: 'put', space: 42, key: b(1), value: b(1) },
        { type: 'upsert', space: 's', key: b(1), value: b(1) },
        null,
      ];
      await s.batch([put('s', b(5), b(5))]);
      for (const op of invalid) {
        const ops = [put('s', b(1), b(1)), del('s', b(5)), op as StorageOp, put('t', b(1), b(1))];
        await assert.rejects(s.batch(ops), isValidation, `op ${String(JSON.stringify(op))}`);
      }
      await assert.rejects(s.batch('ops' as unknown as StorageOp[]), isValidation);
      assert.deepEqual(await entries(s.iterate('s')), [['05', '05']]);
      assert.deepEqual(await entries(s.iterate('t')), []);
    }));

  it('get, getMany and iterate reject invalid arguments with ValidationError', () =>
    withStorage(async (s) => {
      const bad = <T>(x: unknown): T => x as T;
      await assert.rejects(s.get('', b(1)), isValidation);
      await assert.rejects(s.get('s', bad('text')), isValidation);
      await assert.rejects(s.getMany('s', [b(1), bad('text')]), isValidation);
      await assert.rejects(s.getMany('s', bad('text')), isValidation);
      await assert.rejects(s.getMany('', [b(1)]), isValidation);
      const badIterations: [string, unknown][] = [
        ['', undefined], ['s', { gte: 'a' }], ['s', { lt: 5 }], ['s', { limit: -1 }], ['s', { limit: Number.NaN }],
      ];
      for (const [space, opts] of badIterations) {
        await assert.rejects(() => entries(s.iterate(space, bad(opts))), isValidation, JSON.stringify([space, opts]));
      }
    }));

  it('spaces are disjoint, even when one name prefixes another and keys hold 0x00 or 0xff', () =>
    withStorage(async (s) => {
      // 0x62 is 'b': a store that just concatenates space and key would mix 'a'+"b" and 'ab'+"".
      const spaces = ['a', 'ab', 'abc', 'b', 'a b'];
      const keys = [b(), b(0x00), b(0x00, 0x00), b(0x62), b(0x62, 0x00), b(0x62, 0x63), b(0xff), b(0xff, 0xff)];
      await s.batch(spaces.flatMap((space) => keys.map((key) => put(space, key, text(`${space}|${hex(key)}`)))));
      for (const space of spaces) {
        const expected = sortKeys(keys).map((key) => [hex(key), hex(text(`${space}|${hex(key)}`))]);
        assert.deepEqual(await entries(s.iterate(space)), expected, `space ${space}`);
        assert.deepEqual((await s.getMany(space, keys)).map(hex), keys.map((key) => hex(text(`${space}|${hex(key)}`))));
      }
      await s.batch(keys.map((key) => del('a', key)));
      assert.deepEqual(await entries(s.iterate('a')), []);
      assert.equal(await s.get('a', b(0x62)), undefined);
      assert.equal((await entries(s.iterate('ab'))).length, keys.length);
      assertBytes(await s.get('ab', b()), text('ab|'));
    }));

  it('a key is the bytes of its view: an offset into a larger buffer, or a Buffer, is the same key', () =>
    withStorage(async (s) => {
      const backing = b(9, 1, 2, 9, 7, 7, 9);
      await s.batch([put('s', backing.subarray(1, 3), backing.subarray(4, 6))]);
      assertBytes(await s.get('s', b(1, 2)), b(7, 7));
      assertBytes(await s.get('s', Buffer.from([1, 2])), b(7, 7));
      assert.deepEqual(await entries(s.iterate('s')), [['0102', '0707']]);
      await s.batch([put('s', Buffer.from([1, 2]), b(8))]);
      assert.deepEqual(await entries(s.iterate('s')), [['0102', '08']]);
    }));

  it('getMany has one slot per key, in order, repeated keys included', () =>
    withStorage(async (s) => {
      await s.batch([put('s', b(1), b(10)), put('s', b(3), b(30)), put('t', b(2), b(20))]);
      const values = await s.getMany('s', [b(3), b(2), b(1), b(3), b()]);
      assert.deepEqual(values.map(hex), ['1e', 'undefined', '0a', '1e', 'undefined']);
    }));

  it('iterate yields keys in bytewise unsigned order', () =>
    withStorage(async (s) => {
      const keys = [b(0xff, 0xff), b(0x01), b(0x80), b(), b(0x01, 0x00), b(0x7f, 0xff), b(0x00), b(0xff),
        b(0x00, 0xff), b(0x80, 0x00), b(0x01, 0x00, 0x00), b(0x7f), b(0xfe), b(0x00, 0x00), b(0xff, 0x00)];
      for (let i = 0; i < keys.length; i += 4) {
        await s.batch(keys.slice(i, i + 4).map((key) => put('s', key, key)));
      }
      const expected = sortKeys(keys).map((key) => [hex(key), hex(key)]);
      assert.deepEqual(await entries(s.iterate('s')), expected);
      assert.deepEqual(expected.slice(0, 6).map(([k]) => k), ['', '00', '0000', '00ff', '01', '0100']);
    }));

  it('iterate honours gte, lt and limit', () =>
    withStorage(async (s) => {
      const keys = [b(), b(0x00), b(0x01), b(0x01, 0x00), b(0x02), b(0x7f), b(0x80), b(0xff), b(0xff, 0xff)];
      await s.batch(keys.map((key) => put('s', key, b(0xaa))));
      const cases: IterateOptions[] = [
        {}, { gte: b(0x01) }, { gte: b(0x01, 0x00, 0x00) }, { lt: b(0x80) }, { lt: b(0x01, 0x00) },
        { gte: b() }, { lt: b() }, { lt: b(0x00) }, { gte: b(0x01), lt: b(0x01) }, { gte: b(0xff), lt: b(0x01) },
        { gte: b(0x00, 0x05), lt: b(0xff, 0x00) }, { limit: 3 }, { limit: 0 }, { limit: 100 }, { limit: Infinity },
        { gte: b(0x01), lt: b(0xff), limit: 2 }, { gte: b(0xff, 0xff, 0x00) }, { lt: b(0xff, 0xff, 0x00) },
      ];
      for (const opts of cases) {
        const expected = sortKeys(keys).filter((key) => inBounds(key, opts)).slice(0, opts.limit ?? Infinity);
        assert.deepEqual((await entries(s.iterate('s', opts))).map(([k]) => k), expected.map(hex), describeBounds(opts));
      }
    }));

  it('the empty key is a key like any other', () =>
    withStorage(async (s) => {
      await s.batch([put('s', b(), b(1)), put('s', b(0), b(2))]);
      assertBytes(await s.get('s', b()), b(1));
      assert.deepEqual(await entries(s.iterate('s')), [['', '01'], ['00', '02']]);
      await s.batch([del('s', b())]);
      assert.equal(await s.get('s', b()), undefined);
      assert.deepEqual(await entries(s.iterate('s')), [['00', '02']]);
    }));

  it('the backend keeps no reference to arrays it was given', () =>
    withStorage(async (s) => {
      await s.batch([put('s', b(5), b(50))]);
      const key = b(1);
      const value = b(10);
      const ops: StorageOp[] = [put('s', key, value)];
      const written = s.batch(ops);
      key[0] = 5;
      value[0] = 99;
      ops[0] = put('s', b(7), b(7));
      ops.push(put('s', b(8), b(8)));
      await written;
      assert.deepEqual(await entries(s.iterate('s')), [['01', '0a'], ['05', '32']]);

      const getKey = b(1);
      const got = s.get('s', getKey);
      getKey[0] = 5;
      assertBytes(await got, b(10));
      const manyKeys = [b(1)];
      const gotMany = s.getMany('s', manyKeys);
      manyKeys[0] = b(5);
      manyKeys.push(b(5));
      assert.deepEqual((await gotMany).map(hex), ['0a']);

      const lt = b(0x05);
      const iteration = s.iterate('s', { lt })[Symbol.asyncIterator]();
      assert.equal(hex((await iteration.next()).value?.[0]), '01');
      lt[0] = 0xff;
      assert.equal((await iteration.next()).done, true);
    }));

  it('returned arrays belong to the caller: changing them changes nothing stored', () =>
    withStorage(async (s) => {
      await s.batch([put('s', b(1), b(10))]);
      const first = await s.get('s', b(1));
      const second = await s.get('s', b(1));
      assert.ok(first && second);
      first[0] = 99;
      assertBytes(second, b(10));
      assertBytes(await s.get('s', b(1)), b(10));
      const [many] = await s.getMany('s', [b(1)]);
      assert.ok(many);
      many[0] = 99;
      for await (const [k, v] of s.iterate('s')) {
        k[0] = 99;
        v[0] = 99;
      }
      assert.deepEqual(await entries(s.iterate('s')), [['01', '0a']]);
      // Nor may the backend change what it handed out when the key is written again.
      const held = await s.get('s', b(1));
      await s.batch([put('s', b(1), b(11))]);
      assertBytes(held, b(10));
    }));

  it('1000 batches and reads in flight at once all resolve correctly', () =>
    withStorage(async (s) => {
      const n = 1000;
      const keys = Array.from({ length: n }, (_, i) => b(i >> 8, i & 0xff));
      await s.batch(keys.map((key) => put('s', key, text('old'))));
      await Promise.all(keys.map(async (key, i) => {
        const early = s.get('s', key);
        await s.batch([put('s', key, text(`new${i}`)), put('t', key, b(1)), del('u', key)]);
        // A read made after the batch resolved must see it; one made before may see either.
        assertBytes(await s.get('s', key), text(`new${i}`));
        assert.ok(['old', `new${i}`].map((x) => hex(text(x))).includes(hex(await early)));
      }));
      const values = await Promise.all(keys.map((key) => s.get('s', key)));
      assert.deepEqual(values.map(hex), keys.map((_, i) => hex(text(`new${i}`))));
      assert.equal((await entries(s.iterate('t'))).length, n);
    }));

  it('large values and long iterations', () =>
    withStorage(async (s) => {
      const large = new Uint8Array(1 << 20).map((_, i) => (i * 31) & 0xff);
      await s.batch([put('big', b(1), large)]);
      assert.equal(hex(await s.get('big', b(1))), hex(large));
      const keys = Array.from({ length: 3000 }, (_, i) => b(i >> 8, i & 0xff));
      for (let i = 0; i < keys.length; i += 500) {
        await s.batch(keys.slice(i, i + 500).map((key) => put('many', key, key)));
      }
      const all = await entries(s.iterate('many'));
      assert.deepEqual(all.map(([k]) => k), keys.map(hex));
      assert.equal((await entries(s.iterate('many', { gte: b(1), limit: 1000 }))).length, 1000);
    }));

  it('model: random batches, gets and iterations agree with a Map', () =>
    withStorage((s) => runStorageModel(s, options.modelRuns ?? 100)));

  it('persistent backends: data survives close() and a new instance (checked when supports.persistent)', async () => {
    let s = await options.create();
    if (!s.supports.persistent) return;
    assert.ok(options.reopen, 'a persistent backend must give the suite a reopen()');
    await s.open();
    await s.batch([put('a', b(), b(1)), put('a', b(0xff), b(2)), put('ab', b(1), b(3)), put('a', b(9), b(9))]);
    await s.batch([del('a', b(9))]);
    // Written and closed at once: if the batch resolved, it must have reached the disk.
    const lastWrite = s.batch([put('late', b(1), b(4))]).then(() => true, () => false);
    await s.close();
    for (let generation = 0; generation < 2; generation++) {
      s = await options.reopen(s);
      await s.open();
      try {
        assert.deepEqual(await entries(s.iterate('a')), [['', '01'], ['ff', '02']]);
        assert.deepEqual(await entries(s.iterate('ab')), [['01', '03']]);
        if (await lastWrite) assertBytes(await s.get('late', b(1)), b(4));
        assert.equal(await s.get('gen', b(generation)), undefined);
        await s.batch([put('gen', b(generation - 1), b(generation))]);
        if (generation > 0) assertBytes(await s.get('gen', b(generation - 2)), b(generation - 1));
      } finally {
        await s.close();
      }
    }
  });
}

function sortKeys(keys: Uint8Array[]): Uint8Array[] {
  return [...keys].sort(compareBytes);
}

function describeBounds(options: IterateOptions): string {
  return `gte=${options.gte ? hex(options.gte) : '-'} lt=${options.lt ? hex(options.lt) : '-'} limit=${options.limit ?? '-'}`;
}

function isCode(code: string): (err: unknown) => boolean {
  return (err) => err instanceof DynamoError && err.code === code;
}

const isClosed = isCode('STORAGE_CLOSED');

function isValidation(err: unknown): boolean {
  return err instanceof ValidationError;
}

async function expectAllClosed(s: Storage): Promise<void> {
  await assert.rejects(s.get('s', b(1)), isClosed, 'get');
  await assert.rejects(s.getMany('s', [b(1)]), isClosed, 'getMany');
  await assert.rejects(s.batch([put('s', b(1), b(2))]), isClosed, 'batch');
  await assert.rejects(s.batch([]), isClosed, 'empty batch');
  await assert.rejects(() => entries(s.iterate('s')), isClosed, 'iterate');
}
