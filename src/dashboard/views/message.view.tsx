import { type FrameViewer, Page } from './layout';

/** A page that only says something: a refusal, an error, what to do next. Every line is shown as text. */
export function messagePage(input: {
  title: string;
  lines: string[];
  viewer?: FrameViewer;
  links?: { href: string; text: string }[];
}) {
  return (
    <Page title={input.title} viewer={input.viewer}>
      {input.lines.map((line) => (
        <p key={line}>{line}</p>
      ))}
      {input.links && input.links.length > 0 ? (
        <ul class="links">
          {input.links.map((link) => (
            <li key={link.href}>
              <a href={link.href}>{link.text}</a>
            </li>
          ))}
        </ul>
      ) : null}
    </Page>
  );
}
