import { useApp, useInput, useStdout } from 'ink';
import { useEffect, useReducer, useRef, useState } from 'react';
import type { Snapshot } from '../../source/monitor/model.js';
import type { MonitorSource } from '../../source/monitor/source-types.js';
import type { Action } from '../../source/plan/step.js';
import { MonitorView } from './monitor-view.js';
import { initialState, monitorReducer, sampleChangesNothing } from './reducer.js';

/**
 * The live monitor: reads `source` every `intervalMs`, draws MonitorView, maps keys to reducer
 * events, and hands changes to `onAction` (the core's executor). Without onAction it only watches.
 */

export interface MonitorAppProps {
  source: MonitorSource;
  intervalMs: number;
  exact?: boolean;
  onAction?: (actions: Action[], description: string) => Promise<void>;
  /** Lab file weights by destination key, for `r`. */
  labWeights?: Record<string, number>;
  /**
   * The first reading, when the caller made it already (runMonitor reads while Ink loads): the
   * first frame is then the table, and the next reading comes one interval later.
   */
  first?: { snapshot: Snapshot } | { error: string };
  /** Terminal size; taken from stdout (and its resize events) when absent. */
  rows?: number;
  columns?: number;
  onExit?: () => void;
}

export function MonitorApp(props: MonitorAppProps) {
  const { source, intervalMs, exact = false, onAction, onExit } = props;
  const { exit } = useApp();
  const { stdout } = useStdout();
  const [size, setSize] = useState(() => ({
    rows: props.rows ?? stdout.rows ?? 24,
    columns: props.columns ?? stdout.columns ?? 80,
  }));
  const [state, dispatch] = useReducer(
    monitorReducer,
    { labWeights: props.labWeights ?? {}, readOnly: !onAction, terminalRows: size.rows },
    (options) => withFirst(initialState(options), props.first),
  );
  const [refresh, setRefresh] = useState(0);
  // The state the next reading is compared with (the poll below outlives renders).
  const latest = useRef(state);
  useEffect(() => {
    latest.current = state;
  }, [state]);

  useEffect(() => {
    if (props.rows !== undefined && props.columns !== undefined) return;
    const onResize = () =>
      setSize({
        rows: props.rows ?? stdout.rows ?? 24,
        columns: props.columns ?? stdout.columns ?? 80,
      });
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout, props.rows, props.columns]);

  useEffect(() => {
    dispatch({ type: 'terminal', rows: size.rows });
  }, [size.rows]);

  // A first reading given by the caller stands for the poll's first read.
  const firstGiven = useRef(props.first !== undefined);
  // Poll: the next read is scheduled after the previous one finished, so a slow ipvsadm never
  // piles up processes.
  useEffect(() => {
    if (state.paused) return;
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const snapshot = await source.read();
        // Nothing new but the time: no frame (see sampleChangesNothing).
        if (!cancelled && !sampleChangesNothing(latest.current, snapshot))
          dispatch({ type: 'sample', snapshot });
      } catch (error) {
        if (!cancelled)
          dispatch({
            type: 'source-error',
            message: error instanceof Error ? error.message : String(error),
          });
      }
      if (!cancelled) timer = setTimeout(() => void tick(), intervalMs);
    };
    if (firstGiven.current) {
      firstGiven.current = false;
      timer = setTimeout(() => void tick(), intervalMs);
    } else void tick();
    return () => {
      cancelled = true;
      if (timer) clearTimeout(timer);
    };
  }, [source, intervalMs, state.paused, refresh]);

  // Run each request once, then read again at once so the change shows without waiting a tick.
  const started = useRef(0);
  useEffect(() => {
    const request = state.request;
    if (!request || !onAction || started.current === request.id) return;
    started.current = request.id;
    onAction(request.actions, request.description).then(
      () => {
        dispatch({ type: 'request-done', id: request.id });
        setRefresh((n) => n + 1);
      },
      (error: unknown) =>
        dispatch({
          type: 'request-failed',
          id: request.id,
          message: error instanceof Error ? error.message : String(error),
        }),
    );
  }, [state.request, onAction]);

  useInput((input, key) => dispatch({ type: 'key', input, key }));

  useEffect(() => {
    if (!state.quit) return;
    onExit?.();
    exit();
  }, [state.quit, onExit, exit]);

  return <MonitorView state={state} columns={size.columns} exact={exact} intervalMs={intervalMs} />;
}

/** The state with the caller's first reading (or its error) taken in, as a poll would. */
function withFirst(
  state: ReturnType<typeof initialState>,
  first: MonitorAppProps['first'],
): ReturnType<typeof initialState> {
  if (!first) return state;
  if ('error' in first)
    return monitorReducer(state, { type: 'source-error', message: first.error });
  return monitorReducer(state, { type: 'sample', snapshot: first.snapshot });
}
