import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { generateHome } from '../../../fixtures/generate.js';
import { ExitCode } from '../../errors.js';
import type { CliContext, CliRunner } from '../context.js';

/**
 * The one-command first run: generate a sample OpenClaw home in a temp dir,
 * then drive the real CLI (`runCli`: the same main() a user runs) through a
 * cycle, echoing each command as it goes.
 */
export async function runDemo(ctx: CliContext, runCli: CliRunner, keep: boolean): Promise<number> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'clawback-demo-'));
  const home = path.join(base, 'clawback-home');
  const say = (line: string): void => {
    ctx.io.stdout.write(line + '\n');
  };
  const io = { ...ctx.io, env: { ...ctx.io.env, CLAWBACK_HOME: home } };
  const clawback = async (...args: string[]): Promise<void> => {
    say(ctx.color.bold(`\n$ clawback ${args.join(' ')}`));
    const code = await runCli(args, io);
    if (code !== ExitCode.ok) throw new Error(`demo step failed with exit ${code}: clawback ${args.join(' ')}`);
  };
  try {
    say(`demo home: ${base}`);
    const sample = generateHome({ kind: 'openclaw', scale: 'small', dir: path.join(base, 'openclaw-home') });
    say(`generated a sample OpenClaw home in its real layout (JSON5 config, ${sample.databases.length} SQLite databases, plugin-skills links): ${sample.files} files at ${sample.root}`);
    await clawback('sandbox', 'add', 'my-assistant', '--agent', 'openclaw', '--root', sample.root);
    await clawback('my-assistant', 'snapshot', 'create', '--name', 'before-upgrade');

    say(ctx.color.bold('\n# now the agent changes: a note is edited, one is deleted, a memory row is written'));
    fs.appendFileSync(path.join(sample.root, 'workspace', 'SOUL.md'), '\nI changed after the snapshot.\n');
    fs.rmSync(path.join(sample.root, 'workspace', 'USER.md'), { force: true });
    const dbPath = sample.databases.find((db) => db.endsWith(path.join('memory', 'main.sqlite')));
    if (dbPath) {
      const db = new Database(dbPath);
      const table = (db.prepare("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name LIMIT 1").get() as { name: string } | undefined)?.name;
      if (table) db.prepare(`DELETE FROM "${table}" WHERE rowid IN (SELECT rowid FROM "${table}" LIMIT 10)`).run();
      db.close();
    }
    await clawback('my-assistant', 'snapshot', 'create');
    await clawback('my-assistant', 'snapshot', 'list');
    await clawback('my-assistant', 'snapshot', 'show', 'before-upgrade');
    await clawback('my-assistant', 'snapshot', 'diff', 'before-upgrade');
    await clawback('my-assistant', 'snapshot', 'restore', 'before-upgrade', '--yes');
    say(`\nSOUL.md is back: ${!fs.readFileSync(path.join(sample.root, 'workspace', 'SOUL.md'), 'utf8').includes('I changed after')}, USER.md is back: ${fs.existsSync(path.join(sample.root, 'workspace', 'USER.md'))}`);
    await clawback('my-assistant', 'snapshot', 'verify', '--all');
    say(ctx.color.bold('\nNext, on your own agent:'));
    say('  clawback discover --yes                       # register ~/.openclaw, ~/.hermes, ~/.deepagents, QwenPaw');
    say('  clawback <name> snapshot create --name before-upgrade');
    say('  clawback <name> snapshot list');
    say('  clawback <name> snapshot restore before-upgrade');
    say('  clawback backup-all                           # every running sandbox, e.g. from cron');
    return ExitCode.ok;
  } finally {
    if (keep) say(`\nkept the demo home at ${base}`);
    else fs.rmSync(base, { recursive: true, force: true });
  }
}
