/**
 * The CPU a throughput target leaves on this machine, against what the work the target requires
 * cost when measured alone in the same run. A pass that must read, map and write N records at R
 * records/s on C cores has N / R × C CPU-seconds in all (PostgreSQL, the pipeline and the
 * sandboxes share the cores); whatever the required work alone takes is gone before the pipeline
 * does anything of its own (staging upsert, identity reads, merge decisions, parameters, GC).
 */
export interface CpuBudgetInput {
  records: number;
  targetRps: number;
  cores: number;
  /** Pass 5: the rows written again by plain SQL, PostgreSQL's CPU. */
  floorPgCpuMs: number;
  /** Pass 5: wall time of its merged tables on one connection (merges hold one lock: they run one at a time). */
  floorMergedMs: number;
  /** Pass 1: every stream read through its connector alone, this process's CPU. */
  readNodeCpuMs: number;
  /** Pass 1: the sandboxes serving those reads (null when not measured, e.g. in-process sandboxes). */
  readSandboxCpuMs: number | null;
  /** Pass 2: map + validate (JSONata + toCanonical), on the pipeline's thread. */
  mapMs: number;
  /** Pass 2: all the CPU it used (pipeline, PostgreSQL, sandboxes). */
  pipelineCpuMs: number;
}

export interface CpuBudget {
  budgetMs: number;
  requiredMs: number;
  /** What the budget leaves for the pipeline's own work (negative: the required work alone overruns it). */
  restMs: number;
  restUsPerRecord: number;
  /** Pass 2's CPU beyond the required work: what the rest cost in fact. */
  pipelineRestMs: number;
  /** The records/s pass 2's CPU would give with every core busy all the time (a ceiling). */
  ceilingRps: number;
}

export function cpuBudget(i: CpuBudgetInput): CpuBudget {
  const budgetMs = (i.records / i.targetRps) * i.cores * 1000;
  const requiredMs = i.floorPgCpuMs + i.readNodeCpuMs + (i.readSandboxCpuMs ?? 0) + i.mapMs;
  const restMs = budgetMs - requiredMs;
  return {
    budgetMs,
    requiredMs,
    restMs,
    restUsPerRecord: i.records ? (restMs * 1000) / i.records : NaN,
    pipelineRestMs: i.pipelineCpuMs - requiredMs,
    ceilingRps: i.pipelineCpuMs > 0 ? i.records / (i.pipelineCpuMs / 1000 / i.cores) : NaN,
  };
}

/** The report's lines (seconds with one decimal, as the rest of bench:sync). */
export function cpuBudgetLines(i: CpuBudgetInput, b: CpuBudget = cpuBudget(i)): string[] {
  const s = (ms: number): string => (ms / 1000).toFixed(1);
  const n = (x: number): string => Math.round(x).toLocaleString('en-US');
  const sandbox = i.readSandboxCpuMs === null ? '' : ` + sandboxes serving it ${s(i.readSandboxCpuMs)}`;
  return [
    `CPU budget at the target: ${n(i.records)} records / ${n(i.targetRps)} per s × ${i.cores} cores = ${s(b.budgetMs)} CPU-s (PostgreSQL, pipeline and sandboxes share them).`,
    `  Required work, each part measured alone in this run: writes (pass 5, PG CPU) ${s(i.floorPgCpuMs)} + connector read (pass 1) ${s(i.readNodeCpuMs)}${sandbox}` +
      ` + map and validate (pass 2) ${s(i.mapMs)} = ${s(b.requiredMs)} CPU-s, ${Math.round((100 * b.requiredMs) / b.budgetMs)}% of the budget.`,
    b.restMs > 0
      ? `  That leaves ${s(b.restMs)} CPU-s (${b.restUsPerRecord.toFixed(0)} µs a record) for the pipeline's own work (staging upsert, identity reads, merge decisions,` +
        ` parameters built and parsed, lineage and audit JSON, GC); pass 2 spent ${s(b.pipelineRestMs)} CPU-s on it.`
      : `  The required work alone overruns the budget by ${s(-b.restMs)} CPU-s: no pipeline reaches the target on this machine.`,
    `  Pass 2 used ${s(i.pipelineCpuMs)} CPU-s in all: with every core busy all the time that is at best ${n(b.ceilingRps)} records/s.`,
    `  Merges run one at a time (the merge lock): the merged tables' writes alone took ${s(i.floorMergedMs)} s on one connection,` +
      ` ${Math.round((100 * i.floorMergedMs) / ((i.records / i.targetRps) * 1000))}% of the ${s((i.records / i.targetRps) * 1000)} s the target allows the whole pass.`,
  ];
}
