// The fuzz loop shared by the bounded run in `npm test` (fuzz.test.ts) and the long one (`npm run fuzz -- --seed N
// --count N`): runs inputs two at a time in a sandbox whose TMPDIR points inside it, measures the peak memory of
// every ffprobe/ffmpeg from /proc, and checks that nothing was written outside the data dir. The command-line entry
// point saves every finding (an invariant failure or a decoder crash) into test/fuzz/corpus/.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { snapshotTree } from '../faults/support.js';
import { sampleProcessTree } from '../adversarial/process-tree.js';
import { loadSeeds, runCase } from './harness.js';
import type { CaseResult } from './harness.js';
import { makeInput } from './mutate.js';

export const CORPUS_DIR = fileURLToPath(new URL('./corpus/', import.meta.url));

/** A finding: the input and what it did. */
export interface Finding {
  name: string;
  bytes: Buffer;
  result: CaseResult;
  mutations: string[];
  seedName: string;
}

/** The summary of a run. */
export interface FuzzReport {
  inputs: number;
  thumbnailed: number;
  outcomes: Record<string, number>;
  findings: Finding[];
  peakDecoderKb: number;
  peakDecoderName: string;
  decoderProcesses: number;
  escaped: string[];
  slowestMs: number;
  ms: number;
}

/** Options of {@link fuzz}. */
export interface FuzzOptions {
  seed: number;
  count: number;
  /** Every n-th input that probes as video also goes through thumbnails. @default 1 */
  thumbnailEvery?: number;
  /** Stop thumbnailing after this many. @default Infinity */
  maxThumbnailed?: number;
  onProgress?: (done: number, report: FuzzReport) => void;
}

/** Runs `count` inputs of run `seed`. */
export async function fuzz(options: FuzzOptions): Promise<FuzzReport> {
  const seeds = loadSeeds();
  const sandbox = mkdtempSync(path.join(os.tmpdir(), 'mi-fuzz-'));
  const dataDir = path.join(sandbox, 'data');
  mkdirSync(path.join(sandbox, 'os-tmp'), { recursive: true });
  const previousTmp = process.env.TMPDIR;
  process.env.TMPDIR = path.join(sandbox, 'os-tmp');
  const skip = (p: string): boolean => p.startsWith('data');
  const before = snapshotTree(sandbox, skip);
  const cwdBefore = readdirSync(process.cwd());
  const sampler = sampleProcessTree(process.pid, 20);
  const started = Date.now();
  const report: FuzzReport = {
    inputs: 0, thumbnailed: 0, outcomes: {}, findings: [], peakDecoderKb: 0, peakDecoderName: '', decoderProcesses: 0,
    escaped: [], slowestMs: 0, ms: 0,
  };
  const every = options.thumbnailEvery ?? 1;
  const maxThumbnailed = options.maxThumbnailed ?? Infinity;
  let next = 0;
  let videoSeen = 0;
  const worker = async (): Promise<void> => {
    while (next < options.count) {
      const index = next++;
      const input = makeInput(options.seed, index, seeds);
      const wantThumbnails = report.thumbnailed < maxThumbnailed && videoSeen++ % every === 0;
      const result = await runCase(input.bytes, `${options.seed}-${index}`, dataDir, wantThumbnails);
      if (result.stage === 'done' && result.thumbnails > 0) report.thumbnailed++;
      report.inputs++;
      report.outcomes[result.outcome] = (report.outcomes[result.outcome] ?? 0) + 1;
      report.slowestMs = Math.max(report.slowestMs, result.ms);
      if (result.violation || result.decoderCrash) {
        report.findings.push({ name: `seed${options.seed}-${index}`, bytes: input.bytes, result, mutations: input.mutations, seedName: input.seedName });
      }
      options.onProgress?.(report.inputs, report);
    }
  };
  try {
    await Promise.all([worker(), worker()]);
  } finally {
    const tree = sampler.stop();
    report.peakDecoderKb = tree.peakProcessHwmKb;
    report.peakDecoderName = tree.peakProcessName;
    report.decoderProcesses = tree.processesSeen;
    const after = snapshotTree(sandbox, skip);
    report.escaped = [
      ...Object.keys(after).filter((p) => !(p in before)),
      ...readdirSync(process.cwd()).filter((name) => !cwdBefore.includes(name)),
    ];
    if (previousTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previousTmp;
    rmSync(sandbox, { recursive: true, force: true });
    report.ms = Date.now() - started;
  }
  return report;
}

/** Writes a finding into the corpus: `<name>.bin` and `<name>.json` (how it was made, what it did). */
export function saveFinding(finding: Finding, seed: number): void {
  mkdirSync(CORPUS_DIR, { recursive: true });
  writeFileSync(path.join(CORPUS_DIR, `${finding.name}.bin`), finding.bytes);
  writeFileSync(path.join(CORPUS_DIR, `${finding.name}.json`), `${JSON.stringify({
    found_by: `npm run fuzz -- --seed ${seed}`, seed_file: finding.seedName, mutations: finding.mutations,
    outcome: finding.result.outcome, stage: finding.result.stage, violation: finding.result.violation ?? null,
    decoder_crash: finding.result.decoderCrash ?? null, message: finding.result.message ?? null,
  }, null, 2)}\n`);
}

async function main(argv: string[]): Promise<void> {
  const arg = (name: string, fallback: number): number => {
    const at = argv.indexOf(`--${name}`);
    const value = at >= 0 ? Number(argv[at + 1]) : fallback;
    if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} must be a non-negative integer`);
    return value;
  };
  const seed = arg('seed', 1);
  const count = arg('count', 2000);
  const report = await fuzz({
    seed, count,
    onProgress: (done, r) => {
      if (done % 100 === 0) process.stderr.write(`fuzz: ${done}/${count} inputs, ${r.findings.length} finding(s)\n`);
    },
  });
  for (const finding of report.findings) saveFinding(finding, seed);
  const { findings, ...summary } = report;
  process.stdout.write(`${JSON.stringify({ seed, ...summary, findings: findings.map((f) => ({ name: f.name, ...f.result })) }, null, 2)}\n`);
  const bad = findings.some((f) => f.result.violation) || report.escaped.length > 0 || report.peakDecoderKb >= 1024 * 1024;
  process.exitCode = bad ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
