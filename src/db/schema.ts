// The schema index drizzle-kit reads; every domain's tables are exported from here.

export * from '../allowances/allowances.tables';
export * from '../approvals/approvals.tables';
export * from '../chat/chat.tables';
export * from '../digest/digest.tables';
export * from '../digest/expiry-notices.tables';
export * from '../digest/scheduler.tables';
export * from '../ledger/ledger.tables';
export * from '../ledger/lots.tables';
export * from '../members/members.tables';
export * from '../reservations/reservations.tables';
export * from '../sessions/sessions.tables';
export * from '../slack/slack.tables';
export * from '../teams/teams.tables';
export * from '../usage/org-rollups.tables';
export * from '../usage/usage.tables';
