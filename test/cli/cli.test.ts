import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

// These drive the built bundle exactly as a user runs it (`npm test` builds first).
const bin = new URL('../../bin/lvs-setup.cjs', import.meta.url).pathname;
const example = (n: string) => new URL(`../../examples/${n}.yaml`, import.meta.url).pathname;

function run(args: string[], options: SpawnSyncOptions = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, LVS_SETUP_STATE_DIR: mkdtempSync(join(tmpdir(), 'lvs-state-')) },
    ...options,
  });
  return { code: r.status, out: String(r.stdout), err: String(r.stderr) };
}

beforeAll(() => {
  if (!existsSync(new URL('../../dist/lvs-setup.js', import.meta.url))) {
    spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
  }
});

describe('lvs-setup command line', () => {
  it('--help explains every command with examples', () => {
    const r = run(['--help']);
    expect(r.code).toBe(0);
    for (const word of ['detect', 'plan', 'apply', 'undo', 'monitor', 'Examples:', 'Exit codes'])
      expect(r.out).toContain(word);
    for (const sub of ['plan', 'apply', 'detect', 'undo', 'monitor']) {
      const s = run([sub, '--help']);
      expect(s.code).toBe(0);
      expect(s.out).toContain('Example');
    }
  });

  it('--version prints the package version', () => {
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    expect(run(['--version']).out.trim()).toBe(pkg.version);
  });

  it('bad usage exits 2', () => {
    expect(run(['frobnicate']).code).toBe(2);
    expect(run(['plan']).code).toBe(2);
    const r = run(['plan', '--lab', example('seed-nat'), '--target', 'centos7']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--target needs --host');
    expect(
      run(['plan', '--lab', example('seed-nat'), '--host', 'lvs', '--target', 'gentoo']).code,
    ).toBe(2);
  });

  it('an invalid lab file exits 2 and names file, field and value', () => {
    const bad = new URL('../fixtures/bad-labs/04-port-zero.yaml', import.meta.url).pathname;
    const r = run(['plan', '--lab', bad, '--host', 'lvs', '--target', 'centos7']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('04-port-zero.yaml');
    expect(r.err).toContain('services[0].port: expected a port number from 1 to 65535 (got 0)');
  });

  it('an unknown host lists the lab hosts', () => {
    const r = run(['plan', '--lab', example('seed-nat'), '--host', 'nope', '--target', 'centos7']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/lvs \(director\): ens33 192\.168\.91\.141\/24/);
  });

  it('without --host, a machine that matches no lab host is told which hosts exist and its own addresses', () => {
    const r = run(['plan', '--lab', example('seed-nat')]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('No host of lab seed-nat matches this machine');
    expect(r.err).toContain("This machine's addresses");
  });

  it('plan --format sh writes a 0600 script when it holds the VRRP password', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvs-plan-'));
    const out = join(dir, 'lvs1.sh');
    const r = run([
      'plan',
      '--lab',
      example('seed-dr-keepalived'),
      '--host',
      'lvs1',
      '--target',
      'centos7',
      '--format',
      'sh',
      '-o',
      out,
    ]);
    expect(r.code).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(spawnSync('sh', ['-n', out]).status).toBe(0);
  });

  it('detect --json describes this machine', () => {
    const r = run(['detect', '--json']);
    expect(r.code).toBe(0);
    const facts = JSON.parse(r.out) as { nics: Array<{ name: string }>; os: { id: string } };
    expect(facts.nics.some((n) => n.name === 'lo')).toBe(true);
    expect(facts.os.id).toBeTruthy();
  });

  it('apply and undo refuse without root (exit 3); apply --dry-run works', () => {
    if (process.getuid?.() !== 0) return; // needs root to switch to an unprivileged user
    const opts: SpawnSyncOptions = { uid: 65534, gid: 65534, cwd: '/' };
    const apply = run(['apply', '--lab', example('seed-nat'), '--host', 'lvs', '--yes'], opts);
    expect(apply.code).toBe(3);
    expect(apply.err).toContain('needs root');
    expect(apply.err).toContain('--dry-run');
    expect(run(['undo', '--yes'], opts).code).toBe(3);
  });

  it('apply without a terminal and without --yes does not hang', () => {
    // The lab host does not match this machine, so it stops before asking; still must not wait on stdin.
    const r = run(['apply', '--lab', example('seed-nat')], { input: '', timeout: 20000 });
    expect(r.code).toBe(2);
  });
});

describe('lvs-setup in a pipe', () => {
  it('stops quietly when the reader goes away (--help | head)', () => {
    for (const args of ['--help', 'monitor --demo --once --json']) {
      const r = spawnSync(
        'bash',
        [
          '-c',
          `"${process.execPath}" "${bin}" ${args} | head -c 1 >/dev/null; echo "\${PIPESTATUS[0]}"`,
        ],
        { encoding: 'utf8' },
      );
      expect(r.stderr, args).not.toMatch(/EPIPE|Error/);
      expect(r.stdout.trim(), args).toBe('0');
    }
  });
});
