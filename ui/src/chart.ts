/** A stacked bar chart in plain SVG: one bar per x value, one colour per series, with a legend. */
import { h, s } from "./dom.ts";

export interface ChartData {
  xs: string[];
  series: { name: string; values: number[] }[];
}

// Colour-blind-safe palette (Okabe–Ito), each with ≥ 3:1 contrast on white.
const COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#8c6d00", "#555555"];

export function stackedBars(data: ChartData, title: string, format: (n: number) => string): HTMLElement {
  const width = 720;
  const height = 260;
  const pad = { left: 64, right: 12, top: 12, bottom: 40 };
  const totals = data.xs.map((_, i) => data.series.reduce((sum, ser) => sum + (ser.values[i] ?? 0), 0));
  const max = Math.max(...totals, 0) || 1;
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const step = data.xs.length > 0 ? plotW / data.xs.length : plotW;
  const barW = Math.max(2, Math.min(48, step * 0.7));
  const y = (v: number): number => pad.top + plotH - (v / max) * plotH;
  const svg = s("svg", {
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": `${title}: ${data.xs.length} days, ${data.series.length} series, peak ${format(max)}`,
    class: "chart",
  });
  for (const frac of [0, 0.5, 1]) {
    const v = max * frac;
    svg.append(
      s("line", { x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v), class: "grid" }),
      s("text", { x: pad.left - 6, y: y(v) + 4, "text-anchor": "end", class: "axis" }, format(v)),
    );
  }
  data.xs.forEach((x, i) => {
    const cx = pad.left + step * i + step / 2;
    let acc = 0;
    data.series.forEach((ser, k) => {
      const v = ser.values[i] ?? 0;
      if (v <= 0) return;
      const rect = s("rect", {
        x: cx - barW / 2,
        y: y(acc + v),
        width: barW,
        height: Math.max(1, y(acc) - y(acc + v)),
        fill: COLORS[k % COLORS.length],
        class: "bar",
      });
      rect.append(s("title", {}, `${x} · ${ser.name}: ${format(v)}`));
      svg.append(rect);
      acc += v;
    });
    const every = Math.ceil(data.xs.length / 8);
    if (i % every === 0)
      svg.append(
        s("text", { x: cx, y: height - pad.bottom + 16, "text-anchor": "middle", class: "axis" }, x.slice(5)),
      );
  });
  const legend = h(
    "ul",
    { class: "legend" },
    ...data.series.map((ser, k) => {
      const swatch = h("span", { class: "swatch", "aria-hidden": "true" });
      swatch.style.background = COLORS[k % COLORS.length] ?? "#555";
      return h("li", {}, swatch, ser.name);
    }),
  );
  return h("figure", { class: "chart-box" }, h("figcaption", {}, title), svg, legend);
}
