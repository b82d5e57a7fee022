import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import { useTheme } from "./theme.ts";

export interface Series {
  label: string;
  values: number[];
  /** A CSS custom property holding the colour, e.g. `--chart-1`. */
  color: string;
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
}

/**
 * A time-series line chart (uPlot) that fills its container's width and
 * follows the theme. `times` are milliseconds since the epoch.
 */
export function TimeChart(
  props: { times: number[]; series: Series[]; height?: number; label: string },
) {
  const box = useRef<HTMLDivElement>(null);
  const theme = useTheme();
  useEffect(() => {
    const el = box.current!;
    const text = cssVar("--muted");
    const grid = cssVar("--line");
    const axis = {
      stroke: text,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1 },
    };
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: props.height ?? 240,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [axis, { ...axis, size: 44 }],
      series: [
        {},
        ...props.series.map((s) => ({
          label: s.label,
          stroke: cssVar(s.color),
          width: 2,
          fill: cssVar(s.color) + "22",
          points: { show: props.times.length < 40 },
        })),
      ],
    };
    const data: uPlot.AlignedData = [
      props.times.map((t) => t / 1000),
      ...props.series.map((s) => s.values),
    ];
    const plot = new uPlot(opts, data, el);
    const resize = new ResizeObserver(() => {
      plot.setSize({ width: Math.max(200, el.clientWidth), height: props.height ?? 240 });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
    // The theme is a dependency so axis and line colours follow it.
  }, [props.times, props.series, props.height, theme]);
  return <div class="chart" ref={box} role="img" aria-label={props.label} />;
}
