import { readFileSync } from 'node:fs';
import { parseLab } from '../../source/config/load.js';
import type { LabFile } from '../../source/config/schema.js';
import { emptyAnswers, setValue, type Answers } from '../../source/wizard/answers.js';

/** The answers a user gives for the seed's NAT director (examples/seed-nat.yaml, host lvs). */
export function seedNatAnswers(): Answers {
  let a = emptyAnswers('Abcd2345');
  const values: Record<string, string> = {
    role: 'director',
    ha: 'none',
    hostName: 'lvs',
    labName: 'seed-nat',
    mode: 'nat',
    'service.name': 'web',
    'service.vip': '192.168.91.141',
    'service.port': '80',
    'service.protocol': 'tcp',
    'service.scheduler': 'wrr',
    'service.persistence': '120',
    'nic.ens33.use': 'static',
    'nic.ens33.address': '192.168.91.141/24',
    'nic.ens33.gateway': '192.168.91.2',
    'nic.ens33.dns': '192.168.91.2, 8.8.8.8',
    'nic.ens37.use': 'static',
    'nic.ens37.address': '192.168.81.141/24',
    firewall: 'disable',
  };
  for (const [k, v] of Object.entries(values)) a = setValue(a, k, v);
  return {
    ...a,
    realServers: [
      { name: 'web1', address: '192.168.81.142', weight: '1', nic: 'ens33' },
      { name: 'web2', address: '192.168.81.143', weight: '1', nic: 'ens33' },
    ],
  };
}

export function exampleLab(name: string): LabFile {
  const text = readFileSync(new URL(`../../examples/${name}`, import.meta.url), 'utf8');
  const r = parseLab(text, name);
  if (!r.ok) throw new Error(`examples/${name} does not parse`);
  return r.lab.file;
}

/** A host without the MACs the wizard records (the seed's file has none). */
export function withoutMacs<T extends { interfaces: Record<string, { mac?: string }> }>(
  host: T,
): T {
  return {
    ...host,
    interfaces: Object.fromEntries(
      Object.entries(host.interfaces).map(([n, c]) => {
        const { mac: _mac, ...rest } = c;
        return [n, rest];
      }),
    ),
  };
}
