/**
 * Wall time of a file run's stages, for its debug log line (`stageMs`) and `npm run bench`: each {@link StageClock.lap}
 * charges the time since the previous one to a stage.
 */
export class StageClock {
  private readonly started = performance.now();
  private last = this.started;
  private readonly stages: Record<string, number> = {};

  /** Charges the time since the previous lap (or the start) to `stage`. */
  lap(stage: string): void {
    const now = performance.now();
    this.stages[stage] = (this.stages[stage] ?? 0) + (now - this.last);
    this.last = now;
  }

  /** Milliseconds per stage, plus `total` since the start, rounded. */
  stageMs(): Record<string, number> {
    const result: Record<string, number> = {};
    for (const [stage, ms] of Object.entries(this.stages)) result[stage] = Math.round(ms);
    result.total = Math.round(performance.now() - this.started);
    return result;
  }
}
