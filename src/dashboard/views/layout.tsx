import type { ComponentChildren, VNode } from 'preact';
import { render } from 'preact-render-to-string';
import { assetUrl } from '../assets';

// The frame of every dashboard page. Pages are server-rendered with Preact's JSX (preact-render-to-
// string), which escapes every text and attribute value it writes: names and memos typed by people are
// always shown as text. The only script is loaded from Allot itself (Chart.js and a small file that
// draws the charts from data blocks), so the CSP needs no inline script.

export type Section = 'me' | 'team' | 'org' | 'ledger' | 'prices' | 'keys';

/** What the frame shows of the person signed in. */
export interface FrameViewer {
  name: string;
  organisation: string;
  csrfToken: string;
  seesTeam: boolean;
  isAdmin: boolean;
}

const sections: { id: Section; label: string; href: string; who: (viewer: FrameViewer) => boolean }[] = [
  { id: 'me', label: 'Me', href: '/dashboard/me', who: () => true },
  { id: 'team', label: 'My team', href: '/dashboard/team', who: (viewer) => viewer.seesTeam },
  { id: 'org', label: 'Organisation', href: '/dashboard/org', who: (viewer) => viewer.isAdmin },
  { id: 'ledger', label: 'Ledger', href: '/dashboard/org/ledger', who: (viewer) => viewer.isAdmin },
  { id: 'prices', label: 'Prices and weights', href: '/dashboard/org/prices', who: (viewer) => viewer.isAdmin },
  { id: 'keys', label: 'API keys', href: '/dashboard/org/keys', who: (viewer) => viewer.isAdmin },
];

/** The hidden field that carries the session's synchronizer token in every form that changes something. */
export function CsrfField(props: { token: string }) {
  return <input type="hidden" name="_csrf" value={props.token} />;
}

export function Page(props: {
  title: string;
  viewer?: FrameViewer;
  section?: Section;
  charts?: boolean;
  children: ComponentChildren;
}) {
  const { viewer } = props;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · Allot`}</title>
        <link rel="stylesheet" href={assetUrl('dashboard.css')} />
        {props.charts ? <script src={assetUrl('chart.umd.min.js')} defer /> : null}
        {props.charts ? <script src={assetUrl('charts.js')} defer /> : null}
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <p class="brand">Allot{viewer ? <span class="org"> · {viewer.organisation}</span> : null}</p>
          {viewer ? (
            <nav aria-label="Dashboard">
              <ul>
                {sections
                  .filter((section) => section.who(viewer))
                  .map((section) => (
                    <li key={section.id}>
                      <a href={section.href} aria-current={section.id === props.section ? 'page' : undefined}>
                        {section.label}
                      </a>
                    </li>
                  ))}
              </ul>
            </nav>
          ) : null}
          {viewer ? (
            <form method="post" action="/dashboard/signout" class="signout">
              <CsrfField token={viewer.csrfToken} />
              <span class="who">{viewer.name}</span> <button type="submit">Sign out</button>
            </form>
          ) : null}
        </header>
        <main id="main">
          <h1>{props.title}</h1>
          {props.children}
        </main>
      </body>
    </html>
  );
}

/** A whole HTML document from a page. */
export function documentHtml(page: VNode): string {
  return `<!doctype html>\n${render(page)}`;
}
