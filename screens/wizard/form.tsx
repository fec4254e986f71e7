import { Box, Text } from 'ink';
import { useRef, useState } from 'react';
import type { FieldView, OptionView } from '../../source/wizard/questions.js';
import { MASK } from '../../source/plan/render.js';
import { Keys } from './components.js';
import { editText, useKeys } from './keys.js';

/**
 * A form: the fields of one question screen, rendered from `FieldView`s (values, the schema's
 * messages, help) and reporting edits through callbacks. Keys: ↑/↓ or Tab move between fields (in
 * a vertical list of choices ↑/↓ choose), ←/→ or Space change a choice, typing edits a text field,
 * Enter goes to the next field and on the last one submits, Esc goes back.
 */
export interface FormProps {
  fields: FieldView[];
  onChange: (id: string, value: string) => void;
  onSubmit: () => void;
  onBack: () => void;
  /** Problems of the whole screen (beyond single fields) that block submitting. */
  blockers?: string[];
  active?: boolean;
  /** Fields whose untouched value is replaced on the first keystroke (generated passwords). */
  pristine?: ReadonlySet<string>;
  /** The schema's message for a value not yet in `fields` (typed in the same burst of keys). */
  validate?: (id: string, value: string) => string | null;
}

const LABEL_WIDTH = 22;
const WINDOW = 7;

function cycle(options: OptionView[], current: string, step: number): string {
  if (options.length === 0) return current;
  const i = Math.max(
    0,
    options.findIndex((o) => o.value === current),
  );
  const next = (i + step + options.length) % options.length;
  return options[next]?.value ?? current;
}

function shown(field: FieldView): string {
  if (field.secret) return field.value ? `${MASK} (${field.value.length} characters)` : '';
  return field.value;
}

export function Form(props: FormProps) {
  const { fields, blockers = [], active = true } = props;
  const [focusId, setFocusId] = useState<string | null>(fields[0]?.id ?? null);
  const [tried, setTried] = useState(false);
  const [touched, setTouched] = useState<ReadonlySet<string>>(new Set());
  // Keys that arrive in one burst (a paste, tmux send-keys, a fast typist) may all be handled by
  // the handler of one render, before React re-renders: the handler therefore reads the latest
  // props, focus and values from refs, never from its closure.
  const live = useRef(props);
  const focusRef = useRef(focusId);
  const latest = useRef<Record<string, string>>({});
  const touchedRef = useRef(touched);
  live.current = props;
  focusRef.current = focusId;
  latest.current = {};
  touchedRef.current = touched;

  const index = Math.max(
    0,
    fields.findIndex((f) => f.id === focusId),
  );

  useKeys(
    (input, key) => {
      const {
        fields,
        onChange,
        onSubmit,
        onBack,
        blockers = [],
        pristine,
        validate,
      } = live.current;
      const focus = (i: number) => {
        const f = fields[Math.max(0, Math.min(fields.length - 1, i))];
        if (!f) return;
        focusRef.current = f.id;
        setFocusId(f.id);
      };
      const touch = (id: string) => {
        if (touchedRef.current.has(id)) return;
        touchedRef.current = new Set([...touchedRef.current, id]);
        setTouched(touchedRef.current);
      };
      const valueOf = (f: FieldView) => latest.current[f.id] ?? f.value;
      const change = (f: FieldView, v: string) => {
        latest.current[f.id] = v;
        onChange(f.id, v);
      };
      const errorOf = (f: FieldView) => {
        const v = valueOf(f);
        if (v === f.value) return f.error;
        return validate ? validate(f.id, v) : f.error;
      };

      if (key.escape) {
        onBack();
        return;
      }
      const i = Math.max(
        0,
        fields.findIndex((f) => f.id === focusRef.current),
      );
      const field = fields[i];
      if (!field) {
        if (key.return) onSubmit();
        return;
      }
      const list = field.kind === 'choice' && field.layout === 'list';
      if (key.tab && key.shift) return focus(i - 1);
      if (key.tab) return focus(i + 1);
      if (key.upArrow) {
        if (list) return change(field, cycle(field.options, valueOf(field), -1));
        return focus(i - 1);
      }
      if (key.downArrow) {
        if (list) return change(field, cycle(field.options, valueOf(field), 1));
        return focus(i + 1);
      }
      if (key.return) {
        touch(field.id);
        if (errorOf(field)) return;
        if (i < fields.length - 1) return focus(i + 1);
        const firstBad = fields.findIndex((f) => errorOf(f));
        if (firstBad >= 0) {
          setTried(true);
          return focus(firstBad);
        }
        if (blockers.length > 0) {
          setTried(true);
          return;
        }
        onSubmit();
        return;
      }
      if (field.kind === 'choice') {
        if (key.leftArrow) return change(field, cycle(field.options, valueOf(field), -1));
        if (key.rightArrow || input === ' ')
          return change(field, cycle(field.options, valueOf(field), 1));
        // A letter jumps to the next option starting with it.
        if (input.length === 1 && /[a-z0-9]/i.test(input)) {
          const start = field.options.findIndex((o) => o.value === valueOf(field));
          for (let k = 1; k <= field.options.length; k++) {
            const o = field.options[(start + k) % field.options.length];
            if (o && o.label.toLowerCase().startsWith(input.toLowerCase()))
              return change(field, o.value);
          }
        }
        return;
      }
      const replace = pristine?.has(field.id) === true && !touchedRef.current.has(field.id);
      const next = editText(valueOf(field), input, key, replace);
      if (next !== null) {
        touch(field.id);
        change(field, next);
      }
    },
    { isActive: active },
  );

  let lastGroup: string | undefined;
  return (
    <Box flexDirection="column">
      {fields.map((f, i) => {
        const focused = i === index;
        const heading = f.group !== undefined && f.group !== lastGroup ? f.group : null;
        lastGroup = f.group;
        const showError =
          f.error !== null &&
          (focused ? touched.has(f.id) || tried || f.value !== '' : tried || touched.has(f.id));
        return (
          <Box key={f.id} flexDirection="column">
            {heading ? (
              <Box marginTop={i === 0 ? 0 : 1}>
                <Text bold>{heading}</Text>
              </Box>
            ) : null}
            <FieldRow field={f} focused={focused} showError={showError} />
          </Box>
        );
      })}
      {tried && blockers.length > 0 ? (
        <Box flexDirection="column" marginTop={1}>
          {blockers.map((b) => (
            <Text key={b} color="red">
              ✘ {b}
            </Text>
          ))}
        </Box>
      ) : null}
      <Keys>↑↓/Tab move · ←→ choose · Enter next · Esc back · Ctrl-C quit</Keys>
    </Box>
  );
}

function FieldRow({
  field,
  focused,
  showError,
}: {
  field: FieldView;
  focused: boolean;
  showError: boolean;
}) {
  const label = `${focused ? '›' : ' '} ${field.label}`.padEnd(LABEL_WIDTH);
  const indent = ' '.repeat(LABEL_WIDTH);
  const mark = field.error && showError ? <Text color="red"> ✘</Text> : null;
  if (field.kind === 'choice' && field.layout === 'list' && focused) {
    const i = Math.max(
      0,
      field.options.findIndex((o) => o.value === field.value),
    );
    const from = Math.max(0, Math.min(i - Math.floor(WINDOW / 2), field.options.length - WINDOW));
    const visible = field.options.slice(from, from + WINDOW);
    const pad = '    ';
    const width = Math.max(...field.options.map((o) => o.label.length));
    const oneLine = field.options.every((o) => !o.help.includes('\n'));
    return (
      <Box flexDirection="column">
        <Text color="cyan">{label}</Text>
        {from > 0 ? <Text dimColor>{`${pad}  ↑ ${from} more`}</Text> : null}
        {visible.map((o) => (
          <Text
            key={o.value}
            color={o.value === field.value ? 'cyan' : undefined}
            dimColor={o.disabled !== undefined}
          >
            {`${pad}${o.value === field.value ? '(•)' : '( )'} ${o.label.padEnd(width)}${oneLine ? `  ${o.help}` : ''}`}
          </Text>
        ))}
        {from + WINDOW < field.options.length ? (
          <Text dimColor>{`${pad}  ↓ ${field.options.length - from - WINDOW} more`}</Text>
        ) : null}
        {!oneLine && field.help ? <HelpLines text={field.help} indent={pad} /> : null}
        {field.error ? <Text color="red">{`${pad}✘ ${field.error}`}</Text> : null}
      </Box>
    );
  }
  if (field.kind === 'choice') {
    const selected = field.options.find((o) => o.value === field.value);
    return (
      <Box flexDirection="column">
        {focused ? (
          <Text>
            <Text color="cyan">{label}</Text>
            {field.options.map((o, k) => (
              <Text
                key={o.value}
                color={o.value === field.value ? 'cyan' : undefined}
                dimColor={o.disabled !== undefined}
              >
                {`${k > 0 ? '  ' : ''}${o.value === field.value ? '(•)' : '( )'} ${o.label}`}
              </Text>
            ))}
          </Text>
        ) : (
          <Text>
            {label}
            {selected?.label ?? field.value}
            {field.layout === 'list' && selected ? (
              <Text dimColor>{` — ${selected.help.split('\n')[0]}`}</Text>
            ) : null}
            {mark}
          </Text>
        )}
        {focused && field.help ? <HelpLines text={field.help} indent={indent} /> : null}
        {focused && field.error ? <Text color="red">{`${indent}✘ ${field.error}`}</Text> : null}
      </Box>
    );
  }
  const value = shown(field);
  return (
    <Box flexDirection="column">
      <Text>
        <Text color={focused ? 'cyan' : undefined}>{label}</Text>
        {value === '' && field.placeholder ? (
          <Text dimColor>{focused ? '' : field.placeholder}</Text>
        ) : (
          <Text>{value}</Text>
        )}
        {focused ? <Text inverse> </Text> : null}
        {value === '' && field.placeholder && focused ? (
          <Text dimColor>{` e.g. ${field.placeholder}`}</Text>
        ) : null}
        {mark}
      </Text>
      {focused && field.help ? <HelpLines text={field.help} indent={indent} /> : null}
      {focused && showError && field.error ? (
        <Text color="red">{`${indent}✘ ${field.error}`}</Text>
      ) : null}
    </Box>
  );
}

function HelpLines({ text, indent }: { text: string; indent: string }) {
  return (
    <Box flexDirection="column">
      {text.split('\n').map((l, i) => (
        <Text key={i} dimColor>
          {l === '' ? ' ' : `${indent}${l}`}
        </Text>
      ))}
    </Box>
  );
}
