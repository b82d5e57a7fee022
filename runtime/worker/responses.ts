/**
 * Responses go back to the host in batches: when every request of the
 * current batch has answered, or on the next turn of the event loop,
 * whichever is first. One message (and, in the host, one write) then
 * carries many responses under load.
 * @module
 */
import type { WorkerResponse } from "./messages.ts";
import { post } from "./scope.ts";

export class ResponseBatcher {
  #outbox: WorkerResponse[] = [];
  #running = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** `count` requests have started. */
  started(count: number): void {
    this.#running += count;
  }

  /** One request has answered. */
  send(r: WorkerResponse): void {
    this.#outbox.push(r);
    this.#running--;
    if (this.#running === 0) this.#flush();
    else if (this.#timer === undefined) this.#timer = setTimeout(() => this.#flush(), 0);
  }

  #flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#outbox.length) return;
    post({ t: "res", list: this.#outbox }, this.#outbox.map((r) => r.body));
    this.#outbox = [];
  }
}
