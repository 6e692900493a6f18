import type { App, Context } from '@slack/bolt';
import type { AppDeps } from '../../app/module';
import { findOrganisationByWorkspace, listMembersByRole } from '../../members/members.repository';
import { slackInstallPath } from '../install.oauth';
import { workspaceRemovedNotice } from '../install.replies';
import { workspaceIdOf } from '../installations.models';
import { type InstallationsDeps, type RemovedInstallation, removeInstallation } from '../installations.usecases';

/** Admins told that a workspace lost Allot, at most (the rest read it in the log). */
export const removalNoticeAdminsMax = 50;

/**
 * Distribution only: `app_uninstalled` and `tokens_revoked` (bot tokens) delete the workspace's
 * installation at once, so nothing is sent with its token afterwards (Bolt delivers both events
 * without authorizing them: the token may already be gone). The organisation, its members and ledger
 * stay; a reinstall resumes them. The organisation's admins are told, wherever they can be reached.
 */
export function registerInstallationListeners(
  app: App,
  listener: { deps: AppDeps; installations: InstallationsDeps; track(work: () => Promise<unknown>): Promise<unknown> },
): void {
  const remove = async (context: Context) => {
    const removed = await removeInstallation(listener.installations, {
      enterpriseId: context.enterpriseId,
      teamId: context.teamId,
      isEnterpriseInstall: context.isEnterpriseInstall === true,
    });
    // Slack sends both events for one uninstall: only the one that deleted something tells the admins.
    for (const installation of removed) await tellAdmins(listener.deps, installation);
  };
  app.event('app_uninstalled', async ({ context }) => {
    await listener.track(() => remove(context));
  });
  app.event('tokens_revoked', async ({ event, context }) => {
    // Only bot tokens serve Allot; it keeps no user token, so a revoked one changes nothing here.
    if ((event.tokens.bot ?? []).length === 0) return;
    await listener.track(() => remove(context));
  });
}

async function tellAdmins(deps: AppDeps, installation: RemovedInstallation): Promise<void> {
  const workspaceId = workspaceIdOf(installation.key);
  const org = workspaceId ? await findOrganisationByWorkspace(deps.ctx.db.orm, 'slack', workspaceId) : undefined;
  if (!org) return;
  const admins = await listMembersByRole(deps.ctx.db.orm, org.id, 'admin');
  const message = workspaceRemovedNotice({ workspaceName: installation.name, installPath: slackInstallPath });
  let told = 0;
  for (const admin of admins.slice(0, removalNoticeAdminsMax)) {
    // Identities in the removed workspace have no token any more; the notifier moves on to the next.
    const sent = await deps.notifier.notifyMember({ orgId: org.id, memberId: admin.id, message });
    if (sent.ok) told++;
  }
  deps.logger.warn(
    { orgId: org.id.toString(), installationId: installation.id.toString(), adminsTold: told, admins: admins.length },
    'Allot was removed from a Slack workspace of this organisation',
  );
}
