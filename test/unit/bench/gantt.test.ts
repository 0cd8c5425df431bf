import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ganttSvg } from '../../../scripts/bench/gantt.ts';
import { parseNdjson, timelineFromEvents } from '../../../scripts/bench/model.ts';

const fixture = readFileSync(new URL('../../fixtures/bench/pipelined-wf4.ndjson', import.meta.url), 'utf8');

const rects = (svg: string, cls: string) =>
  [...svg.matchAll(new RegExp(`<rect class="${cls}"([^>]*)>`, 'g'))].map((m) => {
    const attr = (k: string) => Number(new RegExp(`${k}="([\\d.]+)"`).exec(m[1] ?? '')?.[1]);
    return {
      x: attr('x'),
      y: attr('y'),
      width: attr('width'),
      stage: /data-stage="([^"]+)"/.exec(m[1] ?? '')?.[1],
    };
  });

describe('Gantt chart from the engine events', () => {
  const tl = timelineFromEvents(parseNdjson(fixture));
  const svg = ganttSvg('pipelined: smoke', tl, 'podman, 1gbit');

  it('draws a bar per stage per container and a downtime mark per container', () => {
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(rects(svg, 'stage')).toHaveLength(tl.reduce((s, c) => s + c.stages.length, 0));
    expect(rects(svg, 'downtime')).toHaveLength(4);
  });

  it('places bars in time order on the same scale: transfer after checkpoint, downtime spanning both', () => {
    const bars = rects(svg, 'stage');
    const down = rects(svg, 'downtime');
    // first container's row: its bars share one y
    const row = bars.filter((b) => b.y === bars[0]?.y);
    const cp = row.find((b) => b.stage === 'checkpoint');
    const tr = row.find((b) => b.stage === 'transfer');
    const rs = row.find((b) => b.stage === 'restore');
    expect(cp && tr && rs).toBeTruthy();
    expect((tr?.x ?? 0) + 0.2).toBeGreaterThanOrEqual((cp?.x ?? 0) + (cp?.width ?? 0));
    const d = down[0];
    expect(Math.abs((d?.x ?? 0) - (cp?.x ?? 0))).toBeLessThan(0.2);
    expect(Math.abs((d?.x ?? 0) + (d?.width ?? 0) - ((rs?.x ?? 0) + (rs?.width ?? 0)))).toBeLessThan(0.2);
  });

  it('escapes names it did not choose', () => {
    const out = ganttSvg('a<b', [{ name: 'x"&<y>', outcome: 'failed', stages: [] }]);
    expect(out).toContain('a&lt;b');
    expect(out).toContain('x&quot;&amp;&lt;y&gt;');
    expect(out).not.toContain('x"&<y>');
  });
});
