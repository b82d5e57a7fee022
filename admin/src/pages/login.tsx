import { useState } from "preact/hooks";
import { api, type ApiError, type Me } from "../api.ts";
import { Logo } from "../ui.tsx";

export function Login(props: { onLogin: (me: Me) => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await api("/api/auth/login", { method: "POST", body: { username, password } });
      props.onLogin(await api<Me>("/api/auth/me"));
    } catch (err) {
      const e = err as ApiError;
      if (e.code === "RATE_LIMITED") {
        const s = Number(e.details?.retry_after_s ?? 900);
        // Behind a proxy fazt does not trust, every visitor shares its address (and this limit).
        const ignored = e.details?.ignored_header;
        setError(
          `Too many sign-in attempts. Try again in ${Math.ceil(s / 60)} min.${
            typeof ignored === "string"
              ? ` This node ignores the ${ignored} header from its proxy, so everyone who` +
                " reaches it through the proxy shares one limit: see trust_proxy in the README."
              : ""
          }`,
        );
      } else if (e.code === "INVALID_CREDENTIALS") {
        const left = e.details?.attempts_left;
        setError(
          `Wrong user name or password.${
            typeof left === "number" && left < 3
              ? ` ${left} attempt${left === 1 ? "" : "s"} left.`
              : ""
          }`,
        );
      } else setError(e.message);
      setBusy(false);
    }
  };
  return (
    <main class="login-page">
      <form class="card login" onSubmit={submit} aria-labelledby="login-title">
        <div class="login-brand">
          <Logo size={48} />
        </div>
        <h1 id="login-title">Sign in to fazt</h1>
        <label class="field">
          <span>User name</span>
          <input
            name="username"
            autoComplete="username"
            autoCapitalize="none"
            required
            autoFocus
            value={username}
            onInput={(e) => setUsername((e.target as HTMLInputElement).value)}
          />
        </label>
        <label class="field">
          <span>Password</span>
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
          />
        </label>
        {error && <div class="notice error" role="alert">{error}</div>}
        <button type="submit" class="btn primary block" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <p class="muted small">
          The first start of <code>fazt server start</code>{" "}
          prints the owner's password; set a new one with <code>fazt server init --force</code>.
        </p>
      </form>
    </main>
  );
}
