// Peak memory of a process tree, measured from /proc (Linux): a sampler walks the tree under a root pid every few
// milliseconds and records, per process, its high-water mark (VmHWM, kernel-maintained, so a spike between two
// samples still counts once the process is sampled again) and, across samples, the largest sum of the resident sizes
// of the processes alive together.
import { readdirSync, readFileSync } from 'node:fs';

/** What {@link sampleProcessTree} measured. */
export interface TreeMemory {
  /** Largest sum of VmRSS over the tree at one sample, KiB. */
  peakTreeRssKb: number;
  /** Largest VmHWM of any one process of the tree (root excluded), KiB, with its command name. */
  peakProcessHwmKb: number;
  peakProcessName: string;
  /** Processes seen in the tree (root excluded). */
  processesSeen: number;
  samples: number;
}

function status(pid: string): { name: string; ppid: number; rssKb: number; hwmKb: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (key: string): string => new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(text)?.[1] ?? '';
    return { name: field('Name'), ppid: Number(field('PPid')), rssKb: parseInt(field('VmRSS'), 10) || 0, hwmKb: parseInt(field('VmHWM'), 10) || 0 };
  } catch {
    return undefined;
  }
}

/** Starts sampling the tree under `rootPid`; `stop()` ends it and returns the measurement. */
export function sampleProcessTree(rootPid: number, intervalMs = 10): { stop(): TreeMemory } {
  const result: TreeMemory = { peakTreeRssKb: 0, peakProcessHwmKb: 0, peakProcessName: '', processesSeen: 0, samples: 0 };
  const seen = new Set<string>();
  const sample = (): void => {
    const all = new Map<string, NonNullable<ReturnType<typeof status>>>();
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      const s = status(pid);
      if (s) all.set(pid, s);
    }
    const inTree = new Set<string>([String(rootPid)]);
    let grew = true;
    while (grew) {
      grew = false;
      for (const [pid, s] of all) {
        if (!inTree.has(pid) && inTree.has(String(s.ppid))) {
          inTree.add(pid);
          grew = true;
        }
      }
    }
    let sum = 0;
    for (const pid of inTree) {
      const s = all.get(pid);
      if (!s) continue;
      sum += s.rssKb;
      if (pid === String(rootPid)) continue;
      seen.add(`${pid}:${s.name}`);
      if (s.hwmKb > result.peakProcessHwmKb) {
        result.peakProcessHwmKb = s.hwmKb;
        result.peakProcessName = s.name;
      }
    }
    result.peakTreeRssKb = Math.max(result.peakTreeRssKb, sum);
    result.samples++;
  };
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      result.processesSeen = seen.size;
      return result;
    },
  };
}
