import { describe, expect, it } from 'vitest';
// @ts-expect-error: the lab's helpers are plain JavaScript modules without types
import { allDone } from '../lab/lib.mjs';

describe("the lab scenarios' allDone (Promise.all that lets everything settle)", () => {
  it('waits for the work still in flight before it throws the first failure', async () => {
    const events: string[] = [];
    const slow = new Promise((resolve) =>
      setTimeout(() => {
        events.push('slow done');
        resolve('slow');
      }, 50),
    );
    const failing = Promise.reject(new Error('the wizard timed out'));
    await expect(
      allDone([failing, slow]).finally(() => events.push('allDone settled')),
    ).rejects.toThrow('the wizard timed out');
    expect(events).toEqual(['slow done', 'allDone settled']);
  });

  it('gives the values in order when all succeed', async () => {
    await expect(
      allDone([Promise.resolve(1), 2, new Promise((r) => setTimeout(() => r(3), 5))]),
    ).resolves.toEqual([1, 2, 3]);
  });
});
