import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS, Dynamo, InMemoryNetwork, ValidationError } from '../src/index.js';
import { resolveConfig, resolveRequest } from '../src/config.js';

const net = new InMemoryNetwork();
const transport = net.transport('cfg');

test('defaults are applied with ??, so explicit values are kept', () => {
  const config = resolveConfig({ transport });
  assert.equal(config.id, 'cfg');
  assert.equal(config.n, DEFAULTS.n);
  assert.equal(config.r, 2);
  assert.equal(config.w, 2);
  assert.equal(config.vnodes, 128);
  assert.equal(config.partitions, 4096);
  assert.equal(config.maxKeyBytes, 1024);
  assert.equal(config.maxValueBytes, 1024 * 1024);
  assert.equal(resolveConfig({ transport, n: 1 }).r, 1, 'r defaults to at most n');
});

test('nonsense options are refused with a ValidationError that names the option', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ r: 4 }, /^r must be/],
    [{ w: 0 }, /^w must be/],
    [{ n: 0 }, /^n must be/],
    [{ n: 2.5 }, /^n must be/],
    [{ vnodes: 0 }, /^vnodes/],
    [{ partitions: 1000 }, /power of two/],
    [{ timeoutMs: -1 }, /^timeoutMs/],
    [{ id: '' }, /^id/],
    [{ seeds: 'a' }, /^seeds/],
    [{ readRepair: 'yes' }, /readRepair/],
    [{ maxValueBytes: 0 }, /maxValueBytes/],
    [{ transport: undefined }, /transport/],
  ];
  for (const [extra, message] of cases) {
    assert.throws(() => new Dynamo({ transport, ...extra } as never), (e: unknown) => {
      assert.ok(e instanceof ValidationError, JSON.stringify(extra));
      assert.equal(e.code, 'INVALID_ARGUMENT');
      assert.match(e.message, message);
      return true;
    });
  }
});

test('the caller\'s options object is not mutated', () => {
  const options = Object.freeze({ transport, seeds: Object.freeze(['a']) });
  new Dynamo(options);
  assert.deepEqual(options.seeds, ['a']);
});

test('per-request quorums are validated against n', () => {
  const config = resolveConfig({ transport, n: 3 });
  assert.deepEqual(resolveRequest(config, { r: 3, w: 1 }), { r: 3, w: 1, pr: 0, pw: 0, timeoutMs: 5000 });
  assert.throws(() => resolveRequest(config, { r: 4 }), ValidationError);
  assert.throws(() => resolveRequest(config, { w: 0 }), ValidationError);
  assert.throws(() => resolveRequest(config, { pr: 3, r: 2 }), ValidationError);
  assert.throws(() => resolveRequest(config, { timeoutMs: 0 }), ValidationError);
});

test('clockPruning: Riak\'s thresholds by default, partial objects filled from them, false turns it off', () => {
  assert.deepEqual(resolveConfig({ transport }).clockPruning, { small: 50, big: 50, youngMs: 20_000, oldMs: 86_400_000 });
  assert.deepEqual(DEFAULTS.clockPruning, { small: 50, big: 50, youngMs: 20_000, oldMs: 86_400_000 });
  assert.deepEqual(resolveConfig({ transport, clockPruning: { big: 80, oldMs: 0 } }).clockPruning, { small: 50, big: 80, youngMs: 20_000, oldMs: 0 });
  assert.deepEqual(resolveConfig({ transport, clockPruning: { small: 0, big: 0, youngMs: 0, oldMs: 0 } }).clockPruning, { small: 0, big: 0, youngMs: 0, oldMs: 0 });
  assert.equal(resolveConfig({ transport, clockPruning: false }).clockPruning, false);
  const options = { transport, clockPruning: Object.freeze({ small: 10 }) };
  resolveConfig(options);
  assert.deepEqual(options.clockPruning, { small: 10 }, 'not mutated');
});

test('clockPruning: nonsense is refused with a ValidationError naming the field', () => {
  const cases: [unknown, RegExp][] = [
    [true, /^clockPruning must be false or an object/],
    [null, /^clockPruning must be false or an object/],
    [50, /^clockPruning must be false or an object/],
    [[50, 50], /^clockPruning must be false or an object/],
    [{ small: -1 }, /^clockPruning\.small must be an integer/],
    [{ small: 1.5 }, /^clockPruning\.small must be an integer/],
    [{ big: '50' }, /^clockPruning\.big must be an integer/],
    [{ youngMs: Number.NaN }, /^clockPruning\.youngMs must be an integer/],
    [{ oldMs: Number.POSITIVE_INFINITY }, /^clockPruning\.oldMs must be an integer/],
    [{ oldMs: -1 }, /^clockPruning\.oldMs must be an integer/],
  ];
  for (const [clockPruning, message] of cases) {
    assert.throws(() => new Dynamo({ transport, clockPruning } as never), (e: unknown) => {
      assert.ok(e instanceof ValidationError, JSON.stringify(clockPruning));
      assert.match(e.message, message);
      return true;
    });
  }
});
