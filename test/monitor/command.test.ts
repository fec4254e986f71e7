import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { monitorCommand } from '../../source/commands/monitor.js';
import type { Output } from '../../source/commands/output.js';
import { DEBIAN12, fakeMachine, fixture } from './helpers.js';

/** `lvs-setup monitor` as the CLI runs it, on a fake director (recorded /proc and ipvsadm). */
function director() {
  const lab = (f: string) =>
    readFileSync(new URL(`../fixtures/proc-net/debian12-lab/${f}`, import.meta.url), 'utf8');
  return fakeMachine({
    files: {
      '/proc/net/ip_vs': fixture(`${DEBIAN12}proc-net-ip_vs.txt`),
      '/proc/net/ip_vs_stats': fixture(`${DEBIAN12}proc-net-ip_vs_stats.txt`),
      '/proc/sys/kernel/osrelease': '6.1.0-27-amd64\n',
      '/boot/config-6.1.0-27-amd64': 'CONFIG_HZ=250\n',
      '/proc/net/fib_trie': lab('fib_trie'),
      '/proc/net/if_inet6': lab('if_inet6'),
      '/run/keepalived.pid': '77\n',
      '/proc/77': '',
      'seed-dr.yaml': readFileSync(new URL('../../examples/seed-dr.yaml', import.meta.url), 'utf8'),
    },
    commands: {
      'ipvsadm -Ln --stats --exact': { stdout: fixture(`${DEBIAN12}ipvsadm-Ln-stats-exact.txt`) },
      'ipvsadm -Ln --rate --exact': { stdout: fixture(`${DEBIAN12}ipvsadm-Ln-rate-exact.txt`) },
    },
  });
}

function output() {
  const out: string[] = [];
  const err: string[] = [];
  const io = {
    out: (t: string) => out.push(t),
    err: (t: string) => err.push(t),
  } as unknown as Output;
  return { io, out, err };
}

describe('lvs-setup monitor (the command)', () => {
  it('--lab: the lab file is read (loaded on demand) and its VIP tells MASTER from BACKUP', async () => {
    const writes: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((t: string) => (writes.push(String(t)), true)) as typeof write;
    try {
      const { io } = output();
      const opts = { once: true, json: true, interval: '0.1' };
      expect(await monitorCommand(director(), opts, io)).toBe(0);
      expect(await monitorCommand(director(), { ...opts, lab: 'seed-dr.yaml' }, io)).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    const [plain, withLab] = writes.map(
      (w) => JSON.parse(w) as { director: { vrrp: string; vipsPresent: string[] } },
    );
    // The recorded table's own VIPs are not on this host: keepalived runs without them.
    expect(plain?.director.vrrp).toBe('BACKUP');
    // seed-dr's VIP 192.168.91.148 is on the host's lo in the /proc capture.
    expect(withLab?.director).toMatchObject({ vrrp: 'MASTER', vipsPresent: ['192.168.91.148'] });
  }, 15_000);

  it('--lab with a missing file says which file', async () => {
    const { io } = output();
    await expect(
      monitorCommand(director(), { once: true, json: true, interval: '1', lab: 'nope.yaml' }, io),
    ).rejects.toThrow(/--lab nope\.yaml: no such file/);
  });
});
