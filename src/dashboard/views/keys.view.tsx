import type { ApiKey } from '../../usage/api-keys.repository';
import { type NoticeInput, NoticeLines } from './components';
import { formatLocalTime } from './format.models';
import { CsrfField, type FrameViewer, Page } from './layout';

// API keys: the new key once, the list, and the forms to create and revoke.

export function keysPage(input: {
  viewer: FrameViewer;
  keys: ApiKey[];
  notice?: NoticeInput;
  created?: { name: string; key: string };
}) {
  const live = input.keys.filter((key) => key.revokedAt === null);
  return (
    <Page title="API keys" viewer={input.viewer} section="keys">
      <NoticeLines notice={input.notice} />
      {input.created ? (
        <section aria-labelledby="new-key" class="notice ok" role="status">
          <h2 id="new-key">Your new key “{input.created.name}”</h2>
          <p>Copy it now: it is shown this once, and Allot keeps only its hash.</p>
          <p class="key">{input.created.key}</p>
          <p>
            Send usage with it: <code>Authorization: Bearer &lt;key&gt;</code> on <code>POST /v1/usage</code>.
          </p>
        </section>
      ) : null}
      <section aria-labelledby="create-key">
        <h2 id="create-key">Create a key</h2>
        <form method="post" action="/dashboard/org/keys" class="row">
          <CsrfField token={input.viewer.csrfToken} />
          <label for="key-name">
            Name <span class="hint">(letters, digits, . _ -)</span>
            <input id="key-name" type="text" name="name" required maxLength={63} />
          </label>
          <button type="submit">Create key</button>
        </form>
      </section>
      <section aria-labelledby="keys">
        <h2 id="keys">Keys</h2>
        {input.keys.length === 0 ? (
          <p class="empty">No keys yet.</p>
        ) : (
          <table>
            <caption>
              {live.length} live of {input.keys.length}; a key is shown by its first characters only
            </caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Starts with</th>
                <th scope="col">Created (UTC)</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {input.keys.map((key) => (
                <tr key={key.id.toString()}>
                  <th scope="row">{key.name}</th>
                  <td>
                    <code>{key.keyPrefix}…</code>
                  </td>
                  <td>{formatLocalTime(key.createdAt, 'UTC')}</td>
                  <td>
                    {key.revokedAt ? (
                      `revoked ${formatLocalTime(key.revokedAt, 'UTC')}`
                    ) : (
                      <form method="post" action="/dashboard/org/keys/revoke" class="inline">
                        <CsrfField token={input.viewer.csrfToken} />
                        <input type="hidden" name="name" value={key.name} />
                        <button type="submit" class="danger" aria-label={`Revoke key ${key.name}`}>
                          Revoke
                        </button>
                      </form>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </Page>
  );
}
