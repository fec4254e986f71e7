import { Box, Text, useStdout } from 'ink';
import { useRef, useState } from 'react';
import type { ScreenId } from '../../source/wizard/questions.js';
import type { PlanView, SaveResult } from '../../source/wizard/services.js';
import { Keys, Lines, Spinner, Warning } from './components.js';
import { editText, useKeys } from './keys.js';

export interface ReviewIssue {
  text: string;
  screen: ScreenId;
}

export interface ReviewProps {
  host: string;
  topology: string[];
  /** The lab from the answers is invalid: its problems, each with the screen that fixes it. */
  issues: ReviewIssue[];
  /** null while the plan is being made. */
  plan: PlanView | null;
  dryRun: boolean;
  dryRunReason: 'flag' | 'not-root' | null;
  labPath: string;
  shPath: string;
  saved: { lab: string | null; sh: string | null };
  /** Write the lab file ('lab') or the shell script ('sh'). */
  onSave: (kind: 'lab' | 'sh', path: string, overwrite: boolean) => Promise<SaveResult>;
  onApply: () => void;
  onQuit: () => void;
  onBack: () => void;
  onGoto: (screen: ScreenId) => void;
  active?: boolean;
}

type Mode =
  | { kind: 'menu' }
  | { kind: 'pager'; top: number }
  | { kind: 'path'; what: 'lab' | 'sh'; path: string }
  | { kind: 'overwrite'; what: 'lab' | 'sh'; path: string }
  | { kind: 'confirm' }
  | { kind: 'busy'; text: string };

/** Lines the review needs besides the topology and the list of changes. */
const REVIEW_CHROME = 16;

/**
 * Review: the topology, the plan (what changes, what is already ok), saving the lab file and the
 * shell script (never over an existing file without asking), and the confirmation to apply.
 */
export function ReviewScreen(props: ReviewProps) {
  const { plan, active = true } = props;
  const { stdout } = useStdout();
  const rows = stdout.rows && stdout.rows > 10 ? stdout.rows : 40;
  const [mode, setModeState] = useState<Mode>({ kind: 'menu' });
  // Keys of one burst (a paste) are handled before a re-render: read the mode from a ref.
  const modeRef = useRef(mode);
  modeRef.current = mode;
  const setMode = (m: Mode) => {
    modeRef.current = m;
    setModeState(m);
  };
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const planText = plan?.ok ? plan.text.split('\n') : [];
  const pageSize = Math.max(5, rows - 5);
  const valid = props.issues.length === 0;
  const canApply = valid && !props.dryRun && plan?.ok === true && plan.change > 0;

  const save = (what: 'lab' | 'sh', path: string, overwrite: boolean) => {
    setMode({ kind: 'busy', text: `Saving ${path}…` });
    props.onSave(what, path, overwrite).then(
      (r) => {
        if (r.status === 'exists') {
          setMode({ kind: 'overwrite', what, path });
          return;
        }
        setMode({ kind: 'menu' });
        if (r.status === 'saved') {
          setMessage({
            ok: true,
            text: `Saved ${r.path} (mode ${r.mode.toString(8).padStart(4, '0')}${r.mode === 0o600 ? ': it holds the VRRP password' : ''}).`,
          });
        } else setMessage({ ok: false, text: `Could not save ${r.path}: ${r.message}` });
      },
      (e: unknown) => {
        setMode({ kind: 'menu' });
        setMessage({ ok: false, text: `Could not save ${path}: ${String(e)}` });
      },
    );
  };

  useKeys(
    (input, key) => {
      const mode = modeRef.current;
      switch (mode.kind) {
        case 'busy':
          return;
        case 'pager': {
          const max = Math.max(0, planText.length - pageSize);
          if (key.escape || input === 'q' || input === 'p') return setMode({ kind: 'menu' });
          if (key.upArrow) return setMode({ kind: 'pager', top: Math.max(0, mode.top - 1) });
          if (key.downArrow) return setMode({ kind: 'pager', top: Math.min(max, mode.top + 1) });
          if (key.pageUp || input === 'b')
            return setMode({ kind: 'pager', top: Math.max(0, mode.top - pageSize) });
          if (key.pageDown || input === ' ')
            return setMode({ kind: 'pager', top: Math.min(max, mode.top + pageSize) });
          return;
        }
        case 'path': {
          if (key.escape) return setMode({ kind: 'menu' });
          if (key.return) {
            if (mode.path.trim() === '') return;
            return save(mode.what, mode.path.trim(), false);
          }
          const next = editText(mode.path, input, key);
          if (next !== null) setMode({ ...mode, path: next });
          return;
        }
        case 'overwrite':
          if (input === 'y' || input === 'Y') return save(mode.what, mode.path, true);
          if (input === 'n' || input === 'N' || key.escape || key.return)
            return setMode({ kind: 'path', what: mode.what, path: mode.path });
          return;
        case 'confirm':
          if (input === 'y' || input === 'Y') {
            setMode({ kind: 'menu' });
            return props.onApply();
          }
          if (input === 'n' || input === 'N' || key.escape || key.return)
            return setMode({ kind: 'menu' });
          return;
        case 'menu':
          if (key.escape) return props.onBack();
          if (input === 'q') return props.onQuit();
          if (!valid) {
            if (input === 'g' || key.return) {
              const first = props.issues[0];
              if (first) props.onGoto(first.screen);
            }
            return;
          }
          if (input === 's')
            return setMode({ kind: 'path', what: 'lab', path: props.saved.lab ?? props.labPath });
          if (input === 'x' && plan?.ok)
            return setMode({ kind: 'path', what: 'sh', path: props.saved.sh ?? props.shPath });
          if (input === 'p' && plan?.ok) return setMode({ kind: 'pager', top: 0 });
          if ((input === 'a' || key.return) && canApply) return setMode({ kind: 'confirm' });
          return;
      }
    },
    { isActive: active },
  );

  if (mode.kind === 'pager') {
    const visible = planText.slice(mode.top, mode.top + pageSize);
    return (
      <Box flexDirection="column">
        <Lines lines={visible} truncate />
        <Keys>
          {`lines ${mode.top + 1}-${mode.top + visible.length} of ${planText.length} · ↑↓ scroll · Space/b page · q back`}
        </Keys>
      </Box>
    );
  }

  const changes = plan?.ok ? plan.steps.filter((s) => s.status === 'change') : [];
  // The review fits the terminal: as many changes as there is room for, the rest behind p.
  const maxSteps = Math.max(
    3,
    rows - REVIEW_CHROME - props.topology.length - (plan?.ok ? plan.warnings.length * 2 : 0),
  );
  return (
    <Box flexDirection="column">
      <Text bold>Topology</Text>
      <Box marginLeft={2} flexDirection="column">
        <Lines lines={props.topology} truncate />
      </Box>
      {!valid ? (
        <Box marginTop={1} flexDirection="column">
          <Text color="red" bold>
            The lab from your answers is not valid yet:
          </Text>
          {props.issues.map((i) => (
            <Text key={i.text} color="red">{`  ✘ ${i.text}  (screen: ${i.screen})`}</Text>
          ))}
          <Keys>Enter or g go to the first problem · Esc back · q quit</Keys>
        </Box>
      ) : (
        <Box marginTop={1} flexDirection="column">
          {plan === null ? (
            <Spinner label="Making the plan against this host's current state…" />
          ) : !plan.ok ? (
            <Warning level="error">{plan.message}</Warning>
          ) : (
            <Box flexDirection="column">
              <Text bold>{`Plan for host ${plan.host} (${plan.role}) — ${plan.distro}`}</Text>
              {plan.warnings.map((w) => (
                <Warning key={w} level="warn">
                  {w}
                </Warning>
              ))}
              {changes.slice(0, maxSteps).map((s, i) => (
                <Text key={`${i}-${s.title}`} wrap="truncate-end">
                  <Text color="yellow">{'  ~ '}</Text>
                  {s.title}
                  <Text dimColor>{`  (${s.reason})`}</Text>
                </Text>
              ))}
              {changes.length > maxSteps ? (
                <Text
                  dimColor
                >{`  … ${changes.length - maxSteps} more changes (p shows all)`}</Text>
              ) : null}
              <Text dimColor>{`  ${plan.unchanged} step(s) already ok`}</Text>
              <Text bold>{plan.summary}</Text>
            </Box>
          )}
          <Box marginTop={1} flexDirection="column">
            <Text>
              {'Lab file: '}
              {props.saved.lab ? (
                <Text color="green">{`saved as ${props.saved.lab}`}</Text>
              ) : (
                <Text color="yellow">not saved yet (s) — the other hosts need it</Text>
              )}
            </Text>
            {props.dryRun ? (
              <Text color="yellow">
                {props.dryRunReason === 'not-root'
                  ? 'Not root: the review is the end. Save the lab file and the script, then run apply as root.'
                  : 'Dry run: the review is the end. Save the lab file and the script (x) to apply later.'}
              </Text>
            ) : null}
          </Box>
          <ReviewPrompt mode={mode} />
          {message ? <Text color={message.ok ? 'green' : 'red'}>{message.text}</Text> : null}
          <Keys>
            {[
              's save lab file',
              plan?.ok ? 'x save shell script' : null,
              plan?.ok ? 'p full plan' : null,
              canApply ? 'a apply' : null,
              'Esc back',
              'q quit',
            ]
              .filter(Boolean)
              .join(' · ')}
          </Keys>
        </Box>
      )}
    </Box>
  );
}

function ReviewPrompt({ mode }: { mode: Mode }) {
  switch (mode.kind) {
    case 'path':
      return (
        <Text>
          <Text color="cyan">
            {mode.what === 'lab' ? 'Save the lab file as: ' : 'Save the script as: '}
          </Text>
          {mode.path}
          <Text inverse> </Text>
          <Text dimColor> (Enter save · Esc cancel)</Text>
        </Text>
      );
    case 'overwrite':
      return <Text color="yellow">{`${mode.path} exists. Overwrite it? (y/N)`}</Text>;
    case 'confirm':
      return <Text color="cyan">Apply these changes to this host now? (y/N)</Text>;
    case 'busy':
      return <Spinner label={mode.text} />;
    default:
      return null;
  }
}
