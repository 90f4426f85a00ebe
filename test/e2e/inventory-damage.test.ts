import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectOk } from '../helpers/archives.js';
import { bundleIds, rewriteInventory, sandboxDir } from '../helpers/bundles.js';
import { clawback, tempDir } from '../helpers/cli.js';
import { writeSmallHome } from '../helpers/hooks.js';

const INVENTORY = 'rebuild-inventory.jsonl.gz';
const HEADER = 'rebuild-manifest.json';

let base: string;
let home: string;
let bundle: string;
let saved: { header: Buffer; inventory: Buffer };

beforeAll(async () => {
  base = tempDir('clawback-inventory-');
  home = path.join(base, 'home');
  const root = path.join(base, 'root');
  writeSmallHome(root, 'one');
  await expectOk(clawback(home, ['sandbox', 'add', 'oc', '--agent', 'openclaw', '--root', root]));
  await expectOk(clawback(home, ['oc', 'snapshot', 'create']));
  bundle = path.join(sandboxDir(home, 'oc'), bundleIds(home, 'oc')[0]!);
  saved = { header: fs.readFileSync(path.join(bundle, HEADER)), inventory: fs.readFileSync(path.join(bundle, INVENTORY)) };
});

afterEach(() => {
  fs.writeFileSync(path.join(bundle, HEADER), saved.header);
  fs.writeFileSync(path.join(bundle, INVENTORY), saved.inventory);
});

/** A new sandbox name and root for each restore: a restore registers the sandbox it restores into. */
let copies = 0;
function restoreArgs(): { args: string[]; root: string } {
  copies++;
  const root = path.join(base, `copy${copies}`);
  return { args: ['oc', 'snapshot', 'restore', 'latest', '--to', `copy${copies}`, '--root', root, '--yes', '--no-pre-restore'], root };
}

afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

/** verify and restore (into a new root) both refuse the bundle with exit 6 and a one-line reason naming the inventory. */
async function expectRefused(reason: RegExp): Promise<void> {
  const verify = await clawback(home, ['oc', 'snapshot', 'verify', 'latest']);
  expect(verify.exitCode, String(verify.stderr)).toBe(6);
  expect(String(verify.stdout) + String(verify.stderr)).toMatch(reason);
  const target = restoreArgs();
  const restore = await clawback(home, target.args);
  expect(restore.exitCode, String(restore.stderr)).toBe(6);
  const error = String(restore.stderr).trim().split('\n');
  expect(error[0]).toMatch(reason);
  expect(String(restore.stderr)).toMatch(/hint|choose another/i);
  expect(fs.existsSync(path.join(target.root, 'workspace', 'SOUL.md'))).toBe(false);
}

describe('a damaged inventory sidecar', () => {
  it('is read as written: the undamaged bundle verifies and restores', async () => {
    await expectOk(clawback(home, ['oc', 'snapshot', 'verify', 'latest']));
    const target = restoreArgs();
    await expectOk(clawback(home, target.args));
    expect(fs.readFileSync(path.join(target.root, 'workspace', 'SOUL.md'), 'utf8')).toBe('# one\n');
    // The sidecar is plain gzip: any gunzip reads it, one JSON entry per line.
    const lines = zlib.gunzipSync(saved.inventory).toString('utf8').trim().split('\n');
    expect(JSON.parse(lines[0]!)).toMatchObject({ path: expect.any(String), type: expect.any(String) });
  });

  it('truncated: refused with exit 6', async () => {
    fs.writeFileSync(path.join(bundle, INVENTORY), saved.inventory.subarray(0, saved.inventory.length - 9));
    await expectRefused(/rebuild-inventory\.jsonl\.gz.*truncated/);
  });

  it('reordered (its header sha256 made to match): refused with exit 6', async () => {
    rewriteInventory(bundle, (text) => {
      const lines = text.trim().split('\n');
      [lines[0], lines[1]] = [lines[1]!, lines[0]!];
      return lines.join('\n') + '\n';
    });
    await expectRefused(/rebuild-inventory\.jsonl\.gz.*out of order/);
  });

  it('a line dropped (count and sha256 made to match the rest): refused by the header count', async () => {
    rewriteInventory(bundle, (text) => text.replace(/^[^\n]*\n/, ''));
    await expectRefused(/rebuild-inventory\.jsonl\.gz.*holds \d+ lines, not the \d+ its header records/);
  });

  it('an entry edited (sha256 of the file not updated): refused by the header sha256', async () => {
    rewriteInventory(bundle, (text) => text.replace('"mode":420', '"mode":511'), { fixSha: false });
    await expectRefused(/rebuild-inventory\.jsonl\.gz.*does not match the sha256 its header records/);
  });

  it('missing: refused with exit 6', async () => {
    fs.rmSync(path.join(bundle, INVENTORY));
    await expectRefused(/rebuild-inventory\.jsonl\.gz.*is missing/);
  });
});
