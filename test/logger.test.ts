import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Dynamo, InMemoryNetwork, ValidationError, type Logger } from '../src/index.js';

function recorder(): Logger & { lines: { level: string; fields: Record<string, unknown>; message: string }[] } {
  const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  const at = (level: string) => (fields: object, message: string) => void lines.push({ level, fields: fields as Record<string, unknown>, message });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

test('a pino-style logger hears start, stop, members going down and sibling warnings; nothing is logged without one', async () => {
  const logs = new Map(['a', 'b', 'c'].map((id) => [id, recorder()]));
  const net = new InMemoryNetwork();
  const ids = ['a', 'b', 'c'];
  const nodes = ids.map((id) => new Dynamo({ id, transport: net.transport(id), seeds: ids, gossipIntervalMs: 20, siblingsWarn: 2, logger: logs.get(id)! }));
  await Promise.all(nodes.map((n) => n.start()));
  try {
    const a = logs.get('a')!;
    assert.ok(a.lines.some((l) => l.level === 'info' && l.message === 'member started' && l.fields['member'] === 'a'));
    for (let i = 0; i < 3; i++) await nodes[0]!.put('hot', i);
    assert.ok(a.lines.some((l) => l.level === 'warn' && /siblings/.test(l.message) && l.fields['key'] === 'hot' && l.fields['siblings'] === 3));
    net.isolate('c');
    const deadline = Date.now() + 10_000;
    while (!a.lines.some((l) => l.level === 'warn' && l.message === 'member believed down' && l.fields['peer'] === 'c')) {
      if (Date.now() > deadline) assert.fail('no down warning for c');
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(a.lines.some((l) => l.level === 'debug'), 'debug lines reach a logger that has debug');
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
  assert.ok(logs.get('b')!.lines.some((l) => l.message === 'member stopped'));
  assert.throws(() => new Dynamo({ transport: net.transport('z'), logger: { info() {} } as unknown as Logger }), ValidationError);
});
