import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRealMachine } from '../../source/machine.js';

/** The real machine's commands and files, with harmless local commands and a scratch folder. */
const machine = createRealMachine();
const dir = mkdtempSync(join(tmpdir(), 'lvs-machine-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Running (a zombie that nobody reaped, as in a container without an init, has ended). */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};

describe('the real machine', () => {
  it('keeps stdout and stderr apart and returns the exit code', async () => {
    const r = await machine.run(['sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(r).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n', timedOut: false });
    expect(r.notFound).toBe(false);
  });

  it('says when the program is not installed (127)', async () => {
    const r = await machine.run(['lvs-setup-no-such-program-xyz']);
    expect(r).toMatchObject({ exitCode: 127, notFound: true });
    expect(r.stderr).toContain('command not found');
  });

  it('feeds input, and streams stdout and stderr to onOutput when asked', async () => {
    const chunks: string[] = [];
    const r = await machine.run(['sh', '-c', 'cat; echo warn >&2'], {
      input: 'line one\n',
      onOutput: (c) => chunks.push(c),
    });
    expect(r.stdout).toBe('line one\n');
    expect(chunks.join('')).toContain('line one');
    expect(chunks.join('')).toContain('warn');
  });

  it('runs commands in the C locale', async () => {
    expect((await machine.run(['sh', '-c', 'echo $LC_ALL'])).stdout).toBe('C\n');
  });

  it('a timeout ends the command and the children it started', async () => {
    const pidFile = join(dir, 'child.pid');
    const r = await machine.run(['sh', '-c', `sleep 30 & echo $! > ${pidFile}; wait`], {
      timeoutMs: 500,
    });
    expect(r.timedOut).toBe(true);
    const child = Number(readFileSync(pidFile, 'utf8'));
    // The background sleep was in the command's process group: it got the signal too.
    await new Promise((res) => setTimeout(res, 200));
    expect(alive(process.pid)).toBe(true);
    expect(alive(child)).toBe(false);
  });

  it('streamed and fed commands (execa) also time out as a group and say when not installed', async () => {
    const pidFile = join(dir, 'child2.pid');
    const chunks: string[] = [];
    const r = await machine.run(
      ['sh', '-c', `echo started; sleep 30 & echo $! > ${pidFile}; wait`],
      {
        timeoutMs: 500,
        onOutput: (c) => chunks.push(c),
      },
    );
    expect(r.timedOut).toBe(true);
    expect(chunks.join('')).toContain('started');
    await new Promise((res) => setTimeout(res, 200));
    expect(alive(Number(readFileSync(pidFile, 'utf8')))).toBe(false);
    const missing = await machine.run(['lvs-setup-no-such-program-xyz'], { input: 'x' });
    expect(missing).toMatchObject({ exitCode: 127, notFound: true });
  });

  it('passes extra environment to a read, and reads large output whole', async () => {
    const r = await machine.run(
      ['sh', '-c', 'echo "$LVS_X"; head -c 300000 /dev/zero | tr "\\0" a'],
      {
        env: { LVS_X: 'given' },
      },
    );
    expect(r.stdout.startsWith('given\n')).toBe(true);
    expect(r.stdout.length).toBe('given\n'.length + 300000);
    expect(r.exitCode).toBe(0);
  });

  it('reads kernel files (/proc/net, /proc/sys) whole, and a missing one as null', async () => {
    expect(await machine.readFile('/proc/sys/kernel/hostname')).toBe(`${hostname()}\n`);
    expect(await machine.readFile('/proc/net/no-such-table')).toBeNull();
    const route = readFileSync('/proc/net/route', 'utf8');
    expect(await machine.readFile('/proc/net/route')).toBe(route);
  });

  it('writes files atomically with the mode asked for', async () => {
    const p = join(dir, 'conf');
    await machine.writeFileAtomic(p, 'a = 1\n', 0o600);
    expect(await machine.readFile(p)).toBe('a = 1\n');
    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(await machine.readFile(join(dir, 'missing'))).toBeNull();
  });
});
