import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { primaries, selectTargets, type Target } from '../../src/coordinator/targets.js';

const WALK = ['a', 'b', 'c', 'd', 'e', 'f'];
const downSet =
  (...down: string[]) =>
  (id: string): boolean =>
    !down.includes(id);

test('all up: the N owners in ring order, no hints', () => {
  const targets = selectTargets(WALK, 3, () => true);
  assert.deepEqual(targets, [{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
  assert.equal(primaries(targets), 3);
  for (const t of targets) assert.equal('hintFor' in t, false, 'a true owner carries no hintFor at all');
});

test('owner k down: replaced in place by the first up member past the owners, hinted for it', () => {
  for (const [k, owner] of ['a', 'b', 'c'].entries()) {
    const targets = selectTargets(WALK, 3, downSet(owner));
    const want: Target[] = [{ id: 'a' }, { id: 'b' }, { id: 'c' }];
    want[k] = { id: 'd', hintFor: owner };
    assert.deepEqual(targets, want, `owner ${owner} down`);
    assert.equal(primaries(targets), 2);
  }
});

test('stand-ins are taken in ring order, skipping members past the owners that are down too', () => {
  assert.deepEqual(selectTargets(WALK, 3, downSet('a', 'c', 'd')), [
    { id: 'e', hintFor: 'a' },
    { id: 'b' },
    { id: 'f', hintFor: 'c' },
  ]);
});

test('more down than available: fewer targets, never a down member', () => {
  assert.deepEqual(selectTargets(WALK, 3, downSet('a', 'b', 'd', 'e', 'f')), [{ id: 'c' }]);
  assert.deepEqual(selectTargets(WALK, 3, downSet('b', 'c', 'e', 'f')), [{ id: 'a' }, { id: 'd', hintFor: 'b' }]);
  assert.deepEqual(selectTargets(WALK, 3, () => false), []);
});

test('fewer members than N: every member, each once', () => {
  assert.deepEqual(selectTargets(['a', 'b'], 3, () => true), [{ id: 'a' }, { id: 'b' }]);
  assert.deepEqual(selectTargets(['a', 'b'], 3, downSet('a')), [{ id: 'b' }]);
  assert.deepEqual(selectTargets([], 3, () => true), []);
});

test('liveness is asked once per member, and of no member past the first N reachable', () => {
  const asked: string[] = [];
  selectTargets(WALK, 3, (id) => {
    asked.push(id);
    return id !== 'b';
  });
  assert.deepEqual([...asked].sort(), ['a', 'b', 'c', 'd']);
});

const scenario = fc
  .record({
    size: fc.integer({ min: 0, max: 12 }),
    n: fc.integer({ min: 1, max: 6 }),
    downMask: fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
  })
  .map(({ size, n, downMask }) => {
    const walk = Array.from({ length: size }, (_, i) => `m${i}`);
    const down = new Set(walk.filter((_, i) => downMask[i]));
    return { walk, n, down };
  });

test('property: targets are the first N reachable members, owners in place, stand-ins hinted for down owners', () => {
  fc.assert(
    fc.property(scenario, ({ walk, n, down }) => {
      const isUp = (id: string): boolean => !down.has(id);
      const targets = selectTargets(walk, n, isUp);
      const ids = targets.map((t) => t.id);
      const owners = walk.slice(0, n);
      const downOwners = owners.filter((o) => down.has(o));

      assert.equal(new Set(ids).size, ids.length, 'distinct');
      assert.ok(targets.length <= n, 'at most N');
      for (const t of targets) assert.ok(isUp(t.id), `${t.id} is up`);
      for (const owner of owners) {
        if (isUp(owner)) assert.ok(targets.some((t) => t.id === owner && t.hintFor === undefined), `up owner ${owner} is a target`);
      }
      const standIns = targets.filter((t) => t.hintFor !== undefined);
      for (const t of standIns) {
        assert.ok(downOwners.includes(t.hintFor!), `${t.id} keeps a hint for a down owner, not ${t.hintFor}`);
        assert.ok(!owners.includes(t.id), `stand-in ${t.id} is not an owner`);
      }
      assert.equal(new Set(standIns.map((t) => t.hintFor)).size, standIns.length, 'one stand-in per down owner');
      assert.equal(primaries(targets), targets.length - standIns.length);

      // Sloppy quorum: the same members as the first N reachable walking the ring…
      const reachable = walk.filter(isUp).slice(0, n);
      assert.deepEqual([...ids].sort(), [...reachable].sort());
      // …each in the slot of the owner it serves, stand-ins given out in ring order.
      const slot = (t: Target): number => owners.indexOf(t.hintFor ?? t.id);
      const slots = targets.map(slot);
      assert.deepEqual(slots, [...slots].sort((x, y) => x - y), 'in owner order');
      const standInPositions = standIns.map((t) => walk.indexOf(t.id));
      assert.deepEqual(standInPositions, [...standInPositions].sort((x, y) => x - y), 'stand-ins in ring order');
      // Every down owner gets a stand-in while there are reachable members to spare.
      const spare = walk.slice(n).filter(isUp).length;
      assert.equal(standIns.length, Math.min(downOwners.length, spare));
    }),
  );
});
