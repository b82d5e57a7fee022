import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import { useTheme } from "./theme.ts";

export interface Series {
  label: string;
  values: number[];
  /** A CSS custom property holding the colour, e.g. `--chart-1`. */
  color: string;
  /**
   * What the legend shows when no point is hovered: the range's total (the
   * sum by default; pass it when the sum is not the total, e.g. visitors).
   */
  total?: number;
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
}

const count = new Intl.NumberFormat();
const dayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** Each time as text: dates alone when the points are whole days apart. */
function timeLabels(times: number[]): string[] {
  const daily = times.length > 1 && times[1] - times[0] >= 86_400_000;
  return times.map((t) => (daily ? dayFormat : timeFormat).format(t));
}

/** Space between a Y label and the plot, and on the label's left. */
const LABEL_GAP = 8;

/**
 * The Y-axis labels are HTML beside the canvas, not canvas text: the axis is
 * as wide as its widest label measured in the labels' own font, so "4,000"
 * is never cut to ",000", and the labels can be measured like any element.
 */
function placeYLabels(u: uPlot, box: HTMLElement, layer: HTMLElement, ticks: number[]): void {
  const boxRect = box.getBoundingClientRect();
  const over = u.over.getBoundingClientRect();
  const right = boxRect.right - over.left + LABEL_GAP;
  layer.replaceChildren(
    ...ticks.map((v) => {
      const label = document.createElement("span");
      label.className = "y-label";
      label.textContent = count.format(v);
      label.style.right = `${right}px`;
      label.style.top = `${over.top - boxRect.top + u.valToPos(v, "y")}px`;
      return label;
    }),
  );
}

let measurer: CanvasRenderingContext2D | null = null;
/** The width of `text` in `font`, in CSS pixels. */
function textWidth(text: string, font: string): number {
  measurer ??= document.createElement("canvas").getContext("2d");
  if (!measurer) return text.length * 8;
  measurer.font = font;
  return measurer.measureText(text).width;
}

/**
 * A time-series line chart (uPlot) that fills its container's width and
 * follows the theme. `times` are milliseconds since the epoch. The legend
 * shows each series' total, or the hovered point's values; the numbers are
 * also a table (under "Show the numbers") for screen readers and everyone.
 */
export function TimeChart(
  props: { times: number[]; series: Series[]; height?: number; label: string },
) {
  const box = useRef<HTMLDivElement>(null);
  const labels = useRef<HTMLDivElement>(null);
  const theme = useTheme();
  const [hover, setHover] = useState<number | null>(null);
  useEffect(() => {
    const el = box.current!;
    const layer = labels.current!;
    const text = cssVar("--muted");
    const grid = cssVar("--line");
    const font = `12px ${getComputedStyle(el).fontFamily}`;
    let ticks: number[] = [];
    const axis = {
      stroke: text,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1 },
    };
    const yAxis: uPlot.Axis = {
      ...axis,
      // Drawn as HTML by placeYLabels; the canvas keeps the grid and the ticks.
      stroke: "transparent",
      values: (_u, splits) => {
        ticks = splits;
        return splits.map((v) => count.format(v));
      },
      size: (_u, values) =>
        Math.ceil(
          Math.max(0, ...(values ?? []).map((v) => textWidth(v, font))) + 2 * LABEL_GAP + 6,
        ),
    };
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: props.height ?? 240,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [axis, yAxis],
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
      hooks: {
        draw: [(u) => placeYLabels(u, el, layer, ticks)],
        setCursor: [(u) => setHover(u.cursor.idx ?? null)],
      },
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
      layer.replaceChildren();
    };
    // The theme is a dependency so axis and line colours follow it.
  }, [props.times, props.series, props.height, theme]);
  const when = timeLabels(props.times);
  return (
    <div class="time-chart">
      <ul class="chart-legend" aria-label={`${props.label}: legend`}>
        {props.series.map((s) => {
          const value = hover === null
            ? (s.total ?? s.values.reduce((a, b) => a + b, 0))
            : s.values[hover];
          return (
            <li key={s.label}>
              <span class="swatch" style={{ background: `var(${s.color})` }} aria-hidden="true" />
              {s.label}{" "}
              <strong data-testid={`legend-${s.label}`}>{count.format(value ?? 0)}</strong>
              <span class="muted small">
                {hover === null ? " in this range" : ` at ${when[hover]}`}
              </span>
            </li>
          );
        })}
      </ul>
      <div class="chart-box">
        <div class="chart" ref={box} role="img" aria-label={props.label} />
        <div class="y-labels" ref={labels} aria-hidden="true" />
      </div>
      <details class="chart-data">
        <summary>Show the numbers</summary>
        {/* Scrolls when long: focusable, so a keyboard can scroll it too. */}
        <div class="table-wrap" tabIndex={0} role="region" aria-label={`${props.label}: numbers`}>
          <table class="table">
            <caption class="sr-only">{props.label}</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                {props.series.map((s) => <th key={s.label} scope="col">{s.label}</th>)}
              </tr>
            </thead>
            <tbody>
              {props.times.map((_t, i) => (
                <tr key={i}>
                  <th scope="row">{when[i]}</th>
                  {props.series.map((s) => <td key={s.label}>{count.format(s.values[i] ?? 0)}</td>)}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </div>
  );
}
