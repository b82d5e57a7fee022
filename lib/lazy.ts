/**
 * Code loaded on first use. Start-up time is mostly loading modules, so
 * what a node does not need to answer its first request (most API handlers,
 * the other CLI commands) is imported when it is first called.
 * @module
 */

/**
 * `load` run at most once at a time: every caller, racing or later, shares
 * its promise. A load that fails is forgotten, so the next caller tries
 * again.
 */
export function once<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () =>
    loading ??= load().catch((err) => {
      loading = undefined;
      throw err;
    });
}

// deno-lint-ignore no-explicit-any
type Fn = (...args: any[]) => unknown;

/** What `lazyExport(load, name)` gives: `name`'s function, answering a promise. */
export type LazyFunction<F> = F extends (...args: infer A) => infer R
  ? (...args: A) => Promise<Awaited<R>>
  : never;

/**
 * The function exported as `name` by the module `load` imports, called
 * once it is loaded (`load` is usually `once(() => import("./x.ts"))`).
 */
export function lazyExport<M, K extends keyof M>(
  load: () => Promise<M>,
  name: K,
): LazyFunction<M[K]> {
  const call = async (...args: unknown[]) => {
    const fn = (await load())[name] as Fn;
    return await fn(...args);
  };
  return call as LazyFunction<M[K]>;
}
