// How the benchmarks run: as users run the library, compiled by tsc, with no TypeScript
// loader in the process. `npm run bench` (and `bench:loopback`) compile bench/ and src/
// together into dist-bench/ (tsconfig.bench.json) and run the output with plain node. A
// loader is not free: tsx holds ~2.5 MB of the heap that every major GC marks (next to the
// library's ~3.8 MB), and its keepNames helper costs a call for every closure created.
// Run through tsx (`node --expose-gc --import tsx bench/cluster.ts`), the same benchmarks
// measure src/ as tsx transpiles it: handy while changing the code, not the published figures.
import { fileURLToPath } from 'node:url';

/** Whether this is the tsc output in dist-bench/ rather than bench/*.ts run through tsx. */
export const compiled = import.meta.url.endsWith('.js');

/** The repository's root directory, with a trailing separator. */
export const repoRoot = fileURLToPath(new URL(compiled ? '../../' : '../', import.meta.url));

/** Says on stdout which code is measured. */
export function describeBuild(): void {
  console.log(compiled ? 'measuring the tsc output (dist-bench/), with plain node' : 'measuring src/ through tsx (not the published figures: see bench/build.ts)');
}
