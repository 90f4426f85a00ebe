import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { IntegrityError, RefusedError } from '../../errors.js';
import { writeAll } from '../../formats/file-io.js';
import { readTarStream, TarStreamError, type TarStreamHeader } from '../../formats/tar-stream.js';
import { encodeName, fsPath } from '../../fs-safety/fs-path.js';
import type { Transport } from '../../transport/index.js';

/** One file to bring over: its path in the target and where it goes on this host. */
export interface RemoteFileJob {
  source: string;
  dest: string;
  mode: number;
}

export interface FetchedFile {
  sha256: string;
  size: number;
}

export interface FetchOutcome {
  /** Per source path, what was written; a source absent here vanished in the target (or could not be read there). */
  fetched: Map<string, FetchedFile>;
  /** Bytes that came over the wire. */
  transferredBytes: number;
  /** What the target's tar said about the files it could not read. */
  complaints: string[];
}

/** The member name a remote `tar -cf - -- /abs/path` writes: the path without its leading slashes, as bytes. */
function memberName(source: string): string {
  return encodeName(source).toString('latin1').replace(/^\/+/, '');
}

/** Receives the stream: each entry must be a file that was asked for, or a hard link to one already written. */
class Receiver {
  readonly fetched = new Map<string, FetchedFile>();
  private current: { job: RemoteFileJob; fd: number; hash: ReturnType<typeof createHash>; size: number } | undefined;
  private readonly byMember = new Map<string, RemoteFileJob>();

  constructor(jobs: readonly RemoteFileJob[], private readonly label: string, private readonly onBytes: (bytes: number) => void) {
    for (const job of jobs) this.byMember.set(memberName(job.source), job);
  }

  entry(header: TarStreamHeader): void {
    const name = header.name.toString('latin1');
    const job = this.byMember.get(name);
    if (job === undefined || this.fetched.has(job.source)) this.refuse(name, job === undefined ? 'it was not asked for' : 'it came twice');
    if (header.type === '1') {
      const from = this.byMember.get(header.linkName.toString('latin1'));
      const copied = from === undefined ? undefined : this.fetched.get(from.source);
      if (from === undefined || copied === undefined) this.refuse(name, 'a hard link to a file that was not sent before it');
      fs.copyFileSync(fsPath(from.dest), fsPath(job!.dest), fs.constants.COPYFILE_EXCL);
      fs.chmodSync(fsPath(job!.dest), job!.mode);
      this.fetched.set(job!.source, copied);
      return;
    }
    if (header.type !== '0' && header.type !== '7') this.refuse(name, `its type is ${JSON.stringify(header.type)}, not a regular file`);
    const fd = fs.openSync(fsPath(job!.dest), 'wx', job!.mode);
    this.current = { job: job!, fd, hash: createHash('sha256'), size: 0 };
  }

  data(chunk: Buffer): void {
    const current = this.current!;
    writeAll(current.fd, chunk);
    current.hash.update(chunk);
    current.size += chunk.length;
    this.onBytes(chunk.length);
  }

  end(): void {
    const current = this.current;
    if (current === undefined) return;
    fs.closeSync(current.fd);
    this.current = undefined;
    this.fetched.set(current.job.source, { sha256: current.hash.digest('hex'), size: current.size });
  }

  close(): void {
    if (this.current !== undefined) fs.closeSync(this.current.fd);
    this.current = undefined;
  }

  private refuse(name: string, why: string): never {
    throw new RefusedError('hostile-archive', `refusing entry ${JSON.stringify(name)} in the tar stream from ${this.label}: ${why}`, {
      hint: 'the target sent something other than what was asked; nothing from it was kept. Check the target (its tar, or something tampering with the stream)',
    });
  }
}

function complaintsOf(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/removing leading/i.test(line));
}

/**
 * Brings `jobs` over in ONE `tar -cf - -- PATHS` (paths as NUL-separated bytes on stdin, batched
 * by xargs), writing and hashing each file as it streams. A file the target's tar could not read
 * (vanished, unreadable) is left out of `fetched` and named in `complaints`; a dropped connection,
 * a missing tar or a damaged stream throws (exit 8 or 6), and the caller removes what was written.
 */
export async function fetchFiles(transport: Transport, jobs: readonly RemoteFileJob[], onBytes: (bytes: number) => void = () => undefined): Promise<FetchOutcome> {
  if (jobs.length === 0) return { fetched: new Map(), transferredBytes: 0, complaints: [] };
  const what = `tar -cf - -- ${jobs.length} file${jobs.length === 1 ? '' : 's'}`;
  const proc = transport.spawn('command -v tar >/dev/null 2>&1 || { echo "sh: tar: not found" >&2; exit 127; }; xargs -0 tar -cf - --');
  proc.stdin.end(Buffer.concat(jobs.flatMap((job) => [encodeName(job.source), Buffer.of(0)])));
  let transferredBytes = 0;
  const counted = (async function* (): AsyncGenerator<Buffer> {
    for await (const chunk of proc.stdout as AsyncIterable<Buffer>) {
      transferredBytes += chunk.length;
      yield chunk;
    }
  })();
  const receiver = new Receiver(jobs, transport.label, onBytes);
  let streamError: unknown;
  try {
    await readTarStream(counted, receiver);
  } catch (error) {
    streamError = error;
    proc.kill();
  } finally {
    receiver.close();
  }
  const outcome = await proc.done;
  const failed = outcome.code !== 0 && outcome.code !== 1 && outcome.code !== 123 ? transport.failure(what, outcome) : undefined;
  // What was refused stays refused; otherwise a failed remote side explains a broken stream.
  if (streamError instanceof RefusedError) throw streamError;
  if (failed !== undefined) throw failed;
  if (streamError instanceof TarStreamError) {
    throw new IntegrityError('corrupt-archive', `the tar stream from ${transport.label} is damaged: ${streamError.message}`, { hint: "run the snapshot again; if it persists, check the target's tar" });
  }
  if (streamError !== undefined) throw streamError;
  return { fetched: receiver.fetched, transferredBytes, complaints: complaintsOf(outcome.stderr) };
}
