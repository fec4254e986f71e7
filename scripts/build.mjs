// Bundles the CLI into one ESM file (dist/lvs-setup.js) so `npx lvs-setup` installs no dependency
// tree, plus bin/lvs-setup.cjs, a tiny launcher that checks the Node version first.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync, chmodSync, rmSync, statSync } from 'node:fs';
import { BUNDLE_BANNER, lazyRgiEmojiRegex, lazySegmenters, trimBanner } from './build-patches.mjs';

/**
 * Yoga's WebAssembly loader (Ink's layout engine) fetch()es its own inlined data: URL whenever a
 * global fetch exists, which in Node loads undici and with it http, http2, tls, zlib and more:
 * measured 1.3 s of CPU at every Ink start in a TCG guest, ~30 ms natively (test/cli/ink-start).
 * Without fetch it decodes the same bytes itself. A module-local `fetch` shadows the global for
 * that one file only.
 */
const noFetchForYoga = {
  name: 'no-fetch-for-yoga',
  setup(b) {
    b.onLoad({ filter: /yoga-layout[\\/]dist[\\/]binaries[\\/][^\\/]+\.js$/ }, (args) => ({
      contents: `const fetch = undefined;\n${readFileSync(args.path, 'utf8')}`,
      loader: 'js',
    }));
  },
};

/**
 * string-width's emoji pattern, and the Intl.Segmenter that string-width, slice-ansi and
 * ansi-tokenize each make at import, are built on first use (see build-patches.mjs).
 */
const lazyPatched = { emoji: 0, segmenters: new Set() };
const lazyTextTools = {
  name: 'lazy-text-tools',
  setup(b) {
    b.onLoad(
      {
        filter:
          /[\\/](string-width[\\/]index|slice-ansi[\\/]tokenize-ansi|@alcalzone[\\/]ansi-tokenize[\\/]build[\\/]tokenize)\.js$/,
      },
      (args) => {
        let source = readFileSync(args.path, 'utf8');
        const emoji = lazyRgiEmojiRegex(source);
        if (emoji !== null) {
          source = emoji;
          lazyPatched.emoji++;
        }
        const segmenters = lazySegmenters(source);
        if (segmenters !== null) {
          source = segmenters;
          lazyPatched.segmenters.add(args.path.replace(/.*node_modules[\\/]/, ''));
        }
        return emoji === null && segmenters === null
          ? undefined
          : { contents: source, loader: 'js' };
      },
    );
  },
};

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
// For profiling: LVS_SETUP_BUILD_OUT=dir LVS_SETUP_BUILD_MINIFY=0 gives readable function names.
const outdir = process.env.LVS_SETUP_BUILD_OUT ?? 'dist';
const minify = process.env.LVS_SETUP_BUILD_MINIFY !== '0';
rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
const started = Date.now();
const result = await build({
  entryPoints: { 'lvs-setup': 'source/main.ts' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Split at the dynamic imports: `--version`, plan and apply never parse Ink and React (measured:
  // the single 1.8 MB file took 0.29 s to start, split 0.13 s; in a TCG guest seconds per run).
  outdir,
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  minify,
  legalComments: 'linked',
  metafile: true,
  // Ink imports react-devtools-core (and its ws) only when DEV is set; a stub keeps them out.
  alias: {
    'react-devtools-core': './scripts/devtools-stub.mjs',
    ws: './scripts/devtools-stub.mjs',
  },
  define: {
    'process.env.NODE_ENV': '"production"',
    __LVS_SETUP_VERSION__: JSON.stringify(pkg.version),
  },
  // CommonJS dependencies (write-file-atomic, enquirer) expect require, __filename and __dirname.
  banner: { js: BUNDLE_BANNER },
  plugins: [noFetchForYoga, lazyTextTools],
  logLevel: 'warning',
});
if (lazyPatched.emoji === 0) throw new Error('build: string-width was not patched (lazy emoji)');
for (const file of ['string-width', 'slice-ansi', '@alcalzone/ansi-tokenize']) {
  if (![...lazyPatched.segmenters].some((f) => f.startsWith(`${file}/`))) {
    throw new Error(`build: ${file}'s Intl.Segmenter was not made lazy (lazy-text-tools)`);
  }
}
const outputs = Object.entries(result.metafile.outputs).filter(([f]) => f.endsWith('.js'));
// Each file keeps only the banner parts it uses (see trimBanner).
let withBanner = 0;
for (const [file] of outputs) {
  const code = readFileSync(file, 'utf8');
  const lean = trimBanner(code);
  if (lean.length > code.length - BUNDLE_BANNER.length) withBanner++;
  writeFileSync(file, lean);
}
chmodSync(`${outdir}/lvs-setup.js`, 0o755);
const bytes = outputs.reduce((n, [, o]) => n + o.bytes, 0);
const entry = statSync(`${outdir}/lvs-setup.js`).size;
console.log(
  `built ${outdir}/lvs-setup.js (${Math.round(entry / 1024)} KiB) + ${outputs.length - 1} chunks loaded on use (${Math.round(bytes / 1024)} KiB in all; ${withBanner} with a CommonJS banner) in ${Date.now() - started} ms`,
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
