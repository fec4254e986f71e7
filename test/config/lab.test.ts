import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatIssues, labToYaml, parseLab } from '../../source/config/load.js';

const badDir = new URL('../fixtures/bad-labs/', import.meta.url);
const badFiles = readdirSync(badDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

describe('the example lab files', () => {
  it.each(['seed-nat', 'seed-dr', 'seed-dr-keepalived', 'tun'])('%s is valid', (name) => {
    const r = parseLab(
      readFileSync(new URL(`../../examples/${name}.yaml`, import.meta.url), 'utf8'),
    );
    expect(r.ok ? [] : r.issues).toEqual([]);
  });

  it('resolves the seed NAT lab: real servers get their addresses from their hosts', () => {
    const r = parseLab(
      readFileSync(new URL('../../examples/seed-nat.yaml', import.meta.url), 'utf8'),
    );
    if (!r.ok) throw new Error('invalid');
    const web = r.lab.services[0];
    expect(web).toMatchObject({
      vip: '192.168.91.141',
      port: 80,
      scheduler: 'wrr',
      persistence: 120,
      mode: 'nat',
      directors: ['lvs'],
    });
    expect(web?.realServers).toEqual([
      { host: 'web1', address: '192.168.81.142', port: 80, weight: 1 },
      { host: 'web2', address: '192.168.81.143', port: 80, weight: 1 },
    ]);
  });

  it('round-trips through YAML', () => {
    const r = parseLab(
      readFileSync(new URL('../../examples/seed-dr-keepalived.yaml', import.meta.url), 'utf8'),
    );
    if (!r.ok) throw new Error('invalid');
    const again = parseLab(labToYaml(r.lab.file));
    expect(again.ok && again.lab.file).toEqual(r.lab.file);
  });
});

describe('invalid lab files: every one names the field, the bad value and what is expected', () => {
  it('has a catalogue of at least 40', () => {
    expect(badFiles.length).toBeGreaterThanOrEqual(40);
  });

  it.each(badFiles)('%s', (file) => {
    const text = readFileSync(new URL(file, badDir), 'utf8');
    const expected = /^# expect: (.*)$/m.exec(text)?.[1];
    expect(expected, 'fixture needs a "# expect:" line').toBeTruthy();
    const r = parseLab(text, file);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const message = formatIssues(r.issues, file);
    expect(message).toContain(expected);
    expect(message).toContain(`${file} is not a valid lab file`);
  });

  it('reports all problems at once', () => {
    const r = parseLab(
      'name: x\nservices:\n  - {name: w, vip: 1.2.3, port: 0, mode: foo, real_servers: [{host: a, weight: -1}]}\nhosts:\n  a: {role: director, interfaces: {ens33: {address: 10.0.0.1/24}}}\n',
    );
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.issues.map((i) => i.path)).toEqual([
        'services[0].vip',
        'services[0].port',
        'services[0].mode',
        'services[0].real_servers[0].weight',
      ]);
  });

  it('gives the line of a YAML syntax error', () => {
    const r = parseLab('name: x\nhosts:\n  a: [1,\n');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0]?.line).toBeGreaterThan(0);
  });
});
