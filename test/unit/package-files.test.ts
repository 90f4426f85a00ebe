import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli.js';

interface PackEntry {
  path: string;
}

describe('the published package', () => {
  it('ships the built JavaScript, the README and the LICENSE, and no source maps, bench or tests', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO, encoding: 'utf8' });
    const files = (JSON.parse(out) as Array<{ files: PackEntry[] }>)[0]!.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'bin/clawback.js', 'dist/src/cli/main.js']));
    expect(files.filter((f) => f.endsWith('.map') || f.startsWith('dist/bench/') || f.startsWith('dist/test/') || f.startsWith('src/'))).toEqual([]);
    // Every module the CLI can load is in the package.
    const built = (fs.readdirSync(path.join(REPO, 'dist', 'src'), { recursive: true }) as string[]).filter((f) => f.endsWith('.js')).map((f) => `dist/src/${f}`);
    expect(built.filter((f) => !files.includes(f))).toEqual([]);
    const manifest = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { license?: string; repository?: unknown };
    expect(manifest.license).toBe('MIT');
    expect(manifest.repository).toBeDefined();
  });
});
