// Signing in to the dashboard as a browser does, with fetch: for chat tests that follow the link Allot
// sent. The link's origin is DASHBOARD_URL, which in these tests need not be where Allot listens, so the
// requests go to `baseUrl` and say they come from the link's origin, as the browser would.

/** The session cookie (name=value) a browser holds after opening `link` and confirming, or the failing status. */
export async function followSignInLink(
  baseUrl: string,
  link: string,
): Promise<{ ok: true; cookie: string } | { ok: false; status: number }> {
  const url = new URL(link);
  const opened = await fetch(`${baseUrl}${url.pathname}`, { redirect: 'manual' });
  if (opened.status !== 303) return { ok: false, status: opened.status };
  const pending = cookieOf(opened);
  const confirm = await fetch(`${baseUrl}${opened.headers.get('location')}`, { headers: { cookie: pending } });
  const form = /name="_csrf" value="([^"]+)"/.exec(await confirm.text())?.[1];
  if (!form) return { ok: false, status: confirm.status };
  const signedIn = await fetch(`${baseUrl}/dashboard/signin`, {
    method: 'POST',
    headers: { cookie: pending, origin: url.origin, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: form }).toString(),
    redirect: 'manual',
  });
  if (signedIn.status !== 303) return { ok: false, status: signedIn.status };
  return { ok: true, cookie: cookieOf(signedIn, 'session') };
}

/** The first cookie a response sets (name=value), or the one whose name contains `named`. */
function cookieOf(response: Response, named?: string): string {
  const cookies = response.headers.getSetCookie().map((header) => header.split(';')[0]!);
  return cookies.find((cookie) => (named ? cookie.split('=')[0]!.includes(named) : true)) ?? '';
}

/** The dashboard page at `path` as the session behind `cookie` sees it. */
export async function dashboardPage(
  baseUrl: string,
  cookie: string,
  path: string,
): Promise<{ status: number; text: string }> {
  const response = await fetch(`${baseUrl}${path}`, { headers: { cookie }, redirect: 'manual' });
  return { status: response.status, text: await response.text() };
}
