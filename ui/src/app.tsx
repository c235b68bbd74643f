// The shell: navigation, theme switch and the page for the current path.
import { useEffect, useState } from "preact/hooks";
import { useLocation } from "./lib/router";
import { Link } from "./components/common";
import { TracesPage } from "./pages/traces";
import { TracePage } from "./pages/trace";
import { StatusPage } from "./pages/status";
import { OverviewPage } from "./pages/overview";
import { CostsPage } from "./pages/costs";
import { ConversationsPage } from "./pages/conversations";

type Theme = "light" | "dark" | "auto";
const THEMES: Theme[] = ["auto", "light", "dark"];

function useTheme(): [Theme, () => void] {
  const [theme, setTheme] = useState<Theme>(() => (localStorage.getItem("sextant.theme") as Theme | null) ?? "auto");
  useEffect(() => {
    localStorage.setItem("sextant.theme", theme);
    if (theme === "auto") delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = theme;
  }, [theme]);
  const next = () => setTheme(THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length] ?? "auto");
  return [theme, next];
}

const NAV = [
  { href: "/", label: "Overview" },
  { href: "/traces", label: "Traces" },
  { href: "/costs", label: "Costs" },
  { href: "/conversations", label: "Conversations" },
  { href: "/status", label: "Status" },
];

function page(path: string) {
  const trace = /^\/trace\/([^/]+)\/?$/.exec(path);
  if (trace?.[1]) return <TracePage id={decodeURIComponent(trace[1])} />;
  switch (path.replace(/\/+$/, "") || "/") {
    case "/":
      return <OverviewPage />;
    case "/traces":
      return <TracesPage />;
    case "/costs":
      return <CostsPage />;
    case "/conversations":
      return <ConversationsPage />;
    case "/status":
      return <StatusPage />;
    default:
      return <p class="note">No page at {path}.</p>;
  }
}

export function App() {
  const { path } = useLocation();
  const [theme, nextTheme] = useTheme();
  const current = path.startsWith("/trace/") ? "/traces" : path.replace(/\/+$/, "") || "/";
  return (
    <>
      <header class="top">
        <Link href="/" class="brand">
          Sextant
        </Link>
        <nav aria-label="Pages">
          {NAV.map((n) => (
            <Link href={n.href} class={current === n.href ? "active" : ""}>
              {n.label}
            </Link>
          ))}
        </nav>
        <button type="button" class="secondary theme" onClick={nextTheme} title="Switch theme" data-testid="theme">
          Theme: {theme}
        </button>
      </header>
      <main>{page(path)}</main>
    </>
  );
}
