// Sends logs, spans and every metric kind the OpenTelemetry JS SDK produces to an otlp2parquet
// server with the official OTLP/HTTP (JSON) exporters, then prints what it sent and how each
// export ended, as one JSON object on stdout.
//
// usage: node send.js http://127.0.0.1:4318 [gzip]
'use strict';

const api = require('@opentelemetry/api');
const { SeverityNumber } = require('@opentelemetry/api-logs');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const logsSdk = require('@opentelemetry/sdk-logs');
const traceSdk = require('@opentelemetry/sdk-trace');
const metricsSdk = require('@opentelemetry/sdk-metrics');
const { OTLPLogExporter } = require('@opentelemetry/exporter-logs-otlp-http');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http');
const { OTLPMetricExporter } = require('@opentelemetry/exporter-metrics-otlp-http');

const base = process.argv[2];
const compression = process.argv[3] === 'gzip' ? 'gzip' : 'none';
const resource = resourceFromAttributes({ 'service.name': 'js-sender', 'deployment.environment': 'test' });

function exportWith(exporter, items) {
  return new Promise((resolve) => {
    exporter.export(items, (result) => resolve({ code: result.code, error: result.error ? String(result.error) : null }));
  });
}

// Spans, kept in memory and exported in one call so that the result is visible.
async function sendSpans() {
  const memory = new traceSdk.InMemorySpanExporter();
  const provider = new traceSdk.TracerProvider({
    resource,
    spanProcessors: [new traceSdk.SimpleSpanProcessor({ exporter: memory })],
  });
  const tracer = provider.getTracer('js-tracer', '1.2.3');
  const background = tracer.startSpan('background', { kind: api.SpanKind.INTERNAL });
  background.end();
  const parent = tracer.startSpan('GET /checkout', {
    kind: api.SpanKind.SERVER,
    attributes: { 'http.method': 'GET', 'http.status_code': 200 },
  });
  const ctx = api.trace.setSpan(api.context.active(), parent);
  const child = tracer.startSpan(
    'db.query',
    {
      kind: api.SpanKind.CLIENT,
      links: [{ context: background.spanContext(), attributes: { reason: 'follows' } }],
    },
    ctx,
  );
  child.addEvent('retry', { attempt: 2 });
  child.setStatus({ code: api.SpanStatusCode.ERROR, message: 'timeout' });
  child.end();
  parent.end();
  await provider.forceFlush();
  const exporter = new OTLPTraceExporter({ url: `${base}/v1/traces`, compression });
  const result = await exportWith(exporter, memory.getFinishedSpans());
  await exporter.shutdown();
  return {
    result,
    traceId: parent.spanContext().traceId,
    parentSpanId: parent.spanContext().spanId,
    childSpanId: child.spanContext().spanId,
    backgroundSpanId: background.spanContext().spanId,
    backgroundTraceId: background.spanContext().traceId,
    ctx,
  };
}

async function sendLogs(spanCtx) {
  const memory = new logsSdk.InMemoryLogRecordExporter();
  const provider = new logsSdk.LoggerProvider({
    resource,
    processors: [new logsSdk.SimpleLogRecordProcessor({ exporter: memory })],
  });
  const logger = provider.getLogger('js-logger', '0.1.0');
  logger.emit({
    severityNumber: SeverityNumber.INFO,
    severityText: 'INFO',
    body: 'hello from js',
    attributes: { user: 'alice', count: 3, ratio: 0.5, ok: true, tags: ['a', 'b'] },
    context: spanCtx,
  });
  logger.emit({
    severityNumber: SeverityNumber.ERROR,
    severityText: 'ERROR',
    body: { k: 'v', n: 1 },
    eventName: 'js.event',
  });
  await provider.forceFlush();
  const exporter = new OTLPLogExporter({ url: `${base}/v1/logs`, compression });
  const result = await exportWith(exporter, memory.getFinishedLogRecords());
  await exporter.shutdown();
  return { result };
}

class ManualReader extends metricsSdk.MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}

async function sendMetrics() {
  const reader = new ManualReader();
  const provider = new metricsSdk.MeterProvider({
    resource,
    readers: [reader],
    views: [
      {
        instrumentName: 'js.size',
        aggregation: { type: metricsSdk.AggregationType.EXPONENTIAL_HISTOGRAM },
      },
    ],
  });
  const meter = provider.getMeter('js-meter', '2.0.0');
  const requests = meter.createCounter('js.requests', { description: 'requests', unit: '1' });
  requests.add(3, { route: '/a' });
  requests.add(4, { route: '/a' });
  const queue = meter.createUpDownCounter('js.queue');
  queue.add(5);
  queue.add(-2);
  const latency = meter.createHistogram('js.latency', { unit: 'ms' });
  for (const value of [5, 50, 500]) latency.record(value);
  const size = meter.createHistogram('js.size', { unit: 'By' });
  for (const value of [1, 2, 4, 8]) size.record(value);
  meter.createGauge('js.temperature', { unit: 'Cel' }).record(21.5, { room: 'lab' });
  meter.createObservableGauge('js.memory', { unit: 'By' }).addCallback((observer) => observer.observe(1024));
  const { resourceMetrics, errors } = await reader.collect();
  const exporter = new OTLPMetricExporter({ url: `${base}/v1/metrics`, compression });
  const result = await exportWith(exporter, resourceMetrics);
  await exporter.shutdown();
  return { result, collectErrors: errors.map(String) };
}

async function main() {
  const spans = await sendSpans();
  const logs = await sendLogs(spans.ctx);
  const metrics = await sendMetrics();
  delete spans.ctx;
  process.stdout.write(JSON.stringify({ spans, logs, metrics }) + '\n');
}

main().catch((err) => {
  process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
