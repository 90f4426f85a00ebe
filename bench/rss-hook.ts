import fs from 'node:fs';

// Preloaded into clawback runs (node --import) only where GNU time is missing:
// a process cannot read a child's peak RSS and CPU time after spawnSync, but the child can.
const target = process.env.CLAWBACK_BENCH_RSS_FILE;
if (target !== undefined) {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    fs.writeFileSync(target, `${usage.maxRSS} ${usage.userCPUTime / 1e6} ${usage.systemCPUTime / 1e6}\n`);
  });
}
