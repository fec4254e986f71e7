// Source patches the build applies to dependencies, kept apart from scripts/build.mjs so tests
// can check them against the real files (test/cli/build-patches.test.ts).

const RGI_EMOJI = 'const rgiEmojiRegex = /^\\p{RGI_Emoji}$/v;';

/**
 * string-width (which Ink measures text with) builds `/^\p{RGI_Emoji}$/v` when it is imported:
 * a Unicode set of every emoji sequence, 16 ms natively and about 0.5 s of CPU in a TCG guest,
 * at every start of an Ink screen, though only text with non-ASCII clusters ever reaches it.
 * Built on first use instead, the same pattern with the same flags. Returns null for a
 * string-width without that line (an older copy nested under another package); throws when the
 * file names RGI_Emoji in some other way, so an upgrade that moves it fails the build.
 */
export function lazyRgiEmojiRegex(source) {
  if (!source.includes('RGI_Emoji}$/v')) return null;
  if (!source.includes(RGI_EMOJI) || !/\brgiEmojiRegex\.test\(/.test(source)) {
    throw new Error(
      'string-width changed: its rgiEmojiRegex is not the line scripts/build-patches.mjs expects',
    );
  }
  const uses = source.match(/\brgiEmojiRegex\b/g)?.length ?? 0;
  const tests = source.match(/\brgiEmojiRegex\.test\(/g)?.length ?? 0;
  if (uses !== tests + 1) {
    throw new Error(
      'string-width uses rgiEmojiRegex other than .test(): the lazy patch would break it',
    );
  }
  // A literal inside the function is only built when the function first runs.
  return source.replace(
    RGI_EMOJI,
    () =>
      'let rgiEmojiRegexBuilt;\n' +
      'const rgiEmojiRegex = { test: (text) => (rgiEmojiRegexBuilt ??= /^\\p{RGI_Emoji}$/v).test(text) };',
  );
}

/**
 * The first line of every bundled file: CommonJS dependencies (write-file-atomic, enquirer)
 * expect require, __filename and __dirname, which ESM does not have. Shared by scripts/build.mjs
 * and bench/wizard-build.ts (the e2e test's private build), so both bundles can save files.
 */
export const BUNDLE_BANNER = [
  "import { createRequire as __lvsCreateRequire } from 'node:module';",
  "import { fileURLToPath as __lvsFileURLToPath } from 'node:url';",
  "import { dirname as __lvsDirname } from 'node:path';",
  'const require = __lvsCreateRequire(import.meta.url);',
  'const __filename = __lvsFileURLToPath(import.meta.url);',
  'const __dirname = __lvsDirname(__filename);',
].join(' ');
