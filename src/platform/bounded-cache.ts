/**
 * A bounded memo for the hot paths (stems, message words, encoder bags, live sessions): at most
 * `capacity` entries, approximately least recently used out.
 *
 * Why not a `Map` evicting its first key (`map.delete(map.keys().next().value)`): V8 leaves a
 * deleted entry in a Map's table as a hole until the table is rebuilt, and `keys().next()` walks
 * from the start of the table over every hole. A full memo evicting one key per insert measured
 * ~12 µs per insert at 20,000 entries, against ~0.2 µs here — it was the largest single line of
 * the suggest path once its texts stopped repeating.
 *
 * Two generations of capacity/2: new and looked-up entries go into the young one; when it is full
 * it becomes the old one and the previous old one is dropped whole. An entry found in the old
 * generation moves to the young one, so what is in use survives. Values must not be `undefined`
 * (`get` answers undefined for a miss).
 */
export interface BoundedCache<K, V> {
  get(key: K): V | undefined;
  set(key: K, value: V): void;
  delete(key: K): boolean;
  has(key: K): boolean;
  /** Entries held (≤ capacity). */
  readonly size: number;
  clear(): void;
}

export function createBoundedCache<K, V>(capacity: number): BoundedCache<K, V> {
  if (!(capacity >= 2)) throw new Error(`createBoundedCache: capacity must be at least 2 (got ${capacity})`);
  const generation = Math.floor(capacity / 2);
  let young = new Map<K, V>();
  let old = new Map<K, V>();
  const put = (key: K, value: V) => {
    if (young.size >= generation) {
      old = young;
      young = new Map();
    }
    young.set(key, value);
  };
  return {
    get(key) {
      const value = young.get(key);
      if (value !== undefined) return value;
      const aged = old.get(key);
      if (aged !== undefined) {
        old.delete(key);
        put(key, aged);
      }
      return aged;
    },
    set(key, value) {
      if (young.has(key)) {
        young.set(key, value);
        return;
      }
      old.delete(key);
      put(key, value);
    },
    delete(key) {
      const inYoung = young.delete(key);
      const inOld = old.delete(key);
      return inYoung || inOld;
    },
    has(key) {
      return young.has(key) || old.has(key);
    },
    get size() {
      return young.size + old.size;
    },
    clear() {
      young = new Map();
      old = new Map();
    },
  };
}
