-- Reservations in batches (bench/README.md, "Reservations"): the reserves and settles of one
-- organisation that arrive together are applied in one transaction, by set-based statements, each
-- still answered on its own as allot_reserve and allot_settle_reservation answer it. One commit, one
-- update of the organisation's `usage` account and one upsert of each rollup per batch, instead of one
-- per request. src/reservations/reservations.batcher.ts gathers the batches.
--
-- p_settles: [{idx, key, now, event}], `event` as allot_ingest_usage takes it (event_id, op_key,
--   content_hash, raw_hash, model, category, input_tokens, output_tokens, event_at), validated and
--   hashed by the caller.
-- p_reserves: [{idx, key, hash, user_kind, user_value, user_ref, amount, model, now, expires_at}], as
--   allot_reserve takes them.
-- Every idx is unique across both, and every key appears at most once in the batch (the caller holds
-- a second operation on a key for the next batch, so each sees the first one's result).
--
-- One row per request, by o_index; o_status is allot_reserve's for a reserve (ok | exists | conflict |
-- insufficient | unknown_user | member_inactive) and allot_settle_reservation's for a settle (ok |
-- conflict | released | not_found), with the same columns.
--
-- Order of the work, and why:
-- 1. The reservations to settle are locked in id order (as allot_resolve_reservation and the sweeper
--    lock a reservation before its wallet).
-- 2. The members named by the reserves are found, and their wallets.
-- 3. Every account the batch writes (the `usage` account when there are settles, the settles' and the
--    reserves' wallets) is locked in one pass in id order, the order allot_post and allot_ingest_usage
--    lock in, so a batch never waits holding a lock another writer needs first.
-- 4. The settles' usage events go through allot_ingest_usage as one batch of events (one transfer per
--    member, the usage account and the rollups once), each freeing its reservation's hold in the same
--    update that debits the wallet.
-- 5. The reserves are decided in arrival order (idx) per wallet against the wallet's available after
--    the settles: each is held when what is still free covers it, exactly as if they came one by one,
--    so together they never hold more than the available (zero overshoot).
CREATE FUNCTION allot_reservation_batch(
  p_org bigint,
  p_platform text,
  p_settles jsonb,
  p_reserves jsonb
) RETURNS TABLE (
  o_index int, o_status text, o_id bigint, o_state text, o_event text, o_amount bigint,
  o_expires_at timestamptz, o_created_at timestamptz, o_available bigint, o_debited bigint,
  o_balance bigint, o_member bigint, o_account bigint, o_cost bigint
)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  v_zone text;
  v_usage bigint;
  v_recorded_at timestamptz;
  v_events jsonb;
  v_row record;
  -- The settles' reservations as locked (step 1), parallel arrays.
  s_ids bigint[];
  s_keys text[];
  s_states text[];
  s_amounts bigint[];
  s_members bigint[];
  s_accounts bigint[];
  -- The settles' usage events as allot_ingest_usage answered them, by idx.
  e_idx int[] := '{}';
  e_status text[] := '{}';
  e_cost bigint[] := '{}';
  -- The held reservations the settles resolve: ids, times, events, and holds not freed by a debit.
  u_ids bigint[];
  u_nows timestamptz[];
  u_events text[];
  u_unfreed_accounts bigint[];
  u_unfreed_amounts bigint[];
  -- Wallets' balances after the settles' debits.
  w_ids bigint[] := '{}';
  w_balances bigint[] := '{}';
  -- The reserves resolved to members and wallets (step 2).
  v_reserves jsonb;
  -- Step 5: the wallet being decided, what it still has free, and the reserves held.
  v_wallet bigint;
  v_free bigint;
  h_keys text[] := '{}';
  h_available bigint[] := '{}';
  h_wallets bigint[] := '{}';
  h_amounts bigint[] := '{}';
BEGIN
  IF jsonb_array_length(p_settles) > 0 THEN
    -- 1. Lock the reservations to settle, in id order, and read them as locked.
    SELECT array_agg(r.id), array_agg(r.idempotency_key), array_agg(r.state), array_agg(r.amount),
           array_agg(r.member_id), array_agg(r.account_id)
      INTO s_ids, s_keys, s_states, s_amounts, s_members, s_accounts
      FROM (
        SELECT r.id, r.idempotency_key, r.state, r.amount, r.member_id, r.account_id
          FROM reservations r
         WHERE r.org_id = p_org
           AND r.idempotency_key = ANY (ARRAY(SELECT s ->> 'key' FROM jsonb_array_elements(p_settles) AS s))
         ORDER BY r.id
           FOR UPDATE
      ) r;
    SELECT o.time_zone INTO v_zone FROM organisations o WHERE o.id = p_org;
    -- Stripe 0 of the usage account (migrations/0012_usage_stripes.sql) for the whole batch: the batch
    -- updates it once, and batches of one organisation come one at a time from each replica.
    SELECT a.id INTO v_usage FROM accounts a
     WHERE a.org_id = p_org AND a.kind = 'usage' AND a.member_id IS NULL
     ORDER BY a.stripe
     LIMIT 1;
  END IF;

  -- 2. The reserves' members and wallets, and an earlier reservation with the same key (a repeat). Each
  -- lateral is a whole-unique-key probe; its `limit 1` keeps it one (a join would read the history).
  SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.wallet_id, x.idx), '[]'::jsonb) INTO v_reserves
    FROM (
      SELECT i.idx, i.key, i.hash, i.user_ref, i.amount, i.model, i.now, i.expires_at,
             m.id AS member_id, m.is_active, w.id AS wallet_id,
             ex.request_hash AS ex_hash, ex.id AS ex_id, ex.state AS ex_state, ex.amount AS ex_amount,
             ex.expires_at AS ex_expires_at, ex.created_at AS ex_created_at, ex.available_after AS ex_available
        FROM jsonb_to_recordset(p_reserves) AS i(
               idx int, key text, hash text, user_kind text, user_value text, user_ref text, amount bigint,
               model text, now timestamptz, expires_at timestamptz)
        LEFT JOIN LATERAL (
          SELECT mm.id, mm.is_active FROM members mm
           WHERE i.user_kind = 'email' AND mm.org_id = p_org AND mm.email = i.user_value
          UNION ALL
          SELECT mm.id, mm.is_active
            FROM member_identities mi JOIN members mm ON mm.org_id = mi.org_id AND mm.id = mi.member_id
           WHERE i.user_kind <> 'email' AND mi.org_id = p_org AND mi.platform = i.user_kind
             AND mi.external_id = i.user_value
           LIMIT 1
        ) m ON true
        LEFT JOIN LATERAL (
          SELECT a.id FROM accounts a WHERE a.org_id = p_org AND a.kind = 'wallet' AND a.member_id = m.id LIMIT 1
        ) w ON true
        LEFT JOIN LATERAL (
          SELECT r.request_hash, r.id, r.state, r.amount, r.expires_at, r.created_at, r.available_after
            FROM reservations r WHERE r.org_id = p_org AND r.idempotency_key = i.key LIMIT 1
        ) ex ON true
    ) x;

  -- 3. Every account the batch writes, locked in one pass in id order; the lateral probe keeps each
  -- lock a primary-key lookup taken in that order.
  PERFORM 1
    FROM (
      SELECT DISTINCT acc FROM (
        SELECT v_usage AS acc WHERE v_usage IS NOT NULL
        UNION ALL
        SELECT unnest(s_accounts)
        UNION ALL
        SELECT (x ->> 'wallet_id')::bigint FROM jsonb_array_elements(v_reserves) AS x
         WHERE x ->> 'wallet_id' IS NOT NULL AND x ->> 'ex_id' IS NULL AND (x ->> 'is_active')::boolean
      ) touched
      ORDER BY acc
    ) wanted
    CROSS JOIN LATERAL (
      SELECT a.id FROM accounts a WHERE a.org_id = p_org AND a.id = wanted.acc FOR UPDATE LIMIT 1
    ) locked;

  -- 4. The settles: one usage event per reservation found and not released, through allot_ingest_usage.
  IF jsonb_array_length(p_settles) > 0 THEN
    SELECT coalesce(jsonb_agg((s.value -> 'event') || jsonb_build_object(
             'idx', (s.value ->> 'idx')::int, 'member_id', r.member_id::text, 'wallet_id', r.account_id::text,
             'held_release', CASE WHEN r.state = 'held' THEN r.amount ELSE 0 END)), '[]'::jsonb),
           max((s.value ->> 'now')::timestamptz)
      INTO v_events, v_recorded_at
      FROM jsonb_array_elements(p_settles) AS s
      JOIN unnest(s_keys, s_states, s_amounts, s_members, s_accounts) AS r(key, state, amount, member_id, account_id)
        ON r.key = s.value ->> 'key'
     WHERE r.state <> 'released';
    IF jsonb_array_length(v_events) > 0 THEN
      FOR v_row IN SELECT * FROM allot_ingest_usage(p_org, v_zone, v_usage, p_platform, v_recorded_at, v_events) LOOP
        IF v_row.o_kind = 'event' THEN
          e_idx := e_idx || v_row.o_index;
          e_status := e_status || v_row.o_status;
          e_cost := e_cost || v_row.o_amount;
        ELSIF v_row.o_kind = 'wallet' THEN
          w_ids := w_ids || v_row.o_account;
          w_balances := w_balances || v_row.o_balance;
        END IF;
      END LOOP;
    END IF;

    -- Each held reservation whose event is stored becomes settled; its hold was freed with the debit
    -- (an event already stored, which the reservation's lock makes impossible short of a hand-made
    -- event, frees it here). Updated by primary key (`= ANY`: one index probe each, never a scan of
    -- the organisation's open reservations).
    SELECT array_agg(k.id), array_agg((s.value ->> 'now')::timestamptz), array_agg(s.value -> 'event' ->> 'event_id'),
           array_agg(k.account_id) FILTER (WHERE e.status <> 'accepted'),
           array_agg(k.amount) FILTER (WHERE e.status <> 'accepted')
      INTO u_ids, u_nows, u_events, u_unfreed_accounts, u_unfreed_amounts
      FROM jsonb_array_elements(p_settles) AS s
      JOIN unnest(e_idx, e_status) AS e(idx, status) ON e.idx = (s.value ->> 'idx')::int
      JOIN unnest(s_ids, s_keys, s_states, s_amounts, s_accounts) AS k(id, key, state, amount, account_id)
        ON k.key = s.value ->> 'key'
     WHERE e.status <> 'conflict' AND k.state = 'held';
    IF u_ids IS NOT NULL THEN
      UPDATE reservations r
         SET state = 'settled', resolved_at = u_nows[array_position(u_ids, r.id)],
             usage_event_id = u_events[array_position(u_ids, r.id)]
       WHERE r.org_id = p_org AND r.id = ANY (u_ids);
      UPDATE accounts a SET held = a.held - f.total
        FROM (SELECT acc, sum(amt)::bigint AS total FROM unnest(u_unfreed_accounts, u_unfreed_amounts) AS x(acc, amt)
               GROUP BY acc) f
       WHERE a.org_id = p_org AND a.id = f.acc;
    END IF;

    -- The settles' answers. A member's events of one batch are debited by one transfer; each answer
    -- gives the balance as if the batch's settles came one by one in idx order.
    RETURN QUERY
    WITH answers AS (
      SELECT (s.value ->> 'idx')::int AS idx, r.state, r.amount, r.member_id, r.account_id, e.status AS event,
             e.cost, (s.value -> 'event' ->> 'input_tokens')::bigint
               + (s.value -> 'event' ->> 'output_tokens')::bigint AS tokens
        FROM jsonb_array_elements(p_settles) AS s
        LEFT JOIN unnest(s_keys, s_states, s_amounts, s_members, s_accounts)
               AS r(key, state, amount, member_id, account_id) ON r.key = s.value ->> 'key'
        LEFT JOIN unnest(e_idx, e_status, e_cost) AS e(idx, status, cost) ON e.idx = (s.value ->> 'idx')::int
    )
    SELECT a.idx,
           CASE WHEN a.state IS NULL THEN 'not_found' WHEN a.state = 'released' THEN 'released'
                WHEN a.event = 'conflict' THEN 'conflict' ELSE 'ok' END,
           NULL::bigint,
           CASE WHEN a.state = 'held' AND a.event <> 'conflict' THEN 'settled' ELSE a.state END,
           a.event, a.amount, NULL::timestamptz, NULL::timestamptz, NULL::bigint,
           CASE WHEN a.event = 'accepted' THEN a.tokens ELSE 0 END,
           CASE WHEN a.event = 'accepted' THEN
             w.balance + coalesce((SELECT sum(later.tokens) FROM answers later
                                    WHERE later.account_id = a.account_id AND later.event = 'accepted'
                                      AND later.idx > a.idx), 0)::bigint
           END,
           a.member_id, a.account_id, a.cost
      FROM answers a
      LEFT JOIN unnest(w_ids, w_balances) AS w(id, balance) ON w.id = a.account_id;
  END IF;

  -- 5. The reserves, in arrival order per wallet (v_reserves is sorted by wallet, then idx).
  FOR v_row IN
    SELECT x.*, a.free
      FROM jsonb_to_recordset(v_reserves) AS x(
             idx int, key text, hash text, user_ref text, amount bigint, model text, now timestamptz,
             expires_at timestamptz, member_id bigint, is_active boolean, wallet_id bigint, ex_hash text,
             ex_id bigint, ex_state text, ex_amount bigint, ex_expires_at timestamptz,
             ex_created_at timestamptz, ex_available bigint)
      LEFT JOIN LATERAL (
        SELECT a.balance - a.held AS free FROM accounts a WHERE a.org_id = p_org AND a.id = x.wallet_id LIMIT 1
      ) a ON true
     ORDER BY x.wallet_id, x.idx
  LOOP
    o_index := v_row.idx;
    o_member := v_row.member_id;
    o_id := NULL; o_state := NULL; o_event := NULL; o_amount := NULL; o_expires_at := NULL; o_created_at := NULL;
    o_available := NULL; o_debited := NULL; o_balance := NULL; o_account := NULL; o_cost := NULL;
    IF v_row.member_id IS NULL THEN
      o_status := 'unknown_user';
    ELSIF v_row.ex_id IS NOT NULL THEN
      -- A repeat answers as the first call did, `available` included.
      o_status := CASE WHEN v_row.ex_hash = v_row.hash THEN 'exists' ELSE 'conflict' END;
      o_id := v_row.ex_id; o_state := v_row.ex_state; o_amount := v_row.ex_amount;
      o_expires_at := v_row.ex_expires_at; o_created_at := v_row.ex_created_at; o_available := v_row.ex_available;
    ELSIF NOT v_row.is_active THEN
      o_status := 'member_inactive';
    ELSIF v_row.wallet_id IS NULL THEN
      o_status := 'unknown_user';
    ELSE
      IF v_wallet IS DISTINCT FROM v_row.wallet_id THEN
        v_wallet := v_row.wallet_id;
        v_free := v_row.free;
      END IF;
      o_account := v_wallet;
      IF v_free >= v_row.amount THEN
        v_free := v_free - v_row.amount;
        h_keys := h_keys || v_row.key;
        h_available := h_available || v_free;
        h_wallets := h_wallets || v_wallet;
        h_amounts := h_amounts || v_row.amount;
        CONTINUE;
      END IF;
      o_status := 'insufficient';
      o_available := v_free;
    END IF;
    RETURN NEXT;
  END LOOP;

  IF cardinality(h_keys) > 0 THEN
    UPDATE accounts a SET held = a.held + t.total
      FROM (SELECT w, sum(amt)::bigint AS total FROM unnest(h_wallets, h_amounts) AS h(w, amt) GROUP BY w) t
     WHERE a.org_id = p_org AND a.id = t.w;
    RETURN QUERY
    WITH held AS (
      INSERT INTO reservations (org_id, idempotency_key, request_hash, member_id, user_ref, account_id, amount,
                                model, expires_at, created_at, available_after)
      SELECT p_org, x.key, x.hash, x.member_id, x.user_ref, x.wallet_id, x.amount, x.model, x.expires_at, x.now,
             h.available
        FROM unnest(h_keys, h_available) AS h(key, available)
        JOIN jsonb_to_recordset(v_reserves) AS x(
               idx int, key text, hash text, user_ref text, amount bigint, model text, now timestamptz,
               expires_at timestamptz, member_id bigint, wallet_id bigint) ON x.key = h.key
      RETURNING id, idempotency_key, state, amount, expires_at, created_at, available_after, member_id, account_id
    )
    SELECT x.idx, 'ok'::text, held.id, held.state, NULL::text, held.amount, held.expires_at, held.created_at,
           held.available_after, NULL::bigint, NULL::bigint, held.member_id, held.account_id, NULL::bigint
      FROM held
      JOIN jsonb_to_recordset(v_reserves) AS x(idx int, key text) ON x.key = held.idempotency_key;
  END IF;
END;
$$;
