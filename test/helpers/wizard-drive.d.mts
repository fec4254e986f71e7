// Types of wizard-drive.mjs (plain JavaScript: the lab's .mjs scenarios import it too).
export interface Terminal {
  capture(): Promise<string>;
  send(...keys: string[]): Promise<void>;
  sendLiteral(text: string): Promise<void>;
}
export interface DriverOptions {
  timeoutMs?: number;
  pollMs?: number;
}
export interface Driver {
  screen(): Promise<string>;
  waitFor(want: string | RegExp | ((screen: string) => boolean), ms?: number): Promise<string>;
  keys(want: string | RegExp, ...keys: string[]): Promise<string>;
  type(text: string): Promise<string>;
  replace(text: string): Promise<string>;
}
export function focusedValue(screen: string): string;
export function focusedNic(screen: string): string | null;
export function driver(term: Terminal, options?: DriverOptions): Driver;
export function seedNatDirector(
  term: Terminal,
  options?: DriverOptions & { firstFrameMs?: number; planMs?: number },
): Promise<string>;
