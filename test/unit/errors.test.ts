import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { asUserError, ClawbackError, exitCodeFor, IntegrityError, OsError, PartialError, UsageError } from '../../src/errors.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawback-errors-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The error Node itself raises for this errno on `file`. */
function osError(code: string, file: string | undefined, syscall = 'open'): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: test, ${syscall}${file ? ` '${file}'` : ''}`), { code, errno: -1, syscall, ...(file ? { path: file } : {}) });
}

describe('asUserError', () => {
  const file = path.join(dir, 'x');
  it.each([
    ['EACCES', 5, 'permission-denied', `permission denied on ${file}`],
    ['EPERM', 5, 'permission-denied', `permission denied on ${file}`],
    ['EROFS', 5, 'read-only-filesystem', `${file} is on a read-only filesystem`],
    ['ENOENT', 4, 'path-not-found', `no such file or directory: ${file}`],
    ['EIO', 6, 'io-error', `I/O error on ${file}`],
    ['ENAMETOOLONG', 5, 'name-too-long', `name too long: ${file}`],
    ['ENOTEMPTY', 5, 'os-error', `${file}: test (ENOTEMPTY)`],
  ])('%s → exit %i, code %s, naming the path, with a hint', (errno, exitCode, code, message) => {
    const mapped = asUserError(osError(errno, file));
    expect(mapped).toBeInstanceOf(OsError);
    expect(mapped).toMatchObject({ exitCode, code, message, errno, path: file });
    expect((mapped as OsError).hint).toMatch(/\S/);
    expect(exitCodeFor(osError(errno, file))).toBe(exitCode);
  });

  it('ENOTDIR names the file that stands where a directory should be', () => {
    fs.writeFileSync(file, 'x');
    const mapped = asUserError(osError('ENOTDIR', path.join(file, 'sandboxes.json'))) as OsError;
    expect(mapped.exitCode).toBe(4);
    expect(mapped.message).toBe(`${file} is not a directory (needed for ${path.join(file, 'sandboxes.json')})`);
  });

  it('names the caller\'s path for a failed write (no path of its own) or a temp file beside it, and the exact one too', () => {
    const output = path.join(dir, 'out.tgz');
    expect((asUserError(osError('EACCES', undefined, 'write'), output) as OsError).message).toBe(`permission denied on ${output}`);
    const temp = path.join(dir, '.out.tgz.tmp-1');
    expect((asUserError(osError('EACCES', temp), output) as OsError).message).toBe(`permission denied on ${output} (open ${temp})`);
    // An error about an unrelated path names that path.
    expect((asUserError(osError('EIO', '/elsewhere/file'), output) as OsError).message).toBe('I/O error on /elsewhere/file');
  });

  it('a full disk is exit 3, or 5 when nothing was written, naming the filesystem, its free space and the need', () => {
    const partial = asUserError(osError('ENOSPC', undefined, 'write'), dir) as OsError;
    expect(partial.exitCode).toBe(3);
    expect(partial.code).toBe('no-space');
    expect(partial.message).toMatch(new RegExp(`^no space left on the filesystem at /\\S* for ${dir} \\(\\d.* free\\)$`));
    const refused = asUserError(osError('EDQUOT', undefined, 'write'), dir, { nothingWritten: true, needBytes: 5 * 1024 * 1024 }) as OsError;
    expect(refused).toMatchObject({ exitCode: 5, code: 'quota-exceeded' });
    expect(refused.message).toContain('up to 5.0 MiB needed');
  });

  it('leaves clawback errors and bugs alone: only a bug is exit 1', () => {
    const usage = new UsageError('bad');
    expect(asUserError(usage, file)).toBe(usage);
    const bug = new TypeError('x is undefined');
    expect(asUserError(bug, file)).toBe(bug);
    expect(exitCodeFor(bug)).toBe(1);
    // Codes that are not errno names (SQLite's, Node's own ERR_*) are not OS errors.
    expect(asUserError(Object.assign(new Error('x'), { code: 'ERR_INVALID_ARG_TYPE' }))).not.toBeInstanceOf(ClawbackError);
    expect(asUserError(Object.assign(new Error('x'), { code: 'SQLITE_FULL' }))).not.toBeInstanceOf(ClawbackError);
  });

  it('every catalogue class carries a stable code, its exit code and a hint where it has one', () => {
    expect(new PartialError('partial', '2 files unreadable', { skipped: 2 })).toMatchObject({ code: 'partial', exitCode: 3, summary: { skipped: 2 } });
    expect(new PartialError('verify-failed', 'damage', { ok: false }, { exitCode: 6 })).toMatchObject({ code: 'verify-failed', exitCode: 6, summary: { ok: false } });
    expect(exitCodeFor(new IntegrityError('checksum', 'bad'))).toBe(6);
  });
});
