/**
 * The file commands: `sync`, `get`, `list`, `thumbnails`, `segments`, `delete` and `plugins`. Each prints one JSON
 * document on stdout.
 */
import { Option } from 'commander';
import type { Command } from 'commander';
import { FILE_STATUSES } from '../../ports/file-records.js';
import { PROGRESS_CHOICES, progressMode, syncWithProgress } from '../progress/index.js';
import { withFileReads } from '../read-files.js';
import { parseMetadata, withEngine } from '../shared.js';
import type { GlobalFlags } from '../shared.js';

/** Registers the file commands on the program. */
export function registerFileCommands(program: Command, flags: () => GlobalFlags): void {
  program
    .command('sync <url>')
    .description('sync a URL; prints the File (waits for a terminal status unless --no-wait)')
    .option('--metadata <json>', 'JSON object stored with a new file')
    .option('--no-segment-thumbnails', 'only the default thumbnail')
    .option('--no-wait', 'return as soon as the download has started')
    .addOption(new Option('--progress <mode>', 'progress on stderr while waiting: auto (a live line on a TTY), line, plain, json (JSON lines), none').choices(PROGRESS_CHOICES).default('auto'))
    .option('-q, --quiet', 'no progress on stderr')
    .action(async (url: string, opts: { metadata?: string; segmentThumbnails: boolean; wait: boolean; progress: string; quiet?: boolean }) => {
      await withEngine(flags(), async (ingest) => {
        const metadata = parseMetadata(opts.metadata);
        const file = await syncWithProgress(ingest, url, {
          ...(metadata ? { metadata } : {}), enableSegmentThumbnails: opts.segmentThumbnails, wait: opts.wait,
          progress: { mode: progressMode(opts, process.stderr.isTTY === true) },
        });
        return { output: file, exitCode: file.status === 'failed' ? 1 : 0 };
      }, { decodes: true });
    });

  // The read commands go through the registry alone (src/cli/read-files.ts): no engine, no plugins, nothing created.
  program.command('get <id>').description('print one file').action(async (id: string) => {
    await withFileReads(flags(), (reads) => reads.get(id));
  });

  program
    .command('list')
    .description('list files')
    .addOption(new Option('--status <status>', 'filter by status').choices([...FILE_STATUSES]))
    .option('--limit <n>', 'page size 1-100', '50')
    .option('--offset <n>', 'skip this many', '0')
    .action(async (opts: { status?: string; limit: string; offset: string }) => {
      await withFileReads(flags(), (reads) => reads.list({ ...(opts.status ? { status: opts.status } : {}), limit: opts.limit, offset: opts.offset }));
    });

  program.command('thumbnails <id>').description("list a file's thumbnails").action(async (id: string) => {
    await withFileReads(flags(), (reads) => reads.thumbnails(id, { limit: 100 }));
  });

  program.command('segments <id>').description("list a file's segments").action(async (id: string) => {
    await withFileReads(flags(), (reads) => reads.segments(id, { limit: 100 }));
  });

  program.command('delete <id>').description('delete a file, its thumbnails and (if unshared) its blob').action(async (id: string) => {
    await withEngine(flags(), async (ingest) => ({ output: await ingest.delete(id) }));
  });

  program.command('plugins').description('the registered source plugins and the URL forms each accepts').action(async () => {
    await withEngine(flags(), async (ingest) => ({ output: { object: 'list', data: ingest.plugins() } }));
  });
}
