// Ingests one URL with the built engine and prints {status, bytes, maxRssMiB} (peak RSS of this process).
import { createIngest } from '../dist/src/index.js';

const ingest = await createIngest({ logLevel: 'warn' });
const file = await ingest.sync(process.argv[2], { wait: true });
await ingest.close();
process.stdout.write(`${JSON.stringify({ status: file.status, error: file.error, bytes: file.bytes, maxRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`);
