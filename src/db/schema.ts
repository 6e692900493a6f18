// The schema index drizzle-kit reads; every domain's tables are exported from here.
export * from '../ledger/ledger.tables';
export * from '../members/members.tables';
