/**
 * The HTTP-01 answers the node owes its CA right now: token → key
 * authorization, held in memory by the process that answers them. Any host
 * gets the answer (the CA asks on the name it validates); only tokens of the
 * node's own ACME process are ever here.
 */
export class Challenges {
  #answers = new Map<string, string>();

  /** Where the CA asks: `/.well-known/acme-challenge/<token>`. */
  static readonly PREFIX = "/.well-known/acme-challenge/";

  set(token: string, keyAuthorization: string): void {
    this.#answers.set(token, keyAuthorization);
  }

  get(token: string): string | undefined {
    return this.#answers.get(token);
  }

  delete(token: string): void {
    this.#answers.delete(token);
  }

  get size(): number {
    return this.#answers.size;
  }
}
