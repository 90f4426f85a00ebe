import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOk, freshQwenPaw, qwenPawSource, type QwenPawSource } from '../helpers/archives.js';
import { bundleIds } from '../helpers/bundles.js';
import { clawback, json } from '../helpers/cli.js';
import { readTree } from '../helpers/tree.js';

const PASSPHRASE = 'correct horse battery staple';

let source: QwenPawSource;
let encrypted: string;
let target: { home: string; root: string };
let passFile: string;

beforeAll(async () => {
  source = await qwenPawSource('clawback-encrypted-');
  encrypted = path.join(source.base, 'backup.tar.gz.enc');
  await expectOk(clawback(source.home, ['qp', 'snapshot', 'export', 'latest', '-o', encrypted, '--encrypt'], { env: { CLAWBACK_PASSPHRASE: PASSPHRASE } }));
  target = freshQwenPaw(source.base, 'target');
  passFile = path.join(source.base, 'passphrase');
  fs.writeFileSync(path.join(source.base, 'wrong'), 'Tr0ub4dor&3\n');
  fs.writeFileSync(passFile, `${PASSPHRASE}\n`, { mode: 0o600 });
});

afterAll(() => source?.cleanup());

async function expectNothingImported(file: string, args: string[] = [], env: Record<string, string> = {}): Promise<string> {
  const result = await clawback(target.home, ['target', 'snapshot', 'import', file, ...args], { env });
  expect(result.exitCode, String(result.stderr)).toBe(6);
  expect(bundleIds(target.home, 'target', { scratch: true })).toEqual([]);
  expect(fs.readdirSync(target.root)).toEqual([]);
  return String(result.stderr);
}

describe('encrypted export', () => {
  it('is an envelope (no tar or gzip bytes visible) and keeps the secrets', async () => {
    const head = fs.readFileSync(encrypted).subarray(0, 13).toString('latin1');
    expect(head).toBe('CLAWBACK-ENC\x01');
    expect(fs.statSync(encrypted).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(encrypted).includes(Buffer.from('providers.json'))).toBe(false);
  });

  it('a wrong passphrase is one line and exit 6; nothing is imported', async () => {
    const stderr = await expectNothingImported(encrypted, ['--passphrase-file', path.join(source.base, 'wrong')]);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain('wrong passphrase');
  });

  it('a truncated file is detected; nothing is imported', async () => {
    const truncated = path.join(source.base, 'truncated.enc');
    const bytes = fs.readFileSync(encrypted);
    fs.writeFileSync(truncated, bytes.subarray(0, bytes.length - 100));
    expect(await expectNothingImported(truncated, [], { CLAWBACK_PASSPHRASE: PASSPHRASE })).toMatch(/damaged|authentication/);
  });

  it('one flipped byte is detected; nothing is imported', async () => {
    const flipped = path.join(source.base, 'flipped.enc');
    const bytes = Buffer.from(fs.readFileSync(encrypted));
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    fs.writeFileSync(flipped, bytes);
    expect(await expectNothingImported(flipped, [], { CLAWBACK_PASSPHRASE: PASSPHRASE })).toMatch(/fails authentication/);
  });

  it('without a passphrase and without a terminal, export and import are refused with a hint', async () => {
    const out = path.join(source.base, 'never.enc');
    const exported = await clawback(source.home, ['qp', 'snapshot', 'export', 'latest', '-o', out, '--encrypt'], { env: { CLAWBACK_PASSPHRASE: '' } });
    expect(exported.exitCode).toBe(5);
    expect(String(exported.stderr)).toContain('CLAWBACK_PASSPHRASE');
    expect(fs.existsSync(out)).toBe(false);
    const imported = await clawback(target.home, ['target', 'snapshot', 'import', encrypted], { env: { CLAWBACK_PASSPHRASE: '' } });
    expect(imported.exitCode).toBe(5);
    expect(bundleIds(target.home, 'target', { scratch: true })).toEqual([]);
    const zip = await clawback(source.home, ['qp', 'snapshot', 'export', 'latest', '-o', path.join(source.base, 'x.zip'), '--encrypt'], { env: { CLAWBACK_PASSPHRASE: PASSPHRASE } });
    expect(zip.exitCode).toBe(2);
  });

  it('the right passphrase (from a file) imports it, secrets included', async () => {
    const doc = json<{ import: { encrypted: boolean; format: string; timestamp: string } }>(
      await expectOk(clawback(target.home, ['target', 'snapshot', 'import', encrypted, '--passphrase-file', passFile, '--json'])),
    );
    expect(doc.import).toEqual(expect.objectContaining({ encrypted: true, format: 'tar.gz', timestamp: source.timestamp }));
    await expectOk(clawback(target.home, ['target', 'snapshot', 'restore', 'latest', '--yes']));
    expect(readTree(`${target.root}.secret`)).toEqual(readTree(source.sample.secretsDir!));
    // the decrypted copy did not outlive the import
    expect(bundleIds(target.home, 'target', { scratch: true })).toEqual([source.timestamp]);
  });
});
