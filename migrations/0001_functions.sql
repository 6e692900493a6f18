-- Transfers are immutable: corrections are reversals, never edits (LEDGER.md I8).
CREATE OR REPLACE FUNCTION allot_refuse_transfer_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'transfers are append-only: % is refused; post a reversal instead', TG_OP
    USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER transfers_append_only
  BEFORE UPDATE OR DELETE ON transfers
  FOR EACH ROW EXECUTE FUNCTION allot_refuse_transfer_change();
--> statement-breakpoint
CREATE TRIGGER transfers_no_truncate
  BEFORE TRUNCATE ON transfers
  FOR EACH STATEMENT EXECUTE FUNCTION allot_refuse_transfer_change();
--> statement-breakpoint
--> statement-breakpoint
-- Posts one operation (one or more transfers that share an idempotency key) in one round trip. It
-- never raises for a business failure; it returns a status instead:
--   ok | exists (same key, same body) | conflict (same key, other body) | account_not_found
--   | already_reversed | exceeds_balance (o_account names the account that would be overdrawn).
-- A concurrent twin with the same key loses on the unique constraint; the caller retries the call
-- and then sees `exists`. The statements run on generic plans: PL/pgSQL would otherwise re-plan most
-- of them on every call, and planning cost more than executing (bench/README.md, "Ledger").
CREATE OR REPLACE FUNCTION allot_post(
  p_org bigint,
  p_key text,
  p_hash text,
  p_code text,
  p_debits bigint[],
  p_credits bigint[],
  p_amounts bigint[],
  p_actor bigint,
  p_platform text,
  p_memo text,
  p_reverses bigint,
  OUT o_status text,
  OUT o_ids bigint[],
  OUT o_account bigint,
  OUT o_created_at timestamptz
) LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  v_hash text;
  -- The touched accounts in ascending id (the lock order) and the net change of each.
  v_accounts bigint[];
  v_deltas bigint[];
  v_locked bigint[];
  v_kinds text[];
  v_balances bigint[];
BEGIN
  -- Every posted operation has a leg 1; its key decides between exists and conflict.
  SELECT t.request_hash, t.created_at INTO v_hash, o_created_at
    FROM transfers t
   WHERE t.org_id = p_org AND t.operation_key = p_key AND t.leg = 1;
  IF FOUND THEN
    IF v_hash = p_hash THEN
      o_status := 'exists';
      SELECT array_agg(t.id ORDER BY t.leg) INTO o_ids
        FROM transfers t
       WHERE t.org_id = p_org AND t.operation_key = p_key;
    ELSE
      o_status := 'conflict';
    END IF;
    RETURN;
  END IF;

  SELECT array_agg(acc ORDER BY acc), array_agg(delta ORDER BY acc) INTO v_accounts, v_deltas
    FROM (
      SELECT acc, sum(delta)::bigint AS delta FROM (
        SELECT d AS acc, -amt AS delta FROM unnest(p_debits, p_amounts) AS x(d, amt)
        UNION ALL
        SELECT c, amt FROM unnest(p_credits, p_amounts) AS y(c, amt)
      ) moves GROUP BY acc
    ) net;

  SELECT array_agg(id ORDER BY id), array_agg(kind ORDER BY id), array_agg(balance ORDER BY id)
    INTO v_locked, v_kinds, v_balances
    FROM (
      SELECT id, kind, balance FROM accounts
       WHERE org_id = p_org AND id = ANY (v_accounts)
       ORDER BY id
         FOR UPDATE
    ) locked;
  IF v_accounts IS NULL OR v_locked IS DISTINCT FROM v_accounts THEN
    o_status := 'account_not_found';
    RETURN;
  END IF;

  IF p_reverses IS NOT NULL THEN
    IF EXISTS (SELECT 1 FROM transfers WHERE org_id = p_org AND reverses_transfer_id = p_reverses) THEN
      o_status := 'already_reversed';
      RETURN;
    END IF;
  END IF;

  -- Overdraft rules (LEDGER.md I3, I4): the treasury may go negative; a wallet only through usage.
  FOR i IN 1 .. array_length(v_accounts, 1) LOOP
    IF v_deltas[i] < 0 AND v_balances[i] + v_deltas[i] < 0 AND v_kinds[i] <> 'treasury'
       AND NOT (v_kinds[i] = 'wallet' AND p_code = 'usage') THEN
      o_status := 'exceeds_balance';
      o_account := v_accounts[i];
      RETURN;
    END IF;
  END LOOP;

  UPDATE accounts a
     SET balance = a.balance + n.delta
    FROM unnest(v_accounts, v_deltas) AS n(acc, delta)
   WHERE a.org_id = p_org AND a.id = n.acc;

  WITH inserted AS (
    INSERT INTO transfers (org_id, operation_key, leg, request_hash, debit_account_id, credit_account_id,
                           amount, code, actor_member_id, platform, memo, reverses_transfer_id)
    SELECT p_org, p_key, m.leg::smallint, p_hash, m.d, m.c, m.amt, p_code, p_actor, p_platform, p_memo, p_reverses
      FROM unnest(p_debits, p_credits, p_amounts) WITH ORDINALITY AS m(d, c, amt, leg)
    RETURNING id, leg, created_at
  )
  SELECT array_agg(id ORDER BY leg), min(created_at) INTO o_ids, o_created_at FROM inserted;
  o_status := 'ok';
END;
$$;
--> statement-breakpoint
-- allot_ingest_usage (bench/README.md, "Usage"): stores, prices, values, debits and rolls up a batch
-- of usage events in one round trip, inside the caller's transaction. Each event of p_events may carry
-- `raw_hash` (the hash of the event as sent), stored for the replay fast path of ingestUsage.
-- * the check that a new event's ledger key is free is a per-row probe of the unique key, made only
--   for events not stored yet;
-- * value = tokens x weight in bigint (tokens at most 1e9, weight at most 1e6 thousandths), rounded
--   half up once: 40,000 tokens at weight 1 are worth exactly 40,000;
-- * week/month/quarter starts are computed once per member and local day;
-- * each member's transfer key and request hash are read without a sort inside each group.
-- The rollup and period-total tables leave room in each page, so adding to a row is a heap-only
-- update (no new index entries): after the first batches of a day, most writes are such additions.
ALTER TABLE "usage_daily_rollups" SET (fillfactor = 50);
--> statement-breakpoint
ALTER TABLE "usage_period_totals" SET (fillfactor = 50);
--> statement-breakpoint
-- Ingests one batch of usage events in one round trip, inside the caller's transaction: every
-- event that is new is stored, priced with the price in force at its own time, valued with its
-- category's weight, added to the daily rollups and the week/month/quarter totals, and debited from
-- its member's wallet. The debit is one `usage` transfer per member per batch, keyed by the first new
-- event of that member in the batch (`usage:<event id>`); every event stores the id of the transfer
-- that debited it. A replay finds its events stored and posts nothing, so it never debits twice.
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
-- Ledger invariants (LEDGER.md): the organisation's usage account and every touched wallet are
-- locked in id order before anything is read, so batches of one organisation are serialised and the
-- existence checks below cannot race; balances change by exactly the amounts of the transfers
-- inserted in the same statement; a wallet may go below zero only because the code is 'usage', as
-- allot_post allows.
CREATE OR REPLACE FUNCTION allot_ingest_usage(
  p_org bigint,
  p_zone text,
  p_usage_account bigint,
  p_platform text,
  p_recorded_at timestamptz,
  p_events jsonb
) RETURNS TABLE (o_kind text, o_index int, o_status text, o_account bigint, o_balance bigint, o_amount bigint)
LANGUAGE plpgsql
-- Every lookup below is a whole-unique-key probe, so the generic plan is the right one; planning the
-- statement afresh on each call would cost more than running it.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  v_wanted int;
  v_locked int;
BEGIN
  SELECT count(*) INTO v_wanted FROM (
    SELECT p_usage_account AS id
    UNION
    SELECT (x ->> 'wallet_id')::bigint FROM jsonb_array_elements(p_events) AS x
  ) wanted;
  -- One primary-key probe per account, locked in id order (the usage account, created with the
  -- organisation, comes before every wallet). The lateral `limit 1` keeps each a per-row probe.
  SELECT count(*) FILTER (WHERE locked.kind = wanted.kind) INTO v_locked FROM (
    SELECT DISTINCT w.id, w.kind FROM (
      SELECT p_usage_account AS id, 'usage' AS kind
      UNION
      SELECT (x ->> 'wallet_id')::bigint, 'wallet' FROM jsonb_array_elements(p_events) AS x
    ) w ORDER BY w.id
  ) wanted
  CROSS JOIN LATERAL (
    SELECT a.kind FROM accounts a WHERE a.org_id = p_org AND a.id = wanted.id FOR UPDATE LIMIT 1
  ) locked;
  IF v_locked <> v_wanted THEN
    RAISE EXCEPTION 'allot_ingest_usage: % of % accounts found for organisation %', v_locked, v_wanted, p_org
      USING ERRCODE = 'foreign_key_violation';
  END IF;

  RETURN QUERY
  WITH input AS (
    SELECT e.*
      FROM jsonb_to_recordset(p_events) AS e(
        idx int, event_id text, op_key text, content_hash text, raw_hash text, member_id bigint,
        wallet_id bigint, model text, category text, input_tokens bigint, output_tokens bigint,
        event_at timestamptz)
  ), classified AS (
    -- A stored event decides duplicate or conflict; a new event whose ledger key some other
    -- operation already holds is a conflict too (it would otherwise be debited twice).
    -- Both are lookups by a whole unique key, one index probe per event, so the cost follows the
    -- batch and never the size of the tables (a hash join here would read the organisation's history).
    SELECT i.*, u.content_hash AS stored_hash, k.taken IS NOT NULL AS key_taken
      FROM input i
      LEFT JOIN LATERAL (
        SELECT ue.content_hash FROM usage_events ue WHERE ue.org_id = p_org AND ue.event_id = i.event_id LIMIT 1
      ) u ON true
      LEFT JOIN LATERAL (
        SELECT true AS taken FROM transfers t
         WHERE u.content_hash IS NULL AND t.org_id = p_org AND t.operation_key = i.op_key AND t.leg = 1
         LIMIT 1
      ) k ON true
  ), fresh AS MATERIALIZED (
    SELECT c.idx, c.event_id, c.op_key, c.content_hash, c.raw_hash, c.member_id, c.wallet_id, c.model, c.category,
           c.input_tokens, c.output_tokens, c.event_at,
           c.input_tokens + c.output_tokens AS tokens,
           (c.event_at AT TIME ZONE p_zone)::date AS day,
           price.input_micros IS NOT NULL AS priced,
           coalesce(round((c.input_tokens::numeric * price.input_micros
                           + c.output_tokens::numeric * price.output_micros) / 1000000), 0)::bigint AS cost_micros,
           ((c.input_tokens + c.output_tokens) * coalesce(w.weight_thousandths, 1000)::bigint + 500) / 1000 AS value,
           row_number() OVER (PARTITION BY c.member_id ORDER BY c.idx) AS member_rank
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
  ), ided AS MATERIALIZED (
    -- One transfer per member, keyed by that member's first new event in the batch. Its id is drawn
    -- once, on that first event, and spread to the member's other events by a window, so every
    -- event can point at the transfer that debited it (windows and aggregates only: no join between
    -- these intermediate results, whose sizes the planner cannot know).
    SELECT f.*,
           max(CASE WHEN f.member_rank = 1 THEN nextval('transfers_id_seq') END)
             OVER (PARTITION BY f.member_id) AS transfer_id
      FROM fresh f
  ), debits AS MATERIALIZED (
    SELECT i.member_id, i.transfer_id, min(i.wallet_id) AS wallet_id,
           min(i.op_key) FILTER (WHERE i.member_rank = 1) AS op_key,
           sum(i.tokens)::bigint AS tokens, count(*) AS events,
           -- The debit as posted (wallet, amount, number of events, first event), without a sort
           -- inside each group.
           md5(concat_ws(':', 'usage', min(i.wallet_id), sum(i.tokens), count(*),
                         min(i.content_hash) FILTER (WHERE i.member_rank = 1))) AS request_hash
      FROM ided i
     GROUP BY i.member_id, i.transfer_id
  ), stored_events AS (
    INSERT INTO usage_events (org_id, event_id, member_id, model, category, input_tokens, output_tokens,
                              event_at, recorded_at, cost_micros, value, content_hash, raw_hash, transfer_id)
    SELECT p_org, i.event_id, i.member_id, i.model, i.category, i.input_tokens, i.output_tokens,
           i.event_at, p_recorded_at, i.cost_micros, i.value, i.content_hash, i.raw_hash, i.transfer_id
      FROM ided i
  ), posted AS (
    INSERT INTO transfers (org_id, id, operation_key, leg, request_hash, debit_account_id, credit_account_id,
                           amount, code, actor_member_id, platform, memo)
    OVERRIDING SYSTEM VALUE
    SELECT p_org, d.transfer_id, d.op_key, 1, d.request_hash, d.wallet_id, p_usage_account,
           d.tokens, 'usage', d.member_id, p_platform,
           CASE WHEN d.events = 1 THEN '1 usage event' ELSE d.events || ' usage events' END
      FROM debits d
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
    SELECT p_org, k.period, k.period_start, md.member_id, sum(md.events), sum(md.tokens), sum(md.value),
           sum(md.cost_micros)
      FROM (
        SELECT f.member_id, f.day::timestamp AS day, count(*) AS events, sum(f.tokens) AS tokens,
               sum(f.value) AS value, sum(f.cost_micros) AS cost_micros
          FROM fresh f
         GROUP BY f.member_id, f.day
      ) md
     CROSS JOIN LATERAL (VALUES
       ('week', date_trunc('week', md.day)::date),
       ('month', date_trunc('month', md.day)::date),
       ('quarter', date_trunc('quarter', md.day)::date)
     ) AS k(period, period_start)
     GROUP BY k.period, k.period_start, md.member_id
    ON CONFLICT (org_id, period, period_start, member_id) DO UPDATE
      SET events = pt.events + excluded.events,
          tokens = pt.tokens + excluded.tokens,
          value = pt.value + excluded.value,
          cost_micros = pt.cost_micros + excluded.cost_micros
  ), moved AS (
    UPDATE accounts a
       SET balance = a.balance + m.delta
      FROM (
        SELECT d.wallet_id AS account_id, -d.tokens AS delta FROM debits d
        UNION ALL
        SELECT p_usage_account, sum(d.tokens)::bigint FROM debits d HAVING count(*) > 0
      ) m
     WHERE a.org_id = p_org AND a.id = m.account_id
    RETURNING a.id, a.kind, a.balance, m.delta
  )
  -- Data-modifying WITH clauses always run to completion, whether or not the answer reads them.
  SELECT 'event'::text, i.idx, 'accepted'::text, NULL::bigint, NULL::bigint,
         CASE WHEN i.priced THEN i.cost_micros ELSE -1 END
    FROM ided i
  UNION ALL
  SELECT 'event'::text, c.idx, CASE WHEN c.stored_hash = c.content_hash THEN 'duplicate' ELSE 'conflict' END,
         NULL::bigint, NULL::bigint, NULL::bigint
    FROM classified c
   WHERE c.stored_hash IS NOT NULL OR c.key_taken
  UNION ALL
  SELECT 'wallet'::text, NULL::int, NULL::text, mv.id, mv.balance, -mv.delta
    FROM moved mv
   WHERE mv.kind = 'wallet';
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
