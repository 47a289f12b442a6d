/**
 * examples/cart-service/cluster.ts runs as its README says: it starts three members, prints
 * their addresses and curl commands that work, and Ctrl-C (SIGINT) stops every member and
 * deletes its temporary folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from '../../examples/cart-service/member-process.js';
import { waitFor } from '../fixtures/cart-process.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('cluster.ts starts three members, prints working curl commands, and stops them all on SIGINT', { timeout: 120_000 }, async (t) => {
  const launcher = spawn(process.execPath, ['--import', 'tsx', 'examples/cart-service/cluster.ts'], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const pids: number[] = [];
  let clean = false;
  const exited = new Promise<number | string>((resolve) => launcher.once('exit', (code, signal) => resolve(signal ?? code ?? 0)));
  // On failure, kill the launcher and any member it left behind; after a clean exit it has
  // already reaped every member, and their PIDs may belong to someone else by now.
  const killEverything = (): void => {
    if (clean) return;
    if (launcher.exitCode === null && launcher.signalCode === null) launcher.kill('SIGKILL');
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  };
  process.once('exit', killEverything);
  t.after(() => {
    killEverything();
    process.off('exit', killEverything);
  });

  const output: string[] = [];
  let stderr = '';
  launcher.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: launcher.stdout! }).on('line', (line) => {
      output.push(line);
      if (line.startsWith('commands here:')) resolve();
    });
    void exited.then((how) => reject(new Error(`cluster.ts exited (${how}):\n${output.join('\n')}\n${stderr}`)));
  });

  const text = output.join('\n');
  const root = /data and logs in (\S+)/.exec(text)?.[1];
  assert.ok(root !== undefined && existsSync(root), text);
  const rows = [...text.matchAll(/^ {2}([a-z]) {2}pid (\d+)\s+peer \S+ {2}http (\S+)/gm)];
  assert.equal(rows.length, 3, text);
  pids.push(...rows.map((row) => Number(row[2])));
  const [a, b] = rows.map((row) => row[3]!);

  // The printed curl commands, run with fetch: add through a, read through b.
  assert.match(text, new RegExp(`curl -s -XPOST ${a}/carts/alice/items .*'\\{"sku":"book","qty":1\\}'`));
  const added = await fetch(`${a}/carts/alice/items`, { method: 'POST', body: JSON.stringify({ sku: 'book', qty: 1 }) });
  assert.equal(added.status, 200, await added.clone().text());
  await waitFor('b to read the cart', async () => (await fetch(`${b}/carts/alice`)).json(),
    (cart) => JSON.stringify((cart as { items?: unknown }).items) === '{"book":1}');

  launcher.kill('SIGINT');
  assert.equal(await exited, 0, stderr);
  clean = true;
  for (const pid of pids) assert.ok(!alive(pid), `member pid ${pid} is gone`);
  assert.ok(!existsSync(root), 'the temporary folder is deleted');
});
