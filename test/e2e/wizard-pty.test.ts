import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLab } from '../../source/config/load.js';
import type { LabFile, LabHost } from '../../source/config/schema.js';
import { buildLikeRelease } from '../../bench/wizard-build.js';
import { driver, seedNatDirector, type Terminal } from '../helpers/wizard-drive.mjs';

/**
 * The built binary in a real terminal (tmux), the way a person runs it: `node dist/lvs-setup.js
 * --dry-run` through the seed's NAT director, saving the lab file, which must describe the same
 * director and service as examples/seed-nat.yaml.
 *
 * NIC names: the lab file names this host's NICs as this machine has them (apply needs that). To
 * compare with the seed's ens33/ens37 exactly, the wizard runs in a fresh network namespace with
 * two unconfigured NICs of those names (a veth pair: a fresh VM's NICs). Where namespaces are not
 * available the test uses this machine's first two NICs and compares the service, the role and
 * each NIC's settings regardless of its name.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const distBin = join(root, 'dist/lvs-setup.js');
let bin = distBin;
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
// A tmux server of our own, its socket in a folder of our own (removed afterwards).
const socketDir = mkdtempSync(join(tmpdir(), 'lvs-wizard-tmux-'));
const socket = join(socketDir, 'tmux.sock');

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-S', socket, ...args], { encoding: 'utf8' });
}

function canUseNetns(): boolean {
  const r = spawnSync(
    'unshare',
    ['-rn', 'sh', '-c', 'ip link add ens33 type veth peer name ens37 && ip link show ens37'],
    { encoding: 'utf8' },
  );
  return r.status === 0;
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * dist/lvs-setup.js as `npm run build` made it, when it is newer than every source; otherwise a
 * private copy built with the same options (never rewriting dist/ under other running tests).
 */
async function builtBinary(scratch: string): Promise<string> {
  const sources = Math.max(
    ...['source', 'screens', 'recipes'].map((d) => newestSource(join(root, d))),
  );
  if (existsSync(distBin) && statSync(distBin).mtimeMs >= sources) return distBin;
  const out = join(scratch, 'lvs-setup.js');
  await buildLikeRelease(join(root, 'source/main.ts'), out);
  return out;
}

/** A terminal for the shared driver: a session of our tmux server. */
function tmuxTerm(session: string): Terminal {
  return {
    capture: async () => tmux('capture-pane', '-p', '-t', session),
    send: async (...keys: string[]) => void tmux('send-keys', '-t', session, ...keys),
    sendLiteral: async (text: string) => void tmux('send-keys', '-t', session, '-l', text),
  };
}

const comparable = (h: LabHost) =>
  Object.values(h.interfaces)
    .map((c) => ({ address: c.address, gateway: c.gateway, dns: c.dns }))
    .sort((a, b) => String(a.address).localeCompare(String(b.address)));

function withoutMacs(h: LabHost): LabHost {
  return {
    ...h,
    interfaces: Object.fromEntries(
      Object.entries(h.interfaces).map(([n, c]) => {
        const { mac: _m, ...rest } = c;
        return [n, rest];
      }),
    ),
  };
}

describe.skipIf(!hasTmux)('the wizard in a real terminal (tmux)', () => {
  let dir = '';
  let scratch = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lvs-wizard-e2e-'));
    scratch = mkdtempSync(join(tmpdir(), 'lvs-wizard-bin-'));
    bin = await builtBinary(scratch);
  }, 120000);
  afterAll(() => {
    spawnSync('tmux', ['-S', socket, 'kill-server']);
    rmSync(socketDir, { recursive: true, force: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('walks the seed NAT director in --dry-run and saves its lab file', async () => {
    // LVS_WIZARD_E2E_NO_NETNS=1 exercises the fallback on a machine that has namespaces.
    const netns = !process.env.LVS_WIZARD_E2E_NO_NETNS && canUseNetns();
    const run = netns
      ? `unshare -rn sh -c 'ip link add ens33 type veth peer name ens37 && exec node ${bin} --dry-run'`
      : `node ${bin} --dry-run`;
    const session = 'nat';
    try {
      // No CI in the environment: Ink prints nothing until exit when CI is set.
      tmux(
        'new-session',
        '-d',
        '-x',
        '120',
        '-y',
        '40',
        '-s',
        session,
        '-c',
        dir,
        `env -u CI TERM=xterm-256color sh -c "${run.replace(/"/g, '\\"')}; echo __EXIT__=\\$?; sleep 600"`,
      );
      const term = tmuxTerm(session);
      const t = driver(term);
      // the seed's NAT director, key by key (shared with the real-kernel lab)
      let s = await seedNatDirector(term);
      expect(s).toContain('Dry run: the review is the end');
      await t.keys('Save the lab file as: seed-nat.yaml', 's');
      await t.keys('Saved seed-nat.yaml (mode 0644)', 'Enter');
      await t.keys('Save the script as: seed-nat-lvs.sh', 'x');
      await t.keys('Saved seed-nat-lvs.sh (mode 0700)', 'Enter');
      s = await t.keys('__EXIT__=0', 'q');
      expect(s).toContain('Dry run: nothing on this host changed.');
      expect(s).toContain('npx lvs-setup apply --lab seed-nat.yaml --host web1');

      const saved = parseLab(readFileSync(join(dir, 'seed-nat.yaml'), 'utf8'));
      if (!saved.ok) throw new Error(JSON.stringify(saved.issues));
      const seedParsed = parseLab(readFileSync(join(root, 'examples/seed-nat.yaml'), 'utf8'));
      if (!seedParsed.ok) throw new Error('the seed does not parse');
      const seed: LabFile = seedParsed.lab.file;
      const file = saved.lab.file;
      expect(file.services).toEqual(seed.services);
      const lvs = file.hosts.lvs;
      const seedLvs = seed.hosts.lvs;
      if (!lvs || !seedLvs) throw new Error('no lvs host');
      expect(lvs.role).toBe('director');
      if (netns) expect(withoutMacs(lvs)).toEqual(seedLvs);
      else expect(comparable(lvs)).toEqual(comparable(seedLvs));
      // The MACs are recorded so `apply` finds this host again by them.
      expect(Object.values(lvs.interfaces).every((c) => /^[0-9a-f:]{17}$/.test(c.mac ?? ''))).toBe(
        true,
      );
      expect(readFileSync(join(dir, 'seed-nat-lvs.sh'), 'utf8')).toMatch(/^#!\/bin\/sh/);
    } finally {
      spawnSync('tmux', ['-S', socket, 'kill-session', '-t', session]);
    }
  }, 300000);

  it('--plain asks numbered questions and Ctrl-C leaves cleanly (exit 130)', async () => {
    const session = 'plain';
    const empty = mkdtempSync(join(tmpdir(), 'lvs-wizard-plain-'));
    try {
      tmux(
        'new-session',
        '-d',
        '-x',
        '120',
        '-y',
        '40',
        '-s',
        session,
        '-c',
        empty,
        `env -u CI TERM=xterm-256color sh -c "node ${bin} --plain --dry-run; echo __EXIT__=\\$?; sleep 600"`,
      );
      const t = driver(tmuxTerm(session));
      await t.waitFor(/1\. Role — This host is/);
      await t.keys(/2\. Role — Directors/, 'Enter');
      await t.keys(/3\. Role — Its name in the lab/, 'Enter');
      const s = await t.keys('__EXIT__=130', 'C-c');
      expect(s).toContain('Interrupted. Nothing was saved and nothing on this host changed.');
    } finally {
      spawnSync('tmux', ['-S', socket, 'kill-session', '-t', session]);
      rmSync(empty, { recursive: true, force: true });
    }
  }, 60000);

  it('the monitor demo draws its table (through the output step it installs) and q quits', async () => {
    const session = 'monitor';
    try {
      tmux(
        'new-session',
        '-d',
        '-x',
        '150',
        '-y',
        '30',
        '-s',
        session,
        `env -u CI TERM=xterm-256color sh -c "node ${bin} monitor --demo --interval 0.5; echo __EXIT__=\\$?; sleep 600"`,
      );
      const t = driver(tmuxTerm(session));
      const first = await t.waitFor(/192\.168\.91\.146:80/);
      expect(first).toMatch(/lvs-setup monitor .*VRRP/);
      expect(first).toContain('[demo]');
      // The selection marker on the first row, and a column header line.
      expect(first).toMatch(/› /);
      const clock = /\d\d:\d\d:\d\d/.exec(first)?.[0];
      expect(clock).toBeDefined();
      // Later frames are drawn in place: a new clock, still one header.
      const later = await t.waitFor((screen: string) => !screen.includes(clock as string));
      expect(later.match(/lvs-setup monitor/g)).toHaveLength(1);
      await t.keys('__EXIT__=0', 'q');
    } finally {
      spawnSync('tmux', ['-S', socket, 'kill-session', '-t', session]);
    }
  }, 60000);
});
