import { type ComponentType, render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, type ApiError, type Me, onSignedOut } from "./api.ts";
import { navigate, useLocation } from "./router.ts";
import { setTheme, useTheme } from "./theme.ts";
import { ErrorBox, focusPageTitle, Link, Logo, Spinner, toast, Toasts } from "./ui.tsx";
import { Login } from "./pages/login.tsx";

// Each page is its own chunk, loaded when first shown: a page loads only the
// code it needs (the charts, the ZIP maker), not the whole dashboard.
// deno-lint-ignore no-explicit-any -- each page takes its own props
type Loader = () => Promise<ComponentType<any>>;
const Overview: Loader = () => import("./pages/overview.tsx").then((m) => m.Overview);
const Apps: Loader = () => import("./pages/apps.tsx").then((m) => m.Apps);
const AppDetail: Loader = () => import("./pages/app_detail.tsx").then((m) => m.AppDetail);
const Analytics: Loader = () => import("./pages/analytics.tsx").then((m) => m.Analytics);
const StoragePage: Loader = () => import("./pages/storage.tsx").then((m) => m.StoragePage);
const Peers: Loader = () => import("./pages/peers.tsx").then((m) => m.Peers);
const Tokens: Loader = () => import("./pages/tokens.tsx").then((m) => m.Tokens);
const SettingsPage: Loader = () => import("./pages/settings.tsx").then((m) => m.SettingsPage);

// deno-lint-ignore no-explicit-any -- see Loader
const loaded = new Map<Loader, ComponentType<any>>();

/** A page from its chunk: a spinner while it loads, an error with a retry if it cannot. */
// deno-lint-ignore no-explicit-any -- see Loader
function Lazy(props: { page: Loader; props?: Record<string, any> }) {
  const [, setTick] = useState(0);
  const [error, setError] = useState<Error>();
  const Page = loaded.get(props.page);
  useEffect(() => {
    if (Page) return;
    let live = true;
    setError(undefined);
    props.page().then(
      (c) => {
        loaded.set(props.page, c);
        if (live) setTick((n) => n + 1);
      },
      (err) => live && setError(err instanceof Error ? err : new Error(String(err))),
    );
    return () => {
      live = false;
    };
  }, [props.page, Page]);
  if (error) return <ErrorBox error={error} retry={() => location.reload()} />;
  if (!Page) return <Spinner />;
  return <Page {...props.props} />;
}

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
  if (app) {
    return (
      <Lazy page={AppDetail} props={{ name: decodeURIComponent(app[1]), tab: query.get("tab") }} />
    );
  }
  switch (path) {
    case "/":
      return <Lazy page={Overview} />;
    case "/apps":
      return <Lazy page={Apps} />;
    case "/analytics":
      return <Lazy page={Analytics} props={{ app: query.get("app") ?? "" }} />;
    case "/storage":
      return <Lazy page={StoragePage} props={{ app: query.get("app") ?? "" }} />;
    case "/peers":
      return <Lazy page={Peers} />;
    case "/tokens":
      return <Lazy page={Tokens} />;
    case "/settings":
      return <Lazy page={SettingsPage} props={{ me: props.me }} />;
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
  useEffect(() => focusPageTitle(), [path]);
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
