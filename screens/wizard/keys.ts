import { useInput, type Key } from 'ink';
import {
  createContext,
  createElement,
  useContext,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  type ReactNode,
} from 'react';

/**
 * Line editing for the wizard's text fields: typing appends, Backspace (and the Delete key most
 * terminals send for it) removes the last character, Ctrl-U clears, Ctrl-W removes a word.
 * Returns the new value, or null when the key is not an edit.
 */
export function editText(value: string, input: string, key: Key, replace = false): string | null {
  if (key.backspace || key.delete) return replace ? '' : value.slice(0, -1);
  if (key.ctrl && input === 'u') return '';
  if (key.ctrl && input === 'w') return value.replace(/\S+\s*$/, '');
  if (key.ctrl || key.meta || key.escape || key.return || key.tab) return null;
  if (key.upArrow || key.downArrow || key.leftArrow || key.rightArrow) return null;
  if (key.pageUp || key.pageDown) return null;
  // eslint-disable-next-line no-control-regex
  const printable = input.replace(/[\u0000-\u001f\u007f]/g, '');
  if (printable === '') return null;
  return (replace ? '' : value) + printable;
}

export function isCtrlC(input: string, key: Key): boolean {
  return key.ctrl && input === 'c';
}

type Handler = (input: string, key: Key) => void;
interface Entry {
  handler: Handler;
  active: boolean;
}

/**
 * One stdin listener for the whole wizard. Ink's useInput subscribes in a passive effect, so a key
 * that arrives right after a screen appears would go to the screen that was there before (or be
 * lost). Screens register here in a layout effect instead, which runs before the frame can be
 * seen, and the handler called is always the one of the latest render.
 */
class KeyBus {
  private entries: Entry[] = [];
  add(e: Entry) {
    this.entries.push(e);
  }
  remove(e: Entry) {
    this.entries = this.entries.filter((x) => x !== e);
  }
  dispatch(input: string, key: Key) {
    for (const e of [...this.entries])
      if (e.active && this.entries.includes(e)) e.handler(input, key);
  }
}

const KeyBusContext = createContext<KeyBus | null>(null);

export function KeysProvider({ children, onReady }: { children: ReactNode; onReady?: () => void }) {
  const bus = useMemo(() => new KeyBus(), []);
  useInput((input, key) => bus.dispatch(input, key));
  useEffect(() => {
    onReady?.();
    // Once, after the listener above is subscribed.
  }, []);
  return createElement(KeyBusContext.Provider, { value: bus }, children);
}

/** Like Ink's useInput, through the wizard's key bus (see KeyBus). */
export function useKeys(handler: Handler, options: { isActive?: boolean } = {}) {
  const bus = useContext(KeyBusContext);
  const entry = useRef<Entry>({ handler, active: options.isActive !== false });
  entry.current.handler = handler;
  entry.current.active = options.isActive !== false;
  useLayoutEffect(() => {
    if (!bus) return;
    const e = entry.current;
    bus.add(e);
    return () => bus.remove(e);
  }, [bus]);
  // Without a provider (never in the wizard), fall back to Ink's own hook.
  useInput((input, key) => entry.current.handler(input, key), {
    isActive: bus === null && options.isActive !== false,
  });
}
