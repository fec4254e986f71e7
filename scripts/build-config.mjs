// How a bundle of lvs-setup is built: one function for the release build (scripts/build.mjs) and
// the benchmarks' and the e2e test's private builds (bench/wizard-build.ts), so a private bundle
// starts as the released one does (same esbuild options, same patches, same banners).
import { build } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { BUNDLE_BANNER, lazyRgiEmojiRegex, lazySegmenters, trimBanner } from './build-patches.mjs';

const root = new URL('..', import.meta.url);

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
 * ansi-tokenize each make at import, are built on first use (see build-patches.mjs). `patched`
 * records what was patched, for the check after the build.
 */
function lazyTextTools(patched) {
  return {
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
            patched.emoji++;
          }
          const segmenters = lazySegmenters(source);
          if (segmenters !== null) {
            source = segmenters;
            patched.segmenters.add(args.path.replace(/.*node_modules[\\/]/, ''));
          }
          return emoji === null && segmenters === null
            ? undefined
            : { contents: source, loader: 'js' };
        },
      );
    },
  };
}

/** The packages whose text tools Ink imports: every bundle must have all three patched. */
const TEXT_TOOLS = ['string-width', 'slice-ansi', '@alcalzone/ansi-tokenize'];

/**
 * Bundles `entryPoints` ({ name: source file }) into `outdir` as the release does: ESM for Node
 * 20, split at the dynamic imports (chunks in outdir/chunks), Ink's devtools stubbed out, the
 * patches above, and each file with only the CommonJS banner parts it uses. Every bundle has
 * Ink in it, so a patch that no longer applies (an upgraded dependency) fails the build instead
 * of silently costing start-up time.
 * Returns the .js files written, and how many of them kept a banner part.
 */
export async function buildBundle({ entryPoints, outdir, minify = true }) {
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
  const patched = { emoji: 0, segmenters: new Set() };
  const result = await build({
    absWorkingDir: root.pathname,
    entryPoints,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Split at the dynamic imports: `--version`, plan and apply never parse Ink and React
    // (measured: the single 1.8 MB file took 0.29 s to start, split 0.13 s; in a TCG guest
    // seconds per run).
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
    // CommonJS dependencies (write-file-atomic, enquirer) expect require, __filename and
    // __dirname; trimmed per file below.
    banner: { js: BUNDLE_BANNER },
    plugins: [noFetchForYoga, lazyTextTools(patched)],
    logLevel: 'warning',
  });
  if (patched.emoji === 0) throw new Error('build: string-width was not patched (lazy emoji)');
  for (const file of TEXT_TOOLS) {
    if (![...patched.segmenters].some((f) => f.startsWith(`${file}/`))) {
      throw new Error(`build: ${file}'s Intl.Segmenter was not made lazy (lazy-text-tools)`);
    }
  }
  const files = Object.keys(result.metafile.outputs)
    .filter((f) => f.endsWith('.js'))
    .map((f) => new URL(f, root).pathname);
  // Each file keeps only the banner parts it uses (see trimBanner).
  let withBanner = 0;
  for (const file of files) {
    const code = readFileSync(file, 'utf8');
    const lean = trimBanner(code);
    if (lean.length > code.length - BUNDLE_BANNER.length) withBanner++;
    writeFileSync(file, lean);
  }
  return { files, withBanner };
}
