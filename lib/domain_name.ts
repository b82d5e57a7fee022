/**
 * Custom domain names: what an owner may point at an app. A name is kept in
 * its ASCII form (IDNA: `bücher.example` → `xn--bcher-kva.example`), lower
 * case, without a trailing dot; it must be a real DNS name a public CA can
 * certify, so IP addresses, `localhost` and single labels are refused.
 * @module
 */
import { domainToASCII, domainToUnicode } from "node:url";

/** What a client may type: letters of any script, digits, hyphens and dots. */
const TYPED = /^[\p{L}\p{M}\p{N}.-]+$/u;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** A top-level label starts with a letter: all-digit or `0x…` ones read as IP addresses. */
const TOP_LABEL = /^[a-z][a-z0-9-]*$/;

/** The longest DNS name in its usual written form (RFC 1035: 255 octets on the wire). */
export const MAX_DOMAIN_LENGTH = 253;

/** A checked name: `name` is what is stored and matched, `unicode` what people read. */
export interface DomainName {
  name: string;
  unicode: string;
}

/** Why a name is refused: a short constraint word and a sentence for the client. */
export interface DomainProblem {
  constraint:
    | "required"
    | "max_length"
    | "characters"
    | "ip_address"
    | "localhost"
    | "labels"
    | "own_domain";
  message: string;
}

function problem(constraint: DomainProblem["constraint"], message: string): DomainProblem {
  return { constraint, message };
}

/**
 * Checks and normalises a custom domain. `ownDomain` is the node's domain:
 * it and every name under it are the node's own hosts (admin, apps) and can
 * never be an app's custom domain.
 */
export function parseDomainName(input: string, ownDomain: string): DomainName | DomainProblem {
  const typed = input.trim().replace(/\.$/, "");
  if (!typed) return problem("required", "a domain name is required");
  if (typed.length > MAX_DOMAIN_LENGTH * 4) {
    return problem("max_length", `a domain name has at most ${MAX_DOMAIN_LENGTH} characters`);
  }
  if (/^\[.*\]$/.test(typed) || /^[0-9a-f:]+:[0-9a-f:]*$/i.test(typed)) {
    return problem("ip_address", "an IP address is not a domain name");
  }
  if (!TYPED.test(typed)) {
    return problem(
      "characters",
      "a domain name has only letters, digits, hyphens and dots (no scheme, port, path or '*')",
    );
  }
  const name = domainToASCII(typed).toLowerCase();
  if (!name) return problem("characters", `'${typed.slice(0, 80)}' is not a valid domain name`);
  if (/^[0-9.]+$/.test(name)) return problem("ip_address", "an IP address is not a domain name");
  if (name.length > MAX_DOMAIN_LENGTH) {
    return problem("max_length", `a domain name has at most ${MAX_DOMAIN_LENGTH} characters`);
  }
  if (name === "localhost" || name.endsWith(".localhost")) {
    return problem("localhost", "localhost names cannot have certificates");
  }
  const labels = name.split(".");
  if (
    labels.length < 2 || !labels.every((l) => LABEL.test(l)) ||
    !TOP_LABEL.test(labels[labels.length - 1])
  ) {
    return problem(
      "labels",
      "a domain name is two or more labels of 1-63 letters, digits or inner hyphens, " +
        "the last starting with a letter (like shop.example.com)",
    );
  }
  const own = ownDomain.toLowerCase();
  if (name === own || name.endsWith(`.${own}`)) {
    return problem(
      "own_domain",
      `${name} is one of this node's own names (${own} and the names under it)`,
    );
  }
  return { name, unicode: domainToUnicode(name) };
}

/** Whether `parseDomainName` accepted the name. */
export function isDomainName(parsed: DomainName | DomainProblem): parsed is DomainName {
  return "name" in parsed;
}

/**
 * Nearly the same rules as a JSON Schema `pattern` (MCP tool schemas): two or
 * more labels of letters (any script), digits and inner hyphens, the last
 * starting with a letter. The server applies the full rules.
 */
export const DOMAIN_NAME_PATTERN: RegExp =
  /^(?=.{1,253}$)(?:[a-zA-Z0-9\u0080-\uffff](?:[a-zA-Z0-9\u0080-\uffff-]{0,61}[a-zA-Z0-9\u0080-\uffff])?\.)+[a-zA-Z\u0080-\uffff][a-zA-Z0-9\u0080-\uffff-]*$/;
