import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, tempDir } from '../helpers/cli.js';
import { writeSmallHome } from '../helpers/hooks.js';
import Database from 'better-sqlite3';

/**
 * An install whose better-sqlite3 has no native part (install scripts blocked): a copy of the built
 * package whose node_modules links every dependency but better-sqlite3, copied without its build/.
 */
let base: string;
let install: string;

beforeAll(() => {
  base = tempDir('clawback-nosqlite-');
  install = path.join(base, 'install');
  fs.mkdirSync(path.join(install, 'node_modules'), { recursive: true });
  fs.cpSync(path.join(REPO, 'bin'), path.join(install, 'bin'), { recursive: true });
  fs.cpSync(path.join(REPO, 'dist'), path.join(install, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(REPO, 'package.json'), path.join(install, 'package.json'));
  for (const name of fs.readdirSync(path.join(REPO, 'node_modules'))) {
    if (name === 'better-sqlite3' || name === '.bin') continue;
    fs.symlinkSync(path.join(REPO, 'node_modules', name), path.join(install, 'node_modules', name));
  }
  const sqlite = path.join(install, 'node_modules', 'better-sqlite3');
  fs.mkdirSync(sqlite);
  for (const part of ['lib', 'package.json']) fs.cpSync(path.join(REPO, 'node_modules', 'better-sqlite3', part), path.join(sqlite, part), { recursive: true });
});

afterAll(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

describe('better-sqlite3 without its native part', () => {
  it('commands that need no database work; the first that does names the fix, not a stack', async () => {
    const home = path.join(base, 'home');
    const root = path.join(base, 'agent');
    writeSmallHome(root, 'alpha');
    const run = (args: string[]) => execa('node', [path.join(install, 'bin', 'clawback.js'), ...args], { reject: false, env: { ...process.env, CLAWBACK_HOME: home, NO_COLOR: '1' } });
    const added = await run(['sandbox', 'add', 'alpha', '--agent', 'openclaw', '--root', root]);
    expect(added.exitCode, String(added.stderr)).toBe(0);
    fs.mkdirSync(path.join(root, 'memory'));
    const db = new Database(path.join(root, 'memory', 'main.sqlite'));
    db.exec('CREATE TABLE notes(body TEXT); INSERT INTO notes VALUES (\'kept\')');
    db.close();
    const created = await run(['alpha', 'snapshot', 'create']);
    const stderr = String(created.stderr);
    expect(stderr).not.toContain('internal error');
    expect(stderr).not.toMatch(/^\s+at /m);
    expect(stderr).toContain('the SQLite module (better-sqlite3) cannot be loaded');
    expect(stderr).toContain('npm rebuild better-sqlite3');
    expect(created.exitCode).toBe(5);
  });
});
