// A Gantt chart of one run as SVG: a row per container, a bar per stage,
// the downtime (freeze to running) as a red band under the bars. Drawn from
// the timeline the engine's timestamped events give (or the manual script's).
import type { ContainerTimeline } from './model.ts';

export const STAGE_COLORS: Record<string, string> = {
  prestage: '#c9d6e3',
  checkpoint: '#4c78a8',
  transfer: '#f58518',
  restore: '#54a24b',
  verify: '#b5dfa9',
  finalize: '#dddddd',
};

const esc = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

const fmt = (x: number) => (Math.round(x * 10) / 10).toString();

export function ganttSvg(title: string, timeline: ContainerTimeline[], subtitle = ''): string {
  const labelW = 150;
  const plotW = 640;
  const rowH = 26;
  const top = subtitle ? 52 : 36;
  const legendH = 34;
  const rows = timeline.length;
  const height = top + rows * rowH + 24 + legendH;
  const width = labelW + plotW + 20;
  const times = timeline.flatMap((c) => [
    ...c.stages.flatMap((b) => [b.start, b.end]),
    ...(c.freezeAt === undefined ? [] : [c.freezeAt]),
    ...(c.runningAt === undefined ? [] : [c.runningAt]),
  ]);
  const t0 = times.length ? Math.min(...times) : 0;
  const t1 = times.length ? Math.max(...times) : 1;
  const span = Math.max(1, t1 - t0);
  const x = (t: number) => labelW + ((t - t0) / span) * plotW;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  if (subtitle) out.push(`<text x="10" y="38" fill="#555">${esc(subtitle)}</text>`);
  // time axis: about 8 ticks at a round step
  const raw = span / 8 / 1000;
  const pow = 10 ** Math.floor(Math.log10(Math.max(raw, 1e-3)));
  const step = ([1, 2, 5, 10].find((m) => m * pow >= raw) ?? 10) * pow * 1000;
  const axisY = top + rows * rowH;
  for (let t = 0; t <= span + 1e-6; t += step) {
    const px = x(t0 + t);
    out.push(
      `<line x1="${fmt(px)}" y1="${top - 4}" x2="${fmt(px)}" y2="${axisY}" stroke="#eee"/>`,
      `<text x="${fmt(px)}" y="${axisY + 14}" text-anchor="middle" fill="#555">${fmt(t / 1000)} s</text>`,
    );
  }
  timeline.forEach((c, i) => {
    const y = top + i * rowH;
    out.push(
      `<text x="${labelW - 6}" y="${y + 16}" text-anchor="end">${esc(c.name)}${c.outcome === 'migrated' ? '' : ` (${esc(c.outcome)})`}</text>`,
    );
    if (c.freezeAt !== undefined && c.runningAt !== undefined) {
      out.push(
        `<rect class="downtime" x="${fmt(x(c.freezeAt))}" y="${y + 19}" width="${fmt(Math.max(1, x(c.runningAt) - x(c.freezeAt)))}" height="4" fill="#d62728"><title>${esc(c.name)} down ${fmt((c.runningAt - c.freezeAt) / 1000)} s</title></rect>`,
      );
    }
    for (const b of c.stages) {
      const base = b.stage.replace(/ \(failed\)$/, '');
      const fill = b.stage.endsWith('(failed)') ? '#000000' : (STAGE_COLORS[base] ?? '#999999');
      out.push(
        `<rect class="stage" data-stage="${esc(b.stage)}" x="${fmt(x(b.start))}" y="${y + 4}" width="${fmt(Math.max(1, x(b.end) - x(b.start)))}" height="14" fill="${fill}"><title>${esc(c.name)} ${esc(b.stage)} ${fmt((b.end - b.start) / 1000)} s</title></rect>`,
      );
    }
  });
  let lx = 10;
  const ly = axisY + 30;
  for (const [stage, color] of [...Object.entries(STAGE_COLORS), ['downtime', '#d62728'] as const]) {
    out.push(
      `<rect x="${lx}" y="${ly}" width="12" height="12" fill="${color}"/>`,
      `<text x="${lx + 16}" y="${ly + 10}">${stage}</text>`,
    );
    lx += 24 + stage.length * 7;
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
