// The metrics registry lives in lib (every layer counts things); re-exported here for callers that
// still import it from http. The lead removes this file once chat imports lib/metrics.
export { createMetrics, type Metrics } from '../lib/metrics';
