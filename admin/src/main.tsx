import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, type ApiError, type Me, onSignedOut } from "./api.ts";
import { navigate, useLocation } from "./router.ts";
import { setTheme, useTheme } from "./theme.ts";
import { ErrorBox, Link, Logo, Spinner, toast, Toasts } from "./ui.tsx";
import { Login } from "./pages/login.tsx";
import { Overview } from "./pages/overview.tsx";
import { Apps } from "./pages/apps.tsx";
import { AppDetail } from "./pages/app_detail.tsx";
import { Analytics } from "./pages/analytics.tsx";
import { StoragePage } from "./pages/storage.tsx";
import { Peers } from "./pages/peers.tsx";
import { Tokens } from "./pages/tokens.tsx";
import { SettingsPage } from "./pages/settings.tsx";

const NAV: [string, string][] = [
  ["/", "Overview"],
  ["/apps", "Apps"],
  ["/analytics", "Analytics"],
  ["/storage", "Storage"],
  ["/peers", "Peers"],
  ["/tokens", "Tokens"],
  ["/settings", "Settings"],
];

function active(path: string, href: string): boolean {
  return href === "/" ? path === "/" : path === href || path.startsWith(href + "/");
}

function Routes(props: { path: string; query: URLSearchParams; me: Me }) {
  const { path, query } = props;
  const app = /^\/apps\/([^/]+)$/.exec(path);
  if (app) return <AppDetail name={decodeURIComponent(app[1])} tab={query.get("tab")} />;
  switch (path) {
    case "/":
      return <Overview />;
    case "/apps":
      return <Apps />;
    case "/analytics":
      return <Analytics app={query.get("app") ?? ""} />;
    case "/storage":
      return <StoragePage app={query.get("app") ?? ""} />;
    case "/peers":
      return <Peers />;
    case "/tokens":
      return <Tokens />;
    case "/settings":
      return <SettingsPage me={props.me} />;
    default:
      return (
        <section class="page">
          <h1>Not found</h1>
          <p>
            There is no page at <code>{path}</code>. <Link href="/">Go to the overview.</Link>
          </p>
        </section>
      );
  }
}

function Shell(props: { me: Me; onLogout: () => void }) {
  const { path, query } = useLocation();
  const theme = useTheme();
  const [busy, setBusy] = useState(false);
  // Move focus to the new page's heading so keyboard and screen-reader users follow along.
  useEffect(() => {
    document.getElementById("page-title")?.focus({ preventScroll: true });
  }, [path]);
  const logout = async () => {
    setBusy(true);
    try {
      await api("/api/auth/logout", { method: "POST" });
    } catch (err) {
      toast(`Sign-out failed: ${(err as Error).message}`, "bad");
      setBusy(false);
      return;
    }
    props.onLogout();
  };
  return (
    <div class="shell">
      <a class="skip" href="#main">Skip to content</a>
      <header class="topbar">
        <Link href="/" class="brand">
          <Logo /> fazt
        </Link>
        <div class="topbar-right">
          <button
            type="button"
            class="icon-btn"
            aria-label={theme === "dark" ? "Switch to light theme" : "Switch to dark theme"}
            title="Toggle theme"
            onClick={() => setTheme(theme === "dark" ? "light" : "dark")}
          >
            {theme === "dark" ? "☀" : "☾"}
          </button>
          <span class="who" title={props.me.name}>
            {props.me.kind === "session" ? props.me.username : props.me.name}
          </span>
          {props.me.kind === "session" && (
            <button type="button" class="btn small" onClick={logout} disabled={busy}>
              Sign out
            </button>
          )}
        </div>
      </header>
      <nav class="nav" aria-label="Main">
        {NAV.map(([href, label]) => (
          <Link
            key={href}
            href={href}
            class={active(path, href) ? "active" : ""}
            aria-current={active(path, href) ? "page" : undefined}
          >
            {label}
          </Link>
        ))}
      </nav>
      <main id="main">
        <Routes path={path} query={query} me={props.me} />
      </main>
      <Toasts />
    </div>
  );
}

function Root() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [error, setError] = useState<ApiError>();
  const check = () => {
    setError(undefined);
    api<Me>("/api/auth/me").then(setMe, (err: ApiError) => {
      if (err.status === 401) setMe(null);
      else setError(err);
    });
  };
  useEffect(() => {
    check();
    return onSignedOut(() => setMe(null));
  }, []);
  if (error) {
    return (
      <div class="center-page">
        <ErrorBox error={error} retry={check} />
      </div>
    );
  }
  if (me === undefined) {
    return (
      <div class="center-page">
        <Spinner />
      </div>
    );
  }
  if (me === null) return <Login onLogin={(m) => setMe(m)} />;
  return (
    <Shell
      me={me}
      onLogout={() => {
        setMe(null);
        navigate("/", true);
      }}
    />
  );
}

render(<Root />, document.getElementById("app")!);
