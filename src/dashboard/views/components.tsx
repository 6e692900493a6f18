import type { ComponentChildren } from 'preact';
import { type HistoryWindowDays, historyWindowsDays, type UsageHistory } from '../../usage/usage-history.models';
import { formatMoney, formatTokens, moneyForChart } from './format.models';

// Parts several pages share: a usage chart with its table, a notice, links that switch a view.

/**
 * JSON for a `<script type="application/json">` block: `<`, `>` and `&` are written as \u escapes, so
 * no text in the data (a model name, say) can close the block or open a tag (OWASP XSS cheat sheet,
 * "JSON in HTML"); U+2028 and U+2029 likewise.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

export type ChartMetric = 'tokens' | 'money';

/** What charts.js reads from a chart's data block. */
export interface ChartData {
  labels: string[];
  unit: string;
  series: { label: string; values: number[] }[];
}

function chartData(history: UsageHistory, metric: ChartMetric): ChartData {
  return {
    labels: history.days,
    unit: metric === 'tokens' ? 'tokens' : 'US dollars',
    series: history.series.map((series) => ({
      label: series.key,
      values: metric === 'tokens' ? series.tokens.map(Number) : series.costMicros.map(moneyForChart),
    })),
  };
}

/**
 * A line chart of usage per day, one line per model or category, told apart by dash pattern and point
 * shape as well as colour (charts.js), with the same figures in a table beneath it: the chart is a
 * picture (role img) and the table is what screen readers and people without colour vision read.
 */
export function UsageChart(props: { id: string; title: string; history: UsageHistory; metric: ChartMetric }) {
  const { history, metric } = props;
  const format = (value: bigint) => (metric === 'tokens' ? formatTokens(value) : formatMoney(value));
  const valuesOf = (series: UsageHistory['series'][number]) =>
    metric === 'tokens' ? series.tokens : series.costMicros;
  const captionId = `${props.id}-caption`;
  if (history.series.length === 0) {
    return (
      <section class="chart" aria-labelledby={captionId}>
        <h3 id={captionId}>{props.title}</h3>
        <p class="empty">No usage in these {history.days.length} days.</p>
      </section>
    );
  }
  return (
    <section class="chart" aria-labelledby={captionId}>
      <h3 id={captionId}>{props.title}</h3>
      <figure data-chart={props.id}>
        <div class="canvas">
          <canvas
            role="img"
            aria-label={`${props.title}: a line per ${history.by}, one point per day. The table below has every figure.`}
          />
        </div>
        <script
          type="application/json"
          // Data, not markup: scriptJson escapes it for a script block (Preact would entity-escape the text).
          dangerouslySetInnerHTML={{ __html: scriptJson(chartData(history, metric)) }}
        />
      </figure>
      <details>
        <summary>Table of “{props.title}”</summary>
        <table>
          <caption>
            {props.title}, per day ({metric === 'tokens' ? 'tokens' : 'US dollars'})
          </caption>
          <thead>
            <tr>
              <th scope="col">Day</th>
              {history.series.map((series) => (
                <th scope="col" class="num" key={series.key}>
                  {series.key}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {history.days.map((day, index) => (
              <tr key={day}>
                <th scope="row">{day}</th>
                {history.series.map((series) => (
                  <td class="num" key={series.key}>
                    {format(valuesOf(series)[index]!)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </section>
  );
}

/** A short message above a page's content: the outcome of what the person just did. */
export function Notice(props: { kind: 'ok' | 'problem'; children: ComponentChildren }) {
  return (
    <div class={`notice ${props.kind}`} role={props.kind === 'problem' ? 'alert' : 'status'}>
      {props.children}
    </div>
  );
}

/** What a page says about the last thing done: lines of text (a refusal is chat's own words). */
export interface NoticeInput {
  kind: 'ok' | 'problem';
  lines: string[];
}

export function NoticeLines(props: { notice: NoticeInput | undefined }) {
  if (!props.notice) return null;
  return (
    <Notice kind={props.notice.kind}>
      {props.notice.lines.map((line) => (
        <p key={line}>{line}</p>
      ))}
    </Notice>
  );
}

/** The 30/90-day switch of a page's usage: `href(days)` is the page's address for that window. */
export function WindowSwitcher(props: { days: HistoryWindowDays; href: (days: HistoryWindowDays) => string }) {
  return (
    <Switcher
      label="Period"
      current={props.days}
      options={historyWindowsDays.map((days) => ({ value: days, text: `Last ${days} days`, href: props.href(days) }))}
    />
  );
}

/** Links that switch one setting of a view (30 or 90 days; by model or by category), the current one marked. */
export function Switcher<T extends string | number>(props: {
  label: string;
  options: readonly { value: T; text: string; href: string }[];
  current: T;
}) {
  return (
    <nav class="switcher" aria-label={props.label}>
      <span>{props.label}:</span>
      <ul>
        {props.options.map((option) => (
          <li key={String(option.value)}>
            <a href={option.href} aria-current={option.value === props.current ? 'true' : undefined}>
              {option.text}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

/**
 * A usage history's totals per series (model or category) with an "all" row: calls, tokens, optionally
 * value-weighted tokens, and money. The table the Me and Organisation pages show under their charts.
 */
export function UsageTotalsTable(props: {
  caption: ComponentChildren;
  keyHeader: string;
  allLabel: string;
  history: UsageHistory;
  withValue: boolean;
}) {
  const { history, withValue } = props;
  const cells = (total: UsageHistory['total']) => (
    <>
      <td class="num">{formatTokens(total.events)}</td>
      <td class="num">{formatTokens(total.tokens)}</td>
      {withValue ? <td class="num">{formatTokens(total.value)}</td> : null}
      <td class="num">{formatMoney(total.costMicros)}</td>
    </>
  );
  return (
    <table>
      <caption>{props.caption}</caption>
      <thead>
        <tr>
          <th scope="col">{props.keyHeader}</th>
          <th scope="col" class="num">
            Calls
          </th>
          <th scope="col" class="num">
            Tokens
          </th>
          {withValue ? (
            <th scope="col" class="num">
              Value-weighted tokens
            </th>
          ) : null}
          <th scope="col" class="num">
            Money
          </th>
        </tr>
      </thead>
      <tbody>
        {history.series.map((series) => (
          <tr key={series.key}>
            <th scope="row">{series.key}</th>
            {cells(series.total)}
          </tr>
        ))}
        <tr class="total">
          <th scope="row">{props.allLabel}</th>
          {cells(history.total)}
        </tr>
      </tbody>
    </table>
  );
}
