import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClawFixture, restoreLeftovers, type RestoreFixture } from '../helpers/restore.js';
import { treeDigest } from '../helpers/tree.js';

/**
 * A restore with enough files to stage them on worker threads (stage-pool.ts: 400 files or more):
 * the files, modes and mtimes come back as with the calling thread, a damaged bundle file is named
 * (exit 6) and nothing is left behind, and a Ctrl-C while the workers write rolls back (exit 130).
 */
const NOTES = 'workspace/notes';
const COUNT = 600;

let f: RestoreFixture;
let notesState: Record<string, string>;
let bundlePayload: string;
const notesOf = (root: string): Record<string, string> => treeDigest(path.join(root, NOTES), { times: true });

beforeAll(async () => {
  f = await openClawFixture('clawback-restore-workers-');
  const notes = path.join(f.root, NOTES);
  fs.mkdirSync(notes);
  for (let i = 0; i < COUNT; i++) {
    const file = path.join(notes, `note-${String(i).padStart(4, '0')}.md`);
    fs.writeFileSync(file, `note ${i}\n`.repeat(1 + (i % 50)), { mode: i % 7 === 0 ? 0o600 : 0o644 });
    fs.utimesSync(file, 1_700_000_000 + i, 1_700_000_000 + i);
  }
  notesState = notesOf(f.root);
  const created = await f.cli('oc', 'snapshot', 'create', '--json');
  expect(created.exitCode, String(created.stderr)).toBe(0);
  const dir = (JSON.parse(String(created.stdout)) as { snapshot: { dir: string } }).snapshot.dir;
  bundlePayload = path.join(dir, 'payload', NOTES);
});

afterAll(() => f?.cleanup());

describe('restore staged on worker threads', () => {
  it('into an empty root writes every file with its bytes, mode and mtime', async () => {
    const root = path.join(f.dir, 'copy');
    const result = await f.cli('oc', 'snapshot', 'restore', 'latest', '--to', 'copy', '--root', root, '--yes', '--no-pre-restore');
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(notesOf(root)).toEqual(notesState);
  });

  // The calling thread stages the heaviest files (up to its share), the worker the rest: one of each.
  it.each(['note-0300.md', 'note-0049.md'])('names a damaged bundle file (%s: exit 6) and leaves the target as it was', async (note) => {
    const root = path.join(f.dir, `damaged-${note}`);
    const bundleNote = path.join(bundlePayload, note);
    const good = fs.readFileSync(bundleNote);
    fs.writeFileSync(bundleNote, Buffer.from(good.toString().toUpperCase()));
    try {
      const result = await f.cli('oc', 'snapshot', 'restore', 'latest', '--to', `damaged-${note}`, '--root', root, '--yes', '--no-pre-restore');
      expect(result.exitCode, String(result.stderr)).toBe(6);
      expect(String(result.stderr)).toContain(`${NOTES}/${note}: the bundle's copy does not match its sha256 in the manifest`);
      expect(fs.existsSync(root)).toBe(false);
      expect(restoreLeftovers(root)).toEqual([]);
    } finally {
      fs.writeFileSync(bundleNote, good);
    }
  });

  it('rolls back on a Ctrl-C while the workers write (exit 130), the live state unchanged', async () => {
    // Every note is then copied from the bundle, none linked from the live tree.
    fs.rmSync(path.join(f.root, NOTES), { recursive: true });
    const before = treeDigest(f.root, { databasesByContent: true });
    const interrupted = await f.cliKilledAt('SIGINT@restore:staging', 'oc', 'snapshot', 'restore', 'latest', '--yes', '--no-pre-restore');
    expect(interrupted.exitCode, String(interrupted.stderr)).toBe(130);
    expect(String(interrupted.stderr)).toContain('interrupted: the restore was rolled back; the state of oc is unchanged');
    expect(treeDigest(f.root, { databasesByContent: true })).toEqual(before);
    expect(restoreLeftovers(f.root)).toEqual([]);
    const restored = await f.cli('oc', 'snapshot', 'restore', 'latest', '--yes', '--no-pre-restore');
    expect(restored.exitCode, String(restored.stderr)).toBe(0);
    expect(notesOf(f.root)).toEqual(notesState);
  });
});
