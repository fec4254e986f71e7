import { basename, dirname } from 'node:path';
// @ts-expect-error: a plain .mjs build script without types
import { buildBundle } from '../scripts/build-config.mjs';

/**
 * Bundle an entry exactly as scripts/build.mjs bundles the CLI (the same buildBundle: options,
 * patches, splitting and banners), so the wizard and the bare Ink hello-world of bench/wizard.ts
 * start as the release does, and the real-terminal test can build a private copy without
 * touching dist/. `outfile` is the entry's file; its chunks go to `chunks/` beside it.
 */
export async function buildLikeRelease(entry: string, outfile: string): Promise<void> {
  if (!outfile.endsWith('.js')) throw new Error(`buildLikeRelease: ${outfile} must end in .js`);
  await (buildBundle as (o: object) => Promise<unknown>)({
    entryPoints: { [basename(outfile, '.js')]: entry },
    outdir: dirname(outfile),
  });
}
