/**
 * A cache from text to what is computed from it, emptied when it grows past `max` entries: a
 * director prints the same few thousand names every second, so each is worked out once. Values
 * are shared between callers: treat them as read-only.
 */
export class BoundedMemo<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(key: string, make: (key: string) => V): V {
    let v = this.map.get(key);
    if (v === undefined) {
      v = make(key);
      this.set(key, v);
    }
    return v;
  }
  /** The value kept for `key`, if any (with set: get without a callback made per call). */
  peek(key: string): V | undefined {
    return this.map.get(key);
  }
  set(key: string, value: V): void {
    if (this.map.size >= this.max) this.map.clear();
    this.map.set(key, value);
  }
}
