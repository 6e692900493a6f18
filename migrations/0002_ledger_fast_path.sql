-- allot_post, with a fast path for the common operation: one transfer that reverses nothing (a
-- grant to one person, a top-up, a usage debit). Measured in bench/README.md ("Ledger").
--
-- The general path locks the touched accounts with SELECT … FOR UPDATE, then updates them: a lock
-- and then a new row version, two WAL records per account. The fast path lets each UPDATE take its
-- own row lock, the lower account id first (the same order as the general path, so the two paths
-- never deadlock each other), with the overdraft rule in its WHERE clause. When either UPDATE finds
-- no row (an unknown account, or not enough tokens), the first one is undone in place and the
-- general path runs: it holds the same locks in the same order and decides the failure with its
-- usual precedence. Every result, failure or success, is what the general path alone would answer.
--
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
  -- Fast path: the one transfer, and its two accounts in lock order.
  v_debit bigint;
  v_credit bigint;
  v_amount bigint;
  v_first bigint;
  v_second bigint;
  v_id bigint;
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

  IF cardinality(p_debits) = 1 AND cardinality(p_credits) = 1 AND cardinality(p_amounts) = 1
     AND p_reverses IS NULL AND p_debits[1] <> p_credits[1] THEN
    v_debit := p_debits[1];
    v_credit := p_credits[1];
    v_amount := p_amounts[1];
    v_first := least(v_debit, v_credit);
    v_second := greatest(v_debit, v_credit);
    -- The overdraft rules of the general path (LEDGER.md I3, I4), as a condition on the debited row.
    UPDATE accounts a
       SET balance = a.balance + CASE WHEN a.id = v_debit THEN -v_amount ELSE v_amount END
     WHERE a.org_id = p_org AND a.id = v_first
       AND (a.id = v_credit OR a.balance >= v_amount OR a.kind = 'treasury' OR (a.kind = 'wallet' AND p_code = 'usage'));
    IF FOUND THEN
      UPDATE accounts a
         SET balance = a.balance + CASE WHEN a.id = v_debit THEN -v_amount ELSE v_amount END
       WHERE a.org_id = p_org AND a.id = v_second
         AND (a.id = v_credit OR a.balance >= v_amount OR a.kind = 'treasury' OR (a.kind = 'wallet' AND p_code = 'usage'));
      IF FOUND THEN
        INSERT INTO transfers (org_id, operation_key, leg, request_hash, debit_account_id, credit_account_id,
                               amount, code, actor_member_id, platform, memo)
        VALUES (p_org, p_key, 1, p_hash, v_debit, v_credit, v_amount, p_code, p_actor, p_platform, p_memo)
        RETURNING id, created_at INTO v_id, o_created_at;
        o_ids := ARRAY[v_id];
        o_status := 'ok';
        RETURN;
      END IF;
      -- Undo the first update (its row stays locked, as the general path would lock it first).
      UPDATE accounts a
         SET balance = a.balance - CASE WHEN a.id = v_debit THEN -v_amount ELSE v_amount END
       WHERE a.org_id = p_org AND a.id = v_first;
    END IF;
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
