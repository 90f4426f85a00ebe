import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ExitCode, UnreachableError } from '../../src/errors.js';
import { containerArgv, firstHost, formatTransportSpec, openshellConfigArgv, parseTransportSpec, remoteArgv, shellQuote } from '../../src/transport/index.js';
import { remoteFailure } from '../../src/transport/classify.js';

describe('transport specs', () => {
  it('parses every kind and prints it back canonically', () => {
    const cases: Array<[string, unknown]> = [
      ['local', { kind: 'local' }],
      ['ssh:box', { kind: 'ssh', host: 'box' }],
      ['ssh:alice@box.example:2222', { kind: 'ssh', user: 'alice', host: 'box.example', port: 2222 }],
      ['ssh:[::1]:22', { kind: 'ssh', host: '::1', port: 22 }],
      ['openshell:my-claw', { kind: 'openshell', name: 'my-claw' }],
      ['openshell:my-claw@gw1', { kind: 'openshell', name: 'my-claw', gateway: 'gw1' }],
      ['docker:agent_1', { kind: 'docker', container: 'agent_1' }],
      ['podman:agent', { kind: 'podman', container: 'agent' }],
      ['kubectl:pod-0', { kind: 'kubectl', pod: 'pod-0' }],
      ['kubectl:ns/pod-0:main', { kind: 'kubectl', namespace: 'ns', pod: 'pod-0', container: 'main' }],
      ["exec:unshare -Urm sh -c", { kind: 'exec', command: 'unshare -Urm sh -c' }],
    ];
    for (const [text, spec] of cases) {
      expect(parseTransportSpec(text), text).toEqual(spec);
      expect(formatTransportSpec(parseTransportSpec(text))).toBe(text);
    }
  });

  it('refuses what would be an option, an empty part, a bad port or an unknown kind (usage error)', () => {
    for (const bad of ['ssh:-oProxyCommand=x', 'ssh:', 'ssh:box:0', 'ssh:box:99999', 'ssh:box:x', 'docker:-it', 'ftp:box', 'box', 'kubectl:ns/', 'exec: ', 'openshell:a b']) {
      expect(() => parseTransportSpec(bad), bad).toThrow(/invalid transport/);
      try {
        parseTransportSpec(bad);
      } catch (error) {
        expect((error as { exitCode: number }).exitCode).toBe(ExitCode.usage);
      }
    }
  });
});

describe('argv building', () => {
  const script = "printf '%s' \"$HOME\"; echo 'it''s'";
  it('docker, podman and kubectl run sh -c SCRIPT with stdin kept open', () => {
    expect(remoteArgv(parseTransportSpec('docker:c1'), script)).toEqual(['docker', 'exec', '-i', 'c1', 'sh', '-c', script]);
    expect(remoteArgv(parseTransportSpec('podman:c1'), script)).toEqual(['podman', 'exec', '-i', 'c1', 'sh', '-c', script]);
    expect(remoteArgv(parseTransportSpec('kubectl:ns/p:c'), script)).toEqual(['kubectl', 'exec', '-i', '-n', 'ns', 'p', '-c', 'c', '--', 'sh', '-c', script]);
    expect(remoteArgv(parseTransportSpec('kubectl:p'), script)).toEqual(['kubectl', 'exec', '-i', 'p', '--', 'sh', '-c', script]);
    expect(containerArgv({ kind: 'docker', container: 'c1' }, 'start')).toEqual(['docker', 'start', 'c1']);
  });

  it('ssh sends one remote command in which the script is a single quoted word, after --', () => {
    const argv = remoteArgv(parseTransportSpec('ssh:alice@box:2222'), script, { sshConfig: '/tmp/cfg', controlPath: '/tmp/d/cm' });
    expect(argv.slice(0, 4)).toEqual(['ssh', '-T', '-F', '/tmp/cfg']);
    expect(argv).toContain('BatchMode=yes');
    expect(argv).toContain('ControlPath=/tmp/d/cm');
    expect(argv.slice(-3)).toEqual(['--', 'alice@box', `sh -c ${shellQuote(script)}`]);
    expect(argv[argv.indexOf('-p') + 1]).toBe('2222');
    // What the remote login shell does with that one string: runs exactly the script.
    const remote = argv[argv.length - 1]!;
    expect(execFileSync('sh', ['-c', remote.replace(/^sh -c /, 'printf %s ')]).toString()).toBe(script);
  });

  it('openshell asks for its config block, then connects to that Host through the temp config', () => {
    expect(openshellConfigArgv({ kind: 'openshell', name: 'claw', gateway: 'gw' })).toEqual(['openshell', 'sandbox', '-g', 'gw', 'ssh-config', 'claw']);
    const argv = remoteArgv({ kind: 'openshell', name: 'claw' }, 'true', { sshConfig: '/tmp/x/ssh_config', sshHost: 'openshell-claw.ws' });
    expect(argv.slice(-3)).toEqual(['--', 'openshell-claw.ws', 'sh -c true']);
    expect(firstHost('# made by openshell\nHost openshell-claw.ws\n  User sandbox\n')).toBe('openshell-claw.ws');
  });

  it('exec appends the script as one last argument to the user prefix', () => {
    const argv = remoteArgv(parseTransportSpec("exec:sh -c"), script);
    expect(argv.slice(0, 3)).toEqual(['sh', '-c', 'sh -c "$@"']);
    expect(execFileSync(argv[0]!, argv.slice(1), { env: { HOME: '/h', PATH: process.env.PATH } }).toString()).toBe('/hits\n');
  });

  it('shellQuote round-trips quotes, spaces, newlines and high bytes', () => {
    for (const value of ["a'b", 'x y', 'l1\nl2', '$(rm -rf /)', 'é', '', '-n']) {
      expect(execFileSync('sh', ['-c', `printf %s ${shellQuote(value)}`]).toString()).toBe(value);
    }
  });
});

describe('error classification (exit 8, one line)', () => {
  const context = (via: string) => ({ spec: parseTransportSpec(via), label: via, sandbox: 'web', command: 'tar -cf - -- …' });
  it('tells auth from unreachable for ssh, not-running for containers, and a missing tool', () => {
    const auth = remoteFailure(context('ssh:box'), { code: 255, stderr: 'alice@127.0.0.1: Permission denied (publickey).\n' });
    expect(auth).toBeInstanceOf(UnreachableError);
    expect([auth.code, auth.exitCode]).toEqual(['transport-auth', 8]);
    expect(auth.message).toMatch(/^sandbox web via ssh:box: authentication refused .*running `tar -cf - -- …`/);
    expect(remoteFailure(context('ssh:box'), { code: 255, stderr: 'ssh: connect to host 127.0.0.1 port 1: Connection refused\n' }).code).toBe('transport-unreachable');
    expect(remoteFailure(context('docker:c'), { code: 1, stderr: 'Error response from daemon: container abc is not running\n' }).code).toBe('transport-not-running');
    expect(remoteFailure(context('podman:c'), { code: 125, stderr: 'Error: no container with name or ID "c" found: no such container\n' }).code).toBe('transport-not-running');
    const tool = remoteFailure(context('exec:sh -c'), { code: 127, stderr: 'sh: 1: python3: not found\n' });
    expect([tool.code, tool.message]).toEqual(['transport-missing-tool', 'sandbox web via exec:sh -c: python3 is missing in the target (running `tar -cf - -- …`)']);
    expect(remoteFailure(context('docker:c'), { code: 127, stderr: '', notStarted: 'docker' }).message).toMatch(/docker is not installed on this host/);
    expect(remoteFailure(context('ssh:box'), { code: 2, stderr: 'tar: x: Cannot open\n' }).code).toBe('transport-failed');
    for (const error of [auth, tool]) expect(error.message).not.toContain('\n');
  });
});
