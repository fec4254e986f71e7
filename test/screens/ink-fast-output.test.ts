import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tokenize } from '@alcalzone/ansi-tokenize';
import { fastOutputGet, Output, sgrCodes, stockGet } from '../../screens/ink-fast-output.js';

type Op =
  | { type: 'write'; x: number; y: number; text: string; transform?: number }
  | { type: 'clip'; x1?: number; x2?: number; y1?: number; y2?: number }
  | { type: 'unclip' };

const ESC = '\u001b[';
/** Pieces of text Ink writes: ASCII, wide and combining characters, SGR codes as chalk makes. */
const piece = fc.constantFrom(
  'a',
  'Z',
  ' ',
  '  ',
  '10.0.0.1:80',
  '› ',
  '…',
  '↑↓',
  '▲▼',
  '─',
  '│',
  '█',
  '▁▂▃',
  '你',
  '😀',
  'é',
  'e\u0301',
  '\t',
  '\n',
  `${ESC}31m`,
  `${ESC}39m`,
  `${ESC}1m`,
  `${ESC}22m`,
  `${ESC}7m`,
  `${ESC}27m`,
  `${ESC}2m`,
  `${ESC}38;2;10;20;30m`,
  `${ESC}48;5;200m`,
  `${ESC}49m`,
  `${ESC}0m`,
  `${ESC}m`,
  `${ESC}1;31m`,
  `${ESC}2;7;38;5;9m`,
  `${ESC}22;39m`,
  `${ESC}32mok${ESC}39m`,
  // Not SGR: an escape the tokenizer keeps as a character, and a cut-off sequence.
  '\u001b',
  `${ESC}3`,
  '\u009b',
);
const text = fc.array(piece, { maxLength: 14 }).map((a) => a.join(''));
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      type: fc.constant('write' as const),
      x: fc.integer({ min: -3, max: 24 }),
      y: fc.integer({ min: -3, max: 9 }),
      text,
      transform: fc.integer({ min: 0, max: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record(
      {
        type: fc.constant('clip' as const),
        x1: fc.integer({ min: -2, max: 20 }),
        x2: fc.integer({ min: 0, max: 24 }),
        y1: fc.integer({ min: -2, max: 6 }),
        y2: fc.integer({ min: 0, max: 9 }),
      },
      { requiredKeys: ['type'] },
    ),
  },
  { weight: 1, arbitrary: fc.constant({ type: 'unclip' as const }) },
);

/** Transformers as Ink's Transform applies them: none, case, colour by line index, FixedLine's. */
const TRANSFORMS: ((line: string, index: number) => string)[][] = [
  [],
  [(line) => line.toUpperCase()],
  [(line, index) => (index % 2 ? `${ESC}36m${line}${ESC}39m` : `#${line}`)],
  [(line) => line.replace(/[a-z]/g, '▇'), (line) => `${ESC}7m${line}`],
];

function screen(width: number, height: number, ops: readonly Op[]): Output {
  const out = new Output({ width, height });
  for (const o of ops) {
    if (o.type === 'write')
      out.write(o.x, o.y, o.text, { transformers: TRANSFORMS[o.transform ?? 0] ?? [] });
    else if (o.type === 'clip') {
      const { type: _type, ...clip } = o;
      out.clip({ x1: clip.x1, x2: clip.x2, y1: clip.y1, y2: clip.y2 });
    } else out.unclip();
  }
  return out;
}

describe("the monitor's faster get() for Ink's Output", () => {
  it('gives the same screen as Ink, byte for byte, on random writes, styles and clips', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 22 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(op, { maxLength: 12 }),
        (width, height, ops) => {
          const want = stockGet.call(screen(width, height, ops));
          // twice: the second time from the caches
          expect(fastOutputGet.call(screen(width, height, ops))).toEqual(want);
          expect(fastOutputGet.call(screen(width, height, ops))).toEqual(want);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('gives the same screen as Ink when Yoga gives fractions, or nothing, for the size and places', () => {
    const size = fc.oneof(
      fc.integer({ min: -2, max: 12 }),
      fc.double({ min: -2, max: 12, noNaN: true }),
      fc.constant(Number.NaN),
    );
    const place = fc.oneof(
      fc.integer({ min: -2, max: 10 }),
      fc.double({ min: -2, max: 10, noNaN: true }),
    );
    const write = fc.record({ type: fc.constant('write' as const), x: place, y: place, text });
    fc.assert(
      fc.property(size, size, fc.array(write, { maxLength: 8 }), (width, height, ops) => {
        const want = stockGet.call(screen(width, height, ops));
        expect(fastOutputGet.call(screen(width, height, ops))).toEqual(want);
        expect(fastOutputGet.call(screen(width, height, ops))).toEqual(want);
      }),
      { numRuns: 1500 },
    );
    // the frame that crashed the wizard: a height of 3.5 is 4 rows, as in Ink
    expect(
      fastOutputGet.call(screen(10, 3.5, [{ type: 'write', x: 0, y: 3, text: 'ok' }])),
    ).toEqual({
      output: '\n\n\nok',
      height: 4,
    });
  });

  it('gives the same screen as Ink for rows of one line at the left edge (as the monitor draws)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 22 }),
        fc.array(text, { minLength: 1, maxLength: 8 }),
        (width, rows) => {
          const ops: Op[] = rows.map((t, y) => ({
            type: 'write',
            x: 0,
            y,
            text: t.replace(/\n/g, ''),
          }));
          const want = stockGet.call(screen(width, rows.length, ops));
          expect(fastOutputGet.call(screen(width, rows.length, ops))).toEqual(want);
          expect(fastOutputGet.call(screen(width, rows.length, ops))).toEqual(want);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('keeps rows apart that differ only in where a line is or how wide the screen is', () => {
    const a = fastOutputGet.call(screen(10, 2, [{ type: 'write', x: 0, y: 0, text: 'ab' }]));
    const b = fastOutputGet.call(screen(10, 2, [{ type: 'write', x: 3, y: 0, text: 'ab' }]));
    const c = fastOutputGet.call(screen(2, 2, [{ type: 'write', x: 1, y: 0, text: 'abc' }]));
    expect(a.output).toBe('ab\n');
    expect(b.output).toBe('   ab\n');
    expect(c.output).toBe(
      stockGet.call(screen(2, 2, [{ type: 'write', x: 1, y: 0, text: 'abc' }])).output,
    );
  });

  it('runs transformers where Ink does (after clipping, with the line index)', () => {
    const out = () => {
      const o = new Output({ width: 8, height: 3 });
      o.clip({ x1: undefined, x2: undefined, y1: 1, y2: 3 });
      o.write(0, 0, 'abc\ndef\nghi', { transformers: [(l: string, i: number) => `${i}${l}`] });
      return o;
    };
    expect(fastOutputGet.call(out()).output).toBe(stockGet.call(out()).output);
    expect(fastOutputGet.call(out()).output).toBe('\n0def\n1ghi');
  });
});

describe("the fast output's SGR codes (made without ansi-tokenize's segmenter where it can)", () => {
  it('gives what tokenize() gives for every single code, compound and odd sequence', () => {
    const sequences = [
      ...Array.from({ length: 120 }, (_, n) => `${ESC}${n}m`),
      `${ESC}01m`,
      `${ESC}022m`,
      `${ESC}00m`,
      `${ESC}m`,
      `${ESC}1;31m`,
      `${ESC}38;5;9m`,
      `${ESC}48;2;1;2;3m`,
    ];
    for (const sequence of sequences) {
      expect(sgrCodes(sequence), JSON.stringify(sequence)).toEqual(
        tokenize(sequence).filter((t) => t.type === 'ansi'),
      );
    }
  });
});
