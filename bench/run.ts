/**
 * `npm run bench`: figures measured side by side in one run, printed as a table. Each pair runs
 * interleaved (A, B, A, B, …) so machine noise hits both sides alike; the ratio is of medians.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { applyCommand } from '../source/commands/run.js';
import { parseLab } from '../source/config/load.js';
import { countPlan } from '../source/plan/plan.js';
import { prepare } from '../source/commands/common.js';
import { FakeHost } from '../test/helpers/fake-host.js';

const bin = new URL('../bin/lvs-setup.cjs', import.meta.url).pathname;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function timeCommand(argv: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(argv[0] ?? '', argv.slice(1), { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}`);
  return performance.now() - t0;
}

function pair(
  name: string,
  a: { label: string; argv: string[] },
  b: { label: string; argv: string[] },
  runs = 15,
) {
  const ta: number[] = [];
  const tb: number[] = [];
  timeCommand(a.argv);
  timeCommand(b.argv);
  for (let i = 0; i < runs; i++) {
    ta.push(timeCommand(a.argv));
    tb.push(timeCommand(b.argv));
  }
  const ma = median(ta);
  const mb = median(tb);
  return {
    name,
    a: `${a.label}: ${ma.toFixed(1)} ms`,
    b: `${b.label}: ${mb.toFixed(1)} ms`,
    ratio: `${(ma / mb).toFixed(2)}×`,
  };
}

async function replanDirector() {
  const text = readFileSync(new URL('../examples/seed-nat.yaml', import.meta.url), 'utf8');
  const host = new FakeHost({
    distro: 'rocky9',
    nics: [{ name: 'ens33' }, { name: 'ens37' }],
    env: { LVS_SETUP_STATE_DIR: '/var/lib/lvs-bench' },
  });
  host.setFile('/root/lab.yaml', text);
  const io = { out: () => {}, err: () => {} };
  await applyCommand(host, { lab: '/root/lab.yaml', host: 'lvs', yes: true }, io, async () => true);
  const r = parseLab(text);
  if (!r.ok) throw new Error('lab invalid');
  const times: number[] = [];
  let changes = -1;
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now();
    // The same path `lvs-setup plan` takes: facts, host, steps, file reads, decisions.
    const { plan } = await prepare(host, r.lab, 'lvs');
    times.push(performance.now() - t0);
    changes = countPlan(plan).change;
  }
  return {
    name: 'no-change re-plan of the seed NAT director (simulated host, in process)',
    value: `${median(times).toFixed(2)} ms median of 30`,
    changes,
  };
}

async function main() {
  const rows: Array<Record<string, unknown>> = [];
  rows.push(
    pair(
      'detect vs bare ip',
      { label: 'lvs-setup detect --json', argv: [process.execPath, bin, 'detect', '--json'] },
      {
        label: 'ip -j addr + ip -j route (sh)',
        argv: ['sh', '-c', 'ip -j addr show >/dev/null && ip -j route show >/dev/null'],
      },
    ),
  );
  rows.push(
    pair(
      'start-up',
      { label: 'lvs-setup --version', argv: [process.execPath, bin, '--version'] },
      { label: 'node -e 0', argv: [process.execPath, '-e', '0'] },
    ),
  );
  rows.push(await replanDirector());
  for (const extra of ['./monitor.js', './wizard.js']) {
    try {
      const mod = (await import(extra)) as Record<string, () => Promise<Record<string, unknown>>>;
      const fn = Object.values(mod).find(
        (f) => typeof f === 'function' && f.name.startsWith('bench'),
      );
      if (fn) rows.push({ name: extra, ...(await fn()) });
    } catch (e) {
      if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    }
  }
  for (const row of rows) {
    console.log(`\n${String(row.name)}`);
    for (const [k, v] of Object.entries(row)) if (k !== 'name') console.log(`  ${k}: ${String(v)}`);
  }
}

await main();
