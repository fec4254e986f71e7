import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  findIpvsRead,
  ipvsadmReader,
  netlinkReader,
  withFallback,
  type CounterReader,
} from '../../source/monitor/counter-reader.js';
import { parseIpvsadmStats } from '../../source/monitor/parse.js';
import { createIpvsSource } from '../../source/monitor/sources.js';
import { DEBIAN12, debianDirector, fakeMachine, fixture } from './helpers.js';

const FAKE = fileURLToPath(new URL('./fake-ipvs-read.mjs', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BUILT = path.join(REPO, 'dist/ipvs-read');
const STATS = fixture(`${DEBIAN12}ipvsadm-Ln-stats-exact.txt`);
const RATE = fixture(`${DEBIAN12}ipvsadm-Ln-rate-exact.txt`);

let dir: string;
let readers: CounterReader[] = [];
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'counter-reader-'));
  writeFileSync(path.join(dir, 'stats.txt'), STATS);
  writeFileSync(path.join(dir, 'rate.txt'), RATE);
});
afterEach(() => {
  for (const r of readers) r.close();
  readers = [];
  rmSync(dir, { recursive: true, force: true });
});

/** A shell stand-in for the helper: `script` run by sh -c with `args` as $0, $1, … */
function shReader(script: string, args: string[], timeoutMs?: number): CounterReader {
  return netlinkReader('/bin/sh', {
    args: ['-c', script, ...args],
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
}

function fake(mode = 'ok', timeoutMs?: number): CounterReader {
  const r = netlinkReader(process.execPath, {
    args: [
      FAKE,
      `--stats=${path.join(dir, 'stats.txt')}`,
      `--rate=${path.join(dir, 'rate.txt')}`,
      `--starts=${path.join(dir, 'starts')}`,
      `--mode=${mode}`,
    ],
    ...(timeoutMs ? { timeoutMs } : {}),
  });
  readers.push(r);
  return r;
}
const starts = () =>
  existsSync(path.join(dir, 'starts'))
    ? readFileSync(path.join(dir, 'starts'), 'utf8').trim().split('\n').length
    : 0;

describe('netlinkReader (the resident helper, here a stand-in speaking its protocol)', () => {
  it('answers each request with the listing, from one process', async () => {
    const r = fake();
    expect(r.via).toBe('netlink');
    const a = await r.read('stats');
    const b = await r.read('rate');
    const c = await r.read('stats');
    expect(a).toMatchObject({ exitCode: 0, stdout: STATS, timedOut: false, notFound: false });
    expect(b.stdout).toBe(RATE);
    expect(c.stdout).toBe(STATS);
    expect(starts()).toBe(1);
    // what the source does with it: the same parse as ipvsadm's own output
    expect(parseIpvsadmStats(a.stdout)).toEqual(parseIpvsadmStats(STATS));
  });

  it('puts a reply together from small pieces, the end line split between two', async () => {
    const r = fake('chunked');
    expect((await r.read('rate')).stdout).toBe(RATE);
    expect((await r.read('stats')).stdout).toBe(STATS);
  });

  it('answers requests made at once in order, each with its own listing', async () => {
    const r = fake('chunked');
    const [a, b, c] = await Promise.all([r.read('stats'), r.read('rate'), r.read('stats')]);
    expect([a.stdout, b.stdout, c.stdout]).toEqual([STATS, RATE, STATS]);
  });

  it('turns an #error reply into a failed result that says why', async () => {
    const r = fake('error');
    const a = await r.read('stats');
    expect(a.exitCode).toBe(1);
    expect(a.stdout).toBe('');
    expect(a.stderr).toBe('ipvs-read: reading IPVS needs root (CAP_NET_ADMIN)');
  });

  it('reports a helper that dies, and starts it again at the next reading', async () => {
    const r = fake('die-after=1');
    expect((await r.read('stats')).exitCode).toBe(0);
    const died = await r.read('stats');
    expect(died.exitCode).toBe(1);
    expect(died.stderr).toMatch(/ipvs-read ended \(exit 3\)/);
    expect((await r.read('rate')).stdout).toBe(RATE);
    expect(starts()).toBe(2);
  });

  it('gives up on a helper that does not answer, and kills it', async () => {
    // a shell stand-in that starts at once, says its pid and never answers
    const pidFile = path.join(dir, 'silent.pid');
    const r = shReader('echo $$ > "$0"; exec sleep 1000', [pidFile], 500);
    readers.push(r);
    const t0 = Date.now();
    const a = await r.read('stats');
    expect(a).toMatchObject({ exitCode: 1, timedOut: true });
    expect(a.stderr).toBe('ipvs-read: no answer within 500 ms');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(490);
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    const gone = async () => {
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(pid, 0);
        } catch {
          return true;
        }
        await new Promise((res) => setTimeout(res, 50));
      }
      return false;
    };
    expect(await gone()).toBe(true);
  });

  it('ends a reading in flight when closed, and reads again afterwards', async () => {
    // the first helper hangs on its first request; the next one (the marker file exists) answers
    const marker = path.join(dir, 'hung-once');
    const r = shReader(
      'while read l; do [ -e "$1" ] || { : > "$1"; exec sleep 1000; }; cat "$0"; echo "#end"; done',
      [path.join(dir, 'stats.txt'), marker],
    );
    readers.push(r);
    const reading = r.read('stats');
    while (!existsSync(marker)) await new Promise((res) => setTimeout(res, 20));
    r.close();
    expect(await reading).toMatchObject({ exitCode: 1, stderr: 'ipvs-read: closed' });
    expect(await r.read('stats')).toMatchObject({ exitCode: 0, stdout: STATS });
  });

  it('takes an answer that came while node was busy past the timeout (the timer runs first)', async () => {
    // a shell stand-in: no start-up time to speak of; it answers 0.1 s after each request
    const answered = path.join(dir, 'answered');
    const r = shReader(
      'while read l; do sleep 0.1; cat "$0"; echo "#end"; : > "$1"; done',
      [path.join(dir, 'stats.txt'), answered],
      300,
    );
    readers.push(r);
    const reading = r.read('stats');
    // the request goes out (the reading starts on a later turn of the loop), then node is busy
    // for a second (a slow VM's start-up): the answer waits in the pipe meanwhile
    // (busy in a setImmediate callback: the loop's next turn begins with timers, as after a
    // render that ran from an I/O callback)
    await new Promise((res) => setTimeout(res, 20));
    await new Promise<void>((res) =>
      setImmediate(() => {
        // until the answer is in the pipe and the timeout has passed (at most 10 s)
        const t0 = Date.now();
        while (Date.now() - t0 < 10_000 && !(existsSync(answered) && Date.now() - t0 > 400));
        res();
      }),
    );
    expect(await reading).toMatchObject({ exitCode: 0, stdout: STATS, timedOut: false });
  });

  it('reports a program that is not there as not found', async () => {
    const r = netlinkReader(path.join(dir, 'no-such-ipvs-read'));
    readers.push(r);
    expect(await r.read('stats')).toMatchObject({ exitCode: 1, notFound: true });
  });

  it('does not keep node running: a process that read once exits by itself', () => {
    const script = `
      import { netlinkReader } from ${JSON.stringify(path.join(REPO, 'source/monitor/counter-reader.ts'))};
      const r = netlinkReader(process.execPath, { args: ${JSON.stringify([FAKE, `--stats=${path.join(dir, 'stats.txt')}`])} });
      const a = await r.read('stats');
      console.log(a.exitCode, a.stdout.length);
    `;
    const file = path.join(dir, 'read-once.mts');
    writeFileSync(file, script);
    const tsx = path.join(REPO, 'node_modules/.bin/tsx');
    const t0 = Date.now();
    const run = spawnSync(tsx, [file], { encoding: 'utf8', timeout: 20000, cwd: dir });
    expect(run.error).toBeUndefined();
    expect(run.stdout.trim()).toBe(`0 ${STATS.length}`);
    expect(run.status).toBe(0);
    expect(Date.now() - t0).toBeLessThan(15000);
  });
});

describe('withFallback', () => {
  const ipvsadmMachine = () =>
    fakeMachine({
      commands: {
        'ipvsadm -Ln --stats --exact': { stdout: STATS },
        'ipvsadm -Ln --rate --exact': { stdout: RATE },
      },
    });

  it('keeps to the helper while it answers', async () => {
    const m = ipvsadmMachine();
    const r = withFallback(fake(), ipvsadmReader(m));
    expect((await r.read('stats')).stdout).toBe(STATS);
    expect((await r.read('rate')).stdout).toBe(RATE);
    expect(r.via).toBe('netlink');
    expect(r.handedOver).toBeNull();
    expect(m.calls).toEqual([]);
  });

  it('hands over to ipvsadm for good at the helper’s first failure, and that reading is ipvsadm’s', async () => {
    const m = ipvsadmMachine();
    const r = withFallback(fake('error'), ipvsadmReader(m));
    const a = await r.read('stats');
    expect(a).toMatchObject({ exitCode: 0, stdout: STATS });
    expect(r.via).toBe('ipvsadm');
    expect(r.handedOver).toMatch(/needs root/);
    await r.read('rate');
    expect(m.calls).toEqual([
      ['ipvsadm', '-Ln', '--stats', '--exact'],
      ['ipvsadm', '-Ln', '--rate', '--exact'],
    ]);
    expect(starts()).toBe(1);
  });

  it('hands over when the helper cannot run on this machine (a binary of another architecture)', async () => {
    const alien = path.join(dir, 'ipvs-read');
    writeFileSync(alien, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0]));
    chmodSync(alien, 0o755);
    const m = ipvsadmMachine();
    const nl = netlinkReader(alien);
    readers.push(nl);
    const r = withFallback(nl, ipvsadmReader(m));
    expect((await r.read('stats')).stdout).toBe(STATS);
    expect(r.via).toBe('ipvsadm');
  });
});

describe('createIpvsSource with a counter reader', () => {
  it('reads counters through it and says which in the snapshot', async () => {
    const m = debianDirector();
    const reader = fake();
    let closed = 0;
    const counted: CounterReader = {
      get via() {
        return reader.via;
      },
      read: (k) => reader.read(k),
      close: () => {
        closed++;
        reader.close();
      },
    };
    const source = createIpvsSource(m, { counters: counted });
    const s = await source.read();
    expect(s.countersFrom).toBe('netlink');
    expect(m.calls.filter((c) => c[0] === 'ipvsadm' && c.includes('--exact'))).toEqual([]);
    const withCounters = s.services.flatMap((x) => x.destinations).filter((d) => d.counters);
    expect(withCounters.length).toBeGreaterThan(0);
    expect(starts()).toBe(1);
    source.close?.();
    expect(closed).toBe(1);
  });

  it('says in the snapshot when the helper gave way to ipvsadm, and why', async () => {
    const m = debianDirector();
    const source = createIpvsSource(m, { counters: withFallback(fake('error'), ipvsadmReader(m)) });
    const s = await source.read();
    expect(s.countersFrom).toBe('ipvsadm');
    expect(s.countersHandover).toBe('ipvs-read: reading IPVS needs root (CAP_NET_ADMIN)');
    expect(s.warnings).toContain(
      'Counters are read with ipvsadm: ipvs-read: reading IPVS needs root (CAP_NET_ADMIN).',
    );
    source.close?.();
  });
});

describe('findIpvsRead', () => {
  it('takes LVS_SETUP_IPVS_READ, which "off" turns off, and only an executable', () => {
    const exe = path.join(dir, 'reader');
    writeFileSync(exe, '#!/bin/sh\n');
    chmodSync(exe, 0o755);
    const env = (v: string | undefined) => (n: string) =>
      n === 'LVS_SETUP_IPVS_READ' ? v : undefined;
    expect(findIpvsRead(env(exe))).toBe(exe);
    expect(findIpvsRead(env('off'))).toBeNull();
    chmodSync(exe, 0o644);
    expect(findIpvsRead(env(exe))).toBeNull();
  });

  it('finds the built one from the source tree (npm test builds first)', () => {
    expect(findIpvsRead(() => undefined)).toBe(BUILT);
  });
});

describe('dist/ipvs-read, the built helper, on this machine', () => {
  const hasIpvs = existsSync('/proc/net/ip_vs');

  it('is a static executable', () => {
    // file(1) is one of .ci/run's packages
    const file = spawnSync('file', [BUILT], { encoding: 'utf8' });
    expect(file.error).toBeUndefined();
    expect(file.stdout).toMatch(/ELF .*(statically linked|static-pie linked)/);
  });

  it('prints a listing, or says that this kernel has no IPVS; explains its usage', () => {
    const r = spawnSync(BUILT, ['--stats'], { encoding: 'utf8' });
    if (hasIpvs) {
      expect(r.stdout).toMatch(/^Prot LocalAddress:Port\s+Conns/m);
    } else {
      expect(r.status).toBe(1);
      expect(r.stderr).toBe('ipvs-read: the kernel has no IPVS (the ip_vs module is not loaded)\n');
    }
    const usage = spawnSync(BUILT, ['--bogus'], { encoding: 'utf8' });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/^usage: ipvs-read \[--stats \| --rate \| --serve\]/);
  });

  it('serves: one reply per line, each ended by #end, and exits at end of input', async () => {
    const child = spawn(BUILT, ['--serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stdin.end('stats\nnonsense\nrate\n');
    const code = await new Promise<number | null>((res) => child.on('exit', res));
    expect(code).toBe(0);
    const replies = out.split('#end\n');
    expect(replies).toHaveLength(4);
    expect(replies[1]).toBe('#error 22 expected a line: stats or rate\n');
    if (!hasIpvs) {
      expect(replies[0]).toBe('#error 2 the kernel has no IPVS (the ip_vs module is not loaded)\n');
    }
  });
});
