import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { Machine } from '../../source/boundary.js';
import { prepare } from '../../source/commands/common.js';
import type { DistroKey } from '../../source/facts/types.js';
import { renderSh } from '../../source/plan/render.js';
import { exampleLab } from '../helpers/recipe-facts.js';

/**
 * Golden tests on `plan --target DISTRO --format sh`: the script for a fresh VM, through the same
 * prepare + renderSh the CLI uses. The parts the ipvs, keepalived, nginx and nfs recipes write are
 * kept as files under test/fixtures/recipes/golden (vitest -u rewrites them after a deliberate
 * change); the rest of the script belongs to other recipes and is only checked with sh -n.
 */

const VERSION = '0.0.0-test';

/** --target never touches the machine: any call is a bug. */
const noMachine = new Proxy({} as Machine, {
  get(_t, prop) {
    throw new Error(`plan --target used the machine (${String(prop)})`);
  },
});

async function script(labFile: string, host: string, distro: DistroKey): Promise<string> {
  const p = await prepare(noMachine, exampleLab(labFile), host, { target: distro });
  return renderSh(p.plan, VERSION);
}

const MINE = /^# --- .*\[(ipvs|keepalived|nginx|nfs):[^\]]*\]$/;

/** The sections of the script that the four recipes made. */
function mySections(sh: string): string {
  const out: string[] = [];
  let on = false;
  for (const line of sh.split('\n')) {
    if (line.startsWith('# --- ')) on = MINE.test(line);
    else if (line.startsWith("echo 'lvs-setup: host ")) on = false;
    if (on) out.push(line);
  }
  return `${out.join('\n').trimEnd()}\n`;
}

/** The script without its comment lines (the explanations may name what the code never does). */
const code = (sh: string) =>
  sh
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');

function shSyntax(text: string): { status: number | null; stderr: string } {
  const r = spawnSync('sh', ['-n'], { input: text, encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

const CASES: Array<[string, string, DistroKey]> = [
  ['seed-nat.yaml', 'lvs', 'centos7'],
  ['seed-nat.yaml', 'web1', 'centos7'],
  ['seed-nat.yaml', 'nfs', 'centos7'],
  ['seed-dr.yaml', 'lvs', 'centos7'],
  ['seed-dr.yaml', 'web1', 'centos7'],
  ['seed-dr-keepalived.yaml', 'lvs1', 'centos7'],
  ['seed-dr-keepalived.yaml', 'lvs2', 'centos7'],
  ['seed-dr-keepalived.yaml', 'lvs1', 'rocky9'],
  ['seed-dr-keepalived.yaml', 'lvs2', 'debian12'],
  ['seed-nat.yaml', 'lvs', 'rocky9'],
  ['seed-nat.yaml', 'lvs', 'debian12'],
  ['seed-nat.yaml', 'web1', 'debian12'],
  ['seed-nat.yaml', 'nfs', 'debian12'],
  ['seed-nat.yaml', 'nfs', 'ubuntu24'],
  ['tun.yaml', 'lvs', 'rocky9'],
];

describe('golden: plan --target --format sh', () => {
  it.each(CASES)(
    '%s %s on %s: passes sh -n and matches its golden sections',
    async (lab, host, distro) => {
      const sh = await script(lab, host, distro);
      expect(shSyntax(sh)).toEqual({ status: 0, stderr: '' });
      const name = `${lab.replace(/\.yaml$/, '')}-${host}-${distro}.sh`;
      await expect(mySections(sh)).toMatchFileSnapshot(`../fixtures/recipes/golden/${name}`);
    },
  );

  it('director 141 (seed NAT): the seed’s rules in one ipvsadm -R batch, saved for boot', async () => {
    const sh = await script('seed-nat.yaml', 'lvs', 'centos7');
    const batch =
      "ipvsadm -R <<'LVS_SETUP_EOF'\n-A -t 192.168.91.141:80 -s wrr -p 120\n-a -t 192.168.91.141:80 -r 192.168.81.142:80 -m -w 1\n-a -t 192.168.91.141:80 -r 192.168.81.143:80 -m -w 1\nLVS_SETUP_EOF";
    expect(sh).toContain(batch);
    expect(sh).toContain(
      "cat > /etc/sysconfig/ipvsadm.lvs-setup-tmp <<'LVS_SETUP_EOF'\n-A -t 192.168.91.141:80 -s wrr -p 120\n",
    );
    expect(sh).toContain('systemctl enable ipvsadm.service');
    expect(code(sh)).not.toMatch(/ipvsadm -C|^-C/m);
    // The seed's mistake is impossible: no line carries two forwarding flags.
    for (const l of code(sh).split('\n'))
      expect([...l.matchAll(/(^|\s)(-m|-g|-i)(?=\s|$)/g)].length).toBeLessThan(2);
  });

  it('director 145 (seed DR): -g', async () => {
    const sh = await script('seed-dr.yaml', 'lvs', 'centos7');
    expect(sh).toContain('-a -t 192.168.91.148:80 -r 192.168.91.146:80 -g -w 1\n');
    expect(sh).toContain('-a -t 192.168.91.148:80 -r 192.168.91.147:80 -g -w 1\n');
    expect(sh).not.toMatch(/-r \S+ -m /);
  });

  it.each([
    ['centos7', '1.3.5'],
    ['rocky9', '2.2.8'],
    ['debian12', '2.2.7'],
  ] as const)('keepalived pair on %s (keepalived %s)', async (distro, version) => {
    for (const [host, state, priority] of [
      ['lvs1', 'MASTER', 100],
      ['lvs2', 'BACKUP', 90],
    ] as const) {
      const sh = await script('seed-dr-keepalived.yaml', host, distro);
      expect(sh).toContain(`# keepalived ${version}: the vrrp_instance`);
      expect(sh).toContain(
        `    state ${state}\n    interface ens33\n    virtual_router_id 51\n    priority ${priority}\n    advert_int 1\n`,
      );
      expect(sh).toContain('        auth_type PASS\n        auth_pass 1111\n');
      expect(sh).toContain('        192.168.91.148/32 dev ens33 label ens33:0\n');
      expect(sh).toContain('    delay_loop 6\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n');
      // TCP_CHECK's retry count is "retry" from keepalived 1.3.0 on, CentOS 7's 1.3.5 included
      // (keepalived/check/check_tcp.c); the seed's nb_get_retry is an HTTP_GET keyword that
      // TCP_CHECK reports as "Unknown keyword" and ignores.
      expect(sh.match(/^ {12}retry 3$/gm)?.length).toBe(2);
      expect(code(sh)).not.toContain('nb_get_retry');
      expect(code(sh)).not.toContain('vrrp_strict');
      expect(sh).toContain('chmod 0640 /etc/keepalived/keepalived.conf.lvs-setup-tmp');
      if (distro === 'centos7') expect(sh).not.toContain('keepalived -t');
      else
        expect(sh).toContain(
          'keepalived -t -f /etc/keepalived/keepalived.conf\nsystemctl restart keepalived\n',
        );
      expect(sh).toContain('systemctl enable --now keepalived');
      // keepalived owns the table: no ipvsadm batch, no saved table on an HA director.
      expect(code(sh)).not.toContain('ipvsadm -R');
      expect(sh).not.toContain('/etc/sysconfig/ipvsadm.lvs-setup-tmp');
    }
  });

  it('NFS server 144: the seed’s /etc/exports lines, then exportfs -rv', async () => {
    const sh = await script('seed-nat.yaml', 'nfs', 'centos7');
    expect(sh).toContain(
      '/usr/share *(ro,sync)\n/soft 192.168.91.0/24(rw,sync)\n/program 192.168.91.0/24(rw,sync)\n/data 192.168.91.0/24(rw,sync)\nLVS_SETUP_EOF\nchmod 0644 /etc/exports.lvs-setup-tmp\nmv -f /etc/exports.lvs-setup-tmp /etc/exports\nexportfs -rv\n',
    );
    expect(sh).toContain('systemctl enable --now rpcbind\n');
    expect(sh).toContain('systemctl enable --now nfs-server\n');
  });

  it('rocky9 installs with dnf; debian12 uses Debian’s paths and units', async () => {
    const rocky = await script('seed-nat.yaml', 'lvs', 'rocky9');
    expect(rocky).toMatch(/^dnf install -y /m);
    expect(rocky).not.toMatch(/^yum /m);
    const deb = await script('seed-nat.yaml', 'lvs', 'debian12');
    expect(deb).toContain(
      "cat > /etc/ipvsadm.rules.lvs-setup-tmp <<'LVS_SETUP_EOF'\n# ipvsadm.rules\n",
    );
    expect(deb).toContain('/etc/default/ipvsadm');
    expect(deb).not.toContain('/etc/sysconfig/');
    const web = await script('seed-nat.yaml', 'web1', 'debian12');
    expect(web).toContain('mv -f /var/www/html/index.html.lvs-setup-tmp /var/www/html/index.html');
    expect(web).not.toContain('/usr/share/nginx/html');
    const nfs = await script('seed-nat.yaml', 'nfs', 'debian12');
    expect(nfs).toContain('systemctl enable --now nfs-server\n');
    expect(nfs).not.toContain('rpcbind\n');
  });
});
