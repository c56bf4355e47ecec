// Ingests one URL with the built engine and prints {status, bytes, maxRssMiB, startupMs, syncMs}.
const started = performance.now();
const { createIngest } = await import('../dist/src/index.js');
const ingest = await createIngest({ logLevel: 'warn' });
const ready = performance.now();
const file = await ingest.sync(process.argv[2], { wait: true });
const synced = performance.now();
await ingest.close();
process.stdout.write(`${JSON.stringify({
  status: file.status, error: file.error, bytes: file.bytes, maxRssMiB: process.resourceUsage().maxRSS / 1024,
  startupMs: ready - started, syncMs: synced - ready,
})}\n`);
