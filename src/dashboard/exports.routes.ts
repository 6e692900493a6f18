import { once } from 'node:events';
import { stringify } from 'csv-stringify/sync';
import type { Request, Response, Router } from 'express';
import { exportColumns, transferExportPages } from '../ledger/transfer-listing.usecases';
import { usageExportColumns, usageExportPages } from '../usage/usage-export.usecases';
import { type Dashboard, frameOf, sendPage, viewerOf } from './dashboard.http';
import { rangeAsDays, readDateRange } from './filters.models';
import { messagePage } from './views/message.view';

// CSV exports for finance, for admins: transfers (the columns of `allot export`) and usage (daily rollups
// per member, model and category). Streamed a page at a time, so memory stays bounded however large.

async function streamCsv(
  res: Response,
  filename: string,
  header: readonly string[],
  pages: AsyncGenerator<string[][]>,
): Promise<void> {
  res.status(200).set({
    'Content-Type': 'text/csv; charset=utf-8',
    'Content-Disposition': `attachment; filename="${filename}"`,
  });
  const write = async (text: string) => {
    if (!res.write(text)) await once(res, 'drain');
  };
  await write(stringify([[...header]]));
  for await (const page of pages) {
    if (res.destroyed) return;
    await write(stringify(page));
  }
  res.end();
}

function readRange(req: Request, res: Response) {
  const viewer = viewerOf(res);
  const text = (name: string) => (typeof req.query[name] === 'string' ? (req.query[name] as string) : '');
  const parsed = readDateRange({ from: text('from'), to: text('to') }, viewer.organisation.timeZone);
  if (!parsed.ok) {
    sendPage(
      res,
      400,
      messagePage({
        title: 'Those dates cannot be read',
        viewer: frameOf(viewer),
        lines: [parsed.message, 'Nothing was exported.'],
        links: [{ href: '/dashboard/org#exports', text: 'Back to the exports' }],
      }),
    );
    return undefined;
  }
  return { viewer, range: parsed.range };
}

/** Mounts the two exports (relative to /dashboard; behind the admins-only check of /org). */
export function mountExports(router: Router, dashboard: Dashboard): void {
  const { ctx } = dashboard.deps;
  router.get('/org/export/transfers.csv', async (req, res) => {
    const read = readRange(req, res);
    if (!read) return;
    const { viewer, range } = read;
    await streamCsv(
      res,
      `${viewer.organisation.slug}-transfers.csv`,
      exportColumns,
      transferExportPages(ctx, { orgId: viewer.organisation.id, ...range }),
    );
  });
  router.get('/org/export/usage.csv', async (req, res) => {
    const read = readRange(req, res);
    if (!read) return;
    const { viewer, range } = read;
    const days = rangeAsDays(range, viewer.organisation.timeZone, ctx.clock.now());
    await streamCsv(
      res,
      `${viewer.organisation.slug}-usage.csv`,
      usageExportColumns,
      usageExportPages(ctx, { orgId: viewer.organisation.id, ...days }),
    );
  });
}
