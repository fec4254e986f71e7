// `npm run test:lab`: the real-kernel lab. Needs root, no KVM (TCG), ~25 GB RAM for 6 guests.
//
//   node test/lab/run.mjs [FILTER...]     run scenarios whose name or file contains a FILTER
//   LAB_SKIP_ASSETS=1                     do not run test/lab/assets.sh first
//   LAB_BUDGET_MIN=30                     abort (and fail) the whole run after this many minutes
//   LAB_KEEP=1                            keep consoles and logs of passing labs too
//
// HOW TO ADD A SCENARIO
// 1. Pick (or add) a layout in test/lab/labs.mjs: segments + guests, NICs named as the lab file
//    names them (ens33, ens37). Scenarios that share a layout object run on one boot, one after
//    the other, in file-name order: they may share state, so make each scenario leave the lab
//    usable or give it its own layout.
// 2. Add test/lab/scenarios/NN-name.mjs:
//      import { lvsSetup, curlLoop } from '../lib.mjs';
//      import { natLab } from '../labs.mjs';
//      export default {
//        name: 'NAT: rr alternates, 200 requests',
//        lab: natLab,
//        timeoutMs: 10 * 60 * 1000,            // optional, default 10 min
//        async run(lab, t) {
//          for (const h of ['lvs', 'web1', 'web2', 'client'])
//            await lvsSetup(lab, h, ['apply', '--lab', 'examples/seed-nat.yaml', '--host', h, '--yes'],
//              { cwd: REPO, check: true });    // REPO from ../harness.mjs
//          const r = await curlLoop(lab, 'client', 'http://192.168.91.141/', 200);
//          t.figure('requests ok/total', `${r.ok}/${r.total}`);
//          t.assert(r.ok === r.total, 'some requests failed');
//        },
//      };
//    lab: exec(guest, argv, {timeoutMs, check, input, env, cwd}), sh, readFile, writeFile,
//    copyOut, powerOff, powerOn, reboot(guest, {hard}), mac, isOn  (see harness.mjs).
//    t: assert(cond, msg) throws; figure(name, value) is printed with the result; log(msg).
//    The guest sees this machine's filesystem read-only (its own writable overlay on top), so
//    `node <repo>/dist/lvs-setup.js` and `<repo>/examples/*.yaml` are there: build first.
// 3. Failures keep the guests' consoles, journals and state dumps under .lab/<run>/ (printed).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createLab, REPO } from './harness.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const t0 = Date.now();
const budgetMs = Number(process.env.LAB_BUDGET_MIN ?? 30) * 60 * 1000;
const say = (...a) => console.log(...a);

class AssertionError extends Error {}

async function loadScenarios(filters) {
  const dir = path.join(HERE, 'scenarios');
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.mjs'))
    .sort();
  const out = [];
  for (const f of files) {
    const mod = await import(pathToFileURL(path.join(dir, f)).href);
    const s = mod.default;
    if (!s?.name || !s.lab || typeof s.run !== 'function') {
      throw new Error(`${f}: export default {name, lab, run(lab, t)} expected`);
    }
    if (filters.length && !filters.some((x) => f.includes(x) || s.name.includes(x))) continue;
    out.push({ ...s, file: f });
  }
  return out;
}

function withTimeout(promise, ms, what) {
  let timer;
  const settled = promise.finally(() => clearTimeout(timer));
  // after a timeout, the work's own late failure (its lab torn down under it) is already reported
  settled.catch(() => {});
  return Promise.race([
    settled,
    new Promise((_, rej) => {
      timer = setTimeout(() => rej(new Error(`${what}: no result within ${ms / 1000} s`)), ms);
    }),
  ]);
}

// Background work of a scenario (a client loop, say) that fails after the scenario has ended, as
// when its lab is torn down under it: reported and counted, not a crash that loses the rest of the
// run (the rejection of a loop the scenario never awaited once killed a whole CI run).
let strays = 0;
process.on('unhandledRejection', (err) => {
  strays++;
  say(`FAIL background work failed outside any scenario: ${err?.stack ?? err}`);
});

async function main() {
  if (process.getuid?.() !== 0) {
    say('the lab needs root (network namespaces, tap devices, apt)');
    say('0 passed, 1 failed');
    return 1;
  }
  if (process.env.LAB_SKIP_ASSETS !== '1') {
    const a0 = Date.now();
    const r = spawnSync('bash', [path.join(HERE, 'assets.sh')], { stdio: 'inherit' });
    if (r.status !== 0) {
      say('lab assets failed');
      say('0 passed, 1 failed');
      return 1;
    }
    say(`assets: ${((Date.now() - a0) / 1000).toFixed(1)} s`);
  }
  if (!fs.existsSync(path.join(REPO, 'dist/lvs-setup.js'))) {
    say('note: dist/lvs-setup.js is missing (npm run build); scenarios that run the product fail');
  }

  // A snapshot of the build for this run (guests see it through 9p): a rebuild during the run
  // must not swap chunks under a running lvs-setup.
  if (!process.env.LAB_LVS_SETUP && fs.existsSync(path.join(REPO, 'dist/lvs-setup.js'))) {
    const snap = path.join(REPO, '.lab', `dist-${process.pid}`);
    fs.rmSync(snap, { recursive: true, force: true });
    fs.cpSync(path.join(REPO, 'dist'), snap, { recursive: true });
    process.env.LAB_LVS_SETUP = path.join(snap, 'lvs-setup.js');
    process.on('exit', () => fs.rmSync(snap, { recursive: true, force: true }));
  }
  const scenarios = await loadScenarios(process.argv.slice(2));
  // Group consecutive scenarios sharing a layout: one boot per group.
  const groups = [];
  for (const s of scenarios) {
    const last = groups[groups.length - 1];
    if (last && last.spec === s.lab) last.scenarios.push(s);
    else groups.push({ spec: s.lab, scenarios: [s] });
  }

  let passed = 0;
  let failed = 0;
  const kept = [];
  for (const group of groups) {
    const left = budgetMs - (Date.now() - t0);
    if (left <= 0) {
      for (const s of group.scenarios) say(`FAIL ${s.name}: the lab's time budget is used up`);
      failed += group.scenarios.length;
      continue;
    }
    const lab = createLab(group.spec);
    let groupFailed = false;
    try {
      say(`\n== lab ${group.spec.name}: booting ${lab.guests.join(', ')} (${lab.runDir})`);
      let boot;
      try {
        boot = await withTimeout(lab.start(), Math.min(left, 10 * 60 * 1000), 'boot');
      } catch (err) {
        groupFailed = true;
        for (const s of group.scenarios) say(`FAIL ${s.name}: lab did not boot: ${err.message}`);
        failed += group.scenarios.length;
        continue;
      }
      say(
        'boot: ' +
          Object.entries(boot)
            .map(([g, b]) => `${g} ${b.bootS.toFixed(1)} s (cpu ${b.cpuS} s, ${b.state})`)
            .join(', '),
      );
      for (const s of group.scenarios) {
        const figures = [];
        const t = {
          assert(cond, msg) {
            if (!cond) throw new AssertionError(msg);
          },
          figure(name, value) {
            figures.push(`${name}: ${value}`);
            say(`   ${name}: ${value}`);
          },
          log(msg) {
            say(String(msg).replace(/^/gm, '   | '));
          },
        };
        const s0 = Date.now();
        say(`-- ${s.name} [${s.file}]`);
        const limit = Math.min(s.timeoutMs ?? 10 * 60 * 1000, budgetMs - (Date.now() - t0));
        try {
          await withTimeout(
            Promise.resolve().then(() => s.run(lab, t)),
            Math.max(limit, 1),
            s.name,
          );
          passed++;
          say(`PASS ${s.name} (${((Date.now() - s0) / 1000).toFixed(1)} s)`);
        } catch (err) {
          failed++;
          groupFailed = true;
          const msg = err instanceof AssertionError ? err.message : err.stack || String(err);
          say(`FAIL ${s.name} (${((Date.now() - s0) / 1000).toFixed(1)} s): ${msg}`);
        }
      }
    } finally {
      if (groupFailed || process.env.LAB_KEEP === '1') {
        await withTimeout(lab.collectLogs(), 120000, 'collect logs').catch(() => {});
        kept.push(lab.runDir);
      }
      await lab.destroy({ keep: groupFailed || process.env.LAB_KEEP === '1' });
    }
  }
  for (const d of kept) say(`kept consoles and logs: ${d}`);
  say(`lab time: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  say(`${passed} passed, ${failed} failed${strays ? `, ${strays} failed outside a scenario` : ''}`);
  return failed === 0 && strays === 0 && passed > 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    say('0 passed, 1 failed');
    process.exit(1);
  },
);
