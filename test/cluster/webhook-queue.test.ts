// Webhook deliveries through BullMQ with two API nodes, against the real Redis: one event queued by both nodes is
// delivered once (a receiver counts), failed attempts are retried, and a retry left waiting by a node that shut
// down is sent by another node.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BullMqWebhookQueue } from '../../src/adapters/cluster/bullmq-webhook-queue.js';
import type { WebhookJob } from '../../src/adapters/cluster/bullmq-webhook-queue.js';
import { clusterServices } from '../support/cluster-services.js';
import { deleteRedisKeys } from './support/redis-keys.js';

const cluster = await clusterServices('cluster: webhook queue');

describe.skipIf(!cluster)('BullMQ webhook queue', () => {
  const redisUrl = cluster?.redisUrl ?? '';
  const nodes: BullMqWebhookQueue[] = [];
  let prefix = '';
  let receiverUrl = '';
  let failFirst = 0; // how many first attempts of each delivery the receiver answers 500
  const attempts = new Map<string, number>();
  const accepted = new Map<string, number>();
  const waiters: Array<() => void> = [];
  const receiver = createServer((request, response) => {
    const id = String(request.headers['x-media-ingest-delivery']);
    request.resume();
    request.on('end', () => {
      const n = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, n);
      if (n <= failFirst) return void response.writeHead(500).end();
      accepted.set(id, (accepted.get(id) ?? 0) + 1);
      response.writeHead(204).end();
      for (const waiter of waiters.splice(0)) waiter();
    });
  });
  const acceptedCount = (count: number) =>
    new Promise<void>((resolve) => {
      const check = () => ([...accepted.values()].reduce((a, b) => a + b, 0) >= count ? resolve() : waiters.push(check));
      check();
    });

  /** An API node's sender: POSTs the body with its delivery id; a non-2xx answer is a retryable failure. */
  const send = async (job: WebhookJob) => {
    const answer = await fetch(job.hookUrl, { method: 'POST', body: job.body, headers: { 'content-type': 'application/json', 'x-media-ingest-delivery': job.deliveryId } });
    if (!answer.ok) throw new Error(`receiver answered ${answer.status}`);
  };
  const node = async () => {
    const queue = new BullMqWebhookQueue({ redisUrl, prefix, attempts: 4, baseDelayMs: 100 });
    await queue.open();
    nodes.push(queue);
    return queue;
  };

  beforeAll(async () => {
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  });
  afterAll(() => receiver.close());
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.close()));
    await deleteRedisKeys(redisUrl, prefix);
    attempts.clear();
    accepted.clear();
  });

  it('delivers each event once although both nodes queue it, retrying failed attempts', async () => {
    prefix = `test-${randomUUID()}`;
    failFirst = 1;
    const [a, b] = [await node(), await node()];
    a.process(send);
    b.process(send);
    const deliveries = Array.from({ length: 5 }, (_, i) => ({ hookUrl: receiverUrl, deliveryId: `evt-${i}`, body: JSON.stringify({ id: `evt-${i}` }) }));
    const queued = await Promise.all(deliveries.flatMap((d) => [a.enqueue(d), b.enqueue(d)]));
    expect(queued.filter(Boolean).length).toBeGreaterThanOrEqual(5);
    await acceptedCount(5);
    // The sender's job is marked completed just after the receiver answered: wait for that state.
    for (const d of deliveries) {
      while ((await a.state(d.hookUrl, d.deliveryId)) !== 'completed') await new Promise((r) => setTimeout(r, 20));
    }
    // a late duplicate from a node that saw the event after it was sent is not sent again
    expect(await b.enqueue(deliveries[0]!)).toBe(false);
    expect(Object.fromEntries(accepted)).toEqual(Object.fromEntries(deliveries.map((d) => [d.deliveryId, 1])));
    expect(Object.fromEntries(attempts)).toEqual(Object.fromEntries(deliveries.map((d) => [d.deliveryId, 2])));
  });

  it('keeps a waiting retry in Redis when its node shuts down; another node sends it', async () => {
    prefix = `test-${randomUUID()}`;
    failFirst = 1;
    const first = await node();
    const failed = new Promise<void>((resolve) => first.process(async (job) => {
      try {
        await send(job);
      } finally {
        resolve();
      }
    }));
    await first.enqueue({ hookUrl: receiverUrl, deliveryId: 'evt-restart', body: '{}' });
    await failed; // the first attempt got a 500: the retry waits in Redis
    await first.close();
    nodes.splice(nodes.indexOf(first), 1);
    const second = await node();
    expect(await second.state(receiverUrl, 'evt-restart')).toMatch(/delayed|wait/);
    second.process(send);
    await acceptedCount(1);
    expect(accepted.get('evt-restart')).toBe(1);
    expect(attempts.get('evt-restart')).toBe(2);
  });
});
