import type { Response, Router } from 'express';
import { createApiKey, listApiKeys, revokeApiKey } from '../usage/api-keys.usecases';
import { type Dashboard, field, frameOf, sendPage, usageRefusal, viewerOf, webActor } from './dashboard.http';
import type { NoticeInput } from './views/components';
import { keysPage } from './views/keys.view';

// API keys of the usage API, for admins: listed by name and prefix, created (the key is shown on the
// answer to the form, once, and stored only as a hash), revoked. Through the verbs of /tokens apikey.

async function showKeys(
  dashboard: Dashboard,
  res: Response,
  status: number,
  extra: { notice?: NoticeInput; created?: { name: string; key: string } } = {},
) {
  const viewer = viewerOf(res);
  const actor = webActor(res);
  const keys = await listApiKeys(dashboard.deps.ctx, { orgId: viewer.organisation.id, actor });
  if (!keys.ok) throw Object.assign(new Error('not an admin'), { status: 403 });
  sendPage(res, status, keysPage({ viewer: frameOf(viewer), keys: keys.value, ...extra }));
}

/** Mounts API keys (relative to /dashboard; behind the admins-only check of /org). */
export function mountKeys(router: Router, dashboard: Dashboard): void {
  const { ctx } = dashboard.deps;
  const refused = (res: Response, failure: string) => showKeys(dashboard, res, 400, { notice: usageRefusal(failure) });

  router.get('/org/keys', async (req, res) => {
    const revoked = req.query.revoked === undefined ? undefined : String(req.query.revoked).slice(0, 63);
    await showKeys(
      dashboard,
      res,
      200,
      revoked ? { notice: { kind: 'ok', lines: [`The key “${revoked}” was revoked.`] } } : {},
    );
  });

  // The key is in this answer only: never in a redirect, a log or the database (pages are not cached).
  router.post('/org/keys', async (req, res) => {
    const created = await createApiKey(ctx, {
      orgId: viewerOf(res).organisation.id,
      actor: webActor(res),
      name: field(req, 'name'),
    });
    if (!created.ok) return refused(res, created.failure);
    await showKeys(dashboard, res, 201, { created: { name: created.value.apiKey.name, key: created.value.key } });
  });

  router.post('/org/keys/revoke', async (req, res) => {
    const revoked = await revokeApiKey(ctx, {
      orgId: viewerOf(res).organisation.id,
      actor: webActor(res),
      name: field(req, 'name'),
    });
    if (!revoked.ok) return refused(res, revoked.failure);
    res.redirect(303, `/dashboard/org/keys?revoked=${encodeURIComponent(revoked.value.name)}`);
  });
}
