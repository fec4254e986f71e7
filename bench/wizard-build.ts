import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
// @ts-expect-error: a plain .mjs build script without types
import { BUNDLE_BANNER } from '../scripts/build-patches.mjs';

/**
 * Bundle an entry exactly as scripts/build.mjs bundles the CLI (same esbuild options), so the
 * wizard and the bare Ink hello-world of bench/wizard.ts are built the same way, and the real-
 * terminal test can build a private copy without touching dist/. Keep in step with scripts/build.mjs.
 */
export async function buildLikeRelease(entry: string, outfile: string): Promise<void> {
  const root = new URL('..', import.meta.url);
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
    version: string;
  };
  await build({
    absWorkingDir: root.pathname,
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    minify: true,
    legalComments: 'none',
    alias: { 'react-devtools-core': './scripts/devtools-stub.mjs' },
    define: {
      'process.env.NODE_ENV': '"production"',
      __LVS_SETUP_VERSION__: JSON.stringify(pkg.version),
    },
    // the release build's banner: require, __filename and __dirname for CommonJS dependencies
    banner: { js: BUNDLE_BANNER },
    logLevel: 'warning',
  });
}
