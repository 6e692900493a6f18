-- Ingests one batch of usage events in one round trip, inside the caller's transaction: every
-- event that is new is stored, priced with the price in force at its own time, valued with its
-- category's weight, debited from the member's wallet by a `usage` transfer (one per event, keyed by
-- the event id) and added to the daily rollups and the week/month/quarter totals.
--
-- p_events is a JSON array of objects, already validated and resolved by the caller:
--   {idx, event_id, op_key, content_hash, member_id, wallet_id, model, category,
--    input_tokens, output_tokens, event_at}
-- Each event id must appear at most once in a batch (the caller folds repeats).
--
-- Returns one 'event' row per input (o_index = idx; o_status accepted | duplicate | conflict;
-- o_amount = cost in micro-units, -1 when no price was found) and one 'wallet' row per debited
-- wallet (o_account, o_balance after the batch, o_amount debited).
--
-- Ledger invariants (LEDGER.md): the usage account and every touched wallet are locked in id order
-- before anything is read, so batches of one organisation are serialised and the existence checks
-- below cannot race; balances change by exactly the sum of the transfers inserted in the same
-- statement; a wallet may go below zero only because the code is 'usage', as allot_post allows.
CREATE OR REPLACE FUNCTION allot_ingest_usage(
  p_org bigint,
  p_zone text,
  p_usage_account bigint,
  p_platform text,
  p_recorded_at timestamptz,
  p_events jsonb
) RETURNS TABLE (o_kind text, o_index int, o_status text, o_account bigint, o_balance bigint, o_amount bigint)
LANGUAGE plpgsql AS $$
DECLARE
  v_wanted int;
  v_locked int;
BEGIN
  SELECT count(*) INTO v_wanted FROM (
    SELECT p_usage_account AS id
    UNION
    SELECT (x ->> 'wallet_id')::bigint FROM jsonb_array_elements(p_events) AS x
  ) wanted;
  SELECT count(*) INTO v_locked FROM (
    SELECT 1 FROM accounts a
     WHERE a.org_id = p_org
       AND (a.id = p_usage_account AND a.kind = 'usage'
            OR a.id IN (SELECT (x ->> 'wallet_id')::bigint FROM jsonb_array_elements(p_events) AS x) AND a.kind = 'wallet')
     ORDER BY a.id
       FOR UPDATE
  ) locked;
  IF v_locked <> v_wanted THEN
    RAISE EXCEPTION 'allot_ingest_usage: % of % accounts found for organisation %', v_locked, v_wanted, p_org
      USING ERRCODE = 'foreign_key_violation';
  END IF;

  RETURN QUERY
  WITH input AS (
    SELECT e.*
      FROM jsonb_to_recordset(p_events) AS e(
        idx int, event_id text, op_key text, content_hash text, member_id bigint, wallet_id bigint,
        model text, category text, input_tokens bigint, output_tokens bigint, event_at timestamptz)
  ), classified AS (
    -- A stored event decides duplicate or conflict; a new event whose ledger key some other
    -- operation already holds is a conflict too (it would otherwise be debited twice).
    SELECT i.*, u.content_hash AS stored_hash,
           CASE WHEN u.event_id IS NULL
                THEN EXISTS (SELECT 1 FROM transfers t WHERE t.org_id = p_org AND t.operation_key = i.op_key)
                ELSE false END AS key_taken
      FROM input i
      LEFT JOIN usage_events u ON u.org_id = p_org AND u.event_id = i.event_id
  ), fresh AS MATERIALIZED (
    SELECT c.idx, c.event_id, c.op_key, c.content_hash, c.member_id, c.wallet_id, c.model, c.category,
           c.input_tokens, c.output_tokens, c.event_at,
           c.input_tokens + c.output_tokens AS tokens,
           (c.event_at AT TIME ZONE p_zone)::date AS day,
           price.input_micros IS NOT NULL AS priced,
           coalesce(round((c.input_tokens::numeric * price.input_micros
                           + c.output_tokens::numeric * price.output_micros) / 1000000), 0)::bigint AS cost_micros,
           (((c.input_tokens + c.output_tokens)::numeric * coalesce(w.weight_thousandths, 1000) + 500) / 1000)::bigint AS value,
           nextval('transfers_id_seq') AS transfer_id
      FROM classified c
      LEFT JOIN category_weights w ON w.org_id = p_org AND w.category = c.category
      LEFT JOIN LATERAL (
        SELECT s.input_micros, s.output_micros FROM (
          (SELECT 0 AS rank_source, mp.effective_from, mp.input_micros_per_million AS input_micros,
                  mp.output_micros_per_million AS output_micros
             FROM model_prices mp
            WHERE mp.org_id = p_org AND mp.model = c.model AND mp.effective_from <= c.event_at
            ORDER BY mp.effective_from DESC LIMIT 1)
          UNION ALL
          (SELECT 1, ms.effective_from, ms.input_micros_per_million, ms.output_micros_per_million
             FROM model_price_seeds ms
            WHERE ms.model = c.model AND ms.effective_from <= c.event_at
            ORDER BY ms.effective_from DESC LIMIT 1)
        ) s ORDER BY s.rank_source LIMIT 1
      ) price ON true
     WHERE c.stored_hash IS NULL AND NOT c.key_taken
  ), stored_events AS (
    INSERT INTO usage_events (org_id, event_id, member_id, model, category, input_tokens, output_tokens,
                              event_at, recorded_at, cost_micros, value, content_hash, transfer_id)
    SELECT p_org, f.event_id, f.member_id, f.model, f.category, f.input_tokens, f.output_tokens,
           f.event_at, p_recorded_at, f.cost_micros, f.value, f.content_hash, f.transfer_id
      FROM fresh f
  ), posted AS (
    INSERT INTO transfers (org_id, id, operation_key, leg, request_hash, debit_account_id, credit_account_id,
                           amount, code, actor_member_id, platform, memo)
    OVERRIDING SYSTEM VALUE
    SELECT p_org, f.transfer_id, f.op_key, 1, f.content_hash, f.wallet_id, p_usage_account,
           f.tokens, 'usage', f.member_id, p_platform, f.model
      FROM fresh f
  ), daily AS (
    INSERT INTO usage_daily_rollups AS r (org_id, member_id, day, model, category, events, input_tokens,
                                          output_tokens, tokens, value, cost_micros)
    SELECT p_org, f.member_id, f.day, f.model, f.category, count(*), sum(f.input_tokens), sum(f.output_tokens),
           sum(f.tokens), sum(f.value), sum(f.cost_micros)
      FROM fresh f
     GROUP BY f.member_id, f.day, f.model, f.category
    ON CONFLICT (org_id, member_id, day, model, category) DO UPDATE
      SET events = r.events + excluded.events,
          input_tokens = r.input_tokens + excluded.input_tokens,
          output_tokens = r.output_tokens + excluded.output_tokens,
          tokens = r.tokens + excluded.tokens,
          value = r.value + excluded.value,
          cost_micros = r.cost_micros + excluded.cost_micros
  ), periods AS (
    INSERT INTO usage_period_totals AS pt (org_id, period, period_start, member_id, events, tokens, value, cost_micros)
    SELECT p_org, k.period, k.period_start, f.member_id, count(*), sum(f.tokens), sum(f.value), sum(f.cost_micros)
      FROM fresh f
     CROSS JOIN LATERAL (VALUES
       ('week', date_trunc('week', f.day)::date),
       ('month', date_trunc('month', f.day)::date),
       ('quarter', date_trunc('quarter', f.day)::date)
     ) AS k(period, period_start)
     GROUP BY k.period, k.period_start, f.member_id
    ON CONFLICT (org_id, period, period_start, member_id) DO UPDATE
      SET events = pt.events + excluded.events,
          tokens = pt.tokens + excluded.tokens,
          value = pt.value + excluded.value,
          cost_micros = pt.cost_micros + excluded.cost_micros
  ), moved AS (
    UPDATE accounts a
       SET balance = a.balance + d.delta
      FROM (
        SELECT f.wallet_id AS account_id, (-sum(f.tokens))::bigint AS delta FROM fresh f GROUP BY f.wallet_id
        UNION ALL
        SELECT p_usage_account, sum(f.tokens)::bigint FROM fresh f HAVING count(*) > 0
      ) d
     WHERE a.org_id = p_org AND a.id = d.account_id
    RETURNING a.id, a.kind, a.balance, d.delta
  )
  -- Data-modifying WITH clauses always run to completion, whether or not the answer reads them.
  SELECT 'event'::text, c.idx,
         CASE WHEN f.idx IS NOT NULL THEN 'accepted'
              WHEN c.stored_hash = c.content_hash THEN 'duplicate'
              ELSE 'conflict' END,
         NULL::bigint, NULL::bigint,
         CASE WHEN f.idx IS NULL THEN NULL WHEN f.priced THEN f.cost_micros ELSE -1 END
    FROM classified c
    LEFT JOIN fresh f ON f.idx = c.idx
  UNION ALL
  SELECT 'wallet'::text, NULL::int, NULL::text, m.id, m.balance, -m.delta
    FROM moved m
   WHERE m.kind = 'wallet';
END;
$$;
--> statement-breakpoint
-- Common models' list prices (standard tier, no caching or batch discounts) in micro-units of US
-- dollars per million tokens. Taken from the vendors' public price pages as known in October 2025;
-- they are a starting point, not a quote: organisations override them with `allot price set` or
-- `/tokens price`, and an organisation's own price always wins over a seed.
INSERT INTO model_price_seeds (model, effective_from, input_micros_per_million, output_micros_per_million, source) VALUES
  ('gpt-5',             '2000-01-01T00:00:00Z',  1250000,  10000000, 'OpenAI list price, as of 2025-10'),
  ('gpt-5-mini',        '2000-01-01T00:00:00Z',   250000,   2000000, 'OpenAI list price, as of 2025-10'),
  ('gpt-5-nano',        '2000-01-01T00:00:00Z',    50000,    400000, 'OpenAI list price, as of 2025-10'),
  ('gpt-4.1',           '2000-01-01T00:00:00Z',  2000000,   8000000, 'OpenAI list price, as of 2025-10'),
  ('gpt-4.1-mini',      '2000-01-01T00:00:00Z',   400000,   1600000, 'OpenAI list price, as of 2025-10'),
  ('gpt-4.1-nano',      '2000-01-01T00:00:00Z',   100000,    400000, 'OpenAI list price, as of 2025-10'),
  ('gpt-4o',            '2000-01-01T00:00:00Z',  2500000,  10000000, 'OpenAI list price, as of 2025-10'),
  ('gpt-4o-mini',       '2000-01-01T00:00:00Z',   150000,    600000, 'OpenAI list price, as of 2025-10'),
  ('o3',                '2000-01-01T00:00:00Z',  2000000,   8000000, 'OpenAI list price, as of 2025-10'),
  ('o4-mini',           '2000-01-01T00:00:00Z',  1100000,   4400000, 'OpenAI list price, as of 2025-10'),
  ('claude-opus-4-1',   '2000-01-01T00:00:00Z', 15000000,  75000000, 'Anthropic list price, as of 2025-10'),
  ('claude-sonnet-4-5', '2000-01-01T00:00:00Z',  3000000,  15000000, 'Anthropic list price (prompts up to 200k), as of 2025-10'),
  ('claude-sonnet-4',   '2000-01-01T00:00:00Z',  3000000,  15000000, 'Anthropic list price (prompts up to 200k), as of 2025-10'),
  ('claude-haiku-4-5',  '2000-01-01T00:00:00Z',  1000000,   5000000, 'Anthropic list price, as of 2025-10'),
  ('claude-3-5-haiku',  '2000-01-01T00:00:00Z',   800000,   4000000, 'Anthropic list price, as of 2025-10'),
  ('gemini-2.5-pro',    '2000-01-01T00:00:00Z',  1250000,  10000000, 'Google list price (prompts up to 200k), as of 2025-10'),
  ('gemini-2.5-flash',  '2000-01-01T00:00:00Z',   300000,   2500000, 'Google list price, as of 2025-10'),
  ('gemini-2.0-flash',  '2000-01-01T00:00:00Z',   100000,    400000, 'Google list price, as of 2025-10'),
  ('mistral-large',     '2000-01-01T00:00:00Z',  2000000,   6000000, 'Mistral list price, as of 2025-10');
