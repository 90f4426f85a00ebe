import { describe, expect, it } from 'vitest';
import { resticFailure, resticMessage } from '../../src/engine/offsite/outcome.js';
import { childEnv } from '../../src/engine/offsite/restic.js';
import { labelTag } from '../../src/engine/offsite/remote.js';
import type { RepoEntry } from '../../src/store/repos.js';

const repo: RepoEntry = { name: 'nas', repository: 'sftp:nas:/restic', options: [], createdAt: '2026-01-01T00:00:00.000Z' };

/** restic 0.14's stderr for each fatal case (it exits 1 for all of them), as printed on this machine. */
const V014 = {
  password: 'Fatal: wrong password or no key found\n',
  missing: 'Fatal: unable to open config file: stat /srv/nope/config: no such file or directory\nIs there a repository at the following location?\n/srv/nope\n',
  locked:
    'Fatal: unable to create lock in backend: repository is already locked by PID 812 on vm by root (UID 0, GID 0)\nlock was created at 2026-12-02 00:36:46 (3.9s ago)\nstorage ID 5cf84364\nthe `unlock` command can be used to remove stale locks\n',
  other: 'Fatal: unable to open repository at sftp:nas:/restic: unable to start the sftp session, error: EOF\n',
};

describe('restic outcomes as clawback errors', () => {
  it('restic 0.14 (exit 1 for everything): told apart by its messages', () => {
    expect(resticFailure(1, V014.password, repo, 'snapshots')).toMatchObject({ code: 'repo-wrong-password', exitCode: 6 });
    expect(resticFailure(1, V014.missing, repo, 'snapshots')).toMatchObject({ code: 'repo-missing', exitCode: 4 });
    const locked = resticFailure(1, V014.locked, repo, 'forget');
    expect(locked).toMatchObject({ code: 'busy', exitCode: 7 });
    expect(locked.message).toContain('locked by PID 812 on vm');
    expect(locked.hint).toContain('clawback repo unlock nas');
    const other = resticFailure(1, V014.other, repo, 'snapshots');
    expect(other).toMatchObject({ code: 'restic-failed', exitCode: 1 });
    expect(other.message).toContain('unable to start the sftp session');
  });

  it('restic ≥ 0.17: its own exit codes 10, 11, 12, 3 and 130, whatever the text', () => {
    const exitError = (message: string): string => JSON.stringify({ message_type: 'exit_error', code: 0, message }) + '\n';
    expect(resticFailure(10, exitError('repository does not exist'), repo, 'x')).toMatchObject({ exitCode: 4 });
    expect(resticFailure(11, exitError('unable to lock'), repo, 'x')).toMatchObject({ exitCode: 7 });
    expect(resticFailure(12, exitError('bad key'), repo, 'x')).toMatchObject({ exitCode: 6 });
    expect(resticFailure(3, 'error: open /x: permission denied\n', repo, 'backup')).toMatchObject({ code: 'restic-partial', exitCode: 3 });
    expect(resticFailure(130, '', repo, 'backup')).toMatchObject({ exitCode: 130 });
    expect(resticMessage('{"message_type":"exit_error","code":1,"message":"Fatal: something"}\n')).toBe('Fatal: something');
  });
});

describe("restic's environment", () => {
  it('a stored password file wins over the environment and is the only source passed; the repository goes by variable', () => {
    const env = childEnv({ repo: { ...repo, passwordFile: '/k/pw' }, env: { PATH: '/usr/bin', RESTIC_PASSWORD: 'secret', RESTIC_PASSWORD_COMMAND: 'pass show x' } }, true);
    expect(env).toMatchObject({ PATH: '/usr/bin', RESTIC_REPOSITORY: 'sftp:nas:/restic', RESTIC_PASSWORD_FILE: '/k/pw', TZ: 'UTC' });
    expect(env.RESTIC_PASSWORD).toBeUndefined();
    expect(env.RESTIC_PASSWORD_COMMAND).toBeUndefined();
  });

  it('with nothing stored the environment is used, and no source at all is a usage error', () => {
    expect(childEnv({ repo, env: { RESTIC_PASSWORD_COMMAND: 'pass show x' } }, true).RESTIC_PASSWORD_COMMAND).toBe('pass show x');
    expect(() => childEnv({ repo, env: {} }, true)).toThrow(/no password source for repository nas/);
  });

  it('a label survives restic splitting --tag on commas', () => {
    expect(labelTag('before upgrade, v2 100%')).toBe('label=before upgrade%2C v2 100%25');
  });
});
