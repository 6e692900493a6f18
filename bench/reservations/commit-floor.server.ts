// The latency floor of bench:reservations' HTTP phase: the least a server can do per request and still
// be durable, one prepared INSERT committed per request through postgres.js (pool of 10, as Allot's),
// behind node:http with no framework. The bench drives it like Allot, at the same request rate, so
// what Allot adds above it is Allot's own.
//
//   node --import tsx bench/reservations/commit-floor.server.ts <database url> <port>
import http from 'node:http';
import postgres from 'postgres';

const [url, port] = process.argv.slice(2);
const sql = postgres(url!, { max: 10, onnotice: () => {} });
await sql`create table if not exists commit_floor (id bigserial primary key, body text not null)`;
http
  .createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      sql`insert into commit_floor (body) values (${body}) returning id`.then(
        ([row]) => {
          const answer = JSON.stringify({ id: String(row!.id) });
          res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
          res.end(answer);
        },
        (error: unknown) => {
          res.writeHead(500).end(String(error));
        },
      );
    });
  })
  .listen(Number(port), '127.0.0.1', () => process.stdout.write('listening\n'));
process.on('SIGTERM', () => void sql.end({ timeout: 1 }).then(() => process.exit(0)));
