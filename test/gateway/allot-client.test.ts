import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AllotApiError, AllotClient, AllotTimeoutError } from '../../src/gateway/allot-client';

// The gateway client's own transport, against a local server that records what it was sent.

const seen: { method: string; url: string; authorization: string; body: string }[] = [];
let connections = 0;
let baseUrl = '';
const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (chunk: Buffer) => {
    body += chunk.toString('utf8');
  });
  req.on('end', () => {
    seen.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization ?? '', body });
    if (req.url?.startsWith('/v1/reservations/slow')) return; // never answers
    if (req.url?.startsWith('/v1/reservations/broken')) {
      res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad gateway</h1>');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ reservation_id: 'r-1', status: 'released', tokens: 10, replayed: false }));
  });
});
server.on('connection', () => connections++);

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

it('sends the key and JSON, and keeps one connection open for calls one after another', async () => {
  const allot = new AllotClient({ baseUrl: `${baseUrl}/`, apiKey: 'allot_test' });
  const before = connections;
  for (let n = 0; n < 5; n++) expect(await allot.release(`r-${n}`)).toMatchObject({ status: 'released' });
  await allot.settle('r 1/2', { input_tokens: 3, output_tokens: 4 });
  expect(connections - before).toBe(1);
  const last = seen.at(-1)!;
  expect(last).toMatchObject({
    method: 'POST',
    url: '/v1/reservations/r%201%2F2/settle',
    authorization: 'Bearer allot_test',
  });
  expect(JSON.parse(last.body)).toEqual({ input_tokens: 3, output_tokens: 4 });
  allot.close();
});

it('a call Allot does not answer in time fails with AllotTimeoutError, saying a retry with the same id is safe', async () => {
  const allot = new AllotClient({ baseUrl, apiKey: 'allot_test', timeoutMs: 200 });
  const started = performance.now();
  const call = allot.release('slow');
  await expect(call).rejects.toBeInstanceOf(AllotTimeoutError);
  await expect(call).rejects.toThrow(/same id/);
  expect(performance.now() - started).toBeLessThan(2_000);
  // The client still works after a timeout.
  expect(await allot.release('r-9')).toMatchObject({ status: 'released' });
  allot.close();
});

it('an answer that is not JSON is an AllotApiError with the status and the start of the text', async () => {
  const allot = new AllotClient({ baseUrl, apiKey: 'allot_test' });
  await expect(allot.release('broken')).rejects.toMatchObject({
    name: 'AllotApiError',
    status: 502,
    code: 'not_json',
    message: '<h1>Bad gateway</h1>',
  });
  await expect(allot.release('broken')).rejects.toBeInstanceOf(AllotApiError);
  allot.close();
});

it('sends through the fetch it is given, timeouts included', async () => {
  const through: string[] = [];
  const recording: typeof fetch = (input, init) => {
    through.push(String(input));
    return fetch(input, init);
  };
  const allot = new AllotClient({ baseUrl, apiKey: 'allot_test', fetch: recording, timeoutMs: 200 });
  expect(await allot.release('r-1')).toMatchObject({ status: 'released' });
  await expect(allot.release('slow')).rejects.toBeInstanceOf(AllotTimeoutError);
  expect(through).toEqual([`${baseUrl}/v1/reservations/r-1/release`, `${baseUrl}/v1/reservations/slow/release`]);
});

it('close() lets a call in flight finish, then leaves no connection open', async () => {
  // A server of its own, answering after 200 ms, that keeps every connection it was given.
  const sockets: Socket[] = [];
  const own = http.createServer((_req, res) => {
    setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"released"}'), 200);
  });
  own.on('connection', (socket) => sockets.push(socket));
  await new Promise<void>((resolve) => own.listen(0, '127.0.0.1', resolve));
  const allot = new AllotClient({ baseUrl: `http://127.0.0.1:${(own.address() as AddressInfo).port}`, apiKey: 'k' });
  // Two at once: two connections, both idle afterwards; then one call in flight when close() comes.
  await Promise.all([allot.release('a'), allot.release('b')]);
  const late = allot.release('late');
  await new Promise((resolve) => setTimeout(resolve, 50));
  allot.close();
  expect(await late).toMatchObject({ status: 'released' });
  expect(sockets).toHaveLength(2);
  for (let waited = 0; sockets.some((socket) => !socket.closed) && waited < 2_000; waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect(sockets.map((socket) => socket.closed)).toEqual([true, true]);
  await new Promise((resolve) => own.close(resolve));
});
