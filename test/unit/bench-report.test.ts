import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { BenchUsageError, parseBenchArgs } from '../../bench/args.js';
import type { StepResult } from '../../bench/clawback-cli.js';
import { growthBetween } from '../../bench/growth.js';
import { helpRow, scenarioRows, summarise } from '../../bench/report.js';
import { STEP_KEYS, type ScenarioResult, type StepKey } from '../../bench/scenario.js';
import { SQLITE_STEPS, sqliteRows, type SqliteSection, type SqliteStep } from '../../bench/sqlite-scale.js';
import { createBigWalDatabase } from '../../fixtures/big-database.js';
import type { FixtureScale } from '../../fixtures/generate.js';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'clawback-bench-report-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

function timed(wallMs: number, rssMiB: number | null = null, detail?: Record<string, number>): StepResult {
  return { kind: 'timed', wallMs, cpuMs: wallMs, rssKiB: rssMiB === null ? null : rssMiB * 1024, ...(detail ? { detail } : {}) };
}

function scenario(scale: FixtureScale, files: number, steps: Partial<Record<StepKey, StepResult[]>>): ScenarioResult {
  const all = Object.fromEntries(STEP_KEYS.map((k) => [k, steps[k] ?? []])) as Record<StepKey, StepResult[]>;
  return { scale, place: 'tmpfs', dir: '/x', home: { files, bytes: files * 10_000, databases: 3 }, qwenpawHome: null, runs: 1, loadavg: { start: [], end: [] }, steps: all };
}

describe('bench arguments', () => {
  it('takes xlarge, --sqlite, and --scale none only with --sqlite', () => {
    expect(parseBenchArgs(['--scale', 'large,xlarge']).scales).toEqual(['large', 'xlarge']);
    expect(parseBenchArgs(['--scale=none', '--sqlite'])).toMatchObject({ scales: [], sqlite: true });
    expect(parseBenchArgs([]).sqlite).toBe(false);
    expect(() => parseBenchArgs(['--scale', 'none'])).toThrow(BenchUsageError);
    expect(() => parseBenchArgs(['--scale', 'none,large', '--sqlite'])).toThrow(/cannot be combined/);
    expect(() => parseBenchArgs(['--scale', 'huge'])).toThrow(/xlarge/);
  });
});

describe('growth between two scales', () => {
  it('gives the extra peak RSS per extra home and captured file, and judges ratio drift only for large → xlarge', () => {
    const large = scenario('large', 40_000, { 'create-first': [timed(3000, 100, { files: 6000 })], 'cp-a': [timed(2000)] });
    const xlarge = scenario('xlarge', 200_000, { 'create-first': [timed(16_500, 200, { files: 32_000 })], 'cp-a': [timed(10_000)] });
    const g = growthBetween(large, xlarge);
    const create = g.rss.find((r) => r.command === 'create')!;
    // 100 MiB more over 160,000 more home files and 26,000 more captured ones.
    expect(create.perHomeFile).toBeCloseTo((100 * 1024 * 1024) / 160_000, 6);
    expect(create.perCapturedFile).toBeCloseTo((100 * 1024 * 1024) / 26_000, 6);
    expect(create.pass).toBe(false);
    const first = g.ratios.find((r) => r.work === 'first snapshot / cp -a')!;
    expect(first.small).toBeCloseTo(1.5);
    expect(first.big).toBeCloseTo(1.65);
    expect(first.drift).toBeCloseTo(0.1);
    expect(first.pass).toBe(true);

    const medium = scenario('medium', 7000, { 'create-first': [timed(1000, 90)], 'cp-a': [timed(500)] });
    expect(growthBetween(medium, large).ratios[0]!.pass).toBeNull();
    expect(growthBetween(medium, large).rss[0]!.perCapturedFile).toBeNull();
  });
});

describe('report rows', () => {
  it('judges --help against bare node plus 40 ms', () => {
    const node = summarise([timed(50)]);
    expect(helpRow('help', summarise([timed(89)]), node).pass).toBe(true);
    expect(helpRow('help', summarise([timed(91)]), node).pass).toBe(false);
    expect(helpRow('help', summarise([timed(91)]), summarise([{ kind: 'failed', reason: 'x' }])).pass).toBeNull();
  });

  it('puts OpenSSL hashing the same payload beside verify, without changing what verify is judged by', () => {
    const rows = scenarioRows(scenario('large', 40_000, { verify: [timed(500, 70, { bytes: 300e6 })], 'hash-payload': [timed(250)] }), null);
    const verify = rows.find((r) => r.work === 'verify latest')!;
    expect(verify.clawback).toMatch(/= 600 MB\/s/);
    expect(verify.reference).toMatch(/openssl dgst -sha256.* = 1200 MB\/s/);
    expect(verify.ratio).toBe('2.00×');
    expect(verify.pass).toBe(false);
    const missing = scenarioRows(scenario('large', 40_000, { verify: [timed(300, 70, { bytes: 300e6 })], 'hash-payload': [{ kind: 'missing', reason: 'openssl not installed' }] }), null);
    expect(missing.find((r) => r.work === 'verify latest')).toMatchObject({ pass: true, reference: 'openssl dgst: openssl not installed' });
  });

  it('takes the SQLite ratio against the writer-free .backup when the one under the writer did not finish', () => {
    const steps = Object.fromEntries(SQLITE_STEPS.map((k) => [k, []])) as unknown as Record<SqliteStep, StepResult[]>;
    steps['create-writer'].push(timed(3000, 90));
    steps['backup-writer'].push({ kind: 'failed', reason: 'did not complete in 10 s (stopped)' });
    steps['vacuum-into-writer'].push(timed(2500));
    steps['backup-quiet'].push(timed(2000));
    steps['backup-check-hash-quiet'].push(timed(2400));
    const section: SqliteSection = { dbBytes: 5e8, dbRows: 1, runs: 1, steps, integrity: ['ok'], writerCommits: [40], writerFailures: [0] };
    const [ratio, vacuum, checked, promised] = sqliteRows(section);
    expect(ratio!.values.ratio).toBeCloseTo(1.5);
    expect(ratio!.reference).toMatch(/writer stopped.*did not complete/);
    expect(ratio!.pass).toBe(true);
    expect(vacuum!.values.ratio).toBeCloseTo(1.2);
    expect(checked!.pass).toBe(true);
    expect(promised!.values.ratio).toBeCloseTo(1.25);
    expect(promised!.pass).toBeNull();
    expect(sqliteRows({ ...section, integrity: ['*** in database main ***'] })[2]!.pass).toBe(false);
  });
});

describe('createBigWalDatabase', () => {
  it('writes about the bytes asked for, in WAL mode, the same rows for the same seed', () => {
    const rowsOf = (file: string): string[] => {
      const db = new Database(file, { readonly: true });
      try {
        expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
        return (db.prepare('SELECT path, hex(body) AS body FROM chunks ORDER BY id').all() as Array<{ path: string; body: string }>).map((r) => `${r.path}:${r.body}`);
      } finally {
        db.close();
      }
    };
    const a = path.join(scratch, 'a', 'big.sqlite');
    const b = path.join(scratch, 'b', 'big.sqlite');
    const rows = createBigWalDatabase(a, 2_000_000, 5);
    createBigWalDatabase(b, 2_000_000, 5);
    expect(fs.statSync(a).size).toBeGreaterThan(1_900_000);
    expect(fs.statSync(a).size).toBeLessThan(2_600_000);
    const contentA = rowsOf(a);
    expect(contentA).toHaveLength(rows);
    expect(rowsOf(b)).toEqual(contentA);
    expect(() => createBigWalDatabase(a, 1000)).toThrow(/already exists/);
  });
});
