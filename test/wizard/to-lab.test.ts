import { describe, expect, it } from 'vitest';
import { labSchema } from '../../source/config/schema.js';
import { parseLab, validateLab } from '../../source/config/load.js';
import { emptyAnswers, setValue, type Answers } from '../../source/wizard/answers.js';
import {
  answersToLab,
  buildLab,
  labToAnswers,
  screenForIssue,
} from '../../source/wizard/to-lab.js';
import { factsWith, seedDirectorFacts } from './helpers.js';
import { exampleLab, seedNatAnswers, withoutMacs } from './seed.js';

function set(a: Answers, values: Record<string, string>): Answers {
  let out = a;
  for (const [k, v] of Object.entries(values)) out = setValue(out, k, v);
  return out;
}

describe('answersToLab', () => {
  it("turns the seed NAT director's answers into examples/seed-nat.yaml's lvs host and web service", () => {
    const facts = seedDirectorFacts();
    const built = buildLab(seedNatAnswers(), facts);
    if (!built.ok) throw new Error(JSON.stringify(built.issues));
    const seed = exampleLab('seed-nat.yaml');
    expect(built.file.name).toBe('seed-nat');
    expect(built.file.firewall).toBe('disable');
    expect(built.file.services).toEqual(seed.services);
    expect(withoutMacs(built.file.hosts.lvs!)).toEqual(seed.hosts.lvs);
    // The MACs let `apply` find this host again once its addresses change.
    expect(built.file.hosts.lvs?.interfaces.ens33?.mac).toBe('52:54:00:00:00:01');
    // The real servers became hosts, on the director's private subnet with the DIP as gateway.
    expect(built.file.hosts.web1).toEqual({
      role: 'real-server',
      interfaces: {
        ens33: {
          address: '192.168.81.142/24',
          gateway: '192.168.81.141',
          dns: ['192.168.91.2', '8.8.8.8'],
        },
      },
    });
    expect(built.file.hosts.web2?.interfaces.ens33?.address).toBe('192.168.81.143/24');
  });

  it('passes validateLab, and the saved YAML parses back to the same lab', () => {
    const facts = seedDirectorFacts();
    const { draft, clashes } = answersToLab(seedNatAnswers(), facts);
    expect(clashes).toEqual([]);
    const file = labSchema.parse(draft);
    expect(validateLab(file).ok).toBe(true);
    const built = buildLab(seedNatAnswers(), facts);
    if (!built.ok) throw new Error('invalid');
    const again = parseLab(built.yaml);
    expect(again.ok && again.lab.file).toEqual(built.file);
  });

  it('describes an HA DR pair: both directors, vrrp, a TCP check, the peer on the VIP subnet', () => {
    const facts = factsWith([{ name: 'ens33', addr: '192.168.91.145/24' }], {
      defaultDev: 'ens33',
      gateway: '192.168.91.2',
      hostname: 'lvs1',
    });
    const a = set(emptyAnswers('Pa55word'), {
      role: 'director',
      ha: 'MASTER',
      mode: 'dr',
      'service.vip': '192.168.91.148',
      'service.scheduler': 'rr',
      'ha.peerAddress': '192.168.91.149/24',
    });
    const withRs: Answers = {
      ...a,
      realServers: [
        { name: 'web1', address: '192.168.91.146', weight: '1', nic: 'ens33' },
        { name: 'web2', address: '192.168.91.147', weight: '2', nic: 'ens33' },
      ],
    };
    const built = buildLab(withRs, facts);
    if (!built.ok) throw new Error(JSON.stringify(built.issues));
    const f = built.file;
    expect(f.hosts.lvs1?.ha).toEqual({ state: 'MASTER', priority: 100 });
    expect(f.hosts.lvs2).toMatchObject({
      role: 'director',
      ha: { state: 'BACKUP', priority: 90 },
      interfaces: { ens33: { address: '192.168.91.149/24', gateway: '192.168.91.2' } },
    });
    expect(f.vrrp).toMatchObject({ router_id: 51, advert_int: 1, auth_pass: 'Pa55word' });
    expect(f.services[0]?.check?.type).toBe('tcp');
    // "keep": the current address and the default route are recorded.
    expect(f.hosts.lvs1?.interfaces.ens33).toMatchObject({
      address: '192.168.91.145/24',
      gateway: '192.168.91.2',
    });
    expect(f.hosts.web2?.interfaces.ens33).toMatchObject({
      address: '192.168.91.147/24',
      gateway: '192.168.91.2',
    });
    expect(built.lab.services[0]?.realServers.map((r) => r.weight)).toEqual([1, 2]);
  });

  it('describes a real server with its director (NAT: public and private NIC)', () => {
    const facts = factsWith([{ name: 'ens33', addr: '192.168.81.142/24' }], {
      defaultDev: 'ens33',
      gateway: '192.168.81.141',
      hostname: 'web1',
    });
    const a = set(emptyAnswers(), {
      role: 'real-server',
      mode: 'nat',
      'service.vip': '192.168.91.141',
      'director.address': '192.168.81.141/24',
      'director.vipAddress': '192.168.91.141/24',
    });
    const built = buildLab(a, facts);
    if (!built.ok) throw new Error(JSON.stringify(built.issues));
    expect(built.file.hosts.lvs).toEqual({
      role: 'director',
      interfaces: {
        ens33: { address: '192.168.91.141/24' },
        ens34: { address: '192.168.81.141/24' },
      },
    });
    expect(built.lab.services[0]?.realServers).toEqual([
      { host: 'web1', address: '192.168.81.142', port: 80, weight: 1 },
    ]);
  });

  it('describes an NFS server with its exports and no service', () => {
    const facts = factsWith([{ name: 'eth0', addr: '10.0.0.5/24' }], {
      defaultDev: 'eth0',
      hostname: 'files',
    });
    const a: Answers = {
      ...set(emptyAnswers(), { role: 'nfs-server' }),
      exports: [
        { path: '/data', clients: '10.0.0.0/24', options: 'rw, sync' },
        { path: '/usr/share', clients: '', options: '' },
      ],
    };
    const built = buildLab(a, facts);
    if (!built.ok) throw new Error(JSON.stringify(built.issues));
    expect(built.file.services).toEqual([]);
    expect(built.file.hosts.files?.exports).toEqual([
      { path: '/data', clients: '10.0.0.0/24', options: ['rw', 'sync'] },
      { path: '/usr/share', clients: '*', options: ['ro', 'sync'] },
    ]);
  });

  it('reports a name given to two hosts instead of merging them', () => {
    const a: Answers = {
      ...seedNatAnswers(),
      realServers: [{ name: 'lvs', address: '192.168.81.142', weight: '1', nic: 'ens33' }],
    };
    const built = buildLab(a, seedDirectorFacts());
    expect(built.ok).toBe(false);
    if (built.ok) return;
    expect(built.issues[0]?.message).toMatch(/the name lvs is given to two hosts/);
  });

  it("reports the resolver's problems and names the screen that fixes each", () => {
    const facts = seedDirectorFacts();
    const a = setValue(seedNatAnswers(), 'service.vip', '10.9.9.9');
    const built = buildLab(a, facts);
    expect(built.ok).toBe(false);
    if (built.ok) return;
    const issue = built.issues.find((i) => i.path === 'services[0].vip');
    expect(issue?.message).toMatch(/not reachable from director lvs/);
    expect(screenForIssue('services[0].vip', a, facts)).toBe('service');
    expect(screenForIssue('hosts.lvs.interfaces.ens33.gateway', a, facts)).toBe('network');
    expect(screenForIssue('hosts.web1.interfaces.ens33.gateway', a, facts)).toBe('real-servers');
    expect(screenForIssue('services[0].real_servers[1].host', a, facts)).toBe('real-servers');
    expect(screenForIssue('vrrp', a, facts)).toBe('ha');
  });
});

describe('labToAnswers', () => {
  it('reads the seed NAT director back into answers that rebuild the same host and service', () => {
    const facts = seedDirectorFacts();
    const file = exampleLab('seed-nat.yaml');
    const lab = validateLab(file);
    if (!lab.ok) throw new Error('seed invalid');
    const answers = labToAnswers(lab.lab, 'lvs', facts);
    const built = buildLab(answers, facts);
    if (!built.ok) throw new Error(JSON.stringify(built.issues));
    expect(built.file.services).toEqual(file.services);
    expect(withoutMacs(built.file.hosts.lvs!)).toEqual(file.hosts.lvs);
  });

  it('reads an HA director back (priority, vrrp, the peer)', () => {
    const facts = factsWith([{ name: 'ens33' }], { hostname: 'x' });
    const file = exampleLab('seed-dr-keepalived.yaml');
    const lab = validateLab(file);
    if (!lab.ok) throw new Error('seed invalid');
    const answers = labToAnswers(lab.lab, 'lvs1', facts);
    const built = buildLab(answers, facts);
    if (!built.ok) throw new Error(JSON.stringify(built.issues));
    expect(built.file.vrrp).toEqual(file.vrrp);
    expect(built.file.hosts.lvs2?.ha).toEqual(file.hosts.lvs2?.ha);
    expect(built.file.hosts.lvs1?.ha).toEqual(file.hosts.lvs1?.ha);
    expect(built.file.services[0]?.real_servers).toEqual(file.services[0]?.real_servers);
  });
});
