import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type Sshd } from '../../fixtures/sshd.js';

describe('the loopback OpenSSH server the transport and restic tests use', () => {
  let sshd: Sshd;
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  it('runs a command through ssh -F with its own key and host key, binary-safe both ways', () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const out = execFileSync('ssh', ['-F', sshd.configFile, sshd.alias, 'cat'], { input: bytes });
    expect(Buffer.compare(out, bytes)).toBe(0);
  });

  it('a killed server drops the next connection with ssh exit 255', () => {
    sshd.kill();
    let status: number | null = null;
    try {
      execFileSync('ssh', ['-F', sshd.configFile, sshd.alias, 'true'], { stdio: 'pipe' });
    } catch (error) {
      status = (error as { status: number | null }).status;
    }
    expect(status).toBe(255);
  });
});
