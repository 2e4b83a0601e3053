import type { SloBudgetRecord } from '../contracts/records'
import type { InRecord, Registry } from '../kafka'
import type { Logger } from '../log'

/**
 * The latest SloBudget of every SLO, as read from the compacted slo.budget (what the
 * budget gate asks). Records are decoded in arrival order, one after the other, so a
 * key's older value never overwrites a newer one. Restore barriers (keys starting with
 * NUL) and tombstones are not budgets.
 */
export class BudgetBoard {
  private readonly budgets = new Map<string, SloBudgetRecord>()
  private chain: Promise<void> = Promise.resolve()
  private readonly log: Logger

  constructor(
    private readonly registry: Registry,
    logger: Logger,
  ) {
    this.log = logger.child({ module: 'budget-board' })
  }

  apply(record: InRecord): void {
    const key = record.key?.toString('utf8') ?? ''
    if (key === '' || key.startsWith('\u0000')) return
    const value = record.value
    this.chain = this.chain.then(async () => {
      if (value === null) {
        this.budgets.delete(key)
        return
      }
      try {
        this.budgets.set(key, (await this.registry.decode(value)) as SloBudgetRecord)
      } catch (err) {
        this.log.warn(
          { key, partition: record.partition, offset: record.offset, err },
          'skipping an undecodable budget record',
        )
      }
    })
  }

  get(slo: string): SloBudgetRecord | undefined {
    return this.budgets.get(slo)
  }

  /** Resolves once every record applied so far is decoded (tests). */
  settled(): Promise<void> {
    return this.chain
  }
}
