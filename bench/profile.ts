import fs from 'node:fs';
import path from 'node:path';

/**
 * Top self-time functions of a V8 CPU profile, for finding where a slow command
 * spends its time: `node --cpu-prof --cpu-prof-dir=DIR bin/clawback.js ...`, then
 * `node dist/bench/profile.js DIR/*.cpuprofile [N]`.
 */
interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function frameName(node: CpuProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url === '' ? '' : ` ${url.replace(/^file:\/\//, '').split('/node_modules/').pop()!.replace(/^.*\/(dist|src)\//, '$1/')}:${lineNumber + 1}`;
  return `${functionName || '(anonymous)'}${where}`;
}

export function topSelfTime(profile: CpuProfile, limit: number): Array<{ name: string; ms: number; share: number }> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    if (node === undefined) return;
    const name = frameName(node);
    self.set(name, (self.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = profile.endTime - profile.startTime;
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, us]) => ({ name, ms: us / 1000, share: total > 0 ? us / total : 0 }));
}

function main(): number {
  const [file, n] = process.argv.slice(2);
  if (file === undefined) {
    process.stderr.write('usage: node dist/bench/profile.js FILE.cpuprofile [N]\n');
    return 2;
  }
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const totalMs = (profile.endTime - profile.startTime) / 1000;
  process.stdout.write(`${path.basename(file)}: ${totalMs.toFixed(0)} ms profiled\n`);
  for (const row of topSelfTime(profile, Number(n ?? 20))) {
    process.stdout.write(`${row.ms.toFixed(0).padStart(7)} ms ${(row.share * 100).toFixed(1).padStart(5)} %  ${row.name}\n`);
  }
  return 0;
}

process.exitCode = main();
