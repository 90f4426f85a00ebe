import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { commandWord } from '../../src/cli/argv.js';
import { COMMAND_NAMES, registerCommands } from '../../src/cli/commands/index.js';
import type { Act, CliRunner } from '../../src/cli/context.js';

const act: Act = (fn) => async () => void fn;
const runCli: CliRunner = async () => 0;

async function registered(word: string | undefined): Promise<string[]> {
  const program = new Command('clawback');
  await registerCommands(program, act, runCli, '0.0.0', word);
  return program.commands.map((c) => c.name());
}

describe('lazy command registration', () => {
  it('the table names exactly the commands its modules register, in help order', async () => {
    expect(await registered(undefined)).toEqual(COMMAND_NAMES);
  });

  it('a named command loads its own module only; help, the verb list and completion load all', async () => {
    for (const name of COMMAND_NAMES) {
      const names = await registered(name);
      if (['help', 'snapshot-help', '__complete'].includes(name)) expect(names).toEqual(COMMAND_NAMES);
      else expect(names).toContain(name);
      if (!['help', 'snapshot-help', '__complete'].includes(name)) expect(names.length).toBeLessThanOrEqual(2);
    }
    expect(await registered('no-such-command')).toEqual(COMMAND_NAMES);
  });

  it('the command word is the first word after global options; anything else before it means all', () => {
    expect(commandWord(['--home', '/h', '--json', 'snapshot-list', 'a'])).toBe('snapshot-list');
    expect(commandWord(['-q', '--wait', '5', 'status'])).toBe('status');
    expect(commandWord(['--help', 'status'])).toBeUndefined();
    expect(commandWord(['--', 'status'])).toBeUndefined();
    expect(commandWord(['--json'])).toBeUndefined();
  });
});
