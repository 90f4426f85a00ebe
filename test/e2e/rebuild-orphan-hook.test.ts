import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clawback, tempDir } from '../helpers/cli.js';
import { makeFifo, releaseFifoReader, writeHookScript, writeSmallHome } from '../helpers/hooks.js';
import { treeDigest } from '../helpers/tree.js';

/**
 * A recreate hook that lays down a fresh home, says so with a marker file, then blocks on a FIFO
 * and, once released, writes into whatever is at the root by then.
 */
const RECREATE = `#!/bin/sh
echo $$ > "$HOOK_PID"
mkdir -p "$CLAWBACK_ROOT/workspace"
echo fresh > "$CLAWBACK_ROOT/workspace/FRESH.md"
: > "$HOOK_MARKER"
read line < "$HOOK_FIFO"
echo "written after the rollback" > "$CLAWBACK_ROOT/workspace/LATE.md"
`;

let base: string;
let home: string;
let root: string;
/** The hook's process group, killed after the test whatever happened (a failing run must not leave it blocked). */
let hookGroup: number | undefined;

beforeEach(() => {
  base = tempDir('clawback-orphan-hook-');
  home = path.join(base, 'home');
  root = path.join(base, 'agent');
  writeSmallHome(root, 'original');
});

afterEach(() => {
  if (hookGroup !== undefined) {
    try {
      process.kill(-hookGroup, 'SIGKILL');
    } catch {
      // Gone, as it should be.
    }
    hookGroup = undefined;
  }
  fs.rmSync(base, { recursive: true, force: true });
});

/** Alive and not a zombie: an orphan's zombie stays in the table where pid 1 never reaps (containers). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

function processGroupOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

async function waitFor(file: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!fs.existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`${file} never appeared`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('a recreate hook orphaned by a SIGKILL of rebuild', () => {
  it('is stopped by the next command before it rolls the rebuild back, and never writes into the restored root', async () => {
    const script = writeHookScript(path.join(base, 'hooks'), 'recreate.sh', RECREATE);
    const added = await clawback(home, ['sandbox', 'add', 'oc', '--agent', 'openclaw', '--root', root, '--hook-recreate', script]);
    expect(added.exitCode, String(added.stderr)).toBe(0);
    const before = treeDigest(root);
    const env = { HOOK_PID: path.join(base, 'hook.pid'), HOOK_MARKER: path.join(base, 'hook.marker'), HOOK_FIFO: makeFifo(path.join(base, 'hook.fifo')) };

    const rebuild = clawback(home, ['oc', 'rebuild', '--yes'], { env });
    await waitFor(env.HOOK_MARKER, 60_000);
    rebuild.kill('SIGKILL');
    expect((await rebuild).signal).toBe('SIGKILL');
    const hookPid = Number(fs.readFileSync(env.HOOK_PID, 'utf8'));
    expect(running(hookPid), 'the hook outlives the rebuild it was started by').toBe(true);
    const record = JSON.parse(fs.readFileSync(path.join(home, 'journal', 'rebuild', 'oc.json'), 'utf8')) as { state: string; hookGroup?: number };
    const group = processGroupOf(hookPid);
    hookGroup = group;
    expect(group).not.toBe(processGroupOf(process.pid));
    expect(record).toMatchObject({ state: 'moved', hookGroup: group });

    const next = await clawback(home, ['sandbox', 'list']);
    expect(next.exitCode, String(next.stderr)).toBe(0);
    expect(String(next.stderr)).toContain(`stopped the recreate hook of oc (process group ${group})`);
    expect(String(next.stderr)).toContain(`an interrupted rebuild of oc was rolled back: the original state is back at ${root}`);
    expect(running(hookPid)).toBe(false);
    expect(treeDigest(root)).toEqual(before);

    // Nobody is left to read the FIFO; were the hook alive, this would let it write LATE.md.
    expect(releaseFifoReader(env.HOOK_FIFO)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(fs.existsSync(path.join(root, 'workspace', 'LATE.md'))).toBe(false);
    expect(treeDigest(root)).toEqual(before);
    expect(fs.readdirSync(base).filter((n) => n.startsWith('agent.clawback-rebuild-'))).toEqual([]);
    expect(fs.existsSync(path.join(home, 'journal', 'rebuild', 'oc.json'))).toBe(false);
  });
});
