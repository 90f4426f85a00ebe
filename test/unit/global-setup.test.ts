import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { staleBecauseOf } from '../global-setup.js';
import { tempDir } from '../helpers/cli.js';

let repo: string;

function write(rel: string, secondsAgo: number): void {
  const file = path.join(repo, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, '');
  const time = new Date(Date.now() - secondsAgo * 1000);
  fs.utimesSync(file, time, time);
}

beforeEach(() => {
  repo = tempDir('clawback-global-setup-');
});

afterEach(() => fs.rmSync(repo, { recursive: true, force: true }));

describe('the stale dist/ check of the global setup', () => {
  it('finds a missing dist/, a source edited after the build, and nothing once built', () => {
    write('src/engine/capture/create.ts', 60);
    expect(staleBecauseOf(repo)).toBe('dist/ is missing');
    write('dist/src/engine/capture/create.js', 30);
    expect(staleBecauseOf(repo)).toBeUndefined();
    write('fixtures/generate.ts', 10);
    expect(staleBecauseOf(repo)).toBe('fixtures changed after the last build');
    write('dist/fixtures/generate.js', 5);
    expect(staleBecauseOf(repo)).toBeUndefined();
    write('bin/clawback.js', 1);
    expect(staleBecauseOf(repo)).toBe('bin changed after the last build');
  });

  it('the repository dist/ is current once the global setup has run', () => {
    expect(staleBecauseOf(path.resolve(import.meta.dirname, '../..'))).toBeUndefined();
  });
});
