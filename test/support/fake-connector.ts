import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

// A local stand-in for the Bot Framework connector (the activity's serviceUrl). It serves the REST
// calls botbuilder makes for Allot and records every request, so tests assert on what the bot sent.
// It can be told to fail the next matching requests (403 MessageWritesBlocked, 429 with Retry-After,
// 502) to exercise the bot's delivery policy.

export interface FakeTeamsMember {
  /** 29: id */
  id: string;
  name: string;
  aadObjectId: string;
  email?: string;
  userPrincipalName?: string;
  tenantId?: string;
  userRole?: 'user' | 'guest';
}

export interface RecordedRequest {
  method: string;
  /** Decoded path, e.g. /v3/conversations/19:abc@thread.tacv2/activities/123 */
  path: string;
  body: unknown;
  authorization: string | undefined;
  at: number;
  /** The status the fake answered with. */
  status: number;
  /** The activity id the fake gave a created activity (POST …/activities). */
  createdId?: string;
}

export interface SentActivity {
  conversationId: string;
  replyToId: string | undefined;
  activity: Record<string, unknown>;
  id: string | undefined;
  status: number;
}

export interface InjectedFailure {
  method?: string;
  /** Matches when the decoded path contains this text. */
  pathIncludes?: string;
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** How many matching requests fail (default 1). */
  times?: number;
}

export interface FakeConnector {
  url: string;
  requests: RecordedRequest[];
  members: Map<string, FakeTeamsMember>;
  addMember(member: FakeTeamsMember): void;
  failNext(failure: InjectedFailure): void;
  /** Activities the bot sent (POST …/activities[/…]) and the fake accepted, with the id it gave them. */
  sentActivities(): SentActivity[];
  /** Every attempt to send an activity, accepted or failed (injected failures included). */
  sendAttempts(): SentActivity[];
  /** Card edits the bot made (PUT …/activities/{id}). */
  updatedActivities(): { conversationId: string; activityId: string; activity: Record<string, unknown> }[];
  clear(): void;
  close(): Promise<void>;
}

export const forbiddenBody = {
  error: { code: 'MessageWritesBlocked', message: 'Thread is not writable: the bot was removed or blocked.' },
};

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function reply(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

export async function startFakeConnector(options: { members?: FakeTeamsMember[] } = {}): Promise<FakeConnector> {
  const requests: RecordedRequest[] = [];
  const members = new Map<string, FakeTeamsMember>();
  for (const member of options.members ?? []) members.set(member.id, member);
  const failures: (InjectedFailure & { left: number })[] = [];
  let sequence = 0;

  const findMember = (userId: string) =>
    members.get(userId) ?? [...members.values()].find((member) => member.aadObjectId === userId);

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const segments = url.pathname
      .split('/')
      .filter((segment) => segment.length > 0)
      .map((segment) => decodeURIComponent(segment));
    const path = `/${segments.join('/')}`;
    const method = req.method ?? 'GET';
    const body = await readBody(req);
    const record: RecordedRequest = {
      method,
      path,
      body,
      authorization: req.headers.authorization,
      at: Date.now(),
      status: 0,
    };
    requests.push(record);
    const send = (status: number, responseBody?: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      reply(res, status, responseBody, headers);
    };

    const failure = failures.find(
      (candidate) =>
        candidate.left > 0 &&
        (!candidate.method || candidate.method === method) &&
        (!candidate.pathIncludes || path.includes(candidate.pathIncludes)),
    );
    if (failure) {
      failure.left -= 1;
      if (failure.left === 0) failures.splice(failures.indexOf(failure), 1);
      send(
        failure.status,
        failure.body ?? { error: { code: 'Injected', message: 'injected failure' } },
        failure.headers,
      );
      return;
    }

    const [v3, kind, id, sub, subId] = segments;
    if (v3 !== 'v3') return send(404, { error: { code: 'NotFound', message: path } });
    if (kind === 'conversations' && segments.length === 2 && method === 'POST') {
      sequence += 1;
      return send(201, { id: `a:fake-personal-${sequence}`, activityId: `created-${sequence}` });
    }
    if (kind === 'conversations' && id && sub === 'activities') {
      if (method === 'POST') {
        sequence += 1;
        record.createdId = `fake-activity-${sequence}`;
        return send(201, { id: record.createdId });
      }
      if (method === 'PUT' && subId) return send(200, { id: subId });
      if (method === 'DELETE' && subId) return send(200);
    }
    if (kind === 'conversations' && id && sub === 'members' && subId && method === 'GET') {
      const member = findMember(subId);
      if (!member) return send(404, { error: { code: 'MemberNotFoundInConversation', message: 'not found' } });
      return send(200, member);
    }
    if (kind === 'conversations' && id && sub === 'pagedmembers' && method === 'GET') {
      return send(200, { members: [...members.values()] });
    }
    if (kind === 'teams' && id && segments.length === 3 && method === 'GET') {
      return send(200, { id, name: 'Fake Team', aadGroupId: randomUUID() });
    }
    return send(404, { error: { code: 'NotFound', message: `${method} ${path}` } });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  const sendAttempts = (): SentActivity[] =>
    requests
      .filter((request) => request.method === 'POST' && /^\/v3\/conversations\/[^/]+\/activities/.test(request.path))
      .map((request) => {
        const parts = request.path.split('/');
        return {
          conversationId: parts[3]!,
          replyToId: parts[5],
          activity: request.body as Record<string, unknown>,
          id: request.createdId,
          status: request.status,
        };
      });

  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    members,
    addMember(member) {
      members.set(member.id, member);
    },
    failNext(failure) {
      failures.push({ ...failure, left: failure.times ?? 1 });
    },
    sentActivities: () => sendAttempts().filter((sent) => sent.status < 300),
    sendAttempts,
    updatedActivities() {
      return requests
        .filter((request) => request.method === 'PUT' && request.status < 300)
        .map((request) => {
          const parts = request.path.split('/');
          return {
            conversationId: parts[3]!,
            activityId: parts[5]!,
            activity: request.body as Record<string, unknown>,
          };
        });
    },
    clear() {
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
