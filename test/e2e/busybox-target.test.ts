import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { busyboxTargetUnavailable, makeBusyboxTarget, type BusyboxTarget } from '../../fixtures/busybox-target.js';
import { parseTransportSpec, remoteArgv } from '../../src/transport/index.js';

const unavailable = busyboxTargetUnavailable();
if (unavailable !== undefined) console.log(`busybox target tests skipped: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('the busybox-only target (exec: through unshare)', () => {
  let target: BusyboxTarget | undefined;
  afterAll(() => target?.remove());

  it('runs sh -c in a target with busybox only, every byte passing both ways', () => {
    target = makeBusyboxTarget();
    const argv = remoteArgv(parseTransportSpec(target.via), 'cat; command -v python3 sqlite3 || echo "no python3 or sqlite3 on $PATH"; tar --help 2>&1 | head -1');
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 13) % 256));
    const out = execFileSync(argv[0]!, argv.slice(1), { input: bytes });
    expect(out.subarray(0, bytes.length).equals(bytes)).toBe(true);
    expect(out.subarray(bytes.length).toString()).toMatch(/^no python3 or sqlite3 on \/bin\nBusyBox v/);
  });
});
