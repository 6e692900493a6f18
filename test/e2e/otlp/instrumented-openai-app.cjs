// An application instrumented the standard way, run as its own Node process by otlp-openai.test.ts:
// the OpenTelemetry SDK with the official @opentelemetry/instrumentation-openai around the real `openai`
// client, and the official OTLP protobuf exporter configured only by the standard environment variables
// (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_HEADERS, …), as README "From OpenTelemetry"
// says. The member is put on the instrumentation's span from W3C baggage by a small span processor.
//
// Environment: the OTEL_* variables, OPENAI_BASE_URL (the fake model server), ALLOT_TEST_USER (the
// member's email). Prints the chat completion's usage as JSON on stdout.
'use strict';

const api = require('@opentelemetry/api');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { OpenAIInstrumentation } = require('@opentelemetry/instrumentation-openai');
const { SimpleSpanProcessor, TracerProvider } = require('@opentelemetry/sdk-trace');

api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

/** Copies the baggage entry `user.email` onto every span started in its context (the README's recipe). */
const userFromBaggage = {
  onStart(span, parentContext) {
    const user = api.propagation.getBaggage(parentContext)?.getEntry('user.email')?.value;
    if (user) span.setAttribute('user.email', user);
  },
  onEnd() {},
  forceFlush: async () => {},
  shutdown: async () => {},
};

const provider = new TracerProvider({
  spanProcessors: [userFromBaggage, new SimpleSpanProcessor({ exporter: new OTLPTraceExporter() })],
});
api.trace.setGlobalTracerProvider(provider);
registerInstrumentations({ instrumentations: [new OpenAIInstrumentation()] });

// Required after the instrumentation is registered, so that it is patched.
const { OpenAI } = require('openai');

async function main() {
  const openai = new OpenAI({ apiKey: 'sk-test', baseURL: process.env.OPENAI_BASE_URL, maxRetries: 0 });
  const baggage = api.propagation.createBaggage({ 'user.email': { value: process.env.ALLOT_TEST_USER } });
  const completion = await api.context.with(api.propagation.setBaggage(api.context.active(), baggage), () =>
    openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Say hello' }] }),
  );
  await provider.forceFlush();
  await provider.shutdown();
  process.stdout.write(`${JSON.stringify(completion.usage)}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
