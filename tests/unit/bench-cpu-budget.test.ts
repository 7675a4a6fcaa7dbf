import { cpuBudget, cpuBudgetLines } from '../../bench/sync/budget';

// bench:sync's CPU budget: the arithmetic behind "can any pipeline reach the target here".
describe('bench:sync CPU budget', () => {
  const input = {
    records: 200_000, targetRps: 20_000, cores: 2,
    floorPgCpuMs: 10_000, floorMergedMs: 9_000, readNodeCpuMs: 2_000, readSandboxCpuMs: 1_000, mapMs: 3_000, pipelineCpuMs: 40_000,
  };

  it('budgets records / target × cores and subtracts the required work measured alone', () => {
    const b = cpuBudget(input);
    expect(b.budgetMs).toBe(20_000);
    expect(b.requiredMs).toBe(16_000);
    expect(b.restMs).toBe(4_000);
    expect(b.restUsPerRecord).toBe(20);
    expect(b.pipelineRestMs).toBe(24_000);
    expect(b.ceilingRps).toBe(10_000);
    expect(cpuBudgetLines(input).join('\n')).toMatch(/leaves 4\.0 CPU-s \(20 µs a record\).*spent 24\.0 CPU-s/);
    expect(cpuBudgetLines(input).join('\n')).toMatch(/took 9\.0 s on one connection, 90% of the 10\.0 s/);
  });

  it('says so when the required work alone overruns the budget', () => {
    const lines = cpuBudgetLines({ ...input, floorPgCpuMs: 18_000, readSandboxCpuMs: null });
    expect(lines.join('\n')).toMatch(/overruns the budget by 3\.0 CPU-s/);
    expect(lines[1]).not.toMatch(/sandboxes/);
  });
});
