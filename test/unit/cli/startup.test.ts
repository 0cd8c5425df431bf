// The headless commands start without the cell-width machinery: string-width
// builds an Intl.Segmenter when it loads (~10-20 ms of ICU setup), which only
// the tables for a person need, and they load it while the hosts answer.
import { expect, it, vi } from 'vitest';

it('loading the CLI builds no Intl.Segmenter; printing a table does', async () => {
  const segmenter = vi.spyOn(Intl, 'Segmenter');
  await import('../../../src/cli/main.ts');
  expect(segmenter).not.toHaveBeenCalled();
  await import('../../../src/cli/plan-text.ts');
  expect(segmenter).toHaveBeenCalled();
});
