import fs from 'node:fs';

// Preloaded into clawback runs (node --import) only where GNU time is missing:
// a process cannot read a child's peak RSS after spawnSync, but the child can.
const target = process.env.CLAWBACK_BENCH_RSS_FILE;
if (target !== undefined) {
  process.on('exit', () => {
    fs.writeFileSync(target, `${process.resourceUsage().maxRSS}\n`);
  });
}
