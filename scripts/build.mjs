// Bundles the CLI into dist/lvs-setup.js and the chunks it loads on use (scripts/build-config.mjs),
// so `npx lvs-setup` installs no dependency tree; bin/lvs-setup.cjs, a tiny launcher, checks the
// Node version first. Also builds dist/ipvs-read, the monitor's netlink reader.
import { spawnSync } from 'node:child_process';
import { mkdirSync, chmodSync, rmSync, statSync } from 'node:fs';
import { buildBundle } from './build-config.mjs';

// For profiling: LVS_SETUP_BUILD_OUT=dir LVS_SETUP_BUILD_MINIFY=0 gives readable function names.
const outdir = process.env.LVS_SETUP_BUILD_OUT ?? 'dist';
const minify = process.env.LVS_SETUP_BUILD_MINIFY !== '0';
rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
const started = Date.now();
const { files, withBanner } = await buildBundle({
  entryPoints: { 'lvs-setup': 'source/main.ts' },
  outdir,
  minify,
});
chmodSync(`${outdir}/lvs-setup.js`, 0o755);
const bytes = files.reduce((n, f) => n + statSync(f).size, 0);
const entry = statSync(`${outdir}/lvs-setup.js`).size;
console.log(
  `built ${outdir}/lvs-setup.js (${Math.round(entry / 1024)} KiB) + ${files.length - 1} chunks loaded on use (${Math.round(bytes / 1024)} KiB in all; ${withBanner} with a CommonJS banner) in ${Date.now() - started} ms`,
);

/**
 * dist/ipvs-read: the monitor's netlink reader (source/native/ipvs-read.c), static so that one
 * binary runs on any Linux of this machine's architecture (EL7's glibc 2.17 as Debian 12's).
 * Without a C compiler the package still works: the monitor then reads counters with ipvsadm.
 * A compiler that fails on the file is an error of the build.
 */
function buildIpvsRead() {
  const cc = process.env.CC || 'cc';
  const out = `${outdir}/ipvs-read`;
  const args = ['-std=c11', '-Os', '-s', '-static', '-Wall', '-Wextra', '-Wshadow', '-Werror'];
  const r = spawnSync(cc, [...args, '-o', out, 'source/native/ipvs-read.c'], { encoding: 'utf8' });
  if (r.error?.code === 'ENOENT') {
    console.warn(
      `build: no C compiler (${cc}): no ${out}; the monitor will read counters with ipvsadm`,
    );
    return;
  }
  if (r.status !== 0) throw new Error(`build: ${cc} failed on ipvs-read.c:\n${r.stderr}`);
  chmodSync(out, 0o755);
  console.log(`built ${out} (${Math.round(statSync(out).size / 1024)} KiB, ${process.arch})`);
}
buildIpvsRead();
