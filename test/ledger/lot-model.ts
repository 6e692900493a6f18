// A plain in-memory model of lots (issue 16) for the randomised ledger test: each credit into a wallet
// or budget makes a lot, each debit draws lots in the burn-down order (soonest expiry first, then none,
// ties by the oldest), a credit into an overdrawn wallet pays the debt from its own lot, and a reversal
// credited back takes the latest expiry of the lots the reversed debit drew from.

export interface ModelLot {
  /** Creation order, as lot ids are. */
  seq: number;
  accountId: bigint;
  transferId: bigint;
  amount: bigint;
  remaining: bigint;
  /** Epoch ms; null: never. */
  expiresAt: number | null;
}

export class LotModel {
  private serial = 0;
  readonly lotsOf = new Map<bigint, ModelLot[]>();
  /** The lot each credit made, by transfer id. */
  readonly lotOfTransfer = new Map<bigint, ModelLot>();
  /** The lots each debit drew from, by transfer id. */
  readonly drawnBy = new Map<bigint, ModelLot[]>();

  /** Draws `amount` of transfer `transferId` from `accountId`'s lots, or from `lot` alone. */
  draw(accountId: bigint, transferId: bigint, amount: bigint, lot?: ModelLot): void {
    const order = lot
      ? [lot]
      : (this.lotsOf.get(accountId) ?? [])
          .filter((candidate) => candidate.remaining > 0n)
          .sort((a, b) => (a.expiresAt ?? Infinity) - (b.expiresAt ?? Infinity) || a.seq - b.seq);
    let left = amount;
    const drawn: ModelLot[] = [];
    for (const candidate of order) {
      if (left === 0n) break;
      const take = candidate.remaining < left ? candidate.remaining : left;
      candidate.remaining -= take;
      left -= take;
      drawn.push(candidate);
    }
    if (lot && left > 0n) throw new Error(`lot of transfer ${lot.transferId} does not cover ${amount}`);
    this.drawnBy.set(transferId, drawn);
  }

  /** Makes the lot of a credit; `balanceBefore` is the account's balance before it (debt first). */
  credit(accountId: bigint, transferId: bigint, amount: bigint, balanceBefore: bigint, expiresAt: number | null): void {
    const debt = balanceBefore < 0n ? (-balanceBefore < amount ? -balanceBefore : amount) : 0n;
    const lot: ModelLot = { seq: this.serial++, accountId, transferId, amount, remaining: amount - debt, expiresAt };
    this.lotsOf.set(accountId, [...(this.lotsOf.get(accountId) ?? []), lot]);
    this.lotOfTransfer.set(transferId, lot);
  }

  /** The expiry a reversal credited back gets: the latest of the reversed debit's lots (none if any had none). */
  reversalExpiry(reversedId: bigint, reversedCode: string): number | null {
    const drawn = this.drawnBy.get(reversedId) ?? [];
    if (reversedCode === 'expire' || drawn.length === 0 || drawn.some((lot) => lot.expiresAt === null)) return null;
    return Math.max(...drawn.map((lot) => lot.expiresAt!));
  }

  /** Lots due at `now` with tokens left, in the sweeper's order. */
  due(now: number): ModelLot[] {
    return [...this.lotsOf.values()]
      .flat()
      .filter((lot) => lot.remaining > 0n && lot.expiresAt !== null && lot.expiresAt <= now)
      .sort((a, b) => a.expiresAt! - b.expiresAt! || a.seq - b.seq);
  }

  /** Every lot as `transfer id → remaining`, to compare with the stored lots. */
  remains(): Map<string, bigint> {
    return new Map([...this.lotOfTransfer.values()].map((lot) => [lot.transferId.toString(), lot.remaining]));
  }
}
