import chalk from 'chalk';
import { renderToString } from 'ink';
import { describe, expect, it } from 'vitest';
import {
  blockRuns,
  FixedBlock,
  FixedLine,
  fitSegments,
  substitute,
  type BlockLine,
} from '../../screens/monitor/fixed-line.js';

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

describe('FixedBlock', () => {
  const lines: BlockLine[] = [
    { bold: true, segments: [{ text: 'lvs-setup monitor' }, { text: ' MASTER', color: 'green' }] },
    { segments: [{ text: '' }] },
    { inverse: true, segments: [{ text: '› 10.0.0.1:80 ▁▂▃' }, { text: ' up', color: 'green' }] },
    { segments: [{ text: 'host 导演' }] },
    { dimColor: true, segments: [{ text: 'drained' }, { text: ' down', color: 'red' }] },
  ];

  it('draws each line where it belongs, a wide-character line on its own', () => {
    expect(renderToString(<FixedBlock lines={lines} width={40} />)).toBe(
      ['lvs-setup monitor MASTER', '', '› 10.0.0.1:80 ▁▂▃ up', 'host 导演', 'drained down'].join(
        '\n',
      ),
    );
    expect(blockRuns(lines, 40).map((r) => r.kind)).toEqual(['block', 'line', 'block']);
  });

  it('colours each line as FixedLine does', () => {
    const level = chalk.level;
    chalk.level = 1;
    try {
      // the styled lines: bold + colour, inverse + colour, dim + colour
      for (const line of [lines[0], lines[2], lines[4]].filter((l) => l !== undefined)) {
        const { segments, ...style } = line;
        const single = renderToString(<FixedLine width={40} segments={segments} {...style} />);
        expect(single).toContain('\u001b[');
        expect(renderToString(<FixedBlock lines={[line]} width={40} />)).toBe(single);
      }
    } finally {
      chalk.level = level;
    }
  });

  it('lays out the same placeholder whatever the numbers, colours or selection', () => {
    const other: BlockLine[] = [
      { segments: [{ text: 'lvs-setup monitor' }, { text: ' BACKUP', color: 'yellow' }] },
      { segments: [{ text: '' }] },
      { segments: [{ text: '  10.0.0.2:81 █▇▆' }, { text: ' dn', color: 'red' }] },
    ];
    const placeholders = (l: BlockLine[]) =>
      blockRuns(l, 40).flatMap((r) => (r.kind === 'block' ? [r.placeholder] : []));
    expect(placeholders(other)).toEqual(placeholders(lines.slice(0, 3)));
    // a line cut to the width keeps its placeholder inside the width too
    const cut = blockRuns([{ segments: [{ text: 'x'.repeat(60) }] }], 40)[0];
    expect(cut?.kind === 'block' && cut.placeholder.length).toBe(40);
  });
});
