/** A certificate's state at a glance: the same words in Settings and on an app's Domains tab. */
import type { Api } from "./api.ts";
import { Badge, dateTime } from "./ui.tsx";

const DAY = 86_400_000;
/** Warn this long before a certificate expires (renewal starts at 30 days). */
export const WARN_BEFORE_MS = 14 * DAY;

/** Whether a certificate needs the owner's eye: failing, or valid for less than 14 days. */
export function certNeedsAttention(c: Api.Certificate, now = Date.now()): boolean {
  if (c.last_error) return true;
  return c.not_after !== null && c.not_after - now < WARN_BEFORE_MS;
}

export function CertBadge(props: { cert: Api.Certificate | null; now?: number }) {
  const c = props.cert;
  if (!c) return <Badge>no certificate</Badge>;
  const now = props.now ?? Date.now();
  if (c.not_after !== null && c.not_after <= now) return <Badge tone="bad">expired</Badge>;
  if (c.not_after !== null && c.not_after - now < WARN_BEFORE_MS) {
    const days = Math.max(0, Math.floor((c.not_after - now) / DAY));
    return <Badge tone="warn">expires in {days} {days === 1 ? "day" : "days"}</Badge>;
  }
  if (c.status === "valid" || c.status === "renewing") {
    return <Badge tone="ok">valid until {dateTime(c.not_after)}</Badge>;
  }
  return <Badge tone={c.last_error ? "bad" : "info"}>{c.last_error ? "failing" : "pending"}</Badge>;
}

/** The last error and the next attempt, when there is one. */
export function CertProblem(props: { cert: Api.Certificate | null }) {
  const c = props.cert;
  if (!c?.last_error) return null;
  return (
    <div class="muted small cert-error">
      {c.failures} failed {c.failures === 1 ? "attempt" : "attempts"}: {c.last_error}
      {c.next_attempt_at !== null && <>{" "}(next try {dateTime(c.next_attempt_at)})</>}
    </div>
  );
}
