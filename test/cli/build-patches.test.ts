import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  BUNDLE_BANNER,
  lazyRgiEmojiRegex,
  lazySegmenters,
  trimBanner,
  // @ts-expect-error: a plain .mjs build script without types
} from '../../scripts/build-patches.mjs';
import { buildLikeRelease } from '../../bench/wizard-build.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));

const patch = lazyRgiEmojiRegex as (source: string) => string | null;
// Ink's own string-width (the one the bundle patches), found the way Ink finds it.
const inkRequire = createRequire(createRequire(import.meta.url).resolve('ink'));
const stringWidthFile = inkRequire.resolve('string-width');

describe("the build's patch of string-width (emoji pattern built on first use)", () => {
  it('measures every kind of text exactly as the original', async () => {
    const original = readFileSync(stringWidthFile, 'utf8');
    const patched = patch(original);
    expect(patched).not.toBeNull();
    expect(patched).not.toContain('const rgiEmojiRegex = /^\\p{RGI_Emoji}$/v;');
    // Beside the original, so its own imports resolve.
    const file = join(dirname(stringWidthFile), `.patched-${process.pid}.mjs`);
    writeFileSync(file, patched ?? '');
    try {
      const lazy = (await import(pathToFileURL(file).href)) as { default: (s: string) => number };
      const stock = (await import(pathToFileURL(stringWidthFile).href)) as typeof lazy;
      const samples = [
        '',
        'plain ASCII',
        '› 10.0.0.1:80 ▁▂▃█',
        '导演 server',
        '👍',
        '👨‍👩‍👧',
        '🇫🇷',
        '1️⃣',
        '☺',
        '\u001b[31mred\u001b[39m',
        'e\u0301',
        '한국어',
      ];
      const widths = samples.map((s) => lazy.default(s));
      expect(widths).toEqual(samples.map((s) => stock.default(s)));
      // emoji really took the emoji path (double width)
      expect(lazy.default('👍')).toBe(2);
      expect(lazy.default('👨‍👩‍👧')).toBe(2);
    } finally {
      rmSync(file, { force: true });
    }
  });

  it('answers as the set for every code point, and builds it only for text that may be emoji', async () => {
    const patched = patch(readFileSync(stringWidthFile, 'utf8')) ?? '';
    type Rgi = { test: (text: string) => boolean };
    const mod = await importBeside<{ rgiForTest: Rgi; default: (s: string) => number }>(
      stringWidthFile,
      `${patched}\nexport { rgiEmojiRegex as rgiForTest };`,
    );
    // Which patterns RegExp builds while text is measured (the patch builds the set with it).
    const built: string[] = [];
    const Stock = globalThis.RegExp;
    const spy = (fn: () => void) => {
      globalThis.RegExp = new Proxy(Stock, {
        construct: (target, args: [string, string?]) => {
          built.push(String(args[0]));
          return Reflect.construct(target, args) as RegExp;
        },
      });
      try {
        fn();
      } finally {
        globalThis.RegExp = Stock;
      }
    };
    // The screens' own characters: no emoji set.
    spy(() => {
      for (const text of ['› web1 ▁▂▃▄▅▆▇█', 'lvs-setup · This host', '⠦ Reading…', '✘ ✔ ─│┌']) {
        expect(mod.default(text)).toBe([...text].length);
      }
    });
    expect(built.filter((p) => p.includes('RGI_Emoji'))).toEqual([]);
    spy(() => expect(mod.default('ok 👍')).toBe(5));
    expect(built.filter((p) => p.includes('RGI_Emoji'))).toHaveLength(1);
    // Every code point, against the set itself.
    const set = new RegExp('^\\p{RGI_Emoji}$', 'v');
    const wrong: string[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      const text = String.fromCodePoint(cp);
      if (mod.rgiForTest.test(text) !== set.test(text)) wrong.push(cp.toString(16));
    }
    expect(wrong).toEqual([]);
    // and sequences still reach it
    for (const text of ['👨‍👩‍👧', '🇫🇷', '1️⃣', '☺️', '👍🏽']) expect(mod.rgiForTest.test(text)).toBe(true);
  }, 30_000);

  it('leaves a copy without the pattern alone and refuses one that uses it otherwise', () => {
    expect(patch('export default function width() { return 0; }')).toBeNull();
    expect(() =>
      patch('const rgiEmojiRegex = /^\\p{RGI_Emoji}$/v;\nexport const r = rgiEmojiRegex;'),
    ).toThrow(/rgiEmojiRegex/);
    expect(() => patch('const emoji = /^\\p{RGI_Emoji}$/v;')).toThrow(/string-width changed/);
  });
});

describe('the banner every bundle starts with', () => {
  it('gives ESM chunks the require, __filename and __dirname CommonJS dependencies use', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvs-banner-'));
    const file = join(dir, 'chunk.mjs');
    writeFileSync(
      file,
      `${BUNDLE_BANNER as string}\nexport default [typeof require('node:fs').readFileSync, __filename, __dirname];\n`,
    );
    try {
      const got = ((await import(pathToFileURL(file).href)) as { default: unknown[] }).default;
      expect(got).toEqual(['function', file, dir]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is in the e2e test’s private build exactly as in the release build (one buildBundle)', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'lvs-build-twins-'));
    try {
      const release = join(scratch, 'release');
      const r = spawnSync(process.execPath, ['scripts/build.mjs'], {
        cwd: repo,
        env: { ...process.env, LVS_SETUP_BUILD_OUT: release, CC: '/nonexistent-cc' },
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      const mine = join(scratch, 'private');
      await buildLikeRelease(join(repo, 'source/main.ts'), join(mine, 'lvs-setup.js'));
      const js = (dir: string) =>
        readdirSync(dir, { recursive: true, encoding: 'utf8' })
          .filter((f) => f.endsWith('.js'))
          .sort();
      expect(js(mine)).toEqual(js(release));
      expect(js(release).length).toBeGreaterThan(10);
      for (const f of js(release))
        expect(readFileSync(join(mine, f), 'utf8'), f).toBe(readFileSync(join(release, f), 'utf8'));
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }, 60_000);
});

const lazy = lazySegmenters as (source: string) => string | null;
const trim = trimBanner as (code: string) => string;

/** Imports `source` as a module beside `besideFile` (so its own imports resolve), then removes it. */
async function importBeside<T>(besideFile: string, source: string): Promise<T> {
  const file = join(dirname(besideFile), `.patched-${process.pid}-${Math.random()}.mjs`);
  writeFileSync(file, source);
  try {
    return (await import(pathToFileURL(file).href)) as T;
  } finally {
    rmSync(file, { force: true });
  }
}

describe("the build's patch of the text tools' Intl.Segmenter (made on first use)", () => {
  // The three files the build patches, found the way Ink and the monitor's output find them.
  const files = {
    stringWidth: stringWidthFile,
    sliceAnsi: join(dirname(inkRequire.resolve('slice-ansi')), 'tokenize-ansi.js'),
    tokenize: join(
      dirname(inkRequire.resolve('@alcalzone/ansi-tokenize/package.json')),
      'build/tokenize.js',
    ),
  };
  const samples = ['', 'plain', '\u001b[1mbold\u001b[22m ▁▂█', '导演', '👨‍👩‍👧 e\u0301', '한국어'];

  it('makes no segmenter at import, and the patched files work as the originals', async () => {
    const made: unknown[] = [];
    const Original = Intl.Segmenter;
    // Intl's properties are writable at run time; its types say read-only.
    const intl = Intl as { Segmenter: typeof Intl.Segmenter };
    // Counts every segmenter made while the patched copies are imported and used.
    class Counting extends Original {
      constructor(...args: ConstructorParameters<typeof Intl.Segmenter>) {
        super(...args);
        made.push(args);
      }
    }
    intl.Segmenter = Counting;
    try {
      for (const [name, file] of Object.entries(files)) {
        const original = readFileSync(file, 'utf8');
        const patched = lazy(original);
        expect(patched, name).not.toBeNull();
        expect(patched, name).not.toMatch(/^(const|let|var) \w+ = new Intl\.Segmenter\(/m);
        made.length = 0;
        const mod = await importBeside<Record<string, (s: string) => unknown>>(file, patched ?? '');
        expect(made, `${name} made a segmenter at import`).toEqual([]);
        const stock = (await import(pathToFileURL(file).href)) as typeof mod;
        const fn = name === 'tokenize' ? 'tokenize' : 'default';
        const got = samples.map((s) => mod[fn]?.(s));
        intl.Segmenter = Original;
        expect(got, name).toEqual(samples.map((s) => stock[fn]?.(s)));
        intl.Segmenter = Counting;
      }
    } finally {
      intl.Segmenter = Original;
    }
  });

  it('leaves a file without one alone and refuses one used other than by .segment(', () => {
    expect(lazy('export const x = 1;')).toBeNull();
    expect(() => lazy('const seg = new Intl.Segmenter();\nexport const s = seg;\n')).toThrow(
      /other than by \.segment/,
    );
    // A comment line naming it is not a use.
    expect(
      lazy(
        'const seg = new Intl.Segmenter();\n// seg is slow to make\nexport const f = (t) => [...seg.segment(t)];\n',
      ),
    ).toContain('segBuilt ??= new Intl.Segmenter()');
  });
});

describe("the build's trim of the banner (each file keeps only the parts it uses)", () => {
  const cases: [string, string, string[]][] = [
    ['none', 'export default [];', []],
    ['require', "export default [typeof require('node:fs').readFileSync];", ['require']],
    ['__filename', 'export default [__filename];', ['__filename']],
    ['__dirname', 'export default [__dirname];', ['__filename', '__dirname']],
    ['__require is not require', 'const __require = 1; export default [__require];', []],
  ];
  it.each(cases)('%s', async (_label, body, kept) => {
    const lean = trim(`${BUNDLE_BANNER as string}\n${body}\n`);
    for (const name of ['require', '__filename', '__dirname']) {
      expect(lean.includes(`const ${name} =`), name).toBe(kept.includes(name));
    }
    const dir = mkdtempSync(join(tmpdir(), 'lvs-banner-'));
    const file = join(dir, 'chunk.mjs');
    writeFileSync(file, lean);
    try {
      const got = ((await import(pathToFileURL(file).href)) as { default: unknown[] }).default;
      if (kept.includes('require')) expect(got).toEqual(['function']);
      if (kept.includes('__dirname')) expect(got).toEqual([dir]);
      else if (kept.includes('__filename')) expect(got).toEqual([file]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a file that does not start with the banner', () => {
    expect(() => trim('export default 1;')).toThrow(/BUNDLE_BANNER/);
  });
});
