import { renderToString } from 'ink';
import { describe, expect, it } from 'vitest';
import { FixedLine, fitSegments, substitute } from '../../screens/monitor/fixed-line.js';

describe('FixedLine', () => {
  it('swaps the real text in around colour codes', () => {
    expect(substitute('\u001b[7mxxxx\u001b[27m\u001b[31mxx\u001b[39m', 'abcdef')).toBe(
      '\u001b[7mabcd\u001b[27m\u001b[31mef\u001b[39m',
    );
    expect(substitute('xxx', 'ab')).toBe('ab ');
  });

  it('cuts segments to the width with an ellipsis', () => {
    expect(fitSegments([{ text: 'abcdef' }, { text: 'ghij' }], 8).map((s) => s.text)).toEqual([
      'abcdef',
      'g…',
    ]);
    expect(fitSegments([{ text: '' }, { text: 'abc' }], 2).map((s) => s.text)).toEqual(['a…']);
  });

  it('draws the real text, block characters included, and falls back for wide characters', () => {
    expect(
      renderToString(
        <FixedLine width={40} segments={[{ text: 'cps ▁▂▃█ ' }, { text: 'up', color: 'green' }]} />,
      ),
    ).toBe('cps ▁▂▃█ up');
    expect(renderToString(<FixedLine width={40} segments={[{ text: 'host 导演' }]} />)).toBe(
      'host 导演',
    );
  });
});
