// The benchmarks measure the library as users run it: compiled by tsc into dist/, not
// transpiled on the fly by tsx (whose keepNames helper costs a call for every closure
// created). BENCH_SRC=1 measures src/ through tsx instead.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Whether BENCH_SRC=1 asks to measure src/ rather than dist/. */
export const measureSource = process.env['BENCH_SRC'] === '1';

/** Builds dist/ with tsc (unless BENCH_SRC=1) and says on stdout which code is measured. */
export function buildDist(): void {
  if (measureSource) {
    console.log('measuring src/ through tsx (BENCH_SRC=1)');
    return;
  }
  const root = fileURLToPath(new URL('..', import.meta.url));
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const started = performance.now();
  try {
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  } catch {
    // tsc still emits when it finds type errors; a dist/ that is there is what users would get.
    console.log('tsc reported errors (above); measuring what it emitted');
  }
  const entry = join(root, 'dist', 'index.js');
  if (!existsSync(entry)) throw new Error(`the build left no ${entry}`);
  console.log(`measuring dist/, built by tsc in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
