import { Text, render, useInput } from 'ink';
import { createElement } from 'react';

/**
 * The bare Ink hello-world bench/wizard.ts compares the wizard with: one line, listening to keys
 * (raw mode, like the wizard), built and started the same way.
 */
function Hello() {
  useInput(() => {});
  return createElement(Text, null, 'Hello from Ink');
}

render(createElement(Hello), { exitOnCtrlC: true });
