import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTarEntries } from '../../src/formats/tar.js';
import { contentSha256, parseBundleHeader, type BundleManifest } from '../../src/manifest/bundle-manifest.js';
import { collectInventory, sidecarInventory } from '../../src/store/inventory-reader.js';
import { expectOk, freshQwenPaw, gunzip, qwenPawSource, type QwenPawSource } from '../helpers/archives.js';
import { bundleIds } from '../helpers/bundles.js';
import { clawback, json } from '../helpers/cli.js';
import { writeSmallHome } from '../helpers/hooks.js';
import { readTree } from '../helpers/tree.js';

interface ExportDoc {
  export: { output: string; format: string; files: number; secrets: string; leftOutCount: number; archiveBytes: number; qwenpawId: string | null };
}
interface ImportDoc {
  import: { timestamp: string; name: string | null; format: string; files: number; replaced: string[]; origin: Record<string, string> };
}

let source: QwenPawSource;
let openclawRoot: string;

beforeAll(async () => {
  source = await qwenPawSource('clawback-export-');
  openclawRoot = path.join(source.base, 'openclaw');
  writeSmallHome(openclawRoot, 'one');
  await expectOk(clawback(source.home, ['sandbox', 'add', 'oc', '--agent', 'openclaw', '--root', openclawRoot]));
  await expectOk(clawback(source.home, ['oc', 'snapshot', 'create']));
});

afterAll(() => source?.cleanup());

/** The manifest a tar.gz export carries: its header (the first entry) and its inventory sidecar (the second). */
function manifestOf(tarGz: string): BundleManifest {
  const tar = gunzip(tarGz);
  const sizeAt = (offset: number): number => parseInt(tar.subarray(offset + 124, offset + 136).toString('latin1').replace(/\0.*$/, '').trim(), 8);
  const size = sizeAt(0);
  const header = parseBundleHeader(tar.subarray(512, 512 + size).toString('utf8'), tarGz);
  const second = 512 + Math.ceil(size / 512) * 512;
  const sidecar = tar.subarray(second + 512, second + 512 + sizeAt(second));
  const { entries, skipped } = collectInventory(sidecarInventory('', header.inventory!, header.contentSha256!, sidecar));
  return { ...header, entries, skipped, contentSha256: header.contentSha256! };
}

describe('snapshot export', () => {
  it('writes the manifest first, then payload/, and leaves secrets out unless asked', async () => {
    const out = path.join(source.base, 'plain.tar.gz');
    const doc = json<ExportDoc>(await expectOk(clawback(source.home, ['qp', 'snapshot', 'export', 'latest', '-o', out, '--json'])));
    expect(doc.export.format).toBe('tar.gz');
    expect(doc.export.secrets).toBe('left-out');
    expect(doc.export.leftOutCount).toBe(3);
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    expect(doc.export.archiveBytes).toBe(fs.statSync(out).size);

    const entries = await readTarEntries(out);
    expect(entries[0]!.name).toBe('rebuild-manifest.json');
    expect(entries[1]!.name).toBe('rebuild-inventory.jsonl.gz');
    expect(entries.slice(2).every((e) => e.name === 'payload/' || e.name.startsWith('payload/'))).toBe(true);
    expect(entries.some((e) => e.name.startsWith('payload/secrets'))).toBe(false);
    expect(entries.filter((e) => e.type === 'file').length).toBe(doc.export.files + 2);

    // the manifest travelling with it is derived: no secret entries, totals and checksum recomputed
    const manifest = manifestOf(out);
    expect(manifest.includesSecrets).toBe(false);
    expect(manifest.scope.includesSecrets).toBe(false);
    expect(manifest.entries.some((e) => e.module === 'secrets')).toBe(false);
    expect(manifest.totals.files).toBe(doc.export.files);
    expect(manifest.contentSha256).toBe(contentSha256(manifest.entries));
    expect(manifest.entries.some((e) => e.ino !== undefined || e.dev !== undefined)).toBe(false);
    expect(manifest.origin?.clawbackId).toBe(`qp@${source.timestamp}`);
  });

  it('keeps secrets with --include-secrets, and says so', async () => {
    const out = path.join(source.base, 'secrets.tar');
    const result = await expectOk(clawback(source.home, ['qp', 'snapshot', 'export', 'latest', '-o', out, '--include-secrets']));
    expect(String(result.stderr)).toMatch(/warning: .*secrets/);
    const names = (await readTarEntries(out)).map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(['payload/secrets/providers.json', 'payload/secrets/master.key']));
    expect(fs.readFileSync(out).subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]))).toBe(false);
  });

  it('refuses an existing output without --force, and a QwenPaw zip of an OpenClaw snapshot', async () => {
    const out = path.join(source.base, 'exists.tar.gz');
    fs.writeFileSync(out, 'precious');
    const refused = await clawback(source.home, ['qp', 'snapshot', 'export', 'latest', '-o', out]);
    expect(refused.exitCode).toBe(5);
    expect(fs.readFileSync(out, 'utf8')).toBe('precious');
    await expectOk(clawback(source.home, ['qp', 'snapshot', 'export', 'latest', '-o', out, '--force']));
    expect(fs.readFileSync(out).subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]))).toBe(true);

    const zip = path.join(source.base, 'openclaw.zip');
    const wrongKind = await clawback(source.home, ['oc', 'snapshot', 'export', 'latest', '-o', zip]);
    expect(wrongKind.exitCode).toBe(5);
    expect(String(wrongKind.stderr)).toContain('only QwenPaw snapshots');
    expect(fs.existsSync(zip)).toBe(false);
    expect(fs.readdirSync(source.base).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('without -o, a QwenPaw zip goes to the QwenPaw backup dir as <id>.zip', async () => {
    const backups = path.join(source.base, 'qwenpaw-backups');
    const doc = json<ExportDoc>(await expectOk(clawback(source.home, ['qp', 'snapshot', 'export', 'latest', '--format', 'qwenpaw-zip', '--json'], { env: { QWENPAW_BACKUP_DIR: backups } })));
    expect(doc.export.output).toBe(path.join(backups, `${doc.export.qwenpawId}.zip`));
    expect(fs.existsSync(doc.export.output)).toBe(true);
    const usage = await clawback(source.home, ['qp', 'snapshot', 'export', 'latest']);
    expect(usage.exitCode).toBe(2);
  });
});

describe('snapshot import', () => {
  it('imports a tar.gz into a fresh home: verified, restorable, refused twice unless --overwrite', async () => {
    const out = path.join(source.base, 'full.tar.gz');
    await expectOk(clawback(source.home, ['qp', 'snapshot', 'export', 'latest', '-o', out, '--include-secrets']));
    const { home, root } = freshQwenPaw(source.base, 'tarfresh');
    const doc = json<ImportDoc>(await expectOk(clawback(home, ['tarfresh', 'snapshot', 'import', out, '--name', 'from-laptop', '--json'])));
    expect(doc.import.format).toBe('tar.gz');
    expect(doc.import.name).toBe('from-laptop');
    expect(doc.import.timestamp).toBe(source.timestamp);
    await expectOk(clawback(home, ['tarfresh', 'snapshot', 'verify', 'from-laptop']));

    const again = await clawback(home, ['tarfresh', 'snapshot', 'import', out]);
    expect(again.exitCode).toBe(5);
    const replaced = json<ImportDoc>(await expectOk(clawback(home, ['tarfresh', 'snapshot', 'import', out, '--overwrite', '--json'])));
    expect(replaced.import.replaced).toEqual([source.timestamp]);
    expect(replaced.import.name).toBe(null);
    expect(bundleIds(home, 'tarfresh', { scratch: true })).toEqual([replaced.import.timestamp]);

    await expectOk(clawback(home, ['tarfresh', 'snapshot', 'restore', 'latest', '--yes']));
    expect(readTree(path.join(root, 'skill_pool'))).toEqual(readTree(path.join(source.sample.root, 'skill_pool')));
    expect(readTree(`${root}.secret`)).toEqual(readTree(source.sample.secretsDir!));
  });

  it('refuses an archive of another agent kind, naming both kinds', async () => {
    const zip = path.join(source.base, 'kind.zip');
    await expectOk(clawback(source.home, ['qp', 'snapshot', 'export', 'latest', '-o', zip]));
    const intoOpenClaw = await clawback(source.home, ['oc', 'snapshot', 'import', zip]);
    expect(intoOpenClaw.exitCode).toBe(5);
    expect(String(intoOpenClaw.stderr)).toMatch(/QwenPaw backup; oc is registered as openclaw/);

    const tar = path.join(source.base, 'openclaw.tar.gz');
    await expectOk(clawback(source.home, ['oc', 'snapshot', 'export', 'latest', '-o', tar]));
    const intoQwenPaw = await clawback(source.home, ['qp', 'snapshot', 'import', tar]);
    expect(intoQwenPaw.exitCode).toBe(5);
    expect(String(intoQwenPaw.stderr)).toMatch(/openclaw home; qp is registered as qwenpaw/);
    const names = bundleIds(source.home, 'oc', { scratch: true });
    expect(names).toHaveLength(1);
  });

  it('refuses a file that is no archive it knows, and a missing one', async () => {
    const junk = path.join(source.base, 'junk.bin');
    fs.writeFileSync(junk, 'not an archive at all'.repeat(40));
    expect((await clawback(source.home, ['qp', 'snapshot', 'import', junk])).exitCode).toBe(6);
    expect((await clawback(source.home, ['qp', 'snapshot', 'import', path.join(source.base, 'missing.zip')])).exitCode).toBe(4);
  });
});
