import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The layout rules of STYLE.md, checked over src/**\/*.ts with plain text scanning. Each rule
 * lists every violation as `file:line what`, so a failure says where to look.
 */

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const MAX_FUNCTION_LINES = 80;
const MAX_FILE_LINES = 400;
const MAX_ENGINE_TOP_FILES = 3;
/** Imported by every capability; they import no capability themselves. */
const KERNEL = new Set(['sandbox', 'bundle']);
/** Capability → capabilities it may use besides the kernel (STYLE.md "Rules of the house"). */
const ALLOWED_EDGES: Record<string, readonly string[]> = {
  // The pre-restore snapshot; and config-merge, a pure library (it imports nothing of the engine) with restore's staging as its one user.
  restore: ['capture', 'config-merge'],
  rebuild: ['capture', 'restore'],
  archive: ['qwenpaw'], // export and import of QwenPaw zips
  offsite: ['capture', 'verify'], // a bundle's hashes are checked before it is pushed and after it is pulled
};
/** Single files of another capability that may be imported: the archive's types shared with QwenPaw import. */
const ALLOWED_FILES: Record<string, readonly string[]> = {
  qwenpaw: ['src/engine/archive/types.ts'],
};
/** Reaching the host is the CLI's job; a use outside it that is deliberate goes here, with why. None today. */
const HOST_ALLOWED: ReadonlyArray<{ file: string; pattern: RegExp; why: string }> = [];
const HOST_PATTERNS: ReadonlyArray<[RegExp, string]> = [
  [/\bprocess\.\w+/, 'uses process'],
  [/\bconsole\.\w+/, 'uses console'],
  [/\bos\.(homedir|tmpdir|hostname|loadavg|availableParallelism|cpus)\b/, 'reads a host fact (EngineDeps.host)'],
  [/\bDate\.now\(/, 'reads the clock (EngineDeps.now or .clock)'],
  [/\bfrom\s+['"](node:)?process['"]/, 'imports process'],
  [/\bimport\s*\{[^}]*\b(homedir|tmpdir|hostname|loadavg|availableParallelism)\b[^}]*\}\s*from\s+['"](node:)?os['"]/, 'imports a host fact'],
];

interface SourceFile {
  /** Repo-relative POSIX path. */
  file: string;
  /** The text with comments blanked out (line breaks kept, so line numbers stay right). */
  code: string;
}

interface ImportEdge {
  from: string;
  to: string;
  line: number;
}

/** Blanks // and /* *\/ comments, leaving strings, template literals and regex literals alone. */
function stripComments(text: string): string {
  let out = '';
  let i = 0;
  let lastSignificant = '';
  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === '/' && next === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else if (c === '"' || c === "'" || c === '`' || (c === '/' && /^$|[(,=:[!&|?{};+\-*%<>~^]$/.test(lastSignificant))) {
      const start = i;
      i = skipLiteral(text, i);
      out += text.slice(start, i);
      lastSignificant = 'x';
    } else {
      out += c;
      if (!/\s/.test(c)) lastSignificant = c;
      i++;
    }
  }
  return out;
}

/** The index just past the string, template or regex literal that starts at `start`. */
function skipLiteral(text: string, start: number): number {
  const quote = text[start]!;
  let i = start + 1;
  let inClass = false;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\\') i += 2;
    else if (quote === '/' && (c === '[' || c === ']')) {
      inClass = c === '[';
      i++;
    } else if (c === quote && !inClass) return i + 1;
    else if (c === '\n' && quote !== '`') return i;
    else i++;
  }
  return i;
}

function listSources(dir: string): SourceFile[] {
  const found: SourceFile[] = [];
  const walk = (abs: string): void => {
    for (const dirent of fs.readdirSync(abs, { withFileTypes: true })) {
      const full = path.join(abs, dirent.name);
      if (dirent.isDirectory()) walk(full);
      else if (dirent.name.endsWith('.ts') && !dirent.name.endsWith('.d.ts')) {
        found.push({ file: path.relative(REPO, full).split(path.sep).join('/'), code: stripComments(fs.readFileSync(full, 'utf8')) });
      }
    }
  };
  walk(dir);
  return found.sort((a, b) => (a.file < b.file ? -1 : 1));
}

function lineAt(code: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (code.charCodeAt(i) === 10) line++;
  return line;
}

const IMPORT_PATTERNS = [
  /^[ \t]*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/gm,
  /^[ \t]*import\s*['"]([^'"]+)['"]/gm,
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
];

/** Every relative import (static, type-only, re-export, side-effect or dynamic) resolved to a repo path. */
function importsOf(source: SourceFile, exists: (file: string) => boolean): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const pattern of IMPORT_PATTERNS) {
    for (const match of source.code.matchAll(pattern)) {
      const spec = match[1]!;
      if (!spec.startsWith('.')) continue;
      const base = path.posix.join(path.posix.dirname(source.file), spec);
      const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, `${base}/index.ts`];
      const to = candidates.find(exists);
      if (to !== undefined) edges.push({ from: source.file, to, line: lineAt(source.code, match.index!) });
    }
  }
  return edges;
}

/** One shortest cycle through each strongly connected component of more than one file (or a file importing itself). */
function findCycles(edges: readonly ImportEdge[]): ImportEdge[][] {
  const out = new Map<string, ImportEdge[]>();
  for (const edge of edges) out.set(edge.from, [...(out.get(edge.from) ?? []), edge]);
  const cycles: ImportEdge[][] = [];
  const covered = new Set<string>();
  for (const start of [...out.keys()].sort()) {
    if (covered.has(start)) continue;
    const cycle = shortestCycle(start, out);
    if (cycle === undefined) continue;
    for (const edge of cycle) covered.add(edge.from);
    cycles.push(cycle);
  }
  return cycles;
}

function shortestCycle(start: string, out: Map<string, ImportEdge[]>): ImportEdge[] | undefined {
  const via = new Map<string, ImportEdge>();
  const queue = [start];
  while (queue.length > 0) {
    const current = queue.shift()!;
    for (const edge of out.get(current) ?? []) {
      if (edge.to === start) {
        const path: ImportEdge[] = [edge];
        for (let at = current; at !== start; at = via.get(at)!.from) path.unshift(via.get(at)!);
        return path;
      }
      if (!via.has(edge.to)) {
        via.set(edge.to, edge);
        queue.push(edge.to);
      }
    }
  }
  return undefined;
}

const DECLARATION = [
  /^\s*(export\s+)?(default\s+)?(async\s+)?function\b/,
  /^\s*((public|private|protected|static|readonly|override|async|get|set)\s+)*(?!(if|for|while|switch|catch|return|else|do|try|new|await|throw|typeof|function|super|with)\b)[A-Za-z_$][\w$]*\s*(<[^>]*>)?\s*\(/,
  /=>\s*\{\s*$/,
];

/** Functions, methods and block-bodied arrows longer than `max` lines, from the declaration line to the brace closing it at the same indent. */
function longFunctions(source: SourceFile, max: number): string[] {
  const lines = source.code.split('\n');
  const found: string[] = [];
  const indent = (line: string): number => line.length - line.trimStart().length;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!DECLARATION.some((pattern) => pattern.test(line))) continue;
    const depth = indent(line);
    let open = -1;
    for (let j = i; j < Math.min(lines.length, i + 20); j++) {
      const text = lines[j]!.trimEnd();
      if (j > i && indent(lines[j]!) < depth && text.trim() !== '') break;
      if (text.endsWith('{') && (j === i || indent(lines[j]!) === depth)) {
        open = j;
        break;
      }
      if (text.endsWith(';')) break;
    }
    if (open < 0) continue;
    let close = open + 1;
    while (close < lines.length && !(indent(lines[close]!) === depth && lines[close]!.trimStart().startsWith('}'))) close++;
    const length = close - i + 1;
    if (close < lines.length && length > max) found.push(`${source.file}:${i + 1} ${line.trim().slice(0, 60)} is ${length} lines`);
  }
  return found;
}

function capabilityOf(file: string): string | undefined {
  return /^src\/engine\/([^/]+)\//.exec(file)?.[1];
}

function crossCapability(edge: ImportEdge): string | undefined {
  const from = capabilityOf(edge.from);
  const to = capabilityOf(edge.to);
  if (from === undefined || to === undefined || from === to) return undefined;
  if (KERNEL.has(to) && !KERNEL.has(from)) return undefined;
  if (KERNEL.has(to) && KERNEL.has(from)) return undefined;
  if ((ALLOWED_EDGES[from] ?? []).includes(to) || (ALLOWED_FILES[from] ?? []).includes(edge.to)) return undefined;
  return `${edge.from}:${edge.line} (${from}) imports ${edge.to} (${to})`;
}

function layerViolation(edge: ImportEdge): string | undefined {
  const inEngine = edge.from.startsWith('src/engine/');
  const inCli = edge.from.startsWith('src/cli/');
  if (!inCli && edge.to.startsWith('src/cli/')) return `${edge.from}:${edge.line} imports ${edge.to} (only the CLI imports the CLI)`;
  if (!inEngine && !inCli && edge.to.startsWith('src/engine/')) return `${edge.from}:${edge.line} imports ${edge.to} (below the engine)`;
  return undefined;
}

function hostUses(source: SourceFile): string[] {
  if (source.file.startsWith('src/cli/')) return [];
  const found: string[] = [];
  source.code.split('\n').forEach((line, i) => {
    for (const [pattern, what] of HOST_PATTERNS) {
      if (!pattern.test(line)) continue;
      if (HOST_ALLOWED.some((allowed) => allowed.file === source.file && allowed.pattern.test(line))) continue;
      found.push(`${source.file}:${i + 1} ${what}: ${line.trim().slice(0, 80)}`);
    }
  });
  return found;
}

describe('the scanner itself', () => {
  const src = (file: string, code: string): SourceFile => ({ file, code: stripComments(code) });

  it('blanks comments but keeps strings and regex literals', () => {
    const code = stripComments("const a = '//not'; // process.exit()\n/* console.log\n */ const r = /\\/*x/; const b = `/*`;\n");
    expect(code).toContain("'//not'");
    expect(code).not.toContain('process');
    expect(code).not.toContain('console');
    expect(code.split('\n')).toHaveLength(4);
    expect(code).toContain('/\\/*x/');
    expect(code).toContain('`/*`');
  });

  it('resolves static, type-only, multi-line and dynamic imports, and finds a cycle through them', () => {
    const files = new Set(['src/a.ts', 'src/b.ts', 'src/c.ts']);
    const edges = [
      ...importsOf(src('src/a.ts', "import type {\n  B,\n} from './b.js';\nimport fs from 'node:fs';"), (f) => files.has(f)),
      ...importsOf(src('src/b.ts', "export { c } from './c.js';"), (f) => files.has(f)),
      ...importsOf(src('src/c.ts', "// import './b.js'\nconst a = await import('./a.js');"), (f) => files.has(f)),
    ];
    expect(edges.map((e) => `${e.from}:${e.line}>${e.to}`)).toEqual(['src/a.ts:1>src/b.ts', 'src/b.ts:1>src/c.ts', 'src/c.ts:2>src/a.ts']);
    expect(findCycles(edges).map((cycle) => cycle.map((e) => e.from))).toEqual([['src/a.ts', 'src/b.ts', 'src/c.ts']]);
    expect(findCycles(edges.slice(0, 2))).toEqual([]);
  });

  it('measures functions, methods and arrows from declaration to closing brace', () => {
    const body = (n: number): string => Array.from({ length: n }, (_, i) => `    step${i}();`).join('\n');
    const code = `export async function long(\n  a: string,\n): Promise<void> {\n${body(80)}\n}\nclass K {\n  private m(): void {\n${body(10)}\n  }\n}\nconst f = (x: number) => {\n${body(79)}\n};\n`;
    expect(longFunctions(src('src/x.ts', code), 80)).toEqual(['src/x.ts:1 export async function long( is 84 lines', 'src/x.ts:99 const f = (x: number) => { is 81 lines']);
  });

  it('flags host access outside the CLI, and allows it inside', () => {
    expect(hostUses(src('src/engine/x.ts', "import { homedir } from 'node:os';\nconst p = process.pid;"))).toHaveLength(2);
    expect(hostUses(src('src/cli/x.ts', 'process.exit(1);'))).toEqual([]);
  });
});

describe('architecture of src/', () => {
  const sources = listSources(path.join(REPO, 'src'));
  const known = new Set(sources.map((s) => s.file));
  const edges = sources.flatMap((source) => importsOf(source, (file) => known.has(file)));

  it('reads the source tree', () => {
    expect(sources.length).toBeGreaterThan(50);
    expect(edges.length).toBeGreaterThan(100);
  });

  it('has no import cycle (type-only and dynamic imports count)', () => {
    const cycles = findCycles(edges).map((cycle) => cycle.map((e) => `${e.from}:${e.line}`).join(' → ') + ` → ${cycle[0]!.from}`);
    expect(cycles).toEqual([]);
  });

  it('touches process, console and host facts (home and temp dir, hostname, load, clock) only in src/cli', () => {
    expect(sources.flatMap(hostUses)).toEqual([]);
  });

  it(`keeps at most ${MAX_ENGINE_TOP_FILES} files at the top of src/engine`, () => {
    const top = sources.filter((s) => /^src\/engine\/[^/]+\.ts$/.test(s.file)).map((s) => s.file);
    expect(top.length, top.join(', ')).toBeLessThanOrEqual(MAX_ENGINE_TOP_FILES);
  });

  it('imports across capability folders only into the kernel or along the allowed edges', () => {
    expect(edges.map(crossCapability).filter((v) => v !== undefined)).toEqual([]);
  });

  it('never imports the engine from below it, nor the CLI from outside it', () => {
    expect(edges.map(layerViolation).filter((v) => v !== undefined)).toEqual([]);
  });

  it(`has no function over ${MAX_FUNCTION_LINES} lines`, () => {
    expect(sources.flatMap((s) => longFunctions(s, MAX_FUNCTION_LINES))).toEqual([]);
  });

  it(`has no file over ${MAX_FILE_LINES} lines`, () => {
    const long = sources.map((s) => ({ file: s.file, lines: s.code.replace(/\n$/, '').split('\n').length })).filter((s) => s.lines > MAX_FILE_LINES);
    expect(long.map((s) => `${s.file}:${MAX_FILE_LINES + 1} has ${s.lines} lines`)).toEqual([]);
  });
});
