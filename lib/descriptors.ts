/**
 * File descriptors running out. Deno 2.9.6 panics, ending the whole
 * process, when a thread it starts cannot create its runtime for want of
 * descriptors (`tokio_util.rs`: "Too many open files"): a `Worker` started
 * while a connection flood holds every descriptor kills the node. Code
 * that starts a Worker while serving asks `descriptorHeadroom()` first and
 * does the work another way when it says no. A race remains (descriptors
 * checked free here can be taken before the thread starts), so the front
 * door's connection cap, below the limit, is what keeps the reserve.
 * @module
 */

/** Descriptors a Worker's thread needs (measured: 6), with a margin. */
export const WORKER_DESCRIPTORS = 16;

/** EMFILE (24) or ENFILE (23), as Deno reports them. */
export function isDescriptorExhaustion(err: unknown): boolean {
  const m = err instanceof Error ? err.message : String(err);
  return m.includes("os error 24") || m.includes("os error 23");
}

/**
 * Whether this process can open `count` more descriptors now (it opens and
 * closes them). Where it cannot tell (no `/dev/null`, no permission to
 * read it), it says yes.
 */
export function descriptorHeadroom(count = WORKER_DESCRIPTORS): boolean {
  const opened: Deno.FsFile[] = [];
  try {
    for (let i = 0; i < count; i++) opened.push(Deno.openSync("/dev/null"));
    return true;
  } catch (err) {
    return !isDescriptorExhaustion(err);
  } finally {
    for (const f of opened) f.close();
  }
}
