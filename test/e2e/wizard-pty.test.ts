import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLab } from '../../source/config/load.js';
import type { LabFile, LabHost } from '../../source/config/schema.js';
import { buildLikeRelease } from '../../bench/wizard-build.js';

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

class Term {
  constructor(readonly session: string) {}
  screen(): string {
    return tmux('capture-pane', '-p', '-t', this.session);
  }
  async waitFor(
    want: string | RegExp | ((screen: string) => boolean),
    timeoutMs = 60000, // generous: a loaded 2-core machine takes seconds per frame
  ): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = this.screen();
      const ok =
        typeof want === 'string'
          ? s.includes(want)
          : want instanceof RegExp
            ? want.test(s)
            : want(s);
      if (ok) return s;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${String(want)}\n--- screen ---\n${s}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  /** Send keys (tmux key names) and wait until the screen shows `want`. */
  async keys(want: string | RegExp, ...keys: string[]): Promise<string> {
    tmux('send-keys', '-t', this.session, ...keys);
    return this.waitFor(want);
  }
  /** Type literal text and wait until it shows on the focused line. */
  async type(text: string): Promise<string> {
    if (text === '') return this.screen();
    tmux('send-keys', '-t', this.session, '-l', text);
    const esc = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return this.waitFor(new RegExp(`› .*${esc}`));
  }
  /** Clear the focused text field and type `text`. */
  async replace(text: string): Promise<string> {
    if (focusedValue(this.screen()) !== '') {
      tmux('send-keys', '-t', this.session, 'C-u');
      await this.waitFor((s) => focusedValue(s) === '');
    }
    return this.type(text);
  }
}

/** The value on the focused form line (after the label column), without the error mark. */
function focusedValue(screen: string): string {
  const line = screen.split('\n').find((l) => l.startsWith('› ')) ?? '';
  return line
    .slice(22)
    .replace(/✘.*$/, '')
    .replace(/^\s*e\.g\. .*$/, '') // the placeholder of an empty field
    .trim();
}

/** The NIC whose "Use" line has focus on the network screen. */
function focusedNic(screen: string): string | null {
  const lines = screen.split('\n');
  const at = lines.findIndex((l) => /^› Use\b/.test(l));
  for (let i = at; i >= 0; i--) {
    const m = /^(\S+) \((UP|DOWN|UNKNOWN|LOWERLAYERDOWN|DORMANT)/.exec(lines[i] ?? '');
    if (m) return m[1] ?? null;
  }
  return null;
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
      const t = new Term(session);
      const detect = await t.waitFor('Enter continue');
      expect(detect).toContain('NIC');
      await t.keys('This host is', 'Enter');
      await t.keys('› Directors', 'Enter');
      await t.keys('› Its name in the lab', 'Enter');
      await t.replace('lvs');
      await t.keys('› Lab name', 'Enter');
      await t.replace('seed-nat');
      await t.keys('Forwarding mode', 'Enter');
      let s = t.screen();
      if (!/\(•\) nat/.test(s)) s = await t.keys('(•) nat', 'Up');
      expect(s).toContain('gateway = DIP');
      await t.keys('› Service name', 'Enter');
      await t.keys('› VIP', 'Enter');
      await t.replace('192.168.91.141');
      await t.keys('› Port', 'Enter');
      await t.keys('› Protocol', 'Enter');
      await t.keys('› Scheduler', 'Enter');
      await t.keys('(•) lc ', 'Up');
      await t.keys('(•) wrr', 'Up');
      await t.keys('› Persistence', 'Enter');
      await t.replace('120');
      await t.keys('Real servers of web 192.168.91.141:80/tcp (NAT, wrr)', 'Enter');
      await t.keys('Item 1', 'Enter');
      await t.keys('› Name', 'C-u');
      await t.type('web1');
      await t.keys('› Address', 'Enter');
      await t.replace('192.168.81.142');
      await t.keys('› Weight', 'Enter');
      await t.keys('› Its NIC', 'Enter');
      await t.replace('ens33');
      await t.keys('+ add a real server', 'Enter');
      await t.keys('Item 2', 'a');
      await t.keys('› Address', 'Enter');
      await t.waitFor(/› Address\s+192\.168\.81\.143/);
      await t.keys('› Weight', 'Enter');
      await t.keys('› Its NIC', 'Enter');
      await t.keys(/2 web2\s+192\.168\.81\.143\s+1\s+ens33/, 'Enter');
      await t.keys('›  + add', 'Down');
      await t.keys('›  → continue', 'Down');
      s = await t.keys('› Use', 'Enter');

      // Network: the public NIC (ens33, else the first) and the private one (ens37, else the
      // second) get the seed's static addresses; any other NIC is left out.
      const names = [...s.matchAll(/^(\S+) \((?:UP|DOWN|UNKNOWN)/gm)].map((m) => m[1] ?? '');
      const pub = names.includes('ens33') ? 'ens33' : names[0];
      const priv = names.includes('ens37') ? 'ens37' : names.find((n) => n !== pub);
      if (!pub || !priv)
        throw new Error(`the wizard needs two NICs here; it shows ${names.join(', ')}`);
      for (let guard = 0; guard < 20; guard++) {
        s = t.screen();
        if (s.includes('› Firewall')) break;
        const nic = focusedNic(s);
        const want = nic === pub || nic === priv ? 'static' : 'skip';
        const chosen = (x: string) => /^› Use\s.*?\(•\) (\w+)/m.exec(x)?.[1];
        for (let k = 0; k < 3 && chosen(t.screen()) !== want; k++) {
          const before = chosen(t.screen());
          tmux('send-keys', '-t', session, 'Right');
          await t.waitFor((x) => chosen(x) !== before);
        }
        expect(chosen(t.screen())).toBe(want);
        if (want === 'skip') {
          tmux('send-keys', '-t', session, 'Enter');
          await t.waitFor((x) => x.includes('› Firewall') || focusedNic(x) !== nic);
          continue;
        }
        await t.keys('› Address', 'Enter');
        await t.replace(nic === pub ? '192.168.91.141/24' : '192.168.81.141/24');
        await t.keys('› Gateway', 'Enter');
        if (nic === pub) await t.replace('192.168.91.2');
        else await t.replace('');
        await t.keys('› DNS', 'Enter');
        if (nic === pub) await t.replace('192.168.91.2, 8.8.8.8');
        else await t.replace('');
        await t.keys(/› (Use|Firewall)/, 'Enter');
      }
      await t.keys('(•) disable', 'Right');
      s = await t.keys('Topology', 'Enter');
      expect(s).toContain(
        'client ──▶ 192.168.91.141:80/tcp ── lvs (this host) [NAT, wrr, sticky 120 s]',
      );
      s = await t.waitFor(/Plan: \d+ to change, \d+ already ok\.|No changes\./, 90000);
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
      const t = new Term(session);
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
});
