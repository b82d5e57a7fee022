/** Light and dark themes: the system's choice unless the owner picked one (kept in localStorage). */
import { useEffect, useState } from "preact/hooks";

export type Theme = "light" | "dark";
const KEY = "fazt-theme";
const listeners = new Set<(t: Theme) => void>();
const media = matchMedia("(prefers-color-scheme: dark)");

function stored(): Theme | null {
  try {
    const v = localStorage.getItem(KEY);
    return v === "light" || v === "dark" ? v : null;
  } catch {
    return null;
  }
}

export function currentTheme(): Theme {
  return stored() ?? (media.matches ? "dark" : "light");
}

function apply(): void {
  const t = currentTheme();
  document.documentElement.dataset.theme = t;
  for (const fn of listeners) fn(t);
}

export function setTheme(t: Theme): void {
  try {
    localStorage.setItem(KEY, t);
  } catch {
    // Private windows may refuse storage; the choice then lasts for this page.
  }
  document.documentElement.dataset.theme = t;
  for (const fn of listeners) fn(t);
}

media.addEventListener("change", apply);
apply();

export function useTheme(): Theme {
  const [t, setT] = useState(currentTheme());
  useEffect(() => {
    listeners.add(setT);
    return () => {
      listeners.delete(setT);
    };
  }, []);
  return t;
}
