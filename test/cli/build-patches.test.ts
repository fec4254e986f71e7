import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs build script without types
import { BUNDLE_BANNER, lazyRgiEmojiRegex } from '../../scripts/build-patches.mjs';

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

  it('is the one the release build and the e2e test’s private build both use', () => {
    for (const f of ['../../scripts/build.mjs', '../../bench/wizard-build.ts']) {
      expect(readFileSync(new URL(f, import.meta.url), 'utf8')).toMatch(
        /banner: \{ js: BUNDLE_BANNER \}/,
      );
    }
  });
});
