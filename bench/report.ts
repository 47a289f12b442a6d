// Writes a benchmark's results where `npm run bench` promises them: a Markdown table
// (bench/results/<name>.md) and an SVG chart of the latency percentiles
// (bench/results/<name>-latency.svg), both readable without running anything.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatRow, TABLE_HEADER, type LoadResult } from './harness.js';
import { repoRoot } from './build.js';

export interface Report {
  /** File name stem under bench/results/. */
  readonly name: string;
  readonly title: string;
  /** Lines said before the table: machine, Node version, duration per workload. */
  readonly preamble: readonly string[];
  readonly rows: readonly { readonly name: string; readonly result: LoadResult }[];
  /** Lines said after the table: targets met or missed, and why. */
  readonly verdicts: readonly string[];
}

export const RESULTS_DIR = join(repoRoot, 'bench', 'results');

/** Writes the report's two files; resolves with their paths. */
export async function writeReport(report: Report): Promise<string[]> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const md = join(RESULTS_DIR, `${report.name}.md`);
  const svg = join(RESULTS_DIR, `${report.name}-latency.svg`);
  const table = [TABLE_HEADER, ...report.rows.map((r) => formatRow(r.name, r.result))].join('\n');
  const text = [
    `# ${report.title}`,
    '',
    ...report.preamble,
    '',
    table,
    '',
    `![latency percentiles](./${report.name}-latency.svg)`,
    '',
    ...report.verdicts,
    '',
  ].join('\n');
  await writeFile(md, text);
  await writeFile(svg, latencyChart(report.title, report.rows));
  return [md, svg];
}

const SERIES = [
  { key: 'p50', label: 'p50', color: '#4e79a7' },
  { key: 'p99', label: 'p99', color: '#f28e2b' },
  { key: 'p999', label: 'p99.9', color: '#e15759' },
] as const;

/**
 * Horizontal bars, one group per workload, on a log scale from 10 µs to the largest value
 * (latencies of one workload span three orders of magnitude, so a linear axis hides p50).
 */
export function latencyChart(title: string, rows: Report['rows']): string {
  const labelWidth = 260;
  const plotWidth = 520;
  const bar = 9;
  const group = SERIES.length * bar + 10;
  const top = 48;
  const height = top + rows.length * group + 40;
  const width = labelWidth + plotWidth + 30;
  const min = 0.01;
  const max = Math.max(1, ...rows.flatMap((r) => SERIES.map((s) => r.result[s.key])));
  const decades = Math.ceil(Math.log10(max / min));
  const x = (ms: number) => labelWidth + (plotWidth * Math.log10(Math.max(ms, min) / min)) / decades;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="18" font-size="14" font-weight="bold">${escapeXml(title)}: latency (ms, log scale)</text>`,
  ];
  SERIES.forEach((s, i) => {
    out.push(`<rect x="${labelWidth + i * 80}" y="28" width="10" height="10" fill="${s.color}"/>`);
    out.push(`<text x="${labelWidth + i * 80 + 14}" y="37">${s.label}</text>`);
  });
  for (let d = 0; d <= decades; d++) {
    const ms = min * 10 ** d;
    const gx = x(ms).toFixed(1);
    out.push(`<line x1="${gx}" y1="${top - 4}" x2="${gx}" y2="${height - 30}" stroke="#ddd"/>`);
    out.push(`<text x="${gx}" y="${height - 16}" text-anchor="middle">${ms >= 1 ? ms : ms.toFixed(2)}</text>`);
  }
  rows.forEach((row, i) => {
    const y0 = top + i * group;
    out.push(`<text x="${labelWidth - 8}" y="${y0 + group / 2}" text-anchor="end">${escapeXml(row.name)}</text>`);
    SERIES.forEach((s, j) => {
      const value = row.result[s.key];
      const w = Math.max(1, x(value) - labelWidth);
      out.push(`<rect x="${labelWidth}" y="${y0 + j * bar}" width="${w.toFixed(1)}" height="${bar - 1}" fill="${s.color}"><title>${s.label} ${value.toFixed(3)} ms</title></rect>`);
    });
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
