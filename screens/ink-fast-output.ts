/**
 * A faster, equivalent `get()` for Ink's Output (ink 6.8, build/output.js).
 *
 * Ink draws every frame into a grid of cell objects: it tokenizes each written line into styled
 * characters (@alcalzone/ansi-tokenize), places them, and turns each row back into a string.
 * For the monitor (160×50, redrawn every second and on every key) that step is most of a frame:
 * ~25 ms of ~30 on the build machine, measured by bench/monitor.ts. This `get()` gives the same
 * string, byte for byte (test/screens/ink-fast-output.test.ts compares the two on random
 * screens), with less work:
 * - a line's styled characters are kept from one frame to the next (a key press redraws the same
 *   lines); a line of one-column characters (ASCII, box drawing, blocks, arrows) and SGR colour
 *   codes is split by hand rather than by the grapheme tokenizer, into shared cells whose runs of
 *   one style share one styles array;
 * - a row made of the same writes as a row of an earlier frame reuses that row's string;
 * - a row is turned back into a string computing style changes only where the style changes;
 *   blank cells are one shared object.
 * Transformers (Ink's Transform component, which the monitor's FixedLine uses) run where Ink
 * runs them, on each line after clipping; the caches are keyed by what they return.
 *
 * installFastOutput() patches Output.prototype; the monitor and the wizard call it before their
 * first frame.
 */
import {
  ansiCodesToString,
  diffAnsiCodes,
  reduceAnsiCodesIncremental,
  styledCharsFromTokens,
  tokenize,
  type AnsiCode,
  type StyledChar,
} from '@alcalzone/ansi-tokenize';
import ansiStyles from 'ansi-styles';
import sliceAnsi from 'slice-ansi';
import stringWidth from 'string-width';
import { BoundedMemo } from '../source/monitor/memo.js';
// Ink's own module instance (its package exports only the entry point): the same file Ink's
// renderer imports, so patching its prototype changes what Ink draws with.
import Output from '../node_modules/ink/build/output.js';

type Clip = {
  x1?: number | undefined;
  x2?: number | undefined;
  y1?: number | undefined;
  y2?: number | undefined;
};
type Transformer = (line: string, index: number) => string;
type Operation =
  | { type: 'write'; x: number; y: number; text: string; transformers: Transformer[] }
  | { type: 'clip'; clip: Clip }
  | { type: 'unclip' };

interface OutputInternals {
  width: number;
  height: number;
  operations: Operation[];
}

type GetResult = { output: string; height: number };

/** Ink's own get(), as shipped. */
export const stockGet: (this: Output) => GetResult = Output.prototype.get;

/** One styles array for every unstyled cell (the row builder compares styles by identity). */
const NO_STYLES: AnsiCode[] = [];
const BLANK: StyledChar = { type: 'char', value: ' ', fullWidth: false, styles: NO_STYLES };

interface Line {
  chars: StyledChar[];
  /** Printed width of each char (Ink: max(1, string-width)). */
  widths: number[] | null; // null: all 1
}

/**
 * Characters the tokenizer would make one narrow, single-grapheme char each (none is wide,
 * combining, a joiner or a selector): printable ASCII and the monitor's few symbols.
 */
function isNarrow(c: number): boolean {
  return (
    (c >= 0x20 && c <= 0x7e) ||
    c === 0x2026 ||
    c === 0x203a ||
    (c >= 0x2190 && c <= 0x2193) ||
    (c >= 0x2500 && c <= 0x259f) ||
    c === 0x25b2 ||
    c === 0x25bc
  );
}

/** One shared unstyled cell per narrow character. */
const plainCells = new Map<number, StyledChar>();
function plainCell(c: number): StyledChar {
  let cell = plainCells.get(c);
  if (!cell) {
    cell = { type: 'char', value: String.fromCharCode(c), fullWidth: false, styles: NO_STYLES };
    plainCells.set(c, cell);
  }
  return cell;
}

/** Styles arrays by content, so equal styles are one array. */
const stylesByKey = new Map<string, AnsiCode[]>([['', NO_STYLES]]);
function canonicalStyles(codes: AnsiCode[]): AnsiCode[] {
  const key = codes.map((c) => `${c.code}\u0000${c.endCode}`).join('\u0001');
  let found = stylesByKey.get(key);
  if (!found) {
    found = codes;
    stylesByKey.set(key, found);
  }
  return found;
}

/** ansi-styles' closing code of each opening one, and every closing code (as SGR numbers). */
const closeOf = new Map<number, number>(ansiStyles.codes);
const closing = new Set<number>(ansiStyles.codes.values());

/**
 * The codes of an SGR sequence, as ansi-tokenize's tokenize() gives them. A single code that
 * ansi-styles knows (every code the monitor draws with) is made here: its end code is itself
 * when it closes, else the code that closes it, as ansi-tokenize's getEndCode() decides.
 * tokenize() walks the text with an Intl.Segmenter, whose first use in a process loads ICU's
 * break rules (~0.2 s of CPU at every start in a TCG guest), for sequences without a character.
 * Anything else (compound, 256/true colour, unknown) goes to tokenize() itself.
 */
export function sgrCodes(sequence: string): AnsiCode[] {
  // eslint-disable-next-line no-control-regex -- an SGR sequence starts with ESC
  const single = /^\u001b\[(0|[1-9]\d*)m$/.exec(sequence);
  const n = single ? Number(single[1]) : Number.NaN;
  if (closing.has(n)) return [{ type: 'ansi', code: sequence, endCode: sequence }];
  const close = closeOf.get(n);
  if (close !== undefined) return [{ type: 'ansi', code: sequence, endCode: `\u001b[${close}m` }];
  return tokenize(sequence).filter((t): t is AnsiCode => t.type === 'ansi');
}

/**
 * The styles after an SGR sequence, as the tokenizer and styledCharsFromTokens compute them:
 * kept per (canonical) styles array and sequence, looked up without building a key or a
 * callback per sequence. A screen has a handful of styles and sequences.
 */
const afterSgr = new WeakMap<AnsiCode[], Map<string, AnsiCode[]>>();
function applySgr(styles: AnsiCode[], sequence: string): AnsiCode[] {
  let bySequence = afterSgr.get(styles);
  if (!bySequence) {
    bySequence = new Map();
    afterSgr.set(styles, bySequence);
  }
  let next = bySequence.get(sequence);
  if (!next) {
    next = styles;
    // One code at a time, as styledCharsFromTokens reduces them.
    for (const code of sgrCodes(sequence)) next = reduceAnsiCodesIncremental(next, [code]);
    next = canonicalStyles(next);
    bySequence.set(sequence, next);
  }
  return next;
}

/** The end of an SGR sequence starting at `at` (ESC [ digits and semicolons m), or -1. */
function sgrEnd(line: string, at: number): number {
  if (line.charCodeAt(at + 1) !== 0x5b) return -1;
  for (let i = at + 2; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 0x6d) return i;
    if (c === 0x3b || (c >= 0x30 && c <= 0x39)) continue;
    return -1;
  }
  return -1;
}

/** Styled chars of a line of narrow characters and SGR codes; null for anything else. */
function narrowStyledChars(line: string): StyledChar[] | null {
  const chars: StyledChar[] = [];
  let styles = NO_STYLES;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 0x1b) {
      const end = sgrEnd(line, i);
      if (end < 0) return null;
      styles = applySgr(styles, line.slice(i, end + 1));
      i = end;
      continue;
    }
    if (!isNarrow(c)) return null;
    chars.push(
      styles === NO_STYLES
        ? plainCell(c)
        : { type: 'char', value: line[i] as string, fullWidth: false, styles },
    );
  }
  return chars;
}

// The memos' functions are module-level, not arrows made at each lookup: a callback made on
// every call loses its optimized code at full GCs and is compiled again (see paintRow).
const widths = new BoundedMemo<number>(20_000);
const measureChar = (value: string) => Math.max(1, stringWidth(value));
const charWidth = (value: string) => widths.get(value, measureChar);

const lines = new BoundedMemo<Line>(8_000);
function makeLine(text: string): Line {
  const narrow = narrowStyledChars(text);
  if (narrow) return { chars: narrow, widths: null };
  const chars = styledCharsFromTokens(tokenize(text));
  // Each char comes with its own copy of the styles: shared ones make rowToString's style
  // changes one lookup each (styleChange).
  for (const c of chars) c.styles = canonicalStyles(c.styles);
  const w = chars.map((c) => charWidth(c.value));
  return { chars, widths: w.every((x) => x === 1) ? null : w };
}
const lineOf = (text: string): Line => lines.get(text, makeLine);

const blockWidths = new BoundedMemo<number>(8_000);
function widestOf(text: string): number {
  let max = 0;
  for (const line of text.split('\n')) max = Math.max(max, stringWidth(line));
  return max;
}
const widestLine = (text: string) => blockWidths.get(text, widestOf);

const rowStrings = new BoundedMemo<string>(4_000);

/**
 * The codes that change `from` into `to`, as styledCharsToString writes them: one string per
 * pair of styles arrays, worked out once (every line's styles are canonical arrays: see
 * canonicalStyles, applySgr and makeLine). ansi-tokenize's diff makes Sets, arrays and
 * closures at every change; done in rowToString's loop, V8 inlined all of it there and compiled
 * that function three or four times in the monitor's first seconds (117-185 ms natively,
 * `--trace-opt`). Each from-array keeps at most CHANGES_PER_STYLE targets, in case styles that
 * are not canonical ever reach it (they would pile up under the shared empty styles).
 */
const CHANGES_PER_STYLE = 256;
const changes = new WeakMap<AnsiCode[], Map<AnsiCode[], string>>();
function styleChange(from: AnsiCode[], to: AnsiCode[]): string {
  let byTarget = changes.get(from);
  if (!byTarget) {
    byTarget = new Map();
    changes.set(from, byTarget);
  }
  let codes = byTarget.get(to);
  if (codes === undefined) {
    codes = ansiCodesToString(diffAnsiCodes(from, to));
    if (byTarget.size >= CHANGES_PER_STYLE) byTarget.clear();
    byTarget.set(to, codes);
  }
  return codes;
}

/**
 * styledCharsToString, then trimEnd, as Ink does; a style change is computed only where the
 * styles array changes (equal styles give no codes, and equal runs share one array). Starting
 * from no styles is the same as starting from nothing: the diff from [] is `to` itself.
 */
function rowToString(cells: readonly StyledChar[]): string {
  let s = '';
  let prev = NO_STYLES;
  for (const c of cells) {
    if (c.styles !== prev) {
      s += styleChange(prev, c.styles);
      prev = c.styles;
    }
    s += c.value;
  }
  if (prev.length > 0) s += styleChange(prev, NO_STYLES);
  return s.trimEnd();
}

const isCell = (c: StyledChar | undefined): c is StyledChar => c !== undefined;

/**
 * One row of the screen from what is placed on it. Module-level, like isCell: a callback made on
 * every call loses its optimized code at each full GC and is compiled again (measured: these
 * were among the monitor's most recompiled functions).
 */
function paintRow(width: number, writes: readonly [number, string][]): string {
  const cells: (StyledChar | undefined)[] = new Array<StyledChar>(width).fill(BLANK);
  for (const [x0, text] of writes) {
    const line = lineOf(text);
    let offsetX = x0;
    for (let i = 0; i < line.chars.length; i++) {
      const ch = line.chars[i] as StyledChar;
      cells[offsetX] = ch;
      const cw = line.widths ? (line.widths[i] ?? 1) : 1;
      for (let k = 1; k < cw; k++)
        cells[offsetX + k] = { type: 'char', value: '', fullWidth: false, styles: ch.styles };
      offsetX += cw;
    }
  }
  // Ink drops holes (a write past the end of a shorter array leaves undefined slots).
  return rowToString(cells.filter(isCell));
}

/**
 * A row's string. A row that is one write at x = 0 of narrow characters and SGR codes (every
 * row the monitor draws) is its line's chars as they are: no cells of the screen's width to fill
 * and filter, and no memo of the line (a changed row's text is new anyway). The blank cells
 * paintRow would add after it are unstyled spaces that trimEnd drops; what is left of them is
 * the one style change into them, the same codes rowToString ends a row with.
 */
function rowString(width: number, writes: readonly [number, string][]): string {
  const only = writes.length === 1 ? writes[0] : undefined;
  if (only && only[0] === 0) {
    const chars = narrowStyledChars(only[1]);
    if (chars !== null) return rowToString(chars);
  }
  return paintRow(width, writes);
}

/**
 * How many rows (cells) Ink's grid has for a height (width): one for each whole number from 0
 * below it. Yoga can lay a box out at a fraction of a cell, and `new Array(3.5)` throws where
 * Ink's loop makes 4 (the wizard crashed on it in the lab, on the frame after its apply); none
 * for 0 or less.
 */
const cellsBelow = (n: number): number => (n > 0 ? Math.ceil(n) : 0);

function fastGet(this: Output): GetResult {
  const self = this as unknown as OutputInternals;
  const { operations } = self;
  const width = cellsBelow(self.width);
  const height = cellsBelow(self.height);
  // What is placed on each row, in order: [x, line text] pairs (after clipping).
  const placed: [number, string][][] = new Array<[number, string][]>(height);
  for (let y = 0; y < height; y++) placed[y] = [];
  const clips: Clip[] = [];
  for (const op of operations) {
    if (op.type === 'clip') {
      clips.push(op.clip);
      continue;
    }
    if (op.type === 'unclip') {
      clips.pop();
      continue;
    }
    const { text } = op;
    if (!text) continue;
    let { x, y } = op;
    let rows = text.split('\n');
    const clip = clips.at(-1);
    if (clip) {
      const clipH = typeof clip.x1 === 'number' && typeof clip.x2 === 'number';
      const clipV = typeof clip.y1 === 'number' && typeof clip.y2 === 'number';
      if (clipH) {
        const w = widestLine(text);
        if (x + w < (clip.x1 as number) || x > (clip.x2 as number)) continue;
      }
      if (clipV) {
        if (y + rows.length < (clip.y1 as number) || y > (clip.y2 as number)) continue;
      }
      if (clipH) {
        const x1 = clip.x1 as number;
        const x2 = clip.x2 as number;
        rows = rows.map((line) => {
          const from = x < x1 ? x1 - x : 0;
          const w = stringWidth(line);
          const to = x + w > x2 ? x2 - x : w;
          return sliceAnsi(line, from, to);
        });
        if (x < x1) x = x1;
      }
      if (clipV) {
        const y1 = clip.y1 as number;
        const y2 = clip.y2 as number;
        const from = y < y1 ? y1 - y : 0;
        const to = y + rows.length > y2 ? y2 - y : rows.length;
        rows = rows.slice(from, to);
        if (y < y1) y = y1;
      }
    }
    // As Ink does: the row moves down only after a line was placed, so a write that starts
    // outside the screen (above it, or below) places nothing at all.
    let offsetY = 0;
    for (let index = 0; index < rows.length; index++) {
      const row = placed[y + offsetY];
      if (!row) continue;
      let line = rows[index] as string;
      for (const transform of op.transformers) line = transform(line, index);
      row.push([x, line]);
      offsetY++;
    }
  }

  const out: string[] = new Array<string>(height);
  for (let y = 0; y < height; y++) {
    const writes = placed[y] ?? [];
    if (writes.length === 0) {
      out[y] = '';
      continue;
    }
    let key = `${width}`;
    for (const [x, text] of writes) key += `\u0000${x}\u0001${text}`;
    let row = rowStrings.peek(key);
    if (row === undefined) {
      row = rowString(width, writes);
      rowStrings.set(key, row);
    }
    out[y] = row;
  }
  return { output: out.join('\n'), height };
}

/** Make Ink draw with fastGet (idempotent); `false` puts Ink's own back (the benchmark compares). */
export function installFastOutput(on = true): void {
  Output.prototype.get = on ? fastGet : stockGet;
}

/** For tests: the fast get() on any Output. */
export const fastOutputGet = fastGet;
export { Output };
