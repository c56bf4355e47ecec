// The fastify hello-world the API's hot paths are compared with: a POST and a GET route answering a small JSON.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/sync', async () => ({ hello: 'world' }));
app.get('/file', async () => ({ hello: 'world' }));
await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${app.server.address().port}\n`);
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
