import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

// A local stand-in for an OpenAI-compatible model server (POST /v1/chat/completions), recording what
// it was sent. It answers with fixed usage (120 prompt + 30 completion tokens), streams when asked
// (with the usage chunk when `stream_options.include_usage` is set, as OpenAI documents), and fails
// with 500 when the last message says "fail"; it reports 0 tokens when the last message says "zero".

export interface FakeOpenAi {
  baseURL: string;
  requests: Record<string, unknown>[];
  close(): Promise<void>;
}

export const fakeUsage = { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150 };
export const fakeModel = 'gpt-4o-2024-08-06';

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return JSON.parse(text) as Record<string, unknown>;
}

export async function startFakeOpenAi(): Promise<FakeOpenAi> {
  const requests: Record<string, unknown>[] = [];
  const server: Server = createServer(async (req, res) => {
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.writeHead(404).end();
      return;
    }
    const body = await readJson(req);
    requests.push(body);
    const messages = body.messages as { content: string }[];
    if (messages.at(-1)?.content === 'fail') {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'the model is down', type: 'server_error' } }));
      return;
    }
    const created = Math.floor(Date.now() / 1000);
    if (!body.stream) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created,
          model: fakeModel,
          choices: [{ index: 0, message: { role: 'assistant', content: 'Hello!' }, finish_reason: 'stop' }],
          usage:
            messages.at(-1)?.content === 'zero'
              ? { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }
              : fakeUsage,
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const send = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);
    const chunk = (delta: Record<string, unknown>, finish: string | null) => ({
      id: 'chatcmpl-2',
      object: 'chat.completion.chunk',
      created,
      model: fakeModel,
      choices: [{ index: 0, delta, finish_reason: finish }],
      ...((body.stream_options as { include_usage?: boolean } | undefined)?.include_usage ? { usage: null } : {}),
    });
    for (const word of ['Hel', 'lo', '!']) send(chunk({ content: word }, null));
    send(chunk({}, 'stop'));
    if ((body.stream_options as { include_usage?: boolean } | undefined)?.include_usage) {
      send({
        id: 'chatcmpl-2',
        object: 'chat.completion.chunk',
        created,
        model: fakeModel,
        choices: [],
        usage: fakeUsage,
      });
    }
    res.end('data: [DONE]\n\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
