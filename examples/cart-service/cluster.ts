/**
 * A local cart-service cluster: starts `--members` (default 3) processes on loopback, with
 * free ports, LevelDB folders under one temporary folder and a random cluster secret;
 * prints the curl commands to try; then takes commands on stdin (`kill b`, `restart b`,
 * `status`, `quit`). Ctrl-C (or SIGTERM) stops every member and deletes the folder
 * (`--keep` keeps it).
 *
 *   node --import tsx examples/cart-service/cluster.ts [--members 3] [--keep]
 * @module
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { freePorts } from './free-port.js';
import { shellCommand, startMember, type MemberProcess, type MemberSpec } from './member-process.js';

const HOST = '127.0.0.1';
/** How long members get to stop cleanly before they are killed. */
const STOP_GRACE_MS = 10_000;

const { values: flags } = parseArgs({ options: { members: { type: 'string', default: '3' }, keep: { type: 'boolean', default: false } } });
const size = Number(flags.members);
if (!Number.isInteger(size) || size < 1 || size > 26) {
  console.error('--members must be an integer from 1 to 26');
  process.exit(2);
}

const root = await mkdtemp(join(tmpdir(), 'cart-cluster-'));
const secret = randomBytes(24).toString('base64url');
const ports = await freePorts(2 * size, HOST);
const ids = Array.from({ length: size }, (_, i) => String.fromCharCode(97 + i));
const seeds = ids.map((_, i) => `${HOST}:${ports[i]!}`);
const specs: MemberSpec[] = ids.map((id, i) => ({
  id,
  host: HOST,
  peerPort: ports[i]!,
  httpPort: ports[size + i]!,
  seeds,
  dataDir: join(root, id),
  secret,
}));
const running = new Map<string, MemberProcess>();
let stopping = false;

/** Starts a member, its log appended to `<root>/<id>.log`, and reports its death. */
async function start(spec: MemberSpec): Promise<MemberProcess> {
  const member = await startMember(spec);
  member.child.stderr!.pipe(createWriteStream(join(root, `${spec.id}.log`), { flags: 'a' }));
  running.set(spec.id, member);
  void member.exited.then((how) => {
    if (running.get(spec.id) === member) running.delete(spec.id);
    if (!stopping) say(`\nmember ${spec.id} (pid ${member.pid}) exited (${how}). Type "restart ${spec.id}" to start it again on its data.`);
  });
  return member;
}

function say(text: string): void {
  console.log(text);
}

function status(): void {
  for (const spec of specs) {
    const member = running.get(spec.id);
    const state = member === undefined ? 'stopped' : `pid ${member.pid}`;
    say(`  ${spec.id}  ${state.padEnd(10)}  peer ${HOST}:${spec.peerPort}  http http://${HOST}:${spec.httpPort}  log ${join(root, `${spec.id}.log`)}`);
  }
}

async function stopAll(exitCode = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  say('\nstopping the cluster…');
  const members = [...running.values()];
  for (const member of members) member.child.kill('SIGTERM');
  const killer = setTimeout(() => members.forEach((m) => m.child.kill('SIGKILL')), STOP_GRACE_MS);
  await Promise.all(members.map((m) => m.exited));
  clearTimeout(killer);
  if (flags.keep) say(`data kept in ${root}`);
  else await rm(root, { recursive: true, force: true });
  process.exit(exitCode);
}

// Safety net: whatever happens to this process, no member outlives it.
process.on('exit', () => {
  for (const member of running.values()) member.child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stopAll());

try {
  say(`starting ${size} members (N=3, R=2, W=2) with a random cluster secret; data and logs in ${root}`);
  // The first one alone, so that the others find it up and join through it.
  await start(specs[0]!);
  await Promise.all(specs.slice(1).map(start));
} catch (error) {
  console.error(String(error instanceof Error ? error.message : error));
  await stopAll(1);
}

const [a, b] = [specs[0]!, specs[1] ?? specs[0]!];
const url = (spec: MemberSpec) => `http://${HOST}:${spec.httpPort}`;
say('\nmembers:');
status();
say(`
try (in another terminal):
  curl -s -XPOST ${url(a)}/carts/alice/items -H 'content-type: application/json' -d '{"sku":"book","qty":1}'
  curl -s ${url(b)}/carts/alice
  curl -s -XDELETE ${url(a)}/carts/alice/items/book
  curl -s ${url(b)}/local/carts/alice     # ${b.id}'s own replica, no quorum
  curl -s ${url(a)}/members
  curl -s ${url(a)}/health
  curl -s ${url(a)}/metrics

to start a member by hand instead (after "kill <id>" here), from the repository root:
  ${shellCommand(a)}

commands here: kill <id> (SIGKILL), restart <id>, status, quit (or Ctrl-C)`);

const input = createInterface({ input: process.stdin });
input.on('SIGINT', () => void stopAll());
// Ctrl-D at a terminal quits too; a stdin that is not a terminal may just be empty.
if (process.stdin.isTTY) input.on('close', () => void stopAll());
input.on('line', (line) => {
  const [command, id] = line.trim().split(/\s+/);
  const spec = specs.find((s) => s.id === id);
  if (command === 'status') status();
  else if (command === 'quit') void stopAll();
  else if (command === 'kill' && spec !== undefined) {
    const member = running.get(spec.id);
    if (member === undefined) say(`${spec.id} is not running`);
    else member.child.kill('SIGKILL');
  } else if (command === 'restart' && spec !== undefined) {
    if (running.has(spec.id)) say(`${spec.id} is running`);
    else start(spec).then((m) => say(`${spec.id} restarted (pid ${m.pid})`), (error: Error) => say(error.message));
  } else if (command !== '' && command !== undefined) say('commands: kill <id>, restart <id>, status, quit');
});
