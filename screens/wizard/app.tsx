import { Box, render, Text, useApp, type Instance, type RenderOptions } from 'ink';
import {
  useCallback,
  useEffect,
  useMemo,
  useReducer,
  useRef,
  useState,
  type ReactNode,
} from 'react';
import type { ExecEvent } from '../../source/executor.js';
import type { SystemFacts } from '../../source/facts/types.js';
import type { CheckResult } from '../../source/doctor/types.js';
import { isTyped, value, type Answers, type AnswerContext } from '../../source/wizard/answers.js';
import { execReducer, initialExecState, type ExecState } from '../../source/wizard/exec-state.js';
import { detectWarnings } from '../../source/wizard/host-view.js';
import {
  listFields,
  screenFields,
  screenLevelErrors,
  SCREEN_TITLES,
  type ScreenId,
} from '../../source/wizard/questions.js';
import type {
  PlanView,
  SaveResult,
  WizardOutcome,
  WizardResult,
  WizardServices,
} from '../../source/wizard/services.js';
import {
  current,
  defaultLabPath,
  defaultShPath,
  fieldError,
  initialState,
  labToReview,
  progress,
  wizardReducer,
} from '../../source/wizard/state.js';
import { otherHostCommands, topologySketch } from '../../source/wizard/summary.js';
import { labHeader, screenForIssue } from '../../source/wizard/to-lab.js';
import { labToYaml } from '../../source/config/load.js';
import { Header } from './components.js';
import { DetectScreen } from './detect.js';
import { DoneScreen } from './done.js';
import { ExecuteScreen } from './execute.js';
import { Form } from './form.js';
import { isCtrlC, KeysProvider, useKeys } from './keys.js';
import { ListScreen } from './list.js';
import { LoadScreen } from './load.js';
import { ReviewScreen } from './review.js';

export interface WizardAppProps {
  services: WizardServices;
  initialAnswers?: Answers;
  /** Called once, just before the app exits, with how it ended. */
  onExit: (result: WizardResult) => void;
}

/**
 * The wizard: a thin container that keeps the state in the pure reducer (source/wizard/state.ts),
 * asks the services for facts, plans, saving and execution, and shows one screen at a time.
 */
/** Render the wizard on the terminal (the command's only entry into Ink and React). */
export function startWizard(props: WizardAppProps, options: RenderOptions = {}): Instance {
  return render(<WizardApp {...props} />, { exitOnCtrlC: false, ...options });
}

export function WizardApp(props: WizardAppProps) {
  return (
    <KeysProvider>
      <Wizard {...props} />
    </KeysProvider>
  );
}

function Wizard({ services, initialAnswers, onExit }: WizardAppProps) {
  const { exit } = useApp();
  const [state, dispatch] = useReducer(wizardReducer, initialAnswers, (a) => initialState(a));
  const [detectError, setDetectError] = useState<string | null>(null);
  const [system, setSystem] = useState<SystemFacts | null | undefined>(undefined);
  const [plan, setPlan] = useState<{ key: string; view: PlanView } | null>(null);
  const [exec, setExec] = useState<ExecState>(initialExecState);
  const [interrupting, setInterrupting] = useState(false);
  const finished = useRef(false);
  const screen = current(state);
  const facts = state.facts;
  const ctx: AnswerContext | null = facts ? { answers: state.answers, facts } : null;

  useEffect(() => {
    services.detect().then(
      (d) => {
        dispatch({ type: 'detected', facts: d.facts, labs: d.labs });
        // after the NIC table is up: systeminformation blocks the event loop for a while
        setTimeout(() => {
          (services.system?.() ?? Promise.resolve(undefined)).then(
            (s) => setSystem(s ?? null),
            () => setSystem(null),
          );
        }, 50);
      },
      (e: unknown) => setDetectError(e instanceof Error ? e.message : String(e)),
    );
  }, [services]);

  const built = useMemo(
    () =>
      screen === 'review' || screen === 'done' || screen === 'execute' ? labToReview(state) : null,
    [state, screen],
  );
  const planKey = built?.ok ? `${built.host}\n${labToYaml(built.file)}` : null;

  useEffect(() => {
    if (screen !== 'review' || !built?.ok || planKey === null) return;
    if (plan?.key === planKey) return;
    let live = true;
    setPlan(null);
    services.plan(built.file, built.host).then(
      (view) => live && setPlan({ key: planKey, view }),
      (e: unknown) =>
        live &&
        setPlan({
          key: planKey,
          view: { ok: false, message: e instanceof Error ? e.message : String(e) },
        }),
    );
    return () => {
      live = false;
    };
  }, [screen, planKey]);

  // the Done screen's checks: run once, whatever re-renders it
  const checksRun = useRef<Promise<CheckResult[]> | null>(null);
  const runChecksOnce = useCallback(() => {
    checksRun.current ??= services.checks
      ? services.checks(state.saved.lab ?? null)
      : Promise.resolve([]);
    return checksRun.current;
  }, [services, state.saved.lab]);

  const finish = (outcome: WizardOutcome) => {
    if (finished.current) return;
    finished.current = true;
    const labPath = state.saved.lab ?? defaultLabPath(state);
    onExit({
      outcome,
      saved: state.saved,
      otherHosts: built?.ok ? otherHostCommands(built.lab, labPath, built.host) : [],
    });
    exit();
  };

  useEffect(() => {
    if (screen !== 'execute') return;
    const start = Date.now();
    setExec({ ...initialExecState(), startedAt: start });
    services
      .execute((e: ExecEvent) => setExec((s) => execReducer(s, e, Date.now())))
      .catch((e: unknown) =>
        setExec((s) => ({
          ...s,
          running: null,
          crash: e instanceof Error ? e.message : String(e),
        })),
      );
    // Only when the execute screen is entered.
  }, [screen]);

  useKeys((input, key) => {
    if (!isCtrlC(input, key)) return;
    if (screen === 'execute' && exec.recap === null && exec.crash === null && !interrupting) {
      setInterrupting(true);
      services.interrupt();
      return;
    }
    finish({ kind: 'interrupted', screen });
  });

  const back = () => dispatch({ type: 'back' });
  const next = () => dispatch({ type: 'next' });
  const set = (id: string, v: string) => dispatch({ type: 'set', id, value: v });
  const validate = (id: string, v: string) => fieldError(state, id, v);

  const save = async (
    kind: 'lab' | 'sh',
    path: string,
    overwrite: boolean,
  ): Promise<SaveResult> => {
    if (!built?.ok) return { status: 'error', path, message: 'the lab is not valid' };
    if (kind === 'lab') {
      const yaml = built.yaml || labToYaml(built.file);
      const content = `${labHeader(path, built.host, facts?.hostname ?? '')}${yaml}`;
      const mode = built.file.vrrp?.auth_pass ? 0o600 : 0o644;
      const r = await services.save(path, content, mode, overwrite);
      if (r.status === 'saved') dispatch({ type: 'saved', kind: 'lab', path: r.path });
      return r;
    }
    const script = services.script();
    if (script === null) return { status: 'error', path, message: 'no plan yet' };
    const secret = plan?.view.ok === true && plan.view.hasSecrets;
    const r = await services.save(path, script, secret ? 0o600 : 0o700, overwrite);
    if (r.status === 'saved') dispatch({ type: 'saved', kind: 'sh', path: r.path });
    return r;
  };

  const dryRun = services.dryRun;
  const step = ['review', 'execute', 'done', 'detect', 'load'].includes(screen)
    ? undefined
    : progress(state);
  const header = <Header title={SCREEN_TITLES[screen]} step={step} dryRun={dryRun} />;

  let body: ReactNode;
  switch (screen) {
    case 'detect':
      body = (
        <DetectScreen
          facts={facts}
          system={system}
          error={detectError}
          warnings={
            facts
              ? detectWarnings(facts, {
                  uid: services.uid,
                  dryRunFlag: services.dryRunReason === 'flag',
                })
              : []
          }
          onContinue={next}
        />
      );
      break;
    case 'load':
      body = (
        <LoadScreen
          labs={state.labs}
          onUse={(path, host) => dispatch({ type: 'use-lab', path, host })}
          onEdit={(path, host) => dispatch({ type: 'edit-lab', path, host })}
          onNew={() => dispatch({ type: 'new-lab' })}
          onBack={back}
        />
      );
      break;
    case 'real-servers':
    case 'exports': {
      if (!ctx) {
        body = <Text>…</Text>;
        break;
      }
      const list = screen === 'real-servers' ? 'realServers' : 'exports';
      const items = list === 'realServers' ? state.answers.realServers : state.answers.exports;
      const rows = items.map((_, i) => {
        const fields = listFields(ctx, list, i);
        const bad = fields.find((f) => f.error);
        return {
          cells: fields.map((f) => f.value),
          error: bad ? `${bad.label.toLowerCase()}: ${bad.error}` : null,
        };
      });
      const v = (id: string) => value(ctx, id);
      const intro =
        list === 'realServers'
          ? [
              `Real servers of ${v('service.name')} ${v('service.vip')}:${v('service.port')}/${v('service.protocol')} (${v('mode').toUpperCase()}, ${v('service.scheduler')})`,
              v('mode') === 'nat'
                ? 'NAT: on the director’s private subnet; the lab makes the director their gateway.'
                : v('mode') === 'dr'
                  ? 'DR: on the VIP’s subnet (the director forwards by MAC address).'
                  : 'TUN: any address the director can route to.',
              ...(v('role') === 'real-server'
                ? [`This host (${v('hostName')}) is one of them; add the others (optional).`]
                : []),
            ]
          : ['Directories this host shares over NFS (/etc/exports).'];
      body = (
        <ListScreen
          key={screen}
          intro={intro}
          columns={
            list === 'realServers'
              ? ['NAME', 'ADDRESS', 'WEIGHT', 'NIC']
              : ['PATH', 'CLIENTS', 'OPTIONS']
          }
          rows={rows}
          itemFields={(i) => listFields(ctx, list, i)}
          addLabel={list === 'realServers' ? 'add a real server' : 'add an export'}
          onAdd={() => dispatch({ type: 'add', list })}
          onRemove={(index) => dispatch({ type: 'remove', list, index })}
          onChange={set}
          onContinue={next}
          onBack={back}
          blockers={screenLevelErrors(screen, ctx)}
          validate={validate}
        />
      );
      break;
    }
    case 'review': {
      const host = built?.host ?? '';
      const issues =
        built && !built.ok && facts
          ? built.issues.map((i) => ({
              text: `${i.path ? `${i.path}: ` : ''}${i.message}${i.value !== undefined ? ` (got ${JSON.stringify(i.value)})` : ''}`,
              screen: screenForIssue(i.path, state.answers, facts) as ScreenId,
            }))
          : [];
      body = (
        <ReviewScreen
          host={host}
          topology={built?.ok ? topologySketch(built.lab, host) : []}
          issues={issues}
          plan={plan && plan.key === planKey ? plan.view : null}
          dryRun={dryRun}
          dryRunReason={services.dryRunReason}
          labPath={defaultLabPath(state)}
          shPath={defaultShPath(state, host)}
          saved={state.saved}
          onSave={save}
          onApply={() => dispatch({ type: 'execute' })}
          onQuit={() => finish({ kind: dryRun ? 'reviewed' : 'quit', screen })}
          onBack={back}
          onGoto={(s) => dispatch({ type: 'goto', screen: s })}
        />
      );
      break;
    }
    case 'execute':
      body = (
        <ExecuteScreen
          state={exec}
          interrupting={interrupting}
          onContinue={() => dispatch({ type: 'finished' })}
        />
      );
      break;
    case 'done':
      body = exec.recap ? (
        <DoneScreen
          recap={exec.recap}
          host={built?.host ?? ''}
          labPath={state.saved.lab}
          defaultLabPath={defaultLabPath(state)}
          otherHosts={
            built?.ok
              ? otherHostCommands(built.lab, state.saved.lab ?? defaultLabPath(state), built.host)
              : []
          }
          onSaveLab={(path, overwrite) => save('lab', path, overwrite)}
          onMonitor={() => finish({ kind: 'monitor', recap: exec.recap })}
          onExit={() => exec.recap && finish({ kind: 'done', recap: exec.recap })}
          {...(services.checks ? { runChecks: runChecksOnce } : {})}
        />
      ) : (
        <Text>…</Text>
      );
      break;
    default: {
      if (!ctx) {
        body = <Text>…</Text>;
        break;
      }
      const pristine = new Set<string>();
      if (!isTyped(state.answers, 'ha.authPass')) pristine.add('ha.authPass');
      body = (
        <Form
          key={screen}
          fields={screenFields(screen, ctx)}
          onChange={set}
          onSubmit={next}
          onBack={back}
          blockers={screenLevelErrors(screen, ctx)}
          pristine={pristine}
          validate={validate}
        />
      );
    }
  }

  return (
    <Box flexDirection="column">
      {header}
      {state.editedFrom && screen === 'role' ? (
        <Text
          dimColor
        >{`Answers taken from ${state.editedFrom}; saving writes a new lab file from them.`}</Text>
      ) : null}
      {body}
    </Box>
  );
}
