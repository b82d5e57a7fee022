/**
 * This Worker's memory, reported to the server: `Deno.memoryUsage()` in a
 * Worker measures its own isolate (heap, and `external`, which holds its
 * ArrayBuffers), so each app in a shared host is measured apart. Sent when
 * it moved by a MiB or more, at most four times a second.
 * @module
 */
import { FRAME } from "./frames.ts";
import { link } from "./link.ts";

const memoryUsage = Deno.memoryUsage;
const MIB = 1024 * 1024;

export function reportMemory(): void {
  let last = -MIB;
  const tick = () => {
    const m = memoryUsage();
    const used = m.heapUsed + m.external;
    if (Math.abs(used - last) >= MIB) {
      last = used;
      link.out.frame(0, FRAME.MEM, `${m.heapUsed} ${m.external}`);
    }
  };
  tick();
  setInterval(tick, 250);
}
