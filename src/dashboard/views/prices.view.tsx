import type { PriceRow } from '../../usage/prices.repository';
import { formatPricePerMillion, formatWeight } from '../../usage/pricing.models';
import { type NoticeInput, NoticeLines } from './components';
import { formatLocalTime } from './format.models';
import { CsrfField, type FrameViewer, Page } from './layout';

// Prices and weights: the lists, and a form for each.

function PricesSection(input: { prices: PriceRow[]; csrfToken: string }) {
  return (
    <>
      <section aria-labelledby="set-price">
        <h2 id="set-price">Set a price</h2>
        <form method="post" action="/dashboard/org/prices" class="row">
          <CsrfField token={input.csrfToken} />
          <label for="model">
            Model
            <input id="model" type="text" name="model" required maxLength={100} />
          </label>
          <label for="input-price">
            Input <span class="hint">($ per million tokens)</span>
            <input id="input-price" type="text" name="input" required inputMode="decimal" />
          </label>
          <label for="output-price">
            Output <span class="hint">($ per million tokens)</span>
            <input id="output-price" type="text" name="output" required inputMode="decimal" />
          </label>
          <label for="price-from">
            From <span class="hint">(midnight UTC; empty: now)</span>
            <input id="price-from" type="date" name="from" />
          </label>
          <button type="submit">Set price</button>
        </form>
      </section>
      <section aria-labelledby="prices">
        <h2 id="prices">Prices</h2>
        <table>
          <caption>The organisation’s own prices, then the default list prices of models it has not priced</caption>
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col">From (UTC)</th>
              <th scope="col" class="num">
                Input $/M
              </th>
              <th scope="col" class="num">
                Output $/M
              </th>
              <th scope="col">Source</th>
            </tr>
          </thead>
          <tbody>
            {input.prices.map((price) => (
              <tr key={`${price.model} ${price.effectiveFrom.toISOString()}`}>
                <th scope="row">{price.model}</th>
                <td>{formatLocalTime(price.effectiveFrom, 'UTC')}</td>
                <td class="num">{formatPricePerMillion(price.inputMicrosPerMillion)}</td>
                <td class="num">{formatPricePerMillion(price.outputMicrosPerMillion)}</td>
                <td>{price.source === 'organisation' ? 'set here' : 'default list price'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </>
  );
}

function WeightsSection(input: { weights: { category: string; weightThousandths: number }[]; csrfToken: string }) {
  return (
    <section aria-labelledby="weights">
      <h2 id="weights">Value weights</h2>
      <form method="post" action="/dashboard/org/weights" class="row">
        <CsrfField token={input.csrfToken} />
        <label for="category">
          Category
          <input id="category" type="text" name="category" required maxLength={40} />
        </label>
        <label for="weight">
          Weight <span class="hint">(0 to 1000; default 1)</span>
          <input id="weight" type="text" name="weight" required inputMode="decimal" />
        </label>
        <button type="submit">Set weight</button>
      </form>
      {input.weights.length === 0 ? (
        <p class="empty">Every category weighs 1.</p>
      ) : (
        <table>
          <caption>Categories with a weight of their own (every other weighs 1)</caption>
          <thead>
            <tr>
              <th scope="col">Category</th>
              <th scope="col" class="num">
                Weight
              </th>
            </tr>
          </thead>
          <tbody>
            {input.weights.map((weight) => (
              <tr key={weight.category}>
                <th scope="row">{weight.category}</th>
                <td class="num">{formatWeight(weight.weightThousandths)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function pricesPage(input: {
  viewer: FrameViewer;
  prices: PriceRow[];
  weights: { category: string; weightThousandths: number }[];
  notice?: NoticeInput;
}) {
  return (
    <Page title="Prices and weights" viewer={input.viewer} section="prices">
      <NoticeLines notice={input.notice} />
      <PricesSection prices={input.prices} csrfToken={input.viewer.csrfToken} />
      <WeightsSection weights={input.weights} csrfToken={input.viewer.csrfToken} />
    </Page>
  );
}
