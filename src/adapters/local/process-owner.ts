import os from 'node:os';

/** This process, as recorded in the `owner` column of the files it works on. */
export const OWNER = `${os.hostname()}:${process.pid}`;

/** True when `owner` (`host:pid`) is another live process on this host. */
export function isLiveOwner(owner: string | null): boolean {
  if (!owner || owner === OWNER) return false;
  const [host, pid] = [owner.slice(0, owner.lastIndexOf(':')), Number(owner.slice(owner.lastIndexOf(':') + 1))];
  if (host !== os.hostname() || !Number.isInteger(pid)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
