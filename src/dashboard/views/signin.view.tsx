import { assetUrl } from '../assets';
import { CsrfField, Page } from './layout';

// The sign-in pages: the confirmation a link leads to, and what to do without a link.

/** How a person gets a link, on every sign-in page. */
const howToGetLink = (
  <p>
    To get a new link, type <code>/tokens dashboard</code> in Slack, or <code>tokens dashboard</code> in your personal
    chat with Allot in Teams. An operator can also make one with <code>allot dashboard link</code>.
  </p>
);

/** "Sign in as …": the form a link leads to, sent by the browser at once (signin.js) or by the button. */
export function confirmSignInPage(input: { memberName: string; organisation: string; formToken: string }) {
  return (
    <Page title="Sign in to Allot">
      <form method="post" action="/dashboard/signin" data-autosubmit="true" class="signin">
        <CsrfField token={input.formToken} />
        <p>
          Signing you in as <strong>{input.memberName}</strong> of <strong>{input.organisation}</strong>.
        </p>
        <button type="submit">Continue</button>
      </form>
      <script src={assetUrl('signin.js')} />
    </Page>
  );
}

export type SignInProblem =
  | 'none'
  | 'expired'
  | 'signed_out'
  | 'link_used'
  | 'link_expired'
  | 'link_invalid'
  | 'member_inactive';

const problemLines: Record<SignInProblem, string> = {
  none: 'You are not signed in. The dashboard is opened with a one-time link from Slack or Teams.',
  expired: 'Your session has ended (after 12 hours without use, or a week after you signed in). Sign in again.',
  signed_out: 'You signed out.',
  link_used: 'This sign-in link was already used. Each link works once.',
  link_expired: 'This sign-in link has expired. Links work for 10 minutes.',
  link_invalid: 'This is not a sign-in link Allot made. Check that you copied all of it.',
  member_inactive: 'Your Allot account is deactivated, so you cannot sign in. Ask one of your Allot admins.',
};

/** Why there is no session, and how to get a link. */
export function signInProblemPage(problem: SignInProblem) {
  return (
    <Page title={problem === 'signed_out' ? 'Signed out' : 'Sign in to Allot'}>
      <p>{problemLines[problem]}</p>
      {howToGetLink}
    </Page>
  );
}

/** Too many sign-in attempts from one address. */
export function tooManyAttemptsPage() {
  return (
    <Page title="Too many attempts">
      <p>There were too many sign-in attempts from your address. Wait a few minutes, then open your link again.</p>
      {howToGetLink}
    </Page>
  );
}
