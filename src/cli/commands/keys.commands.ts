import type { Command } from 'commander';
import pino from 'pino';
import { createKeyRing } from '../../lib/secret-box';
import { rotateInstallationKeys } from '../../slack/installations.usecases';
import { CliError, loadCliConfig, withCliContext } from '../cli-context';

// `allot keys …`: the encryption keys of stored secrets (Slack installations' tokens).

/** Registers `allot keys` and its commands. */
export function registerKeysCommands(program: Command): void {
  const keys = program
    .command('keys')
    .description('Encryption keys of stored secrets (ALLOT_ENCRYPTION_KEY, ALLOT_PREVIOUS_ENCRYPTION_KEYS)');
  registerKeysRotate(keys);
}

/**
 * `allot keys rotate`: re-encrypts every stored Slack installation under ALLOT_ENCRYPTION_KEY, opening
 * those sealed under an older key with ALLOT_PREVIOUS_ENCRYPTION_KEYS. Safe to run again; beside a
 * running server too, once that server was restarted with both keys.
 */
function registerKeysRotate(keys: Command): void {
  keys
    .command('rotate')
    .description(
      'Re-encrypt stored Slack tokens under ALLOT_ENCRYPTION_KEY (older keys in ALLOT_PREVIOUS_ENCRYPTION_KEYS)',
    )
    .action(async () => {
      const config = loadCliConfig();
      if (!config.ALLOT_ENCRYPTION_KEY) {
        throw new CliError(
          'Set ALLOT_ENCRYPTION_KEY to the new key (openssl rand -base64 32) and ALLOT_PREVIOUS_ENCRYPTION_KEYS to the ' +
            'old one, then run allot keys rotate again.',
          2,
        );
      }
      const ring = createKeyRing(config.ALLOT_ENCRYPTION_KEY, config.ALLOT_PREVIOUS_ENCRYPTION_KEYS);
      await withCliContext(async (ctx) => {
        // The verb logs per installation; the CLI says it in one line instead.
        const report = await rotateInstallationKeys({ ctx, ring, logger: pino({ level: 'silent' }) });
        const unreadable = report.unreadable;
        console.log(
          `Re-encrypted ${report.reencrypted} Slack installation(s) with key ${ring.current.id}; ` +
            `${report.alreadyCurrent} already used it.`,
        );
        const missing = unreadable.filter((entry) => entry.reason === 'unknown_key');
        if (missing.length > 0) {
          const keyIds = [...new Set(missing.map((entry) => entry.keyId))].join(', ');
          throw new CliError(
            `${missing.length} installation(s) could not be opened: they are sealed with key ${keyIds}, which is ` +
              'neither ALLOT_ENCRYPTION_KEY nor in ALLOT_PREVIOUS_ENCRYPTION_KEYS. Add that key and run it again.',
          );
        }
        if (unreadable.length > 0) {
          const ids = unreadable.map((entry) => entry.installationId).join(', ');
          throw new CliError(
            `${unreadable.length} installation(s) (id ${ids}) do not decrypt with their key: the stored bytes were ` +
              'altered. Those workspaces must install Allot again (/slack/install).',
          );
        }
      });
    });
}
