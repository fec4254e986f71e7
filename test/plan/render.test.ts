import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { prepare } from '../../source/commands/common.js';
import { parseLab } from '../../source/config/load.js';
import type { Lab } from '../../source/config/resolve.js';
import { DISTRO_KEYS } from '../../source/facts/types.js';
import {
  renderJson,
  renderSh,
  renderText,
  maskSecrets,
  summaryLine,
} from '../../source/plan/render.js';
import { makePlan } from '../../source/plan/plan.js';
import { change, cmd, ok, writeFile } from '../../source/plan/step.js';
import { targetFacts } from '../../source/facts/target.js';
import { FakeHost } from '../helpers/fake-host.js';

function lab(name: string): Lab {
  const r = parseLab(readFileSync(new URL(`../../examples/${name}.yaml`, import.meta.url), 'utf8'));
  if (!r.ok) throw new Error(`${name} invalid`);
  return r.lab;
}

const machine = new FakeHost();
const hasShellcheck = spawnSync('shellcheck', ['--version']).status === 0;

const cases = ['seed-nat', 'seed-dr', 'seed-dr-keepalived', 'tun'].flatMap((name) =>
  Object.keys(lab(name).file.hosts).flatMap((host) =>
    DISTRO_KEYS.map((target) => [name, host, target] as const),
  ),
);

describe('every example host plans for every --target', () => {
  it.each(cases)('%s %s %s', async (name, host, target) => {
    const p = await prepare(machine, lab(name), host, { target });
    const text = renderText(p.plan, p.facts);
    expect(text).toContain(`host ${host}`);
    expect(text.trimEnd().endsWith(summaryLine(p.plan))).toBe(true);
    const json = JSON.parse(renderJson(p.plan)) as {
      steps: unknown[];
      summary: { change: number; ok: number };
    };
    expect(json.steps).toHaveLength(p.plan.steps.length);
    const sh = renderSh(p.plan, '0.0.0-test');
    const syntax = spawnSync('sh', ['-n'], { input: sh });
    expect(syntax.stderr.toString()).toBe('');
    expect(syntax.status).toBe(0);
    if (hasShellcheck) {
      const sc = spawnSync('shellcheck', ['-s', 'sh', '-'], { input: sh });
      expect(sc.stdout.toString()).toBe('');
    }
  });
});

describe('renderers', () => {
  const facts = targetFacts('debian12', null);
  const plan = makePlan(
    {
      lab: lab('seed-dr'),
      hostName: 'web1',
      host: lab('seed-dr').file.hosts.web1!,
      keepalivedVersion: null,
    },
    facts,
    [
      {
        id: 'a',
        recipe: 't',
        title: 'Write /etc/demo.conf',
        explain: 'demo',
        decide: () =>
          change('differs', [
            writeFile('/etc/demo.conf', "pass 'hunter2' here\n$(rm -rf /)\nLVS_SETUP_EOF\n", 0o640),
          ]),
      },
      {
        id: 'b',
        recipe: 't',
        title: 'Run it',
        explain: 'demo',
        decide: () =>
          change('x', [cmd(['echo', "it's; $(evil)", 'hunter2'], { input: 'no newline at end' })]),
      },
      { id: 'c', recipe: 't', title: 'Nothing', explain: 'demo', decide: () => ok('fine') },
    ],
  );
  plan.secrets = ['hunter2'];

  it('masks secrets in text and json', () => {
    expect(renderText(plan, facts)).not.toContain('hunter2');
    expect(renderJson(plan)).not.toContain('hunter2');
    expect(renderText(plan, facts)).toContain("pass '***' here");
    expect(maskSecrets('a hunter2 b hunter22', ['hunter2'])).toBe('a *** b hunter22');
  });

  it('text shows a diff and the summary', () => {
    const text = renderText(plan, facts);
    expect(text).toContain('+++ /etc/demo.conf');
    expect(text).toContain('Plan: 2 to change, 1 already ok.');
  });

  it('the shell script keeps hostile content inert and says it holds a secret', () => {
    const sh = renderSh(plan, 'test');
    expect(sh).toContain('contains the VRRP auth_pass in clear text');
    expect(sh).toContain('hunter2');
    expect(spawnSync('sh', ['-n'], { input: sh }).status).toBe(0);
    // Run the script's commands in a sandbox dir by rewriting the target path: the content arrives byte-exact.
    const dir = execFileSync('mktemp', ['-d']).toString().trim();
    const local = sh
      .replaceAll('/etc/demo.conf', `${dir}/demo.conf`)
      .replace(/^set -eu$/m, 'set -eu; PATH=/usr/bin:/bin');
    const r = spawnSync('sh', ['-c', local]);
    expect(r.status).toBe(0);
    expect(readFileSync(`${dir}/demo.conf`, 'utf8')).toBe(
      "pass 'hunter2' here\n$(rm -rf /)\nLVS_SETUP_EOF\n",
    );
    expect(r.stdout.toString()).toContain("it's; $(evil) hunter2");
  });

  it('no changes says so', () => {
    const quiet = { ...plan, steps: plan.steps.filter((s) => s.decision.status === 'ok') };
    expect(summaryLine(quiet)).toBe('No changes. This host already matches the lab file.');
  });
});

describe('a derived VRRP password is a secret too', () => {
  it('is masked in text and json but present in the script', async () => {
    const l = lab('seed-dr-keepalived');
    delete (l.file.vrrp as { auth_pass?: string }).auth_pass;
    const p = await prepare(machine, l, 'lvs1', { target: 'rocky9' });
    expect(p.plan.secrets).toHaveLength(1);
    const secret = p.plan.secrets[0] ?? '';
    expect(secret).toHaveLength(8);
    expect(renderText(p.plan, p.facts)).not.toContain(secret);
    expect(renderJson(p.plan)).not.toContain(secret);
    expect(renderSh(p.plan, 't')).toContain(`auth_pass ${secret}`);
  });
});
