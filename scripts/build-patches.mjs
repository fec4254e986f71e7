// Source patches the build applies to dependencies, kept apart from scripts/build.mjs so tests
// can check them against the real files (test/cli/build-patches.test.ts).

const RGI_EMOJI = 'const rgiEmojiRegex = /^\\p{RGI_Emoji}$/v;';

/**
 * string-width (which Ink measures text with) builds `/^\p{RGI_Emoji}$/v` when it is imported:
 * a Unicode set of every emoji sequence. Building it took 16-37 ms natively (about 0.5 s of CPU
 * in a TCG guest) at every start of an Ink screen, and its first match as much again (36 ms).
 * Patched, it is built on first use, the same pattern with the same flags, and not even then for
 * a cluster of one code point without Emoji_Presentation (the screens' `›`, `·`, `…`, bars and
 * spinner): no such code point is an RGI emoji (every one is checked in
 * test/cli/build-patches.test.ts). Returns null for a string-width without that line (an older
 * copy nested under another package); throws when the
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
    () => String.raw`let rgiEmojiRegexBuilt;
const oneCodePointNotPresentation = /^\P{Emoji_Presentation}$/u;
const rgiEmojiRegex = {
  test: (text) =>
    !oneCodePointNotPresentation.test(text) &&
    (rgiEmojiRegexBuilt ??= new RegExp('^\\p{RGI_Emoji}$', 'v')).test(text),
};`,
  );
}

const SEGMENTER = /^(const|let|var) (\w+) = new Intl\.Segmenter\(([^()]*)\);$/m;

/**
 * string-width, slice-ansi and @alcalzone/ansi-tokenize each make an `Intl.Segmenter` when they
 * are imported. The first one made in a process loads ICU's break rules: 12-20 ms natively,
 * 180-260 ms of CPU in a TCG guest, at every start of an Ink screen, though only text that is
 * not plain ASCII ever reaches string-width's and slice-ansi's (the monitor draws without them:
 * screens/ink-fast-output.ts). Each becomes an object whose `segment()` makes the same segmenter
 * on first use. Returns null for a file without one; throws when a segmenter is used other than
 * by `.segment(`, which the lazy object would not support.
 */
export function lazySegmenters(source) {
  let out = source;
  let patched = 0;
  // Lines that are only a comment do not count as uses (string-width's names it in one). Made
  // once: each patch below replaces only its own segmenter's line, under its own name.
  const code = source
    .split('\n')
    .filter((l) => !/^\s*(\/\/|\/\*|\*)/.test(l))
    .join('\n');
  for (let m = SEGMENTER.exec(out); m; m = SEGMENTER.exec(out)) {
    const [line, kind, name, args] = m;
    const uses = code.match(new RegExp(`(?<![\\w$.])${name}(?![\\w$])`, 'g'))?.length ?? 0;
    const segments = code.match(new RegExp(`(?<![\\w$.])${name}\\.segment\\(`, 'g'))?.length ?? 0;
    if (uses !== segments + 1) {
      throw new Error(
        `${name} (an Intl.Segmenter) is used other than by .segment(): the lazy patch would break it`,
      );
    }
    const built = `${name}Built`;
    out = out.replace(
      line,
      () =>
        `let ${built};\n` +
        `${kind} ${name} = { segment: (text) => (${built} ??= new Intl.Segmenter(${args})).segment(text) };`,
    );
    patched++;
  }
  return patched === 0 ? null : out;
}

const BANNER_PARTS = {
  require: [
    "import { createRequire as __lvsCreateRequire } from 'node:module';",
    'const require = __lvsCreateRequire(import.meta.url);',
  ],
  __filename: [
    "import { fileURLToPath as __lvsFileURLToPath } from 'node:url';",
    'const __filename = __lvsFileURLToPath(import.meta.url);',
  ],
  __dirname: [
    "import { dirname as __lvsDirname } from 'node:path';",
    'const __dirname = __lvsDirname(__filename);',
  ],
};

/**
 * A bundled file with only the parts of BUNDLE_BANNER it uses: most chunks name none of
 * require, __filename and __dirname, and each part costs at every start (createRequire and
 * fileURLToPath for each of the ~20 chunks the monitor loads: ~0.1 s of CPU in a TCG guest).
 * A name found anywhere in the file (even in a string) keeps its part: never too few.
 */
export function trimBanner(code) {
  if (!code.startsWith(BUNDLE_BANNER))
    throw new Error('trimBanner: the file does not start with BUNDLE_BANNER');
  const body = code.slice(BUNDLE_BANNER.length);
  const uses = (name) => new RegExp(`(?<![\\w$])${name}(?![\\w$])`).test(body);
  const dirname = uses('__dirname');
  const keep = [
    uses('require') && 'require',
    (dirname || uses('__filename')) && '__filename',
    dirname && '__dirname',
  ].filter(Boolean);
  return bannerOf(keep) + body;
}

/** The banner's imports, then its declarations, for these names (in BANNER_PARTS' order). */
function bannerOf(names) {
  const parts = names.map((k) => BANNER_PARTS[k]);
  return [...parts.map((p) => p[0]), ...parts.map((p) => p[1])].join(' ');
}

/**
 * The first line of every bundled file: CommonJS dependencies (write-file-atomic, enquirer)
 * expect require, __filename and __dirname, which ESM does not have. Shared by scripts/build.mjs
 * and bench/wizard-build.ts (the e2e test's private build), so both bundles can save files.
 */
export const BUNDLE_BANNER = bannerOf(['require', '__filename', '__dirname']);
