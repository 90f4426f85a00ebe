import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type Sshd } from '../../fixtures/sshd.js';
import { UnreachableError } from '../../src/errors.js';
import { openTransport, parseTransportSpec } from '../../src/transport/index.js';

/** The transport against a real loopback OpenSSH server: bytes through, one connection, exit-8 errors. */
describe('ssh transport', () => {
  let sshd: Sshd;
  const tmpDir = os.tmpdir();
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  it('runs sh -c in the target with every byte of stdin and stdout passed through, over one master', async () => {
    const transport = await openTransport(parseTransportSpec(`ssh:${sshd.alias}`), { sandbox: 'web', sshConfig: sshd.configFile, tmpDir });
    try {
      const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256));
      const result = await transport.exec("cat; printf 'it''s %s' \"$0\"", { input: bytes });
      expect(result.code).toBe(0);
      expect(result.stdout.subarray(0, bytes.length).equals(bytes)).toBe(true);
      expect(result.stdout.subarray(bytes.length).toString()).toBe('its sh');
      // Many small commands ride on the master: each one is fast.
      for (let i = 0; i < 5; i++) expect((await transport.run(`echo ${i}`, 'echo')).toString()).toBe(`${i}\n`);
      const failed = await transport.run('exit 3', 'exit 3').catch((error: unknown) => error);
      expect(failed).toBeInstanceOf(UnreachableError);
      expect((failed as UnreachableError).code).toBe('transport-failed');
    } finally {
      await transport.close();
    }
  });

  it('a wrong port is unreachable and a key the server does not know is refused, both exit 8', async () => {
    const closed = await openTransport(parseTransportSpec(`ssh:${sshd.alias}:1`), { sandbox: 'web', sshConfig: sshd.configFile, tmpDir }).catch((e: unknown) => e);
    expect(closed).toBeInstanceOf(UnreachableError);
    expect([(closed as UnreachableError).code, (closed as UnreachableError).exitCode]).toEqual(['transport-unreachable', 8]);
    expect((closed as UnreachableError).message).toMatch(/^sandbox web via ssh:clawback-test:1: cannot connect \(.*Connection refused\)/);
    const otherKey = path.join(sshd.dir, 'other');
    fs.writeFileSync(path.join(sshd.dir, 'other_config'), fs.readFileSync(sshd.configFile, 'utf8').replace(/IdentityFile .*/, `IdentityFile ${otherKey}`));
    fs.copyFileSync(sshd.identityFile, otherKey);
    fs.writeFileSync(otherKey, fs.readFileSync(path.join(sshd.dir, 'host_key')), { mode: 0o600 });
    const refused = await openTransport(parseTransportSpec(`ssh:${sshd.alias}`), { sandbox: 'web', sshConfig: path.join(sshd.dir, 'other_config'), tmpDir }).catch((e: unknown) => e);
    expect((refused as UnreachableError).code).toBe('transport-auth');
  });
});
