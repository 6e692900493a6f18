import type { Response, Router } from 'express';
import { parseInstantInput } from '../lib/date-input.models';
import { listPrices, listWeights, setPrice, setWeight } from '../usage/prices.usecases';
import { type Dashboard, field, frameOf, sendPage, usageRefusal, viewerOf, webActor } from './dashboard.http';
import type { NoticeInput } from './views/components';
import { pricesPage } from './views/prices.view';

// Prices and weights, for admins: the organisation's dated prices (then the default list prices), the
// category weights, and forms that set them through the same verbs as `/tokens price|weight` and the
// CLI, refused in the same words. A price applies from the date given (midnight UTC, as in the CLI) or
// from now; history keeps the price it was charged at.

const notices: Record<string, string> = {
  price: 'The price was set. Usage from its date on is priced with it; earlier usage keeps its price.',
  weight: 'The weight was set. Usage from now on is valued with it.',
};

async function showPrices(dashboard: Dashboard, res: Response, status: number, notice?: NoticeInput) {
  const viewer = viewerOf(res);
  const orgId = viewer.organisation.id;
  const actor = webActor(res);
  const prices = await listPrices(dashboard.deps.ctx, { orgId, actor });
  if (!prices.ok) throw Object.assign(new Error('not an admin'), { status: 403 });
  const weights = await listWeights(dashboard.deps.ctx, { orgId });
  sendPage(res, status, pricesPage({ viewer: frameOf(viewer), prices: prices.value, weights, notice }));
}

/** Mounts prices and weights (relative to /dashboard; behind the admins-only check of /org). */
export function mountPrices(router: Router, dashboard: Dashboard): void {
  const { ctx } = dashboard.deps;
  const refused = (res: Response, failure: string) => showPrices(dashboard, res, 400, usageRefusal(failure));

  router.get('/org/prices', async (req, res) => {
    const notice = typeof req.query.notice === 'string' ? notices[req.query.notice] : undefined;
    await showPrices(dashboard, res, 200, notice ? { kind: 'ok', lines: [notice] } : undefined);
  });

  router.post('/org/prices', async (req, res) => {
    const fromText = field(req, 'from').trim();
    let effectiveFrom: Date | undefined;
    if (fromText) {
      const parsed = parseInstantInput(fromText, { dateOnlyZone: 'UTC' });
      if (!parsed.ok) return showPrices(dashboard, res, 400, { kind: 'problem', lines: [parsed.message] });
      effectiveFrom = parsed.value;
    }
    const set = await setPrice(ctx, {
      orgId: viewerOf(res).organisation.id,
      actor: webActor(res),
      model: field(req, 'model'),
      input: field(req, 'input'),
      output: field(req, 'output'),
      effectiveFrom,
    });
    if (!set.ok) return refused(res, set.failure);
    res.redirect(303, '/dashboard/org/prices?notice=price');
  });

  router.post('/org/weights', async (req, res) => {
    const set = await setWeight(ctx, {
      orgId: viewerOf(res).organisation.id,
      actor: webActor(res),
      category: field(req, 'category'),
      weight: field(req, 'weight'),
    });
    if (!set.ok) return refused(res, set.failure);
    res.redirect(303, '/dashboard/org/prices?notice=weight');
  });
}
