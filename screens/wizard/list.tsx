import { Box, Text } from 'ink';
import { useRef, useState } from 'react';
import type { FieldView } from '../../source/wizard/questions.js';
import { useKeys } from './keys.js';
import { Keys } from './components.js';
import { Form } from './form.js';

export interface ListRow {
  cells: string[];
  /** The first problem of this item (shown as ✘), or null. */
  error: string | null;
}

export interface ListScreenProps {
  intro: string[];
  columns: string[];
  rows: ListRow[];
  itemFields: (index: number) => FieldView[];
  addLabel: string;
  onAdd: () => void;
  onRemove: (index: number) => void;
  onChange: (id: string, value: string) => void;
  onContinue: () => void;
  onBack: () => void;
  blockers: string[];
  active?: boolean;
  validate?: (id: string, value: string) => string | null;
}

/**
 * A list to add to, edit and remove from (real servers, NFS exports). Each item is edited in a
 * small form validated as you type; an invalid item is flagged and blocks Continue.
 */
export function ListScreen(props: ListScreenProps) {
  const { rows, active = true } = props;
  const [sel, setSelState] = useState(0);
  const [editing, setEditingState] = useState<number | null>(null);
  const [tried, setTried] = useState(false);
  // Keys of one burst are handled before a re-render: the handler reads refs, not its closure.
  const live = useRef(props);
  const selRef = useRef(sel);
  live.current = props;
  selRef.current = sel;
  const setSel = (n: number) => {
    selRef.current = n;
    setSelState(n);
  };
  const setEditing = (n: number | null) => setEditingState(n);
  const addRow = rows.length;
  const continueRow = rows.length + 1;
  const cur = Math.min(sel, continueRow);

  useKeys(
    (input, key) => {
      const props = live.current;
      const rows = props.rows;
      const addRow = rows.length;
      const continueRow = rows.length + 1;
      const cur = Math.min(selRef.current, continueRow);
      if (key.escape) return props.onBack();
      if (key.upArrow) return setSel(Math.max(0, cur - 1));
      if (key.downArrow) return setSel(Math.min(continueRow, cur + 1));
      const add = () => {
        props.onAdd();
        setEditing(rows.length);
        setSel(rows.length);
      };
      if (input === 'a' || input === '+') return add();
      if ((input === 'x' || input === '-' || key.delete || key.backspace) && cur < rows.length) {
        props.onRemove(cur);
        return;
      }
      if (key.return) {
        if (cur < rows.length) return setEditing(cur);
        if (cur === addRow) return add();
        if (props.blockers.length > 0) return setTried(true);
        props.onContinue();
      }
    },
    { isActive: active && editing === null },
  );

  const widths = props.columns.map((c, i) =>
    Math.max(c.length, ...rows.map((r) => (r.cells[i] ?? '').length)),
  );
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');

  if (editing !== null) {
    const fields = props.itemFields(editing);
    return (
      <Box flexDirection="column">
        <Text bold>{`Item ${editing + 1}`}</Text>
        <Form
          key={editing}
          fields={fields}
          onChange={props.onChange}
          onSubmit={() => setEditing(null)}
          onBack={() => setEditing(null)}
          active={active}
          {...(props.validate ? { validate: props.validate } : {})}
        />
        <Text dimColor>Enter on the last field or Esc returns to the list</Text>
      </Box>
    );
  }

  return (
    <Box flexDirection="column">
      {props.intro.map((l) => (
        <Text key={l}>{l}</Text>
      ))}
      <Box marginTop={1} flexDirection="column">
        <Text bold>{`    ${line(props.columns)}`}</Text>
        {rows.map((r, i) => (
          <Text key={i} color={i === cur ? 'cyan' : undefined}>
            {`${i === cur ? '›' : ' '} ${String(i + 1).padStart(2)} ${line(r.cells)}`}
            {r.error ? <Text color="red">{`  ✘ ${r.error}`}</Text> : null}
          </Text>
        ))}
        <Text
          color={cur === addRow ? 'cyan' : undefined}
        >{`${cur === addRow ? '›' : ' '}  + ${props.addLabel}`}</Text>
        <Text
          color={cur === continueRow ? 'cyan' : undefined}
        >{`${cur === continueRow ? '›' : ' '}  → continue`}</Text>
      </Box>
      {tried && props.blockers.length > 0 ? (
        <Box marginTop={1} flexDirection="column">
          {props.blockers.map((b) => (
            <Text key={b} color="red">
              ✘ {b}
            </Text>
          ))}
        </Box>
      ) : null}
      <Keys>↑↓ select · Enter edit/choose · a add · x remove · Esc back · Ctrl-C quit</Keys>
    </Box>
  );
}
